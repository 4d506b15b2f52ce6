//! The mail corpus (`tests/corpus/NNN-name.eml`, see its README): every mail is parsed and
//! compared with what its sender meant (`NNN-name.json` beside it). All mismatches of all
//! mails are reported together before the test fails; a field listed under `known_gap` in an
//! expectation is reported but does not fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use xdesk_mail::{Automatic, InboundEmail, parse};

#[test]
fn every_mail_of_the_corpus_gives_what_its_sender_meant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut emls: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    emls.sort();
    assert!(emls.len() >= 130, "only {} mails in the corpus", emls.len());
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    for eml in &emls {
        let name = eml.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(eml).unwrap();
        let Ok(json) = std::fs::read_to_string(eml.with_extension("json")) else {
            failures.push(format!("{name}: no expectation file"));
            continue;
        };
        let expect = match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                failures.push(format!("{name}: the expectation is not a JSON object"));
                continue;
            }
            Err(e) => {
                failures.push(format!("{name}: bad expectation JSON: {e}"));
                continue;
            }
        };
        let known: BTreeMap<String, String> = match expect.get("known_gap") {
            Some(Value::Object(o)) => o
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let mut mismatches = Vec::new();
        check(&raw, &expect, &mut mismatches);
        for (field, expected, got) in mismatches {
            let line = format!("{name}: {field}\n    expected: {expected}\n    got:      {got}");
            match known.iter().find(|(k, _)| field.starts_with(k.as_str())) {
                Some((_, why)) => gaps.push(format!("{line}\n    known gap: {why}")),
                None => failures.push(line),
            }
        }
    }
    if !gaps.is_empty() {
        eprintln!("{} known gap(s):\n{}\n", gaps.len(), gaps.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) in {} mails:\n{}",
        failures.len(),
        emls.len(),
        failures.join("\n")
    );
}

type Mismatches = Vec<(String, String, String)>;

fn check(raw: &[u8], expect: &Map<String, Value>, out: &mut Mismatches) {
    let parsed = parse(raw);
    let unparseable = expect
        .get("unparseable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let e = match (parsed, unparseable) {
        (Err(_), true) => return,
        (Ok(e), true) => {
            out.push((
                "unparseable".into(),
                "an error".into(),
                format!("a mail with subject {:?}", e.subject),
            ));
            return;
        }
        (Err(err), false) => {
            out.push(("parse".into(), "a mail".into(), format!("{err}")));
            return;
        }
        (Ok(e), false) => e,
    };
    let mut eq = |field: &str, want: &Value, got: Value| {
        if *want != got {
            out.push((field.to_owned(), want.to_string(), got.to_string()));
        }
    };
    if let Some(want) = expect.get("from_address") {
        eq(
            "from_address",
            want,
            opt_str(e.from.as_ref().map(|m| m.address.as_str())),
        );
    }
    if let Some(want) = expect.get("from_name") {
        eq(
            "from_name",
            want,
            opt_str(e.from.as_ref().and_then(|m| m.name.as_deref())),
        );
    }
    if let Some(want) = expect.get("subject") {
        eq("subject", want, Value::String(e.subject.clone()));
    }
    if let Some(want) = expect.get("html") {
        eq("html", want, Value::Bool(e.html.is_some()));
    }
    if let Some(want) = expect.get("incomplete") {
        eq("incomplete", want, Value::Bool(e.incomplete));
    }
    if let Some(want) = expect.get("automatic") {
        eq("automatic", want, opt_str(e.automatic.map(automatic_name)));
    }
    check_text(&e, expect, out);
    check_bounce(&e, expect, out);
    check_attachments(&e, expect, out);
}

/// Line ends are compared as `\n`: whether the text keeps CRLF is no part of what was meant.
fn norm(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn check_text(e: &InboundEmail, expect: &Map<String, Value>, out: &mut Mismatches) {
    let text = norm(&e.text);
    let shown = || {
        let t: String = text.chars().take(160).collect();
        format!(
            "{t:?}{}",
            if text.chars().count() > 160 {
                "…"
            } else {
                ""
            }
        )
    };
    if let Some(want) = expect.get("text_starts_with").and_then(Value::as_str) {
        let want = norm(want);
        if !text.starts_with(&want) {
            out.push(("text_starts_with".into(), format!("{want:?}"), shown()));
        }
        if want.is_empty() && !text.trim().is_empty() {
            out.push(("text_starts_with".into(), "an empty text".into(), shown()));
        }
    }
    for (key, must) in [("text_contains", true), ("text_not_contains", false)] {
        if let Some(Value::Array(list)) = expect.get(key) {
            for want in list.iter().filter_map(Value::as_str) {
                let want = norm(want);
                if text.contains(&want) != must {
                    out.push((format!("{key} {want:?}"), must.to_string(), shown()));
                }
            }
        }
    }
}

fn check_bounce(e: &InboundEmail, expect: &Map<String, Value>, out: &mut Mismatches) {
    match (expect.get("bounce"), &e.bounce) {
        (None, _) | (Some(Value::Null), None) => {}
        (Some(Value::Null), Some(b)) => {
            out.push(("bounce".into(), "null".into(), format!("{b:?}")));
        }
        (Some(_), None) => out.push(("bounce".into(), "a bounce".into(), "null".into())),
        (Some(Value::Object(want)), Some(b)) => {
            let fields = [
                (
                    "original_message_id",
                    opt_str(b.original_message_id.as_deref()),
                ),
                (
                    "recipients",
                    Value::Array(b.recipients.iter().cloned().map(Value::String).collect()),
                ),
                ("action", opt_str(b.action.as_deref())),
                ("status", opt_str(b.status.as_deref())),
                ("diagnostic", opt_str(b.diagnostic.as_deref())),
            ];
            for (k, got) in fields {
                if let Some(w) = want.get(k)
                    && *w != got
                {
                    out.push((format!("bounce.{k}"), w.to_string(), got.to_string()));
                }
            }
        }
        (Some(other), Some(_)) => {
            out.push((
                "bounce".into(),
                other.to_string(),
                "(not comparable)".into(),
            ));
        }
    }
}

fn check_attachments(e: &InboundEmail, expect: &Map<String, Value>, out: &mut Mismatches) {
    let Some(Value::Array(want)) = expect.get("attachments") else {
        return;
    };
    let names = |v: Vec<String>| format!("[{}]", v.join(", "));
    let got_names: Vec<String> = e
        .attachments
        .iter()
        .map(|a| {
            format!(
                "{:?} ({}, {} bytes)",
                a.filename,
                a.content_type,
                a.bytes.len()
            )
        })
        .collect();
    if want.len() != e.attachments.len() {
        let want_names = want
            .iter()
            .map(|w| w.get("name").map(Value::to_string).unwrap_or_default())
            .collect();
        out.push((
            "attachments".into(),
            names(want_names),
            names(got_names.clone()),
        ));
    }
    for (i, (w, a)) in want.iter().zip(&e.attachments).enumerate() {
        let mut field = |k: &str, got: Value| {
            if let Some(wv) = w.get(k)
                && *wv != got
            {
                out.push((
                    format!("attachments[{i}].{k}"),
                    wv.to_string(),
                    got.to_string(),
                ));
            }
        };
        field("name", Value::String(a.filename.clone()));
        field("content_type", Value::String(a.content_type.clone()));
        field("size", Value::from(a.bytes.len()));
        field("sha256", Value::String(sha256_hex(&a.bytes)));
        field("inline", Value::Bool(a.inline));
        field("content_id", opt_str(a.content_id.as_deref()));
    }
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn automatic_name(a: Automatic) -> &'static str {
    match a {
        Automatic::AutoReply => "auto_reply",
        Automatic::Bulk => "bulk",
        Automatic::Bounce => "bounce",
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
