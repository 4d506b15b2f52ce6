//! The public status page: the overall state, the component tree with a bar per day for 90
//! days, open incidents with their public updates, maintenance, and history, in English and
//! Chinese, without JavaScript. The page is rendered once per snapshot and language (the
//! service keeps it), so a view costs a revision check; the same templates write the static
//! copy ([`export_files`]), whose links are relative so any web server can serve it.

use crate::UiState;
use crate::i18n::{Lang, Tr};
use crate::page::Ctx;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use xdesk_domain::incident::{ComponentStatus, IncidentKind};
use xdesk_service::incidents::status_words;
use xdesk_service::status::{PublicIncident, StatusSnapshot};

#[derive(Deserialize, Default)]
pub(crate) struct StatusQuery {
    lang: Option<String>,
}

/// Where the page's links go: the live site, or the files of a static copy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    Live,
    Export,
}

pub(crate) struct Bar {
    pub class: &'static str,
    pub title: String,
}

pub(crate) struct ComponentView {
    pub name: String,
    pub depth: usize,
    pub class: &'static str,
    pub status: &'static str,
    pub uptime: String,
    pub description: String,
    pub bars: Vec<Bar>,
}

pub(crate) struct UpdateLine {
    pub status: &'static str,
    pub body: String,
    pub when: String,
}

pub(crate) struct IncidentCard {
    pub href: String,
    pub name: String,
    pub class: &'static str,
    pub status: &'static str,
    /// "Deposits › TRON, Trading" in the reader's language.
    pub affects: String,
    /// The maintenance window, for maintenance.
    pub window: String,
    /// When it ended, for history.
    pub ended: String,
    pub updates: Vec<UpdateLine>,
}

/// What both status templates need besides their own content.
pub(crate) struct Frame {
    pub tr: Tr,
    pub page_name: String,
    pub css: String,
    pub home: String,
    /// (own name, href, is this language)
    pub languages: Vec<(&'static str, &'static str, String, bool)>,
    pub feed: String,
    pub json: String,
    pub subscribe: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "status/index.html")]
struct IndexPage<'a> {
    f: &'a Frame,
    indicator: &'static str,
    indicator_class: &'static str,
    components: Vec<ComponentView>,
    active: Vec<IncidentCard>,
    maintenance: Vec<IncidentCard>,
    history: Vec<IncidentCard>,
    first_day: String,
    /// The first day a phone shows (its bars cover 30 days).
    first_day_phone: String,
}

#[derive(Template)]
#[template(path = "status/incident.html")]
struct IncidentPage<'a> {
    f: &'a Frame,
    card: IncidentCard,
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn component_class(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "s-ok",
        ComponentStatus::DegradedPerformance => "s-degraded",
        ComponentStatus::PartialOutage => "s-partial",
        ComponentStatus::MajorOutage => "s-major",
        ComponentStatus::UnderMaintenance => "s-maint",
    }
}

fn component_words(tr: &Tr, s: ComponentStatus) -> &'static str {
    tr.t(&format!("status.c.{}", s.as_str()))
}

fn frame(snap: &StatusSnapshot, lang: Lang, links: Links, subscribe_base: &str) -> Frame {
    let tr = Tr::new(lang);
    let languages = Lang::ALL
        .iter()
        .map(|l| {
            let href = match (links, l) {
                (Links::Live, l) => format!("?lang={}", l.code()),
                (Links::Export, Lang::En) => "index.html".to_owned(),
                (Links::Export, l) => format!("index.{}.html", l.code()),
            };
            (l.own_name(), l.html_lang(), href, *l == lang)
        })
        .collect();
    let (css, home, feed, json) = match links {
        Links::Live => (
            "/static/status.css".to_owned(),
            format!("/status?lang={}", lang.code()),
            format!("/status/feed.atom?lang={}", lang.code()),
            "/status/summary.json".to_owned(),
        ),
        Links::Export => (
            "status.css".to_owned(),
            match lang {
                Lang::En => "index.html".to_owned(),
                l => format!("index.{}.html", l.code()),
            },
            "feed.atom".to_owned(),
            "summary.json".to_owned(),
        ),
    };
    Frame {
        tr,
        page_name: snap.page_name.clone(),
        css,
        home,
        languages,
        feed,
        json,
        subscribe: format!("{subscribe_base}/status/subscribe?lang={}", lang.code()),
        updated: when(snap.generated_at),
    }
}

fn card(snap: &StatusSnapshot, i: &PublicIncident, lang: Lang, links: Links) -> IncidentCard {
    let code = lang.code();
    let affects = i
        .components
        .iter()
        .filter_map(|(id, _)| snap.component(*id))
        .map(|c| match c.parent_id.and_then(|p| snap.component(p)) {
            Some(p) => format!("{} › {}", p.name_for(code), c.name_for(code)),
            None => c.name_for(code).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let window = match (i.starts_at, i.ends_at) {
        (Some(s), Some(e)) => format!("{} – {}", when(s), when(e)),
        _ => String::new(),
    };
    let class = match (i.kind, i.impact.as_str()) {
        (IncidentKind::Maintenance, _) => "i-maint",
        (_, "critical") => "i-critical",
        (_, "major") => "i-major",
        (_, "minor") => "i-minor",
        _ => "i-none",
    };
    IncidentCard {
        href: match links {
            Links::Live => format!("/status/incidents/{}?lang={code}", i.id),
            Links::Export => match lang {
                Lang::En => format!("incidents/{}.html", i.id),
                l => format!("incidents/{}.{}.html", i.id, l.code()),
            },
        },
        name: i.name_for(code).to_owned(),
        class,
        status: status_words(i.status.as_str(), code),
        affects,
        window,
        ended: i.resolved_at.map(when).unwrap_or_default(),
        updates: i
            .updates
            .iter()
            .map(|u| UpdateLine {
                status: status_words(u.status.as_str(), code),
                body: u.body.for_language(code).to_owned(),
                when: when(u.created_at),
            })
            .collect(),
    }
}

/// The page for a snapshot in one language.
pub(crate) fn render_index(
    snap: &StatusSnapshot,
    lang: Lang,
    links: Links,
    subscribe_base: &str,
) -> String {
    let f = frame(snap, lang, links, subscribe_base);
    let code = lang.code();
    let components = snap
        .components
        .iter()
        .map(|c| ComponentView {
            name: c.name_for(code).to_owned(),
            depth: c.depth.min(3),
            class: component_class(c.status),
            status: component_words(&f.tr, c.status),
            uptime: f.tr.t1("status.uptime", c.uptime_percent()),
            description: c.description.clone(),
            bars: snap
                .days
                .iter()
                .zip(&c.days)
                .map(|(d, s)| Bar {
                    class: component_class(*s),
                    title: format!("{d} · {}", component_words(&f.tr, *s)),
                })
                .collect(),
        })
        .collect();
    let page = IndexPage {
        indicator: snap.indicator.description(code),
        indicator_class: match snap.indicator.as_str() {
            "none" => "s-ok",
            "minor" => "s-degraded",
            "major" => "s-partial",
            "critical" => "s-major",
            _ => "s-maint",
        },
        components,
        active: snap
            .active
            .iter()
            .map(|i| card(snap, i, lang, links))
            .collect(),
        maintenance: snap
            .maintenance
            .iter()
            .map(|i| card(snap, i, lang, links))
            .collect(),
        history: snap
            .history
            .iter()
            .map(|i| card(snap, i, lang, links))
            .collect(),
        first_day: snap.days.first().map(|d| d.to_string()).unwrap_or_default(),
        first_day_phone: snap
            .days
            .iter()
            .rev()
            .nth(29)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        f: &f,
    };
    page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "status template failed");
        String::new()
    })
}

fn render_incident(
    snap: &StatusSnapshot,
    i: &PublicIncident,
    lang: Lang,
    links: Links,
    subscribe_base: &str,
) -> String {
    let f = frame(snap, lang, links, subscribe_base);
    let mut page = IncidentPage {
        card: card(snap, i, lang, links),
        f: &f,
    };
    if links == Links::Export {
        // From incidents/, the page's own files are one level up.
        page.card.href.clear();
    }
    let html = page.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "status template failed");
        String::new()
    });
    match links {
        Links::Live => html,
        Links::Export => html
            .replace("href=\"status.css\"", "href=\"../status.css\"")
            .replace("href=\"index", "href=\"../index")
            .replace("href=\"feed.atom\"", "href=\"../feed.atom\"")
            .replace("href=\"summary.json\"", "href=\"../summary.json\""),
    }
}

/// Every file of a static copy of the page, by path under the export directory: the page in
/// each language, each incident's page, the JSON and the feed, and the style sheet.
pub fn export_files(snap: &StatusSnapshot, public_url: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let suffix = match lang {
            Lang::En => String::new(),
            l => format!(".{}", l.code()),
        };
        out.push((
            format!("index{suffix}.html"),
            render_index(snap, lang, Links::Export, public_url).into_bytes(),
        ));
        for i in snap
            .active
            .iter()
            .chain(&snap.maintenance)
            .chain(&snap.history)
        {
            out.push((
                format!("incidents/{}{suffix}.html", i.id),
                render_incident(snap, i, lang, Links::Export, public_url).into_bytes(),
            ));
        }
    }
    out.push((
        "summary.json".into(),
        snap.summary_json("en").to_string().into_bytes(),
    ));
    out.push(("feed.atom".into(), snap.atom_feed("en").into_bytes()));
    out.push((
        "status.css".into(),
        include_str!(concat!(env!("OUT_DIR"), "/status.css"))
            .as_bytes()
            .to_vec(),
    ));
    out
}

fn language(ctx: &Ctx, q: &StatusQuery) -> Lang {
    q.lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(ctx.tr.lang)
}

/// A public page that anyone may keep for a few seconds: cheap to serve at a surge.
fn public(body: String, kind: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=15"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

pub(crate) async fn index(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let lang = language(&ctx, &q);
    let base = s
        .services
        .portal
        .public_url
        .trim_end_matches('/')
        .to_owned();
    match s
        .services
        .status_rendered(&format!("html:{}", lang.code()), |snap| {
            render_index(snap, lang, Links::Live, &base)
        })
        .await
    {
        Ok(html) => public(html.to_string(), "text/html; charset=utf-8"),
        Err(e) => ctx.service_error(&e),
    }
}

pub(crate) async fn incident(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(id): Path<i64>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let lang = language(&ctx, &q);
    let base = s
        .services
        .portal
        .public_url
        .trim_end_matches('/')
        .to_owned();
    let (snap, inc) = match (
        s.services.status_snapshot().await,
        s.services.status_incident(id).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    public(
        render_incident(&snap, &inc, lang, Links::Live, &base),
        "text/html; charset=utf-8",
    )
}

/// The machine-readable forms: Statuspage's v2 JSON and the Atom feed.
pub(crate) async fn machine(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(file): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(Lang::En);
    let code = lang.code();
    let (kind, render): (&'static str, fn(&StatusSnapshot, &str) -> String) = match file.as_str() {
        "summary.json" => ("application/json", |s, l| s.summary_json(l).to_string()),
        "status.json" => ("application/json", |s, l| s.status_only_json(l).to_string()),
        "components.json" => ("application/json", |s, l| {
            s.components_only_json(l).to_string()
        }),
        "incidents.json" => ("application/json", |s, l| s.incidents_json(l).to_string()),
        "scheduled-maintenances.json" => ("application/json", |s, l| {
            s.maintenances_json(l).to_string()
        }),
        "feed.atom" => ("application/atom+xml; charset=utf-8", |s, l| s.atom_feed(l)),
        _ => return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text")),
    };
    match s
        .services
        .status_rendered(&format!("{file}:{code}"), |snap| render(snap, code))
        .await
    {
        Ok(body) => public(body.to_string(), kind),
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Template)]
#[template(path = "status/subscribe.html")]
struct SubscribePage<'a> {
    f: &'a Frame,
    csrf: &'a str,
    email: String,
    /// (id, name, depth)
    components: Vec<(i64, String, usize)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "status/message.html")]
struct MessagePage<'a> {
    f: &'a Frame,
    title: &'static str,
    text: &'static str,
    /// Where the page's one button posts, if it has one.
    action: String,
    button: &'static str,
}

async fn subscribe_page(
    ctx: &Ctx,
    s: &UiState,
    lang: Lang,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let snap = match s.services.status_snapshot().await {
        Ok(x) => x,
        Err(e) => return ctx.service_error(&e),
    };
    let f = frame(&snap, lang, Links::Live, "");
    let components = snap
        .components
        .iter()
        .map(|c| (c.id, c.name_for(lang.code()).to_owned(), c.depth.min(2)))
        .collect();
    ctx.render(
        status,
        &SubscribePage {
            f: &f,
            csrf: &ctx.csrf,
            email,
            components,
            notice,
            error,
        },
    )
}

pub(crate) async fn subscribe_form(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let lang = language(&ctx, &q);
    subscribe_page(&ctx, &s, lang, String::new(), None, None, StatusCode::OK).await
}

/// The subscribe form: checkboxes repeat their name, so the fields come as pairs.
pub(crate) async fn subscribe(
    ctx: Ctx,
    State(s): State<UiState>,
    crate::page::PeerIp(ip): crate::page::PeerIp,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let lang = Lang::from_code(field("lang")).unwrap_or(ctx.tr.lang);
    let tr = Tr::new(lang);
    if !ctx.csrf_ok(field("csrf")) {
        return ctx.error(StatusCode::FORBIDDEN, ctx.tr.t("error.forbidden_text"));
    }
    let email = field("email").trim().to_owned();
    let req = xdesk_service::status_mail::SubscribeRequest {
        email: email.clone(),
        language: lang.code().to_owned(),
        components: fields
            .iter()
            .filter(|(n, _)| n == "component")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
    };
    let (status, notice, error) = match s.services.subscribe_status(&req, ip.as_deref()).await {
        Ok(()) => (StatusCode::OK, Some(tr.t("status.check_inbox")), None),
        Err(xdesk_service::ServiceError::RateLimited { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(tr.t("status.too_many").to_owned()),
        ),
        Err(xdesk_service::ServiceError::Field(e)) if e.field == "email" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(tr.t("status.bad_email").to_owned()),
        ),
        Err(e) => return ctx.service_error(&e),
    };
    let email = if error.is_some() {
        email
    } else {
        String::new()
    };
    subscribe_page(&ctx, &s, lang, email, notice, error, status).await
}

#[derive(Deserialize, Default)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    t: String,
    lang: Option<String>,
}

async fn message(
    ctx: &Ctx,
    s: &UiState,
    lang: Lang,
    status: StatusCode,
    title: &'static str,
    text: &'static str,
    action: String,
) -> Response {
    let snap = match s.services.status_snapshot().await {
        Ok(x) => x,
        Err(e) => return ctx.service_error(&e),
    };
    let f = frame(&snap, lang, Links::Live, "");
    let tr = Tr::new(lang);
    ctx.render(
        status,
        &MessagePage {
            f: &f,
            title: tr.t(title),
            text: tr.t(text),
            action,
            button: tr.t("status.unsubscribe"),
        },
    )
}

fn token_lang(ctx: &Ctx, q: &TokenQuery) -> Lang {
    q.lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(ctx.tr.lang)
}

pub(crate) async fn confirm(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = token_lang(&ctx, &q);
    match s.services.confirm_status_subscription(&q.t).await {
        Ok(true) => {
            message(
                &ctx,
                &s,
                lang,
                StatusCode::OK,
                "status.subscribe",
                "status.confirmed",
                String::new(),
            )
            .await
        }
        Ok(false) => {
            message(
                &ctx,
                &s,
                lang,
                StatusCode::NOT_FOUND,
                "status.subscribe",
                "status.confirm_failed",
                String::new(),
            )
            .await
        }
        Err(e) => ctx.service_error(&e),
    }
}

/// A link followed from a mail: asks before unsubscribing, since mail scanners fetch links.
pub(crate) async fn unsubscribe_form(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = token_lang(&ctx, &q);
    let action = format!(
        "/status/unsubscribe?t={}",
        q.t.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    message(
        &ctx,
        &s,
        lang,
        StatusCode::OK,
        "status.unsubscribe",
        "status.unsubscribe_ask",
        action,
    )
    .await
}

/// RFC 8058's one-click POST (`List-Unsubscribe=One-Click`), from a mail provider or the
/// form above: the token is the whole authority, so no cookie and no CSRF token are asked.
pub(crate) async fn unsubscribe(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = token_lang(&ctx, &q);
    match s.services.unsubscribe_status(&q.t).await {
        Ok(_) => {
            message(
                &ctx,
                &s,
                lang,
                StatusCode::OK,
                "status.unsubscribe",
                "status.unsubscribed",
                String::new(),
            )
            .await
        }
        Err(e) => ctx.service_error(&e),
    }
}

/// The visitor cookie notices are counted by (the help center's reader cookie): the one the
/// request carries, or a new one to set.
pub(crate) fn visitor(headers: &axum::http::HeaderMap) -> (String, bool) {
    match crate::page::cookie(headers, crate::page::READER_COOKIE) {
        Some(r) if xdesk_service::kb::reader_token_ok(r) => (r.to_owned(), false),
        _ => (xdesk_service::kb::new_reader_token(), true),
    }
}

/// Counts the notices a page shows for its visitor, and sets their cookie if they had none.
/// A failure to count never stops the page.
pub(crate) async fn count_notices(
    s: &UiState,
    ctx: &Ctx,
    headers: &axum::http::HeaderMap,
    surface: &str,
    notices: &[xdesk_service::status::Notice],
    response: &mut Response,
) {
    if notices.is_empty() {
        return;
    }
    let (v, new) = visitor(headers);
    let ids: Vec<i64> = notices.iter().map(|n| n.incident_id).collect();
    if let Err(e) = s.services.record_notice_views(&v, surface, &ids).await {
        tracing::warn!(error = %e, "notice views not counted");
    }
    if new {
        response.headers_mut().append(
            header::SET_COOKIE,
            ctx.cookie(crate::page::READER_COOKIE, &v, 60 * 60 * 24 * 365, "Lax"),
        );
    }
}

/// Notices for someone about to ask about `issue` (on `network`, when they said): every
/// network's when they have not said yet.
pub(crate) async fn notices_for_issue(
    s: &UiState,
    lang: Lang,
    intent: Option<&str>,
    network: Option<&str>,
) -> Vec<xdesk_service::status::Notice> {
    let Some(intent) = intent else {
        return Vec::new();
    };
    let networks: Vec<Option<&str>> = match network {
        Some(n) if !n.is_empty() => vec![Some(n)],
        _ => crate::pages::case::networks()
            .into_iter()
            .map(|(n, _)| Some(n))
            .collect(),
    };
    let mut out: Vec<xdesk_service::status::Notice> = Vec::new();
    for n in networks {
        match s
            .services
            .status_notices(lang.code(), Some((Some(intent), n)))
            .await
        {
            Ok(list) => {
                for x in list {
                    if !out.iter().any(|o| o.incident_id == x.incident_id) {
                        out.push(x);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "status notices unavailable"),
        }
    }
    out
}
