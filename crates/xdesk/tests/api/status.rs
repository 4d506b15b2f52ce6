//! The public status page over real HTTP, read by an anonymous visitor: the overall state, the
//! component tree with its 90-day bars, open incidents with their public updates (never an
//! internal note), maintenance, history; `summary.json` in the shape Statuspage documents for
//! its public v2 API; the Atom feed read by an outside parser (Python's feedparser); and the
//! static copy written atomically after each change.

use crate::backend_test;
use crate::backend_test_db;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xdesk_service::Principal;
use xdesk_service::incidents::{ComponentSpec, IncidentSpec, UpdateSpec};

/// The fields and JSON types Statuspage's public v2 documentation gives for `summary.json`
/// (page, components, incidents with incident_updates, scheduled_maintenances, status), as an
/// outside reader of the format relies on them. `s` string, `S` string or null, `i` integer,
/// `b` boolean, `a` array.
const PAGE: &[(&str, char)] = &[
    ("id", 's'),
    ("name", 's'),
    ("url", 's'),
    ("time_zone", 's'),
    ("updated_at", 's'),
];
const COMPONENT: &[(&str, char)] = &[
    ("created_at", 's'),
    ("description", 'S'),
    ("id", 's'),
    ("name", 's'),
    ("page_id", 's'),
    ("position", 'i'),
    ("status", 's'),
    ("updated_at", 's'),
    ("only_show_if_degraded", 'b'),
    ("group", 'b'),
    ("group_id", 'S'),
    ("showcase", 'b'),
];
const INCIDENT: &[(&str, char)] = &[
    ("created_at", 's'),
    ("id", 's'),
    ("impact", 's'),
    ("incident_updates", 'a'),
    ("monitoring_at", 'S'),
    ("name", 's'),
    ("page_id", 's'),
    ("resolved_at", 'S'),
    ("shortlink", 's'),
    ("status", 's'),
    ("updated_at", 's'),
];
const UPDATE: &[(&str, char)] = &[
    ("body", 's'),
    ("created_at", 's'),
    ("display_at", 'S'),
    ("id", 's'),
    ("incident_id", 's'),
    ("status", 's'),
    ("updated_at", 's'),
];
const MAINTENANCE_EXTRA: &[(&str, char)] = &[("scheduled_for", 'S'), ("scheduled_until", 'S')];

fn check_shape(what: &str, v: &Value, fields: &[(&str, char)]) {
    for (name, kind) in fields {
        let f = v
            .get(name)
            .unwrap_or_else(|| panic!("{what} lacks `{name}`: {v}"));
        let ok = match kind {
            's' => f.is_string(),
            'S' => f.is_string() || f.is_null(),
            'i' => f.is_i64(),
            'b' => f.is_boolean(),
            'a' => f.is_array(),
            _ => false,
        };
        assert!(ok, "{what}.{name} has the wrong type: {f}");
    }
    for t in ["created_at", "updated_at"] {
        if let Some(s) = v.get(t).and_then(Value::as_str) {
            assert!(
                chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                "{what}.{t} is not ISO 8601: {s}"
            );
        }
    }
}

const COMPONENT_STATES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];

fn check_summary(v: &Value) {
    check_shape("page", &v["page"], PAGE);
    for c in v["components"].as_array().expect("components") {
        check_shape("component", c, COMPONENT);
        assert!(
            COMPONENT_STATES.contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
    }
    for (list, extra) in [
        ("incidents", &[][..]),
        ("scheduled_maintenances", MAINTENANCE_EXTRA),
    ] {
        for i in v[list].as_array().unwrap_or_else(|| panic!("{list}: {v}")) {
            check_shape(list, i, INCIDENT);
            check_shape(list, i, extra);
            for u in i["incident_updates"].as_array().unwrap() {
                check_shape("incident_update", u, UPDATE);
                assert_eq!(u["incident_id"], i["id"]);
            }
        }
    }
    assert!(
        ["none", "minor", "major", "critical", "maintenance"]
            .contains(&v["status"]["indicator"].as_str().unwrap()),
        "{v}"
    );
    assert!(v["status"]["description"].is_string());
}

/// Reads an Atom document with feedparser; returns (bozo, feed title, entry titles).
fn feedparse(xml: &str) -> Option<Value> {
    let script = "import sys, json, feedparser\nd = feedparser.parse(sys.stdin.read())\nprint(json.dumps({'bozo': int(d.bozo), 'version': d.version, 'title': d.feed.get('title'), 'entries': [{'title': e.title, 'link': e.link, 'summary': e.summary} for e in d.entries]}))";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    {
        use std::io::Write;
        child.stdin.take()?.write_all(xml.as_bytes()).ok()?;
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        skip_or_fail(&format!(
            "feedparser (pip install feedparser into $HOME/.cache/xdesk-py): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

async fn anon(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let r = reqwest::get(app.url(path)).await.unwrap();
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

fn services(app: &TestApp) -> &xdesk_service::Services {
    &app.running.as_ref().unwrap().services
}

/// Deposits › TRON, Trading; an incident on TRON with an internal note and a public update.
async fn incident_on_tron(app: &TestApp) -> (i64, i64, i64) {
    let s = services(app);
    let p = Principal::System;
    let deposits = s
        .create_component(
            &p,
            &ComponentSpec {
                name: "Deposits".into(),
                name_zh: "充值".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let tron = s
        .create_component(
            &p,
            &ComponentSpec {
                parent_id: Some(deposits.id),
                name: "TRON".into(),
                name_zh: "波场".into(),
                network: Some("tron".into()),
                intents: vec!["deposit_missing".into()],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    s.create_component(
        &p,
        &ComponentSpec {
            name: "Trading".into(),
            name_zh: "交易".into(),
            position: 1,
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let inc = s
        .create_incident(
            &p,
            IncidentSpec {
                title: "USDT deposits on TRON delayed".into(),
                title_zh: "波场 USDT 充值延迟".into(),
                impact: Some("major".into()),
                body: "Deposits on TRON are arriving late.".into(),
                body_zh: "波场网络充值到账延迟。".into(),
                components: vec![(tron.id, "partial_outage".into())],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let id = inc.incident.id;
    s.post_incident_update(
        &p,
        id,
        UpdateSpec {
            body: "SECRET-NOTE: node tron-3 is out of disk".into(),
            internal: true,
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    s.post_incident_update(
        &p,
        id,
        UpdateSpec {
            status: Some("identified".into()),
            body: "A node fell behind; we are resyncing it.".into(),
            body_zh: "一个节点落后，正在重新同步。".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    (id, deposits.id, tron.id)
}

backend_test!(status_page_shows_public_updates_in_both_languages, |app| {
    let (id, _deposits, tron) = incident_on_tron(&app).await;
    let (code, kind, html) = anon(&app, "/status?lang=en").await;
    assert_eq!(code, StatusCode::OK);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("USDT deposits on TRON delayed"), "{html}");
    assert!(html.contains("A node fell behind; we are resyncing it."));
    assert!(
        html.contains("Deposits › TRON"),
        "the affected component with its parent"
    );
    assert!(html.contains("Partial outage"));
    assert!(
        html.contains("Partial System Outage"),
        "the overall indicator"
    );
    assert!(!html.contains("SECRET-NOTE"), "an internal note leaked");
    assert!(!html.contains("<script"), "the page needs no JavaScript");
    // 90 bars per component, today's for TRON (and its parent) partial.
    assert_eq!(html.matches("class=\"st-bars\"").count(), 3);
    let bars = html.matches("<span class=\"s-").count();
    assert_eq!(bars, 3 * 90, "{bars}");
    let today = chrono::Utc::now().date_naive().to_string();
    assert!(
        html.contains(&format!(
            "<span class=\"s-partial\" title=\"{today} · Partial outage\">"
        )),
        "today's bar"
    );
    let (_, _, zh) = anon(&app, "/status?lang=zh").await;
    assert!(zh.contains("波场 USDT 充值延迟"));
    assert!(zh.contains("一个节点落后，正在重新同步。"));
    assert!(zh.contains("充值 › 波场"));
    assert!(zh.contains("部分中断"));
    assert!(zh.contains("lang=\"zh-CN\""));
    assert!(!zh.contains("SECRET-NOTE"));
    // The incident's own page.
    let (code, _, page) = anon(&app, &format!("/status/incidents/{id}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("Deposits on TRON are arriving late."));
    assert!(!page.contains("SECRET-NOTE"));
    let (code, _, _) = anon(&app, "/status/incidents/999999").await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // summary.json, in Statuspage's documented shape.
    let (code, kind, body) = anon(&app, "/status/summary.json").await;
    assert_eq!(code, StatusCode::OK);
    assert!(kind.starts_with("application/json"));
    assert!(!body.contains("SECRET-NOTE"));
    let v: Value = serde_json::from_str(&body).unwrap();
    check_summary(&v);
    assert_eq!(v["status"]["indicator"], "major");
    assert_eq!(v["status"]["description"], "Partial System Outage");
    assert_eq!(v["components"].as_array().unwrap().len(), 3);
    let tron_c = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(tron.to_string()))
        .unwrap();
    assert_eq!(tron_c["status"], "partial_outage");
    assert!(tron_c["group_id"].is_string(), "TRON sits in Deposits");
    let inc = &v["incidents"][0];
    assert_eq!(inc["id"], json!(id.to_string()));
    assert_eq!(inc["status"], "identified");
    assert_eq!(inc["impact"], "major");
    let ups = inc["incident_updates"].as_array().unwrap();
    assert_eq!(ups.len(), 2, "two public updates, the note left out: {inc}");
    assert_eq!(ups[0]["status"], "identified", "newest first");
    assert_eq!(inc["components"][0]["name"], "TRON");
    let zh: Value =
        serde_json::from_str(&anon(&app, "/status/summary.json?lang=zh").await.2).unwrap();
    assert_eq!(zh["incidents"][0]["name"], "波场 USDT 充值延迟");
    for f in [
        "status.json",
        "components.json",
        "incidents.json",
        "scheduled-maintenances.json",
    ] {
        let (code, _, body) = anon(&app, &format!("/status/{f}")).await;
        assert_eq!(code, StatusCode::OK, "{f}");
        let v: Value = serde_json::from_str(&body).unwrap();
        check_shape("page", &v["page"], PAGE);
    }

    // A maintenance next week shows as upcoming.
    let s = services(&app);
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    s.create_incident(
        &Principal::System,
        IncidentSpec {
            kind: Some("maintenance".into()),
            title: "Trading engine upgrade".into(),
            title_zh: "交易引擎升级".into(),
            body: "Trading pauses for 30 minutes.".into(),
            starts_at: Some(start),
            ends_at: Some(start + chrono::Duration::minutes(30)),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let v: Value = serde_json::from_str(&anon(&app, "/status/summary.json").await.2).unwrap();
    check_summary(&v);
    let m = &v["scheduled_maintenances"][0];
    assert_eq!(m["name"], "Trading engine upgrade");
    assert_eq!(m["status"], "scheduled");
    assert_eq!(m["impact"], "maintenance");
    assert!(m["scheduled_for"].is_string());

    // The Atom feed, read by feedparser.
    let (code, kind, xml) = anon(&app, "/status/feed.atom").await;
    assert_eq!(code, StatusCode::OK);
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    if let Some(f) = feedparse(&xml) {
        assert_eq!(f["bozo"], 0, "{f}");
        assert_eq!(f["version"], "atom10");
        let titles: Vec<&str> = f["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&"USDT deposits on TRON delayed"), "{f}");
        assert!(titles.contains(&"Trading engine upgrade"), "{f}");
        assert!(!xml.contains("SECRET-NOTE"));
    }

    // Resolved: the incident leaves the open list for the history, the components recover.
    s.post_incident_update(
        &Principal::System,
        id,
        UpdateSpec {
            status: Some("resolved".into()),
            body: "All delayed deposits are credited.".into(),
            body_zh: "延迟的充值均已到账。".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let v: Value = serde_json::from_str(&anon(&app, "/status/summary.json").await.2).unwrap();
    check_summary(&v);
    assert_eq!(v["incidents"], json!([]));
    assert_eq!(v["status"]["indicator"], "none");
    let all: Value = serde_json::from_str(&anon(&app, "/status/incidents.json").await.2).unwrap();
    assert_eq!(all["incidents"][0]["status"], "resolved");
    assert!(all["incidents"][0]["resolved_at"].is_string());
    let (_, _, html) = anon(&app, "/status").await;
    assert!(html.contains("All Systems Operational"));
    assert!(
        html.contains("All delayed deposits are credited."),
        "in the history"
    );
    // Today's bar still remembers the outage.
    assert!(html.contains(&format!(
        "<span class=\"s-partial\" title=\"{today} · Partial outage\">"
    )));
});

backend_test_db!(
    static_copy_follows_every_change_and_is_never_half_written,
    |db| {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("status");
        let export = dir.clone();
        let Some(app) = spawn_app_with(db, move |c| {
            c.status.export_dir = Some(export);
            c.status.name = "Example Exchange Status".into();
        })
        .await
        else {
            return;
        };
        eventually("the first copy", || async {
            dir.join("index.html").exists()
        })
        .await;
        let (id, _, _) = incident_on_tron(&app).await;
        eventually("the copy shows the incident", || async {
            std::fs::read_to_string(dir.join("summary.json"))
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .is_some_and(|v| v["incidents"][0]["id"] == json!(id.to_string()))
        })
        .await;
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        check_summary(&v);
        assert_eq!(v["page"]["name"], "Example Exchange Status");
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("USDT deposits on TRON delayed"));
        assert!(html.contains("href=\"status.css\""), "relative links");
        assert!(dir.join("status.css").exists());
        assert!(
            std::fs::read_to_string(dir.join("index.zh.html"))
                .unwrap()
                .contains("波场 USDT 充值延迟")
        );
        let page = std::fs::read_to_string(dir.join(format!("incidents/{id}.html"))).unwrap();
        assert!(page.contains("href=\"../status.css\""));
        if let Some(f) = feedparse(&std::fs::read_to_string(dir.join("feed.atom")).unwrap()) {
            assert_eq!(f["bozo"], 0, "{f}");
        }
        // A reader polling the files while updates follow one another never sees half a file.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (dir, stop) = (dir.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let s = std::fs::read_to_string(dir.join("summary.json")).unwrap();
                    let v: Value = serde_json::from_str(&s)
                        .unwrap_or_else(|e| panic!("half-written summary.json ({e}): {s}"));
                    assert!(v["page"].is_object());
                    let h = std::fs::read_to_string(dir.join("index.html")).unwrap();
                    assert!(h.trim_end().ends_with("</html>"), "half-written index.html");
                    reads += 1;
                }
                reads
            })
        };
        let s = services(&app);
        for n in 0..8 {
            s.post_incident_update(
                &Principal::System,
                id,
                UpdateSpec {
                    body: format!("Progress report {n}: {}", "resyncing ".repeat(200)),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        eventually("the last update in the copy", || async {
            std::fs::read_to_string(dir.join("summary.json"))
                .is_ok_and(|s| s.contains("Progress report 7"))
        })
        .await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let reads = reader.join().unwrap();
        assert!(reads > 10, "the reader read {reads} times");
        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        app.stop().await;
    }
);

backend_test!(the_demo_page_looks_like_a_real_exchange, |app| {
    xdesk::demo::seed_status_page(services(&app)).await.unwrap();
    let v: Value = serde_json::from_str(&anon(&app, "/status/summary.json").await.2).unwrap();
    check_summary(&v);
    let comps = v["components"].as_array().unwrap();
    assert!(comps.len() >= 14, "{}", comps.len());
    let deposits = comps.iter().find(|c| c["name"] == "Deposits").unwrap();
    assert_eq!(deposits["group"], true);
    assert_eq!(deposits["components"].as_array().unwrap().len(), 5);
    assert_eq!(v["status"]["indicator"], "none", "nothing is open now");
    assert_eq!(v["incidents"], json!([]));
    let m = &v["scheduled_maintenances"][0];
    assert_eq!(m["name"], "Bitcoin node upgrade");
    assert_eq!(m["components"].as_array().unwrap().len(), 2);
    let past: Value = serde_json::from_str(&anon(&app, "/status/incidents.json").await.2).unwrap();
    let past = past["incidents"].as_array().unwrap();
    assert_eq!(past.len(), 2);
    let tron = past
        .iter()
        .find(|i| i["name"] == "USDT deposits on TRON delayed")
        .unwrap();
    assert_eq!(tron["incident_updates"].as_array().unwrap().len(), 4);
    let resolved =
        chrono::DateTime::parse_from_rfc3339(tron["resolved_at"].as_str().unwrap()).unwrap();
    let ago = chrono::Utc::now() - resolved.with_timezone(&chrono::Utc);
    assert!(ago.num_days() == 12, "{ago}");
    // The bars show it on its day, in both languages, and the history lists it.
    let day = resolved.date_naive().to_string();
    let (_, _, html) = anon(&app, "/status").await;
    assert!(
        html.contains(&format!("title=\"{day} · Partial outage\"")),
        "the TRON bar on {day}"
    );
    assert!(html.contains("Bitcoin node upgrade"));
    assert!(html.contains("All delayed TRON deposits have been credited."));
    // About two hours of partial outage in 90 days.
    assert!(html.contains("99.90% uptime"), "TRON's uptime");
    let (_, _, zh) = anon(&app, "/status?lang=zh").await;
    assert!(zh.contains(&format!("title=\"{day} · 部分中断\"")));
    assert!(zh.contains("比特币节点升级"));
    assert!(zh.contains("所有延迟的波场充值均已到账"));
});

/// A captured mail: (to, subject, text, List-Unsubscribe, List-Unsubscribe-Post).
fn read_mail(raw: &str) -> (String, String, String, String, String) {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let header = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let to = m
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    (
        to,
        m.subject().unwrap_or_default().to_owned(),
        m.body_text(0).unwrap_or_default().into_owned(),
        header("List-Unsubscribe"),
        header("List-Unsubscribe-Post"),
    )
}

/// The path and query of the first link in `text` that contains `marker`.
fn link_path(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {text}"));
    let start = text[..at].rfind("http").unwrap();
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let after_host = url.splitn(4, '/').nth(3).unwrap();
    format!("/{after_host}")
}

const FORM_CSRF: &str = "StatusCsrfToken0123456789abcdefX";

async fn subscribe(app: &TestApp, form: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/status/subscribe"))
        .header("cookie", format!("xdesk_csrf={FORM_CSRF}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={FORM_CSRF}&{form}"))
        .send()
        .await
        .unwrap()
        .status()
}

fn mails_to(smtp: &SmtpCapture, to: &str) -> Vec<(String, String, String, String, String)> {
    smtp.messages()
        .iter()
        .map(|m| read_mail(m))
        .filter(|m| m.0 == to)
        .collect()
}

backend_test_db!(
    subscribers_confirm_get_their_components_updates_once_and_leave_in_one_click,
    |db| {
        let smtp = SmtpCapture::start().await;
        let settings = smtp.settings();
        let Some(app) = spawn_app_with(db, move |c| {
            c.email.from_address = "status@exchange.test".into();
            c.smtp = Some(settings);
        })
        .await
        else {
            return;
        };
        // Someone subscribes to everything, in Chinese: a confirmation, and nothing before it.
        assert_eq!(
            subscribe(&app, "email=all%40sub.test&lang=zh").await,
            StatusCode::OK
        );
        // Without the CSRF pair the form is refused.
        let r = reqwest::Client::new()
            .post(app.url("/status/subscribe"))
            .form(&[("email", "x@sub.test")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let confirm = smtp.wait_for(1).await;
        let (to, subject, text, unsub, post) = read_mail(&confirm[0]);
        assert_eq!(to, "all@sub.test");
        assert!(subject.contains("请确认订阅"), "{subject}");
        assert!(
            unsub.starts_with("<http") && unsub.ends_with('>'),
            "{unsub}"
        );
        assert_eq!(post, "List-Unsubscribe=One-Click");
        let path = link_path(&text, "/status/subscribe/confirm");
        // An incident now reaches nobody: the address has not confirmed.
        let (id, _deposits, _tron) = incident_on_tron(&app).await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(smtp.messages().len(), 1, "nothing before confirmation");
        let (code, _, page) = anon(&app, &path).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        let (code, _, _) = anon(&app, &path).await;
        assert_eq!(
            code,
            StatusCode::NOT_FOUND,
            "a confirmation link works once"
        );

        // A second subscriber only for Trading, in English.
        let s = services(&app);
        let trading = s
            .list_components(&Principal::System)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == "Trading")
            .unwrap()
            .id;
        assert_eq!(
            subscribe(
                &app,
                &format!("email=trader%40sub.test&lang=en&component={trading}")
            )
            .await,
            StatusCode::OK
        );
        eventually("the trader's confirmation", || async {
            mails_to(&smtp, "trader@sub.test").len() == 1
        })
        .await;
        let text = mails_to(&smtp, "trader@sub.test")[0].2.clone();
        assert_eq!(
            anon(&app, &link_path(&text, "/status/subscribe/confirm"))
                .await
                .0,
            StatusCode::OK
        );

        // An update on TRON: the subscriber to everything gets it in Chinese, the trader not.
        s.post_incident_update(
            &Principal::System,
            id,
            UpdateSpec {
                status: Some("monitoring".into()),
                body: "Deposits are being credited again.".into(),
                body_zh: "充值已恢复到账。".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        eventually(
            "the TRON update to the subscriber of everything",
            || async {
                mails_to(&smtp, "all@sub.test")
                    .iter()
                    .any(|m| m.2.contains("充值已恢复到账。"))
            },
        )
        .await;
        let mail = mails_to(&smtp, "all@sub.test")
            .into_iter()
            .find(|m| m.2.contains("充值已恢复到账。"))
            .unwrap();
        assert!(mail.1.contains("波场 USDT 充值延迟"), "{}", mail.1);
        assert!(
            mail.2.contains("/status/incidents/"),
            "a link to the incident's page"
        );
        assert!(mail.3.contains("/status/unsubscribe?t="), "{}", mail.3);
        assert_eq!(mail.4, "List-Unsubscribe=One-Click");
        // Maintenance on Trading reaches both.
        let start = chrono::Utc::now() + chrono::Duration::days(2);
        s.create_incident(
            &Principal::System,
            IncidentSpec {
                kind: Some("maintenance".into()),
                title: "Matching engine upgrade".into(),
                title_zh: "撮合引擎升级".into(),
                body: "Trading pauses for 20 minutes.".into(),
                body_zh: "交易暂停 20 分钟。".into(),
                components: vec![(trading, "under_maintenance".into())],
                starts_at: Some(start),
                ends_at: Some(start + chrono::Duration::minutes(20)),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        eventually("the maintenance to the trader", || async {
            mails_to(&smtp, "trader@sub.test")
                .iter()
                .any(|m| m.2.contains("Trading pauses for 20 minutes."))
        })
        .await;
        eventually("the maintenance to everyone", || async {
            mails_to(&smtp, "all@sub.test")
                .iter()
                .any(|m| m.2.contains("交易暂停 20 分钟。"))
        })
        .await;
        // Each update once: no second pass mails anything again.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let trader = mails_to(&smtp, "trader@sub.test");
        assert_eq!(
            trader.len(),
            2,
            "confirmation and the maintenance only: {trader:?}"
        );
        let all = mails_to(&smtp, "all@sub.test");
        assert_eq!(
            all.len(),
            1 + 1 + 1,
            "confirmation, TRON monitoring, maintenance: {all:?}"
        );

        // One click: a POST to the trader's List-Unsubscribe address, no cookie, no CSRF token.
        let url = trader[1].3.trim_matches(['<', '>']).to_owned();
        let path = link_path(&url, "/status/unsubscribe");
        let r = reqwest::Client::new()
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // Fetching the link (as a mail scanner does) asks first and changes nothing.
        let (code, _, page) = anon(&app, &link_path(&all[2].3, "/status/unsubscribe")).await;
        assert_eq!(code, StatusCode::OK);
        assert!(page.contains("method=\"post\""));
        s.create_incident(
            &Principal::System,
            IncidentSpec {
                title: "Order placement slow".into(),
                body: "Orders take seconds to place.".into(),
                components: vec![(trading, "degraded_performance".into())],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        eventually(
            "the new incident to the subscriber of everything",
            || async {
                mails_to(&smtp, "all@sub.test")
                    .iter()
                    .any(|m| m.2.contains("Orders take seconds to place."))
            },
        )
        .await;
        assert_eq!(mails_to(&smtp, "trader@sub.test").len(), 2, "unsubscribed");
        // Too many subscriptions from one address are refused.
        let mut refused = false;
        for n in 0..6 {
            if subscribe(&app, &format!("email=flood{n}%40sub.test")).await
                == StatusCode::TOO_MANY_REQUESTS
            {
                refused = true;
            }
        }
        assert!(refused, "the subscribe form is rate limited");
        app.stop().await;
    }
);

backend_test!(
    customers_read_the_latest_update_before_writing_and_are_counted,
    |app| {
        let (id, _, _) = incident_on_tron(&app).await;
        let t = app.create_ticket(ticket_body(&app, "hello")).await;
        let mut web = app.portal_as(t["customer_id"].as_i64().unwrap()).await;
        // The help center shows the latest public update with a link to the status page.
        let r = web.get("/help?lang=en").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains("USDT deposits on TRON delayed"),
            "{}",
            r.body
        );
        assert!(r.body.contains("A node fell behind; we are resyncing it."));
        assert!(r.body.contains(&format!("/status/incidents/{id}")));
        assert!(!r.body.contains("SECRET-NOTE"));
        let zh = web.get("/help?lang=zh").await;
        assert!(zh.body.contains("一个节点落后，正在重新同步。"));
        // The portal's form shows it for a missing deposit (TRON's scope), not for a login problem.
        let r = web.get("/portal/new?type=missing_deposit").await;
        assert!(r.body.contains("A node fell behind"), "{}", r.body);
        let r = web.get("/portal/new?type=account_access").await;
        assert!(!r.body.contains("A node fell behind"));
        let detail = services(&app)
            .incident_detail(&Principal::System, id)
            .await
            .unwrap();
        assert_eq!(
            (detail.notice_seen, detail.notice_then_wrote),
            (1, 0),
            "one visitor, counted once"
        );
        // The visitor's cookie is stored only as a hash.
        let cookie = web.jar.get("xdesk_reader").cloned().unwrap();
        assert!(
            !stored_bytes_contain(&app, &cookie),
            "the raw visitor cookie was stored"
        );
        // They write anyway.
        let csrf = web.csrf();
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("issue_type", "other")
            .text("subject", "Still waiting for my USDT")
            .text("body", "I saw the notice but it has been hours.");
        let r = web.post_multipart("/portal/new", form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Another visitor reads and leaves.
        let (code, _, _) = anon(&app, "/help").await;
        assert_eq!(code, StatusCode::OK);
        let detail = services(&app)
            .incident_detail(&Principal::System, id)
            .await
            .unwrap();
        assert_eq!((detail.notice_seen, detail.notice_then_wrote), (2, 1));
    }
);

/// The demo's status page with one open incident, in Chromium, in both languages at 1440 px
/// and on a 390 px phone: screenshots (into docs/ with `XDESK_DOC_SCREENSHOTS=1`), and what
/// a reader must see without any script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_a_browser() {
    let Some(app) = spawn_app(Db::Sqlite).await else {
        return;
    };
    let s = services(&app);
    xdesk::demo::seed_status_page(s).await.unwrap();
    let all = s.list_components(&Principal::System).await.unwrap();
    let withdrawals = all.iter().find(|c| c.name == "Withdrawals").unwrap().id;
    let tron = all
        .iter()
        .find(|c| c.parent_id == Some(withdrawals) && c.network.as_deref() == Some("tron"))
        .unwrap()
        .id;
    s.create_incident(
        &Principal::System,
        IncidentSpec {
            title: "TRON withdrawals delayed".into(),
            title_zh: "波场提现延迟".into(),
            impact: Some("minor".into()),
            body: "Withdrawals on TRON are queued while a hot wallet is refilled. Your funds are safe.".into(),
            body_zh: "波场热钱包补充资金期间，提现正在排队。您的资产安全。".into(),
            components: vec![(tron, "degraded_performance".into())],
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    for (width, height, phone, tag) in [(1440, 1800, false, "1440"), (390, 1600, true, "390")] {
        let Some(d) = crate::browser::Driver::start_at(width, height, phone).await else {
            return;
        };
        for lang in ["en", "zh"] {
            d.client
                .goto(&app.url(&format!("/status?lang={lang}")))
                .await
                .unwrap();
            let want = if lang == "en" {
                "TRON withdrawals delayed"
            } else {
                "波场提现延迟"
            };
            d.until_text(want).await;
            let text = d.text().await;
            assert!(
                text.contains(if lang == "en" {
                    "Bitcoin node upgrade"
                } else {
                    "比特币节点升级"
                }),
                "{text}"
            );
            // The bars fit the screen: nothing scrolls sideways.
            let overflow = d
                .client
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap_or(1) <= 0,
                "sideways scroll at {width}px: {overflow}"
            );
            d.screenshot(&format!("status-{lang}-{tag}")).await;
        }
    }
    app.stop().await;
}
