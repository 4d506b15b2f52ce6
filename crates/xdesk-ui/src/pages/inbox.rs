//! The agent's inbox: views with their counts, tickets urgent-first then oldest-first (or by a
//! column the agent sorts by), unread and SLA marks, a search box that jumps straight to a
//! ticket number, and changes to many selected tickets at once.

use super::age;
use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field, form_urlencoded, local_path};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use xdesk_domain::ticket::{Channel, Priority, TicketNumber, TicketState};
use xdesk_service::Principal;
use xdesk_service::filters::FilterSpec;
use xdesk_service::inbox::{BulkChange, BulkOutcome};
use xdesk_store::{SortOrder, TicketFilter};

/// States that still need an agent.
const ACTIVE: [TicketState; 3] = [
    TicketState::New,
    TicketState::Open,
    TicketState::PendingInternal,
];

/// Views count their tickets up to this; past it they say "999+".
const COUNT_CAP: u64 = 999;

/// One entry of the views list.
pub(crate) struct View {
    pub key: String,
    pub label: String,
    /// The number, or "999+" past the cap.
    pub count: String,
    pub current: bool,
}

pub(crate) struct Row {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub state: String,
    pub priority: String,
    pub channel: String,
    pub age: String,
    pub customer: String,
    /// The assignee's name; none when unassigned.
    pub assignee: Option<String>,
    /// How long ago the customer last wrote.
    pub last_customer: Option<String>,
    pub unread: bool,
    /// The next SLA due time as text ("in 40 min", "15 min overdue") and its level
    /// (`ok`, `near`, `breached`), for its colour.
    pub sla: Option<(String, &'static str)>,
    /// For a search: the best matching passage, HTML-escaped by the index, matches in `<b>`.
    pub snippet: Option<String>,
}

/// A column header that sorts the list.
pub(crate) struct SortLink {
    pub label: &'static str,
    /// Where a click goes: this list sorted by the column, the other way if it already is.
    pub href: String,
    /// `ascending` or `descending` when the list is sorted by it (`aria-sort`).
    pub current: Option<&'static str>,
}

/// The sortable columns: the `sort=` key (`-key` for descending), its orders and its label.
const SORTS: [(&str, SortOrder, SortOrder, &str); 5] = [
    (
        "priority",
        SortOrder::PriorityAge,
        SortOrder::PriorityAgeDesc,
        "inbox.col_priority",
    ),
    (
        "last_customer",
        SortOrder::LastCustomerAsc,
        SortOrder::LastCustomerDesc,
        "inbox.col_last_customer",
    ),
    (
        "sla",
        SortOrder::SlaDueAsc,
        SortOrder::SlaDueDesc,
        "inbox.col_sla",
    ),
    (
        "created",
        SortOrder::CreatedAsc,
        SortOrder::CreatedDesc,
        "inbox.col_age",
    ),
    (
        "updated",
        SortOrder::UpdatedAsc,
        SortOrder::UpdatedDesc,
        "inbox.col_updated",
    ),
];

/// The sort a `sort=` value asks for: its key, whether descending, and the store's order.
/// Anything else is the inbox's own order.
fn sort_of(v: Option<&str>) -> (&'static str, bool, SortOrder) {
    let v = v.unwrap_or_default();
    let (key, desc) = match v.strip_prefix('-') {
        Some(k) => (k, true),
        None => (v, false),
    };
    SORTS
        .iter()
        .find(|s| s.0 == key)
        .map_or(("priority", false, SortOrder::PriorityAge), |s| {
            (s.0, desc, if desc { s.2 } else { s.1 })
        })
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    views: Vec<View>,
    title: String,
    rows: Vec<Row>,
    query: &'a str,
    /// The ad-hoc filter shown (to save it), if the page is one.
    spec: Option<FilterSpec>,
    /// The saved filter shown (to delete it), if the page is one.
    saved: Option<i64>,
    states: Vec<&'static str>,
    priorities: Vec<&'static str>,
    /// The sortable column headers, by key.
    sorts: Vec<(&'static str, SortLink)>,
    /// Choices of the bulk bar: (id, name).
    groups: Vec<(i64, String)>,
    agents: Vec<(i64, String)>,
    /// Open incidents the bar links to: (id, label).
    incidents: Vec<(i64, String)>,
}

impl InboxPage<'_> {
    fn sort(&self, key: &str) -> Option<&SortLink> {
        self.sorts.iter().find(|(k, _)| *k == key).map(|(_, l)| l)
    }
}

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    view: Option<String>,
    q: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    tag: Option<String>,
    sort: Option<String>,
}

impl InboxQuery {
    /// The ad-hoc filter the search form asks for, if any.
    fn spec(&self) -> Option<FilterSpec> {
        let keep = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let spec = FilterSpec {
            text: keep(&self.q),
            states: keep(&self.state).into_iter().collect(),
            priorities: keep(&self.priority).into_iter().collect(),
            tag: keep(&self.tag),
        };
        (!spec.is_empty()).then_some(spec)
    }
}

fn filter_of(base: &TicketFilter, view: &str, me: i64) -> Option<TicketFilter> {
    let active = || ACTIVE.iter().map(|s| s.as_str().to_owned()).collect();
    let mut f = TicketFilter {
        states: active(),
        sort: SortOrder::PriorityAge,
        limit: 100,
        ..base.clone()
    };
    match view {
        "mine" => f.assignee_id = Some(Some(me)),
        "unassigned" => f.assignee_id = Some(None),
        "unrouted" => f.unrouted = true,
        "urgent" => f.priorities = vec!["urgent".into()],
        "waiting" => f.states = vec![TicketState::PendingCustomer.as_str().into()],
        "chats" => {
            f.channel = Some(Channel::Chat.as_str().into());
            f.assignee_id = Some(None);
        }
        "all" => {}
        other => f.group_id = Some(other.strip_prefix("group-")?.parse().ok()?),
    }
    Some(f)
}

pub(crate) async fn inbox(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Query(q): Query<InboxQuery>,
) -> Response {
    let query = q.q.as_deref().map(str::trim).unwrap_or_default();
    // A ticket number (XD-10042, or its digits) opens the ticket; other numbers, such as an
    // amount, are searched for.
    if let Ok(n) = query.parse::<TicketNumber>()
        && n.ticket_id() > 0
    {
        return Redirect::to(&format!("/console/tickets/{}", n.ticket_id())).into_response();
    }
    match page(
        &ctx,
        &me,
        &s,
        q.view.as_deref().unwrap_or("mine"),
        query,
        q.spec(),
        q.sort.as_deref(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => ctx.service_error(&e),
    }
}

async fn page(
    ctx: &Ctx,
    me: &SignedIn,
    s: &UiState,
    view: &str,
    query: &str,
    spec: Option<FilterSpec>,
    sort: Option<&str>,
) -> Result<Response, xdesk_service::ServiceError> {
    let tr = &ctx.tr;
    let p = &me.principal;
    let (sort_key, sort_desc, order) = sort_of(sort);
    let Principal::Agent { id, group_ids, .. } = p else {
        return Err(xdesk_service::ServiceError::Forbidden("agents only".into()));
    };
    let groups = s.services.list_groups(p).await?;
    let mut keys: Vec<(String, String)> = ["mine", "unassigned", "chats", "urgent", "waiting"]
        .iter()
        .map(|k| ((*k).to_owned(), tr.t(&format!("view.{k}")).to_owned()))
        .collect();
    // Supervisors keep an eye on what no group holds, so that no ticket goes unseen.
    if p.is_supervisor() {
        keys.push(("unrouted".into(), tr.t("view.unrouted").to_owned()));
    }
    for g in groups.iter().filter(|g| group_ids.contains(&g.id)) {
        keys.push((format!("group-{}", g.id), g.name.clone()));
    }
    keys.push(("all".into(), tr.t("view.all").to_owned()));
    let saved = s.services.saved_filters(p).await?;
    for f in &saved {
        keys.push((format!("saved-{}", f.id), f.name.clone()));
    }
    let base = s.services.ticket_filter(p).await?;
    let filter_of = |key: &str| match key.strip_prefix("saved-") {
        Some(n) => saved
            .iter()
            .find(|f| n.parse() == Ok(f.id))
            .map(|f| f.spec.to_filter(base.visibility.clone(), 100)),
        None => filter_of(&base, key, *id),
    };
    let current = if keys.iter().any(|(k, _)| k == view) {
        view
    } else {
        "mine"
    };
    let mut views = Vec::with_capacity(keys.len());
    let mut buckets = Vec::with_capacity(keys.len());
    for (key, label) in keys {
        let Some(f) = filter_of(&key) else {
            continue;
        };
        buckets.push(f);
        views.push(View {
            current: key == current,
            key,
            label,
            count: String::new(),
        });
    }
    let counts = s
        .services
        .count_tickets_capped(p, buckets, COUNT_CAP)
        .await?;
    for (v, n) in views.iter_mut().zip(counts) {
        v.count = if n > COUNT_CAP {
            format!("{COUNT_CAP}+")
        } else {
            n.to_string()
        };
    }
    let (mut f, title) = match &spec {
        None => (
            filter_of(current).unwrap_or_else(|| base.clone()),
            views
                .iter()
                .find(|v| v.current)
                .map(|v| v.label.clone())
                .unwrap_or_default(),
        ),
        // A search looks at every ticket, whatever its state, unless a state is asked for.
        Some(spec) => (
            spec.to_filter(base.visibility.clone(), 100),
            if query.is_empty() {
                tr.t("inbox.filtered").to_owned()
            } else {
                tr.t1("inbox.results_for", query)
            },
        ),
    };
    f.sort = order;
    f.walk_order = true;
    let saved_shown = if spec.is_none() {
        current.strip_prefix("saved-").and_then(|n| n.parse().ok())
    } else {
        None
    };
    let now = chrono::Utc::now();
    // Words go to the search index (ranked, every word must match, messages and identities
    // included) when it has one and nothing else is asked that it cannot filter by.
    let indexed = match &spec {
        Some(sp) if sp.text.is_some() && sp.priorities.is_empty() && sp.tag.is_none() => s
            .services
            .ticket_index
            .is_some()
            .then(|| xdesk_service::ticket_search::TicketSearch {
                text: sp.text.clone().unwrap_or_default(),
                states: sp.states.clone(),
                limit: 100,
                ..Default::default()
            }),
        _ => None,
    };
    let found: Vec<(_, Option<String>)> = match indexed {
        Some(q) => s
            .services
            .search_tickets(p, q)
            .await?
            .into_iter()
            .map(|(t, hit)| (t, Some(hit.snippet).filter(|s| !s.is_empty())))
            .collect(),
        None => s
            .services
            .list_tickets(p, f)
            .await?
            .into_iter()
            .map(|t| (t, None))
            .collect(),
    };
    let (tickets, snippets): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    let rows = s
        .services
        .inbox_rows(p, tickets)
        .await?
        .into_iter()
        .zip(snippets)
        .map(|(r, snippet)| {
            let t = r.ticket;
            Row {
                snippet,
                id: t.id,
                number: TicketNumber::for_ticket(t.id).to_string(),
                age: age(tr, t.created_at, now),
                customer: r.customer_name,
                assignee: r.assignee_name,
                last_customer: t.last_customer_message_at.map(|at| age(tr, at, now)),
                unread: r.unread,
                sla: r
                    .sla_due
                    .map(|(due, level)| (due_text(tr, due, now), level.as_str())),
                state: t.state,
                priority: t.priority,
                channel: t.channel,
                subject: t.subject,
            }
        })
        .collect();
    // Header links keep the view, search and filter, and change only the order.
    let mut keep: Vec<(&str, String)> = Vec::new();
    if spec.is_none() {
        keep.push(("view", current.to_owned()));
    }
    if let Some(sp) = &spec {
        keep.extend(sp.text.iter().map(|t| ("q", t.clone())));
        keep.extend(sp.states.iter().map(|t| ("state", t.clone())));
        keep.extend(sp.priorities.iter().map(|t| ("priority", t.clone())));
        keep.extend(sp.tag.iter().map(|t| ("tag", t.clone())));
    }
    let base: String = keep
        .iter()
        .map(|(k, v)| format!("{k}={}&", form_urlencoded(v).collect::<String>()))
        .collect();
    let sorts = SORTS
        .iter()
        .map(|(key, _, _, label)| {
            let on = *key == sort_key;
            let flip = if on && !sort_desc { "-" } else { "" };
            (
                *key,
                SortLink {
                    label: tr.t(label),
                    href: format!("/console?{base}sort={flip}{key}"),
                    current: on.then_some(if sort_desc { "descending" } else { "ascending" }),
                },
            )
        })
        .collect();
    let agents = s.services.agent_choices(p).await?;
    Ok(ctx.render(
        StatusCode::OK,
        &InboxPage {
            ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            views,
            title,
            rows,
            query,
            spec,
            saved: saved_shown,
            states: TicketState::ALL.iter().map(|s| s.as_str()).collect(),
            priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
            sorts,
            groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
            agents,
            incidents: crate::pages::incidents::open_choices(&s.services, p, &ctx.tr).await,
        },
    ))
}

/// "in 40 min" or "15 min overdue".
pub(crate) fn due_text(tr: &crate::i18n::Tr, due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if due > now {
        tr.t1("inbox.due_in", age(tr, now - (due - now), now))
    } else {
        tr.t1("inbox.overdue", age(tr, due, now))
    }
}

#[derive(Deserialize)]
pub(crate) struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    q: Option<String>,
    state: Option<String>,
    priority: Option<String>,
    tag: Option<String>,
}

/// Saves the filter on screen under a name; it then shows among the views with its count.
pub(crate) async fn save_filter(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    axum::Form(f): axum::Form<SaveForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let spec = InboxQuery {
        view: None,
        q: f.q,
        state: f.state,
        priority: f.priority,
        tag: f.tag,
        sort: None,
    }
    .spec()
    .unwrap_or_default();
    match s.services.save_filter(&me.principal, &f.name, &spec).await {
        Ok(saved) => Redirect::to(&format!("/console?view=saved-{}", saved.id)).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn delete_filter(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    match s.services.delete_saved_filter(&me.principal, id).await {
        Ok(()) => Redirect::to("/console").into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    after: Option<i64>,
}

/// The next ticket to work on, from the ticket page: the first of the agent's own queue, else
/// of the unassigned one, other than the one just left.
pub(crate) async fn next(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Query(q): Query<NextQuery>,
) -> Response {
    let Principal::Agent { id, .. } = &me.principal else {
        return ctx.error(StatusCode::FORBIDDEN, ctx.tr.t("error.forbidden_text"));
    };
    let base = match s.services.ticket_filter(&me.principal).await {
        Ok(f) => f,
        Err(e) => return ctx.service_error(&e),
    };
    for view in ["mine", "unassigned"] {
        let Some(mut f) = filter_of(&base, view, *id) else {
            continue;
        };
        f.limit = 2;
        match s.services.list_tickets(&me.principal, f).await {
            Ok(rows) => {
                if let Some(t) = rows.iter().find(|t| Some(t.id) != q.after) {
                    return Redirect::to(&format!("/console/tickets/{}", t.id)).into_response();
                }
            }
            Err(e) => return ctx.service_error(&e),
        }
    }
    Redirect::to("/console?view=mine").into_response()
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    outcome: BulkOutcome,
    back: String,
}

impl BulkPage<'_> {
    fn number(&self, id: &i64) -> String {
        TicketNumber::for_ticket(*id).to_string()
    }
}

/// The change the bulk bar's pressed button (`op`) asks for, from the form's other fields.
fn bulk_change(f: &Fields, me: i64) -> Result<BulkChange, xdesk_domain::FieldError> {
    use xdesk_domain::FieldError;
    let id = |name: &str| -> Result<Option<i64>, FieldError> {
        match field(f, name) {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| FieldError::new(name, "invalid", format!("{v:?} is not an id"))),
        }
    };
    let tag = || vec![field(f, "tag").trim().to_owned()];
    Ok(match field(f, "op") {
        "assign_me" => BulkChange {
            assignee_id: Some(Some(me)),
            ..Default::default()
        },
        "assign" => BulkChange {
            assignee_id: Some(if field(f, "assignee") == "me" {
                Some(me)
            } else {
                id("assignee")?
            }),
            ..Default::default()
        },
        "group" => BulkChange {
            group_id: Some(id("group")?),
            ..Default::default()
        },
        "state" => BulkChange {
            state: Some(field(f, "state").to_owned()),
            ..Default::default()
        },
        "priority" => BulkChange {
            priority: Some(field(f, "priority").to_owned()),
            ..Default::default()
        },
        "tag_add" => BulkChange {
            add_tags: tag(),
            ..Default::default()
        },
        "tag_remove" => BulkChange {
            remove_tags: tag(),
            ..Default::default()
        },
        // Into the oldest of the selected: duplicates usually follow the first request.
        "merge" => BulkChange {
            merge_into: f
                .iter()
                .filter(|(k, _)| k == "ids")
                .filter_map(|(_, v)| v.parse().ok())
                .min(),
            ..Default::default()
        },
        other => {
            return Err(FieldError::new(
                "op",
                "invalid",
                format!("unknown action {other:?}"),
            ));
        }
    })
}

/// The inbox's bulk bar: one change to every selected ticket, each changed (and audited) on
/// its own; the answer lists what changed and what was refused, and why.
pub(crate) async fn bulk(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    crate::page::PeerIp(ip): crate::page::PeerIp,
    axum::Form(f): axum::Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let mut ids = Vec::new();
    for (_, v) in f.iter().filter(|(k, _)| k == "ids") {
        match v.parse() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("bulk.bad_ids"));
            }
        }
    }
    let done = if field(&f, "op") == "link_incident" {
        crate::pages::incidents::bulk_link(
            &s.services,
            &me.principal,
            field(&f, "incident"),
            &ids,
            ip.as_deref(),
        )
        .await
    } else {
        let change = match bulk_change(&f, me.agent.id) {
            Ok(c) => c,
            Err(e) => return ctx.service_error(&e.into()),
        };
        s.services
            .bulk_update(&me.principal, &ids, change, ip.as_deref())
            .await
    };
    match done {
        Ok(outcome) => ctx.render(
            StatusCode::OK,
            &BulkPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: me.principal.is_admin(),
                outcome,
                back: local_path(Some(field(&f, "back"))),
            },
        ),
        Err(e) => ctx.service_error(&e),
    }
}
