//! The SMTP sender: claims due mails from the outbox, sends each through lettre's SMTP client
//! (rustls for TLS) over connections it keeps open between mails, and records what the server
//! answered. A 4xx answer or a connection problem is retried with exponential backoff; a 5xx
//! answer fails the mail at once, with the server's words kept on it for the agent to read.

use crate::ChannelError;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use serde::{Deserialize, Serialize};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use xdesk_service::Services;
use xdesk_store::{AttachmentRow, OutboundRow, SendOutcome};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or network.
    None,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A file holding the password (e.g. a mounted secret), read at start; instead of
    /// `password`, so the password need not sit in the configuration file.
    pub password_file: Option<std::path::PathBuf>,
    pub timeout_secs: u64,
    /// How often to look for due mail queued by other nodes.
    pub poll_ms: u64,
    /// First retry delay; each further one doubles, up to an hour.
    pub retry_base_secs: u64,
    pub max_attempts: i32,
    /// Connections this node keeps open to the server, each sending one mail at a time.
    /// Relays limit how many one client may hold (Postfix: 50 by default).
    pub connections: usize,
    /// A PEM file of certificate authorities to trust besides the public ones, for a relay
    /// whose certificate an internal authority signed.
    pub ca_file: Option<std::path::PathBuf>,
    /// How long a node holds the mails it claimed: after a crash, what it held is sent by
    /// the next node (or itself, restarted) once this runs out. A mail that went out just
    /// before the crash may then go again, under the same Message-ID.
    pub lease_secs: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            password_file: None,
            timeout_secs: 30,
            poll_ms: 1000,
            retry_base_secs: 30,
            max_attempts: 8,
            connections: 8,
            ca_file: None,
            lease_secs: 120,
        }
    }
}

const BATCH: u64 = 256;
/// An idle connection older than this is closed rather than reused: servers drop quiet
/// clients (RFC 5321 asks them to wait 5 minutes; many wait less).
const IDLE: Duration = Duration::from_secs(20);

pub struct OutboxSender {
    services: Services,
    from: Mailbox,
    settings: SmtpSettings,
    credentials: Option<Credentials>,
    /// The contents of `ca_file`.
    extra_roots: Option<Vec<u8>>,
    hello: ClientId,
    /// Connections between mails, with when each was last used.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// Why a mail was not sent, as far as retrying it goes.
enum Trouble {
    /// The server refused this mail for good (5xx).
    Permanent(String),
    /// Anything that may pass: a 4xx, no connection, a timeout, a TLS or login failure
    /// (an operator's fix to the settings should not cost the queued mail).
    Transient(String),
}

impl OutboxSender {
    pub fn new(services: Services, settings: SmtpSettings) -> Result<Self, ChannelError> {
        let password = match (&settings.password, &settings.password_file) {
            (Some(_), Some(_)) => {
                return Err(ChannelError::Config(
                    "smtp.password and smtp.password_file: set one of them".into(),
                ));
            }
            (Some(p), None) => Some(p.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| {
                        ChannelError::Config(format!("smtp.password_file {}: {e}", f.display()))
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            (None, None) => None,
        };
        if settings.host.trim().is_empty() {
            return Err(ChannelError::Config("smtp.host is empty".into()));
        }
        let extra_roots = match &settings.ca_file {
            Some(f) => {
                let pem = std::fs::read(f).map_err(|e| {
                    ChannelError::Config(format!("smtp.ca_file {}: {e}", f.display()))
                })?;
                match crate::tls::parse_pem(&pem) {
                    Ok(certs) if !certs.is_empty() => Some(pem),
                    Ok(_) => {
                        return Err(ChannelError::Config(format!(
                            "smtp.ca_file {}: no certificate in it",
                            f.display()
                        )));
                    }
                    Err(e) => {
                        return Err(ChannelError::Config(format!(
                            "smtp.ca_file {}: {e}",
                            f.display()
                        )));
                    }
                }
            }
            None => None,
        };
        if settings.tls != SmtpTls::None {
            tls_parameters(&settings.host, extra_roots.as_deref())
                .map_err(|e| ChannelError::Config(format!("smtp: {e}")))?;
        }
        let credentials = match (&settings.username, password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p)),
            _ => None,
        };
        let m = &services.mail;
        let from = Mailbox::new(
            Some(m.from_name.clone()),
            m.from_address
                .parse()
                .map_err(|e| ChannelError::Config(format!("email.from_address: {e}")))?,
        );
        Ok(Self {
            from,
            credentials,
            extra_roots,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            settings,
            services,
        })
    }

    /// Sends until the task is dropped: due mail at once, then whenever this node queues one
    /// or the poll interval passes.
    pub async fn run(self) {
        let me = Arc::new(self);
        let wake = me.services.outbox_wake.clone();
        let poll = Duration::from_millis(me.settings.poll_ms.max(50));
        loop {
            match me.send_due().await {
                Ok(n) if n as u64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox round failed"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// One round: claims what is due and tries them, one per connection at a time, while the
    /// outcomes of those already tried are recorded together. Returns how many were tried.
    pub async fn send_due(self: &Arc<Self>) -> Result<usize, ChannelError> {
        let lease = Duration::from_secs(self.settings.lease_secs.max(1));
        let rows = self.services.claim_outbound(BATCH, lease).await?;
        let claimed = rows.len();
        let mut rows = rows.into_iter();
        let mut sending = tokio::task::JoinSet::new();
        loop {
            self.start_sending(&mut sending, &mut rows);
            let Some(first) = sending.join_next().await else {
                break;
            };
            // Whatever else finished meanwhile is recorded in the same transaction; the
            // connections go on sending while it commits.
            let mut finished = vec![first];
            while let Some(more) = sending.try_join_next() {
                finished.push(more);
            }
            self.start_sending(&mut sending, &mut rows);
            let mut done = Vec::with_capacity(finished.len());
            for joined in finished {
                // A send that panicked leaves its mail claimed: another round retries it
                // when the lease ends.
                let Ok((row, outcome)) = joined else {
                    tracing::error!("a mail's send panicked; it is retried after its lease");
                    continue;
                };
                match &outcome {
                    SendOutcome::Sent { .. } => {
                        tracing::info!(id = row.id, to = %row.to_address, "mail sent")
                    }
                    SendOutcome::Retry { error, .. } => {
                        tracing::warn!(id = row.id, %error, "mail deferred")
                    }
                    SendOutcome::Failed { error } => {
                        tracing::error!(id = row.id, %error, "mail failed")
                    }
                }
                done.push((row.id, outcome));
            }
            self.services.finish_outbound_many(done).await?;
        }
        Ok(claimed)
    }

    /// Tops up the mails being sent to one per connection.
    fn start_sending(
        self: &Arc<Self>,
        sending: &mut tokio::task::JoinSet<(OutboundRow, SendOutcome)>,
        rows: &mut impl Iterator<Item = OutboundRow>,
    ) {
        while sending.len() < self.settings.connections.max(1) {
            let Some(row) = rows.next() else { break };
            let me = self.clone();
            sending.spawn(async move {
                let outcome = me.attempt(&row).await;
                (row, outcome)
            });
        }
    }

    async fn attempt(&self, row: &OutboundRow) -> SendOutcome {
        let files = match self.services.outbound_files(row).await {
            Ok(f) => f,
            Err(e) => return self.retry_or_fail(row, format!("reading attachments: {e}")),
        };
        let message = match build(row, &self.from, &files) {
            Ok(m) => m,
            Err(e) => return SendOutcome::Failed { error: e },
        };
        let limit = Duration::from_secs(self.settings.timeout_secs.max(1));
        match tokio::time::timeout(limit, self.deliver(&message)).await {
            Ok(Ok(r)) => SendOutcome::Sent {
                response: format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")),
            },
            Ok(Err(Trouble::Permanent(error))) => SendOutcome::Failed { error },
            Ok(Err(Trouble::Transient(error))) => self.retry_or_fail(row, error),
            Err(_) => self.retry_or_fail(
                row,
                format!("no answer from the SMTP server within {}s", limit.as_secs()),
            ),
        }
    }

    /// Sends one message on an idle connection, or a new one. A reused connection the server
    /// has closed meanwhile fails before the mail is accepted; the mail then gets a fresh one.
    async fn deliver(&self, message: &Message) -> Result<Response, Trouble> {
        let envelope = message.envelope();
        let bytes = message.formatted();
        let mut reused = self.take_idle();
        loop {
            let fresh = reused.is_none();
            let mut conn = match reused.take() {
                Some(c) => c,
                None => self.open().await.map_err(Trouble::Transient)?,
            };
            match conn.send(envelope, &bytes).await {
                Ok(r) => {
                    self.put_idle(conn);
                    return Ok(r);
                }
                Err(e) if !fresh && !e.is_response() => {
                    tracing::debug!(error = %e, "idle SMTP connection was closed; opening another");
                }
                Err(e) if e.is_permanent() => return Err(Trouble::Permanent(e.to_string())),
                Err(e) => return Err(Trouble::Transient(e.to_string())),
            }
        }
    }

    /// Connects, says EHLO, secures and logs in as the settings ask.
    async fn open(&self) -> Result<AsyncSmtpConnection, String> {
        let s = &self.settings;
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| format!("connecting to {}:{}: {e}", s.host, s.port))?;
        // The client writes a mail and its terminating dot separately; with Nagle's algorithm
        // the dot waits for the server's delayed acknowledgement of the mail, ~40 ms each.
        tcp.set_nodelay(true)
            .map_err(|e| format!("connecting to {}:{}: {e}", s.host, s.port))?;
        let stream: Box<dyn AsyncTokioStream> = match s.tls {
            SmtpTls::Tls => Box::new(Implicit(
                crate::tls::connect(tcp, &s.host, self.extra_roots.as_deref())
                    .await
                    .map_err(|e| format!("TLS with {}: {e}", s.host))?,
            )),
            SmtpTls::None | SmtpTls::Starttls => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| format!("greeting from {}: {e}", s.host))?;
        if s.tls == SmtpTls::Starttls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(format!(
                    "{} does not offer STARTTLS, which smtp.tls = \"starttls\" requires",
                    s.host
                ));
            }
            let params = tls_parameters(&s.host, self.extra_roots.as_deref())?;
            conn.starttls(params, &self.hello)
                .await
                .map_err(|e| format!("STARTTLS with {}: {e}", s.host))?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, c)
                .await
                .map_err(|e| format!("logging in to {}: {e}", s.host))?;
        }
        Ok(conn)
    }

    /// The most recently used idle connection still young enough; older ones are closed.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (keep, old): (Vec<_>, Vec<_>) = idle
            .drain(..)
            .partition(|(_, at)| now.duration_since(*at) < IDLE);
        *idle = keep;
        let conn = idle.pop().map(|(c, _)| c);
        drop(idle);
        for (mut c, _) in old {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), c.quit()).await;
            });
        }
        conn
    }

    fn put_idle(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.settings.connections.max(1) {
            idle.push((conn, Instant::now()));
        }
    }

    fn retry_or_fail(&self, row: &OutboundRow, error: String) -> SendOutcome {
        if row.attempts >= self.settings.max_attempts {
            return SendOutcome::Failed {
                error: format!("gave up after {} attempts: {error}", row.attempts),
            };
        }
        let delay = retry_delay(self.settings.retry_base_secs, row.attempts);
        SendOutcome::Retry {
            error,
            at: chrono::Utc::now() + delay,
        }
    }
}

/// What STARTTLS checks the server's certificate against: the host name, the public roots and
/// the configured extra ones.
fn tls_parameters(host: &str, extra_roots: Option<&[u8]>) -> Result<TlsParameters, String> {
    let mut b = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra_roots {
        b = b.add_root_certificate(Certificate::from_pem(pem).map_err(|e| e.to_string())?);
    }
    b.build().map_err(|e| format!("TLS for {host}: {e}"))
}

/// An implicit-TLS socket (port 465), which lettre's client takes as an already secured
/// stream: xdesk opens it itself so that it can switch Nagle's algorithm off first.
#[derive(Debug)]
struct Implicit(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for Implicit {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Implicit {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Implicit {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// Exponential backoff after the `attempts`-th try, capped at an hour.
fn retry_delay(base_secs: u64, attempts: i32) -> chrono::Duration {
    let factor = 1u64 << attempts.clamp(1, 16).saturating_sub(1);
    chrono::Duration::seconds(base_secs.saturating_mul(factor).min(3600) as i64)
}

fn angle(id: &str) -> String {
    format!("<{id}>")
}

/// The RFC 5322 message for an outbox row: threading headers, the fixed Message-ID, and
/// `Auto-Submitted` on automatic mail so other robots do not answer it.
fn build(
    row: &OutboundRow,
    from: &Mailbox,
    files: &[(AttachmentRow, Vec<u8>)],
) -> Result<Message, String> {
    let to: Mailbox = row
        .to_address
        .parse()
        .map_err(|e| format!("bad recipient {}: {e}", row.to_address))?;
    let mut b = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(angle(&row.rfc_message_id)));
    if let Some(id) = &row.in_reply_to {
        b = b.in_reply_to(angle(id));
    }
    let refs: Vec<String> = row.reference_ids.split_whitespace().map(angle).collect();
    if !refs.is_empty() {
        b = b.references(refs.join(" "));
    }
    if row.auto_submitted {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".into(),
        ));
    }
    // RFC 8058: a list mail names its https unsubscribe address, and says one POST to it
    // unsubscribes (mail providers then offer a one-click button and never just fetch it).
    if let Some(url) = &row.list_unsubscribe {
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let text = SinglePart::plain(row.body_text.clone());
    let message = if files.is_empty() {
        b.singlepart(text)
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for (a, bytes) in files {
            let ct = ContentType::parse(&a.content_type).unwrap_or(
                ContentType::parse("application/octet-stream").map_err(|e| e.to_string())?,
            );
            parts = parts.singlepart(Attachment::new(a.filename.clone()).body(bytes.clone(), ct));
        }
        b.multipart(parts)
    };
    message.map_err(|e| format!("building the message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(retry_delay(30, 1).num_seconds(), 30);
        assert_eq!(retry_delay(30, 2).num_seconds(), 60);
        assert_eq!(retry_delay(30, 4).num_seconds(), 240);
        assert_eq!(retry_delay(30, 12).num_seconds(), 3600);
        assert_eq!(retry_delay(0, 3).num_seconds(), 0);
    }
}
