//! The agent's inbox: views with their counts, tickets urgent-first then oldest-first, and a
//! search box that jumps straight to a ticket number.

use super::age;
use crate::UiState;
use crate::page::{Ctx, SignedIn};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_domain::ticket::{TicketNumber, TicketState};
use xdesk_service::Principal;
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
    pub assigned: bool,
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
}

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    view: Option<String>,
    q: Option<String>,
}

fn filter_of(view: &str, me: i64) -> Option<TicketFilter> {
    let active = || ACTIVE.iter().map(|s| s.as_str().to_owned()).collect();
    let mut f = TicketFilter {
        states: active(),
        sort: SortOrder::PriorityAge,
        limit: 100,
        ..Default::default()
    };
    match view {
        "mine" => f.assignee_id = Some(Some(me)),
        "unassigned" => f.assignee_id = Some(None),
        "urgent" => f.priorities = vec!["urgent".into()],
        "waiting" => f.states = vec![TicketState::PendingCustomer.as_str().into()],
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
    match page(&ctx, &me, &s, q.view.as_deref().unwrap_or("mine"), query).await {
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
) -> Result<Response, xdesk_service::ServiceError> {
    let tr = &ctx.tr;
    let p = &me.principal;
    let Principal::Agent { id, group_ids, .. } = p else {
        return Err(xdesk_service::ServiceError::Forbidden("agents only".into()));
    };
    let groups = s.services.list_groups(p).await?;
    let mut keys: Vec<(String, String)> = ["mine", "unassigned", "urgent", "waiting"]
        .iter()
        .map(|k| ((*k).to_owned(), tr.t(&format!("view.{k}")).to_owned()))
        .collect();
    for g in groups.iter().filter(|g| group_ids.contains(&g.id)) {
        keys.push((format!("group-{}", g.id), g.name.clone()));
    }
    keys.push(("all".into(), tr.t("view.all").to_owned()));
    let current = if keys.iter().any(|(k, _)| k == view) {
        view
    } else {
        "mine"
    };
    let mut views = Vec::with_capacity(keys.len());
    let mut buckets = Vec::with_capacity(keys.len());
    for (key, label) in keys {
        let Some(f) = filter_of(&key, *id) else {
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
    let mut f = filter_of(current, *id).unwrap_or_default();
    let title = if query.is_empty() {
        views
            .iter()
            .find(|v| v.current)
            .map(|v| v.label.clone())
            .unwrap_or_default()
    } else {
        // A search looks at every ticket, whatever its state.
        f = TicketFilter {
            text: Some(query.to_owned()),
            sort: SortOrder::PriorityAge,
            limit: 100,
            ..Default::default()
        };
        tr.t1("inbox.results_for", query)
    };
    let now = chrono::Utc::now();
    let rows = s
        .services
        .list_tickets(p, f)
        .await?
        .into_iter()
        .map(|t| Row {
            id: t.id,
            number: TicketNumber::for_ticket(t.id).to_string(),
            age: age(tr, t.created_at, now),
            assigned: t.assignee_id.is_some(),
            state: t.state,
            priority: t.priority,
            channel: t.channel,
            subject: t.subject,
        })
        .collect();
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
        },
    ))
}
