//! Tickets, their messages, attachments and hash-chained events.

use crate::customers::upsert_customer_id_in;
use crate::email::{InboundRecord, record_inbound};
use crate::entities::{attachment, message, ticket, ticket_event, ticket_tag, triage_correction};
use crate::outbox::{OutboundMail, queue_outbound};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use xdesk_domain::event::{Actor, EventKind, EventRecord, GENESIS_HASH, sha256_hex};
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::RawCryptoFields;

pub type TicketRow = ticket::Model;
pub type MessageRow = message::Model;
pub type AttachmentRow = attachment::Model;

/// An attachment whose bytes are already in the [`crate::AttachmentStore`].
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub internal: bool,
    pub channel: String,
    pub metadata: serde_json::Value,
    pub attachments: Vec<NewAttachment>,
    /// The raw mail this message came from, recorded with it.
    pub email: Option<InboundRecord>,
    /// Kinds of secret cut from the body before it got here, recorded in the hash chain.
    pub redacted: Vec<String>,
    /// The mail that delivers this message, queued in the same transaction.
    pub outbound: Option<OutboundMail>,
}

/// Who a new ticket belongs to.
#[derive(Debug, Clone)]
pub enum TicketCustomer {
    /// A customer known to exist.
    Id(i64),
    /// Found by any of these identities, or created owning all of them, in the ticket's own
    /// transaction.
    Identities {
        identities: Vec<Identity>,
        display_name: String,
        language: String,
    },
}

/// A validated ticket to write, with its first message. Values are canonical strings.
/// A first message authored by `customer` with no `author_id` is attributed to the ticket's
/// customer once it is resolved.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub state: String,
    pub priority: String,
    pub channel: String,
    pub language: String,
    pub category: Option<String>,
    pub customer: TicketCustomer,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: Vec<String>,
    pub crypto: RawCryptoFields,
    /// What triage made of the ticket: written as its intent and a `triaged` event.
    pub triage: Option<TriageRecord>,
    pub first_message: NewMessage,
    /// System messages written after the first one, e.g. a security warning to the customer.
    pub notices: Vec<NewMessage>,
    /// More system messages, built from the new row inside the transaction: for text that
    /// needs the ticket's number, such as the acknowledgement mail.
    pub after_insert: Option<AfterInsert>,
    /// SLA clocks to start in the ticket's transaction.
    pub sla: Option<crate::SlaStart>,
    pub actor: Actor,
}

/// Triage's decisions about a new ticket, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageRecord {
    pub language: String,
    pub intent: String,
    pub confidence_pct: u8,
    pub urgent_reason: Option<String>,
}

/// Builds messages from a just-inserted ticket; see [`NewTicket::after_insert`].
#[derive(Clone)]
pub struct AfterInsert(pub std::sync::Arc<BuildMessages>);

/// What an [`AfterInsert`] runs: the new row in, the messages to write out.
pub type BuildMessages = dyn Fn(&TicketRow) -> Vec<NewMessage> + Send + Sync;

impl std::fmt::Debug for AfterInsert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterInsert")
    }
}

/// What creating a ticket wrote: enough to answer the caller without reading it back.
#[derive(Debug, Clone)]
pub struct CreatedTicket {
    pub ticket: TicketRow,
    pub message: MessageRow,
    pub attachments: Vec<AttachmentRow>,
    pub notices: Vec<MessageRow>,
}

/// A ticket after a [`ChangeSet`], with the id of the message it added, if any.
#[derive(Debug, Clone)]
pub struct AppliedChange {
    pub ticket: TicketRow,
    pub message_id: Option<i64>,
    /// Every message written (the message, then the notices), for live delivery.
    pub messages: Vec<MessageRow>,
    pub attachments: Vec<AttachmentRow>,
}

/// New column values; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub state: Option<String>,
    pub priority: Option<String>,
    pub category: Option<Option<String>>,
    pub group_id: Option<Option<i64>>,
    pub assignee_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    pub crypto: Option<RawCryptoFields>,
    pub contact_email: Option<Option<String>>,
    pub intent: Option<Option<String>>,
    pub merged_into: Option<Option<i64>>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.state.is_none()
            && self.priority.is_none()
            && self.category.is_none()
            && self.group_id.is_none()
            && self.assignee_id.is_none()
            && self.tags.is_none()
            && self.crypto.is_none()
            && self.contact_email.is_none()
            && self.intent.is_none()
            && self.merged_into.is_none()
    }
}

/// One atomic change to a ticket: field updates and/or a new message, plus the events that
/// describe the field updates (message and attachment events are added here, once ids exist).
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub ticket_id: i64,
    /// The version the caller read; the change fails with `StaleVersion` if it moved on.
    pub expected_version: i64,
    pub actor: Actor,
    pub patch: TicketPatch,
    pub events: Vec<EventKind>,
    pub message: Option<NewMessage>,
    /// System messages written after `message`.
    pub notices: Vec<NewMessage>,
    /// The incident delivery `message` carries: marked delivered in the same transaction, and
    /// the whole change fails if another sender took the delivery over meanwhile.
    pub delivery: Option<crate::incidents::DeliveryClaim>,
}

impl ChangeSet {
    /// A change xdesk makes itself (a timer, a guard): no message, no notices.
    pub fn system(
        ticket_id: i64,
        expected_version: i64,
        patch: TicketPatch,
        events: Vec<EventKind>,
    ) -> Self {
        Self {
            ticket_id,
            expected_version,
            actor: Actor::System,
            patch,
            events,
            message: None,
            notices: Vec::new(),
            delivery: None,
        }
    }
}

/// Which tickets a caller may see. No default: every filter says whose eyes it is for, so a
/// forgotten field cannot widen a read to every ticket.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Every ticket: admins, API keys and xdesk's own work.
    All,
    /// Tickets of these groups, or assigned to one of these agents, and (for supervisors)
    /// those no group holds, so that no ticket goes unseen.
    Restricted {
        group_ids: Vec<i64>,
        agent_ids: Vec<i64>,
        unrouted: bool,
    },
    /// A customer's own tickets, in the portal.
    Customer(i64),
}

impl Visibility {
    /// Whether a ticket routed to `group_id` and `assignee_id`, of `customer_id` when known,
    /// is visible.
    pub fn allows(
        &self,
        group_id: Option<i64>,
        assignee_id: Option<i64>,
        customer_id: Option<i64>,
    ) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Restricted {
                group_ids,
                agent_ids,
                unrouted,
            } => {
                group_id.map_or(*unrouted, |g| group_ids.contains(&g))
                    || assignee_id.is_some_and(|a| agent_ids.contains(&a))
            }
            Visibility::Customer(c) => customer_id == Some(*c),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    CreatedAsc,
    #[default]
    CreatedDesc,
    UpdatedAsc,
    UpdatedDesc,
    /// Urgent first, oldest first within a priority: the inbox's order. Not paged by cursor.
    PriorityAge,
    /// [`SortOrder::PriorityAge`] reversed: low first, newest first within a priority.
    PriorityAgeDesc,
    /// By the customer's last message (tickets without one follow, in the inbox's order).
    /// Like every order below, for the inbox: not paged by cursor.
    LastCustomerAsc,
    LastCustomerDesc,
    /// By the next SLA due time (tickets with no running clock follow, in the inbox's order).
    SlaDueAsc,
    SlaDueDesc,
}

#[derive(Debug, Clone)]
pub struct TicketFilter {
    pub visibility: Visibility,
    pub states: Vec<String>,
    pub priorities: Vec<String>,
    pub group_id: Option<i64>,
    /// Only tickets no group holds: the supervisors' "Unrouted" view.
    pub unrouted: bool,
    pub assignee_id: Option<Option<i64>>,
    pub customer_id: Option<i64>,
    /// Tickets of one channel (`chat` for the chats waiting for an agent).
    pub channel: Option<String>,
    pub tag: Option<String>,
    /// Substring, in any case, of the subject, tx hash, an address, or the customer's name or
    /// identities; a hash or address also by its start with or without `0x`
    /// ([`xdesk_domain::text::identifier_forms`]).
    pub text: Option<String>,
    pub sort: SortOrder,
    /// Read the page by walking the order's own index and testing the view on the way (the
    /// inbox's sorted views): on SQLite, which has no statistics, the view's columns are then
    /// tested without their indexes (see [`condition`]). The column sorts always walk.
    pub walk_order: bool,
    /// Keyset cursor: the sort key and id of the last row of the previous page.
    pub after: Option<(Option<DateTime<Utc>>, i64)>,
    pub limit: u64,
}

impl TicketFilter {
    /// Every ticket `visibility` allows, newest first; narrow it and set `limit` (1-200).
    pub fn new(visibility: Visibility) -> Self {
        Self {
            visibility,
            states: Vec::new(),
            priorities: Vec::new(),
            group_id: None,
            unrouted: false,
            assignee_id: None,
            customer_id: None,
            channel: None,
            tag: None,
            text: None,
            sort: SortOrder::default(),
            walk_order: false,
            after: None,
            limit: 0,
        }
    }
}

/// Urgent first, then high, normal, low: the order agents work in.
pub(crate) const PRIORITY_ORDER: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The tickets a filter selects, before ordering and paging.
fn filtered(f: &TicketFilter) -> sea_orm::Select<ticket::Entity> {
    ticket::Entity::find().filter(condition(f, false))
}

/// What a filter asks of a ticket, as one condition (also usable inside a `CASE`).
/// `unindexed`: the view's columns are tested as `+column`, which keeps SQLite's planner (it has
/// no statistics) off their indexes, so it walks the sort column's index in order instead of
/// sorting the whole view; PostgreSQL does not need it and has no unary `+` for text.
fn condition(f: &TicketFilter, unindexed: bool) -> Condition {
    use ticket::Column as C;
    let col = |c: C| {
        if unindexed {
            Expr::cust(format!(
                "+\"tickets\".\"{}\"",
                sea_orm::IdenStatic::as_str(&c)
            ))
        } else {
            Expr::col((ticket::Entity, c))
        }
    };
    let mut q = Condition::all();
    // A view of one visible group, or of one visible agent's tickets, needs no visibility
    // test: leaving it out lets the database walk that view's own index.
    let implied = match (&f.visibility, f.group_id, f.assignee_id) {
        (Visibility::Restricted { group_ids, .. }, Some(g), _) if group_ids.contains(&g) => true,
        (Visibility::Restricted { agent_ids, .. }, _, Some(Some(a))) => agent_ids.contains(&a),
        _ => false,
    };
    if let Visibility::Restricted {
        group_ids,
        agent_ids,
        unrouted,
    } = &f.visibility
        && !implied
    {
        let mut any = Condition::any()
            .add(col(C::GroupId).is_in(group_ids.clone()))
            .add(col(C::AssigneeId).is_in(agent_ids.clone()));
        if *unrouted {
            any = any.add(col(C::GroupId).is_null());
        }
        q = q.add(any);
    }
    if f.unrouted {
        q = q.add(col(C::GroupId).is_null());
    }
    if let Visibility::Customer(id) = f.visibility {
        q = q.add(C::CustomerId.eq(id));
    }
    if !f.states.is_empty() {
        q = q.add(col(C::State).is_in(f.states.clone()));
    }
    if !f.priorities.is_empty() {
        q = q.add(col(C::Priority).is_in(f.priorities.clone()));
    }
    if let Some(g) = f.group_id {
        q = q.add(col(C::GroupId).eq(g));
    }
    match f.assignee_id {
        Some(Some(a)) => q = q.add(col(C::AssigneeId).eq(a)),
        Some(None) => q = q.add(col(C::AssigneeId).is_null()),
        None => {}
    }
    if let Some(c) = f.customer_id {
        q = q.add(C::CustomerId.eq(c));
    }
    if let Some(ch) = &f.channel {
        q = q.add(C::Channel.eq(ch.as_str()));
    }
    if let Some(tag) = &f.tag {
        q = q.add(
            C::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(ticket_tag::Column::TicketId)
                    .from(ticket_tag::Entity)
                    .and_where(Expr::col(ticket_tag::Column::Tag).eq(tag.clone()))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.is_empty()) {
        use crate::entities::{customer, customer_identity};
        use sea_orm::sea_query::{Func, LikeExpr, Query};
        // In any case: PostgreSQL's LIKE minds it, and EVM addresses are stored checksummed
        // (mixed case) while agents paste them in lower or upper case.
        let lower = text.to_lowercase();
        let has = |col: Expr, needle: &str| {
            let escaped = needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            Expr::expr(Func::lower(col)).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
        };
        // A hash or address, whole or its start, with or without `0x`.
        let mut ids = xdesk_domain::text::identifier_forms(text.trim());
        if ids.is_empty() {
            ids.push(lower.clone());
        }
        let any_id = |col: Expr| {
            ids.iter()
                .fold(Condition::any(), |c, id| c.add(has(col.clone(), id)))
        };
        // The customer by name or by any identity (email, exchange UID, wallet, Telegram).
        let by_identity = Query::select()
            .column(customer_identity::Column::CustomerId)
            .from(customer_identity::Entity)
            .cond_where(
                any_id(Expr::col((
                    customer_identity::Entity,
                    customer_identity::Column::Value,
                )))
                .add(has(
                    Expr::col((customer_identity::Entity, customer_identity::Column::Value)),
                    &lower,
                )),
            )
            .to_owned();
        let by_name = Query::select()
            .column(customer::Column::Id)
            .from(customer::Entity)
            .and_where(has(
                Expr::col((customer::Entity, customer::Column::DisplayName)),
                &lower,
            ))
            .to_owned();
        q = q.add(
            Condition::any()
                .add(has(Expr::col((ticket::Entity, C::Subject)), &lower))
                .add(any_id(Expr::col((ticket::Entity, C::TxHash))))
                .add(any_id(Expr::col((ticket::Entity, C::FromAddress))))
                .add(any_id(Expr::col((ticket::Entity, C::ToAddress))))
                .add(C::CustomerId.in_subquery(by_identity))
                .add(C::CustomerId.in_subquery(by_name)),
        );
    }
    q
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

/// Notes the language a customer's message is written in, in its metadata: done before the
/// message reaches the writer, so the detection never holds the write transaction.
fn with_language(m: &mut NewMessage) {
    if m.author_kind == "customer"
        && !m.body_text.trim().is_empty()
        && let Some(o) = m.metadata.as_object_mut()
        && !o.contains_key("language")
    {
        o.insert(
            "language".into(),
            serde_json::json!(xdesk_domain::triage::detect_language(&m.body_text)),
        );
    }
}

/// The message's metadata, with the kinds of secret cut from it, so the API can show why a
/// marker stands in the text.
fn metadata_of(m: &NewMessage) -> serde_json::Value {
    let mut meta = m.metadata.clone();
    if !m.redacted.is_empty()
        && let Some(o) = meta.as_object_mut()
    {
        o.insert("redacted".into(), serde_json::json!(m.redacted));
    }
    meta
}

/// What the customer can check at `/verify`: every message support sends them carries a code
/// (the one its mail shows, if it is mailed); their own messages and internal notes none.
fn verify_code(m: &NewMessage) -> Option<String> {
    if m.author_kind == "customer" || m.internal {
        return None;
    }
    Some(
        m.outbound
            .as_ref()
            .and_then(|o| o.verify_code.clone())
            .unwrap_or_else(xdesk_domain::official::fresh_message_code),
    )
}

/// The next position in a ticket's conversation. Called with the ticket row locked (or, on
/// SQLite, inside the single writer's transaction), so two writers never take the same one.
async fn next_seq(tx: &DatabaseTransaction, ticket_id: i64) -> Result<i64, StoreError> {
    let max: Option<Option<i64>> = message::Entity::find()
        .select_only()
        .column_as(message::Column::Seq.max(), "max_seq")
        .filter(message::Column::TicketId.eq(ticket_id))
        .into_tuple()
        .one(tx)
        .await?;
    Ok(max.flatten().unwrap_or(0) + 1)
}

async fn insert_message(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    seq: i64,
    m: &NewMessage,
    at: DateTime<Utc>,
    events: &mut Vec<EventKind>,
) -> Result<(MessageRow, Vec<AttachmentRow>), StoreError> {
    let row = message_row(ticket_id, seq, m, at).insert(tx).await?;
    message_events(row.id, m, events);
    let attachments = message_extras_in(tx, ticket_id, row.id, m, at).await?;
    Ok((row, attachments))
}

/// A message as a new row; its id is left to the database.
fn message_row(
    ticket_id: i64,
    seq: i64,
    m: &NewMessage,
    at: DateTime<Utc>,
) -> message::ActiveModel {
    let mut row = message::ActiveModel::from(message_model(0, ticket_id, seq, m, at)).reset_all();
    row.id = sea_orm::ActiveValue::NotSet;
    row
}

/// A message as it is stored, with the id taken for it.
fn message_model(
    id: i64,
    ticket_id: i64,
    seq: i64,
    m: &NewMessage,
    at: DateTime<Utc>,
) -> MessageRow {
    MessageRow {
        id,
        seq,
        ticket_id,
        author_kind: m.author_kind.clone(),
        author_id: m.author_id,
        body_text: m.body_text.clone(),
        body_html: m.body_html.clone(),
        internal: m.internal,
        channel: m.channel.clone(),
        metadata: metadata_of(m).to_string(),
        created_at: at,
        verify_code: verify_code(m),
    }
}

/// What the ticket's chain records of a message: the message, the kinds of secret cut from
/// it, and each attachment.
fn message_events(message_id: i64, m: &NewMessage, events: &mut Vec<EventKind>) {
    events.push(EventKind::MessageAdded {
        message_id,
        internal: m.internal,
        body_sha256: sha256_hex(m.body_text.as_bytes()),
    });
    if !m.redacted.is_empty() {
        events.push(EventKind::SecretRedacted {
            message_id,
            kinds: m.redacted.clone(),
        });
    }
    for a in &m.attachments {
        events.push(EventKind::AttachmentAdded {
            message_id,
            sha256: a.sha256.clone(),
            filename: a.filename.clone(),
            size: a.size,
        });
    }
}

/// The rows that hang off a message once it is written: the raw mail it came from, the mail
/// that delivers it, its attachments.
async fn message_extras_in(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    message_id: i64,
    m: &NewMessage,
    at: DateTime<Utc>,
) -> Result<Vec<AttachmentRow>, StoreError> {
    if let Some(rec) = &m.email {
        record_inbound(tx, ticket_id, message_id, rec, at).await?;
    }
    if let Some(o) = &m.outbound {
        queue_outbound(tx, ticket_id, message_id, o, at).await?;
    }
    let mut attachments = Vec::with_capacity(m.attachments.len());
    for a in &m.attachments {
        attachments.push(
            attachment::ActiveModel {
                ticket_id: Set(ticket_id),
                message_id: Set(message_id),
                sha256: Set(a.sha256.clone()),
                filename: Set(a.filename.clone()),
                content_type: Set(a.content_type.clone()),
                size: Set(a.size),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(tx)
            .await?,
        );
    }
    Ok(attachments)
}

async fn replace_tags(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    ticket_tag::Entity::delete_many()
        .filter(ticket_tag::Column::TicketId.eq(ticket_id))
        .exec(tx)
        .await?;
    insert_tags(tx, ticket_id, tags).await
}

async fn insert_tags(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    tags: &[String],
) -> Result<(), StoreError> {
    let rows = tag_rows(ticket_id, tags);
    if !rows.is_empty() {
        ticket_tag::Entity::insert_many(rows).exec(tx).await?;
    }
    Ok(())
}

fn tag_rows(ticket_id: i64, tags: &[String]) -> Vec<ticket_tag::ActiveModel> {
    tags.iter()
        .map(|t| ticket_tag::ActiveModel {
            ticket_id: Set(ticket_id),
            tag: Set(t.clone()),
        })
        .collect()
}

/// Seals `events` onto the chain that ends at (`count`, `head`) and records the new head.
async fn append_events(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    count: i64,
    head: &str,
    actor: &Actor,
    events: &[EventKind],
    at: DateTime<Utc>,
) -> Result<(i64, String), StoreError> {
    let (rows, count, head) = sealed_events(ticket_id, count, head, actor, events, at);
    if !rows.is_empty() {
        ticket_event::Entity::insert_many(rows).exec(tx).await?;
    }
    Ok((count, head))
}

/// `events` sealed onto the chain that ends at (`count`, `head`), as rows, with the new end.
fn sealed_events(
    ticket_id: i64,
    mut count: i64,
    head: &str,
    actor: &Actor,
    events: &[EventKind],
    at: DateTime<Utc>,
) -> (Vec<ticket_event::ActiveModel>, i64, String) {
    let mut prev = head.to_owned();
    let mut rows = Vec::with_capacity(events.len());
    for kind in events {
        count += 1;
        let rec = EventRecord::seal(ticket_id, count, kind, actor, at, &prev);
        prev = rec.hash.clone();
        rows.push(ticket_event::ActiveModel {
            ticket_id: Set(ticket_id),
            seq: Set(rec.seq),
            kind: Set(rec.kind),
            actor: Set(rec.actor),
            data: Set(rec.data.to_string()),
            created_at: Set(rec.created_at),
            prev_hash: Set(rec.prev_hash),
            hash: Set(rec.hash),
            ..Default::default()
        });
    }
    (rows, count, prev)
}

impl Store {
    /// Writes a ticket, its customer if new, its first message, the message's attachment rows,
    /// its tags and its events in one transaction, shared with other tickets created at the
    /// same moment (see [`crate::group_commit`]). Attachment bytes must already be in the file
    /// store.
    pub async fn create_ticket(&self, mut t: NewTicket) -> Result<CreatedTicket, StoreError> {
        with_language(&mut t.first_message);
        self.writer.submit(t).await
    }

    pub async fn ticket(&self, id: i64) -> Result<Option<TicketRow>, StoreError> {
        Ok(ticket::Entity::find_by_id(id).one(&self.read).await?)
    }

    /// Applies a [`ChangeSet`] atomically: the version check and row lock come first, then the
    /// message, then the events, then the new head of the chain. Changes made at the same
    /// moment share one transaction (see [`crate::group_commit`]), as ticket creations do.
    pub async fn apply_change(&self, mut cs: ChangeSet) -> Result<AppliedChange, StoreError> {
        if let Some(m) = &mut cs.message {
            with_language(m);
        }
        self.writer.submit_change(cs).await
    }
}

impl Store {
    /// Several tickets' changes in one transaction: all are written or none (a merge closes
    /// one ticket and fills another). Each still fails with `StaleVersion` if its ticket moved.
    pub async fn apply_changes_together(
        &self,
        mut changes: Vec<ChangeSet>,
    ) -> Result<Vec<AppliedChange>, StoreError> {
        let tx = sea_orm::TransactionTrait::begin(&self.db).await?;
        let mut done = Vec::with_capacity(changes.len());
        for cs in &mut changes {
            if let Some(m) = &mut cs.message {
                with_language(m);
            }
            done.push(apply_change_in(&tx, cs).await?);
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// Writes one [`ChangeSet`] inside `tx`; the caller commits. The ticket row is locked and its
/// version checked first, then the messages and events are written, and the row is updated
/// once with everything (its fields and its new chain head): two updates wrote one more version
/// of the row and of each of its indexes on PostgreSQL, for every chat message and reply.
pub(crate) async fn apply_change_in(
    tx: &DatabaseTransaction,
    cs: &ChangeSet,
) -> Result<AppliedChange, StoreError> {
    let at = now();
    let p = &cs.patch;
    let mut find = ticket::Entity::find_by_id(cs.ticket_id);
    // SQLite has one writer: the transaction itself holds the database.
    if tx.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let row = find.one(tx).await?.ok_or(StoreError::NotFound("ticket"))?;
    if row.version != cs.expected_version {
        return Err(StoreError::StaleVersion("ticket"));
    }
    let mut upd = ticket::Entity::update_many()
        .col_expr(
            ticket::Column::Version,
            Expr::col(ticket::Column::Version).add(1),
        )
        .col_expr(ticket::Column::UpdatedAt, Expr::value(at));
    if cs
        .message
        .iter()
        .chain(&cs.notices)
        .any(|m| m.author_kind == "customer")
    {
        upd = upd.col_expr(ticket::Column::LastCustomerMessageAt, Expr::value(at));
    }
    if let Some(v) = &p.subject {
        upd = upd.col_expr(ticket::Column::Subject, Expr::value(v.clone()));
    }
    if let Some(v) = &p.state {
        upd = upd.col_expr(ticket::Column::State, Expr::value(v.clone()));
    }
    if let Some(v) = &p.priority {
        upd = upd.col_expr(ticket::Column::Priority, Expr::value(v.clone()));
    }
    if let Some(v) = &p.category {
        upd = upd.col_expr(ticket::Column::Category, Expr::value(v.clone()));
    }
    if let Some(v) = &p.intent {
        upd = upd.col_expr(ticket::Column::Intent, Expr::value(v.clone()));
    }
    if let Some(v) = p.group_id {
        upd = upd.col_expr(ticket::Column::GroupId, Expr::value(v));
    }
    if let Some(v) = p.assignee_id {
        upd = upd.col_expr(ticket::Column::AssigneeId, Expr::value(v));
    }
    if let Some(v) = p.merged_into {
        upd = upd.col_expr(ticket::Column::MergedInto, Expr::value(v));
    }
    if let Some(tags) = &p.tags {
        upd = upd.col_expr(ticket::Column::Tags, Expr::value(tags_json(tags)));
    }
    if let Some(v) = &p.contact_email {
        upd = upd.col_expr(ticket::Column::ContactEmail, Expr::value(v.clone()));
    }
    if let Some(c) = &p.crypto {
        upd = upd
            .col_expr(ticket::Column::Network, Expr::value(c.network.clone()))
            .col_expr(ticket::Column::Asset, Expr::value(c.asset.clone()))
            .col_expr(ticket::Column::TxHash, Expr::value(c.tx_hash.clone()))
            .col_expr(
                ticket::Column::FromAddress,
                Expr::value(c.from_address.clone()),
            )
            .col_expr(ticket::Column::ToAddress, Expr::value(c.to_address.clone()))
            .col_expr(ticket::Column::Amount, Expr::value(c.amount.clone()))
            .col_expr(ticket::Column::Memo, Expr::value(c.memo.clone()))
            .col_expr(
                ticket::Column::OccurredAt,
                Expr::value(c.occurred_at.map(xdesk_domain::event::storage_time)),
            );
    }
    if let Some(tags) = &p.tags {
        replace_tags(tx, row.id, tags).await?;
    }
    let mut events = cs.events.clone();
    let mut message_id = None;
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    if cs.message.is_some() || !cs.notices.is_empty() {
        let mut seq = next_seq(tx, row.id).await?;
        for (i, m) in cs.message.iter().chain(&cs.notices).enumerate() {
            let (written, files) = insert_message(tx, row.id, seq, m, at, &mut events).await?;
            attachments.extend(files);
            if i == 0 && cs.message.is_some() {
                message_id = Some(written.id);
            }
            messages.push(written);
            seq += 1;
        }
    }
    if let Some(claim) = &cs.delivery {
        crate::incidents::mark_delivered(tx, claim, message_id, at).await?;
    }
    let (count, head) = append_events(
        tx,
        row.id,
        row.event_count,
        &row.head_hash,
        &cs.actor,
        &events,
        at,
    )
    .await?;
    let ticket = upd
        .col_expr(ticket::Column::EventCount, Expr::value(count))
        .col_expr(ticket::Column::HeadHash, Expr::value(head))
        .filter(ticket::Column::Id.eq(row.id))
        .filter(ticket::Column::Version.eq(cs.expected_version))
        .exec_with_returning(tx)
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::StaleVersion("ticket"))?;
    Ok(AppliedChange {
        ticket,
        message_id,
        messages,
        attachments,
    })
}

/// The tickets `f` selects that have a value in `col`, in its order: one walk of its index
/// (`sqlite`: see [`condition`]).
fn keyed(
    f: &TicketFilter,
    col: ticket::Column,
    asc: bool,
    limit: u64,
    sqlite: bool,
) -> sea_orm::Select<ticket::Entity> {
    let order = if asc { Order::Asc } else { Order::Desc };
    ticket::Entity::find()
        .filter(condition(f, sqlite))
        .filter(col.is_not_null())
        .order_by(col, order.clone())
        .order_by(ticket::Column::Id, order)
        .limit(limit)
}

impl Store {
    /// The intent, state and creation time of the customer's tickets opened since `since`, other
    /// than `except`, newest first, at most `limit`. Read for each new ticket, so only these
    /// three columns, and by the customer's index alone: asked for the intent too, PostgreSQL
    /// with stale statistics intersected it with the intent index, which holds most tickets.
    pub async fn customer_recent_tickets(
        &self,
        customer_id: i64,
        since: DateTime<Utc>,
        except: i64,
        limit: u64,
    ) -> Result<Vec<(Option<String>, String, DateTime<Utc>)>, StoreError> {
        use ticket::Column as C;
        Ok(ticket::Entity::find()
            .select_only()
            .columns([C::Intent, C::State, C::CreatedAt])
            .filter(C::CustomerId.eq(customer_id))
            .filter(C::CreatedAt.gte(since))
            .filter(C::Id.ne(except))
            .order_by_desc(C::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.read)
            .await?)
    }
}

impl Store {
    pub async fn list_tickets(&self, f: &TicketFilter) -> Result<Vec<TicketRow>, StoreError> {
        use ticket::Column as C;
        let limit = f.limit.clamp(1, 200);
        let sqlite = self.read.get_database_backend() == sea_orm::DatabaseBackend::Sqlite;
        let key = match f.sort {
            SortOrder::PriorityAge => return self.by_priority(f, None, limit, false).await,
            SortOrder::PriorityAgeDesc => return self.by_priority(f, None, limit, true).await,
            SortOrder::LastCustomerAsc => Some((C::LastCustomerMessageAt, true)),
            SortOrder::LastCustomerDesc => Some((C::LastCustomerMessageAt, false)),
            SortOrder::SlaDueAsc => Some((C::SlaDueAt, true)),
            SortOrder::SlaDueDesc => Some((C::SlaDueAt, false)),
            _ => None,
        };
        if let Some((col, asc)) = key {
            // The tickets that have the key, walking its index in order; then, if the page is
            // not full, those without it in the inbox's order.
            let mut rows = keyed(f, col, asc, limit, sqlite).all(&self.read).await?;
            let left = limit - rows.len() as u64;
            if left > 0 {
                rows.extend(self.by_priority(f, Some(col), left, false).await?);
            }
            return Ok(rows);
        }
        let mut q = ticket::Entity::find().filter(condition(f, f.walk_order && sqlite));
        let (key_col, asc) = match f.sort {
            SortOrder::CreatedDesc => (None, false),
            SortOrder::UpdatedAsc => (Some(C::UpdatedAt), true),
            SortOrder::UpdatedDesc => (Some(C::UpdatedAt), false),
            _ => (None, true),
        };
        if let Some((key, id)) = f.after {
            q = match (key_col, key) {
                (Some(col), Some(k)) => {
                    let cond = if asc {
                        Condition::any()
                            .add(col.gt(k))
                            .add(Condition::all().add(col.eq(k)).add(C::Id.gt(id)))
                    } else {
                        Condition::any()
                            .add(col.lt(k))
                            .add(Condition::all().add(col.eq(k)).add(C::Id.lt(id)))
                    };
                    q.filter(cond)
                }
                _ => q.filter(if asc { C::Id.gt(id) } else { C::Id.lt(id) }),
            };
        }
        if let Some(col) = key_col {
            q = if asc {
                q.order_by_asc(col)
            } else {
                q.order_by_desc(col)
            };
        }
        q = if asc {
            q.order_by_asc(C::Id)
        } else {
            q.order_by_desc(C::Id)
        };
        Ok(q.limit(limit).all(&self.read).await?)
    }

    /// One priority at a time, each in age order: every step walks the
    /// (priority, created_at, id) index and stops at the page's size, so a page costs the
    /// same with 100 tickets or 100,000. `without`: only tickets where that column is null.
    async fn by_priority(
        &self,
        f: &TicketFilter,
        without: Option<ticket::Column>,
        limit: u64,
        desc: bool,
    ) -> Result<Vec<TicketRow>, StoreError> {
        use ticket::Column as C;
        let order = if desc { Order::Desc } else { Order::Asc };
        let mut priorities = PRIORITY_ORDER;
        if desc {
            priorities.reverse();
        }
        let mut rows = Vec::new();
        for p in priorities {
            if !f.priorities.is_empty() && !f.priorities.iter().any(|x| x == p) {
                continue;
            }
            let left = limit - rows.len() as u64;
            if left == 0 {
                break;
            }
            let mut q = filtered(f).filter(C::Priority.eq(p));
            if let Some(col) = without {
                q = q.filter(col.is_null());
            }
            rows.extend(
                q.order_by(C::CreatedAt, order.clone())
                    .order_by(C::Id, order.clone())
                    .limit(left)
                    .all(&self.read)
                    .await?,
            );
        }
        Ok(rows)
    }

    /// How many tickets match each filter, counting no further than `cap` + 1: an inbox
    /// says "999+" rather than reading 50,000 rows to say 49,812. Each count walks an
    /// index and stops at the cap, so it costs the same at any size.
    pub async fn count_tickets_capped(
        &self,
        filters: &[TicketFilter],
        cap: u64,
    ) -> Result<Vec<u64>, StoreError> {
        use sea_orm::sea_query::{Alias, Query};
        let count = |f: &TicketFilter| {
            let inner = sea_orm::QueryTrait::into_query(
                filtered(f)
                    .select_only()
                    .column(ticket::Column::Id)
                    .limit(cap + 1),
            );
            let q = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from_subquery(inner, Alias::new("capped"))
                .to_owned();
            let stmt = self.read.get_database_backend().build(&q);
            async move {
                let n: i64 = match self.read.query_one_raw(stmt).await? {
                    Some(row) => row.try_get("", "n")?,
                    None => 0,
                };
                Ok::<_, StoreError>(u64::try_from(n).unwrap_or(0))
            }
        };
        // Side by side on the read pool: the page waits for the slowest, not for the sum.
        futures_util::future::try_join_all(filters.iter().map(count)).await
    }

    pub async fn messages(
        &self,
        ticket_id: i64,
        include_internal: bool,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.messages_after(ticket_id, 0, include_internal).await
    }

    /// The ticket's messages after sequence number `after_seq`: what a reconnecting chat
    /// client missed, without reading the whole conversation.
    pub async fn messages_after(
        &self,
        ticket_id: i64,
        after_seq: i64,
        include_internal: bool,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let mut q = message::Entity::find()
            .filter(message::Column::TicketId.eq(ticket_id))
            .filter(message::Column::Seq.gt(after_seq));
        if !include_internal {
            q = q.filter(message::Column::Internal.eq(false));
        }
        Ok(q.order_by_asc(message::Column::Id).all(&self.read).await?)
    }

    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>, StoreError> {
        Ok(message::Entity::find_by_id(id).one(&self.read).await?)
    }

    pub async fn ticket_attachments(
        &self,
        ticket_id: i64,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        Ok(attachment::Entity::find()
            .filter(attachment::Column::TicketId.eq(ticket_id))
            .order_by_asc(attachment::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn attachment(&self, id: i64) -> Result<Option<AttachmentRow>, StoreError> {
        Ok(attachment::Entity::find_by_id(id).one(&self.read).await?)
    }

    pub(crate) async fn attachment_sha_referenced(&self, sha: &str) -> Result<bool, StoreError> {
        Ok(attachment::Entity::find()
            .filter(attachment::Column::Sha256.eq(sha))
            .one(&self.read)
            .await?
            .is_some())
    }

    /// The ticket's events in chain order, as stored (possibly tampered with: verify them).
    pub async fn events(&self, ticket_id: i64) -> Result<Vec<EventRecord>, StoreError> {
        let rows = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(ticket_id))
            .order_by_asc(ticket_event::Column::Seq)
            .all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| {
                let data = serde_json::from_str(&r.data)
                    .map_err(|e| StoreError::Corrupt(format!("event {} payload: {e}", r.id)))?;
                Ok(EventRecord {
                    ticket_id: r.ticket_id,
                    seq: r.seq,
                    kind: r.kind,
                    actor: r.actor,
                    data,
                    created_at: r.created_at,
                    prev_hash: r.prev_hash,
                    hash: r.hash,
                })
            })
            .collect()
    }

    /// Raw SQL for tests and benchmarks that must reach under the API (e.g. to tamper).
    pub async fn execute_unprepared(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(self.db.execute_unprepared(sql).await?.rows_affected())
    }

    /// The PostgreSQL server's databases whose names start with `prefix` (none on SQLite): for
    /// test and benchmark housekeeping.
    pub async fn database_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        use sea_orm::{DatabaseBackend, Statement};
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT datname FROM pg_database",
            ))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "datname").ok())
            .filter(|n| n.starts_with(prefix))
            .collect())
    }
}

/// `n` new ids for `table`, taken before its rows are written so that rows which refer to
/// them (and hash them into the chain) can go first, and all in one round trip.
/// PostgreSQL: the column's sequence. SQLite: past the `AUTOINCREMENT` counter and the
/// largest id, free while the one writer holds the transaction.
async fn next_ids(tx: &DatabaseTransaction, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let backend = tx.get_database_backend();
    let count = i64::try_from(n).map_err(|_| StoreError::Unavailable("too many ids asked"))?;
    match backend {
        DbBackend::Postgres => {
            let rows = tx
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id \
                     FROM generate_series(1, $2)",
                    [table.into(), count.into()],
                ))
                .await?;
            let ids = rows
                .iter()
                .map(|r| r.try_get::<i64>("", "id"))
                .collect::<Result<Vec<_>, _>>()?;
            if ids.len() == n {
                Ok(ids)
            } else {
                Err(StoreError::Unavailable(
                    "fewer ids than asked were allocated",
                ))
            }
        }
        _ => {
            // `table` is one of this module's own names, never input.
            let sql = format!(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1 AS id"
            );
            let first: i64 = tx
                .query_one_raw(Statement::from_string(backend, sql))
                .await?
                .ok_or(StoreError::Unavailable("no id was allocated"))?
                .try_get("", "id")?;
            Ok((first..first + count).collect())
        }
    }
}

/// A new ticket's rows, built before any is written.
struct Draft {
    row: ticket::Model,
    tags: Vec<ticket_tag::ActiveModel>,
    /// With the input each was built from, for the rows that hang off it.
    messages: Vec<(MessageRow, NewMessage)>,
    events: Vec<ticket_event::ActiveModel>,
    clocks: Vec<crate::entities::sla_clock::ActiveModel>,
    job: Option<crate::entities::job::ActiveModel>,
}

/// Writes new tickets inside `tx`; the caller commits. Each table gets one multi-row insert
/// for the whole batch (in runs, see [`crate::chunked`]) instead of one statement per ticket:
/// ids are taken first, so messages, events and clocks can refer to them, and each ticket row
/// goes in last and whole, with its chain head and due time (updating it afterwards wrote a
/// second and third version of the row and of each of its indexes on PostgreSQL).
pub(crate) async fn insert_tickets(
    tx: &DatabaseTransaction,
    tickets: &[&NewTicket],
) -> Result<Vec<CreatedTicket>, StoreError> {
    let at = now();
    let customers = customer_ids_in(tx, tickets).await?;
    let ids = next_ids(tx, "tickets", tickets.len()).await?;
    let mut drafts = Vec::with_capacity(tickets.len());
    let mut inputs = Vec::with_capacity(tickets.len());
    for ((t, customer_id), id) in tickets.iter().zip(customers).zip(ids) {
        let row = new_row(t, id, customer_id, at);
        let mut first = t.first_message.clone();
        if first.author_kind == "customer" && first.author_id.is_none() {
            first.author_id = Some(customer_id);
        }
        let built = t
            .after_insert
            .as_ref()
            .map(|f| (f.0)(&row))
            .unwrap_or_default();
        let mut messages = vec![first];
        messages.extend(t.notices.iter().cloned());
        messages.extend(built);
        inputs.push(messages);
        drafts.push(row);
    }
    let mut message_ids = next_ids(tx, "messages", inputs.iter().map(Vec::len).sum())
        .await?
        .into_iter();
    let mut batch = Vec::with_capacity(tickets.len());
    for ((t, mut row), messages) in tickets.iter().zip(drafts).zip(inputs) {
        let mut events = first_events(t, row.customer_id);
        let mut written = Vec::with_capacity(messages.len());
        for (i, m) in messages.into_iter().enumerate() {
            let id = message_ids
                .next()
                .ok_or(StoreError::Unavailable("fewer message ids than messages"))?;
            let seq = 1 + i64::try_from(i).unwrap_or(i64::MAX - 1);
            message_events(id, &m, &mut events);
            written.push((message_model(id, row.id, seq, &m, at), m));
        }
        let (events, count, head) = sealed_events(row.id, 0, GENESIS_HASH, &t.actor, &events, at);
        row.event_count = count;
        row.head_hash = head;
        let (clocks, job) = match &t.sla {
            Some(start) => {
                let clocks = crate::sla::first_clocks_in(tx, &row, start).await?;
                let (rows, job, due) = crate::sla::started_clocks(row.id, &clocks);
                row.sla_due_at = due;
                (rows, job)
            }
            None => (Vec::new(), None),
        };
        batch.push(Draft {
            tags: tag_rows(row.id, &t.tags),
            row,
            messages: written,
            events,
            clocks,
            job,
        });
    }
    write_drafts(tx, batch).await
}

/// Writes what [`insert_tickets`] built, table by table, and hands back each ticket as stored.
async fn write_drafts(
    tx: &DatabaseTransaction,
    batch: Vec<Draft>,
) -> Result<Vec<CreatedTicket>, StoreError> {
    let mut tags = Vec::new();
    let mut messages = Vec::new();
    let mut events = Vec::new();
    let mut clocks = Vec::new();
    let mut jobs = Vec::new();
    let mut rows = Vec::with_capacity(batch.len());
    let mut written = Vec::with_capacity(batch.len());
    for d in batch {
        tags.extend(d.tags);
        messages.extend(
            d.messages
                .iter()
                .map(|(m, _)| message::ActiveModel::from(m.clone()).reset_all()),
        );
        events.extend(d.events);
        clocks.extend(d.clocks);
        jobs.extend(d.job);
        rows.push(ticket::ActiveModel::from(d.row.clone()).reset_all());
        written.push((d.row, d.messages));
    }
    insert_runs(tx, tags).await?;
    insert_runs(tx, messages).await?;
    let mut created = Vec::with_capacity(written.len());
    for (ticket, messages) in written {
        let mut messages = messages.into_iter();
        let (message, input) = messages.next().ok_or(StoreError::Unavailable(
            "a ticket without its first message",
        ))?;
        // The API answers with the first message's attachments; a notice's are only stored.
        let attachments =
            message_extras_in(tx, ticket.id, message.id, &input, message.created_at).await?;
        let mut notices = Vec::with_capacity(messages.len());
        for (m, input) in messages {
            message_extras_in(tx, ticket.id, m.id, &input, m.created_at).await?;
            notices.push(m);
        }
        created.push(CreatedTicket {
            ticket,
            message,
            attachments,
            notices,
        });
    }
    insert_runs(tx, events).await?;
    insert_runs(tx, clocks).await?;
    crate::sla::insert_jobs_in(tx, jobs).await?;
    insert_runs(tx, rows).await?;
    Ok(created)
}

/// Inserts rows of one table in runs of the sizes [`crate::chunked`] gives.
async fn insert_runs<A>(tx: &DatabaseTransaction, rows: Vec<A>) -> Result<(), StoreError>
where
    A: ActiveModelTrait + Send,
{
    for run in crate::chunked(rows) {
        A::Entity::insert_many(run)
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

/// The customer of each new ticket: those named by one known identity from a single read for
/// the batch, the others (new customers, several identities) as [`upsert_customer_id_in`]
/// finds or creates them, in order, so a customer created for one ticket serves the next.
async fn customer_ids_in(
    tx: &DatabaseTransaction,
    tickets: &[&NewTicket],
) -> Result<Vec<i64>, StoreError> {
    let single: Vec<&Identity> = tickets
        .iter()
        .filter_map(|t| match &t.customer {
            TicketCustomer::Identities { identities, .. } if identities.len() == 1 => {
                identities.first()
            }
            _ => None,
        })
        .collect();
    let known = crate::customers::owners_in(tx, &single).await?;
    let mut ids = Vec::with_capacity(tickets.len());
    for t in tickets {
        ids.push(match &t.customer {
            TicketCustomer::Id(id) => *id,
            TicketCustomer::Identities {
                identities,
                display_name,
                language,
            } => {
                let owner = match identities.as_slice() {
                    [one] => known.get(&(one.kind().to_owned(), one.value())).copied(),
                    _ => None,
                };
                match owner {
                    Some(id) => id,
                    None => upsert_customer_id_in(tx, identities, display_name, language).await?,
                }
            }
        });
    }
    Ok(ids)
}

/// A new ticket's row before its chain and clocks: version 1, no events yet.
fn new_row(t: &NewTicket, id: i64, customer_id: i64, at: DateTime<Utc>) -> ticket::Model {
    let c = &t.crypto;
    ticket::Model {
        id,
        subject: t.subject.clone(),
        state: t.state.clone(),
        priority: t.priority.clone(),
        channel: t.channel.clone(),
        language: t.language.clone(),
        category: t.category.clone(),
        customer_id,
        group_id: t.group_id,
        assignee_id: t.assignee_id,
        tags: tags_json(&t.tags),
        network: c.network.clone(),
        asset: c.asset.clone(),
        tx_hash: c.tx_hash.clone(),
        from_address: c.from_address.clone(),
        to_address: c.to_address.clone(),
        amount: c.amount.clone(),
        memo: c.memo.clone(),
        occurred_at: c.occurred_at.map(xdesk_domain::event::storage_time),
        version: 1,
        event_count: 0,
        head_hash: GENESIS_HASH.to_owned(),
        created_at: at,
        updated_at: at,
        contact_email: None,
        intent: t.triage.as_ref().map(|r| r.intent.clone()),
        merged_into: None,
        last_customer_message_at: (t.first_message.author_kind == "customer").then_some(at),
        sla_due_at: None,
    }
}

/// The events that open a ticket's chain, before its messages'.
fn first_events(t: &NewTicket, customer_id: i64) -> Vec<EventKind> {
    let mut events = vec![EventKind::Created {
        subject: t.subject.clone(),
        state: t.state.clone(),
        priority: t.priority.clone(),
        channel: t.channel.clone(),
        customer_id,
    }];
    if let Some(r) = &t.triage {
        events.push(EventKind::Triaged {
            language: r.language.clone(),
            intent: r.intent.clone(),
            confidence_pct: r.confidence_pct,
            urgent_reason: r.urgent_reason.clone(),
        });
    }
    events
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{store, ticket};

    /// The inbox order: urgent first, then high, normal, low; oldest first within each; and the
    /// counts of several views in one query agree with listing each.
    #[tokio::test]
    async fn the_inbox_reads_urgent_first_then_oldest_and_counts_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let plan = [
            ("a", "normal", "new", None),
            ("b", "urgent", "open", None),
            ("c", "low", "new", Some(1)),
            ("d", "urgent", "new", Some(1)),
            ("e", "high", "pending_customer", None),
            ("f", "normal", "solved", None),
            ("g", "high", "new", None),
        ];
        for (subject, priority, state, group) in plan {
            let mut t = ticket(subject, &format!("{subject}@example.com"), &[]);
            t.priority = priority.into();
            t.state = state.into();
            t.group_id = group;
            s.create_ticket(t).await.unwrap();
        }
        let active: Vec<String> = ["new", "open", "pending_internal"]
            .map(String::from)
            .to_vec();
        let f = TicketFilter {
            states: active.clone(),
            sort: SortOrder::PriorityAge,
            limit: 50,
            ..TicketFilter::new(Visibility::All)
        };
        let order: Vec<String> = s
            .list_tickets(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect();
        assert_eq!(order, ["b", "d", "g", "a", "c"]);
        // The page size holds across priorities.
        let two = TicketFilter {
            limit: 2,
            ..f.clone()
        };
        assert_eq!(s.list_tickets(&two).await.unwrap().len(), 2);
        let four = TicketFilter {
            limit: 4,
            ..f.clone()
        };
        let subjects: Vec<_> = s
            .list_tickets(&four)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.subject)
            .collect();
        assert_eq!(subjects, ["b", "d", "g", "a"]);

        let buckets = [
            TicketFilter {
                states: active.clone(),
                ..TicketFilter::new(Visibility::All)
            },
            TicketFilter {
                states: active.clone(),
                priorities: vec!["urgent".into()],
                ..TicketFilter::new(Visibility::All)
            },
            TicketFilter {
                states: vec!["pending_customer".into()],
                ..TicketFilter::new(Visibility::All)
            },
            TicketFilter {
                states: active.clone(),
                group_id: Some(1),
                ..TicketFilter::new(Visibility::All)
            },
            TicketFilter {
                states: active.clone(),
                assignee_id: Some(None),
                ..TicketFilter::new(Visibility::All)
            },
            TicketFilter {
                states: vec!["solved".into()],
                ..TicketFilter::new(Visibility::All)
            },
        ];
        let counts = s.count_tickets_capped(&buckets, 100).await.unwrap();
        assert_eq!(counts, [5, 2, 1, 2, 5, 1]);
        // Past the cap a count stops at cap + 1: "3+" for five.
        let counts = s.count_tickets_capped(&buckets, 3).await.unwrap();
        assert_eq!(counts, [4, 2, 1, 2, 4, 1]);

        // Supervisors also see what no group holds; agents do not; "Unrouted" shows only that.
        let supervisor = Visibility::Restricted {
            group_ids: vec![2],
            agent_ids: vec![],
            unrouted: true,
        };
        let agent = Visibility::Restricted {
            group_ids: vec![2],
            agent_ids: vec![],
            unrouted: false,
        };
        assert!(supervisor.allows(None, None, None) && !agent.allows(None, None, None));
        assert!(!supervisor.allows(Some(1), None, None));
        let buckets = [
            TicketFilter {
                states: active.clone(),
                ..TicketFilter::new(supervisor)
            },
            TicketFilter {
                states: active.clone(),
                ..TicketFilter::new(agent)
            },
            TicketFilter {
                states: active.clone(),
                unrouted: true,
                ..TicketFilter::new(Visibility::All)
            },
        ];
        assert_eq!(
            s.count_tickets_capped(&buckets, 100).await.unwrap(),
            [3, 0, 3]
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod sort_tests {
    use super::*;
    use crate::testing::store;
    use sea_orm::{DatabaseBackend, QueryTrait, Statement};

    /// SQLite's plans for the inbox's column sorts: each view's page walks the sort column's
    /// own index in order (no temporary B-tree to sort a whole view per page load).
    #[tokio::test]
    async fn column_sorts_walk_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        s.execute_unprepared(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO tickets (subject, state, priority, channel, language, customer_id, \
             group_id, assignee_id, tags, version, event_count, head_hash, created_at, \
             updated_at, last_customer_message_at, sla_due_at) SELECT 'T' || i, \
             CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'open' WHEN 2 THEN 'solved' ELSE 'closed' END, \
             CASE i % 5 WHEN 0 THEN 'urgent' WHEN 1 THEN 'high' ELSE 'normal' END, 'api', 'en', \
             i % 100, 1 + i % 3, CASE WHEN i % 3 = 0 THEN 7 END, '[]', 1, 0, '', \
             '2026-12-01 00:00:00+00:00', '2026-12-01 00:00:00+00:00', \
             '2026-12-01 00:00:' || printf('%02d', i % 60) || '+00:00', \
             CASE WHEN i % 4 < 2 THEN '2026-12-02 00:00:' || printf('%02d', i % 60) || '+00:00' END \
             FROM n",
        )
        .await
        .unwrap();
        let active: Vec<String> = ["new", "open", "pending_internal"]
            .map(String::from)
            .to_vec();
        let restricted = Visibility::Restricted {
            group_ids: vec![1, 2],
            agent_ids: vec![7],
            unrouted: false,
        };
        let view = |edit: &dyn Fn(&mut TicketFilter)| {
            let mut f = TicketFilter {
                states: active.clone(),
                ..TicketFilter::new(restricted.clone())
            };
            edit(&mut f);
            f
        };
        let views = [
            ("all", view(&|_| {})),
            ("mine", view(&|f| f.assignee_id = Some(Some(7)))),
            ("unassigned", view(&|f| f.assignee_id = Some(None))),
            ("group", view(&|f| f.group_id = Some(1))),
            ("urgent", view(&|f| f.priorities = vec!["urgent".into()])),
        ];
        for (name, f) in &views {
            for (col, index) in [
                (ticket::Column::SlaDueAt, "ix_tickets_sla_due"),
                (
                    ticket::Column::LastCustomerMessageAt,
                    "ix_tickets_last_customer",
                ),
            ] {
                for asc in [true, false] {
                    let q = keyed(f, col, asc, 100, true).build(DatabaseBackend::Sqlite);
                    let explain = Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        format!("EXPLAIN QUERY PLAN {}", q.sql),
                        q.values.map(|v| v.0).unwrap_or_default(),
                    );
                    let plan: Vec<String> = s
                        .read
                        .query_all_raw(explain)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.try_get::<String>("", "detail").unwrap())
                        .collect();
                    assert!(
                        plan.iter().any(|p| p.contains(index))
                            && !plan.iter().any(|p| p.contains("TEMP B-TREE")),
                        "{name} by {index} (asc {asc}): {plan:?}"
                    );
                    // And the page holds what the filter asks, in order.
                    let mut sorted = f.clone();
                    sorted.limit = 100;
                    sorted.sort = match (col, asc) {
                        (ticket::Column::SlaDueAt, true) => SortOrder::SlaDueAsc,
                        (ticket::Column::SlaDueAt, false) => SortOrder::SlaDueDesc,
                        (_, true) => SortOrder::LastCustomerAsc,
                        (_, false) => SortOrder::LastCustomerDesc,
                    };
                    let rows = s.list_tickets(&sorted).await.unwrap();
                    assert!(!rows.is_empty(), "{name}");
                    let keys: Vec<_> = rows
                        .iter()
                        .map(|t| match col {
                            ticket::Column::SlaDueAt => t.sla_due_at,
                            _ => t.last_customer_message_at,
                        })
                        .collect();
                    let with: Vec<_> = keys.iter().take_while(|k| k.is_some()).collect();
                    let mut want = with.clone();
                    want.sort();
                    if !asc {
                        want.reverse();
                    }
                    assert_eq!(with, want, "{name}");
                    assert!(keys[with.len()..].iter().all(Option::is_none), "{name}");
                }
            }
        }
    }
}

/// A ticket with what search indexes of it: its messages' text and its customer.
#[derive(Debug, Clone)]
pub struct TicketSearchRow {
    pub ticket: TicketRow,
    pub messages: Vec<String>,
    pub customer_name: String,
    pub identities: Vec<String>,
}

impl Store {
    /// The tickets changed after event `after` (the change feed), at most `limit` events'
    /// worth, and the last event id read: where to continue.
    pub async fn ticket_feed_after(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<(Vec<i64>, i64), StoreError> {
        use sea_orm::QuerySelect;
        let rows: Vec<(i64, i64)> = ticket_event::Entity::find()
            .select_only()
            .column(ticket_event::Column::Id)
            .column(ticket_event::Column::TicketId)
            .filter(ticket_event::Column::Id.gt(after))
            .order_by_asc(ticket_event::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.read)
            .await?;
        let last = rows.last().map_or(after, |r| r.0);
        let mut ids: Vec<i64> = rows.into_iter().map(|r| r.1).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok((ids, last))
    }

    /// The change feed's last position: the newest ticket event.
    pub async fn ticket_feed_head(&self) -> Result<i64, StoreError> {
        use sea_orm::QuerySelect;
        let head: Option<Option<i64>> = ticket_event::Entity::find()
            .select_only()
            .column_as(ticket_event::Column::Id.max(), "head")
            .into_tuple()
            .one(&self.read)
            .await?;
        Ok(head.flatten().unwrap_or(0))
    }

    /// The tickets `ids` (those that exist), in no particular order.
    pub async fn tickets_by_id(&self, ids: &[i64]) -> Result<Vec<TicketRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(crate::id_list(ids.iter().copied())))
            .all(&self.read)
            .await?)
    }

    /// The tickets `ids` with their messages and customers, for indexing.
    pub async fn ticket_search_rows(
        &self,
        ids: &[i64],
    ) -> Result<Vec<TicketSearchRow>, StoreError> {
        use crate::entities::{customer, customer_identity};
        use sea_orm::QuerySelect;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tickets = self.tickets_by_id(ids).await?;
        let bodies: Vec<(i64, String)> = message::Entity::find()
            .select_only()
            .column(message::Column::TicketId)
            .column(message::Column::BodyText)
            .filter(message::Column::TicketId.is_in(crate::id_list(ids.iter().copied())))
            .order_by_asc(message::Column::Id)
            .into_tuple()
            .all(&self.read)
            .await?;
        let customer_ids = crate::id_list(tickets.iter().map(|t| t.customer_id));
        let customers = customer::Entity::find()
            .filter(customer::Column::Id.is_in(customer_ids.clone()))
            .all(&self.read)
            .await?;
        let identities = customer_identity::Entity::find()
            .filter(customer_identity::Column::CustomerId.is_in(customer_ids))
            .all(&self.read)
            .await?;
        // Grouped once: a catch-up batch holds thousands of tickets.
        let mut bodies_of: std::collections::HashMap<i64, Vec<String>> =
            std::collections::HashMap::new();
        for (id, body) in bodies {
            bodies_of.entry(id).or_default().push(body);
        }
        let names: std::collections::HashMap<i64, String> = customers
            .into_iter()
            .map(|c| (c.id, c.display_name))
            .collect();
        let mut identities_of: std::collections::HashMap<i64, Vec<String>> =
            std::collections::HashMap::new();
        for i in identities {
            identities_of
                .entry(i.customer_id)
                .or_default()
                .push(i.value);
        }
        Ok(tickets
            .into_iter()
            .map(|t| TicketSearchRow {
                messages: bodies_of.remove(&t.id).unwrap_or_default(),
                customer_name: names.get(&t.customer_id).cloned().unwrap_or_default(),
                identities: identities_of
                    .get(&t.customer_id)
                    .cloned()
                    .unwrap_or_default(),
                ticket: t,
            })
            .collect())
    }
}

impl Store {
    /// An agent corrected a ticket's intent: kept, with the text the model read, to retrain.
    pub async fn add_triage_correction(
        &self,
        ticket_id: i64,
        language: &str,
        text: &str,
        intent: &str,
        agent_id: Option<i64>,
    ) -> Result<(), StoreError> {
        triage_correction::ActiveModel {
            ticket_id: Set(ticket_id),
            language: Set(language.to_owned()),
            text: Set(text.to_owned()),
            intent: Set(intent.to_owned()),
            agent_id: Set(agent_id),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Every correction, oldest first: (language, text, intent).
    pub async fn triage_corrections(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(triage_correction::Entity::find()
            .order_by_asc(triage_correction::Column::Id)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|c| (c.language, c.text, c.intent))
            .collect())
    }
}
