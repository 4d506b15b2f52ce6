//! IMAP mailboxes: configured by admins (API) or in the configuration file, polled by the
//! channel adapter in xdesk-channels. Passwords are stored for the poller and never shown.

use crate::{Principal, ServiceError, Services};
use serde::Deserialize;
use serde_json::json;
use xdesk_domain::FieldError;
use xdesk_store::{MailboxRow, MailboxSettings, SecretColumn};

/// A mailbox as an admin or the configuration file gives it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxInput {
    pub name: String,
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// `tls` (default) or `none`.
    #[serde(default = "default_tls")]
    pub tls: String,
    pub username: String,
    /// Left out on an update, the stored password stays.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "default_folder")]
    pub folder: String,
    #[serde(default)]
    pub move_to: Option<String>,
    #[serde(default)]
    pub group_id: Option<i64>,
    #[serde(default = "default_active")]
    pub active: bool,
}

fn default_port() -> u16 {
    993
}
fn default_tls() -> String {
    "tls".into()
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_active() -> bool {
    true
}

fn bad(field: &str, code: &'static str, msg: &str) -> ServiceError {
    FieldError::new(field, code, msg).into()
}

/// An IMAP mailbox name: printable, no quotes or line breaks that could leave the command.
fn folder_ok(f: &str) -> bool {
    !f.trim().is_empty() && f.len() <= 200 && !f.chars().any(|c| c.is_control() || c == '"')
}

impl Services {
    /// The mailbox's settings, checked, and the new password in plain text when one is given
    /// (None keeps the stored one; a new mailbox must have one).
    async fn validate_mailbox(
        &self,
        m: &MailboxInput,
        has_password: bool,
    ) -> Result<(MailboxSettings, Option<String>), ServiceError> {
        let name = m.name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(bad("name", "invalid_name", "1 to 100 characters"));
        }
        let host = m.host.trim();
        if host.is_empty() || host.len() > 255 || host.contains(char::is_whitespace) {
            return Err(bad("host", "invalid_host", "a host name or address"));
        }
        if m.port == 0 {
            return Err(bad("port", "invalid_port", "1 to 65535"));
        }
        if !["tls", "none"].contains(&m.tls.as_str()) {
            return Err(bad("tls", "invalid_tls", "`tls` or `none`"));
        }
        if m.username.trim().is_empty() {
            return Err(bad("username", "invalid_username", "must not be empty"));
        }
        let password = match &m.password {
            Some(p) if !p.is_empty() => Some(p.clone()),
            _ if has_password => None,
            _ => return Err(bad("password", "password_required", "must not be empty")),
        };
        if !folder_ok(&m.folder) {
            return Err(bad("folder", "invalid_folder", "an IMAP folder name"));
        }
        if let Some(d) = m
            .move_to
            .as_ref()
            .filter(|d| !folder_ok(d) || **d == m.folder)
        {
            return Err(bad(
                "move_to",
                "invalid_folder",
                &format!("`{d}`: an IMAP folder other than `folder`"),
            ));
        }
        if let Some(g) = m.group_id {
            self.store
                .group(g)
                .await?
                .ok_or_else(|| bad("group_id", "unknown_group", "no such group"))?;
        }
        let settings = MailboxSettings {
            name: name.to_owned(),
            host: host.to_owned(),
            port: i32::from(m.port),
            tls: m.tls.clone(),
            username: m.username.trim().to_owned(),
            folder: m.folder.clone(),
            move_to: m.move_to.clone(),
            group_id: m.group_id,
            active: m.active,
        };
        Ok((settings, password))
    }

    /// Creates a mailbox with its password sealed for the new row.
    async fn insert_mailbox(
        &self,
        s: &MailboxSettings,
        password: Option<String>,
    ) -> Result<MailboxRow, ServiceError> {
        let password = password.unwrap_or_default();
        let seal = self.sealer(SecretColumn::MailboxPassword, &password);
        Ok(self.store.create_mailbox(s, seal).await?)
    }

    /// Updates a mailbox, sealing a new password for its row.
    async fn rewrite_mailbox(
        &self,
        id: i64,
        s: &MailboxSettings,
        password: Option<String>,
    ) -> Result<MailboxRow, ServiceError> {
        let sealed = password
            .map(|p| self.seal_secret(SecretColumn::MailboxPassword, id, &p))
            .transpose()?;
        Ok(self.store.update_mailbox(id, s, sealed).await?)
    }

    pub async fn list_mailboxes(&self, p: &Principal) -> Result<Vec<MailboxRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.mailboxes().await?)
    }

    pub async fn create_mailbox(
        &self,
        p: &Principal,
        m: MailboxInput,
    ) -> Result<MailboxRow, ServiceError> {
        p.require_admin()?;
        let (s, password) = self.validate_mailbox(&m, false).await?;
        let row = self.insert_mailbox(&s, password).await?;
        self.audit_action(
            p,
            "mailbox.create",
            format!("mailbox:{}", row.id),
            None,
            json!({"name": row.name}),
        )
        .await?;
        self.mailboxes_changed();
        Ok(row)
    }

    pub async fn update_mailbox(
        &self,
        p: &Principal,
        id: i64,
        m: MailboxInput,
    ) -> Result<MailboxRow, ServiceError> {
        p.require_admin()?;
        let old = self
            .store
            .mailbox(id)
            .await?
            .ok_or(ServiceError::NotFound("mailbox"))?;
        let (s, password) = self.validate_mailbox(&m, !old.password.is_empty()).await?;
        let row = self.rewrite_mailbox(id, &s, password).await?;
        self.audit_action(
            p,
            "mailbox.update",
            format!("mailbox:{id}"),
            None,
            json!({}),
        )
        .await?;
        self.mailboxes_changed();
        Ok(row)
    }

    pub async fn delete_mailbox(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        if !self.store.delete_mailbox(id).await? {
            return Err(ServiceError::NotFound("mailbox"));
        }
        self.audit_action(
            p,
            "mailbox.delete",
            format!("mailbox:{id}"),
            None,
            json!({}),
        )
        .await?;
        self.mailboxes_changed();
        Ok(())
    }

    /// Creates or updates the mailboxes of the configuration file, by name, at start-up.
    pub async fn sync_configured_mailboxes(
        &self,
        configured: &[MailboxInput],
    ) -> Result<(), ServiceError> {
        for m in configured {
            let existing = self.store.mailbox_by_name(m.name.trim()).await?;
            let (s, password) = self
                .validate_mailbox(m, existing.as_ref().is_some_and(|e| !e.password.is_empty()))
                .await
                .map_err(|e| {
                    ServiceError::Internal(format!(
                        "mailbox `{}` in the configuration: {e}",
                        m.name
                    ))
                })?;
            match existing {
                Some(e) => self.rewrite_mailbox(e.id, &s, password).await?,
                None => self.insert_mailbox(&s, password).await?,
            };
        }
        Ok(())
    }

    /// For the poller: every mailbox, active or not, with its password opened. A mailbox whose
    /// password does not open is left out, with the reason as its last error.
    pub async fn mailboxes_for_polling(&self) -> Result<Vec<MailboxRow>, ServiceError> {
        let mut out = Vec::new();
        for mut m in self.store.mailboxes().await? {
            match self.open_secret(SecretColumn::MailboxPassword, m.id, &m.password) {
                Ok(p) => {
                    m.password = p;
                    out.push(m);
                }
                Err(e) => {
                    tracing::error!(mailbox = m.id, error = %e, "mailbox password unreadable");
                    self.store
                        .record_mailbox_poll(m.id, Some(e.to_string()))
                        .await?;
                }
            }
        }
        Ok(out)
    }

    pub async fn record_mailbox_poll(
        &self,
        id: i64,
        error: Option<String>,
    ) -> Result<(), ServiceError> {
        Ok(self.store.record_mailbox_poll(id, error).await?)
    }

    fn mailboxes_changed(&self) {
        self.mailboxes_wake.notify_one();
    }
}
