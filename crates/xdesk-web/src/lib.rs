//! xdesk's HTTP layer: the JSON API under `/api/v1`, its OpenAPI document and Swagger UI,
//! health and metrics endpoints. Handlers only parse, call a service and shape the answer.

pub mod api;
pub mod error;
pub mod extract;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;
use xdesk_service::Services;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: PrometheusHandle,
    pub settings: std::sync::Arc<WebSettings>,
}

/// How the HTTP layer is exposed.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Cookies only over HTTPS (the public URL is `https://`).
    pub secure_cookies: bool,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// When true, `/metrics` is not on this router at all (it has a listener of its own).
    pub metrics_elsewhere: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "xdesk API", description = "Help desk for crypto-asset exchanges. Authenticate with `Authorization: Bearer <session token or API key>`."),
    paths(
        api::tickets::create, api::tickets::get, api::tickets::list, api::tickets::update,
        api::tickets::reply, api::tickets::note, api::tickets::upload, api::tickets::download,
        api::tickets::history, api::tickets::search, api::channels::email_inbound,
        api::channels::list_email_templates, api::channels::put_email_template,
        api::channels::reset_email_template, api::channels::list_mailboxes,
        api::channels::create_mailbox, api::channels::update_mailbox, api::channels::delete_mailbox,
        api::people::login, api::people::logout, api::people::totp_begin, api::people::totp_confirm, api::people::recovery_codes,
        api::people::me, api::people::list_agents, api::people::create_agent, api::people::set_agent_active,
        api::people::list_groups, api::people::create_group,
        api::people::create_api_key, api::people::list_api_keys, api::people::revoke_api_key,
        api::people::audit, api::people::upsert_customer, api::people::get_customer, api::people::list_customers,
        api::kb::search, api::routing::list, api::routing::create, api::routing::delete,
        api::sla::create_calendar, api::sla::list_calendars, api::sla::update_calendar, api::sla::delete_calendar, api::sla::create_policy,
        api::sla::list_policies, api::sla::delete_policy, api::sla::ticket_sla,
        api::macros::create, api::macros::list, api::macros::update, api::macros::delete, api::macros::preview,
        api::macros::apply, api::assignment::set_status, api::assignment::set_routing,
        api::assignment::set_group, api::assignment::team, api::tickets::merge,
        api::tickets::split, api::tickets::bulk, api::reports::satisfaction, api::trust::verify,
        api::trust::list_channels, api::trust::add_channel, api::trust::delete_channel,
        api::trust::list_phishing, api::trust::add_phishing, api::trust::delete_phishing,
        api::wallet::challenge, api::wallet::sign_in, api::exchange::view,
        api::exchange::unmask, api::exchange::act, api::exchange::approve,
        api::exchange::chain_check, api::identities::propose, api::identities::list,
        api::identities::approve, api::identities::reject, api::identities::unlink,
        api::surges::list, api::surges::get, api::surges::dismiss,
        api::incidents::list_components, api::incidents::create_component,
        api::incidents::update_component, api::incidents::delete_component,
        api::incidents::set_component_status, api::incidents::list, api::incidents::create,
        api::incidents::get, api::incidents::edit, api::incidents::post_update,
        api::incidents::linked, api::incidents::link, api::incidents::unlink,
        api::incidents::of_ticket,
    ),
    tags((name = "tickets"), (name = "auth"), (name = "agents"), (name = "groups"), (name = "customers"), (name = "channels"), (name = "admin"), (name = "kb"), (name = "trust"), (name = "incidents"))
)]
pub struct ApiDoc;

/// The process-wide Prometheus recorder (metrics macros write to a global recorder).
pub fn metrics_handle() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (e.g. tests); then ours simply stays empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
    .clone()
}

async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let mut res = next.run(req).await;
    let took = start.elapsed();
    // The server's own time, for the browser's dev tools and the benchmarks.
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("app;dur={:.2}", took.as_secs_f64() * 1000.0))
    {
        res.headers_mut().insert("server-timing", v);
    }
    let labels = [
        ("method", method),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("xdesk_http_requests_total", &labels).increment(1);
    metrics::histogram!("xdesk_http_request_duration_seconds", &labels).record(took.as_secs_f64());
    res
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers. The reason stays in the log: a database error can name
/// hosts, users and schema to whoever asks.
async fn readyz(State(s): State<AppState>) -> Response {
    match s.services.ready().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn prometheus(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(want) = &s.settings.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !xdesk_service::auth::constant_time_eq(given.trim().as_bytes(), want.as_bytes()) {
            return error::AppError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "metrics need their bearer token",
            )
            .into_response();
        }
    }
    s.metrics.render().into_response()
}

/// The embeddable chat widget, compiled into the binary: no CDN, no build step.
async fn widget_js() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../static/widget.js"),
    )
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn api_not_found() -> error::AppError {
    error::AppError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such API route",
    )
}

/// Largest request body accepted: attachments are capped separately, per file.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

pub use xdesk_service::email::MAX_MAIL_BYTES;

/// The API and, merged in, the web `pages` (their own crate), all behind the same tracing,
/// metrics, body limit and timeout.
pub fn router(services: Services, pages: Router, settings: WebSettings) -> Router {
    use api::{people as pp, tickets as t};
    let chat = services.chat.clone();
    // The widget uploads from the exchange's pages, another origin: its browser asks first.
    let widget_cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::predicate(move |o, _| {
            o.to_str().is_ok_and(|o| chat.origin_allowed(Some(o)))
        }))
        .allow_methods([axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    // The widget also asks the help center from those pages, before the first message.
    let chat = services.chat.clone();
    let kb_cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::predicate(move |o, _| {
            o.to_str().is_ok_and(|o| chat.origin_allowed(Some(o)))
        }))
        .allow_methods([axum::http::Method::GET]);
    // Wallet sign-in from the widget, on the exchange's (or the DEX's) pages.
    let chat = services.chat.clone();
    let wallet_cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::predicate(move |o, _| {
            o.to_str().is_ok_and(|o| chat.origin_allowed(Some(o)))
        }))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let metrics_here = !settings.metrics_elsewhere;
    let client_addr = middleware::from_fn_with_state(services.clone(), extract::client_addr);
    let state = AppState {
        services,
        metrics: metrics_handle(),
        settings: std::sync::Arc::new(settings),
    };
    let v1 = Router::new()
        .route("/tickets", post(t::create).get(t::list))
        .route("/tickets/search", get(t::search))
        .route("/tickets/bulk", post(t::bulk))
        .route("/tickets/{id}", get(t::get).patch(t::update))
        .route("/tickets/{id}/replies", post(t::reply))
        .route("/tickets/{id}/notes", post(t::note))
        .route("/tickets/{id}/attachments", post(t::upload))
        .route("/tickets/{id}/history", get(t::history))
        .route("/tickets/{id}/merge", post(t::merge))
        .route("/tickets/{id}/split", post(t::split))
        .route("/tickets/{id}/exchange", get(api::exchange::view))
        .route("/tickets/{id}/exchange/unmask", post(api::exchange::unmask))
        .route("/tickets/{id}/exchange/actions", post(api::exchange::act))
        .route(
            "/tickets/{id}/exchange/approve",
            post(api::exchange::approve),
        )
        .route(
            "/tickets/{id}/chain-check",
            post(api::exchange::chain_check),
        )
        .route("/attachments/{id}", get(t::download))
        .route("/auth/login", post(pp::login))
        .route("/auth/logout", post(pp::logout))
        .route("/auth/totp", post(pp::totp_begin))
        .route("/auth/totp/confirm", post(pp::totp_confirm))
        .route("/auth/recovery-codes", post(pp::recovery_codes))
        .route("/agents", get(pp::list_agents).post(pp::create_agent))
        .route("/agents/me", get(pp::me))
        .route("/agents/{id}/active", put(pp::set_agent_active))
        .route("/agents/{id}/status", put(api::assignment::set_status))
        .route("/agents/{id}/routing", put(api::assignment::set_routing))
        .route("/team", get(api::assignment::team))
        .route("/reports/satisfaction", get(api::reports::satisfaction))
        .route("/surges", get(api::surges::list))
        .route("/surges/{id}", get(api::surges::get))
        .route("/surges/{id}/dismiss", post(api::surges::dismiss))
        .route("/groups", get(pp::list_groups).post(pp::create_group))
        .route("/groups/{id}/assignment", put(api::assignment::set_group))
        .route(
            "/routing-rules",
            get(api::routing::list).post(api::routing::create),
        )
        .route("/routing-rules/{id}", delete(api::routing::delete))
        .route(
            "/sla/calendars",
            get(api::sla::list_calendars).post(api::sla::create_calendar),
        )
        .route(
            "/sla/policies",
            get(api::sla::list_policies).post(api::sla::create_policy),
        )
        .route(
            "/sla/calendars/{id}",
            put(api::sla::update_calendar).delete(api::sla::delete_calendar),
        )
        .route("/sla/policies/{id}", delete(api::sla::delete_policy))
        .route("/tickets/{id}/sla", get(api::sla::ticket_sla))
        .route(
            "/components",
            get(api::incidents::list_components).post(api::incidents::create_component),
        )
        .route(
            "/components/{id}",
            put(api::incidents::update_component).delete(api::incidents::delete_component),
        )
        .route(
            "/components/{id}/status",
            post(api::incidents::set_component_status),
        )
        .route(
            "/incidents",
            get(api::incidents::list).post(api::incidents::create),
        )
        .route(
            "/incidents/{id}",
            get(api::incidents::get).put(api::incidents::edit),
        )
        .route("/incidents/{id}/updates", post(api::incidents::post_update))
        .route(
            "/incidents/{id}/tickets",
            get(api::incidents::linked).post(api::incidents::link),
        )
        .route(
            "/incidents/{id}/tickets/{ticket_id}",
            delete(api::incidents::unlink),
        )
        .route("/tickets/{id}/incidents", get(api::incidents::of_ticket))
        .route("/macros", get(api::macros::list).post(api::macros::create))
        .route(
            "/macros/{id}",
            delete(api::macros::delete).put(api::macros::update),
        )
        .route(
            "/tickets/{id}/macros/{macro_id}",
            get(api::macros::preview).post(api::macros::apply),
        )
        .route("/api-keys", get(pp::list_api_keys).post(pp::create_api_key))
        .route("/api-keys/{id}", delete(pp::revoke_api_key))
        .route("/audit", get(pp::audit))
        .route(
            "/customers",
            get(pp::list_customers).post(pp::upsert_customer),
        )
        .route("/customers/{id}", get(pp::get_customer))
        .route(
            "/customers/{id}/identity-links",
            get(api::identities::list).post(api::identities::propose),
        )
        .route(
            "/customers/{id}/identity-links/{link_id}/approve",
            post(api::identities::approve),
        )
        .route(
            "/customers/{id}/identity-links/{link_id}/reject",
            post(api::identities::reject),
        )
        .route(
            "/customers/{id}/identities/{identity_id}",
            delete(api::identities::unlink),
        )
        .route(
            "/channels/email/inbound",
            post(api::channels::email_inbound).layer(DefaultBodyLimit::max(MAX_MAIL_BYTES)),
        )
        .route("/chat/customer", get(api::chat::customer_socket))
        .route("/chat/agent", get(api::chat::agent_socket))
        .route("/chat/uploads", post(api::chat::upload).layer(widget_cors))
        .route("/chat/attachments/{id}", get(api::chat::download))
        .route(
            "/mailboxes",
            get(api::channels::list_mailboxes).post(api::channels::create_mailbox),
        )
        .route(
            "/mailboxes/{id}",
            put(api::channels::update_mailbox).delete(api::channels::delete_mailbox),
        )
        .route("/email-templates", get(api::channels::list_email_templates))
        .route("/kb/search", get(api::kb::search).layer(kb_cors))
        // Public: any site (a wallet, a forum) may ask whether something is official.
        .route(
            "/verify",
            get(api::trust::verify).layer(
                tower_http::cors::CorsLayer::new()
                    .allow_origin(tower_http::cors::Any)
                    .allow_methods([axum::http::Method::GET]),
            ),
        )
        .route(
            "/wallet/challenge",
            get(api::wallet::challenge).layer(wallet_cors.clone()),
        )
        .route(
            "/wallet/sign-in",
            post(api::wallet::sign_in).layer(wallet_cors),
        )
        .route(
            "/official-channels",
            get(api::trust::list_channels).post(api::trust::add_channel),
        )
        .route(
            "/official-channels/{id}",
            delete(api::trust::delete_channel),
        )
        .route(
            "/phishing-domains",
            get(api::trust::list_phishing).post(api::trust::add_phishing),
        )
        .route(
            "/phishing-domains/{id}",
            delete(api::trust::delete_phishing),
        )
        .route(
            "/email-templates/{name}/{language}",
            put(api::channels::put_email_template).delete(api::channels::reset_email_template),
        )
        .fallback(api_not_found);
    let mut app = Router::new()
        .nest("/api/v1", v1)
        .route("/api/openapi.json", get(openapi_json))
        .route("/widget.js", get(widget_js))
        .merge(SwaggerUi::new("/api/docs").url("/api/docs/openapi.json", ApiDoc::openapi()))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if metrics_here {
        app = app.route("/metrics", get(prometheus));
    }
    app.with_state(state)
        .merge(pages)
        .layer(client_addr)
        .layer(middleware::from_fn(track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
}

/// `/metrics` alone, for a listener of its own (e.g. on an internal address).
pub fn metrics_router(services: Services, settings: WebSettings) -> Router {
    Router::new()
        .route("/metrics", get(prometheus))
        .with_state(AppState {
            services,
            metrics: metrics_handle(),
            settings: std::sync::Arc::new(settings),
        })
}
