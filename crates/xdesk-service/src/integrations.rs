//! Exchange integrations: each exchange site (or app) that vouches for its logged-in users gets
//! its own HS256 secret, made and revoked by admins, so one leaked secret is revoked without
//! touching the others. The secret in the configuration (`chat.identity_secret`) keeps working
//! beside them.

use crate::{Principal, ServiceError, Services};
use serde_json::json;
use xdesk_domain::FieldError;
use xdesk_domain::chat_token::{self, ChatClaims};
use xdesk_store::{IntegrationRow, NewAuditEntry, SecretColumn};

impl Services {
    /// Makes an integration and its secret; the secret is shown to the admin now and never
    /// again (it is stored sealed).
    pub async fn create_integration(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<(IntegrationRow, String), ServiceError> {
        p.require_admin()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new("name", "invalid_name", "1-100 characters").into());
        }
        if self.store.integration_by_name(name).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "an integration named {name} exists"
            )));
        }
        let secret = crate::portal::random_token();
        crate::secrets::check_signing_secret("secret", &secret)?;
        let seal = self.sealer(SecretColumn::IntegrationSecret, &secret);
        let row = self.store.create_integration(name, seal).await?;
        self.audit_integration(p, "integration.create", row.id, json!({"name": row.name}))
            .await?;
        Ok((row, secret))
    }

    pub async fn list_integrations(
        &self,
        p: &Principal,
    ) -> Result<Vec<IntegrationRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.list_integrations().await?)
    }

    /// Stops an integration's secret from signing anyone in, at once.
    pub async fn revoke_integration(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.revoke_integration(id).await?;
        self.audit_integration(p, "integration.revoke", id, json!({}))
            .await
    }

    async fn audit_integration(
        &self,
        p: &Principal,
        action: &str,
        id: i64,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.store
            .audit(NewAuditEntry {
                actor: p.actor().to_string(),
                action: action.into(),
                target: format!("integration:{id}"),
                ip: None,
                detail,
            })
            .await?;
        Ok(())
    }

    /// Who an exchange says its user is, when `token` is signed with the configured secret or
    /// an unrevoked integration's, and in date. Anything else is None: never trusted.
    pub async fn identity_claims(&self, token: &str) -> Result<Option<ChatClaims>, ServiceError> {
        let now = chrono::Utc::now().timestamp();
        let mut secrets: Vec<String> = self.chat.identity_secret.iter().cloned().collect();
        for i in self.store.list_integrations().await? {
            if i.revoked_at.is_some() {
                continue;
            }
            // One unreadable secret must not stop the others from vouching.
            match self.open_secret(SecretColumn::IntegrationSecret, i.id, &i.secret) {
                Ok(secret) => secrets.push(secret),
                Err(e) => {
                    tracing::error!(integration = i.id, error = %e, "integration secret unreadable")
                }
            }
        }
        // An empty secret would let anyone sign a claim: never verify with one.
        secrets.retain(|s| crate::secrets::check_signing_secret("secret", s).is_ok());
        let mut last = None;
        for secret in &secrets {
            match chat_token::verify(token, secret.as_bytes(), now) {
                Ok(c) => return Ok(Some(c)),
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            tracing::info!(error = %e, "identity claim refused");
        }
        Ok(None)
    }
}
