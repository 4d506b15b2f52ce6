//! Incidents: tickets from email (over the real SMTP test server), the chat widget (a real
//! WebSocket) and the portal are linked by rule and by hand; each public update reaches each
//! customer once, in their language, on their channel, and is kept in the ticket's hash chain;
//! resolving solves them and a customer who writes again reopens only their own. Bad input is
//! refused whole. A broadcast survives a node killed in the middle, and two nodes on one
//! PostgreSQL share one without sending anything twice.

use crate::support::*;
use crate::{backend_test, backend_test_db};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const EN_BODY: &str = "USDT deposits on TRON are delayed while the node catches up.";
const ZH_BODY: &str = "TRON 网络 USDT 充值延迟，节点正在同步。";

async fn ticket(app: &TestApp, id: i64) -> Value {
    app.get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await
}

/// The messages of ticket `id` that carry `needle`.
async fn carrying(app: &TestApp, id: i64, needle: &str) -> usize {
    ticket(app, id).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"].as_str().unwrap_or_default().contains(needle))
        .count()
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The ticket with `subject`, waiting (up to 10 s) for it: a form a browser submits lands a
/// moment after the click.
async fn by_subject(app: &TestApp, subject: &str) -> i64 {
    let mut list = Value::Null;
    for _ in 0..100 {
        list = app.get_json(&app.api_key, "/api/v1/tickets?limit=50").await;
        if let Some(id) = list["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == subject)
            .and_then(|t| t["id"].as_i64())
        {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no ticket {subject:?} in {list}")
}

async fn create_incident(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post(token, "/api/v1/incidents", body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

backend_test_db!(
    an_update_reaches_every_customer_in_their_language_on_their_channel,
    |db| {
        let smtp = SmtpCapture::start().await;
        let settings = smtp.settings();
        let Some(app) = spawn_app_with(db, move |c| {
            c.email.from_address = "help@exchange.test".into();
            c.smtp = Some(settings);
            c.routing.default_group = Some("Payments".into());
        })
        .await
        else {
            return;
        };
        let admin = app.admin_token().await;
        let tron = app
        .post(
            &admin,
            "/api/v1/components",
            json!({"name": "Deposits › TRON", "name_zh": "充值 › TRON", "network": "tron", "intents": ["deposit_missing"]}),
        )
        .await;
        assert_eq!(tron.status(), StatusCode::CREATED);
        let tron: Value = tron.json().await.unwrap();
        let inc = create_incident(
            &app,
            &app.supervisor_token,
            json!({
                "title": "TRON deposits delayed", "title_zh": "TRON 充值延迟",
                "impact": "major", "body": EN_BODY, "body_zh": ZH_BODY,
                "components": [{"id": tron["id"], "status": "partial_outage"}],
                "rule": {"words": ["tron"]},
            }),
        )
        .await;
        let iid = inc["incident"]["id"].as_i64().unwrap();
        assert_eq!(inc["incident"]["status"], "investigating");
        let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
        assert_eq!(comps[0]["status"], "partial_outage", "{comps}");

        // Email, in English, matched by the rule.
        let (status, v) = app
        .post_mail(
            b"From: Erin <erin@example.com>\r\nTo: help@exchange.test\r\nSubject: TRON USDT deposit missing\r\nMessage-ID: <erin-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI sent 500 USDT over TRON an hour ago and it has not arrived.\r\n",
        )
        .await;
        assert!(status.is_success(), "{v}");
        let email_id = app.ticket_on("email").await["id"].as_i64().unwrap();

        // Chat, a visitor online in the widget, matched by the rule.
        let mut chat = crate::chat::connect(&app, "/api/v1/chat/customer?lang=en", None).await;
        crate::chat::expect(&mut chat, "welcome").await;
        crate::chat::send(
            &mut chat,
            json!({"type": "message", "body": "My tron deposit is not in my balance"}),
        )
        .await;
        let chat_id = crate::chat::expect(&mut chat, "ticket").await["ticket"]["id"]
            .as_i64()
            .unwrap();

        // The portal, in Chinese, in a real browser, with no word the rule knows: an agent
        // links it by hand.
        let api = app
        .create_ticket(json!({"subject": "占位", "body": "占位", "customer": {"email": "wang@example.com"}, "language": "zh"}))
        .await;
        let customer = api["customer_id"].as_i64().unwrap();
        let portal_token = app.portal_as(customer).await.jar["xdesk_portal"].clone();
        let Some(browser) = crate::browser::Driver::start(false).await else {
            return;
        };
        browser.client.goto(&app.url("/help")).await.unwrap();
        // Signed in as a used sign-in link leaves the browser, reading in Chinese.
        browser
            .client
            .execute(
                "document.cookie = 'xdesk_portal=' + arguments[0] + '; path=/'; \
                 document.cookie = 'xdesk_lang=zh; path=/'; return true;",
                vec![json!(portal_token)],
            )
            .await
            .unwrap();
        browser
            .client
            .goto(&app.url("/portal/new?type=missing_deposit"))
            .await
            .unwrap();
        browser.until_text("充值").await;
        browser
            .client
            .execute(
                "const f = document.querySelector('form.new-ticket'); \
                 const set = (n, v) => { f.elements[n].value = v; }; \
                 set('subject', '充值未到账'); set('network', 'ethereum'); set('asset', 'USDT'); \
                 set('tx_hash', '0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060'); \
                 set('to_address', '0x742d35cc6634c0532925a3b844bc454e4438f44e'); \
                 set('occurred_at', '2026-12-06T08:15'); set('amount', '300'); \
                 set('body', '我三个小时前充值了 300 USDT，到现在还没到账，请帮忙查一下。'); return true;",
                Vec::new(),
            )
            .await
            .unwrap();
        browser.click("form.new-ticket button.primary").await;
        let portal_id = by_subject(&app, "充值未到账").await;
        assert_eq!(ticket(&app, portal_id).await["language"], "zh");

        let r = app
            .post(
                &app.agent_token,
                &format!("/api/v1/incidents/{iid}/tickets"),
                json!({"ticket_ids": [portal_id]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.json::<Value>().await.unwrap()["linked"],
            json!([portal_id])
        );

        // The rule and the broadcaster run on their own: every ticket gets the latest update, in
        // its customer's language, and waits on the incident.
        wait_until("every ticket answered with the update", || async {
            carrying(&app, email_id, EN_BODY).await == 1
                && carrying(&app, chat_id, EN_BODY).await == 1
                && carrying(&app, portal_id, ZH_BODY).await == 1
        })
        .await;
        for id in [email_id, chat_id, portal_id] {
            assert_eq!(ticket(&app, id).await["state"], "pending_incident");
            assert!(
                app.verified_events(id)
                    .await
                    .iter()
                    .any(|e| e["kind"] == "incident_linked" && e["data"]["incident_id"] == iid)
            );
        }
        assert_eq!(carrying(&app, portal_id, EN_BODY).await, 0);
        // The portal customer reads it on their ticket, in Chinese.
        browser
            .client
            .goto(&app.url(&format!("/portal/tickets/{portal_id}")))
            .await
            .unwrap();
        browser.until_text(ZH_BODY).await;
        browser.screenshot("incident-update-portal-zh").await;
        // The widget showed it live.
        let live = loop {
            let m = crate::chat::expect(&mut chat, "message").await;
            if m["message"]["body"]
                .as_str()
                .unwrap_or_default()
                .contains(EN_BODY)
            {
                break m;
            }
        };
        assert_eq!(live["message"]["author_kind"], "system");
        // The email customer got it by mail, in the ticket's thread.
        let mails = smtp.wait_for(2).await;
        let mail = mails
            .iter()
            .find(|m| m.contains("USDT deposits on TRON"))
            .expect("update mailed");
        assert!(mail.contains("erin@example.com"));
        assert!(mail.contains("In-Reply-To: <erin-1@example.com>"), "{mail}");
        let linked = app
            .get_json(
                &app.agent_token,
                &format!("/api/v1/incidents/{iid}/tickets"),
            )
            .await;
        let by: Vec<(i64, String)> = linked
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["ticket_id"].as_i64().unwrap(),
                    l["linked_by"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(by.contains(&(email_id, "rule".into())) && by.contains(&(chat_id, "rule".into())));
        assert!(by.contains(&(portal_id, "agent".into())));

        // A second update, Chinese and English: once each.
        let r = app
        .post(
            &app.supervisor_token,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"status": "identified", "body": "The TRON node is synced; credits are going out.", "body_zh": "TRON 节点已同步，正在入账。"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let update = r.json::<Value>().await.unwrap();
        // An internal note is never sent.
        let r = app
            .post(
                &app.supervisor_token,
                &format!("/api/v1/incidents/{iid}/updates"),
                json!({"internal": true, "body": "Node provider ticket #4411"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        wait_until("the second update everywhere", || async {
            carrying(&app, email_id, "credits are going out").await == 1
                && carrying(&app, chat_id, "credits are going out").await == 1
                && carrying(&app, portal_id, "正在入账").await == 1
        })
        .await;
        let detail = app
            .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
            .await;
        let second = detail["updates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == update["id"])
            .unwrap()
            .clone();
        let d = &second["deliveries"];
        assert_eq!(
            d["queued"].as_u64().unwrap() + d["sent"].as_u64().unwrap(),
            3,
            "{second}"
        );
        assert_eq!(d["failed"], 0);
        for id in [email_id, chat_id, portal_id] {
            assert_eq!(carrying(&app, id, "Node provider").await, 0);
        }

        // The public status page, its Statuspage-shaped summary and its feed say the same, in
        // both languages, and never the internal note.
        let page = |path: &'static str| {
            let http = app.http.clone();
            let url = app.url(path);
            async move {
                let r = http.get(url).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK, "{path}");
                r.text().await.unwrap()
            }
        };
        let en = page("/status?lang=en").await;
        assert!(en.contains("TRON deposits delayed") && en.contains("credits are going out"));
        let zh = page("/status?lang=zh").await;
        assert!(zh.contains("TRON 充值延迟") && zh.contains("正在入账"));
        let summary: Value = serde_json::from_str(&page("/status/summary.json").await).unwrap();
        let open = &summary["incidents"][0];
        assert_eq!(open["name"], "TRON deposits delayed", "{summary}");
        assert_eq!(open["status"], "identified");
        assert_eq!(open["impact"], "major");
        assert!(
            open["incident_updates"][0]["body"]
                .as_str()
                .unwrap()
                .contains("credits are going out"),
            "{open}"
        );
        assert_eq!(summary["status"]["indicator"], "major", "{summary}");
        let atom = page("/status/feed.atom").await;
        assert!(atom.contains("TRON deposits delayed") && atom.contains("credits are going out"));
        for text in [&en, &zh, &atom, &summary.to_string()] {
            assert!(!text.contains("Node provider"));
        }

        // Resolved, solving every linked ticket; the component is operational again.
        let r = app
        .post(
            &app.supervisor_token,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"status": "resolved", "body": "All delayed deposits are credited.", "body_zh": "所有延迟的充值均已入账。", "solve_tickets": true}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        wait_until("every linked ticket solved", || async {
            let mut all = true;
            for id in [email_id, chat_id, portal_id] {
                all &= ticket(&app, id).await["state"] == "solved";
            }
            all
        })
        .await;
        assert_eq!(carrying(&app, portal_id, "所有延迟的充值均已入账").await, 1);
        let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
        assert_eq!(comps[0]["status"], "operational", "{comps}");
        // A second resolution is refused and sends nothing.
        let r = app
            .post(
                &app.supervisor_token,
                &format!("/api/v1/incidents/{iid}/updates"),
                json!({"status": "resolved", "body": "Resolved again"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "incident_closed"
        );

        // The email customer writes again: only their ticket reopens.
        let final_mail = smtp.wait_for(4).await;
        let solved_mail = final_mail
            .iter()
            .find(|m| m.contains("All delayed deposits are credited"))
            .expect("final update mailed");
        let message_id = solved_mail
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap()
            .trim()
            .to_owned();
        let reply = format!(
            "From: Erin <erin@example.com>\r\nTo: help@exchange.test\r\nSubject: Re: TRON USDT deposit missing\r\nMessage-ID: <erin-2@example.com>\r\nIn-Reply-To: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStill not credited for me.\r\n"
        );
        let (status, v) = app.post_mail(reply.as_bytes()).await;
        assert!(status.is_success(), "{v}");
        assert_eq!(ticket(&app, email_id).await["state"], "open");
        assert_eq!(ticket(&app, chat_id).await["state"], "solved");
        assert_eq!(ticket(&app, portal_id).await["state"], "solved");
        for id in [email_id, chat_id, portal_id] {
            app.verified_events(id).await;
        }
        // The status page is calm again; the incident is history.
        let summary: Value = serde_json::from_str(
            &app.http
                .get(app.url("/status/summary.json"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(summary["incidents"], json!([]), "{summary}");
        assert_eq!(summary["status"]["indicator"], "none", "{summary}");
        browser.close().await;
        app.stop().await;
    }
);

backend_test!(bad_input_is_refused_whole, |app| {
    let admin = app.admin_token().await;
    let c = app
        .post(&admin, "/api/v1/components", json!({"name": "Withdrawals"}))
        .await;
    let c: Value = c.json().await.unwrap();
    let cases = [
        (
            json!({"title": "X", "body": "  ", "body_zh": ""}),
            "text_required",
        ),
        (
            json!({"title": "", "title_zh": "", "body": "x"}),
            "text_required",
        ),
        (
            json!({"title": "X", "body": "x", "components": [{"id": 999_999, "status": "major_outage"}]}),
            "unknown_component",
        ),
        (
            json!({"title": "X", "body": "x", "components": [{"id": c["id"], "status": "on_fire"}]}),
            "invalid_component_status",
        ),
        (
            json!({"title": "X", "body": "x", "rule": {"since": "2026-01-01T00:00:00Z"}}),
            "rule_matches_everything",
        ),
        (
            json!({"title": "X", "body": "x", "rule": {"intents": ["lost_keys"]}}),
            "unknown_intent",
        ),
        (
            json!({"title": "X", "body": "x", "kind": "maintenance"}),
            "window_required",
        ),
        (
            json!({"title": "X", "body": "x", "status": "resolved"}),
            "invalid_incident_status",
        ),
    ];
    for (body, code) in cases {
        let r = app
            .post(&app.supervisor_token, "/api/v1/incidents", body.clone())
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{body}: {v}");
    }
    // Nothing was half-written.
    let list = app.get_json(&app.agent_token, "/api/v1/incidents").await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
    assert_eq!(comps[0]["status"], "operational");

    let t = app
        .create_ticket(ticket_body(&app, "Withdrawal stuck"))
        .await;
    let inc = create_incident(
        &app,
        &app.supervisor_token,
        json!({"title": "Withdrawals slow", "body": "Checking"}),
    )
    .await;
    let iid = inc["incident"]["id"].as_i64().unwrap();
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/incidents/{iid}/tickets"),
            json!({"ticket_ids": [t["id"]]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let before = app
        .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
        .await;
    for (body, code) in [
        (json!({"body": "", "body_zh": " "}), "text_required"),
        (
            json!({"status": "scheduled", "body": "x"}),
            "invalid_incident_status",
        ),
        (
            json!({"status": "monitoring", "body": "x", "internal": true}),
            "note_cannot_change_status",
        ),
        (
            json!({"body": "x", "components": [{"id": 424242, "status": "operational"}]}),
            "unknown_component",
        ),
    ] {
        let r = app
            .post(
                &app.supervisor_token,
                &format!("/api/v1/incidents/{iid}/updates"),
                body.clone(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            code,
            "{body}"
        );
    }
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
        .await;
    let ids = |d: &Value| -> Vec<Value> {
        d["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| json!([u["id"], u["status"], u["body"]]))
            .collect()
    };
    assert_eq!(ids(&before), ids(&after), "a refused update left something");
    assert_eq!(before["incident"]["status"], after["incident"]["status"]);
    // Agents read and link but do not publish.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"body": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Keys act within their scopes.
    let services = &app.running.as_ref().unwrap().services;
    let (_, reader) = services
        .create_api_key("status-reader", &["incidents:read".into()])
        .await
        .unwrap();
    let (_, writer) = services
        .create_api_key("status-writer", &["incidents:write".into()])
        .await
        .unwrap();
    assert_eq!(
        app.get(&reader, "/api/v1/incidents").await.status(),
        StatusCode::OK
    );
    let r = app
        .post(
            &reader,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"body": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            &writer,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"body": "From the ops bot"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Resolve twice: the second is refused.
    let r = app
        .post(
            &admin,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"status": "resolved", "body": "Done"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post(
            &admin,
            &format!("/api/v1/incidents/{iid}/updates"),
            json!({"status": "resolved", "body": "Done"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "incident_closed"
    );
    // And a closed incident takes no more tickets.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/incidents/{iid}/tickets"),
            json!({"ticket_ids": [t["id"]]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    app.stop().await;
});

backend_test!(maintenance_starts_and_completes_on_its_own, |app| {
    let admin = app.admin_token().await;
    let c = app
        .post(&admin, "/api/v1/components", json!({"name": "Trading"}))
        .await;
    let c: Value = c.json().await.unwrap();
    let now = chrono::Utc::now();
    let inc = create_incident(
        &app,
        &app.supervisor_token,
        json!({"kind": "maintenance", "title": "Matching engine upgrade", "body": "Trading pauses for the upgrade.",
               "starts_at": now + chrono::Duration::seconds(2), "ends_at": now + chrono::Duration::seconds(4),
               "components": [{"id": c["id"], "status": "under_maintenance"}]}),
    )
    .await;
    let iid = inc["incident"]["id"].as_i64().unwrap();
    assert_eq!(inc["incident"]["status"], "scheduled");
    let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
    assert_eq!(
        comps[0]["status"], "operational",
        "a window that has not started touches nothing"
    );
    let saw = std::sync::atomic::AtomicBool::new(false);
    wait_until("the window to complete", || {
        let (app, saw) = (&app, &saw);
        async move {
            let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
            if comps[0]["status"] == "under_maintenance" {
                saw.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let d = app
                .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
                .await;
            d["incident"]["status"] == "completed"
        }
    })
    .await;
    assert!(
        saw.into_inner(),
        "the component was never under maintenance"
    );
    let d = app
        .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
        .await;
    let statuses: Vec<&str> = d["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "in_progress", "scheduled"]);
    let comps = app.get_json(&app.agent_token, "/api/v1/components").await;
    assert_eq!(comps[0]["status"], "operational");
    app.stop().await;
});

/// Setup shared by the crash and two-node tests: `n` tickets linked to an open incident with
/// one public update queued for each, written through services on a node that posts nothing.
async fn queued_broadcast(config: &xdesk::Config, n: usize) -> (i64, i64, Vec<i64>) {
    let setup = xdesk::open(config).await.unwrap();
    let system = xdesk_service::Principal::System;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let t = setup
            .create_ticket(
                &system,
                xdesk_service::tickets::CreateTicket {
                    subject: format!("Deposit {i} missing"),
                    body: "My deposit has not arrived.".into(),
                    body_html: None,
                    customer: xdesk_service::tickets::CustomerRef {
                        email: Some(format!("c{i}@example.com")),
                        ..Default::default()
                    },
                    priority: None,
                    channel: Some("api".into()),
                    language: Some(if i % 2 == 0 { "en" } else { "zh" }.into()),
                    category: None,
                    group_id: None,
                    assignee_id: None,
                    tags: Vec::new(),
                    crypto: Default::default(),
                    attachments: Vec::new(),
                },
                None,
            )
            .await
            .unwrap();
        ids.push(t.ticket.id);
    }
    let inc = setup
        .create_incident(
            &system,
            xdesk_service::incidents::IncidentSpec {
                title: "Deposits delayed".into(),
                title_zh: "充值延迟".into(),
                body: "Deposits are delayed.".into(),
                body_zh: "充值延迟。".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    for chunk in ids.chunks(1000) {
        setup
            .link_to_incident(&system, inc.incident.id, chunk, None)
            .await
            .unwrap();
    }
    let u = setup
        .post_incident_update(
            &system,
            inc.incident.id,
            xdesk_service::incidents::UpdateSpec {
                body: "Credits are going out now.".into(),
                body_zh: "正在入账。".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    setup.store.close().await.unwrap();
    (inc.incident.id, u.id, ids)
}

/// Every linked ticket carries update `update_id` exactly once, and its chain verifies.
async fn exactly_once(config: &xdesk::Config, update_id: i64, ids: &[i64]) {
    let s = xdesk::open(config).await.unwrap();
    let deliveries = s.store.deliveries_of(update_id).await.unwrap();
    assert_eq!(deliveries.len(), ids.len());
    assert!(deliveries.iter().all(|d| d.state == "sent"), "not all sent");
    for id in ids {
        let messages = s.store.messages(*id, false).await.unwrap();
        let n = messages
            .iter()
            .filter(|m| m.metadata.contains(&format!("\"update\":{update_id}")))
            .count();
        assert_eq!(n, 1, "ticket {id} got the update {n} times");
        let (events, v) = s
            .history(&xdesk_service::Principal::System, *id)
            .await
            .unwrap();
        assert!(v.valid, "ticket {id}: {v:?}");
        assert!(!events.is_empty());
    }
    s.store.close().await.unwrap();
}

// `xdesk serve` killed with SIGKILL in the middle of a broadcast, then started again: every
// customer has the update exactly once.
backend_test_db!(a_node_killed_mid_broadcast_sends_nothing_twice, |db| {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}/xdesk.db?mode=rwc", dir.path().display()),
        Db::Postgres => fresh_postgres(&postgres_url().unwrap()).await,
    };
    let config = xdesk::Config {
        database_url: database_url.clone(),
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let n = 600;
    let (_, update_id, ids) = queued_broadcast(&config, n).await;
    let env = [
        ("XDESK_DATABASE_URL", database_url.clone()),
        (
            "XDESK_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("XDESK_INCIDENTS__BROADCAST_PER_SECOND", "300".to_owned()),
        ("XDESK_INCIDENTS__LEASE_SECS", "2".to_owned()),
    ];
    let node = crate::chat::start_node(dir.path(), &env).await;
    // Let it post some, then kill it without warning.
    let probe = xdesk::open(&config).await.unwrap();
    let mut posted = 0;
    for _ in 0..200 {
        posted = probe
            .store
            .deliveries_of(update_id)
            .await
            .unwrap()
            .iter()
            .filter(|d| d.state == "sent")
            .count();
        if posted >= n / 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut child = node.child;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(
        posted > 0 && posted < n,
        "killed at {posted} of {n}: not mid-broadcast"
    );
    let pending = probe.store.pending_deliveries().await.unwrap();
    assert!(pending > 0);
    probe.store.close().await.unwrap();
    // Restarted, it finishes: what the dead node held comes back when its lease ends.
    let node = crate::chat::start_node(dir.path(), &env).await;
    let probe = xdesk::open(&config).await.unwrap();
    for _ in 0..600 {
        if probe.store.pending_deliveries().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(probe.store.pending_deliveries().await.unwrap(), 0);
    probe.store.close().await.unwrap();
    drop(node);
    exactly_once(&config, update_id, &ids).await;
});

/// Two `xdesk serve` nodes on one PostgreSQL share one broadcast: each delivery is claimed
/// and posted once, and the two together keep to the one configured rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_broadcast() {
    let Some(pg) = postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_postgres(&pg).await;
    let config = xdesk::Config {
        database_url: database_url.clone(),
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let (_, update_id, ids) = queued_broadcast(&config, 800).await;
    let env = [
        ("XDESK_DATABASE_URL", database_url.clone()),
        (
            "XDESK_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("XDESK_INCIDENTS__BROADCAST_PER_SECOND", "100".to_owned()),
    ];
    let a = crate::chat::start_node(dir.path(), &env).await;
    let b = crate::chat::start_node(dir.path(), &env).await;
    let probe = xdesk::open(&config).await.unwrap();
    for _ in 0..600 {
        if probe.store.pending_deliveries().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(probe.store.pending_deliveries().await.unwrap(), 0);
    // Each delivery was claimed once: with two nodes and no crash, no lease ever ran out.
    let deliveries = probe.store.deliveries_of(update_id).await.unwrap();
    assert!(
        deliveries.iter().all(|d| d.attempts == 1),
        "a delivery was claimed twice"
    );
    // 100 a second for both nodes together: any 4 seconds hold at most 4 seconds' share, plus
    // one second's that may be posted just after the second it was taken in (each node alone
    // at 100 a second would have posted 800).
    let mut at: Vec<i64> = deliveries
        .iter()
        .map(|d| d.delivered_at.unwrap().timestamp_millis())
        .collect();
    at.sort_unstable();
    let busiest = (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t < at[i] + 4000).count())
        .max()
        .unwrap();
    assert!(busiest <= 500, "{busiest} deliveries in 4 s at 100/s");
    probe.store.close().await.unwrap();
    drop((a, b));
    exactly_once(&config, update_id, &ids).await;
}
