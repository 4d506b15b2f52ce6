//! "Is this official?": anyone may check an address, number, handle, link or agent ID against
//! the registry admins keep (`xdesk_domain::official` decides), or the authenticity code of a
//! message support sent them; customers set an anti-phishing phrase their mail then shows; and
//! links in customers' messages that point to known phishing domains or imitate an official
//! one are flagged to agents while the customer is warned.

use crate::tickets::system_notice;
use crate::{Principal, ServiceError, Services};
use std::collections::BTreeMap;
use xdesk_domain::FieldError;
use xdesk_domain::event::EventKind;
use xdesk_domain::official::{self, Entry, Kind, Query, Verdict};
use xdesk_domain::ticket::TicketNumber;
use xdesk_store::{
    ChangeSet, MessageRow, OfficialChannelRow, PhishingDomainRow, TicketPatch, TicketRow,
};

/// The tag of a ticket whose customer sent a suspicious link.
pub const PHISHING_TAG: &str = "phishing-link";

/// An official channel as `/verify` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub kind: String,
    pub value: String,
    pub note: String,
}

/// What `/verify` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyAnswer {
    /// An address, number, handle, link or agent ID.
    Channel {
        /// The kind understood (`handle` for a bare `@name`).
        kind: String,
        /// The value as people read it.
        value: String,
        /// `official`, `lookalike`, `phishing` (a known phishing domain), `former_agent` or
        /// `unknown`: only the first is official.
        verdict: &'static str,
        /// The official channel it is, or the one it imitates.
        official: Option<ChannelView>,
        reasons: Vec<&'static str>,
    },
    /// A message support sent: which ticket, when, by which channel; never its content.
    Message {
        code: String,
        ticket_number: String,
        sent_at: chrono::DateTime<chrono::Utc>,
        channel: String,
    },
    /// Something shaped like an authenticity code that no message carries.
    UnknownCode { code: String },
}

impl VerifyAnswer {
    pub fn is_official(&self) -> bool {
        matches!(
            self,
            VerifyAnswer::Channel {
                verdict: "official",
                ..
            } | VerifyAnswer::Message { .. }
        )
    }
}

/// A link found in a customer's message that is not what it seems.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Suspicious {
    host: String,
    verdict: &'static str,
    imitates: Option<String>,
    reasons: Vec<&'static str>,
}

fn view(e: &OfficialChannelRow) -> ChannelView {
    ChannelView {
        kind: e.kind.clone(),
        value: e.value.clone(),
        note: e.note.clone(),
    }
}

fn on_list(host: &str, list: &[PhishingDomainRow]) -> bool {
    list.iter()
        .any(|p| host == p.domain || host.ends_with(&format!(".{}", p.domain)))
}

fn query_host(q: &Query) -> Option<&str> {
    match q.kind {
        Some(Kind::Domain) => Some(&q.value),
        Some(Kind::Email) => q.value.rsplit_once('@').map(|(_, d)| d),
        _ => None,
    }
}

impl Services {
    /// The registry as the domain checks it: what admins listed, every active agent's public
    /// ID, and the portal's own host.
    async fn registry(&self) -> Result<(Vec<Entry>, Vec<ChannelView>), ServiceError> {
        let mut entries = Vec::new();
        let mut views = Vec::new();
        for row in self.store.official_channels().await? {
            if let Ok(kind) = Kind::parse(&row.kind) {
                entries.push(Entry {
                    kind,
                    value: row.value.clone(),
                });
                views.push(view(&row));
            }
        }
        for a in self.store.list_agents().await? {
            if let (true, Some(id)) = (a.active, a.public_id) {
                entries.push(Entry {
                    kind: Kind::Agent,
                    value: id.clone(),
                });
                views.push(ChannelView {
                    kind: Kind::Agent.as_str().into(),
                    value: id,
                    note: a.display_name,
                });
            }
        }
        if let Some(h) = official_host(&self.portal.public_url)
            && let Ok(value) = official::normalize_entry(Kind::Domain, &h)
        {
            entries.push(Entry {
                kind: Kind::Domain,
                value: value.clone(),
            });
            views.push(ChannelView {
                kind: Kind::Domain.as_str().into(),
                value,
                note: "help center".into(),
            });
        }
        Ok((entries, views))
    }

    /// Checks what someone typed at `/verify` (anyone may: no principal), limited per client
    /// address (`ip`) so the registry cannot be walked or the database worn down.
    pub async fn verify(
        &self,
        input: &str,
        ip: Option<&str>,
    ) -> Result<VerifyAnswer, ServiceError> {
        self.rate_limits
            .verify
            .hit(&crate::ratelimit::client_key(ip))?;
        if let Some(code) = official::parse_message_code(input) {
            if let Some(m) = self.store.message_by_code(&code).await? {
                return Ok(VerifyAnswer::Message {
                    code,
                    ticket_number: TicketNumber::for_ticket(m.ticket_id).to_string(),
                    sent_at: m.created_at,
                    channel: m.channel,
                });
            }
            if input.contains(['-', ' ']) {
                return Ok(VerifyAnswer::UnknownCode { code });
            }
        }
        let q = official::parse_query(input)?;
        let kind = q.kind.map_or("handle", Kind::as_str).to_owned();
        let (entries, views) = self.registry().await?;
        if let Some(h) = query_host(&q)
            && on_list(h, &self.store.phishing_domains().await?)
        {
            return Ok(VerifyAnswer::Channel {
                kind,
                value: q.display,
                verdict: "phishing",
                official: None,
                reasons: Vec::new(),
            });
        }
        let answer = |verdict, official: Option<ChannelView>, reasons| VerifyAnswer::Channel {
            kind: kind.clone(),
            value: q.display.clone(),
            verdict,
            official,
            reasons,
        };
        Ok(match official::check(&q, &entries) {
            Verdict::Official(i) => answer("official", views.get(i).cloned(), Vec::new()),
            Verdict::Lookalike(i, why) => answer(
                "lookalike",
                views.get(i).cloned(),
                why.iter().map(|r| r.as_str()).collect(),
            ),
            Verdict::Unknown => {
                let former = q.kind == Some(Kind::Agent)
                    && self.store.agent_by_public_id(&q.value).await?.is_some();
                answer(
                    if former { "former_agent" } else { "unknown" },
                    None,
                    Vec::new(),
                )
            }
        })
    }

    pub async fn official_channels(
        &self,
        p: &Principal,
    ) -> Result<Vec<OfficialChannelRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.official_channels().await?)
    }

    /// Lists an official channel; the value is kept in its normal form.
    pub async fn add_official_channel(
        &self,
        p: &Principal,
        kind: &str,
        value: &str,
        note: &str,
    ) -> Result<OfficialChannelRow, ServiceError> {
        p.require_admin()?;
        let kind = Kind::parse(kind)?;
        let value = official::normalize_entry(kind, value)?;
        let note = note.trim();
        if note.chars().count() > 200 {
            return Err(FieldError::new("note", "invalid_note", "at most 200 characters").into());
        }
        let row = self
            .store
            .add_official_channel(kind.as_str(), &value, note)
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "official_channel.create",
            format!("official_channel:{}", row.id),
            serde_json::json!({"kind": row.kind, "value": row.value}),
        )
        .await?;
        Ok(row)
    }

    pub async fn delete_official_channel(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.delete_official_channel(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "official_channel.delete",
            format!("official_channel:{id}"),
            serde_json::json!({}),
        )
        .await
    }

    pub async fn phishing_domains(
        &self,
        p: &Principal,
    ) -> Result<Vec<PhishingDomainRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.phishing_domains().await?)
    }

    /// Lists a known phishing domain (a URL is reduced to its host); its subdomains count too.
    pub async fn add_phishing_domain(
        &self,
        p: &Principal,
        domain: &str,
        note: &str,
    ) -> Result<PhishingDomainRow, ServiceError> {
        p.require_admin()?;
        let q = official::parse_query(domain).map_err(|e| e.for_field("domain"))?;
        let Some(host) = query_host(&q).filter(|_| q.kind == Some(Kind::Domain)) else {
            return Err(FieldError::new("domain", "invalid_domain", "a domain or link").into());
        };
        let host = host.to_owned();
        if self.registry().await?.0.iter().any(|e| {
            e.kind == Kind::Domain && (host == e.value || host.ends_with(&format!(".{}", e.value)))
        }) {
            return Err(FieldError::new(
                "domain",
                "official_domain",
                "this domain is an official one",
            )
            .into());
        }
        let row = self.store.add_phishing_domain(&host, note.trim()).await?;
        self.audit_admin(
            p.actor().to_string(),
            "phishing_domain.create",
            format!("phishing_domain:{}", row.id),
            serde_json::json!({"domain": row.domain}),
        )
        .await?;
        Ok(row)
    }

    pub async fn delete_phishing_domain(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.delete_phishing_domain(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "phishing_domain.delete",
            format!("phishing_domain:{id}"),
            serde_json::json!({}),
        )
        .await
    }

    /// The signed-in customer's anti-phishing phrase: every mail xdesk sends them shows it
    /// from now on. Empty removes it.
    pub async fn set_anti_phishing_phrase(
        &self,
        p: &Principal,
        phrase: &str,
    ) -> Result<Option<String>, ServiceError> {
        let Principal::Customer { id } = p else {
            return Err(ServiceError::Forbidden("for signed-in customers".into()));
        };
        let phrase = phrase.trim();
        if phrase.chars().count() > 40 || phrase.chars().any(char::is_control) {
            return Err(FieldError::new(
                "phrase",
                "invalid_phrase",
                "at most 40 characters on one line",
            )
            .into());
        }
        let phrase = (!phrase.is_empty()).then(|| phrase.to_owned());
        self.store
            .set_anti_phishing_phrase(*id, phrase.clone())
            .await?;
        Ok(phrase)
    }

    /// The customer's phrase (for the portal's form).
    pub async fn anti_phishing_phrase(
        &self,
        p: &Principal,
    ) -> Result<Option<String>, ServiceError> {
        let Principal::Customer { id } = p else {
            return Err(ServiceError::Forbidden("for signed-in customers".into()));
        };
        Ok(self
            .store
            .customer(*id)
            .await?
            .and_then(|c| c.anti_phishing_phrase))
    }

    /// Checks the links of customers' new messages; a suspicious one is recorded on the
    /// ticket (event, tag), agents are alerted and the customer is warned in their language.
    /// Logged, never returned: the message is already stored.
    pub(crate) async fn check_links(&self, ticket: &TicketRow, messages: &[MessageRow]) {
        if let Err(e) = self.try_check_links(ticket, messages).await {
            tracing::error!(ticket = ticket.id, error = %e, "links not checked");
        }
    }

    async fn try_check_links(
        &self,
        ticket: &TicketRow,
        messages: &[MessageRow],
    ) -> Result<(), ServiceError> {
        let customer: Vec<&MessageRow> = messages
            .iter()
            .filter(|m| m.author_kind == "customer")
            .collect();
        let hosts: Vec<(i64, String)> = customer
            .iter()
            .flat_map(|m| {
                official::link_hosts(&m.body_text)
                    .into_iter()
                    .map(|h| (m.id, h))
            })
            .collect();
        if hosts.is_empty() {
            return Ok(());
        }
        let (entries, views) = self.registry().await?;
        let phishing = self.store.phishing_domains().await?;
        let mut found: BTreeMap<String, (i64, Suspicious)> = BTreeMap::new();
        for (message_id, host) in hosts {
            let Ok(q) = official::parse_query(&host) else {
                continue;
            };
            let s = if on_list(&q.value, &phishing) {
                Suspicious {
                    host: q.display.clone(),
                    verdict: "phishing",
                    imitates: None,
                    reasons: Vec::new(),
                }
            } else if let Verdict::Lookalike(i, why) = official::check(&q, &entries) {
                Suspicious {
                    host: q.display.clone(),
                    verdict: "lookalike",
                    imitates: views.get(i).map(|v| v.value.clone()),
                    reasons: why.iter().map(|r| r.as_str()).collect(),
                }
            } else {
                continue;
            };
            found.entry(q.value).or_insert((message_id, s));
        }
        if found.is_empty() {
            return Ok(());
        }
        let listed: Vec<&Suspicious> = found.values().map(|(_, s)| s).collect();
        let mut notice = system_notice(
            &ticket.channel,
            link_warning(&ticket.language, &listed, &self.portal.public_url),
            serde_json::json!({"notice": "phishing_link"}),
        );
        notice.outbound = self
            .outbound_for(ticket, "notice", &notice.body_text, None)
            .await?;
        let done = self
            .apply_own_change(ticket.id, |t| {
                let mut events: Vec<EventKind> = found
                    .values()
                    .map(|(message_id, s)| EventKind::SuspiciousLink {
                        message_id: *message_id,
                        host: s.host.clone(),
                        verdict: s.verdict.to_owned(),
                        imitates: s.imitates.clone(),
                        reasons: s.reasons.iter().map(|r| (*r).to_owned()).collect(),
                    })
                    .collect();
                let mut patch = TicketPatch::default();
                let old: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
                if !old.iter().any(|x| x == PHISHING_TAG) {
                    let mut tags = old.clone();
                    tags.push(PHISHING_TAG.to_owned());
                    tags.sort();
                    events.push(EventKind::Updated {
                        changes: BTreeMap::from([(
                            "tags".to_owned(),
                            [serde_json::json!(old), serde_json::json!(tags)],
                        )]),
                    });
                    patch.tags = Some(tags);
                }
                let mut change = ChangeSet::system(t.id, t.version, patch, events);
                change.notices = vec![notice.clone()];
                change
            })
            .await?;
        if let Some(done) = done {
            self.alert(&done.ticket, "phishing_link", None).await;
        }
        Ok(())
    }
}

/// The host of the help center's public URL, unless it is an IP address or `localhost`.
fn official_host(public_url: &str) -> Option<String> {
    let rest = public_url.split_once("://").map_or(public_url, |(_, r)| r);
    let host = rest
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let usable = host.contains('.') && host.chars().any(|c| c.is_ascii_alphabetic());
    usable.then_some(host)
}

/// The warning a customer gets about the links they sent.
fn link_warning(language: &str, links: &[&Suspicious], public_url: &str) -> String {
    let zh = language.starts_with("zh");
    let verify = format!("{}/verify", public_url.trim_end_matches('/'));
    let lines: Vec<String> = links
        .iter()
        .map(|s| match (&s.imitates, zh) {
            (Some(o), false) => format!("- {} is NOT official: it imitates {o}.", s.host),
            (Some(o), true) => format!("- {} 不是官方网站：它在冒充 {o}。", s.host),
            (None, false) => format!("- {} is a known phishing site.", s.host),
            (None, true) => format!("- {} 是已知的钓鱼网站。", s.host),
        })
        .collect();
    if zh {
        format!(
            "安全提醒：您发来的链接不是我们的官方网站。\n{}\n请不要在这些网站上输入密码、助记词、私钥或验证码；如已输入，请立即修改密码并联系我们冻结账户。任何链接或联系方式都可以在 {verify} 核实。",
            lines.join("\n")
        )
    } else {
        format!(
            "Security warning: a link you sent is not one of our official sites.\n{}\nDo not enter your password, seed phrase, private keys or codes there; if you did, change your password now and ask us to freeze your account. Check any link or contact at {verify}.",
            lines.join("\n")
        )
    }
}
