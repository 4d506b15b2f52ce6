//! The IMAP poller: one task per active mailbox fetches new mail (waiting in IDLE where the
//! server offers it), hands each raw message to the email service, and only after that has
//! committed marks it \Seen or moves it to the processed folder. A crash between the two
//! leaves the mail unmarked; the next fetch finds it again and the service recognises the
//! duplicate, so nothing is lost and nothing is stored twice.

use crate::ChannelError;
use async_imap::{Client, Session};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use xdesk_service::email::MailSource;
use xdesk_service::{Principal, Services};
use xdesk_store::MailboxRow;

/// How the poller paces itself, and the largest mail it fetches.
#[derive(Debug, Clone)]
pub struct PollTiming {
    /// Between polls when the server has no IDLE.
    pub poll: Duration,
    /// Longest IDLE before polling anyway (servers drop idle clients after ~30 minutes).
    pub idle: Duration,
    /// After a failure (connection refused, bad login), before trying again.
    pub retry: Duration,
    /// A larger mail is not fetched (it would be held in memory whole): its headers become a
    /// flagged ticket that says where the mail is, and the mail stays in the mailbox.
    pub max_bytes: u64,
}

/// The keyword a mail too large to fetch gets, so the next rounds pass it by.
const TOO_LARGE: &str = "$XdeskTooLarge";

impl Default for PollTiming {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(30),
            idle: Duration::from_secs(300),
            retry: Duration::from_secs(30),
            max_bytes: xdesk_service::email::MAX_MAIL_BYTES as u64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ImapError {
    #[error("connecting: {0}")]
    Io(#[from] std::io::Error),
    #[error("IMAP: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("the server closed the connection before greeting")]
    NoGreeting,
    #[error("{0}")]
    Tls(String),
}

/// Runs a poller for every active mailbox, starting, restarting and stopping them as admins
/// change mailboxes. Never returns.
pub async fn run_mailboxes(services: Services, timing: PollTiming) {
    let mut running = Pollers::default();
    let wake = services.mailboxes_wake.clone();
    loop {
        match services.mailboxes_for_polling().await {
            Ok(boxes) => {
                let wanted: HashMap<i64, MailboxRow> = boxes
                    .into_iter()
                    .filter(|m| m.active)
                    .map(|m| (m.id, m))
                    .collect();
                running.0.retain(|id, (updated, task)| {
                    let keep = wanted.get(id).is_some_and(|m| m.updated_at == *updated)
                        && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, m) in wanted {
                    if let std::collections::hash_map::Entry::Vacant(slot) = running.0.entry(id) {
                        let updated = m.updated_at;
                        let poller = MailboxPoller {
                            services: services.clone(),
                            mailbox: Arc::new(m),
                            timing: timing.clone(),
                        };
                        slot.insert((updated, tokio::spawn(poller.run())));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the mailboxes"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

/// The running pollers by mailbox, with the settings version each runs; stopped with it.
#[derive(Default)]
struct Pollers(HashMap<i64, (chrono::DateTime<chrono::Utc>, JoinHandle<()>)>);

impl Drop for Pollers {
    fn drop(&mut self) {
        for (_, task) in self.0.values() {
            task.abort();
        }
    }
}

struct MailboxPoller {
    services: Services,
    mailbox: Arc<MailboxRow>,
    timing: PollTiming,
}

impl MailboxPoller {
    async fn run(self) {
        loop {
            let error = match self.connect().await {
                Ok(()) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = &error {
                tracing::warn!(mailbox = %self.mailbox.name, error = %e, "mailbox poll failed");
            }
            let _ = self
                .services
                .record_mailbox_poll(self.mailbox.id, error)
                .await;
            tokio::time::sleep(self.timing.retry).await;
        }
    }

    async fn connect(&self) -> Result<(), ImapError> {
        let m = &self.mailbox;
        let port = u16::try_from(m.port).map_err(|_| ImapError::Tls("bad port".into()))?;
        let tcp = TcpStream::connect((m.host.as_str(), port)).await?;
        if m.tls == "none" {
            return self.serve(Client::new(tcp)).await;
        }
        let tls = crate::tls::connect(tcp, &m.host, None).await?;
        self.serve(Client::new(tls)).await
    }

    /// Logs in and alternates between fetching what is new and waiting for more.
    async fn serve<T>(&self, mut client: Client<T>) -> Result<(), ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        client.read_response().await?.ok_or(ImapError::NoGreeting)?;
        let m = &self.mailbox;
        let mut session = client
            .login(&m.username, &m.password)
            .await
            .map_err(|(e, _)| e)?;
        let caps = session.capabilities().await?;
        let (idle, can_move) = (caps.has_str("IDLE"), caps.has_str("MOVE"));
        loop {
            session.select(&m.folder).await?;
            self.fetch_new(&mut session, can_move).await?;
            let _ = self.services.record_mailbox_poll(m.id, None).await;
            if idle {
                let mut handle = session.idle();
                handle.init().await?;
                let (wait, _stop) = handle.wait_with_timeout(self.timing.idle);
                wait.await?;
                session = handle.done().await?;
            } else {
                tokio::time::sleep(self.timing.poll).await;
                session.noop().await?;
            }
        }
    }

    async fn fetch_new<T>(&self, session: &mut Session<T>, can_move: bool) -> Result<(), ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        let m = &self.mailbox;
        // Processed mail leaves the folder when it is moved; otherwise it is marked \Seen.
        let query = if m.move_to.is_some() {
            format!("UNDELETED UNKEYWORD {TOO_LARGE}")
        } else {
            format!("UNSEEN UNDELETED UNKEYWORD {TOO_LARGE}")
        };
        let mut uids: Vec<u32> = session.uid_search(&query).await?.into_iter().collect();
        uids.sort_unstable();
        if uids.is_empty() {
            return Ok(());
        }
        let source = MailSource {
            name: format!("mailbox:{}", m.name),
            group_id: m.group_id,
        };
        // Sizes first, in one command: a mail over the limit is never fetched whole.
        let mut sizes = HashMap::new();
        {
            let set = uids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut fetched = session.uid_fetch(set, "RFC822.SIZE").await?;
            while let Some(f) = fetched.next().await {
                let f = f?;
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    sizes.insert(uid, u64::from(size));
                }
            }
        }
        for uid in uids {
            let size = sizes.get(&uid).copied().unwrap_or_default();
            if size > self.timing.max_bytes {
                self.too_large(session, &source, uid, size).await?;
                continue;
            }
            let raw = {
                let mut fetched = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
                let mut raw = None;
                while let Some(f) = fetched.next().await {
                    if let Some(body) = f?.body() {
                        raw = Some(body.to_vec());
                    }
                }
                raw
            };
            let Some(raw) = raw else { continue };
            match self
                .services
                .ingest_email(&Principal::System, &source, &raw)
                .await
            {
                Ok(r) => {
                    tracing::info!(mailbox = %m.name, uid, ticket = r.ticket_id, duplicate = r.duplicate, "mail ingested");
                    self.mark_done(session, uid, can_move).await?;
                }
                // Left in place and unmarked: the next round tries again.
                Err(e) => {
                    tracing::error!(mailbox = %m.name, uid, error = %e, "mail not ingested; will retry");
                    let _ = self
                        .services
                        .record_mailbox_poll(m.id, Some(format!("uid {uid}: {e}")))
                        .await;
                }
            }
        }
        Ok(())
    }

    /// A mail over the size limit: its headers make a flagged ticket (so the customer is not
    /// ignored and an agent knows where the mail is), and it stays in the mailbox, marked so
    /// it is passed by from now on.
    async fn too_large<T>(
        &self,
        session: &mut Session<T>,
        source: &MailSource,
        uid: u32,
        size: u64,
    ) -> Result<(), ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        let m = &self.mailbox;
        let header = {
            let mut fetched = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[HEADER]")
                .await?;
            let mut header = Vec::new();
            while let Some(f) = fetched.next().await {
                if let Some(h) = f?.header() {
                    header = h.to_vec();
                }
            }
            header
        };
        let place = format!("mailbox {} ({}), UID {uid}", m.name, m.folder);
        let over = xdesk_service::email::Oversized {
            size,
            limit: self.timing.max_bytes,
            place: &place,
        };
        match self
            .services
            .ingest_oversized_email(&Principal::System, source, &header, &over)
            .await
        {
            Ok(r) => {
                tracing::warn!(mailbox = %m.name, uid, size, ticket = r.ticket_id, "mail over the size limit left in the mailbox");
                drain(
                    session
                        .uid_store(uid.to_string(), format!("+FLAGS.SILENT ({TOO_LARGE})"))
                        .await?,
                )
                .await?;
            }
            Err(e) => {
                tracing::error!(mailbox = %m.name, uid, error = %e, "oversized mail not recorded; will retry");
                let _ = self
                    .services
                    .record_mailbox_poll(m.id, Some(format!("uid {uid}: {e}")))
                    .await;
            }
        }
        Ok(())
    }

    async fn mark_done<T>(
        &self,
        session: &mut Session<T>,
        uid: u32,
        can_move: bool,
    ) -> Result<(), ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
    {
        let set = uid.to_string();
        match &self.mailbox.move_to {
            Some(dest) if can_move => session.uid_mv(&set, dest).await?,
            Some(dest) => {
                session.uid_copy(&set, dest).await?;
                drain(session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?).await?;
                drain(session.uid_expunge(&set).await?).await?;
            }
            None => drain(session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?).await?,
        }
        Ok(())
    }
}

async fn drain<S, I>(s: S) -> Result<(), ImapError>
where
    S: futures_util::Stream<Item = Result<I, async_imap::error::Error>>,
{
    let mut s = std::pin::pin!(s);
    while let Some(item) = s.next().await {
        item?;
    }
    Ok(())
}

impl From<ImapError> for ChannelError {
    fn from(e: ImapError) -> Self {
        ChannelError::Config(e.to_string())
    }
}
