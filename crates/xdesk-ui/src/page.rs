//! What every page needs from the request: its language, the CSRF token its forms carry, the
//! signed-in agent, and how a failure is shown.

use crate::UiState;
use crate::i18n::{Lang, Tr};
use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_service::{Principal, ServiceError};
use xdesk_store::AgentRow;

pub const SESSION_COOKIE: &str = "xdesk_session";
pub const CSRF_COOKIE: &str = "xdesk_csrf";
pub const LANG_COOKIE: &str = "xdesk_lang";
/// A customer's portal session; apart from the agents' so one browser can hold both.
pub const PORTAL_COOKIE: &str = "xdesk_portal";
/// A help-center reader, so "was this helpful?" counts once per reader and article.
pub const READER_COOKIE: &str = "xdesk_reader";

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn random_token() -> String {
    use rand::Rng;
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from(A[rng.gen_range(0..A.len())]))
        .collect()
}

/// The request as a page sees it.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub tr: Tr,
    /// Put in every form as `csrf`; it must equal the `xdesk_csrf` cookie (double submit: a
    /// foreign site can neither read the cookie nor set it).
    pub csrf: String,
    /// The cookie was just made: the response must set it.
    fresh_csrf: bool,
    /// This page's path and query, for the language switch and sign-in to return to.
    pub here: String,
    pub secure: bool,
    /// The signed-in agent, once the request's [`SignedIn`] is known.
    agent: AgentSlot,
}

/// The signed-in agent as the header's navigation names them.
#[derive(Debug, Clone)]
pub(crate) struct NavAgent {
    pub name: String,
    pub is_admin: bool,
    /// For the header's status switch.
    pub status: String,
}

/// Shared by a request's [`Ctx`] and [`SignedIn`] (through its extensions, whichever is
/// extracted first), so a page that fails after its agent was known still shows its header's
/// navigation, with no second session lookup.
type AgentSlot = std::sync::Arc<std::sync::OnceLock<NavAgent>>;

fn agent_slot(parts: &mut Parts) -> AgentSlot {
    if let Some(slot) = parts.extensions.get::<AgentSlot>() {
        return slot.clone();
    }
    let slot = AgentSlot::default();
    parts.extensions.insert(slot.clone());
    slot
}

impl FromRequestParts<UiState> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, s: &UiState) -> Result<Self, Self::Rejection> {
        let lang = Lang::negotiate(
            cookie(&parts.headers, LANG_COOKIE),
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let existing = cookie(&parts.headers, CSRF_COOKIE)
            .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(str::to_owned);
        let fresh_csrf = existing.is_none();
        Ok(Ctx {
            tr: Tr::new(lang),
            csrf: existing.unwrap_or_else(random_token),
            fresh_csrf,
            here: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            secure: s.secure_cookies,
            agent: agent_slot(parts),
        })
    }
}

impl Ctx {
    /// The signed-in agent's status; None on pages nobody signed in to.
    pub fn my_status(&self) -> Option<&str> {
        self.agent().map(|a| a.status.as_str())
    }

    /// Whether the signed-in agent's status is `status`.
    pub fn my_status_is(&self, status: &str) -> bool {
        self.my_status() == Some(status)
    }

    /// This request's context as the page at `here` would have it, with the status just set:
    /// for the header's switch re-rendered alone.
    pub fn with_status(&self, status: &str, here: &str) -> Ctx {
        let agent = AgentSlot::default();
        if let Some(a) = self.agent() {
            let _ = agent.set(NavAgent {
                status: status.to_owned(),
                ..a.clone()
            });
        }
        Ctx {
            agent,
            here: here.to_owned(),
            ..self.clone()
        }
    }

    /// A `Set-Cookie` value; HttpOnly always, `Secure` behind HTTPS.
    pub fn cookie(&self, name: &str, value: &str, max_age: i64, same_site: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Renders a page, setting the CSRF cookie the first time.
    pub fn render(&self, status: StatusCode, t: &impl Template) -> Response {
        let html = match t.render() {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let mut r = (status, Html(html)).into_response();
        self.finish(&mut r);
        r
    }

    /// Adds what every response of a page carries.
    pub fn finish(&self, r: &mut Response) {
        if self.fresh_csrf {
            r.headers_mut().append(
                header::SET_COOKIE,
                self.cookie(CSRF_COOKIE, &self.csrf, 60 * 60 * 24 * 30, "Strict"),
            );
        }
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }

    /// This page's address as a query value, for links that come back here.
    pub fn back(&self) -> String {
        form_urlencoded(&self.here).collect()
    }

    /// Whether a submitted form's token is this visitor's. A missing cookie never matches.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        !self.fresh_csrf
            && submitted.len() == self.csrf.len()
            && submitted
                .bytes()
                .zip(self.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The signed-in agent, when this request has one.
    pub fn agent(&self) -> Option<&NavAgent> {
        self.agent.get()
    }

    /// The page shown when something fails; a signed-in agent keeps the header's navigation.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        self.render(
            status,
            &ErrorPage {
                ctx: self,
                agent: self.agent(),
                title: self.tr.t(match status {
                    StatusCode::NOT_FOUND => "error.not_found",
                    StatusCode::FORBIDDEN => "error.forbidden",
                    _ => "error.title",
                }),
                message,
            },
        )
    }

    /// A service failure as a page, in the page's language where the failure has a name.
    pub fn service_error(&self, e: &ServiceError) -> Response {
        match e {
            ServiceError::NotFound(_) => {
                self.error(StatusCode::NOT_FOUND, self.tr.t("error.not_found_text"))
            }
            ServiceError::Forbidden(_) => {
                self.error(StatusCode::FORBIDDEN, self.tr.t("error.forbidden_text"))
            }
            ServiceError::StaleVersion => {
                self.error(StatusCode::CONFLICT, self.tr.t("error.stale"))
            }
            ServiceError::Conflict(m) => self.error(StatusCode::CONFLICT, m),
            ServiceError::Upstream(_) => {
                tracing::warn!(error = %e, "upstream failure");
                self.error(StatusCode::BAD_GATEWAY, self.tr.t("error.upstream"))
            }
            ServiceError::RateLimited { retry_after_secs } => {
                let mut r = self.error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &self.tr.t1("login.too_many", retry_after_secs),
                );
                if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                    r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
                r
            }
            ServiceError::Store(_)
            | ServiceError::Internal(_)
            | ServiceError::SecretUnreadable(_) => {
                tracing::error!(error = %e, "page failed");
                self.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    self.tr.t("error.internal"),
                )
            }
            other => self.error(StatusCode::UNPROCESSABLE_ENTITY, &other.to_string()),
        }
    }

    /// Refuses a form whose CSRF token is missing or wrong.
    pub fn csrf_refused(&self) -> Response {
        self.error(StatusCode::FORBIDDEN, self.tr.t("error.csrf"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: &'a Ctx,
    agent: Option<&'a NavAgent>,
    title: &'a str,
    message: &'a str,
}

/// A path on this site to return to (`back=`, `next=`); anything else becomes the console.
pub(crate) fn local_path(p: Option<&str>) -> String {
    p.and_then(same_origin_path)
        .unwrap_or_else(|| "/console".to_owned())
}

/// The path, query and fragment of `p` when it stays on this origin. Browsers drop tabs and
/// newlines from a URL, read `\` as `/` and follow `//host` to another site, and some proxies
/// decode once more: so control characters, white space and backslashes are refused raw and
/// after every layer of percent-decoding, and what is left must resolve to this origin.
fn same_origin_path(p: &str) -> Option<String> {
    if p.len() > 2048 || !p.starts_with('/') {
        return None;
    }
    let mut layer = p.to_owned();
    for _ in 0..4 {
        if layer.starts_with("//")
            || layer
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(&layer)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == layer {
            break;
        }
        layer = decoded;
    }
    let base = url::Url::parse("http://xdesk.invalid/").ok()?;
    let u = base.join(p).ok()?;
    if u.origin() != base.origin() {
        return None;
    }
    let mut out = u.path().to_owned();
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = u.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

#[derive(Deserialize)]
pub(crate) struct Back {
    back: Option<String>,
}

/// The language switch on every page: remembered for a year, then back to the page.
/// A signed-in agent's choice is also kept on their account, for their other browsers.
pub(crate) async fn switch_language(
    ctx: Ctx,
    State(s): State<UiState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let Some(lang) = Lang::from_code(&code) else {
        return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text"));
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok((principal, _)) = s.services.session_agent(token).await
        && let Err(e) = s.services.set_my_language(&principal, lang.code()).await
    {
        return ctx.service_error(&e);
    }
    let mut r = Redirect::to(&local_path(q.back.as_deref())).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        ctx.cookie(LANG_COOKIE, lang.code(), 60 * 60 * 24 * 365, "Lax"),
    );
    ctx.finish(&mut r);
    r
}

/// Any path no page answers: the not-found page, with the header's navigation for a
/// signed-in agent (their session is looked up only to draw it).
pub(crate) async fn not_found(ctx: Ctx, _agent: Result<SignedIn, Response>) -> Response {
    ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text"))
}

/// The caller's address, for rate limits and the audit log: the one the web layer established
/// (behind trusted proxies, the forwarded client), else the TCP peer.
pub(crate) struct PeerIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let established = parts
            .extensions
            .get::<xdesk_service::client_addr::ClientAddr>()
            .map(|a| a.0);
        let peer = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|a| a.0.ip().to_canonical())
        };
        Ok(PeerIp(established.or_else(peer).map(|ip| ip.to_string())))
    }
}

/// The signed-in agent; pages that need one send everybody else to sign in.
pub(crate) struct SignedIn {
    pub principal: Principal,
    pub agent: AgentRow,
    /// The session token, for connections that re-check it while they stay open.
    pub token: String,
}

impl FromRequestParts<UiState> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &UiState) -> Result<Self, Response> {
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
            && let Ok((principal, agent)) = s.services.session_agent(token).await
        {
            let token = token.to_owned();
            // Set once per request: the first reading stands.
            let _ = agent_slot(parts).set(NavAgent {
                name: agent.display_name.clone(),
                is_admin: principal.is_admin(),
                status: agent.status.clone(),
            });
            return Ok(SignedIn {
                principal,
                agent,
                token,
            });
        }
        let here = parts
            .uri
            .path_and_query()
            .map_or("/console", |p| p.as_str());
        let mut url = "/console/login?next=".to_owned();
        url.extend(form_urlencoded(here));
        Err(Redirect::to(&url).into_response())
    }
}

/// A file offered as a download, never rendered inline, so an uploaded page cannot run script
/// on this origin.
pub(crate) fn download(filename: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    let kind =
        if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
            content_type
        } else {
            "application/octet-stream"
        };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(kind).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    if let Ok(v) = HeaderValue::from_str(&xdesk_service::tickets::content_disposition(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A urlencoded form as its pairs, for forms with repeated fields (checkbox groups).
pub(crate) type Fields = Vec<(String, String)>;

/// The first value of `name` in a form, or "".
pub(crate) fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The signed-in customer; portal pages send everybody else to the portal's sign-in.
pub(crate) struct Customer {
    pub principal: Principal,
    pub row: xdesk_store::CustomerRow,
}

impl FromRequestParts<UiState> for Customer {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &UiState) -> Result<Self, Response> {
        if let Some(token) = cookie(&parts.headers, PORTAL_COOKIE)
            && let Ok((principal, row)) = s.services.portal_customer(token).await
        {
            return Ok(Customer { principal, row });
        }
        Err(Redirect::to("/portal/sign-in").into_response())
    }
}

/// A multipart form as read: its text fields and its files. Reading stops at the first broken
/// part, so nothing half-read is used.
pub(crate) struct Posted {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<xdesk_service::tickets::Upload>,
}

impl Posted {
    async fn read(ctx: &Ctx, mut form: axum::extract::Multipart) -> Result<Posted, Box<Response>> {
        let mut posted = Posted {
            fields: Default::default(),
            files: Vec::new(),
        };
        let bad = |e: axum::extract::multipart::MultipartError| {
            Box::new(ctx.error(StatusCode::BAD_REQUEST, &e.body_text()))
        };
        while let Some(field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = field.bytes().await.map_err(bad)?;
            match filename {
                // A file input left empty still sends a part without a name or bytes.
                Some(filename) if name == "files" => {
                    if !filename.is_empty() || !bytes.is_empty() {
                        posted.files.push(xdesk_service::tickets::Upload {
                            filename,
                            content_type,
                            bytes: bytes.to_vec(),
                        });
                    }
                }
                _ => {
                    posted
                        .fields
                        .insert(name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        Ok(posted)
    }

    /// Reads a form and refuses it unless it carries this visitor's CSRF token.
    pub async fn read_checked(
        ctx: &Ctx,
        form: axum::extract::Multipart,
    ) -> Result<Posted, Box<Response>> {
        let posted = Self::read(ctx, form).await?;
        if ctx.csrf_ok(posted.get("csrf")) {
            Ok(posted)
        } else {
            Err(Box::new(ctx.csrf_refused()))
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// Percent-encodes a query value.
pub(crate) fn form_urlencoded(s: &str) -> impl Iterator<Item = String> + '_ {
    s.bytes().map(|b| {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            char::from(b).to_string()
        } else {
            format!("%{b:02X}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/console?view=mine")), "/console?view=mine");
        assert_eq!(
            local_path(Some("/portal/tickets/7#m3")),
            "/portal/tickets/7#m3"
        );
        assert_eq!(
            local_path(Some("/help/%E6%8F%90%E5%B8%81")),
            "/help/%E6%8F%90%E5%B8%81"
        );
        assert_eq!(
            local_path(Some("/javascript:alert(1)")),
            "/javascript:alert(1)"
        );
        assert_eq!(local_path(None), "/console");
    }

    /// Known open-redirect bypasses (OWASP's and PortSwigger's lists): each must land on the
    /// console, never on another site.
    #[test]
    fn known_redirect_bypasses_stay_home() {
        for bad in [
            "//evil.test/x",
            "///evil.test",
            "////evil.test",
            "https://evil.test",
            "http:/evil.test",
            "http:evil.test",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "  javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "/\\evil.test",
            "\\\\evil.test",
            "/\\/evil.test",
            "/\t/evil.test",
            "/\n/evil.test",
            "/\r\n/evil.test",
            "/%09/evil.test",
            "/%0a/evil.test",
            "/%0D%0A/evil.test",
            "/%5cevil.test",
            "/%5C%5Cevil.test",
            "/%2f/evil.test",
            "/%2F%2Fevil.test",
            "/%252F%252Fevil.test",
            "/%25%30%39/evil.test",
            "/%E3%80%80/evil.test",
            "/\u{3000}/evil.test",
            "/\u{0}/evil.test",
            " /evil.test",
            "evil.test",
            "%2F%2Fevil.test",
            "/ /evil.test",
        ] {
            assert_eq!(local_path(Some(bad)), "/console", "{bad:?}");
        }
    }
}
