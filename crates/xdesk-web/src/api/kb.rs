//! Knowledge-base search: public (customers and the help center find published public
//! articles), and agents signed in also find internal ones and drafts.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, credential};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xdesk_service::Principal;
use xdesk_service::kb::KbSearch;

#[derive(Deserialize, IntoParams)]
pub struct KbSearchQuery {
    /// The question, in any mix of Chinese and English.
    pub q: String,
    /// `en` or `zh`; all languages when absent.
    pub lang: Option<String>,
    pub category: Option<String>,
    /// 1-100, default 10.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct KbHitDto {
    pub slug: String,
    pub language: String,
    pub title: String,
    pub score: f32,
    /// HTML-escaped passage with the matched words in `<b>`.
    pub snippet: String,
}

/// The caller if credentials are given and valid; anyone else is the public.
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = crate::error::AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match credential(parts) {
            Some(token) => Ok(MaybeAuth(Some(state.services.authenticate(&token).await?))),
            None => Ok(MaybeAuth(None)),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/kb/search", tag = "kb", params(KbSearchQuery),
    responses((status = 200, body = [KbHitDto])))]
pub async fn search(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ApiQuery(q): ApiQuery<KbSearchQuery>,
) -> ApiResult<Json<Vec<KbHitDto>>> {
    let hits = s
        .services
        .search_kb(
            p.as_ref(),
            KbSearch {
                text: q.q,
                language: q.lang,
                category: q.category,
                limit: q.limit.unwrap_or(10),
            },
        )
        .await?;
    Ok(Json(
        hits.into_iter()
            .map(|h| KbHitDto {
                slug: h.slug,
                language: h.language,
                title: h.title,
                score: h.score,
                snippet: h.snippet,
            })
            .collect(),
    ))
}
