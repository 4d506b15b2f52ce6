//! Administration: agents (invite, role, groups, deactivate, reset 2FA), groups, mailboxes,
//! API keys, exchange integrations and their signing secrets, email templates, and the audit
//! log every one of these actions lands in. Admin pages need the admin role and an enrolled
//! second factor; an admin without one is sent to enrol. Also here: an agent's own two-factor
//! enrolment and an invited agent's first password.

use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_domain::identity::Role;
use xdesk_service::ServiceError;
use xdesk_service::auth::API_SCOPES;
use xdesk_service::mailboxes::MailboxInput;
use xdesk_service::people::InviteAgent;
use xdesk_store::AuditFilter;

fn ids(f: &Fields, name: &str) -> Vec<i64> {
    f.iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| v.parse().ok())
        .collect()
}

/// Nothing for admins with a second factor; else the page to show instead (an admin without
/// one is sent to enrol).
fn refused(ctx: &Ctx, me: &SignedIn) -> Option<Response> {
    match me.principal.require_admin() {
        Ok(()) => None,
        Err(ServiceError::TwoFactorEnrolmentRequired) => {
            Some(Redirect::to("/console/two-factor").into_response())
        }
        Err(e) => Some(ctx.service_error(&e)),
    }
}

/// A form post: CSRF first, then the admin check, then the action; back to `back` when done.
async fn act<F>(ctx: &Ctx, me: &SignedIn, f: &Fields, back: &str, action: F) -> Response
where
    F: std::future::Future<Output = Result<(), ServiceError>>,
{
    if !ctx.csrf_ok(field(f, "csrf")) {
        return ctx.csrf_refused();
    }
    if let Some(r) = refused(ctx, me) {
        return r;
    }
    match action.await {
        Ok(()) => Redirect::to(back).into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn home() -> Redirect {
    Redirect::to("/admin/agents")
}

// ----- agents -----

pub(crate) struct AgentView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub groups: Vec<i64>,
    pub two_factor: bool,
    pub active: bool,
    pub me: bool,
    pub languages: String,
    pub skills: String,
    pub capacity: String,
}

#[derive(Template)]
#[template(path = "admin/agents.html")]
struct AgentsPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    agents: Vec<AgentView>,
    groups: Vec<(i64, String)>,
    roles: Vec<&'static str>,
    invited: Option<(String, String)>,
}

async fn agents_page(
    ctx: &Ctx,
    me: &SignedIn,
    s: &UiState,
    invited: Option<(String, String)>,
) -> Response {
    let p = &me.principal;
    let (agents, groups) = match (
        s.services.list_agents(p).await,
        s.services.list_groups(p).await,
    ) {
        (Ok(a), Ok(g)) => (a, g),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    let page = AgentsPage {
        ctx,
        agent_name: &me.agent.display_name,
        is_admin: true,
        tab: "agents",
        agents: agents
            .into_iter()
            .map(|(a, groups)| AgentView {
                me: a.id == me.agent.id,
                id: a.id,
                name: a.display_name,
                email: a.email,
                role: a.role,
                groups,
                two_factor: a.totp_enabled,
                active: a.active,
                languages: a.languages,
                skills: a.skills,
                capacity: a.capacity,
            })
            .collect(),
        groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        invited,
    };
    ctx.render(StatusCode::OK, &page)
}

pub(crate) async fn agents(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    agents_page(&ctx, &me, &s, None).await
}

/// Invites an agent; the page then shows the link once, for when mail does not arrive.
pub(crate) async fn invite(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let i = InviteAgent {
        email: field(&f, "email").to_owned(),
        display_name: field(&f, "name").to_owned(),
        role: field(&f, "role").to_owned(),
        group_ids: ids(&f, "group"),
        language: ctx.tr.lang.code().to_owned(),
    };
    match s.services.invite_agent(&me.principal, i).await {
        Ok((row, link)) => agents_page(&ctx, &me, &s, Some((row.email, link))).await,
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn update_agent(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let role = field(&f, "role").to_owned();
    let groups = ids(&f, "group");
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/agents", async move {
        s.services.update_agent(&p, id, &role, groups).await
    })
    .await
}

/// The buttons on one row of a list: `/admin/{section}/{id}/{verb}`.
pub(crate) async fn row_action(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path((section, id, verb)): Path<(String, i64, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let p = me.principal.clone();
    let services = &s.services;
    match (section.as_str(), verb.as_str()) {
        ("agents", "active") => {
            let active = field(&f, "active") == "1";
            if !active && id == me.agent.id {
                return ctx.error(StatusCode::CONFLICT, ctx.tr.t("admin.not_yourself"));
            }
            act(
                &ctx,
                &me,
                &f,
                "/admin/agents",
                services.set_agent_active(&p, id, active),
            )
            .await
        }
        ("agents", "reset-2fa") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/agents",
                services.reset_agent_two_factor(&p, id),
            )
            .await
        }
        ("agents", "routing") => {
            let routing = xdesk_service::assignment::AgentRouting {
                languages: field(&f, "languages").to_owned(),
                skills: field(&f, "skills").to_owned(),
                capacity: field(&f, "capacity").to_owned(),
            };
            act(&ctx, &me, &f, "/admin/agents", async move {
                services
                    .set_agent_routing(&p, id, routing)
                    .await
                    .map(|_| ())
            })
            .await
        }
        ("groups", "assignment") => {
            if !ctx.csrf_ok(field(&f, "csrf")) {
                return ctx.csrf_refused();
            }
            let minutes = field(&f, "return_after_minutes").trim();
            let minutes = if minutes.is_empty() {
                None
            } else {
                match minutes.parse::<i32>() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        return ctx.error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            ctx.tr.t("admin.bad_minutes"),
                        );
                    }
                }
            };
            let strategy = field(&f, "strategy").to_owned();
            act(
                &ctx,
                &me,
                &f,
                "/admin/groups",
                services.set_group_assignment(
                    &p,
                    id,
                    &strategy,
                    minutes,
                    field(&f, "reassign_on_breach") == "1",
                ),
            )
            .await
        }
        ("sla", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/sla",
                services.delete_sla_policy(&p, id),
            )
            .await
        }
        ("calendars", "update") => {
            let input = calendar_input(&f);
            act(&ctx, &me, &f, "/admin/sla", async move {
                services
                    .update_sla_calendar(&p, id, input)
                    .await
                    .map(|_| ())
            })
            .await
        }
        ("calendars", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/sla",
                services.delete_sla_calendar(&p, id),
            )
            .await
        }
        ("official", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/official",
                services.delete_official_channel(&p, id),
            )
            .await
        }
        ("phishing", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/official",
                services.delete_phishing_domain(&p, id),
            )
            .await
        }
        ("routing", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/routing",
                services.delete_routing_rule(&p, id),
            )
            .await
        }
        ("mailboxes", "delete") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/mailboxes",
                services.delete_mailbox(&p, id),
            )
            .await
        }
        ("keys", "revoke") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/keys",
                services.revoke_api_key(&p, id),
            )
            .await
        }
        ("integrations", "revoke") => {
            act(
                &ctx,
                &me,
                &f,
                "/admin/keys",
                services.revoke_integration(&p, id),
            )
            .await
        }
        _ => ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text")),
    }
}

// ----- groups -----

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    groups: Vec<xdesk_store::GroupRow>,
    strategies: Vec<&'static str>,
}

pub(crate) async fn groups(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    match s.services.list_groups(&me.principal).await {
        Ok(groups) => ctx.render(
            StatusCode::OK,
            &GroupsPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "groups",
                groups,
                strategies: xdesk_domain::assignment::Strategy::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect(),
            },
        ),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn create_group(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    let (name, description) = (
        field(&f, "name").to_owned(),
        field(&f, "description").to_owned(),
    );
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/groups", async move {
        s.services
            .create_group(&p, &name, &description)
            .await
            .map(|_| ())
    })
    .await
}

// ----- SLA -----

#[derive(Template)]
#[template(path = "admin/sla.html")]
struct SlaPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    policies: Vec<xdesk_store::SlaPolicyRow>,
    calendars: Vec<xdesk_store::SlaCalendarRow>,
    /// The calendars as their edit forms show them.
    shown: Vec<CalendarShown>,
    /// The new-calendar form's days: Monday to Friday 09:00-18:00.
    default_week: Vec<DayHours>,
    priorities: Vec<&'static str>,
    intents: Vec<&'static str>,
}

impl SlaPage<'_> {
    fn day_key(&self, day: &usize) -> &'static str {
        [
            "day.mon", "day.tue", "day.wed", "day.thu", "day.fri", "day.sat", "day.sun",
        ][*day % 7]
    }

    fn calendar_name(&self, id: &Option<i64>) -> String {
        match id {
            None => "24/7".to_owned(),
            Some(id) => self
                .calendars
                .iter()
                .find(|c| c.id == *id)
                .map_or_else(|| id.to_string(), |c| c.name.clone()),
        }
    }
}

/// One weekday's working hours in a calendar form (empty: a day off).
struct DayHours {
    day: usize,
    opens: String,
    closes: String,
}

struct CalendarShown {
    id: i64,
    name: String,
    time_zone: String,
    week: Vec<DayHours>,
    holidays: String,
}

fn week_of(stored: &[Option<[String; 2]>]) -> Vec<DayHours> {
    (0..7)
        .map(|day| {
            let (opens, closes) = match stored.get(day) {
                Some(Some([o, c])) => (o.clone(), c.clone()),
                _ => (String::new(), String::new()),
            };
            DayHours { day, opens, closes }
        })
        .collect()
}

fn shown_calendar(c: &xdesk_store::SlaCalendarRow) -> CalendarShown {
    let week: Vec<Option<[String; 2]>> = serde_json::from_str(&c.week).unwrap_or_default();
    let holidays: Vec<String> = serde_json::from_str(&c.holidays).unwrap_or_default();
    CalendarShown {
        id: c.id,
        name: c.name.clone(),
        time_zone: c.time_zone.clone().unwrap_or_default(),
        week: week_of(&week),
        holidays: holidays.join("\n"),
    }
}

pub(crate) async fn sla(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let p = &me.principal;
    match (
        s.services.sla_policies(p).await,
        s.services.sla_calendars(p).await,
    ) {
        (Ok(policies), Ok(calendars)) => ctx.render(
            StatusCode::OK,
            &SlaPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "sla",
                policies,
                shown: calendars.iter().map(shown_calendar).collect(),
                calendars,
                default_week: week_of(
                    &(0..7)
                        .map(|d| (d < 5).then(|| ["09:00".to_owned(), "18:00".to_owned()]))
                        .collect::<Vec<_>>(),
                ),
                priorities: xdesk_domain::ticket::Priority::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect(),
                intents: xdesk_domain::triage::Intent::ALL
                    .iter()
                    .map(|i| i.as_str())
                    .collect(),
            },
        ),
        (Err(e), _) | (_, Err(e)) => ctx.service_error(&e),
    }
}

/// A new SLA policy from the page's form.
pub(crate) async fn create_sla_policy(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let minutes = |k: &str| field(&f, k).trim().parse::<i64>().ok();
    let (Some(first), Some(next), Some(resolution)) = (
        minutes("first_response_minutes"),
        minutes("next_response_minutes"),
        minutes("resolution_minutes"),
    ) else {
        return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("sla.bad_number"));
    };
    let optional = |k: &str| Some(field(&f, k).trim().to_owned()).filter(|v| !v.is_empty());
    let input = xdesk_service::sla::PolicyInput {
        name: field(&f, "name").to_owned(),
        priority: optional("priority"),
        intent: optional("intent"),
        tier: optional("tier"),
        first_response_minutes: first,
        next_response_minutes: next,
        resolution_minutes: resolution,
        calendar_id: optional("calendar").and_then(|c| c.parse().ok()),
    };
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/sla", async move {
        s.services.add_sla_policy(&p, input).await.map(|_| ())
    })
    .await
}

/// A calendar from the page's form: working hours per weekday (`opens_0`..`closes_6`, Monday
/// first; a day left empty is off), holidays listed or imported from an iCalendar file. No
/// time zone: around the clock.
fn calendar_input(f: &Fields) -> xdesk_service::sla::CalendarInput {
    let optional = |k: &str| Some(field(f, k).trim().to_owned()).filter(|v| !v.is_empty());
    let time_zone = optional("time_zone");
    let week = if time_zone.is_some() {
        (0..7)
            .map(|d| {
                let (o, c) = (
                    field(f, &format!("opens_{d}")).trim(),
                    field(f, &format!("closes_{d}")).trim(),
                );
                (!o.is_empty() || !c.is_empty()).then(|| [o.to_owned(), c.to_owned()])
            })
            .collect()
    } else {
        Vec::new()
    };
    xdesk_service::sla::CalendarInput {
        name: field(f, "name").to_owned(),
        time_zone,
        week,
        holidays: field(f, "holidays")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        holidays_ical: optional("holidays_ical"),
    }
}

pub(crate) async fn create_sla_calendar(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    let input = calendar_input(&f);
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/sla", async move {
        s.services.add_sla_calendar(&p, input).await.map(|_| ())
    })
    .await
}

// ----- official channels -----

#[derive(Template)]
#[template(path = "admin/official.html")]
struct OfficialPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    channels: Vec<xdesk_store::OfficialChannelRow>,
    phishing: Vec<xdesk_store::PhishingDomainRow>,
    kinds: Vec<&'static str>,
}

impl OfficialPage<'_> {
    fn kind_key(&self, kind: &str) -> &'static str {
        match kind {
            "domain" => "official_kind.domain",
            "email" => "official_kind.email",
            "phone" => "official_kind.phone",
            "telegram" => "official_kind.telegram",
            "x" => "official_kind.x",
            "discord" => "official_kind.discord",
            "agent" => "official_kind.agent",
            _ => "official_kind.handle",
        }
    }
}

pub(crate) async fn official(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let p = &me.principal;
    match (
        s.services.official_channels(p).await,
        s.services.phishing_domains(p).await,
    ) {
        (Ok(channels), Ok(phishing)) => ctx.render(
            StatusCode::OK,
            &OfficialPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "official",
                channels,
                phishing,
                kinds: xdesk_domain::official::Kind::ALL
                    .iter()
                    .filter(|k| **k != xdesk_domain::official::Kind::Agent)
                    .map(|k| k.as_str())
                    .collect(),
            },
        ),
        (Err(e), _) | (_, Err(e)) => ctx.service_error(&e),
    }
}

pub(crate) async fn add_official(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    let p = me.principal.clone();
    let (kind, value, note) = (
        field(&f, "kind").to_owned(),
        field(&f, "value").to_owned(),
        field(&f, "note").to_owned(),
    );
    act(&ctx, &me, &f, "/admin/official", async move {
        s.services
            .add_official_channel(&p, &kind, &value, &note)
            .await
            .map(|_| ())
    })
    .await
}

pub(crate) async fn add_phishing(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    let p = me.principal.clone();
    let (domain, note) = (field(&f, "domain").to_owned(), field(&f, "note").to_owned());
    act(&ctx, &me, &f, "/admin/official", async move {
        s.services
            .add_phishing_domain(&p, &domain, &note)
            .await
            .map(|_| ())
    })
    .await
}

// ----- routing -----

#[derive(Template)]
#[template(path = "admin/routing.html")]
struct RoutingPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    rules: Vec<xdesk_store::RoutingRuleRow>,
    groups: Vec<(i64, String)>,
    intents: Vec<&'static str>,
    channels: Vec<&'static str>,
}

impl RoutingPage<'_> {
    fn group_name(&self, id: &i64) -> String {
        self.groups
            .iter()
            .find(|(g, _)| g == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }
}

pub(crate) async fn routing(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let p = &me.principal;
    match (
        s.services.routing_rules(p).await,
        s.services.list_groups(p).await,
    ) {
        (Ok(rules), Ok(groups)) => ctx.render(
            StatusCode::OK,
            &RoutingPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "routing",
                rules,
                groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
                intents: xdesk_domain::triage::Intent::ALL
                    .iter()
                    .map(|i| i.as_str())
                    .collect(),
                channels: xdesk_domain::ticket::Channel::ALL
                    .iter()
                    .map(|c| c.as_str())
                    .collect(),
            },
        ),
        (Err(e), _) | (_, Err(e)) => ctx.service_error(&e),
    }
}

pub(crate) async fn create_rule(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let Ok(group_id) = field(&f, "group").trim().parse::<i64>() else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    let text = |k: &str| Some(field(&f, k).to_owned());
    let r = xdesk_service::routing::RuleInput {
        intent: text("intent"),
        language: text("language"),
        channel: text("channel"),
        tier: text("tier"),
        group_id,
    };
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/routing", async move {
        s.services.add_routing_rule(&p, r).await.map(|_| ())
    })
    .await
}

// ----- mailboxes -----

#[derive(Template)]
#[template(path = "admin/mailboxes.html")]
struct MailboxesPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    mailboxes: Vec<xdesk_store::MailboxRow>,
    groups: Vec<(i64, String)>,
}

pub(crate) async fn mailboxes(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let p = &me.principal;
    match (
        s.services.list_mailboxes(p).await,
        s.services.list_groups(p).await,
    ) {
        (Ok(mailboxes), Ok(groups)) => ctx.render(
            StatusCode::OK,
            &MailboxesPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "mailboxes",
                mailboxes,
                groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
            },
        ),
        (Err(e), _) | (_, Err(e)) => ctx.service_error(&e),
    }
}

pub(crate) async fn create_mailbox(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    let Ok(port) = field(&f, "port").trim().parse::<u16>() else {
        return ctx.error(StatusCode::UNPROCESSABLE_ENTITY, ctx.tr.t("admin.bad_port"));
    };
    let m = MailboxInput {
        name: field(&f, "name").to_owned(),
        host: field(&f, "host").to_owned(),
        port,
        tls: field(&f, "tls").to_owned(),
        username: field(&f, "username").to_owned(),
        password: Some(field(&f, "password").to_owned()),
        folder: Some(field(&f, "folder").trim())
            .filter(|v| !v.is_empty())
            .unwrap_or("INBOX")
            .to_owned(),
        move_to: None,
        group_id: field(&f, "group").parse().ok(),
        active: true,
    };
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/mailboxes", async move {
        s.services.create_mailbox(&p, m).await.map(|_| ())
    })
    .await
}

// ----- API keys and integrations: a secret is shown once, when made -----

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    keys: Vec<xdesk_store::ApiKeyRow>,
    scopes: &'static [&'static str],
    integrations: Vec<xdesk_store::IntegrationRow>,
    /// What was just made: (what, name, secret).
    secret: Option<(&'static str, String, String)>,
}

async fn keys_page(
    ctx: &Ctx,
    me: &SignedIn,
    s: &UiState,
    secret: Option<(&'static str, String, String)>,
) -> Response {
    let p = &me.principal;
    match (
        s.services.list_api_keys(p).await,
        s.services.list_integrations(p).await,
    ) {
        (Ok(keys), Ok(integrations)) => ctx.render(
            StatusCode::OK,
            &KeysPage {
                ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "keys",
                keys,
                scopes: API_SCOPES,
                integrations,
                secret,
            },
        ),
        (Err(e), _) | (_, Err(e)) => ctx.service_error(&e),
    }
}

pub(crate) async fn keys(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    keys_page(&ctx, &me, &s, None).await
}

pub(crate) async fn create_key(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let scopes: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    match s
        .services
        .admin_create_api_key(&me.principal, field(&f, "name"), &scopes)
        .await
    {
        Ok((row, key)) => keys_page(&ctx, &me, &s, Some(("api_key", row.name, key))).await,
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn create_integration(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    match s
        .services
        .create_integration(&me.principal, field(&f, "name"))
        .await
    {
        Ok((row, secret)) => {
            keys_page(&ctx, &me, &s, Some(("integration", row.name, secret))).await
        }
        Err(e) => ctx.service_error(&e),
    }
}

// ----- email templates -----

#[derive(Template)]
#[template(path = "admin/templates.html")]
struct TemplatesPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    templates: Vec<xdesk_service::outbox::TemplateView>,
}

pub(crate) async fn templates(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    match s.services.list_email_templates(&me.principal).await {
        Ok(templates) => ctx.render(
            StatusCode::OK,
            &TemplatesPage {
                ctx: &ctx,
                agent_name: &me.agent.display_name,
                is_admin: true,
                tab: "templates",
                templates,
            },
        ),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn save_template(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path((name, language)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let reset = field(&f, "reset") == "1";
    let (subject, body) = (
        field(&f, "subject").to_owned(),
        field(&f, "body").to_owned(),
    );
    let p = me.principal.clone();
    act(&ctx, &me, &f, "/admin/templates", async move {
        if reset {
            s.services.reset_email_template(&p, &name, &language).await
        } else {
            s.services
                .put_email_template(&p, &name, &language, &subject, &body)
                .await
                .map(|_| ())
        }
    })
    .await
}

// ----- audit log -----

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    tab: &'static str,
    rows: Vec<crate::history::AuditLine>,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    /// The query for the next (older) page, when there may be one.
    older: Option<String>,
}

const AUDIT_PAGE: u64 = 100;

pub(crate) async fn audit(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Query(q): Query<AuditQuery>,
) -> Response {
    if let Some(r) = refused(&ctx, &me) {
        return r;
    }
    let keep = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let filter = AuditFilter {
        actor: keep(&q.actor),
        action: keep(&q.action),
        target: keep(&q.target),
        before: q.before,
        limit: AUDIT_PAGE,
    };
    let rows = match s.services.list_audit(&me.principal, &filter).await {
        Ok(r) => r,
        Err(e) => return ctx.service_error(&e),
    };
    let enc = |v: &Option<String>| -> String {
        crate::page::form_urlencoded(v.as_deref().unwrap_or_default()).collect()
    };
    let older = (rows.len() as u64 == AUDIT_PAGE).then(|| {
        format!(
            "actor={}&action={}&target={}&before={}",
            enc(&filter.actor),
            enc(&filter.action),
            enc(&filter.target),
            rows.last().map_or(0, |r| r.id)
        )
    });
    ctx.render(
        StatusCode::OK,
        &AuditPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: true,
            tab: "audit",
            actor: filter.actor.as_deref().unwrap_or_default(),
            action: filter.action.as_deref().unwrap_or_default(),
            target: filter.target.as_deref().unwrap_or_default(),
            rows: crate::history::audit_lines(
                &ctx.tr,
                &s.services.names(&me.principal).await.unwrap_or_default(),
                rows,
            ),
            older,
        },
    )
}

// ----- an agent's own second factor -----

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    enabled: bool,
    enrolment: Option<xdesk_service::auth::TotpEnrolment>,
    /// The enrolment's `otpauth://` URI as an inline SVG QR code, drawn here.
    qr: Option<String>,
    /// New recovery codes, shown this once.
    recovery_codes: Vec<String>,
    codes_left: u64,
    /// The agent just signed in with a recovery code.
    recovered: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct Recovered {
    recovered: Option<String>,
}

pub(crate) async fn two_factor(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Query(q): Query<Recovered>,
) -> Response {
    let codes_left = match s.services.recovery_codes_left(me.agent.id).await {
        Ok(n) => n,
        Err(e) => return ctx.service_error(&e),
    };
    ctx.render(
        StatusCode::OK,
        &TwoFactorPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            enabled: me.agent.totp_enabled,
            enrolment: None,
            qr: None,
            recovery_codes: Vec::new(),
            codes_left,
            recovered: q.recovered.is_some() && me.agent.totp_enabled,
            error: None,
        },
    )
}

/// `begin` shows a new secret to scan (as text and QR code; replacing one in force needs a
/// current code from it or a recovery code), `confirm` with a code from the app turns it on
/// and shows the recovery codes once, `regenerate` replaces the recovery codes (a current
/// code needed).
pub(crate) async fn two_factor_post(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let codes_left = match s.services.recovery_codes_left(me.agent.id).await {
        Ok(n) => n,
        Err(e) => return ctx.service_error(&e),
    };
    let page = |enabled,
                enrolment: Option<xdesk_service::auth::TotpEnrolment>,
                recovery_codes: Vec<String>,
                error| {
        let codes_left = if recovery_codes.is_empty() {
            codes_left
        } else {
            u64::try_from(recovery_codes.len()).unwrap_or(u64::MAX)
        };
        TwoFactorPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            enabled,
            qr: enrolment
                .as_ref()
                .and_then(|e| crate::qr::svg(&e.otpauth_url, ctx.tr.t("twofa.qr_label"))),
            enrolment,
            recovery_codes,
            codes_left,
            recovered: false,
            error,
        }
    };
    let enabled = me.agent.totp_enabled;
    let wrong_code = |e: ServiceError| match e {
        ServiceError::TwoFactorRequired => ctx.render(
            StatusCode::UNAUTHORIZED,
            &page(
                enabled,
                None,
                Vec::new(),
                Some(ctx.tr.t("login.totp_wrong")),
            ),
        ),
        e => ctx.service_error(&e),
    };
    match field(&f, "step") {
        "begin" => {
            let current = Some(field(&f, "current_code")).filter(|c| !c.trim().is_empty());
            match s.services.begin_totp(me.agent.id, current).await {
                Ok(e) => ctx.render(StatusCode::OK, &page(enabled, Some(e), Vec::new(), None)),
                Err(e) => wrong_code(e),
            }
        }
        "regenerate" => match s
            .services
            .regenerate_recovery_codes(me.agent.id, field(&f, "code"))
            .await
        {
            Ok(codes) => ctx.render(StatusCode::OK, &page(true, None, codes, None)),
            Err(e) => wrong_code(e),
        },
        _ => match s
            .services
            .confirm_totp(me.agent.id, field(&f, "code"))
            .await
        {
            Ok(codes) => ctx.render(StatusCode::OK, &page(true, None, codes, None)),
            Err(ServiceError::Field(_)) => ctx.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(
                    enabled,
                    None,
                    Vec::new(),
                    Some(ctx.tr.t("login.totp_wrong")),
                ),
            ),
            Err(e) => ctx.service_error(&e),
        },
    }
}

// ----- an invited agent's first password -----

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage<'a> {
    ctx: &'a Ctx,
    token: &'a str,
    error: Option<String>,
}

pub(crate) async fn welcome(ctx: Ctx, Path(token): Path<String>) -> Response {
    ctx.render(
        StatusCode::OK,
        &WelcomePage {
            ctx: &ctx,
            token: &token,
            error: None,
        },
    )
}

pub(crate) async fn welcome_post(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(token): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let retry = |error: &str| {
        ctx.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &WelcomePage {
                ctx: &ctx,
                token: &token,
                error: Some(error.to_owned()),
            },
        )
    };
    if field(&f, "password") != field(&f, "again") {
        return retry(ctx.tr.t("welcome.mismatch"));
    }
    match s
        .services
        .accept_invite(&token, field(&f, "password"))
        .await
    {
        Ok(_) => Redirect::to("/console/login").into_response(),
        Err(ServiceError::Field(_)) => retry(ctx.tr.t("welcome.weak")),
        Err(ServiceError::Unauthenticated) => ctx.error(
            StatusCode::UNAUTHORIZED,
            ctx.tr.t("welcome.link_used_or_expired"),
        ),
        Err(e) => ctx.service_error(&e),
    }
}
