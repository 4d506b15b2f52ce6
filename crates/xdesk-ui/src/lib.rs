//! xdesk's web pages. Handlers only read the request, call the domain services and render an
//! askama template; every string comes from the message catalog ([`i18n`]), every form carries
//! a CSRF token ([`page`]), and CSS and JavaScript are served from the binary.

mod history;
pub mod i18n;
mod markdown;
mod page;
mod pages;
mod qr;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use xdesk_service::Services;

pub use page::{CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE};
pub use pages::status::export_files as status_export_files;

/// What every handler reads.
#[derive(Clone)]
pub(crate) struct UiState {
    services: Services,
    /// `Secure` on cookies: when xdesk is reached over HTTPS.
    secure_cookies: bool,
}

/// The pages' routes, to merge into the server's router.
pub fn router(services: Services, secure_cookies: bool) -> Router {
    let state = UiState {
        services,
        secure_cookies,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(pages::inbox::inbox))
        .route(
            "/console/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/live", get(pages::live::socket))
        .route("/console/next", get(pages::inbox::next))
        .route("/console/filters", post(pages::inbox::save_filter))
        .route("/console/bulk", post(pages::inbox::bulk))
        .route(
            "/console/filters/{id}/delete",
            post(pages::inbox::delete_filter),
        )
        .route("/console/tickets/{id}", get(pages::ticket::show))
        .route("/console/tickets/{id}/reply", post(pages::ticket::reply))
        .route("/console/tickets/{id}/fields", post(pages::ticket::fields))
        .route("/console/tickets/{id}/case", post(pages::ticket::case))
        .route("/console/tickets/{id}/accept", post(pages::ticket::accept))
        .route("/console/tickets/{id}/merge", post(pages::ticket::merge))
        .route("/console/tickets/{id}/split", post(pages::ticket::split))
        .route(
            "/console/tickets/{id}/reply-check",
            post(pages::ticket::reply_check),
        )
        .route(
            "/console/tickets/{id}/macro",
            post(pages::ticket::apply_macro),
        )
        .route(
            "/console/tickets/{id}/macros/{macro_id}",
            get(pages::ticket::macro_preview),
        )
        .route("/console/check", post(pages::ticket::check))
        .route(
            "/console/tickets/{id}/exchange",
            get(pages::exchange::panel),
        )
        .route(
            "/console/tickets/{id}/exchange/unmask",
            post(pages::exchange::unmask),
        )
        .route(
            "/console/tickets/{id}/exchange/act",
            post(pages::exchange::act),
        )
        .route(
            "/console/tickets/{id}/exchange/approve",
            post(pages::exchange::approve),
        )
        .route(
            "/console/tickets/{id}/chain-check",
            post(pages::exchange::chain_check),
        )
        .route(
            "/console/tickets/{id}/identity-links/{link_id}/{decision}",
            post(pages::ticket::decide_link),
        )
        .route(
            "/console/incidents",
            get(pages::incidents::list).post(pages::incidents::create),
        )
        .route("/console/incidents/new", get(pages::incidents::new_form))
        .route("/console/incidents/link", post(pages::incidents::link))
        .route("/console/incidents/{id}", get(pages::incidents::show))
        .route(
            "/console/incidents/{id}/updates",
            post(pages::incidents::post_update),
        )
        .route("/console/incidents/{id}/edit", post(pages::incidents::edit))
        .route(
            "/console/incidents/{id}/preview",
            post(pages::incidents::preview),
        )
        .route(
            "/console/incidents/{id}/unlink",
            post(pages::incidents::unlink),
        )
        .route(
            "/console/tickets/{id}/incidents",
            get(pages::incidents::ticket_slot),
        )
        .route(
            "/console/admin/components",
            get(pages::incidents::components).post(pages::incidents::create_component),
        )
        .route(
            "/console/admin/components/{id}",
            post(pages::incidents::update_component),
        )
        .route(
            "/console/admin/components/{id}/delete",
            post(pages::incidents::delete_component),
        )
        .route(
            "/console/admin/components/{id}/status",
            post(pages::incidents::component_status),
        )
        .route("/portal", get(pages::portal::home))
        .route(
            "/portal/sign-in",
            get(pages::portal::sign_in_form).post(pages::portal::send_link),
        )
        .route(
            "/portal/sign-in/{token}",
            get(pages::portal::confirm_form).post(pages::portal::confirm),
        )
        .route("/portal/token", get(pages::portal::token_sign_in))
        .route("/portal/sign-out", post(pages::portal::sign_out))
        .route("/portal/phrase", post(pages::portal::set_phrase))
        .route("/portal/wallet", post(pages::portal::wallet_sign_in))
        .route("/portal/freeze", post(pages::portal::freeze))
        .route(
            "/portal/new",
            get(pages::portal::new_form).post(pages::portal::create),
        )
        .route("/portal/check", post(pages::portal::check))
        .route("/portal/suggest", post(pages::portal::suggest))
        .route("/portal/suggested/{slug}", get(pages::portal::suggested))
        .route("/console/kb-report", get(pages::help::report))
        .route("/console/satisfaction", get(pages::surveys::report))
        .route("/console/team", get(pages::team::show))
        .route(
            "/console/macros",
            get(pages::macros::list).post(pages::macros::create),
        )
        .route("/console/macros/{id}", post(pages::macros::update))
        .route("/console/macros/{id}/delete", post(pages::macros::delete))
        .route("/console/status", post(pages::team::set_status))
        .route(
            "/survey/{token}",
            get(pages::surveys::show).post(pages::surveys::answer),
        )
        .route("/console/kb", get(pages::kb::list))
        .route("/console/kb/save", post(pages::kb::save))
        .route("/console/kb/preview", post(pages::kb::preview))
        .route("/console/kb/restore", post(pages::kb::restore))
        .route("/console/kb/{slug}/{language}", get(pages::kb::edit))
        .route("/portal/tickets/{id}", get(pages::portal::show))
        .route("/portal/tickets/{id}/reply", post(pages::portal::reply))
        .route("/portal/tickets/{id}/close", post(pages::portal::close))
        .route(
            "/portal/tickets/{id}/escalate",
            post(pages::portal::escalate),
        )
        .route(
            "/portal/tickets/{id}/transcript.{format}",
            get(pages::portal::transcript),
        )
        .route("/portal/attachments/{id}", get(pages::portal::attachment))
        .route(
            "/console/two-factor",
            get(pages::admin::two_factor).post(pages::admin::two_factor_post),
        )
        .route(
            "/console/welcome/{token}",
            get(pages::admin::welcome).post(pages::admin::welcome_post),
        )
        .route("/admin", get(pages::admin::home))
        .route("/admin/agents", get(pages::admin::agents))
        .route("/admin/agents/invite", post(pages::admin::invite))
        .route("/admin/agents/{id}", post(pages::admin::update_agent))
        .route(
            "/admin/groups",
            get(pages::admin::groups).post(pages::admin::create_group),
        )
        .route(
            "/admin/official",
            get(pages::admin::official).post(pages::admin::add_official),
        )
        .route("/admin/phishing", post(pages::admin::add_phishing))
        .route("/admin/sla", get(pages::admin::sla))
        .route("/admin/sla/policies", post(pages::admin::create_sla_policy))
        .route(
            "/admin/sla/calendars",
            post(pages::admin::create_sla_calendar),
        )
        .route(
            "/admin/routing",
            get(pages::admin::routing).post(pages::admin::create_rule),
        )
        .route(
            "/admin/mailboxes",
            get(pages::admin::mailboxes).post(pages::admin::create_mailbox),
        )
        .route(
            "/admin/keys",
            get(pages::admin::keys).post(pages::admin::create_key),
        )
        .route(
            "/admin/integrations",
            post(pages::admin::create_integration),
        )
        .route("/admin/templates", get(pages::admin::templates))
        .route(
            "/admin/templates/{name}/{language}",
            post(pages::admin::save_template),
        )
        .route("/admin/audit", get(pages::admin::audit))
        .route(
            "/admin/{section}/{id}/{verb}",
            post(pages::admin::row_action),
        )
        .route("/verify", get(pages::verify::show))
        .route("/help", get(pages::help::home))
        .route("/help/search", get(pages::help::search))
        .route("/help/categories/{slug}", get(pages::help::category))
        .route("/help/articles/{slug}", get(pages::help::article))
        .route("/help/articles/{slug}/vote", post(pages::help::vote))
        .route("/status", get(pages::status::index))
        .route("/status/incidents/{id}", get(pages::status::incident))
        .route(
            "/status/subscribe",
            get(pages::status::subscribe_form).post(pages::status::subscribe),
        )
        .route("/status/subscribe/confirm", get(pages::status::confirm))
        .route(
            "/status/unsubscribe",
            get(pages::status::unsubscribe_form).post(pages::status::unsubscribe),
        )
        .route("/status/{file}", get(pages::status::machine))
        .route("/sitemap.xml", get(pages::help::sitemap))
        .route("/ui/lang/{code}", get(page::switch_language))
        .route("/static/{file}", get(asset))
        .fallback(page::not_found)
        .with_state(state)
}

/// Vendored and own assets, compiled in: no CDN, works offline.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> axum::response::Response {
    let (body, kind): (&'static str, &str) = match file.as_str() {
        // htmx 2.0.11 (BSD Zero Clause licence), from the npm registry's htmx.org package. Our
        // own files come without comments and indentation (build.rs).
        "htmx.min.js" => (include_str!("../static/htmx.min.js"), "text/javascript"),
        "console.js" => (
            include_str!(concat!(env!("OUT_DIR"), "/console.js")),
            "text/javascript",
        ),
        "notify.js" => (
            include_str!(concat!(env!("OUT_DIR"), "/notify.js")),
            "text/javascript",
        ),
        "inbox.js" => (
            include_str!(concat!(env!("OUT_DIR"), "/inbox.js")),
            "text/javascript",
        ),
        "wallet.js" => (
            include_str!(concat!(env!("OUT_DIR"), "/wallet.js")),
            "text/javascript",
        ),
        "status.css" => (
            include_str!(concat!(env!("OUT_DIR"), "/status.css")),
            "text/css",
        ),
        "app.css" => (
            include_str!(concat!(env!("OUT_DIR"), "/app.css")),
            "text/css",
        ),
        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, format!("{kind}; charset=utf-8")),
            (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
        ],
        body,
    )
        .into_response()
}
