//! Macros: canned replies in each language with `{{ variable }}` placeholders filled from the
//! ticket, plus actions applied with them. Unknown placeholders are refused when the macro is
//! saved, so a reply never goes out with a `{{ typo }}` in it.

use crate::FieldError;
use std::collections::BTreeMap;

/// The placeholders a macro may use.
pub const VARIABLES: &[&str] = &[
    "customer_name",
    "ticket_number",
    "subject",
    "network",
    "asset",
    "amount",
    "tx_hash",
    "address",
    "promised_time",
    "agent_name",
];

enum Part<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn parts(template: &str) -> Result<Vec<Part<'_>>, FieldError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push(Part::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(FieldError::new(
                "body",
                "unclosed_placeholder",
                "a {{ has no matching }}",
            ));
        };
        let name = after[..close].trim();
        if !VARIABLES.contains(&name) {
            return Err(FieldError::new(
                "body",
                "unknown_placeholder",
                format!(
                    "unknown placeholder {{{{ {name} }}}}; known: {}",
                    VARIABLES.join(", ")
                ),
            ));
        }
        out.push(Part::Var(name));
        rest = &after[close + 2..];
    }
    out.push(Part::Text(rest));
    Ok(out)
}

/// Checks a macro body: every placeholder known and closed, 1-10,000 characters.
pub fn validate(body: &str) -> Result<(), FieldError> {
    let n = body.trim().chars().count();
    if n == 0 || n > 10_000 {
        return Err(FieldError::new(
            "body",
            "invalid_body",
            "1-10000 characters",
        ));
    }
    parts(body).map(|_| ())
}

/// Fills a body's placeholders; a value the ticket does not have becomes `fallback` (e.g.
/// "(not given)"), never the placeholder itself.
pub fn render(
    body: &str,
    values: &BTreeMap<&str, String>,
    fallback: &str,
) -> Result<String, FieldError> {
    let mut out = String::with_capacity(body.len());
    for p in parts(body)? {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Var(v) => match values.get(v).filter(|s| !s.is_empty()) {
                Some(s) => out.push_str(s),
                None => out.push_str(fallback),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_missing_values_are_marked() {
        let values = BTreeMap::from([
            ("customer_name", "Mei".to_owned()),
            ("ticket_number", "XD-10042".to_owned()),
            ("tx_hash", String::new()),
        ]);
        let out = render(
            "Hi {{customer_name}}, about {{ ticket_number }}: tx {{ tx_hash }}.",
            &values,
            "(not given)",
        )
        .unwrap();
        assert_eq!(out, "Hi Mei, about XD-10042: tx (not given).");
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        assert_eq!(
            validate("Hi {{ customer_nmae }}").unwrap_err().code,
            "unknown_placeholder"
        );
        assert_eq!(
            validate("Hi {{ customer_name").unwrap_err().code,
            "unclosed_placeholder"
        );
        assert_eq!(validate("  ").unwrap_err().code, "invalid_body");
        assert!(validate("您好 {{customer_name}}，工单 {{ticket_number}} 已处理。").is_ok());
        assert!(validate("no placeholders at all").is_ok());
    }
}
