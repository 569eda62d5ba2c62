//! Shared by the benches that load a real server from another process:
//! start `herald serve` as a child process on a database and learn the
//! address it listens on from its first stderr line.

use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts `herald serve` on `url` and returns it with its address.
pub async fn serve(
    url: &str,
) -> Result<(tokio::process::Child, String), Box<dyn std::error::Error>> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", url, "serve"])
        .env_remove("HERALD_ENV")
        .env("HERALD__SERVER__BIND", "127.0.0.1:0")
        .env("HERALD_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await?
            .ok_or("herald serve exited before listening")?;
        if let Some(rest) = line.strip_prefix("herald serve: http://") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        eprintln!("serve: {line}");
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, address))
}
