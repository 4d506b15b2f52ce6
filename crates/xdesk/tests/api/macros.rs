//! Macros over real HTTP: admins write canned replies in English and Chinese with actions,
//! placeholders are checked when saved and filled from the ticket, agents apply them from the
//! API or the console, and each use is counted.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_test!(macros_fill_reply_act_and_count, |app| {
    let admin = app.admin_token().await;
    let good = json!({
        "name": "Deposit found",
        "body_en": "Hi {{ customer_name }}, we found your {{ asset }} deposit {{ tx_hash }} ({{ ticket_number }}).",
        "body_zh": "{{ customer_name }} 您好，您的 {{ asset }} 充值（{{ tx_hash }}）已找到，工单 {{ ticket_number }}。",
        "set_state": "pending_customer",
        "add_tags": ["deposit-found"],
    });
    // Refused: a typo in a placeholder, an unknown state, and anyone below supervisor.
    let mut typo = good.clone();
    typo["body_en"] = json!("Hi {{ customer_nmae }}");
    let mut bad_state = good.clone();
    bad_state["set_state"] = json!("sleeping");
    for (body, code) in [(typo, "unknown_placeholder"), (bad_state, "invalid_state")] {
        let r = app.post(&admin, "/api/v1/macros", body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    let r = app
        .post(&app.agent_token, "/api/v1/macros", good.clone())
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.post(&admin, "/api/v1/macros", good).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let m = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // A Chinese ticket gets the Chinese text, filled from the ticket.
    let t = app.create_ticket(ticket_body(&app, "充值未到账")).await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{id}/macros/{m}");
    let preview = app.get_json(&app.agent_token, &path).await;
    let text = preview["body"].as_str().unwrap();
    assert!(
        text.starts_with("Alice 王 您好，您的 USDT 充值（0x88df"),
        "{text}"
    );
    assert!(text.contains(t["number"].as_str().unwrap()), "{text}");
    // Applied: the reply goes out, the actions apply, the use counts.
    let r = app.post(&app.agent_token, &path, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["state"], "pending_customer");
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("deposit-found"))
    );
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let last = detail["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["author_kind"].as_str(), last["body"].as_str()),
        (Some("agent"), Some(text))
    );
    let list = app.get_json(&app.agent_token, "/api/v1/macros").await;
    assert_eq!(list[0]["usage_count"], 1, "{list}");

    // From the console's ticket page.
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{id}")).await;
    assert!(page.body.contains("Deposit found (1)"), "{}", page.body);
    let csrf = web.csrf();
    let r = web
        .post(
            &format!("/console/tickets/{id}/macro"),
            &[("csrf", csrf.as_str()), ("macro", &m.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = web
        .post(
            &format!("/console/tickets/{id}/macro"),
            &[("csrf", "forged"), ("macro", &m.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let list = app.get_json(&app.agent_token, "/api/v1/macros").await;
    assert_eq!(list[0]["usage_count"], 2);
    app.stop().await;
});
