//! Anchoring ticket histories outside the database. A ticket's hash chain alone does not stop
//! someone who can write to the database: they can rewrite a message and recompute every hash
//! after it. So xdesk signs checkpoints (Ed25519, with a key kept outside the database) over a
//! Merkle tree of every ticket's chain head and appends them to a log file that is chained line
//! by line; a rewritten chain no longer contains the head a checkpoint committed to.
//!
//! The tree follows RFC 6962 (Certificate Transparency): leaves are sorted by ticket id,
//! `leaf = SHA-256(0x00 || u64-be(ticket_id) || head)` with `head` the 32 raw bytes of the
//! chain head, `node = SHA-256(0x01 || left || right)`, an empty tree's root is `SHA-256("")`,
//! and a tree of `n` leaves splits at the largest power of two below `n`. Inclusion proofs are
//! RFC 6962 audit paths, checked with the algorithm of RFC 9162, section 2.1.3.2.

use crate::event::{EventRecord, GENESIS_HASH};
use crate::ticket::TicketNumber;
use chrono::{DateTime, SecondsFormat, Utc};
pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signer, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash32 = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
/// The first line of the text a checkpoint's signature covers: names the format, so a
/// signature made for anything else never passes as a checkpoint.
const SIGNED_TITLE: &str = "xdesk history checkpoint v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("the head of ticket {0} is not a SHA-256 digest")]
    BadHead(i64),
    #[error("not a checkpoint: {0}")]
    BadCheckpoint(String),
    #[error("the checkpoint's signature does not verify")]
    BadSignature,
    #[error("the checkpoint is signed by key {found}, not by the trusted key {trusted}")]
    WrongKey { found: String, trusted: String },
    #[error("the inclusion proof does not lead to the checkpoint's root")]
    ProofMismatch,
    #[error("the proof is for ticket {proof}, the transcript is {transcript}")]
    WrongTicket { proof: i64, transcript: String },
}

/// A ticket's chain head as a checkpoint commits to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub ticket_id: i64,
    pub head: String,
}

fn decode32(hex_text: &str) -> Option<Hash32> {
    let bytes = hex::decode(hex_text).ok()?;
    bytes.try_into().ok()
}

pub fn leaf_hash(ticket_id: i64, head: &str) -> Result<Hash32, AnchorError> {
    let head = decode32(head).ok_or(AnchorError::BadHead(ticket_id))?;
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(ticket_id.to_be_bytes());
    h.update(head);
    Ok(h.finalize().into())
}

pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The leaves of a set of heads, in tree order (by ticket id).
pub fn leaves(heads: &[ChainHead]) -> Result<Vec<Hash32>, AnchorError> {
    let mut sorted: Vec<&ChainHead> = heads.iter().collect();
    sorted.sort_by_key(|h| h.ticket_id);
    sorted
        .iter()
        .map(|h| leaf_hash(h.ticket_id, &h.head))
        .collect()
}

/// The largest power of two below `n` (for `n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962's Merkle Tree Hash.
pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let (l, r) = leaves.split_at(split(leaves.len()));
            node_hash(&merkle_root(l), &merkle_root(r))
        }
    }
}

/// RFC 6962's audit path for leaf `index`, from the leaf up; `None` if out of range.
pub fn inclusion_proof(leaves: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut lo = 0;
    let mut hi = leaves.len();
    let mut m = index;
    // Collected from the root down, returned from the leaf up.
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            path.push(merkle_root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            path.push(merkle_root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
        }
    }
    path.reverse();
    Some(path)
}

/// The root a proof leads to (RFC 9162, 2.1.3.2); `None` if the proof has the wrong shape.
pub fn root_from_proof(leaf: Hash32, index: u64, size: u64, path: &[Hash32]) -> Option<Hash32> {
    if index >= size {
        return None;
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// One line of the checkpoint log, as JSON. `prev` is the SHA-256 of the previous line's exact
/// text (all zeros for the first), so lines cannot be dropped, reordered or edited unnoticed;
/// `sig` is the Ed25519 signature by `key` of [`Checkpoint::signed_text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub v: u32,
    pub seq: u64,
    /// RFC 3339, UTC, whole seconds.
    pub time: String,
    pub tickets: u64,
    pub root: String,
    pub prev: String,
    pub key: String,
    pub sig: String,
}

/// A signing key from the hex of its 32-byte seed (what a key file holds).
pub fn signing_key_from_hex(text: &str) -> Option<SigningKey> {
    decode32(text.trim()).map(|seed| SigningKey::from_bytes(&seed))
}

/// The hex of a signing key's seed, for its key file.
pub fn signing_key_to_hex(key: &SigningKey) -> String {
    hex::encode(key.to_bytes())
}

/// The heads a checkpoint covers, kept beside the log: its root alone cannot tell a ticket
/// what its head was, nor build a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadsSnapshot {
    pub seq: u64,
    pub heads: Vec<ChainHead>,
}

/// Hex of a signing key's public half, as checkpoints name it.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().as_bytes())
}

/// SHA-256 hex of a log line's exact text (without its newline): the next line's `prev`.
pub fn line_hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

impl Checkpoint {
    /// The text the signature covers, one `name: value` per line after a title.
    pub fn signed_text(&self) -> String {
        format!(
            "{SIGNED_TITLE}\nseq: {}\ntime: {}\ntickets: {}\nroot: {}\nprev: {}\nkey: {}\n",
            self.seq, self.time, self.tickets, self.root, self.prev, self.key
        )
    }

    /// A signed checkpoint over `heads`, following the line whose hash is `prev`.
    pub fn sign(
        seq: u64,
        time: DateTime<Utc>,
        heads: &[ChainHead],
        prev: &str,
        key: &SigningKey,
    ) -> Result<Self, AnchorError> {
        let root = merkle_root(&leaves(heads)?);
        let mut c = Checkpoint {
            v: 1,
            seq,
            time: time.to_rfc3339_opts(SecondsFormat::Secs, true),
            tickets: heads.len() as u64,
            root: hex::encode(root),
            prev: prev.to_owned(),
            key: public_key_hex(key),
            sig: String::new(),
        };
        c.sig = hex::encode(key.sign(c.signed_text().as_bytes()).to_bytes());
        Ok(c)
    }

    /// The line written to the log (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse_line(line: &str) -> Result<Self, AnchorError> {
        let c: Checkpoint =
            serde_json::from_str(line).map_err(|e| AnchorError::BadCheckpoint(e.to_string()))?;
        if c.v != 1 {
            return Err(AnchorError::BadCheckpoint(format!("version {}", c.v)));
        }
        Ok(c)
    }

    /// Checks the signature against the key the checkpoint names.
    pub fn verify_signature(&self) -> Result<(), AnchorError> {
        let key = decode32(&self.key)
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(|| AnchorError::BadCheckpoint("bad public key".into()))?;
        let sig: [u8; 64] = hex::decode(&self.sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(AnchorError::BadSignature)?;
        key.verify(
            self.signed_text().as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .map_err(|_| AnchorError::BadSignature)
    }

    /// Checks the signature and that `trusted_key` (hex) made it.
    pub fn verify_with(&self, trusted_key: &str) -> Result<(), AnchorError> {
        if !self.key.eq_ignore_ascii_case(trusted_key) {
            return Err(AnchorError::WrongKey {
                found: self.key.clone(),
                trusted: trusted_key.to_owned(),
            });
        }
        self.verify_signature()
    }

    /// Whether `heads` are exactly what this checkpoint committed to.
    pub fn covers(&self, heads: &[ChainHead]) -> Result<bool, AnchorError> {
        Ok(heads.len() as u64 == self.tickets
            && hex::encode(merkle_root(&leaves(heads)?)) == self.root)
    }
}

/// What is wrong with a checkpoint log, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("checkpoint log line {line}: {reason}")]
pub struct LogProblem {
    pub line: usize,
    pub reason: String,
}

/// An intact log's last checkpoint, with its exact line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    pub checkpoints: usize,
    pub last: Option<(Checkpoint, String)>,
}

/// Checks a whole checkpoint log: every line parses, is signed by `trusted_key`, numbers
/// itself one after the line before, and names that line's hash.
pub fn verify_log(text: &str, trusted_key: &str) -> Result<LogTail, LogProblem> {
    let mut last: Option<(Checkpoint, String)> = None;
    let mut count = 0;
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        if lines.peek().is_none() {
            // After the final newline: nothing, or a line cut off before its newline.
            if line.is_empty() {
                break;
            }
            return Err(LogProblem {
                line: n,
                reason: "the last line is incomplete (no newline)".into(),
            });
        }
        let problem = |reason: String| LogProblem { line: n, reason };
        let c = Checkpoint::parse_line(line).map_err(|e| problem(e.to_string()))?;
        c.verify_with(trusted_key)
            .map_err(|e| problem(e.to_string()))?;
        let (want_seq, want_prev) = match &last {
            Some((p, l)) => (p.seq + 1, line_hash(l)),
            None => (1, GENESIS_HASH.to_owned()),
        };
        if c.seq != want_seq {
            return Err(problem(format!(
                "checkpoint {} where {want_seq} was expected",
                c.seq
            )));
        }
        if c.prev != want_prev {
            return Err(problem(
                "does not name the hash of the line before it".into(),
            ));
        }
        count += 1;
        last = Some((c, line.to_owned()));
    }
    Ok(LogTail {
        checkpoints: count,
        last,
    })
}

/// The last complete line of a log, without checking the rest: what a transcript cites.
pub fn last_line(text: &str) -> Option<&str> {
    text.strip_suffix('\n')?.rsplit('\n').next()
}

/// How a ticket's chain stands against the head a checkpoint recorded for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AnchorStatus {
    /// The chain ends at the anchored head.
    Anchored,
    /// The anchored head is event `at_seq` of the chain, which grew by `added` events since.
    Extended { at_seq: i64, added: usize },
    /// The anchored head is nowhere in the chain: it was rewritten.
    NotInChain { anchored_head: String },
    /// The ticket was created after the checkpoint.
    NotYetAnchored,
    /// The checkpoint has the ticket but the database does not.
    Missing { anchored_head: String },
}

impl AnchorStatus {
    pub fn ok(&self) -> bool {
        matches!(
            self,
            AnchorStatus::Anchored | AnchorStatus::Extended { .. } | AnchorStatus::NotYetAnchored
        )
    }
}

/// Places an anchored head in a chain (whose links the caller has verified).
pub fn anchor_status(events: &[EventRecord], anchored_head: Option<&str>) -> AnchorStatus {
    let Some(head) = anchored_head else {
        return AnchorStatus::NotYetAnchored;
    };
    match events.iter().position(|e| e.hash == head) {
        Some(i) if i + 1 == events.len() => AnchorStatus::Anchored,
        Some(i) => AnchorStatus::Extended {
            at_seq: events[i].seq,
            added: events.len() - i - 1,
        },
        None if events.is_empty() && head == GENESIS_HASH => AnchorStatus::Anchored,
        None => AnchorStatus::NotInChain {
            anchored_head: head.to_owned(),
        },
    }
}

/// What a customer's transcript carries to show, offline, that the ticket's history as of a
/// checkpoint is the one the exchange signed: the checkpoint's exact log line, the ticket's
/// head then, and the audit path from its leaf to the checkpoint's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub checkpoint: String,
    pub ticket_id: i64,
    pub head: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Hex digests, from the leaf up.
    pub path: Vec<String>,
    /// The key that signed the checkpoint; compare it with the one the exchange publishes.
    pub public_key: String,
}

impl InclusionProof {
    /// The proof for `ticket_id` in `heads`, the set the checkpoint in `line` covers.
    pub fn build(line: &str, heads: &[ChainHead], ticket_id: i64) -> Option<Self> {
        let c = Checkpoint::parse_line(line).ok()?;
        let mut sorted: Vec<&ChainHead> = heads.iter().collect();
        sorted.sort_by_key(|h| h.ticket_id);
        let index = sorted.iter().position(|h| h.ticket_id == ticket_id)?;
        let leaves: Vec<Hash32> = sorted
            .iter()
            .map(|h| leaf_hash(h.ticket_id, &h.head))
            .collect::<Result<_, _>>()
            .ok()?;
        let path = inclusion_proof(&leaves, index)?;
        Some(InclusionProof {
            checkpoint: line.to_owned(),
            ticket_id,
            head: sorted.get(index)?.head.clone(),
            leaf_index: index as u64,
            tree_size: leaves.len() as u64,
            path: path.iter().map(hex::encode).collect(),
            public_key: c.key,
        })
    }

    /// Checks the checkpoint's signature, that `public_key` made it, and the path to its root.
    pub fn verify(&self) -> Result<Checkpoint, AnchorError> {
        let c = Checkpoint::parse_line(&self.checkpoint)?;
        c.verify_with(&self.public_key)?;
        if c.tickets != self.tree_size {
            return Err(AnchorError::ProofMismatch);
        }
        let path: Vec<Hash32> = self
            .path
            .iter()
            .map(|p| decode32(p).ok_or(AnchorError::ProofMismatch))
            .collect::<Result<_, _>>()?;
        let leaf = leaf_hash(self.ticket_id, &self.head)?;
        match root_from_proof(leaf, self.leaf_index, self.tree_size, &path) {
            Some(root) if hex::encode(root) == c.root => Ok(c),
            _ => Err(AnchorError::ProofMismatch),
        }
    }
}

/// What an exported transcript proves once its anchor checks out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedTranscript {
    pub ticket: String,
    pub checkpoint_seq: u64,
    pub checkpoint_time: String,
    pub public_key: String,
    /// The ticket's head the checkpoint signed.
    pub anchored_head: String,
    /// The transcript was exported with exactly that head: nothing happened on the ticket
    /// between the checkpoint and the export.
    pub export_is_anchored: bool,
}

/// Verifies a transcript exported from the portal (its JSON, nothing else): the `anchor`
/// proof, its checkpoint's signature, and that the proof is for the transcript's ticket.
/// The caller still compares `public_key` with the key the exchange publishes.
pub fn verify_transcript(
    transcript: &serde_json::Value,
) -> Result<VerifiedTranscript, AnchorError> {
    let ticket = transcript
        .get("ticket")
        .and_then(|t| t.as_str())
        .ok_or_else(|| AnchorError::BadCheckpoint("the transcript names no ticket".into()))?;
    let proof: InclusionProof = transcript
        .get("anchor")
        .filter(|a| !a.is_null())
        .cloned()
        .ok_or_else(|| AnchorError::BadCheckpoint("the transcript carries no anchor".into()))
        .and_then(|a| {
            serde_json::from_value(a).map_err(|e| AnchorError::BadCheckpoint(e.to_string()))
        })?;
    let number: TicketNumber = ticket.parse().map_err(|_| AnchorError::WrongTicket {
        proof: proof.ticket_id,
        transcript: ticket.to_owned(),
    })?;
    if number.ticket_id() != proof.ticket_id {
        return Err(AnchorError::WrongTicket {
            proof: proof.ticket_id,
            transcript: ticket.to_owned(),
        });
    }
    let c = proof.verify()?;
    let exported_head = transcript.get("head_hash").and_then(|h| h.as_str());
    Ok(VerifiedTranscript {
        ticket: ticket.to_owned(),
        checkpoint_seq: c.seq,
        checkpoint_time: c.time,
        public_key: c.key,
        export_is_anchored: exported_head == Some(proof.head.as_str()),
        anchored_head: proof.head,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::event::{Actor, EventKind};

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn heads(n: usize) -> Vec<ChainHead> {
        (0..n)
            .map(|i| ChainHead {
                ticket_id: i as i64 + 1,
                head: hex::encode(Sha256::digest(format!("head {i}"))),
            })
            .collect()
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// RFC 6962's definition, written as literally as possible, to check the iterative proof.
    fn reference_path(leaves: &[Hash32], m: usize) -> Vec<Hash32> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split(leaves.len());
        if m < k {
            let mut p = reference_path(&leaves[..k], m);
            p.push(merkle_root(&leaves[k..]));
            p
        } else {
            let mut p = reference_path(&leaves[k..], m - k);
            p.push(merkle_root(&leaves[..k]));
            p
        }
    }

    #[test]
    fn roots_follow_rfc_6962() {
        assert_eq!(
            hex::encode(merkle_root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let l = leaves(&heads(3)).unwrap();
        assert_eq!(merkle_root(&l[..1]), l[0]);
        // Three leaves: ((0, 1), 2).
        assert_eq!(merkle_root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        // The leaf prefix keeps a leaf from passing as a node.
        let mut raw = vec![LEAF_PREFIX];
        raw.extend(1i64.to_be_bytes());
        raw.extend(hex::decode(&heads(1)[0].head).unwrap());
        assert_eq!(l[0], <Hash32>::from(Sha256::digest(&raw)));
    }

    #[test]
    fn leaves_are_in_ticket_order_whatever_the_input_order() {
        let mut h = heads(5);
        let a = merkle_root(&leaves(&h).unwrap());
        h.reverse();
        assert_eq!(merkle_root(&leaves(&h).unwrap()), a);
    }

    #[test]
    fn every_proof_of_every_size_verifies_and_only_for_its_leaf() {
        for n in 1..=17 {
            let l = leaves(&heads(n)).unwrap();
            let root = merkle_root(&l);
            for i in 0..n {
                let path = inclusion_proof(&l, i).unwrap();
                assert_eq!(path, reference_path(&l, i), "n={n} i={i}");
                assert_eq!(
                    root_from_proof(l[i], i as u64, n as u64, &path),
                    Some(root),
                    "n={n} i={i}"
                );
                // Another leaf, another position, a shorter path, a wrong size: no.
                let other = l[(i + 1) % n];
                if n > 1 {
                    assert_ne!(
                        root_from_proof(other, i as u64, n as u64, &path),
                        Some(root)
                    );
                    assert_ne!(
                        root_from_proof(l[i], ((i + 1) % n) as u64, n as u64, &path),
                        Some(root)
                    );
                }
                if !path.is_empty() {
                    assert_ne!(
                        root_from_proof(l[i], i as u64, n as u64, &path[..path.len() - 1]),
                        Some(root)
                    );
                }
            }
            assert!(inclusion_proof(&l, n).is_none());
        }
    }

    fn log_of(n: u64, k: &SigningKey) -> String {
        let mut text = String::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=n {
            let c = Checkpoint::sign(seq, at(), &heads(seq as usize), &prev, k).unwrap();
            let line = c.to_line();
            prev = line_hash(&line);
            text.push_str(&line);
            text.push('\n');
        }
        text
    }

    #[test]
    fn an_intact_log_verifies_to_its_last_checkpoint() {
        let k = key(7);
        let text = log_of(3, &k);
        let tail = verify_log(&text, &public_key_hex(&k)).unwrap();
        assert_eq!(tail.checkpoints, 3);
        let (last, line) = tail.last.unwrap();
        assert_eq!(last.seq, 3);
        assert_eq!(last_line(&text), Some(line.as_str()));
        assert!(last.covers(&heads(3)).unwrap());
        assert!(!last.covers(&heads(2)).unwrap());
        assert_eq!(verify_log("", "00").unwrap().checkpoints, 0);
    }

    #[test]
    fn log_tampering_is_found_on_its_line() {
        let k = key(7);
        let trusted = public_key_hex(&k);
        let text = log_of(3, &k);
        let lines: Vec<&str> = text.lines().collect();
        // An edited root.
        let mut c = Checkpoint::parse_line(lines[1]).unwrap();
        c.root = hex::encode([9u8; 32]);
        let edited = format!("{}\n{}\n{}\n", lines[0], c.to_line(), lines[2]);
        let p = verify_log(&edited, &trusted).unwrap_err();
        assert_eq!(p.line, 2);
        assert!(p.reason.contains("signature"), "{p}");
        // A dropped line.
        let dropped = format!("{}\n{}\n", lines[0], lines[2]);
        assert_eq!(verify_log(&dropped, &trusted).unwrap_err().line, 2);
        // Another key, even with a valid signature of its own.
        let other = log_of(1, &key(8));
        let p = verify_log(&other, &trusted).unwrap_err();
        assert!(p.reason.contains("not by the trusted key"), "{p}");
        // A line cut off by a crash.
        let cut = &text[..text.len() - 5];
        assert_eq!(verify_log(cut, &trusted).unwrap_err().line, 3);
        // A re-signed line that no longer chains: the next line names the old one.
        let mut c = Checkpoint::parse_line(lines[1]).unwrap();
        c.time = "2030-01-01T00:00:00Z".into();
        c.sig = hex::encode(k.sign(c.signed_text().as_bytes()).to_bytes());
        let resigned = format!("{}\n{}\n{}\n", lines[0], c.to_line(), lines[2]);
        assert_eq!(verify_log(&resigned, &trusted).unwrap_err().line, 3);
    }

    #[test]
    fn anchor_status_places_the_anchored_head() {
        let mut events = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=3 {
            let e = EventRecord::seal(
                5,
                seq,
                &EventKind::QualityFlag { kind: "x".into() },
                &Actor::System,
                at(),
                &prev,
            );
            prev = e.hash.clone();
            events.push(e);
        }
        assert_eq!(
            anchor_status(&events, Some(&events[2].hash)),
            AnchorStatus::Anchored
        );
        assert_eq!(
            anchor_status(&events, Some(&events[0].hash)),
            AnchorStatus::Extended {
                at_seq: 1,
                added: 2
            }
        );
        assert!(!anchor_status(&events, Some(GENESIS_HASH)).ok());
        assert_eq!(anchor_status(&events, None), AnchorStatus::NotYetAnchored);
    }

    #[test]
    fn an_exported_proof_verifies_from_json_alone() {
        let k = key(3);
        let hs = heads(6);
        let c = Checkpoint::sign(4, at(), &hs, GENESIS_HASH, &k).unwrap();
        let line = c.to_line();
        let proof = InclusionProof::build(&line, &hs, 5).unwrap();
        let transcript = serde_json::json!({
            "ticket": TicketNumber::for_ticket(5).to_string(),
            "head_hash": hs[4].head,
            "anchor": proof,
        });
        let v = verify_transcript(&transcript).unwrap();
        assert!(v.export_is_anchored);
        assert_eq!(v.checkpoint_seq, 4);
        assert_eq!(v.public_key, public_key_hex(&k));
        // Someone else's ticket number on the proof.
        let mut other = transcript.clone();
        other["ticket"] = serde_json::json!(TicketNumber::for_ticket(4).to_string());
        assert!(matches!(
            verify_transcript(&other),
            Err(AnchorError::WrongTicket { .. })
        ));
        // A different head (a rewritten history) does not lead to the signed root.
        let mut forged = transcript.clone();
        forged["anchor"]["head"] = serde_json::json!(hs[0].head);
        assert_eq!(verify_transcript(&forged), Err(AnchorError::ProofMismatch));
        // A checkpoint re-signed by another key is caught when the key is compared.
        let mut resigned = proof.clone();
        let other_key = key(4);
        let c2 = Checkpoint::sign(4, at(), &hs, GENESIS_HASH, &other_key).unwrap();
        resigned.checkpoint = c2.to_line();
        assert!(matches!(
            resigned.verify(),
            Err(AnchorError::WrongKey { .. })
        ));
        assert!(verify_transcript(&serde_json::json!({"ticket": "XD-10005"})).is_err());
    }
}

/// Checkpoints signed outside xdesk: by `ring`'s Ed25519 (not ed25519-dalek, which xdesk signs
/// and verifies with) from RFC 8032's TEST 1 seed.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod outside_vectors {
    use super::*;

    /// RFC 8032, section 7.1, TEST 1: the secret key (seed) and its public key.
    const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn a_checkpoint_signed_by_ring_verifies() {
        use ring::signature::KeyPair;
        // A key file holding the RFC's seed is the RFC's key.
        let ours = signing_key_from_hex(RFC8032_SEED).unwrap();
        assert_eq!(public_key_hex(&ours), RFC8032_PUBLIC);
        let seed = hex::decode(RFC8032_SEED).unwrap();
        let theirs = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(hex::encode(theirs.public_key().as_ref()), RFC8032_PUBLIC);
        let heads = [ChainHead {
            ticket_id: 7,
            head: "ab".repeat(32),
        }];
        let mut c = Checkpoint {
            v: 1,
            seq: 1,
            time: "2026-01-02T03:04:05Z".into(),
            tickets: 1,
            root: hex::encode(merkle_root(&leaves(&heads).unwrap())),
            prev: "00".repeat(32),
            key: RFC8032_PUBLIC.into(),
            sig: String::new(),
        };
        c.sig = hex::encode(theirs.sign(c.signed_text().as_bytes()).as_ref());
        assert_eq!(c.verify_with(RFC8032_PUBLIC), Ok(()));
        assert_eq!(c.covers(&heads), Ok(true));
        // Through its log line, too.
        let back = Checkpoint::parse_line(&c.to_line()).unwrap();
        assert_eq!(back.verify_with(RFC8032_PUBLIC), Ok(()));
        // ed25519 is deterministic: xdesk's own signer makes the very same signature.
        let signed = Checkpoint::sign(
            1,
            "2026-01-02T03:04:05Z".parse().unwrap(),
            &heads,
            &"00".repeat(32),
            &ours,
        )
        .unwrap();
        assert_eq!(signed, c);
        // One field changed after signing: refused.
        let mut changed = c.clone();
        changed.tickets = 2;
        assert_eq!(
            changed.verify_with(RFC8032_PUBLIC),
            Err(AnchorError::BadSignature)
        );
        // The RFC's own signature of the empty message is no checkpoint signature.
        let mut foreign = c.clone();
        foreign.sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b".into();
        assert_eq!(foreign.verify_signature(), Err(AnchorError::BadSignature));
    }
}
