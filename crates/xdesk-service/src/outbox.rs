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

/// Who a ticket's mail goes to and what it answers.
#[derive(Debug, Clone)]
pub(crate) struct Thread {
    pub to: String,
    pub customer_name: String,
    /// The ticket's language; the mail is in Chinese or English.
    pub language: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// For an acknowledgement: the SLA policy's first-response target in working minutes, and
    /// when it falls due; without one, the configured `first_response_minutes`.
    pub promise: Option<(i64, chrono::DateTime<chrono::Utc>)>,
    /// The customer's anti-phishing phrase, shown at the top of the mail.
    pub phrase: Option<String>,
}

/// A mail with its template read, waiting for the ticket's number.
#[derive(Debug, Clone)]
pub(crate) struct PreparedMail {
    kind: String,
    template: &'static str,
    language: &'static str,
    subject_template: String,
    body_template: String,
    thread: Thread,
    body: String,
    sender_name: String,
    first_response: String,
    brand: String,
    rfc_message_id: String,
    /// The authenticity code the mail shows and its message keeps.
    verify_code: String,
    /// Where anyone checks it.
    verify_url: String,
}

impl PreparedMail {
    pub(crate) fn render(&self, ticket_id: i64, ticket_subject: &str) -> OutboundMail {
        let ctx = MailContext {
            ticket_number: TicketNumber::for_ticket(ticket_id).to_string(),
            subject: ticket_subject.to_owned(),
            body: self.body.clone(),
            customer_name: self.thread.customer_name.clone(),
            sender_name: self.sender_name.clone(),
            first_response: self.first_response.clone(),
            brand: self.brand.clone(),
        };
        let rendered = templates::render(&self.subject_template, &self.body_template, &ctx)
            .or_else(|e| {
                // A stored template that no longer renders must not stop the mail: the
                // built-in one always does.
                tracing::warn!(template = self.template, language = self.language, error = %e, "stored template fails; using the built-in one");
                let (s, b) = templates::builtin(self.template, self.language).unwrap_or(("{{ ticket_number }}", "{{ body }}"));
                templates::render(s, b, &ctx)
            });
        let (subject, body_text) =
            rendered.unwrap_or_else(|_| (ctx.ticket_number.clone(), self.body.clone()));
        // Outside the template, so no edit of it can drop them.
        let body_text = templates::with_trust_marks(
            &body_text,
            self.language,
            self.thread.phrase.as_deref(),
            &self.verify_code,
            &self.verify_url,
            &self.brand,
        );
        OutboundMail {
            kind: self.kind.clone(),
            to_address: self.thread.to.clone(),
            subject,
            rfc_message_id: self.rfc_message_id.clone(),
            in_reply_to: self.thread.in_reply_to.clone(),
            references: self.thread.references.clone(),
            body_text,
            auto_submitted: self.kind != "reply",
            verify_code: Some(self.verify_code.clone()),
            list_unsubscribe: None,
        }
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
pub(crate) fn mailable(address: &str) -> bool {
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
        let to = match t.channel.as_str() {
            "email" => self
                .store
                .customer_identities(t.customer_id)
                .await?
                .into_iter()
                .find(|i| i.kind == "email" && mailable(&i.value))
                .map(|i| i.value),
            // A chat answer goes by mail only to an address the visitor left, while they are
            // not there to read it.
            "chat" => t
                .contact_email
                .clone()
                .filter(|_| !self.bus.customer_online(t.id)),
            _ => None,
        };
        let Some(to) = to else {
            return Ok(None);
        };
        let customer = self.store.customer(t.customer_id).await?;
        let phrase = customer
            .as_ref()
            .and_then(|c| c.anti_phishing_phrase.clone());
        let customer_name = customer
            .map(|c| c.display_name)
            .unwrap_or_else(|| to.clone());
        let ids = self.store.ticket_mail_ids(t.id).await?;
        let in_reply_to = ids
            .iter()
            .rev()
            .find(|(_, dir)| dir == "in")
            .or(ids.last())
            .map(|(id, _)| id.clone());
        let references = ids
            .iter()
            .skip(ids.len().saturating_sub(20))
            .map(|(id, _)| id.clone())
            .collect();
        let thread = Thread {
            to,
            customer_name,
            language: t.language.clone(),
            in_reply_to,
            references,
            promise: None,
            phrase,
        };
        let mail = self.prepare_mail(&thread, kind, body, sender_name).await?;
        Ok(Some(mail.render(t.id, &t.subject)))
    }

    /// Everything a mail needs but the ticket's number, which a new ticket gets only inside
    /// its transaction: the template text is read now, the rendering happens there.
    pub(crate) async fn prepare_mail(
        &self,
        thread: &Thread,
        kind: &str,
        body: &str,
        sender_name: Option<&str>,
    ) -> Result<PreparedMail, ServiceError> {
        let m = &self.mail;
        let language = templates::mail_language(&thread.language);
        let template = if kind == "acknowledgement" {
            "acknowledgement"
        } else {
            "reply"
        };
        let (subject_template, body_template) = self.template_text(template, language).await?;
        Ok(PreparedMail {
            kind: kind.to_owned(),
            template,
            language,
            subject_template,
            body_template,
            thread: thread.clone(),
            body: body.to_owned(),
            sender_name: sender_name.unwrap_or(&m.from_name).to_owned(),
            first_response: match thread.promise {
                Some((minutes, due)) => templates::promise_words(
                    u32::try_from(minutes).unwrap_or(u32::MAX),
                    due,
                    language,
                ),
                None => templates::duration_words(m.first_response_minutes, language),
            },
            brand: m.from_name.clone(),
            rfc_message_id: format!("xdesk.{}@{}", uuid::Uuid::new_v4().simple(), m.domain()),
            verify_code: xdesk_domain::official::fresh_message_code(),
            verify_url: format!("{}/verify", self.portal.public_url.trim_end_matches('/')),
        })
    }

    /// Adds system messages (already built) to a ticket, each mailed to the customer when the
    /// ticket is an email ticket.
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
                .post_to_ticket(p.actor(), t, n, |_| false, &Default::default())
                .await?;
            t = row;
        }
        Ok(t)
    }

    /// The acknowledgement of a new email ticket, as the message agents see; its text is
    /// completed once the mail is rendered.
    pub(crate) fn acknowledgement_stub() -> NewMessage {
        crate::tickets::system_notice(
            "email",
            "Acknowledgement sent".into(),
            serde_json::json!({"notice": "acknowledgement"}),
        )
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

    /// Mails' outcomes, several at once (see [`xdesk_store::Store::finish_outbound_many`]).
    pub async fn finish_outbound_many(
        &self,
        done: Vec<(i64, SendOutcome)>,
    ) -> Result<(), ServiceError> {
        Ok(self.store.finish_outbound_many(done).await?)
    }

    /// The files of the message a mail delivers, to attach to it.
    pub async fn outbound_files(
        &self,
        row: &OutboundRow,
    ) -> Result<Vec<(AttachmentRow, Vec<u8>)>, ServiceError> {
        let mut out = Vec::new();
        let (Some(ticket_id), Some(message_id)) = (row.ticket_id, row.message_id) else {
            return Ok(Vec::new());
        };
        for a in self.store.ticket_attachments(ticket_id).await? {
            if a.message_id != message_id {
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
