//! What a ticket shows against what its hash chain recorded. The chain holds the SHA-256 of
//! each message body and attachment, not the content itself, so a body rewritten in the
//! database or a file swapped on disk leaves the chain intact: this compares them.
//!
//! Bodies are compared as stored: xdesk cuts secrets out before a message is stored and hashed,
//! and a merge or split copies messages as new rows with events of their own on the receiving
//! ticket, so neither changes a body after its event was written.

use crate::event::{EventKind, EventRecord, sha256_hex};
use serde::Serialize;
use std::collections::HashMap;

/// A stored message of the ticket.
#[derive(Debug, Clone)]
pub struct StoredMessage<'a> {
    pub id: i64,
    pub internal: bool,
    pub body: &'a str,
}

/// A stored attachment row of the ticket, with what its file on disk hashes to (`None`: no
/// file). The caller reads the file the row points to.
#[derive(Debug, Clone)]
pub struct StoredAttachment<'a> {
    pub id: i64,
    pub message_id: i64,
    pub sha256: &'a str,
    pub filename: &'a str,
    pub size: i64,
    pub file_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The body no longer hashes to what the event recorded.
    BodyChanged,
    /// The message was made internal or public after the fact.
    VisibilityChanged,
    /// An event records a message that is not stored.
    MessageMissing,
    /// A stored message no event records.
    MessageUnrecorded,
    /// An event records an attachment that no row matches.
    AttachmentMissing,
    /// A row's name or size differs from the event's.
    AttachmentChanged,
    /// A stored attachment no event records.
    AttachmentUnrecorded,
    /// The attachment's file is gone.
    FileMissing,
    /// The attachment's file no longer hashes to its digest.
    FileChanged,
    /// A message or attachment event whose payload cannot be read.
    BadEvent,
}

/// One mismatch, with the event (`seq`) and the message or attachment it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentProblem {
    pub kind: ProblemKind,
    pub seq: Option<i64>,
    pub message_id: Option<i64>,
    pub attachment_id: Option<i64>,
    pub detail: String,
}

fn problem(
    kind: ProblemKind,
    seq: Option<i64>,
    message_id: Option<i64>,
    attachment_id: Option<i64>,
    detail: String,
) -> ContentProblem {
    ContentProblem {
        kind,
        seq,
        message_id,
        attachment_id,
        detail,
    }
}

/// Compares the ticket's stored messages and attachments with its events. Empty when all match.
pub fn verify_content(
    events: &[EventRecord],
    messages: &[StoredMessage<'_>],
    attachments: &[StoredAttachment<'_>],
) -> Vec<ContentProblem> {
    let mut out = Vec::new();
    let by_id: HashMap<i64, &StoredMessage<'_>> = messages.iter().map(|m| (m.id, m)).collect();
    let mut recorded_messages = std::collections::HashSet::new();
    let mut unmatched_files: Vec<&StoredAttachment<'_>> = attachments.iter().collect();
    for e in events {
        if e.kind != "message_added" && e.kind != "attachment_added" {
            continue;
        }
        let kind = serde_json::from_value::<EventKind>(
            serde_json::json!({"kind": e.kind, "data": e.data}),
        );
        match kind {
            Ok(EventKind::MessageAdded {
                message_id,
                internal,
                body_sha256,
            }) => {
                recorded_messages.insert(message_id);
                let Some(m) = by_id.get(&message_id) else {
                    out.push(problem(
                        ProblemKind::MessageMissing,
                        Some(e.seq),
                        Some(message_id),
                        None,
                        format!(
                            "message {message_id} recorded by event {} is not stored",
                            e.seq
                        ),
                    ));
                    continue;
                };
                if sha256_hex(m.body.as_bytes()) != body_sha256 {
                    out.push(problem(
                        ProblemKind::BodyChanged,
                        Some(e.seq),
                        Some(message_id),
                        None,
                        format!(
                            "the body of message {message_id} differs from the one event {} recorded",
                            e.seq
                        ),
                    ));
                }
                if m.internal != internal {
                    out.push(problem(
                        ProblemKind::VisibilityChanged,
                        Some(e.seq),
                        Some(message_id),
                        None,
                        format!(
                            "message {message_id} was recorded as {} by event {} and is now {}",
                            visibility(internal),
                            e.seq,
                            visibility(m.internal)
                        ),
                    ));
                }
            }
            Ok(EventKind::AttachmentAdded {
                message_id,
                sha256,
                filename,
                size,
            }) => {
                let found = unmatched_files
                    .iter()
                    .position(|a| a.message_id == message_id && a.sha256 == sha256);
                let Some(a) = found.map(|i| unmatched_files.swap_remove(i)) else {
                    out.push(problem(
                        ProblemKind::AttachmentMissing,
                        Some(e.seq),
                        Some(message_id),
                        None,
                        format!(
                            "attachment `{filename}` ({sha256}) of message {message_id}, recorded by event {}, is not stored",
                            e.seq
                        ),
                    ));
                    continue;
                };
                if a.filename != filename || a.size != size {
                    out.push(problem(
                        ProblemKind::AttachmentChanged,
                        Some(e.seq),
                        Some(message_id),
                        Some(a.id),
                        format!(
                            "attachment {} is now `{}` ({} bytes); event {} recorded `{filename}` ({size} bytes)",
                            a.id, a.filename, a.size, e.seq
                        ),
                    ));
                }
                match &a.file_sha256 {
                    None => out.push(problem(
                        ProblemKind::FileMissing,
                        Some(e.seq),
                        Some(message_id),
                        Some(a.id),
                        format!("the file of attachment {} (`{filename}`) is missing", a.id),
                    )),
                    Some(actual) if *actual != sha256 => out.push(problem(
                        ProblemKind::FileChanged,
                        Some(e.seq),
                        Some(message_id),
                        Some(a.id),
                        format!(
                            "the file of attachment {} (`{filename}`) hashes to {actual}, event {} recorded {sha256}",
                            a.id, e.seq
                        ),
                    )),
                    Some(_) => {}
                }
            }
            Ok(_) => {}
            Err(err) => out.push(problem(
                ProblemKind::BadEvent,
                Some(e.seq),
                None,
                None,
                format!("event {} cannot be read: {err}", e.seq),
            )),
        }
    }
    for m in messages {
        if !recorded_messages.contains(&m.id) {
            out.push(problem(
                ProblemKind::MessageUnrecorded,
                None,
                Some(m.id),
                None,
                format!("message {} is stored but no event records it", m.id),
            ));
        }
    }
    let mut unrecorded: Vec<_> = unmatched_files;
    unrecorded.sort_by_key(|a| a.id);
    for a in unrecorded {
        out.push(problem(
            ProblemKind::AttachmentUnrecorded,
            None,
            Some(a.message_id),
            Some(a.id),
            format!(
                "attachment {} (`{}`, {}) is stored but no event records it",
                a.id, a.filename, a.sha256
            ),
        ));
    }
    out
}

fn visibility(internal: bool) -> &'static str {
    if internal { "internal" } else { "public" }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{Actor, GENESIS_HASH};
    use chrono::DateTime;

    const BODY: &str = "您好，提币 0.5 BTC 还没到账";
    const FILE: &[u8] = b"%PDF receipt";

    fn events() -> Vec<EventRecord> {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let kinds = [
            EventKind::MessageAdded {
                message_id: 10,
                internal: false,
                body_sha256: sha256_hex(BODY.as_bytes()),
            },
            EventKind::AttachmentAdded {
                message_id: 10,
                sha256: sha256_hex(FILE),
                filename: "receipt.pdf".into(),
                size: FILE.len() as i64,
            },
            EventKind::MessageAdded {
                message_id: 11,
                internal: true,
                body_sha256: sha256_hex(b"note"),
            },
        ];
        let mut prev = GENESIS_HASH.to_owned();
        kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let e = EventRecord::seal(1, i as i64 + 1, k, &Actor::Agent(1), at, &prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn messages(body: &str) -> Vec<StoredMessage<'_>> {
        vec![
            StoredMessage {
                id: 10,
                internal: false,
                body,
            },
            StoredMessage {
                id: 11,
                internal: true,
                body: "note",
            },
        ]
    }

    fn file<'a>(sha: &'a str, on_disk: Option<&[u8]>) -> StoredAttachment<'a> {
        StoredAttachment {
            id: 5,
            message_id: 10,
            sha256: sha,
            filename: "receipt.pdf",
            size: FILE.len() as i64,
            file_sha256: on_disk.map(sha256_hex),
        }
    }

    fn kinds(p: &[ContentProblem]) -> Vec<ProblemKind> {
        p.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn matching_content_has_no_problems() {
        let sha = sha256_hex(FILE);
        assert!(verify_content(&events(), &messages(BODY), &[file(&sha, Some(FILE))]).is_empty());
    }

    #[test]
    fn a_rewritten_body_is_reported_with_its_event() {
        let sha = sha256_hex(FILE);
        let p = verify_content(
            &events(),
            &messages("您好，提币 0.05 BTC 已到账"),
            &[file(&sha, Some(FILE))],
        );
        assert_eq!(kinds(&p), [ProblemKind::BodyChanged]);
        assert_eq!((p[0].seq, p[0].message_id), (Some(1), Some(10)));
    }

    #[test]
    fn swapped_missing_and_repointed_files_are_reported() {
        let sha = sha256_hex(FILE);
        let p = verify_content(&events(), &messages(BODY), &[file(&sha, Some(b"forged"))]);
        assert_eq!(kinds(&p), [ProblemKind::FileChanged]);
        assert_eq!((p[0].seq, p[0].attachment_id), (Some(2), Some(5)));
        let p = verify_content(&events(), &messages(BODY), &[file(&sha, None)]);
        assert_eq!(kinds(&p), [ProblemKind::FileMissing]);
        // The row pointed at another (intact) file.
        let other = sha256_hex(b"forged");
        let p = verify_content(&events(), &messages(BODY), &[file(&other, Some(b"forged"))]);
        assert_eq!(
            kinds(&p),
            [
                ProblemKind::AttachmentMissing,
                ProblemKind::AttachmentUnrecorded
            ]
        );
    }

    #[test]
    fn deleted_added_and_unhidden_messages_are_reported() {
        let sha = sha256_hex(FILE);
        let files = [file(&sha, Some(FILE))];
        let mut ms = messages(BODY);
        ms.remove(1);
        assert_eq!(
            kinds(&verify_content(&events(), &ms, &files)),
            [ProblemKind::MessageMissing]
        );
        let mut ms = messages(BODY);
        ms[1].internal = false;
        ms.push(StoredMessage {
            id: 12,
            internal: false,
            body: "planted",
        });
        assert_eq!(
            kinds(&verify_content(&events(), &ms, &files)),
            [
                ProblemKind::VisibilityChanged,
                ProblemKind::MessageUnrecorded
            ]
        );
        let mut renamed = file(&sha, Some(FILE));
        renamed.filename = "official-statement.pdf";
        assert_eq!(
            kinds(&verify_content(&events(), &messages(BODY), &[renamed])),
            [ProblemKind::AttachmentChanged]
        );
    }
}
