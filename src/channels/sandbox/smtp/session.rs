//! One SMTP conversation: commands in, replies out, until QUIT, a closed
//! socket, or STARTTLS (after which the same loop runs again over TLS,
//! from a fresh state as RFC 3207 requires).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{PROVIDER, SmtpState};
use crate::channels::sandbox::faults::Failure;
use crate::channels::sandbox::record::Received;

/// Longest command line accepted (RFC 5321 allows 512; be generous).
const MAX_LINE: u64 = 4096;

/// Longest DATA line read at once (RFC 5322 says 998; a longer one is
/// read in pieces).
const MAX_DATA_LINE: u64 = 1 << 20;

/// How a conversation ended.
enum End<S> {
    /// The client quit or went away.
    Closed,
    /// The client asked for STARTTLS; here is the stream to wrap.
    StartTls(S),
}

/// The envelope being built.
#[derive(Default)]
struct Transaction {
    /// EHLO/HELO seen.
    greeted: bool,
    /// AUTH done (or not required).
    authed: bool,
    /// MAIL FROM address.
    from: Option<String>,
    /// Accepted RCPT TO addresses.
    rcpt: Vec<String>,
}

/// Serves one accepted connection.
pub(super) async fn serve(stream: TcpStream, state: Arc<SmtpState>) {
    let greeting = format!("220 {} ESMTP herald sandbox\r\n", state.config.hostname);
    let mut stream = stream;
    if stream.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let Ok(End::StartTls(stream)) = converse(stream, &state, false).await else {
        return;
    };
    let Some(acceptor) = state.tls.clone() else {
        return;
    };
    if let Ok(tls) = acceptor.accept(stream).await {
        let _ = converse(tls, &state, true).await;
    }
}

/// Runs the command loop over `stream`.
async fn converse<S>(stream: S, state: &SmtpState, secure: bool) -> std::io::Result<End<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = BufReader::new(stream);
    let mut tx = Transaction {
        authed: state.config.credentials.is_none(),
        ..Transaction::default()
    };
    loop {
        let Some(line) = read_line(&mut io).await? else {
            return Ok(End::Closed);
        };
        let (verb, arg) = split_command(&line);
        let reply = match verb.as_str() {
            "EHLO" => ehlo(state, &mut tx, secure),
            "HELO" => greet(state, &mut tx),
            "STARTTLS" if state.tls.is_some() && !secure => {
                io.get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                return Ok(End::StartTls(io.into_inner()));
            }
            "AUTH" => auth(&mut io, state, &mut tx, arg).await?,
            "MAIL" if open_relay_refusing(state) => "530 5.7.0 Authentication required".to_owned(),
            "MAIL" => mail(&mut tx, arg),
            "RCPT" => match rcpt(state, &mut tx, arg).await {
                Some(reply) => reply,
                None => {
                    io.get_mut()
                        .write_all(b"421 4.3.2 Service not available, closing\r\n")
                        .await?;
                    return Ok(End::Closed);
                }
            },
            "DATA" => data(&mut io, state, &mut tx).await?,
            "RSET" => {
                tx = Transaction {
                    greeted: tx.greeted,
                    authed: tx.authed,
                    ..Transaction::default()
                };
                "250 2.0.0 Ok".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok".to_owned(),
            "VRFY" => "252 2.5.2 Cannot VRFY user".to_owned(),
            "QUIT" => {
                io.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(End::Closed);
            }
            _ => "500 5.5.2 Command not recognized".to_owned(),
        };
        io.get_mut()
            .write_all(format!("{reply}\r\n").as_bytes())
            .await?;
    }
}

/// One CRLF line without its ending; `None` at end of stream.
async fn read_line<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = (&mut *io)
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// `("MAIL", "FROM:<a@b>")` from `mail from:<a@b>`.
fn split_command(line: &str) -> (String, &str) {
    let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
    (verb.to_ascii_uppercase(), arg.trim())
}

/// The EHLO reply with the extensions on offer.
fn ehlo(state: &SmtpState, tx: &mut Transaction, secure: bool) -> String {
    greet(state, tx);
    let mut lines = vec![
        state.config.hostname.clone(),
        "PIPELINING".to_owned(),
        "8BITMIME".to_owned(),
        "SMTPUTF8".to_owned(),
        format!("SIZE {}", state.config.max_size),
        "AUTH PLAIN".to_owned(),
    ];
    if state.tls.is_some() && !secure {
        lines.push("STARTTLS".to_owned());
    }
    let last = lines.len() - 1;
    let lines: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
        .collect();
    lines.join("\r\n")
}

/// HELO: greeted, transaction cleared.
fn greet(state: &SmtpState, tx: &mut Transaction) -> String {
    *tx = Transaction {
        greeted: true,
        authed: tx.authed,
        ..Transaction::default()
    };
    format!("250 {}", state.config.hostname)
}

/// `AUTH PLAIN [initial-response]`.
async fn auth<S>(
    io: &mut BufReader<S>,
    state: &SmtpState,
    tx: &mut Transaction,
    arg: &str,
) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Ok("504 5.5.4 Unrecognized authentication type".to_owned());
    }
    let response = if initial.is_empty() {
        io.get_mut().write_all(b"334 \r\n").await?;
        read_line(io).await?.unwrap_or_default()
    } else {
        initial.to_owned()
    };
    let accepted = match &state.config.credentials {
        _ if state.shared.faults.refuses_credentials() => false,
        None => true,
        Some((user, password)) => {
            plain_credentials(&response).is_some_and(|(u, p)| &u == user && &p == password)
        }
    };
    tx.authed |= accepted;
    Ok(if accepted {
        "235 2.7.0 Authentication successful"
    } else {
        "535 5.7.8 Authentication credentials invalid"
    }
    .to_owned())
}

/// User and password of an AUTH PLAIN response (`authzid\0user\0pass`).
fn plain_credentials(response: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (_, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some((user.to_owned(), password.to_owned()))
}

/// Whether a relay without configured credentials is refusing every
/// sender (the faults refuse credentials): it then wants an `AUTH` it
/// will not accept.
fn open_relay_refusing(state: &SmtpState) -> bool {
    state.config.credentials.is_none() && state.shared.faults.refuses_credentials()
}

/// `MAIL FROM:<address> [params]`.
fn mail(tx: &mut Transaction, arg: &str) -> String {
    match (tx.greeted, tx.authed, path(arg, "FROM:")) {
        (false, _, _) => "503 5.5.1 Send EHLO first".to_owned(),
        (_, false, _) => "530 5.7.0 Authentication required".to_owned(),
        (_, _, None) => "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned(),
        (_, _, Some(from)) => {
            tx.from = Some(from);
            tx.rcpt.clear();
            "250 2.1.0 Ok".to_owned()
        }
    }
}

/// `RCPT TO:<address>`, with the injected fault; `None` means 421 and
/// close the connection.
async fn rcpt(state: &SmtpState, tx: &mut Transaction, arg: &str) -> Option<String> {
    let Some(to) = path(arg, "TO:").filter(|a| !a.is_empty()) else {
        return Some("501 5.5.4 Syntax: RCPT TO:<address>".to_owned());
    };
    if tx.from.is_none() {
        return Some("503 5.5.1 Need MAIL first".to_owned());
    }
    let decision = state.shared.faults.decide(&to);
    decision.wait().await;
    let reply = match decision.failure {
        None => {
            tx.rcpt.push(to);
            return Some("250 2.1.5 Ok".to_owned());
        }
        Some(Failure::Unavailable) => None,
        Some(failure) => Some(failure_reply(&failure)),
    };
    let code = reply
        .as_deref()
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(421);
    record(
        state,
        "RCPT",
        &tx.from.clone().unwrap_or_default(),
        std::slice::from_ref(&to),
        Vec::new(),
        code,
    );
    reply
}

/// The SMTP reply for an injected failure.
fn failure_reply(failure: &Failure) -> String {
    match failure {
        Failure::Gone => "550 5.1.1 Mailbox unavailable".to_owned(),
        Failure::Throttled | Failure::Internal => {
            "451 4.3.0 Temporary failure, try again later".to_owned()
        }
        Failure::Unavailable => "421 4.3.2 Service not available".to_owned(),
        Failure::AuthExpired => "535 5.7.8 Authentication credentials invalid".to_owned(),
        Failure::Custom { status, reason } => format!("{status} {reason}"),
    }
}

/// The address in `FROM:<a@b> SIZE=1` / `TO:<a@b>`.
fn path(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

/// `DATA`: reads to the lone dot, unstuffs, records, queues.
async fn data<S>(
    io: &mut BufReader<S>,
    state: &SmtpState,
    tx: &mut Transaction,
) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if tx.rcpt.is_empty() {
        return Ok("503 5.5.1 Need RCPT first".to_owned());
    }
    io.get_mut()
        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        .await?;
    let mut message = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = Vec::new();
        if (&mut *io)
            .take(MAX_DATA_LINE)
            .read_until(b'\n', &mut line)
            .await?
            == 0
        {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let unstuffed = if line.starts_with(b".") {
            &line[1..]
        } else {
            &line[..]
        };
        too_big |= message.len() + unstuffed.len() > state.config.max_size;
        if !too_big {
            message.extend_from_slice(unstuffed);
        }
    }
    let (from, rcpt) = (
        tx.from.take().unwrap_or_default(),
        std::mem::take(&mut tx.rcpt),
    );
    if too_big {
        return Ok("552 5.3.4 Message size exceeds fixed limit".to_owned());
    }
    let id = format!("{:012X}", state.ids.fetch_add(1, Ordering::Relaxed));
    record(state, "DATA", &from, &rcpt, message, 250);
    Ok(format!("250 2.0.0 Ok: queued as {id}"))
}

/// Adds one SMTP exchange to the shared record.
fn record(
    state: &SmtpState,
    method: &str,
    from: &str,
    rcpt: &[String],
    body: Vec<u8>,
    status: u16,
) {
    let mut headers = vec![("mail-from".to_owned(), from.to_owned())];
    headers.extend(rcpt.iter().map(|r| ("rcpt-to".to_owned(), r.clone())));
    state.shared.record.push(Received {
        provider: PROVIDER,
        method: method.to_owned(),
        path: String::new(),
        headers,
        body,
        address: rcpt.first().cloned(),
        status,
        at: SystemTime::now(),
    });
}
