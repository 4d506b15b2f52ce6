//! sea-orm entities: one definition per table, shared by SQLite and PostgreSQL.
//! Storage types stay inside this crate; callers get the row structs in `crate::model`.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod group {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "groups")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub name: String,
        pub description: String,
        pub created_at: DateTimeUtc,
        /// `manual`, `round_robin` or `least_loaded`.
        pub assignment: String,
        pub return_after_minutes: Option<i32>,
        /// A breached promise moves the ticket to another online agent.
        pub reassign_on_breach: bool,
    }
    no_relations!();
}

pub mod agent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub email: String,
        pub display_name: String,
        pub role: String,
        pub password_hash: String,
        pub totp_secret: Option<String>,
        pub totp_enabled: bool,
        pub active: bool,
        pub totp_last_step: Option<i64>,
        pub language: Option<String>,
        pub created_at: DateTimeUtc,
        /// `online`, `away` or `offline`, since `status_at`.
        pub status: String,
        pub status_at: Option<DateTimeUtc>,
        /// Space-separated language codes the agent answers in; empty: all.
        pub languages: String,
        pub skills: String,
        /// Per-channel limits, `chat=3 email=20`.
        pub capacity: String,
        /// What customers check at `/verify` to know this agent is real (`XA-7K2M9QXD`).
        pub public_id: Option<String>,
        /// A new authenticator's secret, waiting for its first code; the one in use stays
        /// in force until then.
        pub totp_pending: Option<String>,
    }
    no_relations!();
}

pub mod agent_group {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agent_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: i64,
        pub last_assigned_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// SHA-256 of the bearer token; the token itself is never stored.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub agent_id: i64,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod customer_session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_sessions")]
    pub struct Model {
        /// SHA-256 of the portal cookie's token.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub customer_id: i64,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sign_in_link {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sign_in_links")]
    pub struct Model {
        /// SHA-256 of the token in the mailed link.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        /// `customer` (portal sign-in) or `agent_invite` (first password).
        pub purpose: String,
        pub email: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Set when the link is used: it works once.
        pub used_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod saved_filter {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_filters")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agent_id: i64,
        pub name: String,
        /// The filter as JSON, read by the service layer.
        pub spec: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod integration {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integrations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        /// HS256 key the exchange signs its users' claims with; kept as is, since verifying
        /// needs it.
        pub secret: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod api_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub name: String,
        /// The key's public prefix, to find its row without scanning hashes.
        #[sea_orm(unique)]
        pub prefix: String,
        pub key_hash: String,
        /// Space-separated scopes, e.g. `tickets:write customers:write`.
        pub scopes: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod customer {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub display_name: String,
        pub language: String,
        pub created_at: DateTimeUtc,
        /// The exchange's tier for this customer (`vip`, …), for routing and SLA policies.
        pub tier: Option<String>,
        /// Shown at the top of every mail xdesk sends them, so a mail without it is not ours.
        pub anti_phishing_phrase: Option<String>,
    }
    no_relations!();
}

pub mod customer_identity {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_identities")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub kind: String,
        pub value: String,
    }
    no_relations!();
}

pub mod ticket {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tickets")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub subject: String,
        pub state: String,
        pub priority: String,
        pub channel: String,
        pub language: String,
        pub category: Option<String>,
        pub customer_id: i64,
        pub group_id: Option<i64>,
        pub assignee_id: Option<i64>,
        /// JSON array of tags, mirrored in `ticket_tags` for filtering.
        pub tags: String,
        pub network: Option<String>,
        pub asset: Option<String>,
        pub tx_hash: Option<String>,
        pub from_address: Option<String>,
        pub to_address: Option<String>,
        /// Exact decimal as canonical text: SQLite has no exact decimal type.
        pub amount: Option<String>,
        pub memo: Option<String>,
        pub occurred_at: Option<DateTimeUtc>,
        pub version: i64,
        pub event_count: i64,
        pub head_hash: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// An address a chat visitor left for answers while they are away. Unverified: it is
        /// only written to, never used to identify anyone.
        pub contact_email: Option<String>,
        /// What the customer wants, as triage or an agent decided (`xdesk_domain::triage`).
        pub intent: Option<String>,
        /// The ticket this one was merged into: its conversation goes on there.
        pub merged_into: Option<i64>,
        /// When the customer last wrote: kept on message insert, for the inbox's column, sort
        /// and unread mark.
        pub last_customer_message_at: Option<DateTimeUtc>,
        /// When the first of its running SLA clocks breaches: kept when clocks are saved, so
        /// the inbox sorts by it from an index.
        pub sla_due_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod agent_ticket_read {
    use sea_orm::entity::prelude::*;
    /// When an agent last opened a ticket.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agent_ticket_reads")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub ticket_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: i64,
        pub seen_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod ticket_tag {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub ticket_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
    }
    no_relations!();
}

pub mod message {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "messages")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        /// `customer`, `agent` or `system`.
        pub author_kind: String,
        pub author_id: Option<i64>,
        pub body_text: String,
        pub body_html: Option<String>,
        pub internal: bool,
        pub channel: String,
        /// JSON object with channel specifics (message-id, chat session, ...).
        pub metadata: String,
        pub created_at: DateTimeUtc,
        /// Position in the ticket's conversation, 1, 2, 3, ...: a chat client that reconnects
        /// asks for what came after the last one it saw.
        pub seq: i64,
        /// The code an outbound message carries, checkable at `/verify` (`K7Q2-M9XD-4HRT`).
        pub verify_code: Option<String>,
    }
    no_relations!();
}

pub mod attachment {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attachments")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        pub message_id: i64,
        pub sha256: String,
        pub filename: String,
        pub content_type: String,
        pub size: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod ticket_event {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ticket_events")]
    pub struct Model {
        /// Global, monotonically increasing: the change feed position.
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        pub seq: i64,
        pub kind: String,
        pub actor: String,
        /// The event payload as JSON text, exactly as hashed.
        pub data: String,
        pub created_at: DateTimeUtc,
        pub prev_hash: String,
        pub hash: String,
    }
    no_relations!();
}

pub mod audit_entry {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub actor: String,
        pub action: String,
        pub target: String,
        pub ip: Option<String>,
        pub detail: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod inbound_email {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbound_emails")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `api` or the mailbox it was fetched from.
        pub source: String,
        /// SHA-256 of Message-ID and raw content: the same mail fetched twice is stored once.
        #[sea_orm(unique)]
        pub dedupe_key: String,
        pub rfc_message_id: Option<String>,
        /// The raw message in the attachment store.
        pub raw_sha256: String,
        pub size: i64,
        /// JSON array: `unparseable`, `auto_reply`, `bulk`, `bounce`, ...
        pub flags: String,
        pub ticket_id: i64,
        pub message_id: i64,
        pub received_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod email_ref {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_refs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub rfc_message_id: String,
        pub ticket_id: i64,
        pub message_id: i64,
        /// `in` or `out`.
        pub direction: String,
    }
    no_relations!();
}

pub mod outbound_email {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbound_emails")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// None for mail about no ticket (a sign-in link).
        pub ticket_id: Option<i64>,
        /// The ticket message this mail delivers.
        #[sea_orm(unique)]
        pub message_id: Option<i64>,
        /// `reply`, `acknowledgement`, `notice` or `sign_in`.
        pub kind: String,
        pub to_address: String,
        pub subject: String,
        /// Fixed when queued, so a retried send is the same message to the recipient.
        #[sea_orm(unique)]
        pub rfc_message_id: String,
        pub in_reply_to: Option<String>,
        /// Space-separated Message-IDs, oldest first.
        pub reference_ids: String,
        pub body_text: String,
        /// Sent with `Auto-Submitted: auto-replied` (RFC 3834), so other robots stay quiet.
        pub auto_submitted: bool,
        /// The one-click unsubscribe address of a list mail (status page subscribers): sent as
        /// `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058).
        pub list_unsubscribe: Option<String>,
        /// `queued`, `sending`, `sent` or `failed`.
        pub state: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        /// A sender holds the row until then; past it, another node may take it over.
        pub lease_until: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        pub smtp_response: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod email_template {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_templates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub language: String,
        pub subject: String,
        pub body: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod mailbox {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mailboxes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub name: String,
        pub host: String,
        pub port: i32,
        /// `tls` (implicit, port 993) or `none` (loopback or a trusted network only).
        pub tls: String,
        pub username: String,
        /// Never returned by the API.
        pub password: String,
        pub folder: String,
        /// Where processed mail goes; without it, processed mail is marked \Seen.
        pub move_to: Option<String>,
        /// Group of the tickets this mailbox opens.
        pub group_id: Option<i64>,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub last_polled_at: Option<DateTimeUtc>,
        pub last_error: Option<String>,
    }
    no_relations!();
}

pub mod kb_category {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_categories")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub slug: String,
        pub name_en: String,
        pub name_zh: String,
        pub description_en: String,
        pub description_zh: String,
        pub position: i32,
    }
    no_relations!();
}

pub mod kb_section {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_sections")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub category_id: i64,
        pub slug: String,
        pub name_en: String,
        pub name_zh: String,
        pub position: i32,
    }
    no_relations!();
}

pub mod kb_article {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_articles")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub slug: String,
        pub category_id: i64,
        pub section_id: Option<i64>,
        /// `draft` or `published`.
        pub status: String,
        /// `public` or `internal`.
        pub visibility: String,
        /// JSON array.
        pub tags: String,
        /// JSON array of ticket issue types.
        pub answers: String,
        pub helpful_yes: i64,
        pub helpful_no: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod kb_translation {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_translations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub article_id: i64,
        pub language: String,
        pub title: String,
        pub description: String,
        /// Markdown.
        pub body: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod kb_revision {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_revisions")]
    pub struct Model {
        /// Global, increasing: the position search indexes follow.
        #[sea_orm(primary_key)]
        pub id: i64,
        pub article_id: i64,
        pub language: String,
        pub title: String,
        pub description: String,
        pub body: String,
        pub status: String,
        pub visibility: String,
        pub actor: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod kb_deflection {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_deflections")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The customer who opened it; None for an anonymous chat visitor.
        pub customer_id: Option<i64>,
        /// An anonymous chat visitor's ID, until they write and become a customer.
        pub visitor: Option<String>,
        /// Where the suggestion was shown: `portal` or `chat`.
        pub channel: String,
        pub slug: String,
        pub opened_at: DateTimeUtc,
        /// The ticket the customer opened anyway, if they did.
        pub ticket_id: Option<i64>,
    }
    no_relations!();
}

pub mod kb_vote {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "kb_votes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub article_id: i64,
        /// SHA-256 of the reader's cookie: one vote per reader and article.
        pub reader: String,
        pub helpful: bool,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod triage_correction {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "triage_corrections")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        pub language: String,
        /// The ticket's subject and first message, as the model read them.
        pub text: String,
        /// The intent the agent chose.
        pub intent: String,
        pub agent_id: Option<i64>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod routing_rule {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "routing_rules")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Rules are tried in this order (then by id).
        pub position: i64,
        pub intent: Option<String>,
        pub language: Option<String>,
        pub channel: Option<String>,
        pub tier: Option<String>,
        pub group_id: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sla_calendar {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sla_calendars")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        /// IANA zone; None for around the clock.
        pub time_zone: Option<String>,
        /// JSON: seven entries, Monday first, each `["09:00","18:00"]` or null.
        pub week: String,
        /// JSON: `["2026-10-01", …]`.
        pub holidays: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sla_policy {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sla_policies")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub position: i64,
        pub name: String,
        pub priority: Option<String>,
        pub intent: Option<String>,
        pub tier: Option<String>,
        pub first_response_minutes: i64,
        pub next_response_minutes: i64,
        pub resolution_minutes: i64,
        /// None: around the clock.
        pub calendar_id: Option<i64>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod sla_clock {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sla_clocks")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        /// `first_response`, `next_response` or `resolution`.
        pub kind: String,
        pub policy_id: i64,
        pub calendar_id: Option<i64>,
        pub target_secs: i64,
        pub used_secs: i64,
        pub running_since: Option<DateTimeUtc>,
        pub met_at: Option<DateTimeUtc>,
        /// When it breaches if it keeps running; None while paused or met.
        pub due_at: Option<DateTimeUtc>,
        pub warn_at: Option<DateTimeUtc>,
        pub warned: bool,
        pub breached: bool,
    }
    no_relations!();
}

pub mod job {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub kind: String,
        pub ticket_id: i64,
        pub run_at: DateTimeUtc,
        /// Set while a node works on it; another node may take it once it passes.
        pub lease_until: Option<DateTimeUtc>,
        pub attempts: i32,
    }
    no_relations!();
}

pub mod ticket_macro {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "macros")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub body_en: String,
        /// Empty: the English body is used for Chinese tickets too.
        pub body_zh: String,
        pub set_state: Option<String>,
        /// JSON array of tags added.
        pub add_tags: String,
        pub set_group_id: Option<i64>,
        pub usage_count: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod survey {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "surveys")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub ticket_id: i64,
        /// SHA-256 of the link's token.
        pub token_hash: String,
        /// Who, which group and what kind of request the answer is about, as when solved.
        pub agent_id: Option<i64>,
        pub group_id: Option<i64>,
        pub intent: Option<String>,
        /// 1 (very unhappy) to 5 (very happy); None until answered.
        pub score: Option<i32>,
        pub comment: Option<String>,
        pub sent_at: DateTimeUtc,
        pub answered_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod official_channel {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "official_channels")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `domain`, `email`, `phone`, `telegram`, `x`, `discord` or `agent`.
        pub kind: String,
        /// Normal form (`xdesk_domain::official::normalize_entry`).
        pub value: String,
        pub note: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod phishing_domain {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "phishing_domains")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// ASCII (punycode) form; its subdomains are phishing too.
        pub domain: String,
        pub note: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod wallet_nonce {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "wallet_nonces")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub nonce: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Set when a sign-in used it: it works once.
        pub used_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod identity_link_request {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "identity_link_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub customer_id: i64,
        pub kind: String,
        pub value: String,
        /// `pending`, `approved` or `rejected`.
        pub status: String,
        pub proposed_by: String,
        pub reason: String,
        pub created_at: DateTimeUtc,
        pub decided_by: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod recovery_code {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agent_recovery_codes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub agent_id: i64,
        /// SHA-256 (hex) of the agent's id and the code; the code itself is never stored.
        pub code_hash: String,
        pub created_at: DateTimeUtc,
        /// Set when a sign-in or a re-enrolment used it: it works once.
        pub used_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod status_component {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_components")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub parent_id: Option<i64>,
        pub name: String,
        pub name_zh: String,
        pub description: String,
        pub position: i32,
        /// `xdesk_domain::incident::ComponentStatus`.
        pub status: String,
        /// The network tickets about this component name, if any.
        pub network: Option<String>,
        /// JSON array of the intents tickets about this component carry.
        pub intents: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod incident {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incidents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `incident` or `maintenance`.
        pub kind: String,
        pub title: String,
        pub title_zh: String,
        pub status: String,
        pub impact: String,
        /// JSON `xdesk_domain::incident::MatchRule`, when new tickets are linked by rule.
        pub rule: Option<String>,
        /// The last ticket id the rule has looked at (the rule follows new tickets from there).
        pub rule_scanned_to: i64,
        /// When the next update was promised.
        pub next_update_at: Option<DateTimeUtc>,
        /// A maintenance window.
        pub starts_at: Option<DateTimeUtc>,
        pub ends_at: Option<DateTimeUtc>,
        pub created_by: Option<i64>,
        /// The ticket it was started from, if any.
        pub source_ticket_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub resolved_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod incident_component {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_components")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub incident_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub component_id: i64,
        /// What the incident does to the component while it is open.
        pub status: String,
    }
    no_relations!();
}

pub mod incident_update {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_updates")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub incident_id: i64,
        /// The incident's status this update set.
        pub status: String,
        pub body: String,
        pub body_zh: String,
        /// An internal note: never public, never broadcast.
        pub internal: bool,
        /// A final update that also solves the linked tickets.
        pub solves: bool,
        pub author_id: Option<i64>,
        /// JSON object component id -> status, as this update left them.
        pub components: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod incident_ticket {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_tickets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub incident_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub ticket_id: i64,
        /// `agent` or `rule`.
        pub linked_by: String,
        pub agent_id: Option<i64>,
        pub linked_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod incident_delivery {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub incident_id: i64,
        pub update_id: i64,
        pub ticket_id: i64,
        /// `link` (the latest update for a newly linked ticket, which then waits on the
        /// incident), `update`, or `final` (the ticket stops waiting).
        pub kind: String,
        /// `queued`, `sending` (claimed), `sent` (posted on the ticket) or `failed`.
        pub state: String,
        /// Counted at each claim; the holder's count is its claim, so a sender whose lease was
        /// taken over cannot mark the row.
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub lease_until: Option<DateTimeUtc>,
        /// The ticket message that delivered it.
        pub message_id: Option<i64>,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod component_spell {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "component_spells")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub component_id: i64,
        pub status: String,
        pub started_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod status_subscriber {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_subscribers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub email: String,
        pub language: String,
        /// JSON array of component ids; empty for all.
        pub components: String,
        /// The hash of the confirmation token, until confirmed.
        pub confirm_hash: Option<String>,
        #[sea_orm(unique)]
        pub unsubscribe_hash: String,
        pub created_at: DateTimeUtc,
        pub confirmed_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod incident_view {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_views")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub incident_id: i64,
        /// A hash standing for one visitor (never the raw cookie).
        #[sea_orm(primary_key, auto_increment = false)]
        pub visitor: String,
        /// `help`, `portal` or `widget`.
        pub surface: String,
        pub seen_at: DateTimeUtc,
        /// The ticket they opened after seeing it, if they did.
        pub ticket_id: Option<i64>,
    }
    no_relations!();
}

pub mod status_mail_feed {
    use sea_orm::entity::prelude::*;
    /// How far the status page's mailer has followed public incident updates (one row).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_mail_feed")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        /// The last incident update id whose mails are queued.
        pub position: i64,
        /// The node holding the feed, until `lease_until`.
        pub holder: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod status_unsubscribe_token {
    use sea_orm::entity::prelude::*;
    /// The hash of the one-click unsubscribe token one mail to a subscriber carried.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_unsubscribe_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub hash: String,
        pub subscriber_id: i64,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}
