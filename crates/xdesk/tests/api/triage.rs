//! Triage on arrival over real HTTP: intent and language on every new ticket (API, email,
//! chat), money at risk made urgent, and agents' corrections kept for retraining.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ticket(app: &TestApp, subject: &str, body: &str, crypto: Value) -> Value {
    json!({
        "subject": subject,
        "body": body,
        "customer": {"email": "mei@example.com"},
        "group_id": app.payments_group,
        "crypto": crypto,
    })
}

async fn triaged_event(app: &TestApp, id: i64) -> Value {
    let events = app.verified_events(id).await;
    events
        .iter()
        .find(|e| e["kind"] == "triaged")
        .cloned()
        .unwrap_or_else(|| panic!("no triaged event: {events:?}"))
}

backend_test!(new_tickets_are_triaged_and_money_at_risk_is_urgent, |app| {
    // A stolen account: urgent whatever the amount, in the customer's language.
    let t = app
        .create_ticket(ticket(
            &app,
            "账号被盗",
            "有人登录了我的账号，把我的USDT全部提走了，不是我操作的！",
            json!({}),
        ))
        .await;
    assert_eq!(t["intent"], "account_compromised", "{t}");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["language"], "zh");
    assert!(
        t["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("money-at-risk"))
    );
    let e = triaged_event(&app, t["id"].as_i64().unwrap()).await;
    assert_eq!(e["data"]["urgent_reason"], "account_compromised", "{e}");
    assert_eq!(e["data"]["language"], "zh");

    // Missing funds: urgent from the configured amount on (USDT 10,000 by default).
    let deposit = |amount: &str| {
        ticket(
            &app,
            "Deposit not credited",
            "My USDT deposit has 30 confirmations but my balance did not change.",
            json!({"network": "tron", "asset": "USDT", "amount": amount}),
        )
    };
    let small = app.create_ticket(deposit("50")).await;
    assert_eq!(
        (small["intent"].as_str(), small["priority"].as_str()),
        (Some("deposit_missing"), Some("normal"))
    );
    assert_eq!(small["language"], "en");
    let big = app.create_ticket(deposit("25000")).await;
    assert_eq!(big["priority"], "urgent");
    let e = triaged_event(&app, big["id"].as_i64().unwrap()).await;
    assert_eq!(e["data"]["urgent_reason"], "funds_missing_above_limit");
    assert!(e["data"]["confidence_pct"].as_u64().unwrap() > 0);

    // The language of each customer message is kept with it.
    for (ticket, lang) in [(&small, "en"), (&t, "zh")] {
        let id = ticket["id"].as_i64().unwrap();
        let detail = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(detail["messages"][0]["language"], lang, "{detail}");
    }

    // Email is triaged too.
    let raw = b"From: Ken <ken@example.com>\r\nTo: support@xdesk.test\r\nSubject: lost my phone\r\nMessage-ID: <t1@example.com>\r\n\r\nI lost my phone with Google Authenticator, please reset my 2FA so I can log in.\r\n";
    let (status, v) = app.post_mail(raw).await;
    assert!(status.is_success(), "{v}");
    let mailed = app.ticket_on("email").await;
    assert_eq!(mailed["intent"], "two_factor_reset", "{mailed}");
    app.stop().await;
});

backend_test!(
    agents_correct_the_intent_and_it_is_kept_for_retraining,
    |app| {
        let t = app
            .create_ticket(ticket(
                &app,
                "Question",
                "How long does the verification of my documents take?",
                json!({}),
            ))
            .await;
        let id = t["id"].as_i64().unwrap();
        let path = format!("/api/v1/tickets/{id}");
        let r = app
            .patch(
                &app.agent_token,
                &path,
                json!({"version": t["version"], "intent": "not_a_thing"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_intent", "{v}");
        let wanted = if t["intent"] == "kyc" { "fees" } else { "kyc" };
        let r = app
            .patch(
                &app.agent_token,
                &path,
                json!({"version": t["version"], "intent": wanted}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["intent"], wanted);
        let services = &app.running.as_ref().unwrap().services;
        let corrections = services.store.triage_corrections().await.unwrap();
        assert_eq!(corrections.len(), 1);
        assert_eq!(corrections[0].2, wanted);
        assert!(corrections[0].1.contains("verification of my documents"));
        assert_eq!(services.retrain_triage().await.unwrap(), 1);

        // In the console: the ticket's side panel shows the intent and corrects it.
        let mut web = crate::web::Web::new(&app);
        web.sign_in("agent@x.test", None).await;
        let page = web.get(&format!("/console/tickets/{id}")).await;
        assert!(
            page.body
                .contains(&format!("<option value=\"{wanted}\" selected>")),
            "{}",
            page.body
        );
        let csrf = web.csrf();
        let r = web
            .post(
                &format!("/console/tickets/{id}/fields"),
                &[
                    ("csrf", &csrf),
                    ("version", &v["version"].to_string()),
                    ("intent", "scam_report"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let after = app.get_json(&app.agent_token, &path).await;
        assert_eq!(after["intent"], "scam_report");
        assert_eq!(services.store.triage_corrections().await.unwrap().len(), 2);
        app.stop().await;
    }
);
