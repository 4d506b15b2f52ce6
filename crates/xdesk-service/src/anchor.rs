//! Ticket histories checked beyond their hash chains, and anchored outside the database.
//!
//! A full check of a ticket re-hashes its event chain, its stored message bodies and its
//! attachment files, and places the head a signed checkpoint recorded for it in its chain.
//! Checkpoints are lines of an append-only log file signed with a key that lives outside the
//! database (see [`xdesk_domain::anchor`]); beside the log, `<log>.heads/<seq>.json` keeps the
//! heads each recent checkpoint covers, which its signed root authenticates.
//!
//! These are operator tools: only [`Principal::System`] (the CLI and xdesk's own schedule)
//! may call them.

use crate::{Principal, ServiceError, Services};
use chrono::Utc;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use xdesk_domain::anchor::{
    AnchorStatus, ChainHead, Checkpoint, HeadsSnapshot, InclusionProof, SigningKey, anchor_status,
    last_line, line_hash, public_key_hex, verify_log,
};
use xdesk_domain::event::{ChainVerification, GENESIS_HASH, sha256_hex, verify_chain};
use xdesk_domain::evidence::{ContentProblem, StoredAttachment, StoredMessage, verify_content};
use xdesk_domain::ticket::TicketNumber;

/// Where checkpoints go and the key that signs them.
pub struct AnchorSettings {
    pub key: SigningKey,
    /// The append-only checkpoint log, one JSON line per checkpoint.
    pub log_file: PathBuf,
}

impl std::fmt::Debug for AnchorSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchorSettings")
            .field("public_key", &self.public_key())
            .field("log_file", &self.log_file)
            .finish()
    }
}

/// Where the heads of a checkpoint log's recent checkpoints are kept: `<log file>.heads/`.
pub fn heads_dir_of(log_file: &std::path::Path) -> PathBuf {
    let mut name = log_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".heads");
    log_file.with_file_name(name)
}

/// How many recent checkpoints keep their heads beside the log.
const KEEP_HEADS: u64 = 3;

impl AnchorSettings {
    pub fn public_key(&self) -> String {
        public_key_hex(&self.key)
    }

    /// `<log file>.heads/`.
    pub fn heads_dir(&self) -> PathBuf {
        heads_dir_of(&self.log_file)
    }

    fn heads_file(&self, seq: u64) -> PathBuf {
        self.heads_dir().join(format!("{seq}.json"))
    }
}

/// The checkpoint log as the last check found it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LogState {
    /// No log file yet: nothing was anchored.
    Absent { path: String },
    /// The log, or the heads kept for its last checkpoint, fail their checks.
    Broken { path: String, reason: String },
    Intact {
        path: String,
        checkpoints: usize,
        last: Option<Checkpoint>,
    },
}

impl LogState {
    fn has_checkpoint(&self) -> bool {
        matches!(self, LogState::Intact { last: Some(_), .. })
    }
}

/// One ticket's history, checked.
#[derive(Debug, Clone, Serialize)]
pub struct TicketAudit {
    pub ticket_id: i64,
    pub ticket: String,
    pub ok: bool,
    pub chain: ChainVerification,
    /// Bodies and files that no longer match what the chain recorded.
    pub content: Vec<ContentProblem>,
    /// The chain against the last checkpoint.
    pub anchor: AnchorStatus,
}

/// Every ticket's history, checked against the last checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryAudit {
    pub ok: bool,
    pub log: LogState,
    pub tickets_checked: usize,
    /// Tickets whose chains grew after the checkpoint, from the head it recorded.
    pub extended_since_checkpoint: usize,
    /// Tickets created after the checkpoint (their chains and content are still checked).
    pub new_since_checkpoint: usize,
    pub failed: Vec<TicketAudit>,
}

/// The last checkpoint with the heads it covers.
struct Anchored {
    heads: HashMap<i64, String>,
}

fn require_operator(p: &Principal) -> Result<(), ServiceError> {
    match p {
        Principal::System => Ok(()),
        _ => Err(ServiceError::Forbidden(
            "history audits and checkpoints are operator tools".into(),
        )),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("{}: {e}", path.display()))
}

/// Reads and checks the whole log and the heads of its last checkpoint.
fn read_anchor(s: &AnchorSettings) -> Result<(LogState, Option<Anchored>), ServiceError> {
    let path = s.log_file.display().to_string();
    let text = match std::fs::read_to_string(&s.log_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((LogState::Absent { path }, None));
        }
        Err(e) => return Err(io_error(&s.log_file, e)),
    };
    let broken = |reason: String| LogState::Broken {
        path: path.clone(),
        reason,
    };
    let tail = match verify_log(&text, &s.public_key()) {
        Ok(t) => t,
        Err(p) => return Ok((broken(p.to_string()), None)),
    };
    let Some((last, _)) = tail.last else {
        return Ok((
            LogState::Intact {
                path,
                checkpoints: 0,
                last: None,
            },
            None,
        ));
    };
    let heads_file = s.heads_file(last.seq);
    let snapshot = std::fs::read(&heads_file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<HeadsSnapshot>(&b).map_err(|e| e.to_string()));
    let heads = match snapshot {
        Ok(h) if h.seq == last.seq && last.covers(&h.heads).unwrap_or(false) => h.heads,
        Ok(_) => {
            return Ok((
                broken(format!(
                    "the heads in {} are not the ones checkpoint {} signed",
                    heads_file.display(),
                    last.seq
                )),
                None,
            ));
        }
        Err(e) => {
            return Ok((
                broken(format!(
                    "the heads of checkpoint {} cannot be read from {}: {e}",
                    last.seq,
                    heads_file.display()
                )),
                None,
            ));
        }
    };
    Ok((
        LogState::Intact {
            path,
            checkpoints: tail.checkpoints,
            last: Some(last),
        },
        Some(Anchored {
            heads: heads.into_iter().map(|h| (h.ticket_id, h.head)).collect(),
        }),
    ))
}

/// The log's last checkpoint and the heads it covers, without checking the lines before it.
fn last_snapshot(s: &AnchorSettings) -> Result<Option<(String, Vec<ChainHead>)>, String> {
    let text = match std::fs::read_to_string(&s.log_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", s.log_file.display())),
    };
    let Some(line) = last_line(&text) else {
        return Ok(None);
    };
    let c = Checkpoint::parse_line(line).map_err(|e| e.to_string())?;
    let file = s.heads_file(c.seq);
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let snapshot: HeadsSnapshot = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if snapshot.seq != c.seq || !c.covers(&snapshot.heads).unwrap_or(false) {
        return Err(format!(
            "the heads in {} are not the ones checkpoint {} signed",
            file.display(),
            c.seq
        ));
    }
    Ok(Some((line.to_owned(), snapshot.heads)))
}

/// Appends a checkpoint over `heads` under an exclusive lock on the log, so the schedule and
/// `xdesk anchor` never take the same number. `None` when `only_if_changed` and nothing did.
fn append_checkpoint(
    s: &AnchorSettings,
    heads: &[ChainHead],
    only_if_changed: bool,
) -> Result<Option<Checkpoint>, ServiceError> {
    let log = &s.log_file;
    if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(log)
        .map_err(|e| io_error(log, e))?;
    f.lock().map_err(|e| io_error(log, e))?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(|e| io_error(log, e))?;
    let refuse =
        |why: String| ServiceError::Conflict(format!("checkpoint log {}: {why}", log.display()));
    let (seq, prev, last) = if text.is_empty() {
        (1, GENESIS_HASH.to_owned(), None)
    } else {
        let line = last_line(&text)
            .ok_or_else(|| refuse("its last line is incomplete; repair the file first".into()))?;
        let c = Checkpoint::parse_line(line).map_err(|e| refuse(e.to_string()))?;
        c.verify_with(&s.public_key()).map_err(|e| {
            refuse(format!(
                "{e}; a new key needs a new log file (anchor.log_file)"
            ))
        })?;
        (c.seq + 1, line_hash(line), Some(c))
    };
    let c = Checkpoint::sign(seq, Utc::now(), heads, &prev, &s.key)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    if only_if_changed && last.is_some_and(|l| l.root == c.root && l.tickets == c.tickets) {
        return Ok(None);
    }
    // The heads first: a line in the log always has its heads on disk.
    let dir = s.heads_dir();
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    let snapshot = serde_json::to_vec(&HeadsSnapshot {
        seq,
        heads: heads.to_vec(),
    })
    .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let tmp = dir.join(format!("{seq}.json.tmp"));
    let dest = s.heads_file(seq);
    {
        let mut t = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        t.write_all(&snapshot).map_err(|e| io_error(&tmp, e))?;
        t.sync_all().map_err(|e| io_error(&tmp, e))?;
    }
    std::fs::rename(&tmp, &dest).map_err(|e| io_error(&dest, e))?;
    f.write_all(format!("{}\n", c.to_line()).as_bytes())
        .map_err(|e| io_error(log, e))?;
    f.sync_data().map_err(|e| io_error(log, e))?;
    drop(f);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let old = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n + KEEP_HEADS <= seq);
            if old && let Err(err) = std::fs::remove_file(e.path()) {
                tracing::warn!(file = %e.path().display(), error = %err, "old checkpoint heads stay");
            }
        }
    }
    Ok(Some(c))
}

impl Services {
    pub fn with_anchor(mut self, settings: AnchorSettings) -> Self {
        self.anchor = Some(std::sync::Arc::new(settings));
        self
    }

    fn anchor_settings(&self) -> Result<std::sync::Arc<AnchorSettings>, ServiceError> {
        self.anchor
            .clone()
            .ok_or_else(|| ServiceError::Conflict("history anchoring is not configured".into()))
    }

    async fn read_anchor(&self) -> Result<(LogState, Option<Anchored>), ServiceError> {
        let s = self.anchor_settings()?;
        tokio::task::spawn_blocking(move || read_anchor(&s))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Signs a checkpoint over every ticket's chain head and appends it to the log. With
    /// `only_if_changed` (the schedule) nothing is written when no head changed since the last.
    pub async fn write_checkpoint(
        &self,
        p: &Principal,
        only_if_changed: bool,
    ) -> Result<Option<Checkpoint>, ServiceError> {
        require_operator(p)?;
        let s = self.anchor_settings()?;
        let heads = self.store.chain_heads().await?;
        self.check_extends_last_checkpoint(&s, &heads).await?;
        tokio::task::spawn_blocking(move || append_checkpoint(&s, &heads, only_if_changed))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// A checkpoint only extends the last: every ticket it had is still there, and each whose
    /// head moved has a valid chain that still passes through the head signed then. Otherwise
    /// a rewritten history would be signed into the next checkpoint and look anchored.
    async fn check_extends_last_checkpoint(
        &self,
        s: &std::sync::Arc<AnchorSettings>,
        heads: &[ChainHead],
    ) -> Result<(), ServiceError> {
        let settings = s.clone();
        let last = tokio::task::spawn_blocking(move || last_snapshot(&settings))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| {
                ServiceError::Conflict(format!(
                    "the last checkpoint cannot be read ({e}); run `xdesk verify-history --all`"
                ))
            })?;
        let Some((_, before)) = last else {
            return Ok(());
        };
        let now: HashMap<i64, &str> = heads
            .iter()
            .map(|h| (h.ticket_id, h.head.as_str()))
            .collect();
        let mut broken = Vec::new();
        for b in &before {
            match now.get(&b.ticket_id) {
                Some(head) if *head == b.head => {}
                Some(_) => {
                    // The chain may have grown since `heads` was read: its links are what count.
                    let events = self.store.events(b.ticket_id).await?;
                    let chain = verify_chain(&events, None, None);
                    if !chain.valid || !anchor_status(&events, Some(&b.head)).ok() {
                        broken.push(TicketNumber::for_ticket(b.ticket_id).to_string());
                    }
                }
                None => broken.push(TicketNumber::for_ticket(b.ticket_id).to_string()),
            }
        }
        if broken.is_empty() {
            return Ok(());
        }
        tracing::error!(tickets = ?broken, "histories no longer extend the last checkpoint");
        Err(ServiceError::Conflict(format!(
            "no checkpoint written: the histories of {} no longer extend the last checkpoint; run `xdesk verify-history --all`",
            broken.join(", ")
        )))
    }

    /// One ticket: chain, bodies, files, and (when a checkpoint exists) its anchored head.
    pub async fn audit_ticket_history(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<(TicketAudit, LogState), ServiceError> {
        require_operator(p)?;
        if self.store.ticket(id).await?.is_none() {
            return Err(ServiceError::NotFound("ticket"));
        }
        let (log, anchored) = self.read_anchor().await?;
        let head = anchored.as_ref().and_then(|a| a.heads.get(&id));
        let audit = self.audit_ticket(id, head.map(String::as_str)).await?;
        Ok((audit, log))
    }

    /// Every ticket, against the last checkpoint; a ticket the checkpoint has and the
    /// database lost fails too. Without an intact checkpoint the audit fails.
    pub async fn audit_all_history(&self, p: &Principal) -> Result<HistoryAudit, ServiceError> {
        require_operator(p)?;
        let (log, anchored) = self.read_anchor().await?;
        let mut anchored_heads: BTreeMap<i64, String> = anchored
            .map(|a| a.heads.into_iter().collect())
            .unwrap_or_default();
        let current = self.store.chain_heads().await?;
        let mut failed = Vec::new();
        let (mut extended, mut new) = (0, 0);
        for h in &current {
            let anchored_head = anchored_heads.remove(&h.ticket_id);
            let audit = self
                .audit_ticket(h.ticket_id, anchored_head.as_deref())
                .await?;
            match audit.anchor {
                AnchorStatus::Extended { .. } => extended += 1,
                AnchorStatus::NotYetAnchored => new += 1,
                _ => {}
            }
            if !audit.ok {
                failed.push(audit);
            }
        }
        for (id, head) in anchored_heads {
            failed.push(TicketAudit {
                ticket_id: id,
                ticket: TicketNumber::for_ticket(id).to_string(),
                ok: false,
                chain: ChainVerification {
                    valid: false,
                    events: 0,
                    head: None,
                    broken_at_seq: None,
                    reason: Some("the ticket is gone from the database".into()),
                },
                content: Vec::new(),
                anchor: AnchorStatus::Missing {
                    anchored_head: head,
                },
            });
        }
        Ok(HistoryAudit {
            ok: failed.is_empty() && log.has_checkpoint(),
            log,
            tickets_checked: current.len(),
            extended_since_checkpoint: extended,
            new_since_checkpoint: new,
            failed,
        })
    }

    async fn audit_ticket(
        &self,
        id: i64,
        anchored_head: Option<&str>,
    ) -> Result<TicketAudit, ServiceError> {
        let t = self
            .store
            .ticket(id)
            .await?
            .ok_or(ServiceError::NotFound("ticket"))?;
        let events = self.store.events(id).await?;
        let chain = verify_chain(&events, Some(&t.head_hash), Some(t.event_count));
        let messages = self.store.messages(id, true).await?;
        let files = self.store.ticket_attachments(id).await?;
        // What each file on disk hashes to now, read once per digest.
        let mut on_disk: HashMap<&str, Option<String>> = HashMap::new();
        for a in &files {
            if !on_disk.contains_key(a.sha256.as_str()) {
                let bytes = self
                    .store
                    .files()
                    .get(&a.sha256)
                    .await
                    .map_err(xdesk_store::StoreError::from)?;
                on_disk.insert(&a.sha256, bytes.map(|b| sha256_hex(&b)));
            }
        }
        let stored_messages: Vec<StoredMessage<'_>> = messages
            .iter()
            .map(|m| StoredMessage {
                id: m.id,
                internal: m.internal,
                body: &m.body_text,
            })
            .collect();
        let stored_files: Vec<StoredAttachment<'_>> = files
            .iter()
            .map(|a| StoredAttachment {
                id: a.id,
                message_id: a.message_id,
                sha256: &a.sha256,
                filename: &a.filename,
                size: a.size,
                file_sha256: on_disk.get(a.sha256.as_str()).cloned().flatten(),
            })
            .collect();
        let content = verify_content(&events, &stored_messages, &stored_files);
        let anchor = anchor_status(&events, anchored_head);
        Ok(TicketAudit {
            ticket_id: id,
            ticket: TicketNumber::for_ticket(id).to_string(),
            ok: chain.valid && content.is_empty() && anchor.ok(),
            chain,
            content,
            anchor,
        })
    }

    /// The proof that the last checkpoint covers ticket `id`, for its transcript: `None`
    /// without anchoring, before the first checkpoint, or for a ticket newer than it.
    pub(crate) async fn transcript_anchor(&self, id: i64) -> Option<InclusionProof> {
        let s = self.anchor.clone()?;
        let built = tokio::task::spawn_blocking(move || {
            last_snapshot(&s)
                .map(|last| last.and_then(|(line, heads)| InclusionProof::build(&line, &heads, id)))
        })
        .await;
        match built {
            Ok(Ok(proof)) => proof,
            Ok(Err(e)) => {
                tracing::warn!(ticket = id, error = %e, "transcript exported without its checkpoint proof");
                None
            }
            Err(e) => {
                tracing::warn!(ticket = id, error = %e, "transcript exported without its checkpoint proof");
                None
            }
        }
    }
}
