//! Email in: one raw RFC 5322 message becomes a new ticket, or a message on the ticket it
//! answers. The raw bytes are stored before anything else, a message that cannot be parsed
//! still becomes a (flagged) ticket with the original attached, and the same mail delivered
//! twice is stored once.

use crate::outbox::{PreparedMail, Thread, mailable};
use crate::safety;
use crate::{Principal, ServiceError, Services};
use serde_json::json;
use xdesk_domain::event::sha256_hex;
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::{Priority, TicketState, guess_language};
use xdesk_mail::{Automatic, InboundEmail, MailAttachment};
use xdesk_store::{
    AfterInsert, InboundRecord, NewAttachment, NewMessage, NewTicket, StoreError, TicketCustomer,
    TicketRow,
};

/// What happened to one inbound mail.
#[derive(Debug, Clone)]
pub struct EmailIngest {
    pub ticket_id: i64,
    pub message_id: i64,
    pub created_ticket: bool,
    /// The same mail had been ingested before; nothing new was written.
    pub duplicate: bool,
    /// `unparseable`, `mime_incomplete` (read, with the original attached), `auto_reply`,
    /// `bulk`, `bounce`, `unknown_sender`, `attachments_rejected`: what the rest of xdesk must
    /// know (e.g. never auto-reply).
    pub flags: Vec<String>,
    /// Attachments over the size limit, by name, so the customer can be told.
    pub rejected_attachments: Vec<String>,
}

/// Where a mail came from: the inbound endpoint (`api`) or a polled mailbox, and the group its
/// new tickets go to.
#[derive(Debug, Clone, Default)]
pub struct MailSource {
    pub name: String,
    pub group_id: Option<i64>,
}

/// The longest subject a mail's ticket keeps: RFC 5322's line limit. Longer ones are cut
/// there; the whole header stays in the raw mail kept with the ticket.
const MAIL_SUBJECT_CHARS: usize = 998;

/// Largest raw mail accepted: room for several attachments at the per-file limit, base64
/// included. Files over that limit are cut from the mail and the sender told which; a whole
/// mail over it is refused (HTTP) or left in its mailbox (IMAP) with a flagged ticket.
pub const MAX_MAIL_BYTES: usize = 64 * 1024 * 1024;

/// The most of an oversized mail's header section kept.
const OVERSIZED_HEADER_BYTES: usize = 256 * 1024;

/// A mail too large to fetch: how large, the limit, and where it stays.
pub struct Oversized<'a> {
    pub size: u64,
    pub limit: u64,
    pub place: &'a str,
}

/// Stands in for a sender xdesk cannot read, so the mail still reaches an agent.
const UNKNOWN_SENDER: &str = "unknown-sender@xdesk.invalid";

fn unparseable(raw: &[u8]) -> InboundEmail {
    InboundEmail {
        message_id: None,
        in_reply_to: Vec::new(),
        references: Vec::new(),
        from: None,
        subject: "(unreadable email)".into(),
        date: None,
        text: "This email could not be read. The original message is attached.".into(),
        html: None,
        attachments: vec![MailAttachment {
            filename: "original.eml".into(),
            content_type: "message/rfc822".into(),
            bytes: raw.to_vec(),
            inline: false,
            content_id: None,
        }],
        automatic: None,
        bounce: None,
        incomplete: false,
    }
}

impl Services {
    pub async fn ingest_email(
        &self,
        p: &Principal,
        source: &MailSource,
        raw: &[u8],
    ) -> Result<EmailIngest, ServiceError> {
        self.ingest_mail(p, source, raw, Vec::new()).await
    }

    /// A mail too large to fetch, known by its header section: it becomes a ticket flagged
    /// `too_large` whose text says how large it is and where it stays, so the customer is
    /// answered and an agent can open the original there. Fetched again, it is a duplicate.
    pub async fn ingest_oversized_email(
        &self,
        p: &Principal,
        source: &MailSource,
        header: &[u8],
        over: &Oversized<'_>,
    ) -> Result<EmailIngest, ServiceError> {
        let raw = oversized_stand_in(header, over);
        self.ingest_mail(p, source, &raw, vec!["too_large".to_owned()])
            .await
    }

    async fn ingest_mail(
        &self,
        p: &Principal,
        source: &MailSource,
        raw: &[u8],
        mut flags: Vec<String>,
    ) -> Result<EmailIngest, ServiceError> {
        // A raw mail speaks as whoever its From line names: only the MTA's pipe (an API key)
        // and xdesk's own mailbox poller deliver it, never a person, who could otherwise write
        // into a customer's ticket in the customer's name.
        if !matches!(p, Principal::ApiKey { .. } | Principal::System) {
            return Err(ServiceError::Forbidden(
                "mail is delivered by the mail server's API key".into(),
            ));
        }
        p.require_scope("tickets:write")?;
        self.check_assignment(source.group_id, None).await?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(xdesk_domain::FieldError::new(
                "body",
                "empty_message",
                "the request body holds no message",
            )
            .into());
        }
        // Kept first: whatever happens next, the original is on disk.
        let stored = self
            .store
            .files()
            .put(raw)
            .await
            .map_err(StoreError::from)?;
        // Parsing a large mail (base64, charsets) is CPU work: off the async threads.
        let parsed = {
            let bytes = raw.to_vec();
            tokio::task::spawn_blocking(move || xdesk_mail::parse(&bytes))
                .await
                .map_err(|e| ServiceError::Internal(format!("mail parsing: {e}")))?
        };
        let email = match parsed {
            // Read, but not surely whole: the original goes with it, for an agent to open.
            Ok(mut e) if e.incomplete => {
                flags.push("mime_incomplete".to_owned());
                e.attachments.extend(unparseable(raw).attachments);
                e
            }
            Ok(e) => e,
            Err(_) => {
                flags.push("unparseable".to_owned());
                unparseable(raw)
            }
        };
        let dedupe_key = sha256_hex(
            format!(
                "{}\n{}",
                email.message_id.as_deref().unwrap_or_default(),
                stored.sha256
            )
            .as_bytes(),
        );
        if let Some(seen) = self.store.inbound_email_by_key(&dedupe_key).await? {
            return self.duplicate(seen, &stored.sha256).await;
        }
        match email.automatic {
            Some(Automatic::AutoReply) => flags.push("auto_reply".into()),
            Some(Automatic::Bulk) => flags.push("bulk".into()),
            Some(Automatic::Bounce) => flags.push("bounce".into()),
            None => {}
        }
        let (attachments, rejected) = self.store_mail_attachments(&email.attachments).await?;
        if !rejected.is_empty() {
            flags.push("attachments_rejected".into());
        }
        let sender = email
            .from
            .as_ref()
            .and_then(|m| Identity::parse("email", &m.address).ok());
        if sender.is_none() && !flags.iter().any(|f| f == "unparseable") {
            flags.push("unknown_sender".into());
        }
        let target = self.thread_target(&email, sender.as_ref()).await?;
        let mut body = email.text.trim().to_owned();
        if !rejected.is_empty() {
            body.push_str(&format!(
                "\n\n[xdesk] Not accepted, over the size limit: {}",
                rejected.join(", ")
            ));
        }
        if body.is_empty() {
            body = "(no text)".into();
        }
        let mut body: String = body.chars().take(self.limits.max_body_chars).collect();
        let mut subject = email.subject.clone();
        let mut html = match email.html.clone() {
            // Sanitising a large HTML part is CPU work too.
            Some(h) => tokio::task::spawn_blocking(move || ammonia::clean(&h))
                .await
                .map_err(|e| ServiceError::Internal(format!("HTML sanitising: {e}")))
                .map(Some)?,
            None => None,
        }
        .filter(|h| !h.trim().is_empty());
        let screened = safety::screen(Some(&mut subject), &mut body, &mut html);
        // The original would still hold the secret: a redacted stand-in takes its place.
        let raw_kept = if screened.found() {
            flags.push("secret_redacted".into());
            self.store
                .files()
                .put(&redacted_stand_in(&email, &subject, &body))
                .await
                .map_err(StoreError::from)?
        } else {
            stored.clone()
        };
        let record = InboundRecord {
            source: source.name.clone(),
            dedupe_key: dedupe_key.clone(),
            rfc_message_id: email.message_id.clone(),
            raw_sha256: raw_kept.sha256.clone(),
            size: raw_kept.size,
            flags: flags.clone(),
        };
        let metadata = json!({
            "from": email.from.as_ref().map(|m| &m.address),
            "subject": subject,
            "message_id": email.message_id,
            "raw_sha256": raw_kept.sha256,
        });
        let bounce = email.bounce.is_some();
        let message = |customer_id: Option<i64>| NewMessage {
            author_kind: if bounce { "system" } else { "customer" }.into(),
            author_id: if bounce { None } else { customer_id },
            body_text: body.clone(),
            body_html: html.clone(),
            // A bounce is for agents: it says our reply never arrived.
            internal: bounce,
            channel: "email".into(),
            metadata: metadata.clone(),
            attachments: attachments.clone(),
            email: Some(record.clone()),
            redacted: screened.names(),
            outbound: None,
        };
        // A robot's mail gets no answer, so two robots never write to each other.
        let robot = flags.iter().any(|f| {
            [
                "auto_reply",
                "bulk",
                "bounce",
                "unparseable",
                "unknown_sender",
            ]
            .contains(&f.as_str())
        });
        let result = match target {
            Some(t) => {
                // A customer's answer reopens a ticket that waited on them or was solved.
                let customer_id = Some(t.customer_id);
                self.post_to_ticket(
                    p.actor(),
                    t,
                    message(customer_id),
                    |state| {
                        !bounce
                            && state
                                .parse::<TicketState>()
                                .is_ok_and(TicketState::reopens_on_customer_message)
                    },
                    &screened,
                )
                .await
                .map(|(t, message_id)| (t, message_id, None))
            }
            None => {
                let identity = match sender {
                    Some(i) => i,
                    None => Identity::parse("email", UNKNOWN_SENDER)?,
                };
                let display_name = email
                    .from
                    .as_ref()
                    .map(|m| m.name.clone().unwrap_or_else(|| m.address.clone()))
                    .unwrap_or_else(|| "Unknown sender".into());
                let language = guess_language(&format!("{subject} {body}"));
                let subject = if subject.trim().is_empty() {
                    "(no subject)".to_owned()
                } else {
                    subject.chars().take(MAIL_SUBJECT_CHARS).collect()
                };
                let mut tags: Vec<String> = flags.iter().map(|f| f.replace('_', "-")).collect();
                let mut priority = Priority::Normal;
                screened.raise(&mut tags, &mut priority);
                // Robots (bounces, auto-replies) are not customers asking for anything.
                let triaged =
                    (!robot).then(|| self.triage_new(&subject, &body, &Default::default()));
                if let Some(t) = &triaged {
                    t.raise(&mut tags, &mut priority);
                }
                let known = TicketCustomer::Identities {
                    identities: vec![identity.clone()],
                    display_name: String::new(),
                    language: String::new(),
                };
                let tier = self.tier_of(None, &known).await?;
                let intent = triaged.as_ref().map(|t| t.triage.intent);
                let promise = self
                    .first_response_promise(priority, intent, tier.as_deref())
                    .await?;
                let group_id = match (source.group_id, &triaged) {
                    (Some(g), _) => Some(g),
                    (None, Some(t)) => {
                        self.route_new(t.triage.intent, language, "email", tier.as_deref(), &known)
                            .await?
                    }
                    (None, None) => None,
                };
                tags.sort();
                tags.dedup();
                // What answers the mail (warning, rejected files, acknowledgement) is written
                // and queued in the ticket's own transaction, once its number exists.
                let mut planned: Vec<(NewMessage, &'static str)> = Vec::new();
                if screened.found() {
                    planned.push((
                        safety::warning_notice(language, &body, "email", &screened),
                        "notice",
                    ));
                }
                if !robot && !rejected.is_empty() {
                    planned.push((self.rejected_notice(language, &rejected), "notice"));
                }
                if !robot {
                    planned.push((Self::acknowledgement_stub(), "acknowledgement"));
                }
                let recipient = identity.value();
                let phrase = self
                    .store
                    .customer_by_identity(&identity)
                    .await?
                    .and_then(|c| c.anti_phishing_phrase);
                let thread = Thread {
                    to: recipient.clone(),
                    customer_name: display_name.clone(),
                    language: language.into(),
                    in_reply_to: email.message_id.clone(),
                    references: email.message_id.iter().cloned().collect(),
                    promise,
                    phrase,
                };
                let mut prepared = Vec::with_capacity(planned.len());
                for (n, kind) in planned {
                    let mail = if mailable(&recipient) {
                        Some(self.prepare_mail(&thread, kind, &n.body_text, None).await?)
                    } else {
                        None
                    };
                    prepared.push((n, mail));
                }
                let after_insert = (!prepared.is_empty()).then(|| {
                    AfterInsert(std::sync::Arc::new(move |t: &TicketRow| {
                        prepared
                            .iter()
                            .map(|(n, mail)| with_mail(n, mail.as_ref(), t))
                            .collect()
                    }))
                });
                self.store
                    .create_ticket(NewTicket {
                        subject,
                        state: TicketState::New.as_str().into(),
                        priority: priority.as_str().into(),
                        channel: "email".into(),
                        language: language.into(),
                        category: None,
                        customer: TicketCustomer::Identities {
                            identities: vec![identity],
                            display_name,
                            language: language.into(),
                        },
                        group_id,
                        assignee_id: None,
                        tags,
                        crypto: Default::default(),
                        triage: triaged.map(|t| t.record),
                        first_message: message(None),
                        notices: Vec::new(),
                        after_insert,
                        sla: self.sla_start(None).await?,
                        actor: p.actor(),
                    })
                    .await
                    .map(|c| (c.ticket, c.message.id, Some(c.message)))
                    .map_err(ServiceError::from)
            }
        };
        if raw_kept.sha256 != stored.sha256 {
            self.store.forget_file(&stored.sha256).await?;
        }
        match result {
            Ok((ticket, message_id, first)) => {
                let ticket_id = ticket.id;
                let created_ticket = first.is_some();
                if let Some(first) = &first {
                    self.after_create(&ticket, std::slice::from_ref(first))
                        .await;
                }
                if let Some(b) = &email.bounce {
                    self.record_bounce(b).await?;
                }
                let mut followups = Vec::new();
                if !created_ticket && !robot && !rejected.is_empty() {
                    followups.push((
                        "notice".to_owned(),
                        self.rejected_notice(&ticket.language, &rejected),
                    ));
                }
                let mailed = screened.found() || created_ticket || !followups.is_empty();
                if !followups.is_empty() {
                    // The mail itself is stored; a failure here must not make the sender
                    // deliver it again, so it is logged rather than returned.
                    if let Err(e) = self.post_notices(p, ticket, followups).await {
                        tracing::error!(ticket_id, error = %e, "could not queue the answers to an inbound mail");
                    }
                }
                if mailed {
                    self.outbox_changed();
                }
                Ok(EmailIngest {
                    ticket_id,
                    message_id,
                    created_ticket,
                    duplicate: false,
                    flags,
                    rejected_attachments: rejected,
                })
            }
            // The same mail arrived twice at once and the other delivery won; any other
            // conflict is passed on.
            Err(e @ ServiceError::Conflict(_)) => {
                match self.store.inbound_email_by_key(&dedupe_key).await? {
                    Some(seen) => self.duplicate(seen, &stored.sha256).await,
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Marks our mail that bounced as failed, with what the reporting server said.
    async fn record_bounce(&self, b: &xdesk_mail::Bounce) -> Result<(), ServiceError> {
        let Some(id) = &b.original_message_id else {
            return Ok(());
        };
        // "delayed" and "relayed" reports are news, not failures.
        if b.action.as_deref().is_some_and(|a| a != "failed") {
            return Ok(());
        }
        let mut error = String::from("bounced");
        for part in [&b.status, &b.diagnostic].into_iter().flatten() {
            error.push_str(": ");
            error.push_str(part);
        }
        if !b.recipients.is_empty() {
            error.push_str(&format!(" ({})", b.recipients.join(", ")));
        }
        self.store.mark_outbound_bounced(id, &error).await?;
        Ok(())
    }

    /// Tells the customer which attachments were over the limit and how to send them instead.
    fn rejected_notice(&self, language: &str, rejected: &[String]) -> NewMessage {
        let max = self.limits.max_attachment_bytes;
        let limit = if max >= 1024 * 1024 {
            format!("{} MB", max / (1024 * 1024))
        } else {
            format!("{} KB", max.div_ceil(1024))
        };
        let body = if language.starts_with("zh") {
            format!(
                "您的邮件已收到，但以下附件超过了 {limit} 的大小限制，未能接收：{}。\
                 请将文件压缩或拆分为每个不超过 {limit} 的文件后回复本邮件发送，或者发送截图。",
                rejected.join("、")
            )
        } else {
            format!(
                "We received your email, but these attachments are larger than the {limit} \
                 limit and were not accepted: {}. Please reply with the files compressed or \
                 split into parts of at most {limit} each, or send screenshots instead.",
                rejected.join(", ")
            )
        };
        crate::tickets::system_notice("email", body, json!({"notice": "attachments_rejected"}))
    }

    /// The answer for a mail ingested before. If that first delivery kept a redacted stand-in,
    /// the original just written again must not stay.
    async fn duplicate(
        &self,
        seen: xdesk_store::InboundEmailRow,
        raw_sha256: &str,
    ) -> Result<EmailIngest, ServiceError> {
        if seen.raw_sha256 != raw_sha256 {
            self.store.forget_file(raw_sha256).await?;
        }
        Ok(EmailIngest {
            ticket_id: seen.ticket_id,
            message_id: seen.message_id,
            created_ticket: false,
            duplicate: true,
            flags: serde_json::from_str(&seen.flags).unwrap_or_default(),
            rejected_attachments: Vec::new(),
        })
    }

    async fn store_mail_attachments(
        &self,
        parts: &[MailAttachment],
    ) -> Result<(Vec<NewAttachment>, Vec<String>), ServiceError> {
        let mut kept = Vec::new();
        let mut rejected = Vec::new();
        for a in parts {
            if a.bytes.len() > self.limits.max_attachment_bytes {
                rejected.push(format!("{} ({} bytes)", a.filename, a.bytes.len()));
                continue;
            }
            let stored = self
                .store
                .files()
                .put(&a.bytes)
                .await
                .map_err(StoreError::from)?;
            kept.push(NewAttachment {
                sha256: stored.sha256,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: stored.size,
            });
        }
        Ok((kept, rejected))
    }

    /// The open ticket this mail answers: by In-Reply-To/References (or the bounced message),
    /// else by a ticket number in the subject, but only when the sender is that ticket's
    /// customer, so nobody can write into someone else's ticket by guessing its number.
    async fn thread_target(
        &self,
        email: &InboundEmail,
        sender: Option<&Identity>,
    ) -> Result<Option<TicketRow>, ServiceError> {
        let mut ids: Vec<String> = email
            .bounce
            .iter()
            .filter_map(|b| b.original_message_id.clone())
            .collect();
        ids.extend(email.in_reply_to.iter().cloned());
        ids.extend(email.references.iter().rev().cloned());
        let mut found = match self.store.ticket_for_message_ids(&ids).await? {
            Some(id) => self.store.ticket(id).await?,
            None => None,
        };
        if found.is_none()
            && email.bounce.is_none()
            && let (Some(n), Some(sender)) = (xdesk_mail::ticket_number_in(&email.subject), sender)
        {
            let id = n.ticket_id();
            if let Some(t) = self.store.ticket(id).await? {
                let owns = self
                    .store
                    .customer_identities(t.customer_id)
                    .await?
                    .iter()
                    .any(|i| i.kind == sender.kind() && i.value == sender.value());
                if owns {
                    found = Some(t);
                }
            }
        }
        // Closed is final: a reply to a closed ticket starts a new one.
        Ok(found.filter(|t| t.state != TicketState::Closed.as_str()))
    }
}

/// A planned notice with its mail rendered for the new ticket `t`; an acknowledgement's text
/// is the subject of the mail it stands for.
fn with_mail(n: &NewMessage, mail: Option<&PreparedMail>, t: &TicketRow) -> NewMessage {
    let mut n = n.clone();
    if let Some(mail) = mail {
        let out = mail.render(t.id, &t.subject);
        if n.metadata["notice"] == "acknowledgement" {
            n.body_text = format!("Acknowledgement sent: {}", out.subject);
        }
        n.outbound = Some(out);
    }
    n
}

/// What is kept of a mail that held a secret: its envelope and the redacted text.
/// An oversized mail's headers, without those that describe its body, over a plain-text body
/// that tells an agent (in English and Chinese) what happened and where the mail is.
fn oversized_stand_in(header: &[u8], over: &Oversized<'_>) -> Vec<u8> {
    let header = &header[..header.len().min(OVERSIZED_HEADER_BYTES)];
    let mut out = Vec::with_capacity(header.len() + 512);
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.trim_ascii_end();
        if trimmed.is_empty() {
            break;
        }
        let continued = matches!(line.first(), Some(b' ' | b'\t'));
        if !continued {
            let name = trimmed
                .split(|&b| b == b':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            keep = !(name.starts_with(b"content-") || name == b"mime-version");
        }
        if keep {
            out.extend_from_slice(trimmed);
            out.extend_from_slice(b"\r\n");
        }
    }
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_048_576.0);
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             [xdesk] This mail ({size}) is over the {limit} limit and was not fetched. \
             It stays in {place}: open it there, or ask the customer to send smaller files.\r\n\
             [xdesk] 此邮件（{size}）超过 {limit} 的上限，未被收取，仍保存在 {place}。\
             请在该邮箱中查看，或请客户发送较小的文件。\r\n",
            size = mb(over.size),
            limit = mb(over.limit),
            place = over.place.replace(['\r', '\n'], " "),
        )
        .as_bytes(),
    );
    out
}

fn redacted_stand_in(email: &InboundEmail, subject: &str, body: &str) -> Vec<u8> {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = String::new();
    if let Some(f) = &email.from {
        out.push_str(&format!("From: <{}>\r\n", one_line(&f.address)));
    }
    if let Some(id) = &email.message_id {
        out.push_str(&format!("Message-ID: <{}>\r\n", one_line(id)));
    }
    if let Some(d) = &email.date {
        out.push_str(&format!("Date: {}\r\n", d.to_rfc2822()));
    }
    out.push_str(&format!(
        "Subject: {}\r\nX-Xdesk-Redacted: the original held a secret and was not kept\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        one_line(subject),
        body.replace('\n', "\r\n")
    ));
    out.into_bytes()
}
