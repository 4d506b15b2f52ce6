//! SLA over real HTTP with a controllable clock: promises start with the ticket, an answer
//! meets the first-response clock, waiting on the customer pauses them, timers warn and then
//! escalate a breach (event, priority up) exactly once, survive a restart, and are never
//! fired twice by two nodes sharing PostgreSQL.

use crate::backend_test;
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn policy(app: &TestApp, admin: &str, first: i64) {
    let r = app
        .post(
            admin,
            "/api/v1/sla/policies",
            json!({"name": "Standard", "first_response_minutes": first,
                   "next_response_minutes": 120, "resolution_minutes": 600}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

fn body(app: &TestApp, subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "How do I change the language of the app?",
        "customer": {"email": "sla@example.com"},
        "group_id": app.payments_group,
    })
}

async fn clocks(app: &TestApp, id: i64) -> Value {
    app.get_json(&app.agent_token, &format!("/api/v1/tickets/{id}/sla"))
        .await
}

fn clock<'a>(all: &'a Value, kind: &str) -> &'a Value {
    all.as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} clock in {all}"))
}

async fn kinds(app: &TestApp, id: i64) -> Vec<String> {
    app.verified_events(id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs due timers until `kind` is among the ticket's events (the node's own timer task may
/// be the one that records it).
async fn settle(services: &xdesk_service::Services, app: &TestApp, id: i64, kind: &str) {
    for _ in 0..100 {
        services.run_sla_timers(100).await.unwrap();
        if kinds(app, id).await.iter().any(|k| k == kind) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {kind} on ticket {id}");
}

backend_test!(promises_are_kept_warned_and_escalated_once, |app| {
    let admin = app.admin_token().await;
    // Refused: a target of zero, an unknown calendar, a bad time zone.
    for (req, path, code) in [
        (
            json!({"name": "x", "first_response_minutes": 0, "next_response_minutes": 1, "resolution_minutes": 1}),
            "/api/v1/sla/policies",
            "invalid_minutes",
        ),
        (
            json!({"name": "x", "first_response_minutes": 1, "next_response_minutes": 1, "resolution_minutes": 1, "calendar_id": 99}),
            "/api/v1/sla/policies",
            "unknown_calendar",
        ),
        (
            json!({"name": "x", "time_zone": "Mars/Base", "week": [null, null, null, null, null, null, null]}),
            "/api/v1/sla/calendars",
            "invalid_calendar",
        ),
    ] {
        let r = app.post(&admin, path, req).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    policy(&app, &admin, 60).await;
    let services = app.running.as_ref().unwrap().services.clone();

    // A mail's acknowledgement promises the policy's first response, with its due time.
    let raw = b"From: Lin <lin@example.com>\r\nTo: support@xdesk.test\r\nSubject: app language\r\nMessage-ID: <sla1@example.com>\r\n\r\nHow do I change the language of the app?\r\n";
    let (status, v) = app.post_mail(raw).await;
    assert!(status.is_success(), "{v}");
    let mailed = app.ticket_on("email").await;
    let ack = services
        .store
        .ticket_outbound(mailed["id"].as_i64().unwrap())
        .await
        .unwrap();
    let due = (services.now() + Duration::minutes(60))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        ack.iter()
            .any(|m| m.kind == "acknowledgement"
                && m.body_text.contains(&format!("1 hour (by {due}"))),
        "{:?}",
        ack.iter().map(|m| &m.body_text).collect::<Vec<_>>()
    );

    let late = app.create_ticket(body(&app, "Late")).await["id"]
        .as_i64()
        .unwrap();
    let answered = app.create_ticket(body(&app, "Answered")).await["id"]
        .as_i64()
        .unwrap();
    let waiting = app.create_ticket(body(&app, "Waiting")).await;
    let c = clocks(&app, late).await;
    assert_eq!(clock(&c, "first_response")["state"], "running", "{c}");
    assert!(clock(&c, "first_response")["due_at"].is_string());
    assert_eq!(clock(&c, "resolution")["state"], "running");

    // An answer meets the first-response clock.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{answered}/replies"),
            json!({"body": "Settings, then Language."}),
        )
        .await;
    assert!(r.status().is_success());
    let c = clocks(&app, answered).await;
    assert_eq!(clock(&c, "first_response")["state"], "met", "{c}");
    // Waiting on the customer pauses the clocks.
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{}", waiting["id"]),
            json!({"version": waiting["version"], "state": "pending_customer"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let waiting = waiting["id"].as_i64().unwrap();
    let c = clocks(&app, waiting).await;
    assert_eq!(clock(&c, "first_response")["state"], "paused", "{c}");
    assert!(clock(&c, "first_response")["due_at"].is_null());

    // Consoles on duty: an admin (supervisor) and an agent, both watching their queues. Money at
    // risk alerts supervisors at once.
    let mut boss = crate::live::open(&app, &admin, "", None).await.unwrap();
    let mut agent = crate::live::open(&app, &app.agent_token, "", None)
        .await
        .unwrap();
    let mut stolen = body(&app, "Hacked");
    stolen["body"] =
        json!("Someone logged into my account and withdrew all my BTC, it was not me!");
    let stolen = app.create_ticket(stolen).await;
    assert_eq!(stolen["priority"], "urgent");
    let alert = crate::live::expect(&mut boss, "alert").await;
    assert_eq!(
        (alert["kind"].as_str(), alert["ticket_id"].as_i64()),
        (Some("urgent"), stolen["id"].as_i64())
    );

    // (This node's own timer task may get there first; either way it happens once.)
    services.advance_clock(Duration::minutes(46));
    let count = |k: &[String], kind: &str| k.iter().filter(|x| *x == kind).count();
    settle(&services, &app, late, "sla_warning").await;
    // 61 minutes: breached, escalated, once.
    services.advance_clock(Duration::minutes(15));
    settle(&services, &app, late, "sla_breached").await;
    assert_eq!(services.run_sla_timers(100).await.unwrap().fired, 0);
    let k = kinds(&app, late).await;
    assert_eq!(
        (count(&k, "sla_warning"), count(&k, "sla_breached")),
        (1, 1),
        "{k:?}"
    );
    // The warning went to whoever may take the unassigned ticket; the breach to supervisors.
    let mut heard = Vec::new();
    while let Some(f) = crate::live::next(&mut boss, 1).await {
        if f["type"] == "alert" && f["ticket_id"] == late {
            heard.push(f["kind"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(heard, ["sla_warning", "sla_breached"]);
    let mut heard = Vec::new();
    while let Some(f) = crate::live::next(&mut agent, 1).await {
        if f["type"] == "alert" {
            heard.push(f["kind"].as_str().unwrap().to_owned());
        }
    }
    assert!(heard.iter().all(|k| k == "sla_warning"), "{heard:?}");
    assert!(heard.contains(&"sla_warning".to_owned()), "{heard:?}");
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{late}"))
        .await;
    assert_eq!(t["priority"], "high", "normal goes up one step");
    assert_eq!(
        clock(&clocks(&app, late).await, "first_response")["state"],
        "breached"
    );
    // The console's ticket page and the customer's portal page show it.
    let mut agent = crate::web::Web::new(&app);
    agent.sign_in("agent@x.test", None).await;
    let page = agent.get(&format!("/console/tickets/{late}")).await.body;
    assert!(
        page.contains("class=\"promise breached\" data-clock=\"first_response\""),
        "{page}"
    );
    let customer_id = t["customer_id"].as_i64().unwrap();
    let mut customer = app.portal_as(customer_id).await;
    let page = customer.get(&format!("/portal/tickets/{late}")).await.body;
    assert!(page.contains("data-clock=\"resolution\""), "{page}");
    assert!(page.contains("First response: overdue since"), "{page}");
    // The promise passed: the customer escalates with one click and a reason; supervisors are
    // alerted, priority goes up, once. A ticket whose promises hold cannot be escalated.
    assert!(page.contains("/portal/tickets/"), "{page}");
    assert!(
        page.contains(&format!("action=\"/portal/tickets/{late}/escalate\"")),
        "{page}"
    );
    let csrf = customer.csrf();
    let r = customer
        .post(
            &format!("/portal/tickets/{late}/escalate"),
            &[("csrf", "forged"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = customer
        .post(
            &format!("/portal/tickets/{answered}/escalate"),
            &[("csrf", &csrf), ("reason", "why")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = customer
        .post(
            &format!("/portal/tickets/{late}/escalate"),
            &[
                ("csrf", &csrf),
                (
                    "reason",
                    "Nobody answered for an hour and my funds are stuck.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let alert = crate::live::expect(&mut boss, "alert").await;
    assert_eq!(
        (alert["kind"].as_str(), alert["ticket_id"].as_i64()),
        (Some("escalated"), Some(late))
    );
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{late}"))
        .await;
    assert_eq!(after["priority"], "urgent");
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("escalated"))
    );
    assert!(kinds(&app, late).await.contains(&"escalated".to_owned()));
    let r = customer
        .post(
            &format!("/portal/tickets/{late}/escalate"),
            &[("csrf", &csrf), ("reason", "again")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    for quiet in [answered, waiting] {
        let k = kinds(&app, quiet).await;
        assert!(!k.iter().any(|k| k.starts_with("sla_")), "{quiet}: {k:?}");
    }
    app.stop().await;
});

backend_test!(timers_survive_a_restart, |app| {
    let admin = app.admin_token().await;
    policy(&app, &admin, 30).await;
    let id = app.create_ticket(body(&app, "Before the restart")).await["id"]
        .as_i64()
        .unwrap();
    // Stop this node, keeping its database, and start another on it.
    let mut app = app;
    let running = app.running.take().unwrap();
    let _ = running.shutdown.send(());
    let _ = running.task.await;
    let dir = tempfile::tempdir().unwrap();
    let again = xdesk::start(&xdesk::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        ..app.config.clone()
    })
    .await
    .unwrap();
    again.services.advance_clock(Duration::minutes(31));
    let mut breached = 0;
    for _ in 0..100 {
        again.services.run_sla_timers(100).await.unwrap();
        let events = again.services.store.events(id).await.unwrap();
        breached = events.iter().filter(|e| e.kind == "sla_breached").count();
        if breached > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(breached, 1);
    let _ = again.shutdown.send(());
    let _ = again.task.await;
});

/// Two nodes on one PostgreSQL database take the same due timers at the same moment: every
/// breach is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_never_fire_a_timer_twice() {
    let Some(app) = spawn_app(Db::Postgres).await else {
        return;
    };
    let admin = app.admin_token().await;
    policy(&app, &admin, 1).await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(
            app.create_ticket(body(&app, &format!("Ticket {n}"))).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let other = xdesk::start(&xdesk::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        ..app.config.clone()
    })
    .await
    .unwrap();
    let a = app.running.as_ref().unwrap().services.clone();
    let b = other.services.clone();
    a.advance_clock(Duration::minutes(2));
    b.advance_clock(Duration::minutes(2));
    // Small batches, so both nodes keep claiming while the other works.
    let drain = |s: xdesk_service::Services| async move {
        let mut fired = 0;
        loop {
            let run = s.run_sla_timers(3).await.unwrap();
            fired += run.fired;
            if run.claimed == 0 {
                return fired;
            }
        }
    };
    // Each node's own timer task runs too: four workers on the same due timers.
    let (fa, fb) = tokio::join!(drain(a.clone()), drain(b));
    assert!(fa + fb <= 40, "node A {fa}, node B {fb}");
    // A timer another worker still holds is recorded when it finishes: wait for all, then
    // count.
    let breaches = |id: i64| {
        let a = a.clone();
        async move {
            let events = a.store.events(id).await.unwrap();
            events.iter().filter(|e| e.kind == "sla_breached").count()
        }
    };
    for _ in 0..100 {
        let mut done = true;
        for id in &ids {
            done &= breaches(*id).await > 0;
        }
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for id in ids {
        assert_eq!(breaches(id).await, 1, "ticket {id}");
    }
    let _ = other.shutdown.send(());
    let _ = other.task.await;
    app.stop().await;
}

// Money at risk and broken promises are mailed to the group's supervisors on duty (status
// online or away), over a real SMTP server; a supervisor off duty gets nothing.
crate::backend_test_db!(supervisors_on_duty_are_mailed, |db| {
    let smtp = SmtpCapture::start().await;
    let settings = smtp.settings();
    let Some(app) = spawn_app_with(db, move |c| c.smtp = Some(settings)).await else {
        return;
    };
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for who in ["duty", "home"] {
        let r = app
            .post(
                &admin,
                "/api/v1/agents",
                json!({"email": format!("{who}@x.test"), "display_name": who, "role": "supervisor",
                       "password": "correct horse battery staple", "group_ids": [app.payments_group]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let r = app
        .http
        .put(app.url(&format!("/api/v1/agents/{}/status", ids[0])))
        .bearer_auth(&admin)
        .json(&json!({"status": "away"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    policy(&app, &admin, 60).await;
    let mut stolen = body(&app, "Hacked");
    stolen["body"] =
        json!("Someone logged into my account and withdrew all my BTC, it was not me!");
    let stolen = app.create_ticket(stolen).await;
    assert_eq!(stolen["priority"], "urgent");
    let number = stolen["number"].as_str().unwrap().to_owned();
    // (subject, text) of each alert mail to `to`.
    let alert_to = |to: &str| -> Vec<(String, String)> {
        smtp.messages()
            .iter()
            .filter_map(|raw| {
                let m = mail_parser::MessageParser::default().parse(raw.as_bytes())?;
                let addr = m.to()?.first()?.address()?.to_owned();
                let subject = m.subject()?.to_owned();
                let text = m.body_text(0)?.into_owned();
                (addr == to && subject.contains("Needs you")).then_some((subject, text))
            })
            .collect()
    };
    let mut urgent = Vec::new();
    for _ in 0..100 {
        urgent = alert_to("duty@x.test");
        if !urgent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(urgent.len(), 1, "{:?}", smtp.messages());
    let (subject, text) = &urgent[0];
    assert_eq!(subject, &format!("[{number}] Needs you: Hacked"));
    assert!(text.contains("Money at risk"), "{text}");
    assert!(
        text.contains(&format!("/console/tickets/{}", stolen["id"])),
        "{text}"
    );
    // The first response is not given: the breach is mailed too, once.
    let services = app.running.as_ref().unwrap().services.clone();
    services.advance_clock(Duration::minutes(61));
    settle(
        &services,
        &app,
        stolen["id"].as_i64().unwrap(),
        "sla_breached",
    )
    .await;
    let mut all = Vec::new();
    for _ in 0..100 {
        all = alert_to("duty@x.test");
        if all.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all.iter().any(|(_, t)| t.contains("SLA breached")),
        "{all:?}"
    );
    assert!(
        alert_to("home@x.test").is_empty(),
        "the offline supervisor was mailed"
    );
    app.stop().await;
});

/// Minutes between a ticket's creation and its first-response due time.
async fn first_response_minutes(app: &TestApp, id: i64) -> i64 {
    // Through the API key: the mailed ticket is in no group of the test's agent.
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("{v}"))).unwrap()
    };
    let all = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}/sla"))
        .await;
    (at(&clock(&all, "first_response")["due_at"]) - at(&t["created_at"])).num_minutes()
}

// A new ticket's clocks start in its own transaction, by the policy of its customer's tier:
// the tier the request gives, else the one stored with the customer (read inside that
// transaction, also for a mail from a known customer), else the general policy.
backend_test!(the_policy_follows_the_customers_tier, |app| {
    let admin = app.admin_token().await;
    for (name, tier, first) in [("General", None, 240), ("VIP", Some("vip"), 15)] {
        let r = app
            .post(
                &admin,
                "/api/v1/sla/policies",
                json!({"name": name, "tier": tier, "first_response_minutes": first,
                       "next_response_minutes": 480, "resolution_minutes": 2880}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let mut given = body(&app, "Tier given");
    given["customer"] = json!({"email": "vip@example.com", "tier": "vip"});
    let given = app.create_ticket(given).await;
    let mut stored = body(&app, "Tier stored");
    stored["customer"] = json!({"email": "vip@example.com"});
    let stored = app.create_ticket(stored).await;
    let mut other = body(&app, "No tier");
    other["customer"] = json!({"email": "plain@example.com"});
    let other = app.create_ticket(other).await;
    let raw = b"From: VIP <vip@example.com>\r\nTo: support@xdesk.test\r\nSubject: still waiting\r\nMessage-ID: <tier1@example.com>\r\n\r\nMy withdrawal is still pending.\r\n";
    let (status, v) = app.post_mail(raw).await;
    assert!(status.is_success(), "{v}");
    let mailed = app.ticket_on("email").await;
    for (t, want) in [(&given, 15), (&stored, 15), (&other, 240), (&mailed, 15)] {
        let id = t["id"].as_i64().unwrap();
        assert_eq!(
            first_response_minutes(&app, id).await,
            want,
            "ticket {id} {}",
            t["subject"]
        );
        let all = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{id}/sla"))
            .await;
        assert_eq!(clock(&all, "resolution")["state"], "running");
    }
});
