//! The public status page's data: what anyone may read without signing in (components and
//! their states, public updates of incidents and maintenance, the last 90 days per component),
//! in the shapes the page, Statuspage's public v2 JSON and an Atom feed need.
//!
//! Nothing here takes a [`crate::Principal`]: everything it returns is public by construction
//! (internal notes, rules, linked tickets and authors never enter a [`StatusSnapshot`]). The
//! snapshot is built once per `status_revision` (which every change of a component or an
//! incident moves) and per minute (days roll over, maintenance windows open), and what is
//! rendered from it is kept beside it, so a page view costs one small query.

use crate::{ServiceError, Services};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use xdesk_domain::incident::{
    Bilingual, ComponentScope, ComponentStatus, Impact, IncidentKind, IncidentStatus, Indicator,
    MatchRule, Spell, TicketFacts, daily_worst, uptime,
};
use xdesk_store::{ComponentRow, IncidentRow, IncidentUpdateRow};

/// Days of history the page shows.
pub const HISTORY_DAYS: i64 = 90;
/// How long a snapshot is good for when nothing changed (relative times, the day's bar).
const BUCKET_SECS: i64 = 60;

/// The status page's settings and its cache.
#[derive(Debug)]
pub struct StatusPage {
    /// The page's name ("Example Exchange Status"); the brand when empty.
    pub name: String,
    /// Where a static copy is written after each change, when set.
    pub export_dir: Option<PathBuf>,
    cache: Mutex<Option<Cached>>,
    /// Subscriptions asked per client address: each one sends a mail.
    pub(crate) subscribe_limiter: crate::ratelimit::KeyedLimiter,
    /// This node's name when it holds the subscribers' mail feed.
    pub(crate) node: String,
}

impl Default for StatusPage {
    fn default() -> Self {
        Self::new("", None)
    }
}

#[derive(Debug)]
struct Cached {
    key: (i64, i64),
    snapshot: Arc<StatusSnapshot>,
    /// What was rendered from this snapshot, by what and language ("html:en", "summary").
    rendered: HashMap<String, Arc<str>>,
}

impl StatusPage {
    pub fn new(name: impl Into<String>, export_dir: Option<PathBuf>) -> Self {
        Self {
            name: name.into(),
            export_dir,
            cache: Mutex::new(None),
            subscribe_limiter: crate::ratelimit::KeyedLimiter::new(
                crate::ratelimit::Rule::new(5, 600),
                10_000,
            ),
            node: crate::portal::random_token(),
        }
    }
}

/// Everything the public page shows, at one revision.
#[derive(Debug, Clone)]
pub struct StatusSnapshot {
    pub revision: i64,
    pub generated_at: DateTime<Utc>,
    pub page_name: String,
    /// The page's address (`…/status`).
    pub url: String,
    pub indicator: Indicator,
    /// Parents before their children, each level by position.
    pub components: Vec<PublicComponent>,
    /// The days the bars cover, oldest first.
    pub days: Vec<NaiveDate>,
    /// Open incidents, newest first.
    pub active: Vec<PublicIncident>,
    /// Maintenance scheduled or under way, soonest first.
    pub maintenance: Vec<PublicIncident>,
    /// Incidents and maintenance over in the last 90 days, newest first.
    pub history: Vec<PublicIncident>,
    /// What tickets about each component look like, for notices before a customer writes.
    scopes: Vec<ComponentScope>,
}

/// An open incident's latest public update, shown to a customer before they write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub incident_id: i64,
    pub title: String,
    /// The status in words, in the reader's language.
    pub status: &'static str,
    pub body: String,
    pub updated_at: DateTime<Utc>,
    /// The incident's page on the status page.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct PublicComponent {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// 0 for a top-level component.
    pub depth: usize,
    /// It has sub-components.
    pub group: bool,
    pub name: Bilingual,
    pub description: String,
    pub position: i32,
    pub status: ComponentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The worst state of each of [`StatusSnapshot::days`] (its own and its sub-components').
    pub days: Vec<ComponentStatus>,
    /// Share of the 90 days without an outage.
    pub uptime: f64,
}

impl PublicComponent {
    pub fn name_for(&self, language: &str) -> &str {
        self.name.for_language(language)
    }

    /// "99.95" for the page.
    pub fn uptime_percent(&self) -> String {
        format!("{:.2}", self.uptime * 100.0)
    }
}

#[derive(Debug, Clone)]
pub struct PublicIncident {
    pub id: i64,
    pub kind: IncidentKind,
    pub name: Bilingual,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Public updates only, newest first.
    pub updates: Vec<PublicUpdate>,
    /// The components it touches and what it does to them.
    pub components: Vec<(i64, ComponentStatus)>,
}

impl PublicIncident {
    pub fn name_for(&self, language: &str) -> &str {
        self.name.for_language(language)
    }

    /// When it first went to monitoring, as Statuspage's `monitoring_at`.
    pub fn monitoring_at(&self) -> Option<DateTime<Utc>> {
        self.updates
            .iter()
            .filter(|u| u.status == IncidentStatus::Monitoring)
            .map(|u| u.created_at)
            .min()
    }

    pub fn latest(&self) -> Option<&PublicUpdate> {
        self.updates.first()
    }
}

#[derive(Debug, Clone)]
pub struct PublicUpdate {
    pub id: i64,
    pub status: IncidentStatus,
    pub body: Bilingual,
    pub created_at: DateTime<Utc>,
    /// Components as this update left them.
    pub components: Vec<(i64, ComponentStatus)>,
}

fn public_update(u: &IncidentUpdateRow) -> Option<PublicUpdate> {
    if u.internal {
        return None;
    }
    let components: HashMap<String, String> =
        serde_json::from_str(&u.components).unwrap_or_default();
    let mut components: Vec<(i64, ComponentStatus)> = components
        .into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, ComponentStatus::from_str(&v).ok()?)))
        .collect();
    components.sort_unstable_by_key(|c| c.0);
    Some(PublicUpdate {
        id: u.id,
        status: IncidentStatus::from_str(&u.status).ok()?,
        body: Bilingual::new(u.body.clone(), u.body_zh.clone()),
        created_at: u.created_at,
        components,
    })
}

/// An incident as the public sees it, or `None` for one not yet published.
fn public_incident(
    i: &IncidentRow,
    updates: &[IncidentUpdateRow],
    components: &[(i64, i64, String)],
) -> Option<PublicIncident> {
    let mut ups: Vec<PublicUpdate> = updates
        .iter()
        .filter(|u| u.incident_id == i.id)
        .filter_map(public_update)
        .collect();
    ups.sort_by_key(|u| std::cmp::Reverse(u.id));
    let mut comps: Vec<(i64, ComponentStatus)> = components
        .iter()
        .filter(|c| c.0 == i.id)
        .filter_map(|c| Some((c.1, ComponentStatus::from_str(&c.2).ok()?)))
        .collect();
    comps.sort_unstable_by_key(|c| c.0);
    Some(PublicIncident {
        id: i.id,
        kind: IncidentKind::from_str(&i.kind).ok()?,
        name: Bilingual::new(i.title.clone(), i.title_zh.clone()),
        status: IncidentStatus::from_str(&i.status).ok()?,
        impact: Impact::from_str(&i.impact).unwrap_or(Impact::None),
        created_at: i.created_at,
        updated_at: i.updated_at,
        resolved_at: i.resolved_at,
        starts_at: i.starts_at,
        ends_at: i.ends_at,
        updates: ups,
        components: comps,
    })
}

/// Parents before children, siblings by position then id; depth beside each.
fn tree_order(rows: &[ComponentRow]) -> Vec<(usize, &ComponentRow)> {
    fn walk<'a>(
        parent: Option<i64>,
        depth: usize,
        rows: &'a [ComponentRow],
        out: &mut Vec<(usize, &'a ComponentRow)>,
    ) {
        let mut kids: Vec<&ComponentRow> = rows.iter().filter(|c| c.parent_id == parent).collect();
        kids.sort_by_key(|c| (c.position, c.id));
        for k in kids {
            if out.iter().any(|(_, c)| c.id == k.id) || depth > 16 {
                continue;
            }
            out.push((depth, k));
            walk(Some(k.id), depth + 1, rows, out);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    walk(None, 0, rows, &mut out);
    // A component whose parent is gone still shows, at the top.
    for r in rows {
        if !out.iter().any(|(_, c)| c.id == r.id) {
            out.push((0, r));
        }
    }
    out
}

fn descendants(root: i64, rows: &[ComponentRow]) -> Vec<i64> {
    let mut ids = vec![root];
    let mut i = 0;
    while i < ids.len() && ids.len() <= rows.len() {
        let p = ids[i];
        ids.extend(rows.iter().filter(|c| c.parent_id == Some(p)).map(|c| c.id));
        i += 1;
    }
    ids
}

impl Services {
    /// The public snapshot, built at most once per revision and minute on this node.
    pub async fn status_snapshot(&self) -> Result<Arc<StatusSnapshot>, ServiceError> {
        let revision = self.store.status_revision().await?;
        let now = self.now();
        let key = (revision, now.timestamp().div_euclid(BUCKET_SECS));
        if let Ok(c) = self.status_page.cache.lock()
            && let Some(c) = c.as_ref()
            && c.key == key
        {
            return Ok(c.snapshot.clone());
        }
        let snapshot = Arc::new(self.build_status_snapshot(revision, now).await?);
        if let Ok(mut c) = self.status_page.cache.lock() {
            *c = Some(Cached {
                key,
                snapshot: snapshot.clone(),
                rendered: HashMap::new(),
            });
        }
        Ok(snapshot)
    }

    /// What `render` makes of the current snapshot, made once per snapshot and `what`.
    pub async fn status_rendered(
        &self,
        what: &str,
        render: impl FnOnce(&StatusSnapshot) -> String,
    ) -> Result<Arc<str>, ServiceError> {
        let snapshot = self.status_snapshot().await?;
        if let Ok(c) = self.status_page.cache.lock()
            && let Some(c) = c.as_ref()
            && Arc::ptr_eq(&c.snapshot, &snapshot)
            && let Some(r) = c.rendered.get(what)
        {
            return Ok(r.clone());
        }
        let out: Arc<str> = render(&snapshot).into();
        if let Ok(mut c) = self.status_page.cache.lock()
            && let Some(c) = c.as_mut()
            && Arc::ptr_eq(&c.snapshot, &snapshot)
        {
            c.rendered.insert(what.to_owned(), out.clone());
        }
        Ok(out)
    }

    /// One incident's public page: from the snapshot when it is recent, else read.
    pub async fn status_incident(&self, id: i64) -> Result<PublicIncident, ServiceError> {
        let snap = self.status_snapshot().await?;
        if let Some(i) = snap
            .active
            .iter()
            .chain(&snap.maintenance)
            .chain(&snap.history)
            .find(|i| i.id == id)
        {
            return Ok(i.clone());
        }
        let row = self
            .store
            .incident(id)
            .await?
            .ok_or(ServiceError::NotFound("incident"))?;
        let updates = self.store.incident_updates(&[id]).await?;
        let comps: Vec<(i64, i64, String)> = self
            .store
            .incident_components(&[id])
            .await?
            .into_iter()
            .map(|c| (c.incident_id, c.component_id, c.status))
            .collect();
        public_incident(&row, &updates, &comps)
            .filter(|i| !i.updates.is_empty())
            .ok_or(ServiceError::NotFound("incident"))
    }

    async fn build_status_snapshot(
        &self,
        revision: i64,
        now: DateTime<Utc>,
    ) -> Result<StatusSnapshot, ServiceError> {
        let since = now - Duration::days(HISTORY_DAYS);
        let rows = self.store.components().await?;
        let spells = self.store.component_spells(since).await?;
        let incidents = self.store.incidents_since(since).await?;
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let updates = self.store.incident_updates(&ids).await?;
        let comps: Vec<(i64, i64, String)> = self
            .store
            .incident_components(&ids)
            .await?
            .into_iter()
            .map(|c| (c.incident_id, c.component_id, c.status))
            .collect();
        let today = now.date_naive();
        let days: Vec<NaiveDate> = (0..HISTORY_DAYS)
            .rev()
            .filter_map(|d| today.checked_sub_signed(Duration::days(d)))
            .collect();
        let from = days
            .first()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(since, |t| t.and_utc());
        let components: Vec<PublicComponent> = tree_order(&rows)
            .into_iter()
            .map(|(depth, c)| {
                let mine = descendants(c.id, &rows);
                let sp: Vec<Spell> = spells
                    .iter()
                    .filter(|s| mine.contains(&s.component_id))
                    .filter_map(|s| {
                        Some(Spell {
                            from: s.started_at,
                            until: s.ended_at,
                            status: ComponentStatus::from_str(&s.status).ok()?,
                        })
                    })
                    .collect();
                PublicComponent {
                    id: c.id,
                    parent_id: c.parent_id,
                    depth,
                    group: mine.len() > 1,
                    name: Bilingual::new(c.name.clone(), c.name_zh.clone()),
                    description: c.description.clone(),
                    position: c.position,
                    status: ComponentStatus::from_str(&c.status)
                        .unwrap_or(ComponentStatus::Operational),
                    created_at: c.created_at,
                    updated_at: c.updated_at,
                    days: daily_worst(&sp, &days, now),
                    uptime: uptime(&sp, from, now),
                }
            })
            .collect();
        let mut active = Vec::new();
        let mut maintenance = Vec::new();
        let mut history = Vec::new();
        for i in &incidents {
            let Some(p) = public_incident(i, &updates, &comps) else {
                continue;
            };
            if p.updates.is_empty() {
                continue;
            }
            if p.status.is_final() {
                history.push(p);
            } else if p.kind == IncidentKind::Maintenance {
                maintenance.push(p);
            } else {
                active.push(p);
            }
        }
        maintenance.sort_by_key(|m| (m.starts_at, m.id));
        history.sort_by(|a, b| b.resolved_at.cmp(&a.resolved_at).then(b.id.cmp(&a.id)));
        let open_impacts: Vec<Impact> = active.iter().map(|i| i.impact).collect();
        let states: Vec<ComponentStatus> = components.iter().map(|c| c.status).collect();
        Ok(StatusSnapshot {
            revision,
            generated_at: now,
            page_name: self.status_page_name(),
            url: self.status_url(),
            indicator: Indicator::overall(&states, &open_impacts),
            components,
            days,
            active,
            maintenance,
            history,
            scopes: rows
                .iter()
                .map(|c| ComponentScope {
                    id: c.id,
                    parent_id: c.parent_id,
                    network: c.network.clone(),
                    intents: serde_json::from_str(&c.intents).unwrap_or_default(),
                })
                .collect(),
        })
    }

    /// The notices a customer should read before writing, in `language`: every open incident
    /// and maintenance under way, or (with `about`: the intent and network of what they are
    /// about to ask) only those whose components concern it.
    pub async fn status_notices(
        &self,
        language: &str,
        about: Option<(Option<&str>, Option<&str>)>,
    ) -> Result<Vec<Notice>, ServiceError> {
        let snap = self.status_snapshot().await?;
        Ok(snap.notices(language, about, self.now()))
    }

    /// Counts that a visitor saw notices (`visitor` is their cookie; only its hash is kept),
    /// once per visitor and incident.
    pub async fn record_notice_views(
        &self,
        visitor: &str,
        surface: &str,
        incidents: &[i64],
    ) -> Result<(), ServiceError> {
        if visitor.is_empty() {
            return Ok(());
        }
        let v = visitor_hash(visitor);
        for id in incidents {
            self.store.record_incident_view(*id, &v, surface).await?;
        }
        Ok(())
    }

    /// The notices the chat widget shows before a visitor writes: every open incident and
    /// maintenance under way (nothing tells yet what they will ask about).
    pub async fn chat_notices(&self, language: &str) -> Result<Vec<Notice>, ServiceError> {
        self.status_notices(language, None).await
    }

    /// The visitor opened the widget and had these notices in front of them. Only incidents
    /// that are still shown count, so a client cannot inflate another incident's figures.
    pub async fn chat_notices_seen(
        &self,
        v: &crate::chat::ChatVisitor,
        incidents: &[i64],
    ) -> Result<(), ServiceError> {
        let Some(visitor) = v.notice_key() else {
            return Ok(());
        };
        let shown: Vec<i64> = self
            .chat_notices(&v.language)
            .await?
            .iter()
            .map(|n| n.incident_id)
            .filter(|id| incidents.contains(id))
            .collect();
        self.record_notice_views(&visitor, "chat", &shown).await
    }

    /// A visitor who saw notices opened a ticket anyway.
    pub async fn notice_then_wrote(
        &self,
        visitor: &str,
        ticket_id: i64,
    ) -> Result<(), ServiceError> {
        if visitor.is_empty() {
            return Ok(());
        }
        Ok(self
            .store
            .incident_view_opened(&visitor_hash(visitor), ticket_id)
            .await?)
    }

    /// The page's name, as configured.
    pub fn status_page_name(&self) -> String {
        let n = self.status_page.name.trim();
        if n.is_empty() {
            "xdesk status".to_owned()
        } else {
            n.to_owned()
        }
    }
}

/// A visitor's cookie as the views table keeps it: never the cookie itself.
fn visitor_hash(visitor: &str) -> String {
    crate::auth::sha256_hex(&format!("xdesk incident view\0{visitor}"))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Statuspage's page id: a stable word for the page.
const PAGE_ID: &str = "xdesk";

impl StatusSnapshot {
    /// See [`Services::status_notices`].
    pub fn notices(
        &self,
        language: &str,
        about: Option<(Option<&str>, Option<&str>)>,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        self.active
            .iter()
            .chain(
                self.maintenance
                    .iter()
                    .filter(|m| m.status != IncidentStatus::Scheduled),
            )
            .filter(|i| match about {
                None => true,
                Some((intent, network)) => {
                    let rule = MatchRule {
                        components: i.components.iter().map(|c| c.0).collect(),
                        ..Default::default()
                    };
                    !rule.components.is_empty()
                        && rule.matches(
                            &TicketFacts {
                                intent,
                                network,
                                asset: None,
                                text: "",
                                created_at: now,
                            },
                            &self.scopes,
                        )
                }
            })
            .filter_map(|i| {
                let u = i.latest()?;
                Some(Notice {
                    incident_id: i.id,
                    title: i.name_for(language).to_owned(),
                    status: crate::incidents::status_words(u.status.as_str(), language),
                    body: u.body.for_language(language).to_owned(),
                    updated_at: u.created_at,
                    url: format!("{}/incidents/{}", self.url, i.id),
                })
            })
            .collect()
    }

    fn page_json(&self) -> Value {
        json!({
            "id": PAGE_ID,
            "name": self.page_name,
            "url": self.url,
            "time_zone": "Etc/UTC",
            "updated_at": ts(self.updated_at()),
        })
    }

    /// The latest change anything on the page shows.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.components
            .iter()
            .map(|c| c.updated_at)
            .chain(
                self.active
                    .iter()
                    .chain(&self.maintenance)
                    .chain(&self.history)
                    .map(|i| i.updated_at),
            )
            .max()
            .unwrap_or(self.generated_at)
    }

    pub fn component(&self, id: i64) -> Option<&PublicComponent> {
        self.components.iter().find(|c| c.id == id)
    }

    fn component_json(&self, c: &PublicComponent, language: &str) -> Value {
        let children: Vec<String> = self
            .components
            .iter()
            .filter(|k| k.parent_id == Some(c.id))
            .map(|k| k.id.to_string())
            .collect();
        let mut v = json!({
            "id": c.id.to_string(),
            "name": c.name_for(language),
            "status": c.status.as_str(),
            "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at),
            "position": c.position,
            "description": if c.description.is_empty() { Value::Null } else { Value::String(c.description.clone()) },
            "showcase": true,
            "start_date": c.created_at.date_naive().to_string(),
            "group_id": c.parent_id.map(|p| p.to_string()),
            "page_id": PAGE_ID,
            "group": !children.is_empty(),
            "only_show_if_degraded": false,
        });
        if !children.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.insert("components".into(), json!(children));
        }
        v
    }

    fn incident_json(&self, i: &PublicIncident, language: &str) -> Value {
        let name_of = |id: i64| {
            self.component(id)
                .map(|c| c.name_for(language).to_owned())
                .unwrap_or_default()
        };
        // Oldest first to find what each update changed, then newest first as Statuspage lists.
        let mut before: HashMap<i64, ComponentStatus> = HashMap::new();
        let mut ups: Vec<Value> = i
            .updates
            .iter()
            .rev()
            .map(|u| {
                let affected: Vec<Value> = u
                    .components
                    .iter()
                    .map(|(id, s)| {
                        let old = before
                            .insert(*id, *s)
                            .unwrap_or(ComponentStatus::Operational);
                        json!({
                            "code": id.to_string(),
                            "name": name_of(*id),
                            "old_status": old.as_str(),
                            "new_status": s.as_str(),
                        })
                    })
                    .collect();
                json!({
                    "id": u.id.to_string(),
                    "status": u.status.as_str(),
                    "body": u.body.for_language(language),
                    "incident_id": i.id.to_string(),
                    "created_at": ts(u.created_at),
                    "updated_at": ts(u.created_at),
                    "display_at": ts(u.created_at),
                    "affected_components": affected,
                    "deliver_notifications": true,
                    "custom_tweet": null,
                    "tweet_id": null,
                })
            })
            .collect();
        ups.reverse();
        let components: Vec<Value> = i
            .components
            .iter()
            .filter_map(|(id, _)| self.component(*id))
            .map(|c| self.component_json(c, language))
            .collect();
        let maintenance = i.kind == IncidentKind::Maintenance;
        let mut v = json!({
            "id": i.id.to_string(),
            "name": i.name_for(language),
            "status": i.status.as_str(),
            "created_at": ts(i.created_at),
            "updated_at": ts(i.updated_at),
            "monitoring_at": opt_ts(i.monitoring_at()),
            "resolved_at": opt_ts(i.resolved_at),
            "impact": if maintenance { "maintenance" } else { i.impact.as_str() },
            "shortlink": format!("{}/incidents/{}", self.url, i.id),
            "started_at": ts(i.starts_at.unwrap_or(i.created_at)),
            "page_id": PAGE_ID,
            "incident_updates": ups,
            "components": components,
        });
        if maintenance && let Some(o) = v.as_object_mut() {
            o.insert("scheduled_for".into(), opt_ts(i.starts_at));
            o.insert("scheduled_until".into(), opt_ts(i.ends_at));
        }
        v
    }

    fn status_json(&self, language: &str) -> Value {
        json!({
            "indicator": self.indicator.as_str(),
            "description": self.indicator.description(language),
        })
    }

    fn components_json(&self, language: &str) -> Vec<Value> {
        self.components
            .iter()
            .map(|c| self.component_json(c, language))
            .collect()
    }

    /// Statuspage's `summary.json`: the page, every component, unresolved incidents, and
    /// maintenance upcoming or under way.
    pub fn summary_json(&self, language: &str) -> Value {
        json!({
            "page": self.page_json(),
            "components": self.components_json(language),
            "incidents": self.active.iter().map(|i| self.incident_json(i, language)).collect::<Vec<_>>(),
            "scheduled_maintenances": self.maintenance.iter().map(|i| self.incident_json(i, language)).collect::<Vec<_>>(),
            "status": self.status_json(language),
        })
    }

    /// Statuspage's `status.json`.
    pub fn status_only_json(&self, language: &str) -> Value {
        json!({"page": self.page_json(), "status": self.status_json(language)})
    }

    /// Statuspage's `components.json`.
    pub fn components_only_json(&self, language: &str) -> Value {
        json!({"page": self.page_json(), "components": self.components_json(language)})
    }

    /// Statuspage's `incidents.json`: the 50 latest incidents, open or not.
    pub fn incidents_json(&self, language: &str) -> Value {
        self.latest_json("incidents", &self.active, IncidentKind::Incident, language)
    }

    /// Statuspage's `scheduled-maintenances.json`: the 50 latest, in every status.
    pub fn maintenances_json(&self, language: &str) -> Value {
        self.latest_json(
            "scheduled_maintenances",
            &self.maintenance,
            IncidentKind::Maintenance,
            language,
        )
    }

    /// The 50 latest of one kind, the open ones and those in the history, under `key`.
    fn latest_json(
        &self,
        key: &str,
        open: &[PublicIncident],
        kind: IncidentKind,
        language: &str,
    ) -> Value {
        let mut all: Vec<&PublicIncident> = open
            .iter()
            .chain(self.history.iter().filter(|i| i.kind == kind))
            .collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        all.truncate(50);
        let list: Vec<Value> = all
            .into_iter()
            .map(|i| self.incident_json(i, language))
            .collect();
        let mut v = json!({ "page": self.page_json() });
        if let Some(o) = v.as_object_mut() {
            o.insert(key.to_owned(), Value::Array(list));
        }
        v
    }

    /// An Atom 1.0 feed with one entry per incident or maintenance (open or of the last 90
    /// days), its content the public updates, newest first.
    pub fn atom_feed(&self, language: &str) -> String {
        let mut all: Vec<&PublicIncident> = self
            .active
            .iter()
            .chain(&self.maintenance)
            .chain(&self.history)
            .collect();
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        let lang = if language.starts_with("zh") {
            "zh-CN"
        } else {
            "en"
        };
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        out.push_str(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{}/feed.atom\"/>\n<author><name>{}</name></author>\n",
            xml(&self.url),
            xml(&self.page_name),
            ts(self.updated_at()),
            xml(&self.url),
            xml(&self.url),
            xml(&self.page_name),
        ));
        for i in all {
            let link = format!("{}/incidents/{}", self.url, i.id);
            let mut html = String::new();
            for u in &i.updates {
                html.push_str(&format!(
                    "<p><small>{}</small> <strong>{}</strong> - {}</p>",
                    u.created_at.format("%Y-%m-%d %H:%M UTC"),
                    xml(crate::incidents::status_words(u.status.as_str(), language)),
                    xml(u.body.for_language(language)).replace('\n', "<br>"),
                ));
            }
            out.push_str(&format!(
                "<entry>\n<id>{}</id>\n<title>{}</title>\n<published>{}</published>\n<updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<content type=\"html\">{}</content>\n</entry>\n",
                xml(&link),
                xml(i.name_for(language)),
                ts(i.created_at),
                ts(i.updated_at),
                xml(&link),
                xml(&html),
            ));
        }
        out.push_str("</feed>\n");
        out
    }
}

/// Text made safe inside XML elements and attributes.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(xml("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
    }
}
