//! The console's incident pages: the list, a new incident (from scratch, from a ticket or from
//! a surge's words), an incident's page (its timeline, an update composed in both languages
//! with what a customer gets, the linked tickets by state and channel with each one's
//! delivery), linking tickets by hand from the ticket pane, and the components' admin page.
//! Every agent reads; only supervisors and admins see the publishing controls (the service
//! refuses everyone else anyway).

use crate::UiState;
use crate::i18n::Tr;
use crate::page::{Ctx, Fields, PeerIp, SignedIn, field, local_path};
use crate::pages::ticket::when;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::incident::{
    Bilingual, ComponentStatus, Impact, IncidentKind, IncidentStatus, MatchRule,
};
use xdesk_domain::ticket::TicketNumber;
use xdesk_service::incidents::{
    ComponentSpec, DeliveriesView, IncidentDetail, IncidentSpec, IncidentView, UpdateSpec,
    update_message,
};
use xdesk_service::{Principal, ServiceError, Services};
use xdesk_store::{ComponentRow, LinkedTicket};

/// The `datetime-local` format the forms use; times are UTC, and the labels say so.
const LOCAL: &str = "%Y-%m-%dT%H:%M";

fn local(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format(LOCAL).to_string()).unwrap_or_default()
}

/// A `datetime-local` value as UTC; empty is none, anything unreadable is the field's error.
fn parse_time(name: &str, v: &str) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(v, LOCAL)
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| Some(t.and_utc()))
        .map_err(|_| {
            xdesk_domain::FieldError::new(name, "invalid_time", format!("{v:?} is not a time"))
                .into()
        })
}

/// Comma- (or Chinese comma-, or newline-) separated values, trimmed, empty ones dropped.
fn split_values(v: &str) -> Vec<String> {
    v.split([',', '，', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn all<'a>(f: &'a Fields, name: &str) -> Vec<&'a str> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
        .collect()
}

fn ids(f: &Fields, name: &str) -> Result<Vec<i64>, ServiceError> {
    all(f, name)
        .into_iter()
        .map(|v| {
            v.parse().map_err(|_| {
                xdesk_domain::FieldError::new(name, "invalid", format!("{v:?} is not an id")).into()
            })
        })
        .collect()
}

/// The match rule a form describes, or none when every dimension is empty.
fn rule_of(f: &Fields) -> Result<Option<MatchRule>, ServiceError> {
    let rule = MatchRule {
        intents: all(f, "rule_intents")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        networks: all(f, "rule_networks")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        assets: split_values(field(f, "rule_assets")),
        components: ids(f, "rule_components")?,
        words: split_values(field(f, "rule_words")),
        since: parse_time("rule.since", field(f, "rule_since"))?,
    };
    let empty = rule.intents.is_empty()
        && rule.networks.is_empty()
        && rule.assets.is_empty()
        && rule.components.is_empty()
        && rule.words.is_empty();
    Ok((!empty).then_some(rule))
}

/// The affected components a form gives: `comp_<id>` selects, empty for "not affected".
fn components_of(f: &Fields) -> Result<Vec<(i64, String)>, ServiceError> {
    let mut out = Vec::new();
    for (k, v) in f {
        if let Some(id) = k.strip_prefix("comp_")
            && !v.is_empty()
        {
            let id = id.parse().map_err(|_| {
                ServiceError::from(xdesk_domain::FieldError::new(
                    "components",
                    "invalid",
                    format!("{id:?} is not a component"),
                ))
            })?;
            out.push((id, v.clone()));
        }
    }
    Ok(out)
}

/// A component in the tree, indented under its parent.
pub(crate) struct TreeItem {
    pub id: i64,
    pub depth: usize,
    pub name: String,
    /// Its own state (outside any incident).
    pub status: String,
    /// The state the incident (or the form) gives it; empty when not affected.
    pub chosen: String,
    pub row: ComponentRow,
}

/// Components parent first, siblings by position then name, each with its depth.
fn tree(rows: &[ComponentRow], tr: &Tr, chosen: &[(i64, String)]) -> Vec<TreeItem> {
    fn walk(
        parent: Option<i64>,
        depth: usize,
        rows: &[ComponentRow],
        tr: &Tr,
        chosen: &[(i64, String)],
        out: &mut Vec<TreeItem>,
    ) {
        let mut kids: Vec<&ComponentRow> = rows.iter().filter(|c| c.parent_id == parent).collect();
        kids.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
        for c in kids {
            // A loop in stored data must not hang the page.
            if depth > 8 || out.iter().any(|o| o.id == c.id) {
                continue;
            }
            out.push(TreeItem {
                id: c.id,
                depth,
                name: component_name(c, tr),
                status: c.status.clone(),
                chosen: chosen
                    .iter()
                    .find(|(id, _)| *id == c.id)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default(),
                row: c.clone(),
            });
            walk(Some(c.id), depth + 1, rows, tr, chosen, out);
        }
    }
    let mut out = Vec::new();
    walk(None, 0, rows, tr, chosen, &mut out);
    // Orphans (a parent deleted meanwhile) still show, at the top level.
    for c in rows {
        if !out.iter().any(|o| o.id == c.id) {
            out.push(TreeItem {
                id: c.id,
                depth: 0,
                name: component_name(c, tr),
                status: c.status.clone(),
                chosen: String::new(),
                row: c.clone(),
            });
        }
    }
    out
}

fn component_name(c: &ComponentRow, tr: &Tr) -> String {
    if tr.lang.code().starts_with("zh") && !c.name_zh.is_empty() {
        c.name_zh.clone()
    } else {
        c.name.clone()
    }
}

fn publishes(me: &SignedIn) -> bool {
    me.principal.is_supervisor()
}

/// Choices every incident form offers.
pub(crate) struct Choices {
    pub component_statuses: Vec<&'static str>,
    pub impacts: Vec<&'static str>,
    pub incident_statuses: Vec<&'static str>,
    pub maintenance_statuses: Vec<&'static str>,
    pub intents: Vec<&'static str>,
    pub networks: Vec<(&'static str, &'static str)>,
}

impl Choices {
    fn new() -> Self {
        let statuses = |kind| {
            IncidentStatus::ALL
                .iter()
                .filter(|s| s.valid_for(kind))
                .map(|s| s.as_str())
                .collect()
        };
        Self {
            component_statuses: ComponentStatus::ALL
                .iter()
                .filter(|s| **s != ComponentStatus::Operational)
                .map(|s| s.as_str())
                .collect(),
            impacts: Impact::ALL.iter().map(|s| s.as_str()).collect(),
            incident_statuses: statuses(IncidentKind::Incident),
            maintenance_statuses: statuses(IncidentKind::Maintenance),
            intents: xdesk_domain::triage::Intent::ALL
                .iter()
                .map(|i| i.as_str())
                .collect(),
            networks: crate::pages::case::networks(),
        }
    }
}

// ---------------------------------------------------------------- the list

/// One incident as the list shows it.
pub(crate) struct Summary {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub impact: String,
    pub linked: u64,
    pub deliveries: DeliveriesView,
    pub next_update: String,
    /// "in 40 min" or "15 min overdue".
    pub next_in: String,
    /// The promised update time has passed and the incident is still open.
    pub overdue: bool,
    pub window: String,
    pub updated: String,
}

/// "5 min ago", or "just now".
fn ago(tr: &Tr, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let a = crate::pages::age(tr, t, now);
    if a == tr.t("age.now") {
        a
    } else {
        tr.t1("inc.ago", a)
    }
}

/// When the next update is due, relative to now (only for an open incident).
fn next_in(tr: &Tr, i: &IncidentView, open: bool, now: DateTime<Utc>) -> String {
    match i.next_update_at {
        Some(t) if open => crate::pages::inbox::due_text(tr, t, now),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    publishes: bool,
    open: Vec<Summary>,
    resolved: Vec<Summary>,
}

/// Resolved incidents the list shows below the open ones.
const RECENT_RESOLVED: usize = 20;

fn summary(d: IncidentDetail, tr: &Tr, now: DateTime<Utc>) -> Summary {
    let i = &d.incident;
    let open = IncidentStatus::from_str(&i.status).is_ok_and(|s| !s.is_final());
    Summary {
        id: i.id,
        kind: i.kind.clone(),
        title: i.title_for(tr.lang.code()).to_owned(),
        status: i.status.clone(),
        impact: i.impact.clone(),
        linked: d.linked,
        deliveries: d.deliveries.clone(),
        next_update: i.next_update_at.map(when).unwrap_or_default(),
        next_in: next_in(tr, i, open, now),
        overdue: open && i.next_update_at.is_some_and(|t| t < now),
        window: match (i.starts_at, i.ends_at) {
            (Some(s), Some(e)) => format!("{} – {}", when(s), when(e)),
            _ => String::new(),
        },
        updated: ago(tr, i.updated_at, now),
    }
}

pub(crate) async fn list(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    let p = &me.principal;
    let all = match s.services.list_incidents(p, false).await {
        Ok(a) => a,
        Err(e) => return ctx.service_error(&e),
    };
    let now = Utc::now();
    let (open, closed): (Vec<IncidentView>, Vec<IncidentView>) = all
        .into_iter()
        .partition(|i| IncidentStatus::from_str(&i.status).is_ok_and(|s| !s.is_final()));
    let mut page = ListPage {
        ctx: &ctx,
        agent_name: &me.agent.display_name,
        is_admin: p.is_admin(),
        publishes: publishes(&me),
        open: Vec::new(),
        resolved: Vec::new(),
    };
    for (from, into) in [
        (open, &mut page.open),
        (
            closed.into_iter().take(RECENT_RESOLVED).collect(),
            &mut page.resolved,
        ),
    ] {
        for i in from {
            match s.services.incident_detail(p, i.id).await {
                Ok(d) => into.push(summary(d, &ctx.tr, now)),
                Err(e) => return ctx.service_error(&e),
            }
        }
    }
    // Incidents before maintenance, the worst first, then the one promised soonest.
    page.open.sort_by_key(|s| {
        (
            s.kind != "incident",
            std::cmp::Reverse(Impact::from_str(&s.impact).map_or(0, |i| i as u8)),
            s.id,
        )
    });
    ctx.render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- a new incident

/// What the new-incident form holds (again, after a refusal).
#[derive(Default)]
pub(crate) struct Draft {
    pub kind: String,
    pub title: String,
    pub title_zh: String,
    pub impact: String,
    pub status: String,
    pub body: String,
    pub body_zh: String,
    pub next_update_at: String,
    pub starts_at: String,
    pub ends_at: String,
    pub components: Vec<(i64, String)>,
    pub rule_intents: Vec<String>,
    pub rule_networks: Vec<String>,
    pub rule_assets: String,
    pub rule_words: String,
    pub rule_components: Vec<i64>,
    pub rule_since: String,
    pub ticket: Option<i64>,
    /// The surge it starts from: (id, summary in English, in Chinese); its tickets are linked.
    pub surge: Option<(i64, String, String)>,
}

impl Draft {
    fn of(f: &Fields) -> Self {
        let own = |n: &str| field(f, n).to_owned();
        let many = |n: &str| all(f, n).into_iter().map(str::to_owned).collect();
        Draft {
            kind: own("kind"),
            title: own("title"),
            title_zh: own("title_zh"),
            impact: own("impact"),
            status: own("status"),
            body: own("body"),
            body_zh: own("body_zh"),
            next_update_at: own("next_update_at"),
            starts_at: own("starts_at"),
            ends_at: own("ends_at"),
            components: components_of(f).unwrap_or_default(),
            rule_intents: many("rule_intents"),
            rule_networks: many("rule_networks"),
            rule_assets: own("rule_assets"),
            rule_words: own("rule_words"),
            rule_components: ids(f, "rule_components").unwrap_or_default(),
            rule_since: own("rule_since"),
            ticket: field(f, "ticket").parse().ok(),
            surge: field(f, "surge")
                .parse()
                .ok()
                .map(|id| (id, String::new(), String::new())),
        }
    }

    fn rule_intent(&self, i: &str) -> bool {
        self.rule_intents.iter().any(|x| x == i)
    }

    fn rule_network(&self, n: &str) -> bool {
        self.rule_networks.iter().any(|x| x == n)
    }

    fn rule_component(&self, id: &i64) -> bool {
        self.rule_components.contains(id)
    }
}

#[derive(Template)]
#[template(path = "incident_new.html")]
struct NewPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    draft: Draft,
    /// The ticket it starts from: (id, number, subject).
    ticket: Option<(i64, String, String)>,
    components: Vec<TreeItem>,
    choices: Choices,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    ticket: Option<i64>,
    surge: Option<i64>,
    intent: Option<String>,
    network: Option<String>,
    asset: Option<String>,
    words: Option<String>,
    title: Option<String>,
}

pub(crate) async fn new_form(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Query(q): Query<NewQuery>,
) -> Response {
    if !publishes(&me) {
        return ctx.error(StatusCode::FORBIDDEN, ctx.tr.t("error.forbidden_text"));
    }
    let keep = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let mut draft = Draft {
        kind: "incident".into(),
        impact: "minor".into(),
        next_update_at: local(Some(compose_next(None, Utc::now()))),
        title: keep(&q.title),
        rule_assets: keep(&q.asset),
        rule_words: keep(&q.words),
        ..Draft::default()
    };
    draft
        .rule_intents
        .extend(q.intent.clone().filter(|v| !v.is_empty()));
    draft
        .rule_networks
        .extend(q.network.clone().filter(|v| !v.is_empty()));
    // From a surge alert: its rule, a title from its summary, and its tickets to link.
    if let Some(id) = q.surge {
        let surge = match s.services.surge(&me.principal, id).await {
            Ok(v) => v,
            Err(e) => return ctx.service_error(&e),
        };
        draft.rule_intents.extend(surge.intent.clone());
        draft.rule_networks.extend(surge.network.clone());
        if let Some(a) = &surge.asset {
            draft.rule_assets = a.clone();
        }
        draft.rule_words = surge.word_list().join(", ");
        let after = |text: &str, sep: char| {
            text.split_once(sep)
                .map_or(text, |(_, t)| t)
                .trim()
                .to_owned()
        };
        if draft.title.is_empty() {
            draft.title = after(&surge.summary_en, ':');
        }
        draft.title_zh = after(&surge.summary_zh, '：');
        draft.surge = Some((surge.id, surge.summary_en.clone(), surge.summary_zh.clone()));
    }
    let mut ticket = None;
    if let Some(id) = q.ticket {
        let d = match s
            .services
            .get_ticket(&me.principal, id, ip.as_deref())
            .await
        {
            Ok(d) => d,
            Err(e) => return ctx.service_error(&e),
        };
        let t = d.ticket;
        draft.rule_intents.extend(t.intent.clone());
        draft.rule_networks.extend(t.network.clone());
        if let Some(a) = &t.asset {
            draft.rule_assets = a.clone();
        }
        if draft.title.is_empty() {
            draft.title = t.subject.clone();
        }
        draft.ticket = Some(t.id);
        ticket = Some((t.id, TicketNumber::for_ticket(t.id).to_string(), t.subject));
    }
    render_new(&ctx, &me, &s.services, draft, ticket, None, StatusCode::OK).await
}

async fn render_new(
    ctx: &Ctx,
    me: &SignedIn,
    services: &Services,
    draft: Draft,
    ticket: Option<(i64, String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let rows = match services.list_components(&me.principal).await {
        Ok(r) => r,
        Err(e) => return ctx.service_error(&e),
    };
    let page = NewPage {
        ctx,
        agent_name: &me.agent.display_name,
        is_admin: me.principal.is_admin(),
        components: tree(&rows, &ctx.tr, &draft.components),
        draft,
        ticket,
        choices: Choices::new(),
        error,
    };
    ctx.render(status, &page)
}

fn spec_of(f: &Fields) -> Result<IncidentSpec, ServiceError> {
    let kind = field(f, "kind");
    let maintenance = kind == "maintenance";
    Ok(IncidentSpec {
        kind: Some(kind.to_owned()).filter(|k| !k.is_empty()),
        title: field(f, "title").to_owned(),
        title_zh: field(f, "title_zh").to_owned(),
        impact: Some(field(f, "impact").to_owned()).filter(|k| !k.is_empty()),
        status: Some(field(f, if maintenance { "mstatus" } else { "status" }).to_owned())
            .filter(|k| !k.is_empty()),
        body: field(f, "body").to_owned(),
        body_zh: field(f, "body_zh").to_owned(),
        components: components_of(f)?,
        rule: rule_of(f)?,
        next_update_at: parse_time("next_update_at", field(f, "next_update_at"))?,
        starts_at: if maintenance {
            parse_time("starts_at", field(f, "starts_at"))?
        } else {
            None
        },
        ends_at: if maintenance {
            parse_time("ends_at", field(f, "ends_at"))?
        } else {
            None
        },
        source_ticket_id: field(f, "ticket").parse().ok(),
    })
}

/// Links a surge's tickets (those the supervisor can see, at most a thousand) to the incident
/// started from it.
async fn link_surge(
    services: &Services,
    p: &Principal,
    incident: i64,
    surge: i64,
    ip: Option<String>,
) -> Result<(), ServiceError> {
    let row = services.surge(p, surge).await?;
    let tickets: Vec<i64> = row.ticket_id_list().into_iter().take(1000).collect();
    if tickets.is_empty() {
        return Ok(());
    }
    match services
        .link_to_incident(p, incident, &tickets, ip.as_deref())
        .await
    {
        // Some are out of the supervisor's sight: link the others one by one.
        Err(ServiceError::NotFound(_)) => {
            for t in tickets {
                match services
                    .link_to_incident(p, incident, &[t], ip.as_deref())
                    .await
                {
                    Ok(_) | Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        done => done.map(|_| ()),
    }
}

/// A refusal in words the form can show beside it.
fn words_of(e: &ServiceError) -> String {
    match e {
        ServiceError::Field(f) => format!("{}: {}", f.field, f.reason),
        other => other.to_string(),
    }
}

pub(crate) async fn create(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let done = match spec_of(&f) {
        Ok(spec) => {
            s.services
                .create_incident(&me.principal, spec, ip.as_deref())
                .await
        }
        Err(e) => Err(e),
    };
    let done = match (done, field(&f, "surge").parse::<i64>()) {
        (Ok(d), Ok(surge)) => link_surge(&s.services, &me.principal, d.incident.id, surge, ip)
            .await
            .map(|()| d),
        (done, _) => done,
    };
    match done {
        Ok(d) => Redirect::to(&format!("/console/incidents/{}", d.incident.id)).into_response(),
        Err(e @ (ServiceError::Field(_) | ServiceError::Conflict(_))) => {
            let draft = Draft::of(&f);
            let ticket = draft
                .ticket
                .map(|id| (id, TicketNumber::for_ticket(id).to_string(), String::new()));
            render_new(
                &ctx,
                &me,
                &s.services,
                draft,
                ticket,
                Some(words_of(&e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => ctx.service_error(&e),
    }
}

// ---------------------------------------------------------------- an incident's page

/// One entry of the timeline.
pub(crate) struct Entry {
    pub at: String,
    pub status: String,
    pub internal: bool,
    pub solves: bool,
    pub body: String,
    pub body_zh: String,
    pub author: String,
    pub deliveries: Option<DeliveriesView>,
}

/// Linked tickets of one state and channel.
pub(crate) struct Group {
    pub state: String,
    pub channel: String,
    pub tickets: Vec<Linked>,
    pub counts: DeliveriesView,
}

pub(crate) struct Linked {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub language: String,
    pub by_rule: bool,
    pub delivery: String,
    pub error: String,
}

/// Tickets a group lists; the counts cover them all.
const SHOWN_PER_GROUP: usize = 100;

#[derive(Template)]
#[template(path = "incident.html")]
struct DetailPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    publishes: bool,
    d: IncidentDetail,
    title: String,
    open: bool,
    maintenance: bool,
    overdue: bool,
    next_update: String,
    /// "in 40 min" or "15 min overdue".
    next_in: String,
    /// The compose box's next-update time: the promise standing, unless it is (nearly) due;
    /// then an hour from now, as a new update makes a new promise.
    compose_next: String,
    window: String,
    entries: Vec<Entry>,
    /// Affected components: (name, status).
    affected: Vec<(String, String)>,
    components: Vec<TreeItem>,
    statuses: Vec<&'static str>,
    groups: Vec<Group>,
    choices: Choices,
    /// The rule, for the edit form.
    rule: Draft,
    source: Option<String>,
    status_url: String,
    error: Option<String>,
}

impl DetailPage<'_> {
    /// A network as people name it (TRON, not `tron`).
    fn network_name(&self, n: &str) -> String {
        self.choices
            .networks
            .iter()
            .find(|(k, _)| *k == n)
            .map_or_else(|| n.to_owned(), |(_, name)| (*name).to_owned())
    }

    fn component_label(&self, id: &i64) -> String {
        self.components
            .iter()
            .find(|c| c.id == *id)
            .map_or_else(|| format!("#{id}"), |c| c.name.clone())
    }
}

fn count(c: &mut DeliveriesView, state: Option<&str>) {
    match state {
        Some("queued") => c.queued += 1,
        Some("sent") => c.sent += 1,
        Some("failed") => c.failed += 1,
        Some("bounced") => c.bounced += 1,
        _ => {}
    }
}

fn groups(linked: Vec<LinkedTicket>) -> Vec<Group> {
    let mut by: BTreeMap<(String, String), Group> = BTreeMap::new();
    for t in linked {
        let g = by
            .entry((t.state.clone(), t.channel.clone()))
            .or_insert_with(|| Group {
                state: t.state.clone(),
                channel: t.channel.clone(),
                tickets: Vec::new(),
                counts: DeliveriesView::default(),
            });
        count(&mut g.counts, t.delivery.as_deref());
        if g.tickets.len() < SHOWN_PER_GROUP {
            g.tickets.push(Linked {
                id: t.ticket_id,
                number: TicketNumber::for_ticket(t.ticket_id).to_string(),
                subject: t.subject,
                language: t.language,
                by_rule: t.linked_by == "rule",
                delivery: t.delivery.unwrap_or_default(),
                error: t.delivery_error.unwrap_or_default(),
            });
        }
    }
    let mut out: Vec<Group> = by.into_values().collect();
    // Tickets still waiting first: they are the customers the updates are for.
    out.sort_by_key(|g| {
        (
            g.state != "pending_incident",
            g.state.clone(),
            g.channel.clone(),
        )
    });
    out
}

pub(crate) async fn show(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
) -> Response {
    render_detail(&ctx, &me, &s.services, id, None, StatusCode::OK).await
}

async fn render_detail(
    ctx: &Ctx,
    me: &SignedIn,
    services: &Services,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match detail_page(ctx, me, services, id, error).await {
        Ok(page) => ctx.render(status, &page),
        Err(e) => ctx.service_error(&e),
    }
}

async fn detail_page<'a>(
    ctx: &'a Ctx,
    me: &'a SignedIn,
    services: &Services,
    id: i64,
    error: Option<String>,
) -> Result<DetailPage<'a>, ServiceError> {
    let p = &me.principal;
    let d = services.incident_detail(p, id).await?;
    let linked = services.incident_linked_tickets(p, id).await?;
    let rows = services.list_components(p).await?;
    let agents = services.list_agents(p).await.unwrap_or_default();
    let tr = &ctx.tr;
    let i = &d.incident;
    let kind = IncidentKind::from_str(&i.kind).unwrap_or(IncidentKind::Incident);
    let open = IncidentStatus::from_str(&i.status).is_ok_and(|s| !s.is_final());
    let entries = d
        .updates
        .iter()
        .map(|u| Entry {
            at: when(u.created_at),
            status: u.status.clone(),
            internal: u.internal,
            solves: u.solves,
            body: u.body.clone(),
            body_zh: u.body_zh.clone(),
            author: agents
                .iter()
                .find(|(a, _)| Some(a.id) == u.author_id)
                .map_or_else(|| tr.t("brand").to_owned(), |(a, _)| a.display_name.clone()),
            deliveries: u.deliveries.clone(),
        })
        .collect();
    let components = tree(&rows, tr, &d.components);
    let affected = d
        .components
        .iter()
        .map(|(cid, st)| {
            (
                components
                    .iter()
                    .find(|c| c.id == *cid)
                    .map_or_else(|| format!("#{cid}"), |c| c.name.clone()),
                st.clone(),
            )
        })
        .collect();
    let rule = i.rule.clone().unwrap_or_default();
    Ok(DetailPage {
        ctx,
        agent_name: &me.agent.display_name,
        is_admin: p.is_admin(),
        publishes: publishes(me),
        title: i.title_for(tr.lang.code()).to_owned(),
        open,
        maintenance: kind == IncidentKind::Maintenance,
        overdue: open && i.next_update_at.is_some_and(|t| t < Utc::now()),
        next_update: local(i.next_update_at),
        next_in: next_in(tr, i, open, Utc::now()),
        compose_next: local(Some(compose_next(i.next_update_at, Utc::now()))),
        window: match (i.starts_at, i.ends_at) {
            (Some(s), Some(e)) => format!("{} – {}", when(s), when(e)),
            _ => String::new(),
        },
        entries,
        affected,
        components,
        statuses: IncidentStatus::ALL
            .iter()
            .filter(|s| s.valid_for(kind))
            .map(|s| s.as_str())
            .collect(),
        groups: groups(linked),
        choices: Choices::new(),
        rule: Draft {
            rule_intents: rule.intents.clone(),
            rule_networks: rule.networks.clone(),
            rule_assets: rule.assets.join(", "),
            rule_words: rule.words.join(", "),
            rule_components: rule.components.clone(),
            rule_since: local(rule.since),
            starts_at: local(i.starts_at),
            ends_at: local(i.ends_at),
            ..Draft::default()
        },
        source: i
            .source_ticket_id
            .map(|t| TicketNumber::for_ticket(t).to_string()),
        status_url: services.status_url(),
        error,
        d,
    })
}

/// The next update a new update promises by default (see `DetailPage::compose_next`), on a
/// five-minute mark.
fn compose_next(standing: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    match standing {
        Some(t) if t > now + chrono::Duration::minutes(15) => t,
        _ => {
            let t = now + chrono::Duration::hours(1);
            let extra = t.timestamp() % 300;
            t + chrono::Duration::seconds(if extra == 0 { 0 } else { 300 - extra })
        }
    }
}

fn after(id: i64) -> Response {
    Redirect::to(&format!("/console/incidents/{id}")).into_response()
}

/// A refused form on the incident page: the page again with the reason at the top.
async fn refused(ctx: &Ctx, me: &SignedIn, s: &UiState, id: i64, e: ServiceError) -> Response {
    match e {
        ServiceError::Field(_) | ServiceError::Conflict(_) => {
            render_detail(
                ctx,
                me,
                &s.services,
                id,
                Some(words_of(&e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        e => ctx.service_error(&e),
    }
}

pub(crate) async fn post_update(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let internal = field(&f, "internal") == "1";
    let spec = (|| -> Result<UpdateSpec, ServiceError> {
        Ok(UpdateSpec {
            status: Some(field(&f, "status").to_owned()).filter(|v| !v.is_empty()),
            body: field(&f, "body").to_owned(),
            body_zh: field(&f, "body_zh").to_owned(),
            internal,
            solve_tickets: field(&f, "solve_tickets") == "1",
            components: (!internal && field(&f, "with_components") == "1")
                .then(|| components_of(&f))
                .transpose()?,
            next_update_at: parse_time("next_update_at", field(&f, "next_update_at"))?,
        })
    })();
    let done = match spec {
        Ok(spec) => {
            s.services
                .post_incident_update(&me.principal, id, spec, ip.as_deref())
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => after(id),
        Err(e) => refused(&ctx, &me, &s, id, e).await,
    }
}

pub(crate) async fn edit(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let spec = (|| -> Result<IncidentSpec, ServiceError> {
        Ok(IncidentSpec {
            title: field(&f, "title").to_owned(),
            title_zh: field(&f, "title_zh").to_owned(),
            impact: Some(field(&f, "impact").to_owned()).filter(|v| !v.is_empty()),
            rule: rule_of(&f)?,
            next_update_at: parse_time("next_update_at", field(&f, "next_update_at"))?,
            starts_at: parse_time("starts_at", field(&f, "starts_at"))?,
            ends_at: parse_time("ends_at", field(&f, "ends_at"))?,
            ..IncidentSpec::default()
        })
    })();
    let done = match spec {
        Ok(spec) => s
            .services
            .edit_incident(&me.principal, id, spec, ip.as_deref())
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => after(id),
        Err(e) => refused(&ctx, &me, &s, id, e).await,
    }
}

#[derive(Template)]
#[template(path = "incident_preview.html")]
struct Preview<'a> {
    ctx: &'a Ctx,
    /// (language code, what a customer in it gets).
    messages: Vec<(&'static str, String)>,
}

/// What a customer gets for the update being written, in each language: the compose box's
/// live preview. Pure formatting, but only for staff who may read the incident.
pub(crate) async fn preview(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let d = match s.services.incident_detail(&me.principal, id).await {
        Ok(d) => d,
        Err(e) => return ctx.service_error(&e),
    };
    let status = Some(field(&f, "status"))
        .filter(|v| !v.is_empty())
        .unwrap_or(&d.incident.status)
        .to_owned();
    let body = Bilingual::new(field(&f, "body").trim(), field(&f, "body_zh").trim());
    let messages = if body.en.is_empty() && body.zh.is_empty() {
        Vec::new()
    } else {
        ["en", "zh"]
            .into_iter()
            .map(|l| {
                (
                    l,
                    update_message(
                        d.incident.title_for(l),
                        &status,
                        body.for_language(l),
                        l,
                        &s.services.status_url(),
                    ),
                )
            })
            .collect()
    };
    ctx.render(
        StatusCode::OK,
        &Preview {
            ctx: &ctx,
            messages,
        },
    )
}

// ---------------------------------------------------------------- linking

/// Links tickets to an incident by hand: from the ticket pane (`incident`, one `ids`) and
/// from the incident page (ticket numbers typed in `ids`).
pub(crate) async fn link(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let Ok(incident) = field(&f, "incident").parse::<i64>() else {
        return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("inc.choose"));
    };
    let mut tickets = Vec::new();
    for v in all(&f, "ids") {
        for part in split_values(v) {
            // A number as customers and agents read it (XD-10042), or a row id as forms send.
            let id = if part.to_ascii_uppercase().starts_with(TicketNumber::PREFIX) {
                TicketNumber::from_str(&part).ok().map(|n| n.ticket_id())
            } else {
                part.parse::<i64>().ok()
            };
            match id {
                Some(t) => tickets.push(t),
                None => {
                    return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("bulk.bad_ids"));
                }
            }
        }
    }
    match s
        .services
        .link_to_incident(&me.principal, incident, &tickets, ip.as_deref())
        .await
    {
        Ok(_) => Redirect::to(&local_path(Some(field(&f, "back")))).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn unlink(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let Ok(ticket) = field(&f, "ticket").parse::<i64>() else {
        return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("bulk.bad_ids"));
    };
    match s
        .services
        .unlink_from_incident(&me.principal, id, ticket, ip.as_deref())
        .await
    {
        Ok(()) => Redirect::to(&local_path(Some(field(&f, "back")))).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

/// The bulk bar's "Link to incident": one call for every selected ticket, told as the bulk
/// page tells any change.
pub(crate) async fn bulk_link(
    services: &Services,
    p: &Principal,
    incident: &str,
    tickets: &[i64],
    ip: Option<&str>,
) -> Result<xdesk_service::inbox::BulkOutcome, ServiceError> {
    let incident = incident.parse::<i64>().map_err(|_| {
        ServiceError::from(xdesk_domain::FieldError::new(
            "incident",
            "required",
            "choose an incident",
        ))
    })?;
    let new = services.link_to_incident(p, incident, tickets, ip).await?;
    Ok(xdesk_service::inbox::BulkOutcome {
        unchanged: tickets
            .iter()
            .filter(|t| !new.contains(t))
            .copied()
            .collect(),
        changed: new,
        refused: Vec::new(),
    })
}

/// Open incidents as the link selects offer them: (id, "#id title").
pub(crate) async fn open_choices(
    services: &Services,
    p: &Principal,
    tr: &Tr,
) -> Vec<(i64, String)> {
    services
        .list_incidents(p, true)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.id, format!("#{} {}", i.id, i.title_for(tr.lang.code()))))
        .collect()
}

#[derive(Template)]
#[template(path = "incident_slot.html")]
struct Slot<'a> {
    ctx: &'a Ctx,
    ticket_id: i64,
    /// Linked: (id, title, status, latest public update).
    linked: Vec<(i64, String, String, String)>,
    choices: Vec<(i64, String)>,
    publishes: bool,
}

/// The ticket pane's incident box, fetched after the pane: the banner of each incident the
/// ticket is linked to, a select to link it to another, and "start an incident from it".
pub(crate) async fn ticket_slot(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(ticket_id): Path<i64>,
) -> Response {
    let p = &me.principal;
    let notices = match s.services.ticket_incident_notices(p, ticket_id).await {
        Ok(n) => n,
        Err(e) => return ctx.service_error(&e),
    };
    let lang = ctx.tr.lang.code();
    let linked: Vec<(i64, String, String, String)> = notices
        .into_iter()
        .map(|n| {
            (
                n.incident.id,
                n.incident.title_for(lang).to_owned(),
                n.incident.status.clone(),
                n.latest
                    .map(|u| {
                        Bilingual::new(u.body, u.body_zh)
                            .for_language(lang)
                            .to_owned()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    let choices = open_choices(&s.services, p, &ctx.tr)
        .await
        .into_iter()
        .filter(|(id, _)| !linked.iter().any(|l| l.0 == *id))
        .collect();
    ctx.render(
        StatusCode::OK,
        &Slot {
            ctx: &ctx,
            ticket_id,
            linked,
            choices,
            publishes: publishes(&me),
        },
    )
}

/// What the portal shows on a ticket waiting on an incident.
pub(crate) struct PortalIncident {
    pub title: String,
    pub status: String,
    pub status_words: &'static str,
    pub latest: String,
    pub at: String,
    pub status_url: String,
}

/// The open incident a customer's ticket waits on, in the language they read the portal in.
pub(crate) async fn portal_incident(
    services: &Services,
    p: &Principal,
    ticket_id: i64,
    tr: &Tr,
) -> Result<Option<PortalIncident>, ServiceError> {
    let lang = tr.lang.code();
    let notices = services.ticket_incident_notices(p, ticket_id).await?;
    let open = notices
        .into_iter()
        .find(|n| IncidentStatus::from_str(&n.incident.status).is_ok_and(|s| !s.is_final()));
    Ok(open.map(|n| PortalIncident {
        title: n.incident.title_for(lang).to_owned(),
        status_words: xdesk_service::incidents::status_words(&n.incident.status, lang),
        status: n.incident.status.clone(),
        latest: n
            .latest
            .as_ref()
            .map(|u| {
                Bilingual::new(u.body.clone(), u.body_zh.clone())
                    .for_language(lang)
                    .to_owned()
            })
            .unwrap_or_default(),
        at: n.latest.map(|u| when(u.created_at)).unwrap_or_default(),
        status_url: services.status_url(),
    }))
}

// ---------------------------------------------------------------- components

#[derive(Template)]
#[template(path = "components.html")]
struct ComponentsPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    publishes: bool,
    components: Vec<TreeItem>,
    statuses: Vec<&'static str>,
    choices: Choices,
    /// The create form's component: none.
    blank: Option<&'a TreeItem>,
}

impl ComponentsPage<'_> {
    /// Whether `id` may be offered as the parent of the component being edited (not itself).
    fn other(&self, editing: &Option<&&TreeItem>, id: &i64) -> bool {
        editing.is_none_or(|e| e.id != *id)
    }

    fn parent_is(&self, editing: &Option<&&TreeItem>, id: &i64) -> bool {
        editing.is_some_and(|e| e.row.parent_id == Some(*id))
    }

    fn network_is(&self, editing: &Option<&&TreeItem>, n: &str) -> bool {
        editing.is_some_and(|e| e.row.network.as_deref() == Some(n))
    }

    fn has_intent(&self, editing: &Option<&&TreeItem>, i: &str) -> bool {
        editing.is_some_and(|e| {
            serde_json::from_str::<Vec<String>>(&e.row.intents)
                .unwrap_or_default()
                .iter()
                .any(|x| x == i)
        })
    }

    fn intents_of(&self, c: &TreeItem) -> String {
        serde_json::from_str::<Vec<String>>(&c.row.intents)
            .unwrap_or_default()
            .join(", ")
    }
}

pub(crate) async fn components(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    let rows = match s.services.list_components(&me.principal).await {
        Ok(r) => r,
        Err(e) => return ctx.service_error(&e),
    };
    let page = ComponentsPage {
        ctx: &ctx,
        agent_name: &me.agent.display_name,
        is_admin: me.principal.is_admin(),
        publishes: publishes(&me),
        components: tree(&rows, &ctx.tr, &[]),
        statuses: ComponentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        choices: Choices::new(),
        blank: None,
    };
    ctx.render(StatusCode::OK, &page)
}

fn component_spec(f: &Fields) -> Result<ComponentSpec, ServiceError> {
    let parent = field(f, "parent_id");
    Ok(ComponentSpec {
        parent_id: if parent.is_empty() {
            None
        } else {
            Some(parent.parse().map_err(|_| {
                ServiceError::from(xdesk_domain::FieldError::new(
                    "parent_id",
                    "invalid",
                    "not a component",
                ))
            })?)
        },
        name: field(f, "name").to_owned(),
        name_zh: field(f, "name_zh").to_owned(),
        description: field(f, "description").to_owned(),
        position: field(f, "position").trim().parse().unwrap_or(0),
        network: Some(field(f, "network").to_owned()).filter(|n| !n.is_empty()),
        intents: all(f, "intents").into_iter().map(str::to_owned).collect(),
    })
}

const COMPONENTS: &str = "/console/admin/components";

async fn component_action(
    ctx: &Ctx,
    f: &Fields,
    act: impl std::future::Future<Output = Result<(), ServiceError>>,
) -> Response {
    if !ctx.csrf_ok(field(f, "csrf")) {
        return ctx.csrf_refused();
    }
    match act.await {
        Ok(()) => Redirect::to(COMPONENTS).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn create_component(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Form(f): Form<Fields>,
) -> Response {
    let act = async {
        let spec = component_spec(&f)?;
        s.services
            .create_component(&me.principal, &spec, ip.as_deref())
            .await
            .map(|_| ())
    };
    component_action(&ctx, &f, act).await
}

pub(crate) async fn update_component(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let act = async {
        let spec = component_spec(&f)?;
        s.services
            .update_component(&me.principal, id, &spec, ip.as_deref())
            .await
            .map(|_| ())
    };
    component_action(&ctx, &f, act).await
}

pub(crate) async fn delete_component(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let act = s
        .services
        .delete_component(&me.principal, id, ip.as_deref());
    component_action(&ctx, &f, act).await
}

pub(crate) async fn component_status(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    PeerIp(ip): PeerIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let act = async {
        s.services
            .set_component_status(&me.principal, id, field(&f, "status"), ip.as_deref())
            .await
            .map(|_| ())
    };
    component_action(&ctx, &f, act).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_empty_rule_is_no_rule_and_values_are_split() {
        assert_eq!(rule_of(&form(&[("rule_words", " ,")])).unwrap(), None);
        let r = rule_of(&form(&[
            ("rule_networks", "tron"),
            ("rule_assets", "usdt，usdc"),
            ("rule_words", "deposit missing\n未到账"),
            ("rule_since", "2026-12-07T05:00"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(r.networks, vec!["tron"]);
        assert_eq!(r.assets, vec!["usdt", "usdc"]);
        assert_eq!(r.words, vec!["deposit missing", "未到账"]);
        assert_eq!(r.since.unwrap().to_rfc3339(), "2026-12-07T05:00:00+00:00");
    }

    #[test]
    fn affected_components_come_from_their_selects() {
        let f = form(&[("comp_3", "major_outage"), ("comp_4", ""), ("comp_x", "")]);
        assert_eq!(components_of(&f).unwrap(), vec![(3, "major_outage".into())]);
        assert!(components_of(&form(&[("comp_x", "major_outage")])).is_err());
    }

    #[test]
    fn a_new_update_promises_a_time_ahead() {
        let now = "2026-12-07T06:02:10Z".parse::<DateTime<Utc>>().unwrap();
        let later = "2026-12-07T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(compose_next(Some(later), now), later);
        let soon = "2026-12-07T06:10:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            compose_next(Some(soon), now).to_rfc3339(),
            "2026-12-07T07:05:00+00:00"
        );
        assert_eq!(compose_next(None, now), compose_next(Some(soon), now));
    }

    #[test]
    fn a_time_that_does_not_parse_is_the_fields_error() {
        assert!(parse_time("next_update_at", "tomorrow").is_err());
        assert_eq!(parse_time("next_update_at", "").unwrap(), None);
    }
}
