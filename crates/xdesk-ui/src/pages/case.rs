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
use xdesk_domain::issue_type::{CaseField, IssueType, Need, parse_form_time};
use xdesk_domain::ticket::RawCryptoFields;
use xdesk_store::TicketRow;

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

/// One case field of a ticket, to read: its label and value in the page's language, and a
/// block explorer's page for a hash or an address.
pub(crate) struct CaseLine {
    pub label: String,
    pub value: String,
    /// A hash, an address or a memo: shown as code, broken anywhere on a narrow screen.
    pub code: bool,
    pub link: Option<String>,
}

/// The value a ticket holds for one case field.
pub(crate) fn row_value(t: &TicketRow, f: CaseField) -> Option<String> {
    match f {
        CaseField::Network => t.network.clone(),
        CaseField::Asset => t.asset.clone(),
        CaseField::TxHash => t.tx_hash.clone(),
        CaseField::FromAddress => t.from_address.clone(),
        CaseField::ToAddress => t.to_address.clone(),
        CaseField::Amount => t.amount.clone(),
        CaseField::Memo => t.memo.clone(),
        CaseField::OccurredAt => t.occurred_at.map(super::ticket::when),
    }
}

/// What the customer told about their case, as the ticket now holds it (agents may have
/// corrected a field): the issue type they chose and every case field given, in form order.
/// Only what the customer could enter: never tags, notes, triage or other internal fields.
pub(crate) fn case_lines(tr: &Tr, t: &TicketRow) -> Vec<CaseLine> {
    let network = t.network.as_deref().and_then(|n| n.parse::<Network>().ok());
    let issue = t
        .category
        .as_deref()
        .and_then(|c| c.parse::<IssueType>().ok())
        .map(|i| CaseLine {
            label: tr.t("portal.case_issue").to_owned(),
            value: tr.word("issue", i.as_str()).to_owned(),
            code: false,
            link: None,
        });
    let fields = CaseField::ALL.iter().filter_map(|&f| {
        let value = row_value(t, f)?;
        let link = network.and_then(|n| match f {
            CaseField::TxHash => n.explorer_tx_url(&value),
            CaseField::FromAddress | CaseField::ToAddress => n.explorer_address_url(&value),
            _ => None,
        });
        Some(CaseLine {
            label: tr.word("field", f.as_str()).to_owned(),
            value: match (f, network) {
                (CaseField::Network, Some(n)) => n.display_name().to_owned(),
                _ => value,
            },
            code: matches!(
                f,
                CaseField::TxHash | CaseField::FromAddress | CaseField::ToAddress | CaseField::Memo
            ),
            link,
        })
    });
    issue.into_iter().chain(fields).collect()
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
