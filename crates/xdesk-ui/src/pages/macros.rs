//! The macros page: every agent sees the canned replies and how often each was used;
//! supervisors and admins write, rewrite and delete them here (text in English and Chinese,
//! placeholders, and the state, tags and group a macro sets).

use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use xdesk_domain::identity::Role;
use xdesk_service::ServiceError;
use xdesk_service::macros::MacroInput;

/// One macro as the page shows it.
struct Shown {
    id: i64,
    name: String,
    body_en: String,
    body_zh: String,
    set_state: String,
    tags: String,
    group_id: Option<i64>,
    usage_count: i64,
}

#[derive(Template)]
#[template(path = "macros.html")]
struct MacrosPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    /// Supervisors and admins get the forms.
    manages: bool,
    macros: Vec<Shown>,
    groups: Vec<(i64, String)>,
    states: Vec<&'static str>,
    placeholders: String,
}

impl MacrosPage<'_> {
    fn group_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.groups.iter().find(|(g, _)| *g == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }
}

pub(crate) async fn list(ctx: Ctx, me: SignedIn, State(s): State<UiState>) -> Response {
    let p = &me.principal;
    let (macros, groups) = match (
        s.services.list_macros(p).await,
        s.services.list_groups(p).await,
    ) {
        (Ok(m), Ok(g)) => (m, g),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    let page = MacrosPage {
        ctx: &ctx,
        agent_name: &me.agent.display_name,
        is_admin: p.is_admin(),
        manages: p.is_admin() || me.agent.role == Role::Supervisor.as_str(),
        macros: macros
            .into_iter()
            .map(|m| Shown {
                tags: serde_json::from_str::<Vec<String>>(&m.add_tags)
                    .unwrap_or_default()
                    .join(", "),
                id: m.id,
                name: m.name,
                body_en: m.body_en,
                body_zh: m.body_zh,
                set_state: m.set_state.unwrap_or_default(),
                group_id: m.set_group_id,
                usage_count: m.usage_count,
            })
            .collect(),
        groups: groups.into_iter().map(|g| (g.id, g.name)).collect(),
        states: xdesk_domain::ticket::TicketState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        placeholders: xdesk_domain::macros::VARIABLES
            .iter()
            .map(|v| format!("{{{{ {v} }}}}"))
            .collect::<Vec<_>>()
            .join(" "),
    };
    ctx.render(StatusCode::OK, &page)
}

fn input(f: &Fields) -> Result<MacroInput, ()> {
    let group = field(f, "set_group").trim();
    let set_group_id = if group.is_empty() {
        None
    } else {
        Some(group.parse().map_err(|_| ())?)
    };
    Ok(MacroInput {
        name: field(f, "name").to_owned(),
        body_en: field(f, "body_en").to_owned(),
        body_zh: field(f, "body_zh").to_owned(),
        set_state: Some(field(f, "set_state").to_owned()).filter(|s| !s.is_empty()),
        add_tags: field(f, "add_tags")
            .split([',', '，'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        set_group_id,
    })
}

/// Creates (no id) or rewrites a macro from the page's form.
async fn save(ctx: Ctx, me: SignedIn, s: UiState, id: Option<i64>, f: Fields) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let Ok(m) = input(&f) else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    let p = &me.principal;
    let done = match id {
        None => s.services.create_macro(p, m).await,
        Some(id) => s.services.update_macro(p, id, m).await,
    };
    finish(&ctx, done.map(|_| ()))
}

fn finish(ctx: &Ctx, done: Result<(), ServiceError>) -> Response {
    match done {
        Ok(()) => Redirect::to("/console/macros").into_response(),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn create(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    save(ctx, me, s, None, f).await
}

pub(crate) async fn update(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    save(ctx, me, s, Some(id), f).await
}

pub(crate) async fn delete(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    finish(&ctx, s.services.delete_macro(&me.principal, id).await)
}
