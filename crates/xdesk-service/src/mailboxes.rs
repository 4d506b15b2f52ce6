//! IMAP mailboxes: configured by admins (API) or in the configuration file, polled by the
//! channel adapter in xdesk-channels. Passwords are stored for the poller and never shown.

use crate::{Principal, ServiceError, Services};
use serde::Deserialize;
use serde_json::json;
use xdesk_domain::FieldError;
use xdesk_store::{MailboxRow, MailboxSettings};

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
    async fn validate_mailbox(
        &self,
        m: &MailboxInput,
        stored_password: Option<&str>,
    ) -> Result<MailboxSettings, ServiceError> {
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
        let password = match (&m.password, stored_password) {
            (Some(p), _) if !p.is_empty() => p.clone(),
            (_, Some(p)) => p.to_owned(),
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
        Ok(MailboxSettings {
            name: name.to_owned(),
            host: host.to_owned(),
            port: i32::from(m.port),
            tls: m.tls.clone(),
            username: m.username.trim().to_owned(),
            password,
            folder: m.folder.clone(),
            move_to: m.move_to.clone(),
            group_id: m.group_id,
            active: m.active,
        })
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
        let s = self.validate_mailbox(&m, None).await?;
        let row = self.store.create_mailbox(&s).await?;
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
        let s = self.validate_mailbox(&m, Some(&old.password)).await?;
        let row = self.store.update_mailbox(id, &s).await?;
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
            let s = self
                .validate_mailbox(m, existing.as_ref().map(|e| e.password.as_str()))
                .await
                .map_err(|e| {
                    ServiceError::Internal(format!(
                        "mailbox `{}` in the configuration: {e}",
                        m.name
                    ))
                })?;
            match existing {
                Some(e) => self.store.update_mailbox(e.id, &s).await?,
                None => self.store.create_mailbox(&s).await?,
            };
        }
        Ok(())
    }

    /// For the poller: every mailbox, active or not, with its password.
    pub async fn mailboxes_for_polling(&self) -> Result<Vec<MailboxRow>, ServiceError> {
        Ok(self.store.mailboxes().await?)
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
