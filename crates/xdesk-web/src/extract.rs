//! Extractors that turn every rejection into an [`AppError`] and establish who is calling.

use crate::AppState;
use crate::error::AppError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use xdesk_service::client_addr::ClientAddr;
use xdesk_service::{Principal, ServiceError};

/// JSON body whose errors use the API's error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// Query string whose errors use the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// Path parameters whose errors use the API's error shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

/// The caller's address, for rate limits and the audit log: what [`client_addr`] established
/// (behind trusted proxies, the forwarded client), else the TCP peer.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let established = parts.extensions.get::<ClientAddr>().map(|a| a.0);
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip().to_canonical())
        };
        Ok(ClientIp(established.or_else(peer).map(|ip| ip.to_string())))
    }
}

/// Middleware: establishes every request's client address once, from the TCP peer and, when
/// that peer is a trusted proxy, the header it appends to; handlers and pages read it with
/// [`ClientIp`].
pub async fn client_addr(
    axum::extract::State(services): axum::extract::State<xdesk_service::Services>,
    mut req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let proxies = &services.trusted_proxies;
        let values: Vec<&str> = proxies.header().map_or_else(Vec::new, |h| {
            req.headers()
                .get_all(h)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        });
        let client = proxies.client(peer.ip(), &values);
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

pub const SESSION_COOKIE: &str = "xdesk_session";

/// The credential of a request: `Authorization: Bearer …` or the session cookie.
pub fn credential(parts: &Parts) -> Option<String> {
    credential_in(&parts.headers)
}

/// The same, from the headers alone.
pub fn credential_in(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// An authenticated caller.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = credential(parts).ok_or(ServiceError::Unauthenticated)?;
        Ok(Auth(state.services.authenticate(&token).await?))
    }
}
