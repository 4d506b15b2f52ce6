//! Email out: what xdesk mails to a customer of an email ticket (agent replies, the
//! acknowledgement of a new ticket, security notices), rendered from admin-editable templates
//! and queued in the transaction that stores the message. The SMTP sender itself is a channel
//! adapter (xdesk-channels) that works through the functions here.

use crate::{Principal, ServiceError, Services};
use serde::Serialize;
use xdesk_domain::FieldError;
use xdesk_domain::ticket::TicketNumber;
use xdesk_mail::templates::{self, MailContext};
use xdesk_store::{AttachmentRow, NewMessage, OutboundMail, OutboundRow, SendOutcome, TicketRow};

/// Who mail comes from and what it promises.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from_address: String,
    /// The support team's name, shown as sender and used to sign automatic mail.
    pub from_name: String,
    /// First-response time promised in the acknowledgement.
    pub first_response_minutes: u32,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from_address: "support@example.com".into(),
            from_name: "Support".into(),
            first_response_minutes: 240,
        }
    }
}

impl MailSettings {
    fn domain(&self) -> &str {
        self.from_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("xdesk.invalid")
    }
}

/// A template as admins see it: the stored text, or the built-in one.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    pub name: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub customised: bool,
}

/// Addresses that stand in for an unknown sender; nothing is ever mailed to them.
fn mailable(address: &str) -> bool {
    !address.ends_with(".invalid")
}

fn check_template_key(name: &str, language: &str) -> Result<(), ServiceError> {
    if !templates::TEMPLATE_NAMES.contains(&name) {
        return Err(FieldError::new(
            "name",
            "unknown_template",
            format!("templates are {}", templates::TEMPLATE_NAMES.join(", ")),
        )
        .into());
    }
    if !templates::LANGUAGES.contains(&language) {
        return Err(FieldError::new(
            "language",
            "unknown_language",
            format!("languages are {}", templates::LANGUAGES.join(", ")),
        )
        .into());
    }
    Ok(())
}

impl Services {
    async fn template_text(
        &self,
        name: &str,
        language: &str,
    ) -> Result<(String, String), ServiceError> {
        let language = templates::mail_language(language);
        if let Some(t) = self.store.email_template(name, language).await? {
            return Ok((t.subject, t.body));
        }
        let (s, b) =
            templates::builtin(name, language).ok_or(ServiceError::NotFound("template"))?;
        Ok((s.to_owned(), b.to_owned()))
    }

    /// The mail that delivers `body` to the customer of `t`, or `None` when `t` is not an
    /// email ticket or its customer has no address to write to.
    pub(crate) async fn outbound_for(
        &self,
        t: &TicketRow,
        kind: &str,
        body: &str,
        sender_name: Option<&str>,
    ) -> Result<Option<OutboundMail>, ServiceError> {
        if t.channel != "email" {
            return Ok(None);
        }
        let identities = self.store.customer_identities(t.customer_id).await?;
        let Some(to) = identities
            .iter()
            .find(|i| i.kind == "email" && mailable(&i.value))
            .map(|i| i.value.clone())
        else {
            return Ok(None);
        };
        let customer_name = self
            .store
            .customer(t.customer_id)
            .await?
            .map(|c| c.display_name)
            .unwrap_or_else(|| to.clone());
        let m = &self.mail;
        let language = templates::mail_language(&t.language);
        let ctx = MailContext {
            ticket_number: TicketNumber::for_ticket(t.id).to_string(),
            subject: t.subject.clone(),
            body: body.to_owned(),
            customer_name,
            sender_name: sender_name.unwrap_or(&m.from_name).to_owned(),
            first_response: templates::duration_words(m.first_response_minutes, language),
            brand: m.from_name.clone(),
        };
        let template = if kind == "acknowledgement" {
            "acknowledgement"
        } else {
            "reply"
        };
        let (s, b) = self.template_text(template, language).await?;
        let (subject, body_text) = match templates::render(&s, &b, &ctx) {
            Ok(r) => r,
            // A stored template that no longer renders must not stop the mail: the built-in
            // one always does.
            Err(e) => {
                tracing::warn!(template, language, error = %e, "stored template fails; using the built-in one");
                let (s, b) = templates::builtin(template, language)
                    .ok_or(ServiceError::NotFound("template"))?;
                templates::render(s, b, &ctx).map_err(|e| ServiceError::Internal(e.to_string()))?
            }
        };
        let ids = self.store.ticket_mail_ids(t.id).await?;
        let in_reply_to = ids
            .iter()
            .rev()
            .find(|(_, dir)| dir == "in")
            .or(ids.last())
            .map(|(id, _)| id.clone());
        let references: Vec<String> = ids
            .iter()
            .skip(ids.len().saturating_sub(20))
            .map(|(id, _)| id.clone())
            .collect();
        Ok(Some(OutboundMail {
            kind: kind.to_owned(),
            to_address: to,
            subject,
            rfc_message_id: format!("xdesk.{}@{}", uuid::Uuid::new_v4().simple(), m.domain()),
            in_reply_to,
            references,
            body_text,
            auto_submitted: kind != "reply",
        }))
    }

    /// Adds system messages (already built) to a ticket, each mailed to the customer when the
    /// ticket is an email ticket: for what follows a ticket's creation, once its number exists.
    pub(crate) async fn post_notices(
        &self,
        p: &Principal,
        t: TicketRow,
        notices: Vec<(String, NewMessage)>,
    ) -> Result<TicketRow, ServiceError> {
        let mut t = t;
        for (kind, mut n) in notices {
            n.outbound = self.outbound_for(&t, &kind, &n.body_text, None).await?;
            let (row, _) = self
                .post_to_ticket(p, t, n, |_| false, &Default::default())
                .await?;
            t = row;
        }
        Ok(t)
    }

    /// The acknowledgement of a new email ticket, as the message agents will see in it.
    pub(crate) async fn acknowledgement(&self, t: &TicketRow) -> Result<NewMessage, ServiceError> {
        let language = templates::mail_language(&t.language);
        let (s, b) = self.template_text("acknowledgement", language).await?;
        let ctx = MailContext {
            ticket_number: TicketNumber::for_ticket(t.id).to_string(),
            subject: t.subject.clone(),
            body: String::new(),
            customer_name: String::new(),
            sender_name: self.mail.from_name.clone(),
            first_response: templates::duration_words(self.mail.first_response_minutes, language),
            brand: self.mail.from_name.clone(),
        };
        let summary = templates::render(&s, &b, &ctx)
            .map(|(subject, _)| subject)
            .unwrap_or_else(|_| ctx.ticket_number.clone());
        Ok(NewMessage {
            author_kind: "system".into(),
            author_id: None,
            body_text: format!("Acknowledgement sent: {summary}"),
            body_html: None,
            internal: false,
            channel: "email".into(),
            metadata: serde_json::json!({"notice": "acknowledgement"}),
            attachments: Vec::new(),
            email: None,
            redacted: Vec::new(),
            outbound: None,
        })
    }

    pub async fn list_email_templates(
        &self,
        p: &Principal,
    ) -> Result<Vec<TemplateView>, ServiceError> {
        p.require_admin()?;
        let stored = self.store.email_templates().await?;
        let mut out = Vec::new();
        for name in templates::TEMPLATE_NAMES {
            for language in templates::LANGUAGES {
                let view = match stored
                    .iter()
                    .find(|t| t.name == *name && t.language == *language)
                {
                    Some(t) => TemplateView {
                        name: t.name.clone(),
                        language: t.language.clone(),
                        subject: t.subject.clone(),
                        body: t.body.clone(),
                        customised: true,
                    },
                    None => {
                        let (s, b) = templates::builtin(name, language)
                            .ok_or(ServiceError::NotFound("template"))?;
                        TemplateView {
                            name: (*name).to_owned(),
                            language: (*language).to_owned(),
                            subject: s.to_owned(),
                            body: b.to_owned(),
                            customised: false,
                        }
                    }
                };
                out.push(view);
            }
        }
        Ok(out)
    }

    /// Saves a template after rendering it with sample values, so a broken one is refused.
    pub async fn put_email_template(
        &self,
        p: &Principal,
        name: &str,
        language: &str,
        subject: &str,
        body: &str,
    ) -> Result<TemplateView, ServiceError> {
        p.require_admin()?;
        check_template_key(name, language)?;
        if subject.len() > 1000 || body.len() > 100_000 {
            return Err(ServiceError::TooLarge("template too long".into()));
        }
        templates::render(subject, body, &templates::sample_context(language))
            .map_err(|e| FieldError::new("body", "invalid_template", e.to_string()))?;
        let t = self
            .store
            .put_email_template(name, language, subject, body)
            .await?;
        self.audit_email_template(p, "email_template.update", name, language)
            .await?;
        Ok(TemplateView {
            name: t.name,
            language: t.language,
            subject: t.subject,
            body: t.body,
            customised: true,
        })
    }

    pub async fn reset_email_template(
        &self,
        p: &Principal,
        name: &str,
        language: &str,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        check_template_key(name, language)?;
        self.store.delete_email_template(name, language).await?;
        self.audit_email_template(p, "email_template.reset", name, language)
            .await
    }

    async fn audit_email_template(
        &self,
        p: &Principal,
        action: &str,
        name: &str,
        language: &str,
    ) -> Result<(), ServiceError> {
        let target = format!("email_template:{name}/{language}");
        self.audit_action(p, action, target, None, serde_json::json!({}))
            .await
    }

    /// For the SMTP sender: due mails, held for `lease`.
    pub async fn claim_outbound(
        &self,
        limit: u64,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboundRow>, ServiceError> {
        Ok(self.store.claim_outbound(limit, lease).await?)
    }

    pub async fn finish_outbound(&self, id: i64, outcome: SendOutcome) -> Result<(), ServiceError> {
        Ok(self.store.finish_outbound(id, outcome).await?)
    }

    /// The files of the message a mail delivers, to attach to it.
    pub async fn outbound_files(
        &self,
        row: &OutboundRow,
    ) -> Result<Vec<(AttachmentRow, Vec<u8>)>, ServiceError> {
        let mut out = Vec::new();
        for a in self.store.ticket_attachments(row.ticket_id).await? {
            if a.message_id != row.message_id {
                continue;
            }
            let bytes = self.attachment_bytes(&a).await?;
            out.push((a, bytes));
        }
        Ok(out)
    }

    /// The mails of a ticket, to show each message's delivery state.
    pub async fn ticket_deliveries(
        &self,
        ticket_id: i64,
    ) -> Result<Vec<OutboundRow>, ServiceError> {
        Ok(self.store.ticket_outbound(ticket_id).await?)
    }

    /// Wakes the local sender: a mail was just queued.
    pub(crate) fn outbox_changed(&self) {
        self.outbox_wake.notify_one();
    }
}
