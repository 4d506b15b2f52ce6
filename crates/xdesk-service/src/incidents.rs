//! Incidents: components and their states, incidents and maintenance windows with public
//! updates in English and Chinese, tickets linked by hand or by rule, and the broadcast that
//! posts every public update on every linked ticket, on the ticket's own channel and in its
//! customer's language.
//!
//! Publishing only writes (the update and one delivery row per linked ticket, in one
//! transaction); senders on every node then claim deliveries and post them at a configured
//! rate. A delivery is marked done in the transaction that posts its message, so a restart, a
//! crashed node or two nodes at once never post an update twice (see `xdesk_store::incidents`).

use crate::{Principal, ServiceError, Services};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;
use xdesk_domain::FieldError;
use xdesk_domain::event::EventKind;
use xdesk_domain::incident::{
    Bilingual, ComponentScope, ComponentStatus, Impact, IncidentKind, IncidentStatus, MatchRule,
    TicketFacts, maintenance_step, parent_allowed,
};
use xdesk_domain::ticket::TicketState;
use xdesk_store::{
    ChangeSet, ComponentInput, ComponentRow, DeliveryClaim, DeliveryCounts, DeliveryRow,
    IncidentComponentRow, IncidentRow, IncidentUpdateRow, LinkedTicket, NewIncident, NewUpdate,
    StoreError, TicketPatch,
};

/// One round of a node's broadcaster.
#[derive(Debug, Clone, Copy)]
pub struct BroadcastRound {
    pub posted: usize,
    /// Deliveries wait, but every node together posted this second's share: try again next
    /// second.
    pub paced: bool,
}

/// How fast updates go out.
#[derive(Debug, Clone)]
pub struct IncidentSettings {
    /// Deliveries per second all nodes together post at most (messages, and the mails they
    /// queue); 0 leaves posting to other nodes.
    pub broadcast_per_second: u32,
    /// How long a node holds the deliveries it claimed; past it, another node (or this one,
    /// restarted) takes over what a crashed node left.
    pub lease: Duration,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        Self {
            broadcast_per_second: 200,
            lease: Duration::from_secs(60),
        }
    }
}

/// A component as an admin defines it.
#[derive(Debug, Clone, Default)]
pub struct ComponentSpec {
    pub parent_id: Option<i64>,
    pub name: String,
    pub name_zh: String,
    pub description: String,
    pub position: i32,
    pub network: Option<String>,
    pub intents: Vec<String>,
}

/// A new incident or maintenance window, with its first public update.
#[derive(Debug, Clone, Default)]
pub struct IncidentSpec {
    /// `incident` (default) or `maintenance`.
    pub kind: Option<String>,
    pub title: String,
    pub title_zh: String,
    /// `none`, `minor` (default), `major`, `critical`.
    pub impact: Option<String>,
    /// The first status; `investigating` or `scheduled` by default.
    pub status: Option<String>,
    pub body: String,
    pub body_zh: String,
    /// What the incident does to components (id, status).
    pub components: Vec<(i64, String)>,
    pub rule: Option<MatchRule>,
    pub next_update_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The ticket it is started from: linked at once.
    pub source_ticket_id: Option<i64>,
}

/// A public update or an internal note on an open incident.
#[derive(Debug, Clone, Default)]
pub struct UpdateSpec {
    /// The incident's status after it; its current one when omitted.
    pub status: Option<String>,
    pub body: String,
    pub body_zh: String,
    pub internal: bool,
    /// With a final status: solve every linked ticket after the update reaches it.
    pub solve_tickets: bool,
    /// Replaces the affected components and their states.
    pub components: Option<Vec<(i64, String)>>,
    pub next_update_at: Option<DateTime<Utc>>,
}

/// Everything the incident page shows.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub components: Vec<(i64, String)>,
    pub updates: Vec<UpdateView>,
    pub linked: u64,
    pub deliveries: DeliveriesView,
    /// Customers who saw its notice before writing, and those of them who wrote anyway.
    pub notice_seen: u64,
    pub notice_then_wrote: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub title_zh: String,
    pub status: String,
    pub impact: String,
    pub rule: Option<MatchRule>,
    pub next_update_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub source_ticket_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<IncidentRow> for IncidentView {
    fn from(r: IncidentRow) -> Self {
        Self {
            rule: r.rule.as_deref().and_then(|s| serde_json::from_str(s).ok()),
            id: r.id,
            kind: r.kind,
            title: r.title,
            title_zh: r.title_zh,
            status: r.status,
            impact: r.impact,
            next_update_at: r.next_update_at,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            source_ticket_id: r.source_ticket_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            resolved_at: r.resolved_at,
        }
    }
}

impl IncidentView {
    pub fn title_for(&self, language: &str) -> &str {
        Bilingual::pick(&self.title, &self.title_zh, language)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub id: i64,
    pub status: String,
    pub body: String,
    pub body_zh: String,
    pub internal: bool,
    pub solves: bool,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub deliveries: Option<DeliveriesView>,
}

impl UpdateView {
    fn of(u: IncidentUpdateRow, deliveries: Option<DeliveriesView>) -> Self {
        Self {
            id: u.id,
            status: u.status,
            body: u.body,
            body_zh: u.body_zh,
            internal: u.internal,
            solves: u.solves,
            author_id: u.author_id,
            created_at: u.created_at,
            deliveries,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeliveriesView {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub bounced: u64,
}

impl From<DeliveryCounts> for DeliveriesView {
    fn from(c: DeliveryCounts) -> Self {
        Self {
            queued: c.queued,
            sent: c.sent,
            failed: c.failed,
            bounced: c.bounced,
        }
    }
}

/// Tickets a rule looks at per pass.
const RULE_BATCH: u64 = 500;
/// Concurrent postings per node: they share group commits.
const POSTERS: usize = 32;

fn bad(field: &str, code: &'static str, reason: impl Into<String>) -> ServiceError {
    FieldError::new(field, code, reason).into()
}

impl Principal {
    /// Reading incidents: staff, and keys with `incidents:read`.
    fn require_incident_read(&self) -> Result<(), ServiceError> {
        match self {
            Principal::Customer { .. } => Err(ServiceError::Forbidden(
                "customers read incidents on the status page".into(),
            )),
            _ => self.require_scope("incidents:read"),
        }
    }

    /// Publishing and changing incidents: supervisors, admins, keys with `incidents:write`.
    fn require_incident_publish(&self) -> Result<(), ServiceError> {
        match self {
            Principal::Agent { .. } if !self.is_supervisor() => Err(ServiceError::Forbidden(
                "only supervisors and admins publish incidents".into(),
            )),
            Principal::Customer { .. } => Err(ServiceError::Forbidden(
                "customers cannot change incidents".into(),
            )),
            _ => self.require_scope("incidents:write"),
        }
    }

    /// Defining components is configuration: admins, and keys with `incidents:write`.
    fn require_component_admin(&self) -> Result<(), ServiceError> {
        match self {
            Principal::ApiKey { .. } => self.require_scope("incidents:write"),
            _ => self.require_admin(),
        }
    }
}

fn parse_components(
    list: &[(i64, String)],
    known: &[ComponentRow],
) -> Result<Vec<(i64, String)>, ServiceError> {
    let mut out: Vec<(i64, String)> = Vec::with_capacity(list.len());
    for (id, s) in list {
        if !known.iter().any(|c| c.id == *id) {
            return Err(bad(
                "components",
                "unknown_component",
                format!("there is no component {id}"),
            ));
        }
        let status = ComponentStatus::from_str(s).map_err(|e| e.for_field("components"))?;
        out.retain(|(c, _)| c != id);
        out.push((*id, status.as_str().to_owned()));
    }
    Ok(out)
}

fn scopes(rows: &[ComponentRow]) -> Vec<ComponentScope> {
    rows.iter()
        .map(|c| ComponentScope {
            id: c.id,
            parent_id: c.parent_id,
            network: c.network.clone(),
            intents: serde_json::from_str(&c.intents).unwrap_or_default(),
        })
        .collect()
}

fn check_component(
    spec: &ComponentSpec,
    id: Option<i64>,
    all: &[ComponentRow],
) -> Result<ComponentInput, ServiceError> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(bad("name", "required", "a component needs a name"));
    }
    if name.chars().count() > 120 || spec.name_zh.chars().count() > 120 {
        return Err(bad("name", "too_long", "at most 120 characters"));
    }
    if spec.description.chars().count() > 2000 {
        return Err(bad("description", "too_long", "at most 2000 characters"));
    }
    if let Some(parent) = spec.parent_id {
        if !all.iter().any(|c| c.id == parent) {
            return Err(bad(
                "parent_id",
                "unknown_component",
                format!("there is no component {parent}"),
            ));
        }
        if let Some(id) = id
            && !parent_allowed(id, Some(parent), &scopes(all))
        {
            return Err(bad(
                "parent_id",
                "component_loop",
                "a component cannot sit under itself",
            ));
        }
    }
    let network = match spec.network.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(
            xdesk_domain::crypto::Network::from_str(n)
                .map_err(|e| e.for_field("network"))?
                .as_str()
                .to_owned(),
        ),
    };
    let mut intents = Vec::new();
    for i in &spec.intents {
        let i = i.trim();
        if i.is_empty() {
            continue;
        }
        let intent = xdesk_domain::triage::Intent::parse(i).ok_or_else(|| {
            bad(
                "intents",
                "unknown_intent",
                format!("`{i}` is not an intent"),
            )
        })?;
        intents.push(intent.as_str().to_owned());
    }
    Ok(ComponentInput {
        parent_id: spec.parent_id,
        name: name.to_owned(),
        name_zh: spec.name_zh.trim().to_owned(),
        description: spec.description.trim().to_owned(),
        position: spec.position,
        network,
        intents,
    })
}

/// The words a status is shown with to customers.
pub fn status_words(status: &str, language: &str) -> &'static str {
    let zh = language.starts_with("zh");
    match (status, zh) {
        ("investigating", false) => "Investigating",
        ("investigating", true) => "调查中",
        ("identified", false) => "Identified",
        ("identified", true) => "已确认原因",
        ("monitoring", false) => "Monitoring",
        ("monitoring", true) => "观察中",
        ("resolved", false) => "Resolved",
        ("resolved", true) => "已解决",
        ("scheduled", false) => "Scheduled",
        ("scheduled", true) => "已计划",
        ("in_progress", false) => "In progress",
        ("in_progress", true) => "进行中",
        ("verifying", false) => "Verifying",
        ("verifying", true) => "验证中",
        ("completed", false) => "Completed",
        ("completed", true) => "已完成",
        (_, false) => "Update",
        (_, true) => "更新",
    }
}

/// The message a customer gets for an update, in their language.
pub fn update_message(
    title: &str,
    status: &str,
    body: &str,
    language: &str,
    status_url: &str,
) -> String {
    if language.starts_with("zh") {
        format!(
            "【故障通知 · {}】{title}\n\n{body}\n\n实时状态：{status_url}",
            status_words(status, language)
        )
    } else {
        format!(
            "[Incident · {}] {title}\n\n{body}\n\nLive status: {status_url}",
            status_words(status, language)
        )
    }
}

impl Services {
    /// Where customers read the status page.
    pub fn status_url(&self) -> String {
        format!("{}/status", self.portal.public_url.trim_end_matches('/'))
    }

    pub async fn list_components(&self, p: &Principal) -> Result<Vec<ComponentRow>, ServiceError> {
        p.require_incident_read()?;
        Ok(self.store.components().await?)
    }

    pub async fn create_component(
        &self,
        p: &Principal,
        spec: &ComponentSpec,
        ip: Option<&str>,
    ) -> Result<ComponentRow, ServiceError> {
        p.require_component_admin()?;
        let all = self.store.components().await?;
        let input = check_component(spec, None, &all)?;
        let row = self.store.insert_component(&input).await?;
        self.audit_action(
            p,
            "component.create",
            format!("component:{}", row.id),
            ip,
            json!({"name": row.name}),
        )
        .await?;
        Ok(row)
    }

    pub async fn update_component(
        &self,
        p: &Principal,
        id: i64,
        spec: &ComponentSpec,
        ip: Option<&str>,
    ) -> Result<ComponentRow, ServiceError> {
        p.require_component_admin()?;
        let all = self.store.components().await?;
        if !all.iter().any(|c| c.id == id) {
            return Err(ServiceError::NotFound("component"));
        }
        let input = check_component(spec, Some(id), &all)?;
        let row = self.store.update_component(id, &input).await?;
        self.audit_action(
            p,
            "component.update",
            format!("component:{id}"),
            ip,
            json!({"name": row.name}),
        )
        .await?;
        Ok(row)
    }

    /// Sets a component's state by hand, outside any incident (supervisors and admins).
    pub async fn set_component_status(
        &self,
        p: &Principal,
        id: i64,
        status: &str,
        ip: Option<&str>,
    ) -> Result<ComponentRow, ServiceError> {
        p.require_incident_publish()?;
        let status = ComponentStatus::from_str(status)?;
        let row = self
            .store
            .set_component_status(id, status)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => ServiceError::NotFound("component"),
                e => e.into(),
            })?;
        self.audit_action(
            p,
            "component.status",
            format!("component:{id}"),
            ip,
            json!({"status": status.as_str()}),
        )
        .await?;
        Ok(row)
    }

    pub async fn delete_component(
        &self,
        p: &Principal,
        id: i64,
        ip: Option<&str>,
    ) -> Result<(), ServiceError> {
        p.require_component_admin()?;
        self.store.delete_component(id).await?;
        self.audit_action(
            p,
            "component.delete",
            format!("component:{id}"),
            ip,
            json!({}),
        )
        .await
    }

    pub async fn list_incidents(
        &self,
        p: &Principal,
        open_only: bool,
    ) -> Result<Vec<IncidentView>, ServiceError> {
        p.require_incident_read()?;
        Ok(self
            .store
            .incidents(open_only, 200)
            .await?
            .into_iter()
            .map(IncidentView::from)
            .collect())
    }

    async fn incident_row(&self, id: i64) -> Result<IncidentRow, ServiceError> {
        self.store
            .incident(id)
            .await?
            .ok_or(ServiceError::NotFound("incident"))
    }

    pub async fn incident_detail(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<IncidentDetail, ServiceError> {
        p.require_incident_read()?;
        let inc = self.incident_row(id).await?;
        let components = self
            .store
            .incident_components(&[id])
            .await?
            .into_iter()
            .map(|c: IncidentComponentRow| (c.component_id, c.status))
            .collect();
        let counts = self.store.delivery_counts(id).await?;
        let mut total = DeliveryCounts::default();
        for c in counts.values() {
            total += c;
        }
        let mut updates: Vec<UpdateView> = self
            .store
            .incident_updates(&[id])
            .await?
            .into_iter()
            .map(|u| {
                let d =
                    (!u.internal).then(|| counts.get(&u.id).cloned().unwrap_or_default().into());
                UpdateView::of(u, d)
            })
            .collect();
        updates.reverse();
        let (seen, wrote) = self.store.incident_view_counts(id).await?;
        Ok(IncidentDetail {
            linked: self.store.linked_count(id).await?,
            deliveries: total.into(),
            incident: inc.into(),
            components,
            updates,
            notice_seen: seen,
            notice_then_wrote: wrote,
        })
    }

    pub async fn create_incident(
        &self,
        p: &Principal,
        spec: IncidentSpec,
        ip: Option<&str>,
    ) -> Result<IncidentDetail, ServiceError> {
        p.require_incident_publish()?;
        let kind = match spec.kind.as_deref() {
            None | Some("") => IncidentKind::Incident,
            Some(k) => IncidentKind::from_str(k)?,
        };
        let title = Bilingual::parse("title", &spec.title, &spec.title_zh, 200)?;
        let body = Bilingual::parse("body", &spec.body, &spec.body_zh, Bilingual::MAX_CHARS)?;
        let impact = match spec.impact.as_deref() {
            None | Some("") => Impact::Minor,
            Some(i) => Impact::from_str(i)?,
        };
        let status = match spec.status.as_deref() {
            None | Some("") => match kind {
                IncidentKind::Incident => IncidentStatus::Investigating,
                IncidentKind::Maintenance => IncidentStatus::Scheduled,
            },
            Some(s) => IncidentStatus::from_str(s)?,
        };
        if !status.valid_for(kind) || status.is_final() {
            return Err(bad(
                "status",
                "invalid_incident_status",
                format!("a new {kind} cannot be `{status}`"),
            ));
        }
        let (starts_at, ends_at) = match kind {
            IncidentKind::Maintenance => {
                let (Some(s), Some(e)) = (spec.starts_at, spec.ends_at) else {
                    return Err(bad(
                        "starts_at",
                        "window_required",
                        "a maintenance needs a start and an end",
                    ));
                };
                if e <= s {
                    return Err(bad(
                        "ends_at",
                        "window_inverted",
                        "the window must end after it starts",
                    ));
                }
                (Some(s), Some(e))
            }
            IncidentKind::Incident => (None, None),
        };
        let known = self.store.components().await?;
        let components = parse_components(&spec.components, &known)?;
        let ids: Vec<i64> = known.iter().map(|c| c.id).collect();
        let rule = match spec.rule {
            Some(r) => {
                let mut r = r.validate(&ids)?;
                r.since.get_or_insert(self.now());
                Some(r)
            }
            None => None,
        };
        if let Some(t) = spec.source_ticket_id {
            self.visible_ticket(p, t).await?;
        }
        let author = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        let new = NewIncident {
            kind: kind.as_str().to_owned(),
            title: title.en,
            title_zh: title.zh,
            impact: impact.as_str().to_owned(),
            rule_since: rule.as_ref().and_then(|r| r.since),
            rule: rule
                .as_ref()
                .map(|r| serde_json::to_string(r).unwrap_or_default()),
            starts_at,
            ends_at,
            created_by: author,
            source_ticket_id: spec.source_ticket_id,
            first: NewUpdate {
                status: status.as_str().to_owned(),
                body: body.en,
                body_zh: body.zh,
                internal: false,
                solves: false,
                author_id: author,
                // A scheduled window touches nothing until it starts.
                components: Some(if status == IncidentStatus::Scheduled {
                    components
                        .iter()
                        .map(|(c, _)| (*c, ComponentStatus::UnderMaintenance.as_str().to_owned()))
                        .collect()
                } else {
                    components
                }),
                next_update_at: Some(spec.next_update_at),
                expected_status: None,
            },
        };
        let published = self.store.create_incident(&new).await?;
        let id = published.incident.id;
        self.audit_action(
            p,
            "incident.create",
            format!("incident:{id}"),
            ip,
            json!({"kind": kind.as_str(), "status": status.as_str()}),
        )
        .await?;
        self.broadcast_changed();
        self.incident_detail(&Principal::System, id).await
    }

    /// Publishes an update (or adds an internal note). A final status closes the incident:
    /// a second resolution is refused.
    pub async fn post_incident_update(
        &self,
        p: &Principal,
        id: i64,
        spec: UpdateSpec,
        ip: Option<&str>,
    ) -> Result<UpdateView, ServiceError> {
        p.require_incident_publish()?;
        let inc = self.incident_row(id).await?;
        let kind = IncidentKind::from_str(&inc.kind)?;
        let current = IncidentStatus::from_str(&inc.status)?;
        let status = match spec.status.as_deref() {
            None | Some("") => current,
            Some(s) => IncidentStatus::from_str(s)?,
        };
        if current.is_final() {
            return Err(bad(
                "status",
                "incident_closed",
                format!("this {kind} is already {current}"),
            ));
        }
        if status != current {
            current.transition(status, kind)?;
        }
        let body = Bilingual::parse("body", &spec.body, &spec.body_zh, Bilingual::MAX_CHARS)?;
        if spec.internal && status != current {
            return Err(bad(
                "internal",
                "note_cannot_change_status",
                "an internal note cannot change the status; publish an update",
            ));
        }
        let known = self.store.components().await?;
        let components = spec
            .components
            .as_ref()
            .map(|c| parse_components(c, &known))
            .transpose()?;
        let author = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        let u = NewUpdate {
            status: status.as_str().to_owned(),
            body: body.en,
            body_zh: body.zh,
            internal: spec.internal,
            solves: spec.solve_tickets && status.is_final(),
            author_id: author,
            // A final status settles its components back on its own: an incident that is over
            // no longer counts towards their state, and its list stays for the history.
            components: if status.is_final() { None } else { components },
            next_update_at: (!spec.internal).then_some(spec.next_update_at),
            expected_status: Some(inc.status.clone()),
        };
        let published = self
            .store
            .publish_update(id, &u)
            .await
            .map_err(|e| match e {
                StoreError::StaleVersion(_) => ServiceError::Conflict(
                    "the incident changed meanwhile; reload it and try again".into(),
                ),
                e => e.into(),
            })?;
        let action = if spec.internal {
            "incident.note"
        } else {
            "incident.update"
        };
        self.audit_action(
            p,
            action,
            format!("incident:{id}"),
            ip,
            json!({"status": status.as_str(), "queued": published.queued, "solves": u.solves}),
        )
        .await?;
        self.broadcast_changed();
        Ok(UpdateView::of(published.update, None))
    }

    /// Changes an open incident's title, impact, rule, promised update time or window.
    pub async fn edit_incident(
        &self,
        p: &Principal,
        id: i64,
        spec: IncidentSpec,
        ip: Option<&str>,
    ) -> Result<IncidentView, ServiceError> {
        p.require_incident_publish()?;
        let mut inc = self.incident_row(id).await?;
        if IncidentStatus::from_str(&inc.status)?.is_final() {
            return Err(bad(
                "status",
                "incident_closed",
                "a closed incident cannot be changed",
            ));
        }
        let title = Bilingual::parse("title", &spec.title, &spec.title_zh, 200)?;
        inc.title = title.en;
        inc.title_zh = title.zh;
        if let Some(i) = spec.impact.as_deref().filter(|i| !i.is_empty()) {
            inc.impact = Impact::from_str(i)?.as_str().to_owned();
        }
        let ids: Vec<i64> = self
            .store
            .components()
            .await?
            .iter()
            .map(|c| c.id)
            .collect();
        inc.rule = match spec.rule {
            Some(r) => {
                let mut r = r.validate(&ids)?;
                r.since.get_or_insert(inc.created_at);
                Some(serde_json::to_string(&r).unwrap_or_default())
            }
            None => None,
        };
        inc.next_update_at = spec.next_update_at;
        if inc.kind == IncidentKind::Maintenance.as_str()
            && let (Some(s), Some(e)) = (spec.starts_at, spec.ends_at)
        {
            if e <= s {
                return Err(bad(
                    "ends_at",
                    "window_inverted",
                    "the window must end after it starts",
                ));
            }
            inc.starts_at = Some(s);
            inc.ends_at = Some(e);
        }
        let row = self.store.edit_incident(&inc).await.map_err(|e| match e {
            StoreError::StaleVersion(_) => {
                ServiceError::Conflict("the incident changed meanwhile; reload it".into())
            }
            e => e.into(),
        })?;
        self.audit_action(p, "incident.edit", format!("incident:{id}"), ip, json!({}))
            .await?;
        Ok(row.into())
    }

    /// Links tickets the caller can see to an open incident; each gets its latest update and
    /// then waits on it. Returns the tickets newly linked.
    pub async fn link_to_incident(
        &self,
        p: &Principal,
        id: i64,
        ticket_ids: &[i64],
        ip: Option<&str>,
    ) -> Result<Vec<i64>, ServiceError> {
        match p {
            Principal::Agent { .. } | Principal::System => {}
            Principal::ApiKey { .. } => p.require_scope("incidents:write")?,
            Principal::Customer { .. } => {
                return Err(ServiceError::Forbidden(
                    "customers cannot link tickets".into(),
                ));
            }
        }
        if ticket_ids.is_empty() || ticket_ids.len() > 1000 {
            return Err(bad(
                "ticket_ids",
                "invalid_count",
                "link between 1 and 1000 tickets at a time",
            ));
        }
        self.incident_row(id).await?;
        for t in ticket_ids {
            self.visible_ticket(p, *t).await?;
        }
        let agent = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        let new = self
            .store
            .link_tickets(id, ticket_ids, "agent", agent)
            .await?;
        self.audit_action(
            p,
            "incident.link",
            format!("incident:{id}"),
            ip,
            json!({"tickets": new}),
        )
        .await?;
        self.broadcast_changed();
        Ok(new)
    }

    pub async fn unlink_from_incident(
        &self,
        p: &Principal,
        id: i64,
        ticket_id: i64,
        ip: Option<&str>,
    ) -> Result<(), ServiceError> {
        match p {
            Principal::Agent { .. } | Principal::System => {}
            Principal::ApiKey { .. } => p.require_scope("incidents:write")?,
            Principal::Customer { .. } => {
                return Err(ServiceError::Forbidden(
                    "customers cannot unlink tickets".into(),
                ));
            }
        }
        self.visible_ticket(p, ticket_id).await?;
        if !self.store.unlink_ticket(id, ticket_id).await? {
            return Err(ServiceError::Conflict(
                "the ticket is not linked to this incident".into(),
            ));
        }
        let actor = p.actor();
        self.apply_own_change(ticket_id, |t| {
            let mut patch = TicketPatch::default();
            let mut events = vec![EventKind::IncidentUnlinked { incident_id: id }];
            if t.state == TicketState::PendingIncident.as_str() {
                patch.state = Some(TicketState::Open.as_str().to_owned());
                events.push(state_change(&t.state, TicketState::Open));
            }
            let mut cs = ChangeSet::system(t.id, t.version, patch, events);
            cs.actor = actor.clone();
            cs
        })
        .await?;
        self.audit_action(
            p,
            "incident.unlink",
            format!("incident:{id}"),
            ip,
            json!({"ticket": ticket_id}),
        )
        .await
    }

    pub async fn incident_linked_tickets(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<Vec<LinkedTicket>, ServiceError> {
        p.require_incident_read()?;
        self.incident_row(id).await?;
        let vis = self.visibility(p).await?;
        let mut rows = self.store.linked_tickets(id, 10_000).await?;
        rows.retain(|r| vis.allows(r.group_id, r.assignee_id, Some(r.customer_id)));
        Ok(rows)
    }

    /// The incidents a ticket is linked to (the ticket page, the portal).
    pub async fn ticket_incidents(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<Vec<IncidentView>, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        self.visible_ticket(p, ticket_id).await?;
        Ok(self
            .store
            .ticket_incidents(ticket_id)
            .await?
            .into_iter()
            .map(IncidentView::from)
            .collect())
    }

    /// Wakes this node's broadcaster: something was queued.
    fn broadcast_changed(&self) {
        self.incident_wake.notify_one();
    }

    /// Posts due deliveries, at most `limit`, several at a time, within the rate every node
    /// shares (`broadcast_per_second`). Safe on every node at once.
    pub async fn run_incident_deliveries(
        &self,
        limit: u64,
    ) -> Result<BroadcastRound, ServiceError> {
        let claims = self
            .store
            .claim_deliveries(
                limit,
                self.incidents.lease,
                u64::from(self.incidents.broadcast_per_second),
            )
            .await?;
        let claimed = claims.rows;
        if claimed.is_empty() {
            return Ok(BroadcastRound {
                posted: 0,
                paced: claims.paced,
            });
        }
        let mut incidents: BTreeMap<i64, IncidentRow> = BTreeMap::new();
        let mut updates: BTreeMap<i64, IncidentUpdateRow> = BTreeMap::new();
        for d in &claimed {
            if let std::collections::btree_map::Entry::Vacant(e) = incidents.entry(d.incident_id)
                && let Some(i) = self.store.incident(d.incident_id).await?
            {
                e.insert(i);
            }
            if let std::collections::btree_map::Entry::Vacant(e) = updates.entry(d.update_id)
                && let Some(u) = self.store.incident_update(d.update_id).await?
            {
                e.insert(u);
            }
        }
        let incidents = std::sync::Arc::new(incidents);
        let updates = std::sync::Arc::new(updates);
        let mut posted = 0;
        let mut mailed = false;
        let mut set = tokio::task::JoinSet::new();
        let mut rows = claimed.into_iter();
        loop {
            while set.len() < POSTERS {
                let Some(d) = rows.next() else { break };
                let s = self.clone();
                let (i, u) = (incidents.clone(), updates.clone());
                set.spawn(async move {
                    let r = s
                        .deliver(&d, i.get(&d.incident_id), u.get(&d.update_id))
                        .await;
                    (d, r)
                });
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let Ok((d, r)) = joined else { continue };
            let claim = DeliveryClaim {
                id: d.id,
                attempts: d.attempts,
            };
            match r {
                Ok(m) => {
                    posted += 1;
                    mailed |= m;
                }
                Err(Undelivered::Gone(why)) => {
                    self.store.delivery_not_posted(claim, &why, None).await?;
                }
                Err(Undelivered::TakenOver) => {}
                Err(Undelivered::Retry(why)) => {
                    let backoff =
                        chrono::Duration::seconds(30 * i64::from(d.attempts.clamp(1, 20)));
                    let give_up = d.attempts >= 10;
                    self.store
                        .delivery_not_posted(claim, &why, (!give_up).then(|| self.now() + backoff))
                        .await?;
                }
            }
        }
        if mailed {
            self.outbox_changed();
        }
        Ok(BroadcastRound {
            posted,
            paced: false,
        })
    }

    /// Posts one delivery's message on its ticket, with the state change its kind brings.
    /// True when it queued a mail.
    async fn deliver(
        &self,
        d: &DeliveryRow,
        inc: Option<&IncidentRow>,
        u: Option<&IncidentUpdateRow>,
    ) -> Result<bool, Undelivered> {
        let (Some(inc), Some(u)) = (inc, u) else {
            return Err(Undelivered::Gone(
                "the incident or its update is gone".into(),
            ));
        };
        let status_url = self.status_url();
        let incident_open = !IncidentStatus::from_str(&inc.status)
            .map(IncidentStatus::is_final)
            .unwrap_or(true);
        for _ in 0..5 {
            let t = match self.store.ticket(d.ticket_id).await {
                Ok(Some(t)) => t,
                Ok(None) => return Err(Undelivered::Gone("the ticket is gone".into())),
                Err(e) => return Err(Undelivered::Retry(e.to_string())),
            };
            if t.state == TicketState::Closed.as_str() || t.merged_into.is_some() {
                return Err(Undelivered::Gone("the ticket is closed".into()));
            }
            let language = t.language.clone();
            let body = xdesk_domain::incident::Bilingual::new(u.body.clone(), u.body_zh.clone());
            let text = update_message(
                Bilingual::pick(&inc.title, &inc.title_zh, &language),
                &u.status,
                body.for_language(&language),
                &language,
                &status_url,
            );
            let mut message = crate::tickets::system_notice(
                &t.channel,
                text.clone(),
                json!({"incident": inc.id, "update": u.id, "delivery": d.kind}),
            );
            message.outbound = self
                .outbound_for(&t, "incident", &text, None)
                .await
                .map_err(|e| Undelivered::Retry(e.to_string()))?;
            let mailed = message.outbound.is_some();
            let state = TicketState::from_str(&t.state).unwrap_or(TicketState::Open);
            let mut patch = TicketPatch::default();
            let mut events = Vec::new();
            match d.kind.as_str() {
                "link" => {
                    events.push(EventKind::IncidentLinked {
                        incident_id: inc.id,
                        by: self.link_origin(inc.id, t.id).await,
                    });
                    if incident_open && state.is_active() && state != TicketState::PendingIncident {
                        patch.state = Some(TicketState::PendingIncident.as_str().to_owned());
                        events.push(state_change(&t.state, TicketState::PendingIncident));
                    }
                }
                "final" => {
                    let to = if u.solves && state.is_active() {
                        Some(TicketState::Solved)
                    } else if state == TicketState::PendingIncident {
                        Some(TicketState::Open)
                    } else {
                        None
                    };
                    if let Some(to) = to {
                        patch.state = Some(to.as_str().to_owned());
                        events.push(state_change(&t.state, to));
                    }
                }
                _ => {}
            }
            // A message from the system moves no clock; a new state may (pause, solve).
            let moves_clocks = patch.state.is_some();
            let cs = ChangeSet {
                ticket_id: t.id,
                expected_version: t.version,
                actor: xdesk_domain::event::Actor::System,
                patch,
                events,
                message: Some(message),
                notices: Vec::new(),
                delivery: Some(DeliveryClaim {
                    id: d.id,
                    attempts: d.attempts,
                }),
            };
            match self.store.apply_change(cs).await {
                Ok(done) => {
                    self.publish_messages(&done.ticket, &done.messages, &done.attachments);
                    if moves_clocks {
                        self.sla_follow(&done.ticket, &[]).await;
                    }
                    return Ok(mailed);
                }
                Err(StoreError::StaleVersion(_)) => continue,
                Err(StoreError::Conflict(_)) => return Err(Undelivered::TakenOver),
                Err(e) => return Err(Undelivered::Retry(e.to_string())),
            }
        }
        Err(Undelivered::Retry("the ticket kept changing".into()))
    }

    async fn link_origin(&self, incident_id: i64, ticket_id: i64) -> String {
        match self.store.incident_link(incident_id, ticket_id).await {
            Ok(Some(l)) => l.linked_by,
            _ => "agent".into(),
        }
    }

    /// Follows new tickets for every open incident with a rule, linking those that match.
    /// Returns how many it linked. Safe on every node at once: a rule's position moves only
    /// where it was read.
    pub async fn run_incident_rules(&self) -> Result<usize, ServiceError> {
        let incidents = self.store.rule_incidents().await?;
        if incidents.is_empty() {
            return Ok(0);
        }
        let components = scopes(&self.store.components().await?);
        let mut linked = 0;
        for inc in incidents {
            let Some(rule) = inc
                .rule
                .as_deref()
                .and_then(|r| serde_json::from_str::<MatchRule>(r).ok())
            else {
                continue;
            };
            let mut from = inc.rule_scanned_to;
            loop {
                let batch = self.store.tickets_for_rules(from, RULE_BATCH).await?;
                let Some(last) = batch.last().map(|t| t.id) else {
                    break;
                };
                let matched: Vec<i64> = batch
                    .iter()
                    .filter(|t| {
                        !t.text.is_empty()
                            && rule.matches(
                                &TicketFacts {
                                    intent: t.intent.as_deref(),
                                    network: t.network.as_deref(),
                                    asset: t.asset.as_deref(),
                                    text: &t.text,
                                    created_at: t.created_at,
                                },
                                &components,
                            )
                    })
                    .map(|t| t.id)
                    .collect();
                let new = self
                    .store
                    .advance_rule(inc.id, from, last, &matched)
                    .await?;
                linked += new.len();
                if (batch.len() as u64) < RULE_BATCH {
                    break;
                }
                from = last;
            }
        }
        if linked > 0 {
            self.broadcast_changed();
        }
        Ok(linked)
    }

    /// Starts and completes maintenance windows whose time has come, with an update in both
    /// languages. Returns how many moved.
    pub async fn run_maintenance(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut moved = 0;
        for inc in self.store.due_maintenance(now).await? {
            let (Some(s), Some(e)) = (inc.starts_at, inc.ends_at) else {
                continue;
            };
            let Ok(status) = IncidentStatus::from_str(&inc.status) else {
                continue;
            };
            let Some(next) = maintenance_step(status, s, e, now) else {
                continue;
            };
            let (body, body_zh) = if next == IncidentStatus::InProgress {
                ("The scheduled maintenance has started.", "计划维护已开始。")
            } else {
                ("The scheduled maintenance is complete.", "计划维护已完成。")
            };
            let u = NewUpdate {
                status: next.as_str().to_owned(),
                body: body.into(),
                body_zh: body_zh.into(),
                internal: false,
                solves: false,
                author_id: None,
                // Its components take the window's state when it starts, and lose it when it
                // completes, as the incident's status settles them.
                components: None,
                next_update_at: None,
                expected_status: Some(inc.status.clone()),
            };
            match self.store.publish_update(inc.id, &u).await {
                Ok(_) => moved += 1,
                // Another node moved it first.
                Err(StoreError::StaleVersion(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if moved > 0 {
            self.broadcast_changed();
        }
        Ok(moved)
    }
}

fn state_change(from: &str, to: TicketState) -> EventKind {
    let mut changes = BTreeMap::new();
    changes.insert("state".to_owned(), [json!(from), json!(to.as_str())]);
    EventKind::Updated { changes }
}

/// Why a delivery was not posted.
enum Undelivered {
    /// Its ticket or incident is gone or closed: failed for good.
    Gone(String),
    /// Another sender holds it now.
    TakenOver,
    /// Try again later.
    Retry(String),
}

/// What a customer is told about an incident their ticket waits on.
#[derive(Debug, Clone)]
pub struct IncidentNotice {
    pub incident: IncidentView,
    /// Its latest public update (never an internal note), if it has one.
    pub latest: Option<UpdateView>,
}

impl Services {
    /// The incidents a ticket is linked to, each with its latest public update: for the
    /// portal, where a waiting customer must see why, and for the ticket pane's banner.
    /// Whoever may read the ticket may read this (customers included): it holds nothing the
    /// update broadcast did not already send them.
    pub async fn ticket_incident_notices(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<Vec<IncidentNotice>, ServiceError> {
        let incidents = self.ticket_incidents(p, ticket_id).await?;
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let updates = self.store.incident_updates(&ids).await?;
        Ok(incidents
            .into_iter()
            .map(|incident| IncidentNotice {
                latest: updates
                    .iter()
                    .filter(|u| u.incident_id == incident.id && !u.internal)
                    .max_by_key(|u| u.id)
                    .cloned()
                    .map(|u| UpdateView::of(u, None)),
                incident,
            })
            .collect())
    }
}
