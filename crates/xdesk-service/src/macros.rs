//! Macros: canned replies in English and Chinese whose placeholders are filled from the ticket
//! (`xdesk_domain::macros`), with actions (state, tags, group). Admins and supervisors keep
//! them; agents apply them, and each use is counted.

use crate::tickets::{AddMessage, UpdateTicket};
use crate::{Principal, ServiceError, Services};
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::identity::Role;
use xdesk_domain::ticket::{TicketNumber, TicketState, parse_tags};
use xdesk_store::{MacroRow, NewMacro, TicketRow};

/// A macro as it is written.
#[derive(Debug, Clone, Default)]
pub struct MacroInput {
    pub name: String,
    pub body_en: String,
    /// Empty: Chinese tickets get the English text.
    pub body_zh: String,
    pub set_state: Option<String>,
    pub add_tags: Vec<String>,
    pub set_group_id: Option<i64>,
}

fn manages(p: &Principal) -> Result<(), ServiceError> {
    match p {
        Principal::Agent {
            role: Role::Supervisor,
            ..
        } => Ok(()),
        _ => p.require_admin(),
    }
}

impl Services {
    pub async fn create_macro(
        &self,
        p: &Principal,
        m: MacroInput,
    ) -> Result<MacroRow, ServiceError> {
        manages(p)?;
        let row = self
            .store
            .create_macro(self.checked_macro(m).await?)
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "macro.create",
            format!("macro:{}", row.id),
            serde_json::json!({}),
        )
        .await?;
        Ok(row)
    }

    /// Rewrites a macro (text in both languages and actions); its use count stays.
    pub async fn update_macro(
        &self,
        p: &Principal,
        id: i64,
        m: MacroInput,
    ) -> Result<MacroRow, ServiceError> {
        manages(p)?;
        let row = self
            .store
            .update_macro(id, self.checked_macro(m).await?)
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "macro.update",
            format!("macro:{id}"),
            serde_json::json!({}),
        )
        .await?;
        Ok(row)
    }

    /// A macro as it may be stored: a name, placeholders that exist, a real state, tags and
    /// group.
    async fn checked_macro(&self, m: MacroInput) -> Result<NewMacro, ServiceError> {
        let name = m.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(FieldError::new("name", "invalid_name", "1-100 characters").into());
        }
        xdesk_domain::macros::validate(&m.body_en).map_err(|e| e.for_field("body_en"))?;
        if !m.body_zh.trim().is_empty() {
            xdesk_domain::macros::validate(&m.body_zh).map_err(|e| e.for_field("body_zh"))?;
        }
        let set_state = m
            .set_state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| TicketState::from_str(s).map(|s| s.as_str().to_owned()))
            .transpose()?;
        let add_tags: Vec<String> = parse_tags(&m.add_tags)?
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect();
        self.check_assignment(m.set_group_id, None).await?;
        Ok(NewMacro {
            name,
            body_en: m.body_en,
            body_zh: m.body_zh,
            set_state,
            add_tags,
            set_group_id: m.set_group_id,
        })
    }

    pub async fn delete_macro(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        manages(p)?;
        self.store.delete_macro(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "macro.delete",
            format!("macro:{id}"),
            serde_json::json!({}),
        )
        .await
    }

    /// Every macro, with its use count (agents).
    pub async fn list_macros(&self, p: &Principal) -> Result<Vec<MacroRow>, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        Ok(self.store.macros().await?)
    }

    /// A macro's text filled in for a ticket, in its language, for the agent to review before
    /// applying it, with the macro itself (its actions, to say what else it will do). Macros
    /// are the agents' tools, like [`Services::list_macros`] and applying one.
    pub async fn render_macro(
        &self,
        p: &Principal,
        ticket_id: i64,
        macro_id: i64,
    ) -> Result<(String, MacroRow), ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("macros are for agents".into()));
        }
        let (t, m) = self.ticket_and_macro(p, ticket_id, macro_id).await?;
        Ok((self.fill(p, &t, &m).await?, m))
    }

    async fn fill(
        &self,
        p: &Principal,
        t: &TicketRow,
        m: &MacroRow,
    ) -> Result<String, ServiceError> {
        let zh = t.language.starts_with("zh");
        let body = if zh && !m.body_zh.trim().is_empty() {
            &m.body_zh
        } else {
            &m.body_en
        };
        let customer = self.store.customer(t.customer_id).await?;
        let agent = match p {
            Principal::Agent { id, .. } => self.store.agent(*id).await?.map(|a| a.display_name),
            _ => None,
        };
        let promised = self
            .sla_view(t)
            .await?
            .into_iter()
            .filter(|c| c.state == "running")
            .filter_map(|c| c.due_at)
            .min()
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string());
        let values = BTreeMap::from([
            (
                "customer_name",
                customer.map(|c| c.display_name).unwrap_or_default(),
            ),
            ("ticket_number", TicketNumber::for_ticket(t.id).to_string()),
            ("subject", t.subject.clone()),
            ("network", t.network.clone().unwrap_or_default()),
            ("asset", t.asset.clone().unwrap_or_default()),
            ("amount", t.amount.clone().unwrap_or_default()),
            ("tx_hash", t.tx_hash.clone().unwrap_or_default()),
            (
                "address",
                t.to_address
                    .clone()
                    .or_else(|| t.from_address.clone())
                    .unwrap_or_default(),
            ),
            ("promised_time", promised.unwrap_or_default()),
            ("agent_name", agent.unwrap_or_default()),
        ]);
        let fallback = if zh { "（未提供）" } else { "(not given)" };
        Ok(xdesk_domain::macros::render(body, &values, fallback)?)
    }

    async fn ticket_and_macro(
        &self,
        p: &Principal,
        ticket_id: i64,
        macro_id: i64,
    ) -> Result<(TicketRow, MacroRow), ServiceError> {
        let t = self.visible_ticket(p, ticket_id).await?;
        let m = self
            .store
            .ticket_macro(macro_id)
            .await?
            .ok_or(ServiceError::NotFound("macro"))?;
        Ok((t, m))
    }

    /// Applies a macro: its reply goes to the customer, then its actions (state, tags, group)
    /// are applied, and the use is counted. `edited` is the reply as the agent reviewed it
    /// (text and files); without it the macro's own text goes out as filled in.
    pub async fn apply_macro(
        &self,
        p: &Principal,
        ticket_id: i64,
        macro_id: i64,
        edited: Option<AddMessage>,
        ip: Option<&str>,
    ) -> Result<TicketRow, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        let (t, m) = self.ticket_and_macro(p, ticket_id, macro_id).await?;
        let message = match edited {
            Some(e) => AddMessage {
                internal: false,
                ..e
            },
            None => AddMessage {
                body: self.fill(p, &t, &m).await?,
                body_html: None,
                internal: false,
                attachments: Vec::new(),
            },
        };
        let t = self.add_message(p, ticket_id, message, ip).await?;
        // What followed the reply (a quality flag, say) may have moved the ticket on.
        let t = self.visible_ticket(p, t.id).await?;
        let add: Vec<String> = serde_json::from_str(&m.add_tags).unwrap_or_default();
        let mut tags: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
        tags.extend(
            add.iter()
                .filter(|a| !tags.contains(a))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let u = UpdateTicket {
            version: t.version,
            state: m.set_state.clone(),
            tags: (!add.is_empty()).then_some(tags),
            group_id: m.set_group_id.map(Some),
            ..Default::default()
        };
        let t = self.update_ticket(p, ticket_id, u, ip).await?;
        self.store.macro_used(m.id).await?;
        Ok(t)
    }
}
