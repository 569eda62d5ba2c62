//! `herald sandbox`: the sandbox providers (APNs over HTTP/2, FCM HTTP v1
//! with its OAuth token endpoint, SMTP, a Twilio-compatible SMS API) on
//! loopback, for staging and demos, with optional fault injection. Prints
//! the settings that point herald at them and runs until Ctrl-C.

use crate::channels::sandbox::{Failure, Sandbox, SandboxConfig};
use clap::Args;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Arguments of `herald sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// APNs port (0 = any free port).
    #[arg(long, default_value_t = 2197)]
    pub apns_port: u16,
    /// FCM port (messages and OAuth token endpoint).
    #[arg(long, default_value_t = 2198)]
    pub fcm_port: u16,
    /// SMTP port.
    #[arg(long, default_value_t = 2525)]
    pub smtp_port: u16,
    /// SMS API port.
    #[arg(long, default_value_t = 2199)]
    pub sms_port: u16,
    /// Share of requests that fail (0 to 1), deterministic for --seed.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// How injected failures fail: throttled, internal, unavailable, gone, auth-expired.
    #[arg(long, default_value = "unavailable")]
    pub error: String,
    /// Retry-After seconds sent with injected failures.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Seed of the fault draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn config(args: &SandboxArgs) -> anyhow::Result<SandboxConfig> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        return Err(super::UsageError("--error-rate must be between 0 and 1".into()).into());
    }
    let error: Failure = args
        .error
        .parse()
        .map_err(|e: String| super::UsageError(format!("--error: {e}")))?;
    let mut config = SandboxConfig::default();
    config.apns.bind = loopback(args.apns_port);
    config.fcm.bind = loopback(args.fcm_port);
    config.smtp.bind = loopback(args.smtp_port);
    config.sms.bind = loopback(args.sms_port);
    config.faults.error_rate = args.error_rate;
    config.faults.error = error;
    config.faults.seed = args.seed;
    config.faults.latency = Duration::from_millis(args.latency_ms);
    config.faults.retry_after = args.retry_after.map(Duration::from_secs);
    Ok(config)
}

/// Runs `herald sandbox` until Ctrl-C.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let sandbox = Sandbox::start(config(&args)?).await?;
    println!("sandbox providers on loopback (Ctrl-C stops them):");
    println!("  [apns]  endpoint = \"{}\"", sandbox.apns_url);
    println!(
        "  [fcm]   endpoint = \"{}\"   (token_uri {})",
        sandbox.fcm_url, sandbox.fcm_token_uri
    );
    println!("  [email] smtp_url = \"{}\"", sandbox.smtp_url);
    println!("  [sms]   endpoint = \"{}\"", sandbox.sms_url);
    println!(
        "the test-only keys and service account they accept are in src/channels/sandbox/keys/"
    );
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
