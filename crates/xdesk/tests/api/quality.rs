//! Quality guards over real HTTP: an agent asking for the same thing again is warned while
//! writing and reported to supervisors; a ticket reopened a third time and a customer back with
//! the same problem within a week are flagged and escalated.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ticket(app: &TestApp, email: &str, body: &str) -> Value {
    json!({
        "subject": "Deposit",
        "body": body,
        "customer": {"email": email},
        "group_id": app.payments_group,
    })
}

async fn flags(app: &TestApp, id: i64) -> Vec<String> {
    app.verified_events(id)
        .await
        .iter()
        .filter(|e| e["kind"] == "quality_flag")
        .map(|e| e["data"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

backend_test!(quality_guards_flag_and_escalate, |app| {
    let admin = app.admin_token().await;
    let mut boss = crate::live::open(&app, &admin, "", None).await.unwrap();

    // The same request again: a warning while writing, a flag and an alert once sent.
    let t = app
        .create_ticket(ticket(
            &app,
            "a@example.com",
            "My USDT deposit has not arrived.",
        ))
        .await;
    let id = t["id"].as_i64().unwrap();
    let ask = "Please send us a screenshot of the withdrawal record and the TXID so we can check.";
    let again = "Could you please send a screenshot of your withdrawal record and the TXID so we can check it?";
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": ask}),
        )
        .await;
    assert!(r.status().is_success());
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    web.get(&format!("/console/tickets/{id}")).await;
    let csrf = web.csrf();
    let check = web
        .post(
            &format!("/console/tickets/{id}/reply-check"),
            &[("csrf", csrf.as_str()), ("body", again)],
        )
        .await;
    assert!(check.body.contains("data-repeats=\"2\""), "{}", check.body);
    let fresh = web
        .post(
            &format!("/console/tickets/{id}/reply-check"),
            &[
                ("csrf", csrf.as_str()),
                (
                    "body",
                    "Your deposit is credited now, thank you for waiting.",
                ),
            ],
        )
        .await;
    assert!(!fresh.body.contains("data-repeats"), "{}", fresh.body);
    assert!(flags(&app, id).await.is_empty());
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": again}),
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(flags(&app, id).await, ["repeated_request"]);
    let alert = crate::live::expect(&mut boss, "alert").await;
    assert_eq!(alert["kind"], "repeated_request");

    // The same problem again within a week: flagged, tagged and escalated.
    let first = app
        .create_ticket(ticket(
            &app,
            "b@example.com",
            "My USDT deposit has not been credited after 3 hours.",
        ))
        .await;
    let first_id = first["id"].as_i64().unwrap();
    assert!(flags(&app, first_id).await.is_empty());
    // While the first is open, a second is a possible duplicate, not a return.
    let open_dup = app
        .create_ticket(ticket(
            &app,
            "b@example.com",
            "Deposit not credited, USDT missing.",
        ))
        .await;
    assert!(
        flags(&app, open_dup["id"].as_i64().unwrap())
            .await
            .is_empty()
    );
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{first_id}"),
            json!({"version": first["version"], "state": "solved"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let second = app
        .create_ticket(ticket(
            &app,
            "b@example.com",
            "Deposit still not credited, another transfer missing too.",
        ))
        .await;
    let second_id = second["id"].as_i64().unwrap();
    assert_eq!(second["intent"], first["intent"]);
    let mut tries = 0;
    while flags(&app, second_id).await.is_empty() && tries < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        tries += 1;
    }
    assert_eq!(flags(&app, second_id).await, ["repeat_intent"]);
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{second_id}"))
        .await;
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("repeat-intent"))
    );
    assert_eq!(after["priority"], "high", "normal goes up a step");

    // Reopened a third time by the customer's own messages.
    let customer_id = t["customer_id"].as_i64().unwrap();
    let mut customer = app.portal_as(customer_id).await;
    customer.get(&format!("/portal/tickets/{id}")).await;
    for round in 1..=3 {
        app.set_state(id, "solved").await;
        let form = reqwest::multipart::Form::new()
            .text("csrf", customer.csrf())
            .text("body", format!("Still not there (round {round})."));
        let r = customer
            .post_multipart(&format!("/portal/tickets/{id}/reply"), form)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let expected: &[&str] = if round < 3 {
            &["repeated_request"]
        } else {
            &["repeated_request", "reopened"]
        };
        assert_eq!(flags(&app, id).await, expected, "round {round}");
    }
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("reopened"))
    );
    app.stop().await;
});
