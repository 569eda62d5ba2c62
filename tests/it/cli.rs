//! The `herald` binary, black-box: exit codes and one-line errors (SPEC §1).

use crate::helpers::{sqlite, write};
use std::process::{Command, Output};

fn herald(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn usage_errors_exit_with_2() {
    let output = herald(&["import", "pets", "x.csv"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[tokio::test]
async fn a_wrong_header_exits_with_1_and_one_line_naming_the_file_and_columns() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "users.csv", "id,email\nu1,a@example.com\n");
    let output = herald(&[
        "--database",
        &db.url,
        "import",
        "users",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("users.csv") && err.contains("user_id"),
        "{err}"
    );
}

#[tokio::test]
async fn import_prints_bad_rows_on_stderr_and_a_summary_on_stdout() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "users.csv",
        "user_id,email\nu1,a@example.com\nu2,nope\n",
    );
    let output = herald(&[
        "--database",
        &db.url,
        "import",
        "users",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("users.csv:3: email: `nope` is not a valid email address"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 users imported, 1 rejected"), "{stdout}");
}

#[tokio::test]
async fn strict_import_of_a_bad_file_exits_with_1_and_writes_nothing() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "users.csv",
        "user_id,email\nu1,a@example.com\nu2,nope\n",
    );
    let output = herald(&[
        "--database",
        &db.url,
        "import",
        "users",
        file.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("nothing was imported"),
        "{}",
        stderr(&output)
    );
    assert_eq!(db.store.count("users").await.unwrap(), 0);
}

#[test]
fn a_missing_config_file_exits_with_1_naming_it() {
    let output = herald(&["--config", "/nonexistent/herald.toml", "migrate"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("/nonexistent/herald.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_sandbox_command_prints_where_its_providers_listen() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "sandbox",
            "--apns-port",
            "0",
            "--fcm-port",
            "0",
            "--smtp-port",
            "0",
            "--sms-port",
            "0",
        ])
        .env("HERALD_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start herald sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(5)
        .map_while(Result::ok)
        .collect();
    child.kill().ok();
    child.wait().ok();
    let text = lines.join("\n");
    for key in [
        "[apns]  endpoint = \"http://127.0.0.1:",
        "[fcm]",
        "smtp_url = \"smtp://127.0.0.1:",
        "[sms]",
    ] {
        assert!(text.contains(key), "{text}");
    }
}
