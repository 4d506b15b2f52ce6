//! Incidents, components and the deliveries of incident updates.
//!
//! Publishing an update writes the update, the incident's new status, the components' new
//! states (and the spells the status page draws from) and one delivery row per linked ticket, in
//! one transaction: one `INSERT … SELECT`, so ten thousand linked tickets are queued at once.
//! Senders on any node then claim due deliveries with a lease, as the mail outbox does, and
//! each delivery is marked done in the transaction that posts its message on the ticket
//! ([`mark_delivered`]): a sender that crashed, or whose lease another node took over, cannot
//! post the same update twice.

use crate::entities::{
    component_spell, incident, incident_component, incident_delivery, incident_ticket,
    incident_update, incident_view, status_component, status_subscriber,
};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TransactionTrait, Value,
};
use std::collections::BTreeMap;
use xdesk_domain::incident::{ComponentStatus, IncidentStatus};

pub type ComponentRow = status_component::Model;
pub type IncidentRow = incident::Model;
pub type IncidentComponentRow = incident_component::Model;
pub type IncidentUpdateRow = incident_update::Model;
pub type IncidentTicketRow = incident_ticket::Model;
pub type DeliveryRow = incident_delivery::Model;
pub type SpellRow = component_spell::Model;
pub type SubscriberRow = status_subscriber::Model;

/// A sender's hold on a delivery: its row and the attempt count its claim set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryClaim {
    pub id: i64,
    pub attempts: i32,
}

/// A component to create or to change (all fields are written).
#[derive(Debug, Clone)]
pub struct ComponentInput {
    pub parent_id: Option<i64>,
    pub name: String,
    pub name_zh: String,
    pub description: String,
    pub position: i32,
    pub network: Option<String>,
    pub intents: Vec<String>,
}

/// A public update or an internal note to write.
#[derive(Debug, Clone)]
pub struct NewUpdate {
    pub status: String,
    pub body: String,
    pub body_zh: String,
    pub internal: bool,
    /// A final update that also solves the linked tickets.
    pub solves: bool,
    pub author_id: Option<i64>,
    /// What the incident now does to each component (replacing the previous set), or `None`
    /// to leave them.
    pub components: Option<Vec<(i64, String)>>,
    /// When the next update is promised, if the update says.
    pub next_update_at: Option<Option<DateTime<Utc>>>,
    /// The status the writer saw: the update fails if another moved the incident on.
    pub expected_status: Option<String>,
}

/// An incident to create with its first public update.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub kind: String,
    pub title: String,
    pub title_zh: String,
    pub impact: String,
    pub rule: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub source_ticket_id: Option<i64>,
    /// Tickets created from this time on are examined by the rule.
    pub rule_since: Option<DateTime<Utc>>,
    pub first: NewUpdate,
}

/// What a published update left behind.
#[derive(Debug, Clone)]
pub struct Published {
    pub incident: IncidentRow,
    pub update: IncidentUpdateRow,
    /// Deliveries queued for it.
    pub queued: u64,
}

/// A ticket as a match rule reads it.
#[derive(Debug, Clone)]
pub struct RuleTicket {
    pub id: i64,
    pub intent: Option<String>,
    pub network: Option<String>,
    pub asset: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// Delivery counts of an incident by state, with mail outcomes folded in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub bounced: u64,
}

impl std::ops::AddAssign<&DeliveryCounts> for DeliveryCounts {
    fn add_assign(&mut self, o: &DeliveryCounts) {
        self.queued += o.queued;
        self.sent += o.sent;
        self.failed += o.failed;
        self.bounced += o.bounced;
    }
}

/// One linked ticket's delivery state for the latest update it was sent.
#[derive(Debug, Clone)]
pub struct LinkedTicket {
    pub ticket_id: i64,
    pub subject: String,
    pub state: String,
    pub channel: String,
    pub language: String,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
    /// `queued`, `sent`, `failed` or `bounced` for the latest delivery, if any.
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
    /// Who may see the ticket: its group, assignee and customer.
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub customer_id: i64,
}

fn sql(backend: DatabaseBackend, postgres: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => postgres.to_owned(),
        _ => postgres.replace('$', "?"),
    }
}

const OPEN_INCIDENT: [&str; 6] = [
    "investigating",
    "identified",
    "monitoring",
    "scheduled",
    "in_progress",
    "verifying",
];

/// Bumps the revision the static export follows.
async fn bump_revision(tx: &DatabaseTransaction) -> Result<(), StoreError> {
    tx.execute_unprepared("UPDATE status_revision SET revision = revision + 1 WHERE id = 1")
        .await?;
    Ok(())
}

/// Marks a claimed delivery as posted by message `message_id`; fails (rolling the posting back)
/// when the claim is no longer the holder's.
pub(crate) async fn mark_delivered(
    tx: &DatabaseTransaction,
    claim: &DeliveryClaim,
    message_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let r = incident_delivery::Entity::update_many()
        .col_expr(incident_delivery::Column::State, Expr::value("sent"))
        .col_expr(
            incident_delivery::Column::MessageId,
            Expr::value(message_id),
        )
        .col_expr(
            incident_delivery::Column::DeliveredAt,
            Expr::value(Some(at)),
        )
        .col_expr(
            incident_delivery::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(incident_delivery::Column::Id.eq(claim.id))
        .filter(incident_delivery::Column::State.eq("sending"))
        .filter(incident_delivery::Column::Attempts.eq(claim.attempts))
        .exec(tx)
        .await?;
    if r.rows_affected == 0 {
        return Err(StoreError::Conflict(
            "the delivery was taken over by another sender".into(),
        ));
    }
    Ok(())
}

/// Makes each component's state the worst that its open incidents give it (operational when
/// none), and keeps its spells in step, for the components in `touched`.
async fn settle_components(
    tx: &DatabaseTransaction,
    touched: &[i64],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if touched.is_empty() {
        return Ok(());
    }
    let open: Vec<i64> = incident::Entity::find()
        .select_only()
        .column(incident::Column::Id)
        .filter(incident::Column::Status.is_in(OPEN_INCIDENT))
        .filter(
            // A maintenance that has not started does nothing to its components yet.
            incident::Column::Status.ne("scheduled"),
        )
        .into_tuple()
        .all(tx)
        .await?;
    let effects = incident_component::Entity::find()
        .filter(incident_component::Column::ComponentId.is_in(touched.to_vec()))
        .filter(incident_component::Column::IncidentId.is_in(open))
        .all(tx)
        .await?;
    for id in touched {
        let status = effects
            .iter()
            .filter(|e| e.component_id == *id)
            .filter_map(|e| e.status.parse::<ComponentStatus>().ok())
            .fold(ComponentStatus::Operational, ComponentStatus::worst);
        set_component_status_in(tx, *id, status, at).await?;
    }
    Ok(())
}

async fn set_component_status_in(
    tx: &DatabaseTransaction,
    id: i64,
    status: ComponentStatus,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(c) = status_component::Entity::find_by_id(id).one(tx).await? else {
        return Ok(false);
    };
    if c.status == status.as_str() {
        return Ok(false);
    }
    status_component::Entity::update_many()
        .col_expr(
            status_component::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(status_component::Column::UpdatedAt, Expr::value(at))
        .filter(status_component::Column::Id.eq(id))
        .exec(tx)
        .await?;
    component_spell::Entity::update_many()
        .col_expr(component_spell::Column::EndedAt, Expr::value(Some(at)))
        .filter(component_spell::Column::ComponentId.eq(id))
        .filter(component_spell::Column::EndedAt.is_null())
        .exec(tx)
        .await?;
    if status != ComponentStatus::Operational {
        component_spell::ActiveModel {
            component_id: Set(id),
            status: Set(status.as_str().to_owned()),
            started_at: Set(at),
            ended_at: Set(None),
            ..Default::default()
        }
        .insert(tx)
        .await?;
    }
    Ok(true)
}

fn components_json(rows: &[IncidentComponentRow]) -> String {
    let map: BTreeMap<String, &str> = rows
        .iter()
        .map(|r| (r.component_id.to_string(), r.status.as_str()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// Writes an update inside `tx`: the incident's status and timestamps, its components, the
/// update row, and (for a public update) a delivery per linked ticket.
async fn publish_in(
    tx: &DatabaseTransaction,
    inc: IncidentRow,
    u: &NewUpdate,
    at: DateTime<Utc>,
) -> Result<Published, StoreError> {
    let status: IncidentStatus = u
        .status
        .parse()
        .map_err(|e: xdesk_domain::FieldError| StoreError::Conflict(e.reason))?;
    let mut upd = incident::Entity::update_many()
        .col_expr(incident::Column::Status, Expr::value(u.status.clone()))
        .col_expr(incident::Column::UpdatedAt, Expr::value(at))
        .filter(incident::Column::Id.eq(inc.id))
        .filter(incident::Column::Status.eq(inc.status.clone()));
    if status.is_final() {
        upd = upd.col_expr(incident::Column::ResolvedAt, Expr::value(Some(at)));
    }
    if let Some(next) = u.next_update_at {
        upd = upd.col_expr(incident::Column::NextUpdateAt, Expr::value(next));
    } else if status.is_final() {
        upd = upd.col_expr(
            incident::Column::NextUpdateAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    }
    if upd.exec(tx).await?.rows_affected == 0 {
        return Err(StoreError::StaleVersion("incident"));
    }
    let before = incident_component::Entity::find()
        .filter(incident_component::Column::IncidentId.eq(inc.id))
        .all(tx)
        .await?;
    let mut touched: Vec<i64> = before.iter().map(|r| r.component_id).collect();
    if let Some(list) = &u.components {
        incident_component::Entity::delete_many()
            .filter(incident_component::Column::IncidentId.eq(inc.id))
            .exec(tx)
            .await?;
        for (cid, s) in list {
            incident_component::ActiveModel {
                incident_id: Set(inc.id),
                component_id: Set(*cid),
                status: Set(s.clone()),
            }
            .insert(tx)
            .await?;
            touched.push(*cid);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    settle_components(tx, &touched, at).await?;
    let now_components = incident_component::Entity::find()
        .filter(incident_component::Column::IncidentId.eq(inc.id))
        .all(tx)
        .await?;
    let update = incident_update::ActiveModel {
        incident_id: Set(inc.id),
        status: Set(u.status.clone()),
        body: Set(u.body.clone()),
        body_zh: Set(u.body_zh.clone()),
        internal: Set(u.internal),
        solves: Set(u.solves && status.is_final()),
        author_id: Set(u.author_id),
        components: Set(components_json(&now_components)),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    let mut queued = 0;
    if !u.internal {
        let kind = if status.is_final() { "final" } else { "update" };
        let stmt = Statement::from_sql_and_values(
            tx.get_database_backend(),
            sql(
                tx.get_database_backend(),
                "INSERT INTO incident_deliveries (incident_id, update_id, ticket_id, kind, state, \
                 attempts, next_attempt_at, created_at) SELECT $1, $2, ticket_id, $3, 'queued', 0, \
                 $4, $4 FROM incident_tickets WHERE incident_id = $1",
            ),
            [
                inc.id.into(),
                update.id.into(),
                kind.into(),
                Value::from(at),
            ],
        );
        queued = tx.execute_raw(stmt).await?.rows_affected();
    }
    bump_revision(tx).await?;
    let incident = incident::Entity::find_by_id(inc.id)
        .one(tx)
        .await?
        .ok_or(StoreError::NotFound("incident"))?;
    Ok(Published {
        incident,
        update,
        queued,
    })
}

impl Store {
    pub async fn components(&self) -> Result<Vec<ComponentRow>, StoreError> {
        Ok(status_component::Entity::find()
            .order_by_asc(status_component::Column::Position)
            .order_by_asc(status_component::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn component(&self, id: i64) -> Result<Option<ComponentRow>, StoreError> {
        Ok(status_component::Entity::find_by_id(id)
            .one(&self.read)
            .await?)
    }

    pub async fn insert_component(&self, c: &ComponentInput) -> Result<ComponentRow, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let row = status_component::ActiveModel {
            parent_id: Set(c.parent_id),
            name: Set(c.name.clone()),
            name_zh: Set(c.name_zh.clone()),
            description: Set(c.description.clone()),
            position: Set(c.position),
            status: Set(ComponentStatus::Operational.as_str().into()),
            network: Set(c.network.clone()),
            intents: Set(serde_json::to_string(&c.intents).unwrap_or_else(|_| "[]".into())),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        bump_revision(&tx).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn update_component(
        &self,
        id: i64,
        c: &ComponentInput,
    ) -> Result<ComponentRow, StoreError> {
        let tx = self.db.begin().await?;
        let r = status_component::Entity::update_many()
            .col_expr(status_component::Column::ParentId, Expr::value(c.parent_id))
            .col_expr(status_component::Column::Name, Expr::value(c.name.clone()))
            .col_expr(
                status_component::Column::NameZh,
                Expr::value(c.name_zh.clone()),
            )
            .col_expr(
                status_component::Column::Description,
                Expr::value(c.description.clone()),
            )
            .col_expr(status_component::Column::Position, Expr::value(c.position))
            .col_expr(
                status_component::Column::Network,
                Expr::value(c.network.clone()),
            )
            .col_expr(
                status_component::Column::Intents,
                Expr::value(serde_json::to_string(&c.intents).unwrap_or_else(|_| "[]".into())),
            )
            .col_expr(status_component::Column::UpdatedAt, Expr::value(now()))
            .filter(status_component::Column::Id.eq(id))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Err(StoreError::NotFound("component"));
        }
        bump_revision(&tx).await?;
        let row = status_component::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("component"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Sets a component's state by hand (no incident): it stays until changed again or an
    /// incident's update settles it.
    pub async fn set_component_status(
        &self,
        id: i64,
        status: ComponentStatus,
    ) -> Result<ComponentRow, StoreError> {
        let tx = self.db.begin().await?;
        set_component_status_in(&tx, id, status, now()).await?;
        bump_revision(&tx).await?;
        let row = status_component::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("component"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a component no sub-component hangs under and no incident names.
    pub async fn delete_component(&self, id: i64) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let children = status_component::Entity::find()
            .filter(status_component::Column::ParentId.eq(id))
            .count(&tx)
            .await?;
        let used = incident_component::Entity::find()
            .filter(incident_component::Column::ComponentId.eq(id))
            .count(&tx)
            .await?;
        if children > 0 || used > 0 {
            return Err(StoreError::Conflict(
                "the component has sub-components or incidents; it can be renamed, not deleted"
                    .into(),
            ));
        }
        let r = status_component::Entity::delete_by_id(id).exec(&tx).await?;
        if r.rows_affected == 0 {
            return Err(StoreError::NotFound("component"));
        }
        component_spell::Entity::delete_many()
            .filter(component_spell::Column::ComponentId.eq(id))
            .exec(&tx)
            .await?;
        bump_revision(&tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The spells that touched the days from `since` on, for the status page's bars.
    pub async fn component_spells(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<SpellRow>, StoreError> {
        Ok(component_spell::Entity::find()
            .filter(
                component_spell::Column::EndedAt
                    .is_null()
                    .or(component_spell::Column::EndedAt.gte(since)),
            )
            .order_by_asc(component_spell::Column::StartedAt)
            .all(&self.read)
            .await?)
    }

    /// Creates an incident, its components' effects and its first update, and links the
    /// ticket it was started from, in one transaction.
    pub async fn create_incident(&self, n: &NewIncident) -> Result<Published, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let scanned_to: i64 = match n.rule_since {
            Some(since) => {
                let stmt = Statement::from_sql_and_values(
                    tx.get_database_backend(),
                    sql(
                        tx.get_database_backend(),
                        "SELECT COALESCE(MAX(id), 0) AS m FROM tickets WHERE created_at < $1",
                    ),
                    [Value::from(since)],
                );
                tx.query_one_raw(stmt)
                    .await?
                    .and_then(|r| r.try_get::<i64>("", "m").ok())
                    .unwrap_or(0)
            }
            None => 0,
        };
        // Created in the status it will leave at once, so the first update moves it there.
        let inc = incident::ActiveModel {
            kind: Set(n.kind.clone()),
            title: Set(n.title.clone()),
            title_zh: Set(n.title_zh.clone()),
            status: Set("new".into()),
            impact: Set(n.impact.clone()),
            rule: Set(n.rule.clone()),
            rule_scanned_to: Set(scanned_to),
            next_update_at: Set(None),
            starts_at: Set(n.starts_at),
            ends_at: Set(n.ends_at),
            created_by: Set(n.created_by),
            source_ticket_id: Set(n.source_ticket_id),
            created_at: Set(at),
            updated_at: Set(at),
            resolved_at: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let mut published = publish_in(&tx, inc, &n.first, at).await?;
        if let Some(t) = n.source_ticket_id {
            published.queued += link_in(&tx, published.incident.id, &[t], "agent", n.created_by, at)
                .await?
                .len() as u64;
        }
        tx.commit().await?;
        Ok(published)
    }

    /// Publishes an update (or writes an internal note) on an incident that is still open.
    pub async fn publish_update(
        &self,
        incident_id: i64,
        u: &NewUpdate,
    ) -> Result<Published, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let inc = incident::Entity::find_by_id(incident_id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        if let Some(expected) = &u.expected_status
            && expected != &inc.status
        {
            return Err(StoreError::StaleVersion("incident"));
        }
        let published = publish_in(&tx, inc, u, at).await?;
        tx.commit().await?;
        Ok(published)
    }

    /// Changes an incident's title, impact, rule or window.
    pub async fn edit_incident(&self, row: &IncidentRow) -> Result<IncidentRow, StoreError> {
        let tx = self.db.begin().await?;
        let r = incident::Entity::update_many()
            .col_expr(incident::Column::Title, Expr::value(row.title.clone()))
            .col_expr(incident::Column::TitleZh, Expr::value(row.title_zh.clone()))
            .col_expr(incident::Column::Impact, Expr::value(row.impact.clone()))
            .col_expr(incident::Column::Rule, Expr::value(row.rule.clone()))
            .col_expr(incident::Column::StartsAt, Expr::value(row.starts_at))
            .col_expr(incident::Column::EndsAt, Expr::value(row.ends_at))
            .col_expr(
                incident::Column::NextUpdateAt,
                Expr::value(row.next_update_at),
            )
            .col_expr(incident::Column::UpdatedAt, Expr::value(now()))
            .filter(incident::Column::Id.eq(row.id))
            .filter(incident::Column::UpdatedAt.eq(row.updated_at))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Err(StoreError::StaleVersion("incident"));
        }
        bump_revision(&tx).await?;
        let out = incident::Entity::find_by_id(row.id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(incident::Entity::find_by_id(id).one(&self.read).await?)
    }

    /// Incidents newest first; `open` keeps those not yet resolved or completed.
    pub async fn incidents(&self, open: bool, limit: u64) -> Result<Vec<IncidentRow>, StoreError> {
        let mut q = incident::Entity::find();
        if open {
            q = q.filter(incident::Column::Status.is_in(OPEN_INCIDENT));
        }
        Ok(q.order_by_desc(incident::Column::Id)
            .limit(Ord::min(limit, 1000))
            .all(&self.read)
            .await?)
    }

    /// Incidents resolved since `since` or still open, for the status page's history.
    pub async fn incidents_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(incident::Entity::find()
            .filter(
                incident::Column::ResolvedAt
                    .is_null()
                    .or(incident::Column::ResolvedAt.gte(since)),
            )
            .order_by_desc(incident::Column::Id)
            .limit(1000)
            .all(&self.read)
            .await?)
    }

    pub async fn incident_updates(
        &self,
        incident_ids: &[i64],
    ) -> Result<Vec<IncidentUpdateRow>, StoreError> {
        Ok(incident_update::Entity::find()
            .filter(incident_update::Column::IncidentId.is_in(incident_ids.to_vec()))
            .order_by_asc(incident_update::Column::Id)
            .all(&self.read)
            .await?)
    }

    pub async fn incident_update(&self, id: i64) -> Result<Option<IncidentUpdateRow>, StoreError> {
        Ok(incident_update::Entity::find_by_id(id)
            .one(&self.read)
            .await?)
    }

    pub async fn incident_components(
        &self,
        incident_ids: &[i64],
    ) -> Result<Vec<IncidentComponentRow>, StoreError> {
        Ok(incident_component::Entity::find()
            .filter(incident_component::Column::IncidentId.is_in(incident_ids.to_vec()))
            .all(&self.read)
            .await?)
    }

    /// Links tickets to an open incident; each newly linked ticket gets the latest public
    /// update queued for it. Returns the tickets that were not linked before.
    pub async fn link_tickets(
        &self,
        incident_id: i64,
        ticket_ids: &[i64],
        linked_by: &str,
        agent_id: Option<i64>,
    ) -> Result<Vec<i64>, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let inc = incident::Entity::find_by_id(incident_id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        if !OPEN_INCIDENT.contains(&inc.status.as_str()) {
            return Err(StoreError::Conflict(
                "the incident is over; tickets can no longer be linked".into(),
            ));
        }
        let new = link_in(&tx, incident_id, ticket_ids, linked_by, agent_id, at).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Unlinks a ticket; deliveries not yet sent to it are dropped.
    pub async fn unlink_ticket(
        &self,
        incident_id: i64,
        ticket_id: i64,
    ) -> Result<bool, StoreError> {
        let tx = self.db.begin().await?;
        let r = incident_ticket::Entity::delete_many()
            .filter(incident_ticket::Column::IncidentId.eq(incident_id))
            .filter(incident_ticket::Column::TicketId.eq(ticket_id))
            .exec(&tx)
            .await?;
        incident_delivery::Entity::delete_many()
            .filter(incident_delivery::Column::IncidentId.eq(incident_id))
            .filter(incident_delivery::Column::TicketId.eq(ticket_id))
            .filter(incident_delivery::Column::State.eq("queued"))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected > 0)
    }

    pub async fn incident_link(
        &self,
        incident_id: i64,
        ticket_id: i64,
    ) -> Result<Option<IncidentTicketRow>, StoreError> {
        Ok(
            incident_ticket::Entity::find_by_id((incident_id, ticket_id))
                .one(&self.read)
                .await?,
        )
    }

    /// The open incidents a ticket is linked to.
    pub async fn ticket_incidents(&self, ticket_id: i64) -> Result<Vec<IncidentRow>, StoreError> {
        let ids: Vec<i64> = incident_ticket::Entity::find()
            .select_only()
            .column(incident_ticket::Column::IncidentId)
            .filter(incident_ticket::Column::TicketId.eq(ticket_id))
            .into_tuple()
            .all(&self.read)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(incident::Entity::find()
            .filter(incident::Column::Id.is_in(ids))
            .order_by_desc(incident::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// The tickets linked to an incident with the state of the latest delivery to each.
    pub async fn linked_tickets(
        &self,
        incident_id: i64,
        limit: u64,
    ) -> Result<Vec<LinkedTicket>, StoreError> {
        let b = self.read.get_database_backend();
        let stmt = Statement::from_sql_and_values(
            b,
            sql(
                b,
                "SELECT t.id AS ticket_id, t.subject, t.state, t.channel, t.language, \
                 t.group_id, t.assignee_id, t.customer_id, l.linked_by, l.linked_at, d.state AS d_state, d.last_error AS d_error, \
                 o.state AS o_state, o.last_error AS o_error \
                 FROM incident_tickets l JOIN tickets t ON t.id = l.ticket_id \
                 LEFT JOIN incident_deliveries d ON d.id = (SELECT MAX(d2.id) FROM \
                 incident_deliveries d2 WHERE d2.incident_id = l.incident_id AND \
                 d2.ticket_id = l.ticket_id) \
                 LEFT JOIN outbound_emails o ON o.message_id = d.message_id \
                 WHERE l.incident_id = $1 ORDER BY l.linked_at DESC, t.id DESC LIMIT $2",
            ),
            [incident_id.into(), (Ord::min(limit, 10_000) as i64).into()],
        );
        let rows = self.read.query_all_raw(stmt).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let d_state: Option<String> = r.try_get("", "d_state")?;
            let o_state: Option<String> = r.try_get("", "o_state")?;
            let o_error: Option<String> = r.try_get("", "o_error")?;
            let d_error: Option<String> = r.try_get("", "d_error")?;
            let (delivery, delivery_error) =
                delivery_state(d_state.as_deref(), o_state.as_deref(), o_error, d_error);
            out.push(LinkedTicket {
                ticket_id: r.try_get("", "ticket_id")?,
                subject: r.try_get("", "subject")?,
                state: r.try_get("", "state")?,
                channel: r.try_get("", "channel")?,
                language: r.try_get("", "language")?,
                linked_by: r.try_get("", "linked_by")?,
                linked_at: r.try_get("", "linked_at")?,
                delivery: delivery.map(str::to_owned),
                delivery_error,
                group_id: r.try_get("", "group_id")?,
                assignee_id: r.try_get("", "assignee_id")?,
                customer_id: r.try_get("", "customer_id")?,
            });
        }
        Ok(out)
    }

    /// How many tickets are linked to an incident.
    pub async fn linked_count(&self, incident_id: i64) -> Result<u64, StoreError> {
        Ok(incident_ticket::Entity::find()
            .filter(incident_ticket::Column::IncidentId.eq(incident_id))
            .count(&self.read)
            .await?)
    }

    /// Delivery counts of each of an incident's updates, in one query.
    pub async fn delivery_counts(
        &self,
        incident_id: i64,
    ) -> Result<BTreeMap<i64, DeliveryCounts>, StoreError> {
        let b = self.read.get_database_backend();
        let q = "SELECT d.update_id AS update_id, d.state AS d_state, o.state AS o_state, \
                 CASE WHEN o.last_error LIKE '%bounce%' THEN 1 ELSE 0 END AS bounced, \
                 COUNT(*) AS n FROM incident_deliveries d \
                 LEFT JOIN outbound_emails o ON o.message_id = d.message_id \
                 WHERE d.incident_id = $1 GROUP BY d.update_id, d.state, o.state, bounced";
        let rows = self
            .read
            .query_all_raw(Statement::from_sql_and_values(
                b,
                sql(b, q),
                [incident_id.into()],
            ))
            .await?;
        let mut by_update: BTreeMap<i64, DeliveryCounts> = BTreeMap::new();
        for r in rows {
            let update: i64 = r.try_get("", "update_id")?;
            let d: String = r.try_get("", "d_state")?;
            let o: Option<String> = r.try_get("", "o_state")?;
            let bounced: i32 = r.try_get::<i32>("", "bounced").unwrap_or_default();
            let n = r.try_get::<i64>("", "n")? as u64;
            let err = (bounced == 1).then(|| "bounce".to_owned());
            let c = by_update.entry(update).or_default();
            match delivery_state(Some(&d), o.as_deref(), err, None).0 {
                Some("sent") => c.sent += n,
                Some("failed") => c.failed += n,
                Some("bounced") => c.bounced += n,
                _ => c.queued += n,
            }
        }
        Ok(by_update)
    }

    /// Takes up to `limit` due deliveries (queued, or held by a lease that ran out) for
    /// `lease`, counting the attempt; two senders never hold the same row at once.
    pub async fn claim_deliveries(
        &self,
        limit: u64,
        lease: std::time::Duration,
        per_second: u64,
    ) -> Result<DeliveryClaims, StoreError> {
        let none = |paced| DeliveryClaims {
            rows: Vec::new(),
            paced,
        };
        if limit == 0 {
            return Ok(none(false));
        }
        let at = now();
        let until = at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // Mostly nothing is due: a read says so without taking SQLite's write lock.
        let due = incident_delivery::Entity::find()
            .select_only()
            .column(incident_delivery::Column::Id)
            .filter(
                incident_delivery::Column::State
                    .eq("queued")
                    .and(incident_delivery::Column::NextAttemptAt.lte(at))
                    .or(incident_delivery::Column::State
                        .eq("sending")
                        .and(incident_delivery::Column::LeaseUntil.lt(at))),
            )
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.read)
            .await?;
        if due.is_none() {
            return Ok(none(false));
        }
        let limit = if per_second > 0 {
            self.reserve_broadcast(at.timestamp(), limit, per_second)
                .await?
        } else {
            limit
        };
        if limit == 0 {
            return Ok(none(true));
        }
        let b = self.db.get_database_backend();
        let lock = if b == DatabaseBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let q = format!(
            "UPDATE incident_deliveries SET state = 'sending', attempts = attempts + 1, \
             lease_until = $1 WHERE id IN (SELECT id FROM incident_deliveries \
             WHERE (state = 'queued' AND next_attempt_at <= $2) \
             OR (state = 'sending' AND lease_until < $2) \
             ORDER BY id LIMIT $3{lock}) RETURNING *"
        );
        let stmt = Statement::from_sql_and_values(
            b,
            sql(b, &q),
            [
                Value::from(until),
                Value::from(at),
                (Ord::min(limit, 5000) as i64).into(),
            ],
        );
        let mut rows = incident_delivery::Entity::find()
            .from_raw_sql(stmt)
            .all(&self.db)
            .await?;
        rows.sort_by_key(|r| r.id);
        Ok(DeliveryClaims { rows, paced: false })
    }

    /// Takes up to `want` of the `per_second` deliveries every node together may post in the
    /// second `second` (Unix time), and says how many it got: 0 once the others took them.
    /// One conditional update of one row, so the nodes never hand out more than the rate.
    pub async fn reserve_broadcast(
        &self,
        second: i64,
        want: u64,
        per_second: u64,
    ) -> Result<u64, StoreError> {
        let b = self.db.get_database_backend();
        // Every right-hand side reads the row as it was: `taken_before` keeps the old count,
        // so the difference is what this call got.
        let q = "UPDATE broadcast_pace SET \
             taken_before = CASE WHEN pace_second = $1 THEN taken ELSE 0 END, \
             taken = CASE WHEN pace_second = $1 THEN \
               CASE WHEN taken + $2 > $3 THEN $3 ELSE taken + $2 END \
             ELSE CASE WHEN $2 > $3 THEN $3 ELSE $2 END END, \
             pace_second = $1 \
             WHERE id = 1 AND (pace_second <> $1 OR taken < $3) \
             RETURNING taken - taken_before";
        let want = i64::try_from(want).unwrap_or(i64::MAX);
        let cap = i64::try_from(per_second).unwrap_or(i64::MAX);
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                b,
                sql(b, q),
                [second.into(), want.into(), cap.into()],
            ))
            .await?;
        let got = match row {
            Some(r) => r.try_get_by_index::<i64>(0)?,
            None => 0,
        };
        Ok(u64::try_from(got).unwrap_or(0))
    }

    /// A claimed delivery that could not be posted: retried at `retry_at`, or failed for good.
    pub async fn delivery_not_posted(
        &self,
        claim: DeliveryClaim,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let q = incident_delivery::Entity::update_many()
            .col_expr(incident_delivery::Column::LastError, Expr::value(error))
            .col_expr(
                incident_delivery::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(incident_delivery::Column::Id.eq(claim.id))
            .filter(incident_delivery::Column::State.eq("sending"))
            .filter(incident_delivery::Column::Attempts.eq(claim.attempts));
        let q = match retry_at {
            Some(at) => q
                .col_expr(incident_delivery::Column::State, Expr::value("queued"))
                .col_expr(incident_delivery::Column::NextAttemptAt, Expr::value(at)),
            None => q.col_expr(incident_delivery::Column::State, Expr::value("failed")),
        };
        q.exec(&self.db).await?;
        Ok(())
    }

    /// Deliveries not yet done (for benchmarks, health and tests).
    pub async fn pending_deliveries(&self) -> Result<u64, StoreError> {
        Ok(incident_delivery::Entity::find()
            .filter(incident_delivery::Column::State.is_in(["queued", "sending"]))
            .count(&self.read)
            .await?)
    }

    /// The messages that delivered an update, by ticket (to check none went twice).
    pub async fn deliveries_of(&self, update_id: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(incident_delivery::Entity::find()
            .filter(incident_delivery::Column::UpdateId.eq(update_id))
            .order_by_asc(incident_delivery::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Open incidents that link new tickets by rule.
    pub async fn rule_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(incident::Entity::find()
            .filter(incident::Column::Status.is_in(OPEN_INCIDENT))
            .filter(incident::Column::Rule.is_not_null())
            .order_by_asc(incident::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Tickets after id `after`, oldest first, as a match rule reads them: subject and first
    /// message, triage's intent and the case fields. Merged tickets and closed ones are left.
    ///
    /// On PostgreSQL, several writers commit tickets out of id order: a ticket numbered 100 may
    /// become visible after 101. Reading only tickets a few seconds old keeps a rule's position
    /// from passing one still in flight. SQLite has one writer and reads at once.
    pub async fn tickets_for_rules(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<RuleTicket>, StoreError> {
        let b = self.read.get_database_backend();
        let settled = match b {
            DatabaseBackend::Postgres => now() - chrono::Duration::seconds(3),
            _ => now() + chrono::Duration::seconds(1),
        };
        let stmt = Statement::from_sql_and_values(
            b,
            sql(
                b,
                "SELECT t.id, t.intent, t.network, t.asset, t.subject, t.created_at, t.state, \
                 t.merged_into, m.body_text FROM tickets t LEFT JOIN messages m \
                 ON m.ticket_id = t.id AND m.seq = 1 WHERE t.id > $1 AND t.created_at <= $3 \
                 ORDER BY t.id LIMIT $2",
            ),
            [
                after.into(),
                (Ord::min(limit, 5000) as i64).into(),
                Value::from(settled),
            ],
        );
        let rows = self.read.query_all_raw(stmt).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let subject: String = r.try_get("", "subject")?;
            let body: Option<String> = r.try_get("", "body_text")?;
            let state: String = r.try_get("", "state")?;
            let merged: Option<i64> = r.try_get("", "merged_into")?;
            let id: i64 = r.try_get("", "id")?;
            if merged.is_some() || state == "closed" {
                // Still counts as looked at.
                out.push(RuleTicket {
                    id,
                    intent: None,
                    network: None,
                    asset: None,
                    text: String::new(),
                    created_at: DateTime::<Utc>::MIN_UTC,
                });
                continue;
            }
            let mut text = subject;
            if let Some(b) = body {
                text.push('\n');
                text.push_str(&b.chars().take(4000).collect::<String>());
            }
            out.push(RuleTicket {
                id,
                intent: r.try_get("", "intent")?,
                network: r.try_get("", "network")?,
                asset: r.try_get("", "asset")?,
                text,
                created_at: r.try_get("", "created_at")?,
            });
        }
        Ok(out)
    }

    /// Links what a rule matched among the tickets up to `to`, and moves the rule on from
    /// `from` to `to`; nothing happens when another node moved it first.
    pub async fn advance_rule(
        &self,
        incident_id: i64,
        from: i64,
        to: i64,
        matched: &[i64],
    ) -> Result<Vec<i64>, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let r = incident::Entity::update_many()
            .col_expr(incident::Column::RuleScannedTo, Expr::value(to))
            .filter(incident::Column::Id.eq(incident_id))
            .filter(incident::Column::RuleScannedTo.eq(from))
            .filter(incident::Column::Status.is_in(OPEN_INCIDENT))
            .exec(&tx)
            .await?;
        if r.rows_affected == 0 {
            return Ok(Vec::new());
        }
        let new = link_in(&tx, incident_id, matched, "rule", None, at).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Maintenance windows whose timer is due at `at`.
    pub async fn due_maintenance(&self, at: DateTime<Utc>) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(incident::Entity::find()
            .filter(incident::Column::Kind.eq("maintenance"))
            .filter(
                incident::Column::Status
                    .eq("scheduled")
                    .and(incident::Column::StartsAt.lte(at))
                    .or(incident::Column::Status
                        .is_in(["scheduled", "in_progress", "verifying"])
                        .and(incident::Column::EndsAt.lte(at))),
            )
            .all(&self.read)
            .await?)
    }

    /// The revision the static export follows.
    pub async fn status_revision(&self) -> Result<i64, StoreError> {
        let b = self.read.get_database_backend();
        let row = self
            .read
            .query_one_raw(Statement::from_string(
                b,
                "SELECT revision FROM status_revision WHERE id = 1",
            ))
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<i64>("", "revision").ok())
            .unwrap_or(0))
    }

    pub async fn subscribers(&self) -> Result<Vec<SubscriberRow>, StoreError> {
        Ok(status_subscriber::Entity::find()
            .order_by_asc(status_subscriber::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Records that a visitor saw an incident's notice (once per visitor and incident).
    pub async fn record_incident_view(
        &self,
        incident_id: i64,
        visitor: &str,
        surface: &str,
    ) -> Result<(), StoreError> {
        incident_view::Entity::insert(incident_view::ActiveModel {
            incident_id: Set(incident_id),
            visitor: Set(visitor.to_owned()),
            surface: Set(surface.to_owned()),
            seen_at: Set(now()),
            ticket_id: Set(None),
        })
        .on_conflict(
            OnConflict::columns([
                incident_view::Column::IncidentId,
                incident_view::Column::Visitor,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// A visitor who saw an incident's notice opened a ticket after all.
    pub async fn incident_view_opened(
        &self,
        visitor: &str,
        ticket_id: i64,
    ) -> Result<(), StoreError> {
        incident_view::Entity::update_many()
            .col_expr(
                incident_view::Column::TicketId,
                Expr::value(Some(ticket_id)),
            )
            .filter(incident_view::Column::Visitor.eq(visitor))
            .filter(incident_view::Column::TicketId.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// (saw the notice, then opened a ticket anyway) for an incident.
    pub async fn incident_view_counts(&self, incident_id: i64) -> Result<(u64, u64), StoreError> {
        let seen = incident_view::Entity::find()
            .filter(incident_view::Column::IncidentId.eq(incident_id))
            .count(&self.read)
            .await?;
        let opened = incident_view::Entity::find()
            .filter(incident_view::Column::IncidentId.eq(incident_id))
            .filter(incident_view::Column::TicketId.is_not_null())
            .count(&self.read)
            .await?;
        Ok((seen, opened))
    }
}

/// What a node claimed to post, and whether the shared rate held it back this second.
#[derive(Debug)]
pub struct DeliveryClaims {
    pub rows: Vec<DeliveryRow>,
    /// Deliveries wait, but every node together has posted the second's share.
    pub paced: bool,
}

/// The state a customer's delivery is in: posted messages on email tickets are as far as
/// their mail got.
fn delivery_state(
    delivery: Option<&str>,
    mail: Option<&str>,
    mail_error: Option<String>,
    delivery_error: Option<String>,
) -> (Option<&'static str>, Option<String>) {
    match (delivery, mail) {
        (None, _) => (None, None),
        (Some("failed"), _) => (Some("failed"), delivery_error),
        (Some("sent"), Some("failed")) => {
            let bounced = mail_error.as_deref().is_some_and(|e| e.contains("bounce"));
            (Some(if bounced { "bounced" } else { "failed" }), mail_error)
        }
        (Some("sent"), Some("sent") | None) => (Some("sent"), None),
        (Some("sent"), Some(_)) => (Some("queued"), None),
        _ => (Some("queued"), None),
    }
}

/// Links tickets inside `tx` and queues the latest public update for each newly linked one.
async fn link_in(
    tx: &DatabaseTransaction,
    incident_id: i64,
    ticket_ids: &[i64],
    linked_by: &str,
    agent_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let existing: Vec<i64> = incident_ticket::Entity::find()
        .select_only()
        .column(incident_ticket::Column::TicketId)
        .filter(incident_ticket::Column::IncidentId.eq(incident_id))
        .filter(incident_ticket::Column::TicketId.is_in(ticket_ids.to_vec()))
        .into_tuple()
        .all(tx)
        .await?;
    let mut new: Vec<i64> = ticket_ids
        .iter()
        .copied()
        .filter(|t| !existing.contains(t))
        .collect();
    new.sort_unstable();
    new.dedup();
    if new.is_empty() {
        return Ok(new);
    }
    let latest = incident_update::Entity::find()
        .filter(incident_update::Column::IncidentId.eq(incident_id))
        .filter(incident_update::Column::Internal.eq(false))
        .order_by_desc(incident_update::Column::Id)
        .one(tx)
        .await?;
    for chunk in new.chunks(500) {
        incident_ticket::Entity::insert_many(chunk.iter().map(|t| incident_ticket::ActiveModel {
            incident_id: Set(incident_id),
            ticket_id: Set(*t),
            linked_by: Set(linked_by.to_owned()),
            agent_id: Set(agent_id),
            linked_at: Set(at),
        }))
        .exec_without_returning(tx)
        .await?;
        if let Some(u) = &latest {
            incident_delivery::Entity::insert_many(chunk.iter().map(|t| {
                incident_delivery::ActiveModel {
                    incident_id: Set(incident_id),
                    update_id: Set(u.id),
                    ticket_id: Set(*t),
                    kind: Set("link".into()),
                    state: Set("queued".into()),
                    attempts: Set(0),
                    next_attempt_at: Set(at),
                    lease_until: Set(None),
                    message_id: Set(None),
                    last_error: Set(None),
                    created_at: Set(at),
                    delivered_at: Set(None),
                    ..Default::default()
                }
            }))
            .on_conflict(
                OnConflict::columns([
                    incident_delivery::Column::UpdateId,
                    incident_delivery::Column::TicketId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(tx)
            .await?;
        }
    }
    Ok(new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// The nodes share one second's deliveries: whoever asks first gets them, nobody more.
    #[tokio::test]
    async fn the_broadcast_pace_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::testing::store(dir.path()).await;
        assert_eq!(s.reserve_broadcast(100, 8, 10).await.unwrap(), 8);
        assert_eq!(s.reserve_broadcast(100, 8, 10).await.unwrap(), 2);
        assert_eq!(s.reserve_broadcast(100, 8, 10).await.unwrap(), 0);
        assert_eq!(s.reserve_broadcast(101, 30, 10).await.unwrap(), 10);
        assert_eq!(s.reserve_broadcast(101, 1, 10).await.unwrap(), 0);
        assert_eq!(s.reserve_broadcast(102, 3, 10).await.unwrap(), 3);
    }
}
