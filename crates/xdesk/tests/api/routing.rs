//! Routing rules over real HTTP: admins write them, new tickets from the API and email go to
//! the group of the first rule that matches their intent, language, channel and customer tier.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn group(app: &TestApp, admin: &str, name: &str) -> i64 {
    let r = app
        .post(
            admin,
            "/api/v1/groups",
            json!({"name": name, "description": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn rule(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post(admin, "/api/v1/routing-rules", body).await
}

backend_test!(new_tickets_follow_the_routing_rules, |app| {
    let admin = app.admin_token().await;
    let security = group(&app, &admin, "Security").await;
    let vip = group(&app, &admin, "VIP desk").await;
    for body in [
        json!({"intent": "account_compromised", "group_id": security}),
        json!({"tier": "VIP", "group_id": vip}),
        json!({"language": "zh", "channel": "email", "group_id": app.payments_group}),
    ] {
        assert_eq!(rule(&app, &admin, body).await.status(), StatusCode::CREATED);
    }
    // Refused: no condition, an unknown group, a bad intent, and anyone but an admin.
    for (body, code) in [
        (json!({"group_id": vip}), "no_condition"),
        (
            json!({"channel": "chat", "group_id": 9999}),
            "unknown_group",
        ),
        (json!({"intent": "nope", "group_id": vip}), "invalid_intent"),
        (
            json!({"channel": "fax", "group_id": vip}),
            "invalid_channel",
        ),
    ] {
        let r = rule(&app, &admin, body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    let r = rule(
        &app,
        &app.agent_token,
        json!({"tier": "vip", "group_id": vip}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let rules = app.get_json(&admin, "/api/v1/routing-rules").await;
    assert_eq!(rules.as_array().unwrap().len(), 3, "{rules}");
    assert_eq!(rules[1]["tier"], "vip");

    let ticket = |subject: &str, body: &str, customer: Value| json!({"subject": subject, "body": body, "customer": customer});
    // A stolen account goes to security, whoever the customer is.
    let t = app
        .create_ticket(ticket(
            "Hacked",
            "Someone logged into my account and withdrew all my BTC, it was not me!",
            json!({"email": "a@example.com", "tier": "vip"}),
        ))
        .await;
    assert_eq!(t["group_id"], security, "{t}");
    // A VIP's other request goes to the VIP desk; the tier is kept for their next ticket.
    let t = app
        .create_ticket(ticket(
            "Fees",
            "Why is the withdrawal fee so high this week?",
            json!({"email": "a@example.com"}),
        ))
        .await;
    assert_eq!(t["group_id"], vip, "{t}");
    // No rule matches: no group. An explicit group always wins.
    let t = app
        .create_ticket(ticket(
            "Fees",
            "Why is the withdrawal fee so high this week?",
            json!({"email": "b@example.com"}),
        ))
        .await;
    assert_eq!(t["group_id"], Value::Null, "{t}");
    let mut explicit = ticket(
        "Hacked",
        "Someone logged into my account and withdrew all my BTC!",
        json!({"email": "c@example.com"}),
    );
    explicit["group_id"] = json!(app.accounts_group);
    assert_eq!(
        app.create_ticket(explicit).await["group_id"],
        app.accounts_group
    );

    // A Chinese mail goes to payments by the language-and-channel rule.
    let raw = "From: mei@example.com\r\nTo: support@xdesk.test\r\nSubject: =?UTF-8?B?5omL57ut6LS5?=\r\nMessage-ID: <r1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n请问现在的交易手续费等级怎么算？\r\n";
    let (status, v) = app.post_mail(raw.as_bytes()).await;
    assert!(status.is_success(), "{v}");
    let mailed = app.ticket_on("email").await;
    assert_eq!(mailed["group_id"], app.payments_group, "{mailed}");

    // Deleted rules stop routing.
    let id = rules[0]["id"].as_i64().unwrap();
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/routing-rules/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t = app
        .create_ticket(ticket(
            "Hacked",
            "Someone logged into my account and withdrew all my BTC, it was not me!",
            json!({"email": "d@example.com"}),
        ))
        .await;
    assert_eq!(t["group_id"], Value::Null, "{t}");
    app.stop().await;
});
