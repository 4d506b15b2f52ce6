//! The crypto case fields as forms show them (the portal's new-ticket form and the console's
//! case panel): each input with its value and its problem in the page's language, and the
//! check that runs while someone types.

use crate::i18n::Tr;
use crate::page::Ctx;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use xdesk_domain::FieldError;
use xdesk_domain::crypto::Network;
use xdesk_domain::issue_type::{CaseField, Need, parse_form_time};
use xdesk_domain::ticket::RawCryptoFields;

/// A field's problem in the page's language: the catalog's text for its code, else the
/// domain's own (English) reason.
pub(crate) fn problem(tr: &Tr, e: &FieldError) -> String {
    let key = format!("fielderr.{}", e.code);
    if tr.has(&key) {
        tr.t(&key).to_owned()
    } else {
        e.reason.clone()
    }
}

/// One input of the case fields, as the form shows it.
pub(crate) struct Input {
    pub name: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

pub(crate) fn networks() -> Vec<(&'static str, &'static str)> {
    Network::ALL
        .iter()
        .map(|n| (n.as_str(), n.display_name()))
        .collect()
}

/// The form's values as case fields; a time that does not parse is reported as the field's
/// problem.
pub(crate) fn raw_fields(
    get: impl Fn(&str) -> Option<String>,
) -> (RawCryptoFields, Option<FieldError>) {
    let val = |n: &str| {
        get(n)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (occurred_at, time_error) = match val("occurred_at").map(|t| parse_form_time(&t)) {
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    (
        RawCryptoFields {
            network: val("network"),
            asset: val("asset"),
            tx_hash: val("tx_hash"),
            from_address: val("from_address"),
            to_address: val("to_address"),
            amount: val("amount"),
            memo: val("memo"),
            occurred_at,
        },
        time_error,
    )
}

/// The inputs for `fields`, filled from `get`, each with its problem from `errors`.
pub(crate) fn inputs(
    tr: &Tr,
    fields: &[(CaseField, Need)],
    get: impl Fn(&str) -> Option<String>,
    errors: &[FieldError],
) -> Vec<Input> {
    fields
        .iter()
        .map(|(f, need)| Input {
            name: f.as_str(),
            required: *need == Need::Required,
            value: get(f.as_str()).unwrap_or_default(),
            error: errors
                .iter()
                .find(|e| e.field == f.as_str())
                .map(|e| problem(tr, e)),
        })
        .collect()
}

/// One field checked while someone types: the problem's text, or nothing. A field not filled
/// in yet is not a problem until the form is sent.
pub(crate) fn check_field(ctx: &Ctx, f: &HashMap<String, String>) -> Response {
    let field = f.get("field").cloned().unwrap_or_default();
    let (raw, time_error) = raw_fields(|n| f.get(n).cloned());
    let error = if field == "occurred_at" {
        time_error
    } else {
        raw.check_each().into_iter().find(|e| e.field == field)
    };
    let text = error.map(|e| problem(&ctx.tr, &e)).unwrap_or_default();
    let mut r = askama::filters::escape(text, askama::filters::Html)
        .map(|t| t.to_string())
        .unwrap_or_default()
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    ctx.finish(&mut r);
    r
}
