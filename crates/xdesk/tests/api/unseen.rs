//! No ticket goes unseen: with no routing rules, what comes in on every channel (API, email,
//! portal, chat widget) lands in the configured default group, where its agents see it; without
//! a default group it waits in the supervisors' "Unrouted" view, and money at risk alerts them
//! whatever the group.

use crate::backend_test_db;
use crate::support::*;
use crate::web::Web;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::{Value, json};

/// Opens one ticket on each channel, as its customer would; returns (channel, subject, id).
async fn one_per_channel(app: &TestApp, tag: &str) -> Vec<(&'static str, String, i64)> {
    let mut out = Vec::new();

    let subject = format!("{tag} API: account frozen");
    let t = app
        .create_ticket(json!({
            "subject": subject,
            "body": "My account says frozen, what do I do?",
            "customer": {"email": format!("{tag}-api@example.com")},
        }))
        .await;
    let customer = t["customer_id"].as_i64().unwrap();
    out.push(("api", subject, t["id"].as_i64().unwrap()));

    let subject = format!("{tag} email: deposit missing");
    let raw = format!(
        "From: {tag}-mail@example.com\r\nTo: support@xdesk.test\r\nSubject: {subject}\r\nMessage-ID: <{tag}-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy USDT deposit has not arrived.\r\n"
    );
    let (status, v) = app.post_mail(raw.as_bytes()).await;
    assert!(status.is_success(), "{status} {v}");
    out.push(("email", subject.clone(), by_subject(app, &subject).await));

    let subject = format!("{tag} portal: 25,000 USDT deposit missing");
    let mut web = app.portal_as(customer).await;
    web.get("/portal/new?type=missing_deposit").await;
    let form = Form::new()
        .text("csrf", web.csrf())
        .text("issue_type", "missing_deposit")
        .text("subject", subject.clone())
        .text("network", "tron")
        .text("asset", "USDT")
        .text(
            "tx_hash",
            "4f5b3c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
        )
        .text("to_address", "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL")
        .text("amount", "25000")
        .text("occurred_at", "2026-12-06T08:15")
        .text(
            "body",
            "Sent 25000 USDT six hours ago and it is not in my balance.",
        );
    let r = web.post_multipart("/portal/new", form).await;
    assert!(
        r.status.is_redirection() || r.status == StatusCode::OK,
        "{}",
        r.body
    );
    out.push(("web", subject.clone(), by_subject(app, &subject).await));

    let mut chat = crate::chat::connect(app, "/api/v1/chat/customer?lang=en", None).await;
    crate::chat::expect(&mut chat, "welcome").await;
    let body = format!("{tag} chat: my withdrawal is stuck");
    crate::chat::send(&mut chat, json!({"type": "message", "body": body})).await;
    let opened = crate::chat::expect(&mut chat, "ticket").await;
    let id = opened["ticket"]["id"].as_i64().unwrap();
    let subject = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    out.push(("chat", subject, id));
    out
}

async fn by_subject(app: &TestApp, subject: &str) -> i64 {
    let list = app.get_json(&app.api_key, "/api/v1/tickets?limit=50").await;
    list["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == subject)
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_else(|| panic!("no ticket {subject:?} in {list}"))
}

fn escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('\'', "&#x27;")
}

backend_test_db!(every_channel_lands_in_a_queue_agents_see, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.routing.default_group = Some("Payments".into());
    })
    .await
    else {
        return;
    };
    let tickets = one_per_channel(&app, "dg").await;
    let mut agent = Web::new(&app);
    agent.sign_in("agent@x.test", None).await;
    let queue = agent
        .get(&format!("/console?view=group-{}", app.payments_group))
        .await;
    assert_eq!(queue.status, StatusCode::OK);
    for (channel, subject, id) in &tickets {
        let t = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(t["group_id"], json!(app.payments_group), "{channel}: {t}");
        assert!(
            queue.body.contains(&escaped(subject)),
            "{channel} ticket {subject:?} is not in the agent's group view"
        );
        // And the agent may open it.
        let page = agent.get(&format!("/console/tickets/{id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{channel}");
    }
    app.stop().await;
});

backend_test_db!(unrouted_tickets_reach_supervisors_and_alert_them, |db| {
    let Some(app) = spawn_app_with(db, |_| {}).await else {
        return;
    };
    // The supervisor's console is open on their queues before the money-at-risk ticket comes.
    let mut boss = crate::live::open(&app, &app.supervisor_token, "", None)
        .await
        .unwrap();
    let tickets = one_per_channel(&app, "nr").await;
    let (_, portal_subject, portal_id) =
        tickets.iter().find(|(c, ..)| *c == "web").cloned().unwrap();
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{portal_id}"))
        .await;
    assert_eq!(t["group_id"], Value::Null);
    assert_eq!(t["priority"], "urgent", "{t}");
    let alert = crate::live::expect(&mut boss, "alert").await;
    assert_eq!(
        (alert["kind"].as_str(), alert["ticket_id"].as_i64()),
        (Some("urgent"), Some(portal_id))
    );

    let mut sup = Web::new(&app);
    sup.sign_in("super@x.test", None).await;
    let inbox = sup.get("/console").await;
    assert!(
        inbox.body.contains("view=unrouted"),
        "supervisors have the view"
    );
    let unrouted = sup.get("/console?view=unrouted").await;
    for (channel, subject, id) in &tickets {
        assert!(
            unrouted.body.contains(&escaped(subject)),
            "{channel} ticket {subject:?} is not in the Unrouted view"
        );
        let page = sup.get(&format!("/console/tickets/{id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{channel}");
    }
    assert!(unrouted.body.contains(&escaped(&portal_subject)));

    // Agents see neither the view nor tickets outside their groups.
    let mut agent = Web::new(&app);
    agent.sign_in("agent@x.test", None).await;
    assert!(!agent.get("/console").await.body.contains("view=unrouted"));
    let page = agent.get(&format!("/console/tickets/{portal_id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let mine = agent.get("/console?view=unrouted").await;
    assert!(!mine.body.contains(&escaped(&portal_subject)));
    app.stop().await;
});
