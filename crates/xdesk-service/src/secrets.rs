//! Sealing the secrets the database keeps (see [`crate::sealed`]): each value is sealed for its
//! row before it is written and opened after it is read, here and nowhere else.
//!
//! Values written before sealing existed are sealed at start-up ([`Services::seal_plaintext_secrets`],
//! called by `xdesk::open` right after the migrations), so reads never accept plaintext: a
//! plaintext value written into the database by hand is refused like a tampered one.

use crate::sealed;
use crate::{ServiceError, Services};
use xdesk_store::{SecretColumn, StoreError, StoredSecret};

/// What sealing at start-up or a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Values (re-)sealed with the current key.
    pub sealed: usize,
    /// Values already sealed with the current key and left alone.
    pub unchanged: usize,
}

fn context(column: SecretColumn, row_id: i64) -> String {
    format!("{}:{row_id}", column.name())
}

impl Services {
    /// Seals a secret for its row with the current key.
    pub(crate) fn seal_secret(
        &self,
        column: SecretColumn,
        row_id: i64,
        plaintext: &str,
    ) -> Result<String, ServiceError> {
        self.secrets
            .seal(&context(column, row_id), plaintext)
            .map_err(|e| ServiceError::Internal(format!("sealing {}: {e}", column.name())))
    }

    /// The sealer as the store's row-creating calls take it (the row id is known only there).
    pub(crate) fn sealer(
        &self,
        column: SecretColumn,
        plaintext: &str,
    ) -> impl FnOnce(i64) -> Result<String, StoreError> {
        let keys = self.secrets.clone();
        let plaintext = plaintext.to_owned();
        move |id| {
            keys.seal(&context(column, id), &plaintext)
                .map_err(|e| StoreError::Config(format!("sealing {}: {e}", column.name())))
        }
    }

    /// Opens a stored secret of a row. A value that does not open (altered, copied from another
    /// row, plaintext written by hand, or sealed with a key not configured) is an error that
    /// names the row, never a panic and never a guess.
    pub(crate) fn open_secret(
        &self,
        column: SecretColumn,
        row_id: i64,
        stored: &str,
    ) -> Result<String, ServiceError> {
        self.secrets
            .open(&context(column, row_id), stored)
            .map_err(|e| ServiceError::SecretUnreadable(format!("{}:{row_id}: {e}", column.name())))
    }

    /// Seals every stored secret that is still plaintext (written before sealing existed), with
    /// the current key. Values sealed with a key that is not configured stop the start: without
    /// it agents could not sign in with their second factor nor mailboxes be read.
    pub async fn seal_plaintext_secrets(&self) -> Result<SealReport, ServiceError> {
        let stored = self.store.stored_secrets().await?;
        let unknown: Vec<&StoredSecret> = stored
            .iter()
            .filter(|s| sealed::key_id_of(&s.value).is_some_and(|k| !self.secrets.knows(k)))
            .collect();
        if let Some(first) = unknown.first() {
            return Err(ServiceError::SecretUnreadable(format!(
                "{} stored secrets (the first {}:{}) are sealed with key {}, which is not configured: \
                 set secrets.key_file (or secrets.previous_key_files during a rotation) to the key they were sealed with",
                unknown.len(),
                first.column.name(),
                first.row_id,
                sealed::key_id_of(&first.value).unwrap_or_default(),
            )));
        }
        let mut changes = Vec::new();
        let mut report = SealReport::default();
        for s in stored {
            // An empty value is no secret (a mailbox or integration row being created).
            if sealed::is_sealed(&s.value) || s.value.is_empty() {
                report.unchanged += 1;
                continue;
            }
            let new = self.seal_secret(s.column, s.row_id, &s.value)?;
            changes.push((s, new));
        }
        if !changes.is_empty() {
            // A value changed meanwhile was written sealed by a running node: leave it.
            let skipped = self.store.replace_secrets(&changes, false).await?;
            report.sealed = changes.len() - skipped;
            tracing::info!(
                sealed = report.sealed,
                "sealed secrets stored in plain text"
            );
        }
        Ok(report)
    }

    /// Re-seals every stored secret with the current key, in one transaction: the second half
    /// of a key rotation (the first: the new key becomes current and the old one stays
    /// readable). Afterwards the old key is no longer needed. Plaintext values are sealed too;
    /// a value that does not open stops the rotation before anything is written.
    pub async fn reseal_all_secrets(&self) -> Result<SealReport, ServiceError> {
        let stored = self.store.stored_secrets().await?;
        let mut changes = Vec::new();
        for s in stored {
            if s.value.is_empty() {
                continue;
            }
            let plain = if sealed::is_sealed(&s.value) {
                self.open_secret(s.column, s.row_id, &s.value)?
            } else {
                s.value.clone()
            };
            let new = self.seal_secret(s.column, s.row_id, &plain)?;
            changes.push((s, new));
        }
        match self.store.replace_secrets(&changes, true).await {
            Ok(_) => {}
            Err(StoreError::StaleVersion(_)) => {
                return Err(ServiceError::Conflict(
                    "a secret changed while the keys were rotated; nothing was written, run it again"
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(SealReport {
            sealed: changes.len(),
            unchanged: 0,
        })
    }
}

/// Refuses an empty HS256 signing secret: with one, anybody could sign an identity claim.
pub fn check_signing_secret(field: &str, secret: &str) -> Result<(), xdesk_domain::FieldError> {
    if secret.trim().is_empty() {
        return Err(xdesk_domain::FieldError::new(
            field,
            "empty_signing_secret",
            "a signing secret must not be empty: anyone could sign identity claims with it",
        ));
    }
    Ok(())
}
