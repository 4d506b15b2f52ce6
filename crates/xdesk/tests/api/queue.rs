//! What a waiting customer sees: their place in the queue and an estimated wait in the
//! portal and the chat widget, updated live, with the reason in plain words when the wait
//! moves a lot (urgent cases ahead, nobody online, agents back).

use crate::backend_test;
use crate::chat::{connect, expect, send};
use crate::support::*;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn put(app: &TestApp, token: &str, path: &str, body: Value) {
    let r = app
        .http
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap()
    );
}

fn waiting(app: &TestApp, who: &str, priority: &str) -> Value {
    json!({
        "subject": "Order history",
        "body": "Where can I see my trading history?",
        "customer": {"email": format!("{who}@example.com")},
        "group_id": app.payments_group,
        "priority": priority,
    })
}

/// Gives ticket `id` to agent `a` as the exchange's backend would, from its current version.
async fn assign(app: &TestApp, id: i64, a: i64) {
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    let r = app
        .patch(
            &app.api_key,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": t["version"], "assignee_id": a}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The `?was=` the page's poll carries, and the queue box's text.
fn queue_box(body: &str) -> (String, String) {
    let was = body
        .split("?was=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let text = body
        .split("id=\"queue\"")
        .nth(1)
        .and_then(|r| r.split("</div>").next())
        .unwrap_or_default()
        .to_owned();
    (was, text)
}

backend_test!(the_portal_shows_place_wait_and_why_it_moved, |app| {
    let admin = app.admin_token().await;
    let a = app.agent_id;
    // Round-robin, but the agent's desk is full: tickets wait while an agent is online.
    put(
        &app,
        &admin,
        &format!("/api/v1/groups/{}/assignment", app.payments_group),
        json!({"strategy": "round_robin"}),
    )
    .await;
    put(
        &app,
        &admin,
        &format!("/api/v1/agents/{a}/routing"),
        json!({"capacity": "api=0"}),
    )
    .await;
    put(
        &app,
        &app.agent_token,
        &format!("/api/v1/agents/{a}/status"),
        json!({"status": "online"}),
    )
    .await;
    app.create_ticket(waiting(&app, "first", "normal")).await;
    app.create_ticket(waiting(&app, "second", "normal")).await;
    let mine = app.create_ticket(waiting(&app, "mine", "normal")).await;
    assert_eq!(mine["assignee_id"], Value::Null);
    let id = mine["id"].as_i64().unwrap();
    let mut web = app.portal_as(mine["customer_id"].as_i64().unwrap()).await;
    let page = web.get(&format!("/portal/tickets/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let (was, text) = queue_box(&page.body);
    // One agent online, a quiet hour: 10 minutes a ticket, third in line.
    assert!(
        text.contains("You are number 3 in the queue; estimated wait about 30 minutes."),
        "{text}"
    );
    assert!(
        !text.contains("class=\"reason\""),
        "nothing moved yet: {text}"
    );
    assert_eq!(was, "3.30.1.0");

    // Three urgent cases arrive: the wait doubles, and the page says why.
    for n in 0..3 {
        app.create_ticket(waiting(&app, &format!("urgent{n}"), "urgent"))
            .await;
    }
    let page = web.get(&format!("/portal/tickets/{id}?was={was}")).await;
    let (still, text) = queue_box(&page.body);
    assert_eq!(
        still, was,
        "the poll keeps comparing with what was first shown"
    );
    assert!(text.contains("number 6"), "{text}");
    assert!(
        text.contains("funds are at risk were placed ahead of you"),
        "{text}"
    );

    // The agent goes offline: no time can be given, and the customer is told so.
    put(
        &app,
        &app.agent_token,
        &format!("/api/v1/agents/{a}/status"),
        json!({"status": "offline"}),
    )
    .await;
    let page = web.get(&format!("/portal/tickets/{id}?was={was}")).await;
    let (_, text) = queue_box(&page.body);
    assert!(text.contains("no agent is online right now"), "{text}");
    assert!(
        text.contains("No agent is online right now, so we cannot give a time"),
        "{text}"
    );

    // In Chinese for a Chinese page.
    let page = web.get("/ui/lang/zh").await;
    assert!(page.status.is_redirection() || page.status.is_success());
    let page = web.get(&format!("/portal/tickets/{id}")).await;
    let (_, text) = queue_box(&page.body);
    assert!(text.contains("您目前排在第 6 位"), "{text}");

    // An agent takes it: no queue box any more.
    assign(&app, id, a).await;
    let page = web.get(&format!("/portal/tickets/{id}")).await;
    assert!(!page.body.contains("id=\"queue\""), "assigned: no queue");
    app.stop().await;
});

/// The next `queue` frame, waiting up to 25 s (the socket refreshes every 10).
async fn next_queue(s: &mut crate::chat::Socket) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(25);
    loop {
        let frame = tokio::time::timeout_at(deadline, s.next())
            .await
            .expect("a queue frame")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "queue" {
                return v;
            }
        }
    }
}

backend_test!(the_chat_widget_is_told_its_place_live, |app| {
    let mut customer = connect(&app, "/api/v1/chat/customer?lang=en", None).await;
    expect(&mut customer, "welcome").await;
    send(
        &mut customer,
        json!({"type": "message", "body": "Hi, my deposit is not there yet"}),
    )
    .await;
    let ticket = expect(&mut customer, "ticket").await;
    let q = next_queue(&mut customer).await;
    assert_eq!(q["waiting"], true, "{q}");
    assert_eq!(q["position"], 1);
    assert_eq!(q["minutes"], Value::Null, "nobody online: {q}");
    assert!(
        q["text"]
            .as_str()
            .unwrap()
            .starts_with("You are number 1 in the queue"),
        "{q}"
    );

    // An agent comes online: a time now, and why it changed.
    let a = app.agent_id;
    put(
        &app,
        &app.agent_token,
        &format!("/api/v1/agents/{a}/status"),
        json!({"status": "online"}),
    )
    .await;
    let q = next_queue(&mut customer).await;
    assert_eq!(q["minutes"], 10, "{q}");
    assert_eq!(
        q["reason"],
        "More agents just came on duty, so the wait is shorter."
    );

    // The agent takes the chat: the widget stops showing a queue.
    let id = ticket["ticket"]["id"].as_i64().unwrap();
    assign(&app, id, a).await;
    let q = next_queue(&mut customer).await;
    assert_eq!(q["waiting"], false, "{q}");
    app.stop().await;
});
