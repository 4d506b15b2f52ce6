//! Agents, groups, customers, API keys and the audit log: administration and look-ups.

use crate::auth::hash_password_off_thread;
use crate::{Principal, ServiceError, Services};
use serde_json::json;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::identity::{Role, parse_email};
use xdesk_store::{
    AgentRow, ApiKeyRow, AuditFilter, AuditRow, CustomerRow, GroupRow, IdentityRow, NewAgent,
    NewAuditEntry,
};

#[derive(Debug, Clone)]
pub struct CreateAgent {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password: String,
    pub group_ids: Vec<i64>,
}

/// A new agent, invited to choose their own password.
#[derive(Debug, Clone)]
pub struct InviteAgent {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub group_ids: Vec<i64>,
    /// Language of the invitation mail.
    pub language: String,
}

/// Agents' display names and groups' names by id.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub agents: std::collections::HashMap<i64, String>,
    pub groups: std::collections::HashMap<i64, String>,
}

/// What an invited agent's link is for.
const INVITE_LINK: &str = "agent_invite";
/// How long an invitation works.
pub const INVITE_TTL_HOURS: u32 = 72;

impl Services {
    pub(crate) async fn audit_admin(
        &self,
        actor: String,
        action: &str,
        target: String,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.store
            .audit(NewAuditEntry {
                actor,
                action: action.into(),
                target,
                ip: None,
                detail,
            })
            .await?;
        Ok(())
    }

    /// Creates an agent: admins, or the operator's CLI and the demo as [`Principal::System`].
    pub async fn create_agent(
        &self,
        by: &Principal,
        a: CreateAgent,
    ) -> Result<AgentRow, ServiceError> {
        by.require_admin()?;
        let email = parse_email(&a.email)?;
        let role = Role::from_str(&a.role)?;
        let name = a.display_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new("display_name", "invalid_name", "1-100 characters").into());
        }
        if self.store.agent_by_email(&email).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "an agent with e-mail {email} exists"
            )));
        }
        let row = self
            .store
            .create_agent(NewAgent {
                email,
                display_name: name.to_owned(),
                role: role.as_str().into(),
                password_hash: hash_password_off_thread(&a.password).await?,
                group_ids: a.group_ids,
            })
            .await
            .map_err(|e| match e {
                xdesk_store::StoreError::NotFound("group") => {
                    FieldError::new("group_ids", "unknown_group", "no such group").into()
                }
                other => ServiceError::from(other),
            })?;
        self.audit_admin(
            by.actor().to_string(),
            "agent.create",
            format!("agent:{}", row.id),
            json!({"role": row.role}),
        )
        .await?;
        Ok(row)
    }

    /// Creates an agent with no usable password and mails them a one-time link to choose one.
    /// Returns the link as well, for the admin to pass on if the mail does not arrive.
    pub async fn invite_agent(
        &self,
        p: &Principal,
        i: InviteAgent,
    ) -> Result<(AgentRow, String), ServiceError> {
        p.require_admin()?;
        let placeholder = crate::portal::random_token();
        let row = self
            .create_agent(
                p,
                CreateAgent {
                    email: i.email,
                    display_name: i.display_name,
                    role: i.role,
                    password: placeholder,
                    group_ids: i.group_ids,
                },
            )
            .await?;
        let token = crate::portal::random_token();
        let link = format!(
            "{}/console/welcome/{token}",
            self.portal.public_url.trim_end_matches('/')
        );
        let (subject, body_text) = xdesk_mail::templates::invite_mail(
            &i.language,
            &self.mail.from_name,
            &link,
            INVITE_TTL_HOURS,
        );
        self.store
            .create_sign_in_link(
                &crate::auth::sha256_hex(&token),
                INVITE_LINK,
                &row.email,
                chrono::Utc::now() + chrono::Duration::hours(i64::from(INVITE_TTL_HOURS)),
                self.no_ticket_mail("invite", &row.email, subject, body_text),
            )
            .await?;
        self.outbox_changed();
        Ok((row, link))
    }

    /// An invited agent chooses their password with the link; the link then stops working.
    pub async fn accept_invite(
        &self,
        token: &str,
        password: &str,
    ) -> Result<AgentRow, ServiceError> {
        // Checked before the link is used up, so a weak password costs no new invitation.
        let hash = hash_password_off_thread(password).await?;
        let email = self
            .store
            .claim_sign_in_link(&crate::auth::sha256_hex(token.trim()), INVITE_LINK)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let agent = self
            .store
            .agent_by_email(&email)
            .await?
            .filter(|a| a.active)
            .ok_or(ServiceError::Unauthenticated)?;
        self.store.set_agent_password(agent.id, &hash).await?;
        self.audit_admin(
            format!("agent:{}", agent.id),
            "agent.accept_invite",
            format!("agent:{}", agent.id),
            json!({}),
        )
        .await?;
        Ok(agent)
    }

    /// Changes an agent's role and groups. An admin cannot take the admin role from
    /// themselves, so the last admin cannot lock everyone out by mistake.
    pub async fn update_agent(
        &self,
        p: &Principal,
        id: i64,
        role: &str,
        group_ids: Vec<i64>,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        let role = Role::from_str(role)?;
        if matches!(p, Principal::Agent { id: me, .. } if *me == id) && role != Role::Admin {
            return Err(ServiceError::Conflict(
                "you cannot take the admin role from yourself".into(),
            ));
        }
        self.store
            .set_agent_role_groups(id, role.as_str(), &group_ids)
            .await
            .map_err(|e| match e {
                xdesk_store::StoreError::NotFound("group") => {
                    FieldError::new("group_ids", "unknown_group", "no such group").into()
                }
                other => ServiceError::from(other),
            })?;
        self.audit_admin(
            p.actor().to_string(),
            "agent.update",
            format!("agent:{id}"),
            json!({"role": role.as_str(), "group_ids": group_ids}),
        )
        .await
    }

    /// Turns off an agent's second factor (a lost phone); they enrol again at next sign-in.
    /// Never one's own: a stolen admin session must not be able to drop its own second factor.
    pub async fn reset_agent_two_factor(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        if matches!(p, Principal::Agent { id: me, .. } if *me == id) {
            return Err(ServiceError::Forbidden(
                "another admin resets your second factor; replace it with a code from the current one".into(),
            ));
        }
        self.store.set_agent_totp(id, None, false).await?;
        self.store.delete_recovery_codes(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "agent.reset_2fa",
            format!("agent:{id}"),
            json!({}),
        )
        .await
    }

    /// The language the signed-in agent's pages use, wherever they sign in.
    pub async fn set_my_language(&self, p: &Principal, language: &str) -> Result<(), ServiceError> {
        let Principal::Agent { id, .. } = p else {
            return Err(ServiceError::Forbidden(
                "only agents have a language".into(),
            ));
        };
        let language = xdesk_domain::ticket::parse_language(language)?;
        Ok(self.store.set_agent_language(*id, &language).await?)
    }

    /// The signed-in agent and their groups.
    pub async fn me(&self, p: &Principal) -> Result<(AgentRow, Vec<i64>), ServiceError> {
        let Principal::Agent { id, group_ids, .. } = p else {
            return Err(ServiceError::Forbidden("only agents have a profile".into()));
        };
        let a = self
            .store
            .agent(*id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok((a, group_ids.clone()))
    }

    pub async fn list_agents(
        &self,
        p: &Principal,
    ) -> Result<Vec<(AgentRow, Vec<i64>)>, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden(
                "agents are listed to agents only".into(),
            ));
        }
        let mut out = Vec::new();
        for a in self.store.list_agents().await? {
            let groups = self.store.agent_group_ids(a.id).await?;
            out.push((a, groups));
        }
        Ok(out)
    }

    /// Every agent's and group's name by id, in two queries: what history lines name people
    /// and groups with. Agents only, as [`Self::list_agents`].
    pub async fn names(&self, p: &Principal) -> Result<Names, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden(
                "agents are listed to agents only".into(),
            ));
        }
        Ok(Names {
            agents: self
                .store
                .list_agents()
                .await?
                .into_iter()
                .map(|a| (a.id, a.display_name))
                .collect(),
            groups: self
                .store
                .list_groups()
                .await?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect(),
        })
    }

    pub async fn set_agent_active(
        &self,
        p: &Principal,
        id: i64,
        active: bool,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.set_agent_active(id, active).await?;
        let action = if active {
            "agent.activate"
        } else {
            "agent.deactivate"
        };
        self.audit_admin(
            p.actor().to_string(),
            action,
            format!("agent:{id}"),
            json!({}),
        )
        .await
    }

    pub async fn create_group(
        &self,
        by: &Principal,
        name: &str,
        description: &str,
    ) -> Result<GroupRow, ServiceError> {
        by.require_admin()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new("name", "invalid_name", "1-100 characters").into());
        }
        if self.store.group_by_name(name).await?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "a group named {name} exists"
            )));
        }
        let g = self.store.create_group(name, description).await?;
        self.audit_admin(
            by.actor().to_string(),
            "group.create",
            format!("group:{}", g.id),
            json!({}),
        )
        .await?;
        Ok(g)
    }

    pub async fn list_groups(&self, p: &Principal) -> Result<Vec<GroupRow>, ServiceError> {
        if matches!(p, Principal::ApiKey { .. } | Principal::Customer { .. }) {
            p.require_scope("tickets:read")?;
        }
        Ok(self.store.list_groups().await?)
    }

    pub async fn admin_create_api_key(
        &self,
        p: &Principal,
        name: &str,
        scopes: &[String],
    ) -> Result<(ApiKeyRow, String), ServiceError> {
        p.require_admin()?;
        let (row, key) = self.create_api_key(name, scopes).await?;
        self.audit_admin(
            p.actor().to_string(),
            "api_key.create",
            format!("api_key:{}", row.id),
            json!({"name": row.name}),
        )
        .await?;
        Ok((row, key))
    }

    pub async fn list_api_keys(&self, p: &Principal) -> Result<Vec<ApiKeyRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.list_api_keys().await?)
    }

    pub async fn revoke_api_key(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.revoke_api_key(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "api_key.revoke",
            format!("api_key:{id}"),
            json!({}),
        )
        .await
    }

    pub async fn list_audit(
        &self,
        p: &Principal,
        f: &AuditFilter,
    ) -> Result<Vec<AuditRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.list_audit(f).await?)
    }

    /// A customer the caller may read. Supervisors, admins and API keys with `customers:read`
    /// read any customer; an agent only one whose tickets they may see: a customer the agent
    /// cannot reach is not found.
    pub(crate) async fn get_customer_row(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<CustomerRow, ServiceError> {
        p.require_scope("customers:read")?;
        if let Principal::Agent {
            role: Role::Agent, ..
        } = p
        {
            let theirs = xdesk_store::TicketFilter {
                customer_id: Some(id),
                limit: 1,
                ..self.ticket_filter(p).await?
            };
            if self.store.list_tickets(&theirs).await?.is_empty() {
                return Err(ServiceError::NotFound("customer"));
            }
        }
        self.store
            .customer(id)
            .await?
            .ok_or(ServiceError::NotFound("customer"))
    }

    /// A customer and their identities, as [`Services::get_customer_row`] allows. Audited.
    pub async fn get_customer(
        &self,
        p: &Principal,
        id: i64,
        ip: Option<&str>,
    ) -> Result<(CustomerRow, Vec<IdentityRow>), ServiceError> {
        let c = self.get_customer_row(p, id).await?;
        let ids = self.store.customer_identities(id).await?;
        self.store
            .audit(NewAuditEntry {
                actor: p.actor().to_string(),
                action: "customer.view".into(),
                target: format!("customer:{id}"),
                ip: ip.map(str::to_owned),
                detail: json!({}),
            })
            .await?;
        Ok((c, ids))
    }

    pub async fn list_customers(
        &self,
        p: &Principal,
        q: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<CustomerRow>, ServiceError> {
        p.require_scope("customers:read")?;
        if let Principal::Agent {
            role: Role::Agent, ..
        } = p
        {
            return Err(ServiceError::Forbidden(
                "browsing customers needs the supervisor role".into(),
            ));
        }
        Ok(self
            .store
            .list_customers(q, before, limit.clamp(1, 200))
            .await?)
    }

    /// Creates (or finds) a customer by identities, e.g. from the exchange's backend. Joining
    /// identities needs proof: without it they wait for a supervisor (see `identities`).
    pub async fn upsert_customer(
        &self,
        p: &Principal,
        name: &str,
        language: &str,
        identities: &[(String, String)],
    ) -> Result<crate::identities::CustomerWithLinks, ServiceError> {
        p.require_scope("customers:write")?;
        let ids = identities
            .iter()
            .map(|(k, v)| xdesk_domain::identity::Identity::parse(k, v))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err(FieldError::new(
                "identities",
                "customer_required",
                "at least one identity",
            )
            .into());
        }
        let language = xdesk_domain::ticket::parse_language(language)?;
        self.customer_for_identities(p, &ids, name.trim(), &language)
            .await
    }
}
