//! Ticket operations: create, read, list, update, reply, history, attachments.

use crate::safety::{self, Screened};
use crate::{Principal, ServiceError, Services};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::event::{Actor, ChainVerification, EventKind, EventRecord, verify_chain};
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::{
    Channel, Priority, RawCryptoFields, Subject, TicketNumber, TicketState, parse_language,
    parse_tags,
};
use xdesk_store::{
    AttachmentRow, ChangeSet, MessageRow, NewAttachment, NewAuditEntry, NewMessage, NewTicket,
    TicketCustomer, TicketFilter, TicketPatch, TicketRow,
};

/// A file as received from a client, not yet stored.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Who the ticket is about: an existing customer or identities to find or create one by.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRef {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub exchange_uid: Option<String>,
    /// `network:address`
    pub wallet: Option<String>,
    pub telegram_id: Option<String>,
    /// The exchange's tier for the customer (`vip`, …); stored, and tested by routing rules.
    pub tier: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateTicket {
    pub subject: String,
    pub body: String,
    pub body_html: Option<String>,
    pub customer: CustomerRef,
    pub priority: Option<String>,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub category: Option<String>,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: Vec<String>,
    pub crypto: RawCryptoFields,
    pub attachments: Vec<Upload>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateTicket {
    pub version: i64,
    pub subject: Option<String>,
    pub state: Option<String>,
    pub priority: Option<String>,
    pub category: Option<Option<String>>,
    pub group_id: Option<Option<i64>>,
    pub assignee_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    /// Fields given here replace the stored ones; the merged set is validated as a whole.
    pub crypto: Option<RawCryptoFields>,
    /// An agent's correction of what triage decided the customer wants.
    pub intent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AddMessage {
    pub body: String,
    pub body_html: Option<String>,
    pub internal: bool,
    pub attachments: Vec<Upload>,
}

#[derive(Debug, Clone)]
pub struct TicketDetail {
    pub ticket: TicketRow,
    pub messages: Vec<MessageRow>,
    pub attachments: Vec<AttachmentRow>,
    /// The mails that deliver some of the messages, with their state.
    pub deliveries: Vec<xdesk_store::OutboundRow>,
}

#[derive(Debug, Clone)]
pub struct ListTickets {
    pub filter: TicketFilter,
}

fn raw_of(t: &TicketRow) -> RawCryptoFields {
    RawCryptoFields {
        network: t.network.clone(),
        asset: t.asset.clone(),
        tx_hash: t.tx_hash.clone(),
        from_address: t.from_address.clone(),
        to_address: t.to_address.clone(),
        amount: t.amount.clone(),
        memo: t.memo.clone(),
        occurred_at: t.occurred_at,
    }
}

fn merge(base: RawCryptoFields, over: RawCryptoFields) -> RawCryptoFields {
    RawCryptoFields {
        network: over.network.or(base.network),
        asset: over.asset.or(base.asset),
        tx_hash: over.tx_hash.or(base.tx_hash),
        from_address: over.from_address.or(base.from_address),
        to_address: over.to_address.or(base.to_address),
        amount: over.amount.or(base.amount),
        memo: over.memo.or(base.memo),
        occurred_at: over.occurred_at.or(base.occurred_at),
    }
}

/// The `Content-Disposition` that offers a stored file as a download under its own name
/// (ASCII fallback plus the RFC 5987 UTF-8 form), never inline.
pub fn content_disposition(filename: &str) -> String {
    let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let safe: String = filename.chars().filter(|c| keep(*c)).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if keep(char::from(b)) && b.is_ascii() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"; filename*=UTF-8''{encoded}")
}

fn sanitize_html(html: Option<String>) -> Option<String> {
    html.map(|h| ammonia::clean(&h))
        .filter(|h| !h.trim().is_empty())
}

/// A public message from xdesk itself (a warning, an acknowledgement, a notice), tagged in its
/// metadata with what it is.
pub(crate) fn system_notice(
    channel: &str,
    body: String,
    metadata: serde_json::Value,
) -> NewMessage {
    NewMessage {
        author_kind: "system".into(),
        author_id: None,
        body_text: body,
        body_html: None,
        internal: false,
        channel: channel.to_owned(),
        metadata,
        attachments: Vec::new(),
        email: None,
        redacted: Vec::new(),
        outbound: None,
    }
}

fn author_of(p: &Principal) -> (String, Option<i64>) {
    match p {
        Principal::Agent { id, .. } => ("agent".into(), Some(*id)),
        Principal::Customer { id } => ("customer".into(), Some(*id)),
        Principal::ApiKey { .. } | Principal::System => ("system".into(), None),
    }
}

impl Services {
    pub(crate) async fn store_uploads(
        &self,
        uploads: Vec<Upload>,
    ) -> Result<Vec<NewAttachment>, ServiceError> {
        let l = &self.limits;
        if uploads.len() > l.max_attachments_per_message {
            return Err(ServiceError::TooLarge(format!(
                "at most {} attachments per message",
                l.max_attachments_per_message
            )));
        }
        let mut out = Vec::with_capacity(uploads.len());
        for u in uploads {
            if u.bytes.len() > l.max_attachment_bytes {
                return Err(ServiceError::TooLarge(format!(
                    "attachment `{}` is larger than {} bytes",
                    u.filename, l.max_attachment_bytes
                )));
            }
            let filename = u.filename.trim();
            if filename.is_empty() || filename.len() > 255 || filename.contains(['/', '\\', '\0']) {
                return Err(FieldError::new(
                    "attachments",
                    "invalid_filename",
                    format!("bad file name `{}`", u.filename),
                )
                .into());
            }
            let content_type = if u.content_type.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                u.content_type
            };
            let stored = self
                .store
                .files()
                .put(&u.bytes)
                .await
                .map_err(xdesk_store::StoreError::from)?;
            out.push(NewAttachment {
                sha256: stored.sha256,
                filename: filename.to_owned(),
                content_type,
                size: stored.size,
            });
        }
        Ok(out)
    }

    pub(crate) fn check_body(
        &self,
        body: &str,
        has_attachments: bool,
    ) -> Result<String, ServiceError> {
        if body.trim().is_empty() && !has_attachments {
            return Err(FieldError::new(
                "body",
                "invalid_body",
                "a message needs text or an attachment",
            )
            .into());
        }
        if body.chars().count() > self.limits.max_body_chars {
            return Err(ServiceError::TooLarge(format!(
                "the message is longer than {} characters",
                self.limits.max_body_chars
            )));
        }
        Ok(body.to_owned())
    }

    pub(crate) async fn check_assignment(
        &self,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
    ) -> Result<(), ServiceError> {
        if let Some(g) = group_id {
            self.store.group(g).await?.ok_or_else(|| {
                FieldError::new("group_id", "unknown_group", format!("no group {g}"))
            })?;
        }
        if let Some(a) = assignee_id {
            self.store
                .agent(a)
                .await?
                .filter(|a| a.active)
                .ok_or_else(|| {
                    FieldError::new(
                        "assignee_id",
                        "unknown_agent",
                        format!("no active agent {a}"),
                    )
                })?;
        }
        Ok(())
    }

    async fn resolve_customer(
        &self,
        p: &Principal,
        c: &CustomerRef,
        language: &str,
    ) -> Result<TicketCustomer, ServiceError> {
        if let Some(id) = c.id {
            return match self.store.customer(id).await? {
                Some(c) => Ok(TicketCustomer::Id(c.id)),
                None => Err(FieldError::new(
                    "customer.id",
                    "unknown_customer",
                    format!("no customer {id}"),
                )
                .into()),
            };
        }
        let mut ids = Vec::new();
        let pairs = [
            ("email", &c.email),
            ("exchange_uid", &c.exchange_uid),
            ("wallet", &c.wallet),
            ("telegram", &c.telegram_id),
        ];
        for (kind, v) in pairs {
            if let Some(v) = v {
                ids.push(Identity::parse(kind, v).map_err(|e| {
                    let f = format!("customer.{}", e.field);
                    e.for_field(f)
                })?);
            }
        }
        let Some(first) = ids.first() else {
            return Err(FieldError::new(
                "customer",
                "customer_required",
                "give customer.id or at least one of email, exchange_uid, wallet, telegram_id",
            )
            .into());
        };
        let name = c.name.clone().unwrap_or_else(|| first.value());
        if ids.len() > 1 {
            // Several identities join one customer only on proof; without it they wait for a
            // supervisor and the ticket goes to the customer the first known one names.
            let found = self
                .customer_for_identities(p, &ids, name.trim(), language)
                .await?;
            return Ok(TicketCustomer::Id(found.customer.id));
        }
        Ok(TicketCustomer::Identities {
            identities: ids,
            display_name: name.trim().to_owned(),
            language: language.to_owned(),
        })
    }

    /// The stored bytes of an attachment row; a row without its file is corruption.
    pub(crate) async fn attachment_bytes(
        &self,
        a: &AttachmentRow,
    ) -> Result<Vec<u8>, ServiceError> {
        self.store
            .files()
            .get(&a.sha256)
            .await
            .map_err(xdesk_store::StoreError::from)?
            .ok_or_else(|| {
                ServiceError::Store(xdesk_store::StoreError::Corrupt(format!(
                    "attachment {} has no file",
                    a.id
                )))
            })
    }

    pub(crate) async fn audit_action(
        &self,
        p: &Principal,
        action: &str,
        target: String,
        ip: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        // The audit log watches staff and keys; what customers do is in their tickets' history.
        if matches!(p, Principal::Customer { .. }) {
            return Ok(());
        }
        self.store
            .audit(NewAuditEntry {
                actor: p.actor().to_string(),
                action: action.to_owned(),
                target,
                ip: ip.map(str::to_owned),
                detail,
            })
            .await?;
        Ok(())
    }

    /// Creates a ticket with its first message and attachments in one transaction. Every input
    /// is validated before anything is written; attachment bytes go to disk first.
    pub async fn create_ticket(
        &self,
        p: &Principal,
        input: CreateTicket,
        ip: Option<&str>,
    ) -> Result<TicketDetail, ServiceError> {
        p.require_ticket_scope("tickets:write")?;
        let mut input = input;
        if let Principal::Customer { id } = p {
            // A customer opens tickets for themselves only, and cannot route or tag them.
            input.customer = CustomerRef {
                id: Some(*id),
                ..Default::default()
            };
            input.group_id = self.portal.group_id;
            input.assignee_id = None;
            input.tags.clear();
            input.channel = Some(Channel::Web.as_str().to_owned());
        }
        let subject = Subject::parse(&input.subject)?;
        let priority = input
            .priority
            .as_deref()
            .map(Priority::from_str)
            .transpose()?
            .unwrap_or(Priority::Normal);
        let default_channel = if matches!(p, Principal::ApiKey { .. }) {
            Channel::Api
        } else {
            Channel::Web
        };
        let channel = input
            .channel
            .as_deref()
            .map(Channel::from_str)
            .transpose()?
            .unwrap_or(default_channel);
        let given_language = input.language.as_deref().map(parse_language).transpose()?;
        let tags = parse_tags(&input.tags)?;
        let crypto = input.crypto.validate()?.to_raw();
        let body = self.check_body(&input.body, !input.attachments.is_empty())?;
        let triaged = self.triage_new(subject.as_str(), &body, &crypto);
        // Triage detected the language of the subject and body already: a customer's first
        // message carries that one instead of running the detector over the body again.
        let detected = triaged.record.language.clone();
        let language = given_language.unwrap_or_else(|| detected.clone());
        self.check_assignment(input.group_id, input.assignee_id)
            .await?;
        let customer = self.resolve_customer(p, &input.customer, &language).await?;
        let tier = input
            .customer
            .tier
            .as_deref()
            .map(xdesk_domain::routing::parse_tier)
            .transpose()?;
        let group_id = match input.group_id {
            Some(g) => Some(g),
            None => {
                self.route_new(
                    triaged.triage.intent,
                    &language,
                    channel.as_str(),
                    tier.as_deref(),
                    &customer,
                )
                .await?
            }
        };
        let mut subject = subject.as_str().to_owned();
        let mut body = body;
        let mut body_html = sanitize_html(input.body_html);
        // A new ticket speaks for its customer, whoever typed it in: a secret in it is theirs.
        let screened = safety::screen(Some(&mut subject), &mut body, &mut body_html);
        let mut tags: Vec<String> = tags.iter().map(|t| t.as_str().to_owned()).collect();
        let mut priority = priority;
        let mut notices = Vec::new();
        screened.raise(&mut tags, &mut priority);
        triaged.raise(&mut tags, &mut priority);
        if screened.found() {
            subject = subject.chars().take(Subject::MAX_CHARS).collect();
            notices.push(safety::warning_notice(
                &language,
                &body,
                channel.as_str(),
                &screened,
            ));
        }
        let attachments = self.store_uploads(input.attachments).await?;
        // Through an API key the exchange relays the customer's own words.
        let (author_kind, author_id) = match p {
            Principal::ApiKey { .. } | Principal::System => ("customer".to_owned(), None),
            _ => author_of(p),
        };
        let metadata = if author_kind == "customer" {
            json!({ "language": detected })
        } else {
            json!({})
        };
        let created = self
            .store
            .create_ticket(NewTicket {
                subject,
                state: if input.assignee_id.is_some() {
                    TicketState::Open
                } else {
                    TicketState::New
                }
                .as_str()
                .to_owned(),
                priority: priority.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                language,
                category: input.category,
                customer,
                group_id,
                assignee_id: input.assignee_id,
                tags,
                crypto,
                triage: Some(triaged.record),
                first_message: NewMessage {
                    author_kind,
                    author_id,
                    body_text: body,
                    body_html,
                    internal: false,
                    channel: channel.as_str().to_owned(),
                    metadata,
                    attachments,
                    email: None,
                    redacted: screened.names(),
                    outbound: None,
                },
                notices,
                after_insert: None,
                sla: self.sla_start(tier.as_deref()).await?,
                actor: p.actor(),
            })
            .await?;
        if let Some(t) = &tier {
            self.store
                .set_customer_tier(created.ticket.customer_id, t)
                .await?;
        }
        if matches!(p, Principal::Agent { .. }) {
            self.audit_action(
                p,
                "ticket.create",
                format!("ticket:{}", created.ticket.id),
                ip,
                json!({}),
            )
            .await?;
        }
        if let Principal::Customer { id } = p {
            self.suggestions_did_not_deflect(*id, None, created.ticket.id)
                .await?;
        }
        let mut messages = vec![created.message];
        messages.extend(created.notices);
        self.publish_messages(&created.ticket, &messages, &created.attachments);
        let mut ticket = created.ticket;
        if self.after_create(&ticket, &messages).await
            && let Some(now) = self.store.ticket(ticket.id).await?
        {
            ticket = now;
        }
        Ok(TicketDetail {
            ticket,
            messages,
            attachments: created.attachments,
            deliveries: Vec::new(),
        })
    }

    pub(crate) async fn visible_ticket(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<TicketRow, ServiceError> {
        let t = self
            .store
            .ticket(id)
            .await?
            .ok_or(ServiceError::NotFound("ticket"))?;
        let visible =
            self.visibility(p)
                .await?
                .allows(t.group_id, t.assignee_id, Some(t.customer_id));
        // Not revealing that a ticket exists is safer than a 403.
        if visible {
            Ok(t)
        } else {
            Err(ServiceError::NotFound("ticket"))
        }
    }

    /// The ticket if the principal may see it, without logging a view: for live connections
    /// that follow a ticket.
    pub async fn may_see_ticket(&self, p: &Principal, id: i64) -> Result<TicketRow, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        self.visible_ticket(p, id).await
    }

    pub async fn get_ticket(
        &self,
        p: &Principal,
        id: i64,
        ip: Option<&str>,
    ) -> Result<TicketDetail, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        let ticket = self.visible_ticket(p, id).await?;
        let include_internal = matches!(p, Principal::Agent { .. });
        let messages = self.store.messages(id, include_internal).await?;
        let mut attachments = self.store.ticket_attachments(id).await?;
        attachments.retain(|a| messages.iter().any(|m| m.id == a.message_id));
        self.audit_action(
            p,
            "ticket.view",
            format!("ticket:{id}"),
            ip,
            json!({"customer_id": ticket.customer_id}),
        )
        .await?;
        let deliveries = self.store.ticket_outbound(id).await?;
        Ok(TicketDetail {
            ticket,
            messages,
            attachments,
            deliveries,
        })
    }

    pub async fn list_tickets(
        &self,
        p: &Principal,
        mut filter: TicketFilter,
    ) -> Result<Vec<TicketRow>, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        filter.visibility = self.visibility(p).await?;
        Ok(self.store.list_tickets(&filter).await?)
    }

    /// How many tickets this principal may see match each filter, up to `cap` + 1: the
    /// counts beside inbox views.
    pub async fn count_tickets_capped(
        &self,
        p: &Principal,
        mut filters: Vec<TicketFilter>,
        cap: u64,
    ) -> Result<Vec<u64>, ServiceError> {
        p.require_scope("tickets:read")?;
        let visibility = self.visibility(p).await?;
        for f in &mut filters {
            f.visibility = visibility.clone();
        }
        Ok(self.store.count_tickets_capped(&filters, cap).await?)
    }

    /// Applies field changes with optimistic concurrency: `version` must be the one read.
    pub async fn update_ticket(
        &self,
        p: &Principal,
        id: i64,
        u: UpdateTicket,
        ip: Option<&str>,
    ) -> Result<TicketRow, ServiceError> {
        p.require_ticket_scope("tickets:write")?;
        if matches!(p, Principal::Customer { .. }) {
            let only_solve = u.state.as_deref() == Some(TicketState::Solved.as_str())
                && u.subject.is_none()
                && u.priority.is_none()
                && u.category.is_none()
                && u.group_id.is_none()
                && u.assignee_id.is_none()
                && u.tags.is_none()
                && u.crypto.is_none()
                && u.intent.is_none();
            if !only_solve {
                return Err(ServiceError::Forbidden(
                    "a customer can only mark their ticket solved".into(),
                ));
            }
        }
        let t = self.visible_ticket(p, id).await?;
        if t.version != u.version {
            return Err(ServiceError::StaleVersion);
        }
        let mut patch = TicketPatch::default();
        let mut changes: BTreeMap<String, [serde_json::Value; 2]> = BTreeMap::new();
        let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
            if old != new {
                changes.insert(field.to_owned(), [old, new]);
                true
            } else {
                false
            }
        };
        if let Some(s) = &u.subject {
            let s = Subject::parse(s)?;
            if note("subject", json!(t.subject), json!(s.as_str())) {
                patch.subject = Some(s.as_str().to_owned());
            }
        }
        if let Some(s) = &u.state {
            let to = TicketState::from_str(s)?;
            let from = TicketState::from_str(&t.state)?;
            if from != to {
                from.transition(to)?;
                note("state", json!(t.state), json!(to.as_str()));
                patch.state = Some(to.as_str().to_owned());
            }
        }
        if let Some(s) = &u.priority {
            let pr = Priority::from_str(s)?;
            if note("priority", json!(t.priority), json!(pr.as_str())) {
                patch.priority = Some(pr.as_str().to_owned());
            }
        }
        if let Some(c) = &u.category
            && note("category", json!(t.category), json!(c))
        {
            patch.category = Some(c.clone());
        }
        let mut corrected = None;
        if let Some(i) = &u.intent {
            let i = crate::triage::parse_intent(i)?.as_str();
            if note("intent", json!(t.intent), json!(i)) {
                patch.intent = Some(Some(i.to_owned()));
                corrected = Some(i);
            }
        }
        if let Some(g) = u.group_id {
            self.check_assignment(g, None).await?;
            if note("group_id", json!(t.group_id), json!(g)) {
                patch.group_id = Some(g);
            }
        }
        if let Some(a) = u.assignee_id {
            self.check_assignment(None, a).await?;
            if note("assignee_id", json!(t.assignee_id), json!(a)) {
                patch.assignee_id = Some(a);
            }
        }
        if let Some(tags) = &u.tags {
            let tags: Vec<String> = parse_tags(tags)?
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect();
            let old: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
            if note("tags", json!(old), json!(tags)) {
                patch.tags = Some(tags);
            }
        }
        if let Some(c) = u.crypto {
            let old = raw_of(&t);
            let merged = merge(old.clone(), c).validate()?.to_raw();
            if merged != old {
                let (o, n) = (
                    serde_json::to_value(&old).unwrap_or_default(),
                    serde_json::to_value(&merged).unwrap_or_default(),
                );
                for (k, nv) in n.as_object().into_iter().flatten() {
                    let ov = o.get(k).cloned().unwrap_or_default();
                    note(k, ov, nv.clone());
                }
                patch.crypto = Some(merged);
            }
        }
        if changes.is_empty() {
            return Ok(t);
        }
        let row = self
            .store
            .apply_change(ChangeSet {
                ticket_id: id,
                expected_version: u.version,
                actor: p.actor(),
                patch,
                events: vec![EventKind::Updated {
                    changes: changes.clone(),
                }],
                message: None,
                notices: Vec::new(),
                delivery: None,
            })
            .await?
            .ticket;
        if let Some(i) = corrected {
            self.record_intent_correction(p, &t, i).await?;
        }
        let assigned = changes
            .get("assignee_id")
            .is_some_and(|[_, new]| !new.is_null());
        let by_agent = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        self.publish_news(
            &row,
            assigned.then(|| crate::live::News::new(crate::live::News::ASSIGNED, by_agent, &row)),
        );
        self.sla_follow(&row, &[]).await;
        // Solved: the survey goes out. The change is stored whatever happens to it.
        let row = if t.state != row.state {
            match self.offer_survey(row.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(ticket = id, error = %e, "survey not offered");
                    row
                }
            }
        } else {
            row
        };
        self.audit_action(
            p,
            "ticket.update",
            format!("ticket:{id}"),
            ip,
            json!({"fields": changes.keys().collect::<Vec<_>>()}),
        )
        .await?;
        Ok(row)
    }

    /// Adds a reply or internal note. Retries internally when another writer moved the ticket's
    /// version in between, since a message does not depend on the fields it would overwrite.
    pub async fn add_message(
        &self,
        p: &Principal,
        id: i64,
        m: AddMessage,
        ip: Option<&str>,
    ) -> Result<TicketRow, ServiceError> {
        p.require_ticket_scope("tickets:write")?;
        let is_customer = matches!(p, Principal::Customer { .. });
        if is_customer && m.internal {
            return Err(ServiceError::Forbidden(
                "customers cannot write internal notes".into(),
            ));
        }
        let body = self.check_body(&m.body, !m.attachments.is_empty())?;
        let t = self.visible_ticket(p, id).await?;
        if t.state == TicketState::Closed.as_str() {
            return Err(ServiceError::Conflict(
                "the ticket is closed; open a follow-up ticket".into(),
            ));
        }
        let mut body = body;
        let mut body_html = sanitize_html(m.body_html);
        let screened = safety::screen(None, &mut body, &mut body_html);
        let attachments = self.store_uploads(m.attachments).await?;
        let (author_kind, author_id) = author_of(p);
        // The customer's own words are not mailed back to them.
        let outbound = if m.internal || is_customer {
            None
        } else {
            let signer = match p {
                Principal::Agent { id, .. } => self.store.agent(*id).await?.map(|a| a.display_name),
                Principal::ApiKey { .. } | Principal::Customer { .. } | Principal::System => None,
            };
            self.outbound_for(&t, "reply", &body, signer.as_deref())
                .await?
        };
        let mailed = outbound.is_some();
        let message = NewMessage {
            author_kind,
            author_id,
            body_text: body,
            body_html,
            internal: m.internal,
            channel: t.channel.clone(),
            metadata: json!({}),
            attachments,
            email: None,
            redacted: screened.names(),
            outbound,
        };
        let internal = m.internal;
        let is_agent = matches!(p, Principal::Agent { .. });
        // An agent's own text is redacted but warns nobody; an API key relays the customer.
        let exposed = if is_agent {
            Screened::default()
        } else {
            screened
        };
        let exposed_found = exposed.found();
        let (row, _) = self
            .post_to_ticket(
                p.actor(),
                t,
                message,
                |state| {
                    (!internal && is_agent && state == TicketState::New.as_str())
                        || (is_customer
                            && state
                                .parse::<TicketState>()
                                .is_ok_and(TicketState::reopens_on_customer_message))
                },
                &exposed,
            )
            .await?;
        if mailed || exposed_found {
            self.outbox_changed();
        }
        let action = if internal {
            "ticket.note"
        } else {
            "ticket.reply"
        };
        self.audit_action(p, action, format!("ticket:{id}"), ip, json!({}))
            .await?;
        Ok(row)
    }

    /// Appends `message` to ticket `t`, moving the ticket to `open` when `opens` says so of its
    /// state. When the customer `exposed` a secret, the ticket also becomes urgent, is tagged,
    /// and gets the warning notice, all in the same transaction. Retries when another writer
    /// moved the version in between, since a message does not depend on the fields it would
    /// overwrite. Returns the ticket and the new message's id.
    pub(crate) async fn post_to_ticket(
        &self,
        actor: Actor,
        mut t: TicketRow,
        message: NewMessage,
        opens: impl Fn(&str) -> bool,
        exposed: &Screened,
    ) -> Result<(TicketRow, i64), ServiceError> {
        let warning = if exposed.found() {
            let mut n =
                safety::warning_notice(&t.language, &message.body_text, &t.channel, exposed);
            n.outbound = self.outbound_for(&t, "notice", &n.body_text, None).await?;
            Some(n)
        } else {
            None
        };
        for _ in 0..5 {
            let mut patch = TicketPatch::default();
            let mut changes = BTreeMap::new();
            let mut notices = Vec::new();
            if opens(&t.state) {
                patch.state = Some(TicketState::Open.as_str().to_owned());
                changes.insert("state".to_owned(), [json!(t.state), json!("open")]);
            }
            if exposed.found() {
                if t.priority != Priority::Urgent.as_str() {
                    patch.priority = Some(Priority::Urgent.as_str().to_owned());
                    changes.insert(
                        "priority".to_owned(),
                        [json!(t.priority), json!(Priority::Urgent.as_str())],
                    );
                }
                let old: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
                if !old.iter().any(|x| x == safety::SECRET_TAG) {
                    let mut tags = old.clone();
                    tags.push(safety::SECRET_TAG.to_owned());
                    tags.sort();
                    changes.insert("tags".to_owned(), [json!(old), json!(tags)]);
                    patch.tags = Some(tags);
                }
                notices.extend(warning.clone());
            }
            let events = if changes.is_empty() {
                Vec::new()
            } else {
                vec![EventKind::Updated { changes }]
            };
            let cs = ChangeSet {
                ticket_id: t.id,
                expected_version: t.version,
                actor: actor.clone(),
                patch,
                events,
                message: Some(message.clone()),
                notices,
                delivery: None,
            };
            match self.store.apply_change(cs).await {
                Ok(done) => {
                    self.publish_messages(&done.ticket, &done.messages, &done.attachments);
                    self.sla_follow(&done.ticket, &done.messages).await;
                    self.check_links(&done.ticket, &done.messages).await;
                    let mut flagged = false;
                    if message.author_kind == "agent"
                        && !message.internal
                        && let Some(m) = done.messages.first()
                    {
                        flagged |= self
                            .check_repeated_request(&done.ticket, m.seq, &m.body_text)
                            .await;
                    }
                    if t.state == TicketState::Solved.as_str()
                        && done.ticket.state == TicketState::Open.as_str()
                    {
                        flagged |= self.check_reopened(&done.ticket).await;
                    }
                    // A flag moved the ticket on: answer with it as it now is.
                    let ticket = match flagged {
                        true => self.store.ticket(t.id).await?.unwrap_or(done.ticket),
                        false => done.ticket,
                    };
                    return Ok((ticket, done.message_id.unwrap_or_default()));
                }
                Err(xdesk_store::StoreError::StaleVersion(_)) => {
                    t = self
                        .store
                        .ticket(t.id)
                        .await?
                        .ok_or(ServiceError::NotFound("ticket"))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::StaleVersion)
    }

    /// The ticket's events and whether their hash chain is intact.
    pub async fn history(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<(Vec<EventRecord>, ChainVerification), ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        let t = self.visible_ticket(p, id).await?;
        let events = self.store.events(id).await?;
        let v = verify_chain(&events, Some(&t.head_hash), Some(t.event_count));
        Ok((events, v))
    }

    pub async fn attachment(
        &self,
        p: &Principal,
        id: i64,
        ip: Option<&str>,
    ) -> Result<(AttachmentRow, Vec<u8>), ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        let a = self
            .store
            .attachment(id)
            .await?
            .ok_or(ServiceError::NotFound("attachment"))?;
        self.visible_ticket(p, a.ticket_id)
            .await
            .map_err(|_| ServiceError::NotFound("attachment"))?;
        if matches!(p, Principal::Customer { .. }) {
            let public = self.store.messages(a.ticket_id, false).await?;
            if !public.iter().any(|m| m.id == a.message_id) {
                return Err(ServiceError::NotFound("attachment"));
            }
        }
        let bytes = self.attachment_bytes(&a).await?;
        self.audit_action(
            p,
            "attachment.download",
            format!("attachment:{id}"),
            ip,
            json!({"ticket_id": a.ticket_id}),
        )
        .await?;
        Ok((a, bytes))
    }
}

/// A stored file attached again elsewhere (a moved message): the same content, by its hash.
fn same_file(f: &AttachmentRow) -> NewAttachment {
    NewAttachment {
        sha256: f.sha256.clone(),
        filename: f.filename.clone(),
        content_type: f.content_type.clone(),
        size: f.size,
    }
}

impl Services {
    /// Merges a duplicate into another ticket of the same customer, in one transaction: the
    /// target gets every message of the duplicate (with its files, original time and
    /// position) and a `merged_from` event that records the duplicate's chain head; the
    /// duplicate is closed, points at the target (`merged_into`) and tells the customer.
    pub async fn merge_tickets(
        &self,
        p: &Principal,
        source: i64,
        target: i64,
        ip: Option<&str>,
    ) -> Result<TicketRow, ServiceError> {
        p.require_scope("tickets:write")?;
        if source == target {
            return Err(FieldError::new(
                "source",
                "same_ticket",
                "a ticket cannot merge into itself",
            )
            .into());
        }
        let from = self.visible_ticket(p, source).await?;
        let into = self.visible_ticket(p, target).await?;
        if from.customer_id != into.customer_id {
            return Err(ServiceError::Conflict(
                "only tickets of the same customer are merged".into(),
            ));
        }
        for t in [&from, &into] {
            if t.state == TicketState::Closed.as_str() {
                return Err(ServiceError::Conflict(format!(
                    "{} is closed",
                    TicketNumber::for_ticket(t.id)
                )));
            }
        }
        let dst_no = TicketNumber::for_ticket(target).to_string();
        // The duplicate's conversation moves over message by message, with its files and
        // each message's original time and position.
        let messages = self.store.messages(source, true).await?;
        let files = self.store.ticket_attachments(source).await?;
        let mut copies: Vec<NewMessage> = messages
            .iter()
            .map(|m| NewMessage {
                author_kind: m.author_kind.clone(),
                author_id: m.author_id,
                body_text: m.body_text.clone(),
                body_html: m.body_html.clone(),
                internal: m.internal,
                channel: m.channel.clone(),
                metadata: json!({
                    "merged_from": source,
                    "original_seq": m.seq,
                    "original_at": m.created_at.to_rfc3339(),
                }),
                attachments: files
                    .iter()
                    .filter(|f| f.message_id == m.id)
                    .map(same_file)
                    .collect(),
                email: None,
                redacted: Vec::new(),
                outbound: None,
            })
            .collect();
        let first = (!copies.is_empty()).then(|| copies.remove(0));
        let into_change = ChangeSet {
            ticket_id: target,
            expected_version: into.version,
            actor: p.actor(),
            patch: TicketPatch::default(),
            events: vec![EventKind::MergedFrom {
                from: source,
                messages: u32::try_from(messages.len()).unwrap_or(u32::MAX),
                from_head: from.head_hash.clone(),
            }],
            message: first,
            notices: copies,
            delivery: None,
        };
        // The duplicate: closed, pointing at the survivor, telling the customer where the
        // conversation goes on.
        let notice = if from.language.starts_with("zh") {
            format!("此工单已合并到 {dst_no}，后续沟通将在该工单中继续。")
        } else {
            format!("This request was merged into {dst_no}; the conversation continues there.")
        };
        let mut changes = BTreeMap::new();
        changes.insert("state".to_owned(), [json!(from.state), json!("closed")]);
        changes.insert("merged_into".to_owned(), [json!(null), json!(target)]);
        let from_change = ChangeSet {
            ticket_id: source,
            expected_version: from.version,
            actor: p.actor(),
            patch: TicketPatch {
                state: Some(TicketState::Closed.as_str().to_owned()),
                merged_into: Some(Some(target)),
                ..Default::default()
            },
            events: vec![
                EventKind::Updated { changes },
                EventKind::Merged { into: target },
            ],
            message: Some(system_notice(
                &from.channel,
                notice,
                json!({"merged_into": target}),
            )),
            notices: Vec::new(),
            delivery: None,
        };
        let done = self
            .store
            .apply_changes_together(vec![into_change, from_change])
            .await?;
        for d in &done {
            self.publish_messages(&d.ticket, &d.messages, &d.attachments);
        }
        if let Some(closed) = done.get(1) {
            self.sla_follow(&closed.ticket, &[]).await;
        }
        self.audit_action(
            p,
            "ticket.merge",
            format!("ticket:{source}"),
            ip,
            json!({"into": target}),
        )
        .await?;
        self.store
            .ticket(target)
            .await?
            .ok_or(ServiceError::NotFound("ticket"))
    }

    /// Splits message `message_id` out of ticket `id` into a new ticket of the same customer
    /// (a second problem raised in the same thread): the new ticket starts with that message
    /// and its files, is triaged and routed like any new one, and both chains record the split.
    pub async fn split_message(
        &self,
        p: &Principal,
        id: i64,
        message_id: i64,
        subject: Option<&str>,
        ip: Option<&str>,
    ) -> Result<TicketDetail, ServiceError> {
        p.require_scope("tickets:write")?;
        if !matches!(p, Principal::Agent { .. } | Principal::ApiKey { .. }) {
            return Err(ServiceError::Forbidden("agents split tickets".into()));
        }
        let from = self.visible_ticket(p, id).await?;
        let messages = self.store.messages(id, true).await?;
        let m = messages
            .iter()
            .find(|m| m.id == message_id)
            .ok_or(ServiceError::NotFound("message"))?;
        if m.internal || m.author_kind != "customer" {
            return Err(FieldError::new(
                "message_id",
                "not_customer_message",
                "only the customer's own messages are split into a new ticket",
            )
            .into());
        }
        let subject = match subject.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Subject::parse(s)?.as_str().to_owned(),
            None => {
                let line = m
                    .body_text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let short: String = line.trim().chars().take(80).collect();
                Subject::parse(if short.is_empty() {
                    &from.subject
                } else {
                    &short
                })?
                .as_str()
                .to_owned()
            }
        };
        let files = self.store.ticket_attachments(id).await?;
        let crypto = RawCryptoFields::default();
        let triaged = self.triage_new(&subject, &m.body_text, &crypto);
        let created = self
            .store
            .create_ticket(NewTicket {
                subject,
                state: TicketState::New.as_str().to_owned(),
                priority: Priority::Normal.as_str().to_owned(),
                channel: from.channel.clone(),
                language: from.language.clone(),
                category: None,
                customer: TicketCustomer::Id(from.customer_id),
                group_id: from.group_id,
                assignee_id: None,
                tags: Vec::new(),
                crypto,
                triage: Some(triaged.record),
                first_message: NewMessage {
                    author_kind: m.author_kind.clone(),
                    author_id: m.author_id,
                    body_text: m.body_text.clone(),
                    body_html: m.body_html.clone(),
                    internal: false,
                    channel: m.channel.clone(),
                    metadata: json!({"split_from": id, "original_seq": m.seq,
                                     "original_at": m.created_at.to_rfc3339()}),
                    attachments: files
                        .iter()
                        .filter(|f| f.message_id == m.id)
                        .map(same_file)
                        .collect(),
                    email: None,
                    redacted: Vec::new(),
                    outbound: None,
                },
                notices: Vec::new(),
                after_insert: None,
                sla: self.sla_start(None).await?,
                actor: p.actor(),
            })
            .await?;
        let new_id = created.ticket.id;
        let marked = self
            .store
            .apply_changes_together(vec![
                ChangeSet {
                    ticket_id: new_id,
                    expected_version: created.ticket.version,
                    actor: p.actor(),
                    patch: TicketPatch::default(),
                    events: vec![EventKind::SplitFrom {
                        from: id,
                        message_id,
                    }],
                    message: None,
                    notices: Vec::new(),
                    delivery: None,
                },
                ChangeSet {
                    ticket_id: id,
                    expected_version: from.version,
                    actor: p.actor(),
                    patch: TicketPatch::default(),
                    events: vec![EventKind::SplitOut {
                        message_id,
                        ticket_id: new_id,
                    }],
                    message: None,
                    notices: Vec::new(),
                    delivery: None,
                },
            ])
            .await;
        // The new ticket stands either way; the marks are its history.
        let mut ticket = match marked {
            Ok(done) => {
                for d in &done {
                    self.publish_change(&d.ticket);
                }
                done.into_iter()
                    .next()
                    .map(|d| d.ticket)
                    .unwrap_or(created.ticket)
            }
            Err(e) => {
                tracing::error!(ticket = id, error = %e, "split recorded without its events");
                created.ticket
            }
        };
        self.audit_action(
            p,
            "ticket.split",
            format!("ticket:{id}"),
            ip,
            json!({"message_id": message_id, "into": new_id}),
        )
        .await?;
        let mut messages = vec![created.message];
        messages.extend(created.notices);
        if self.after_create(&ticket, &messages).await
            && let Some(now) = self.store.ticket(new_id).await?
        {
            ticket = now;
        }
        Ok(TicketDetail {
            ticket,
            messages,
            attachments: created.attachments,
            deliveries: Vec::new(),
        })
    }
}
