//! The console's live socket over a real WebSocket: queues hear of changes to tickets they may
//! show (and nothing of others), a ticket page hears new messages and which other agents have
//! the ticket open or are typing, and the socket refuses other sites and other groups.

use crate::support::*;
use crate::{backend_test, backend_test_db};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn open(
    app: &TestApp,
    token: &str,
    query: &str,
    origin: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/console/live{query}", app.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("cookie", format!("xdesk_session={token}").parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|s| s.0)
}

/// The next frame, or None when nothing comes within `secs`.
pub(crate) async fn next(s: &mut Socket, secs: u64) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let frame = tokio::time::timeout_at(deadline, s.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(t) = frame {
            return Some(serde_json::from_str(&t).unwrap());
        }
    }
}

/// The next frame of `kind`, skipping others.
pub(crate) async fn expect(s: &mut Socket, kind: &str) -> Value {
    for _ in 0..20 {
        let v = next(s, 10)
            .await
            .unwrap_or_else(|| panic!("no `{kind}` frame"));
        if v["type"] == kind {
            return v;
        }
    }
    panic!("no `{kind}` frame among the next 20");
}

backend_test!(
    the_console_updates_live_and_shows_who_else_is_on_a_ticket,
    |app| {
        let origin = app.base.clone();
        let mut payments_queue = open(&app, &app.agent_token, "", Some(&origin))
            .await
            .unwrap();
        let mut accounts_queue = open(&app, &app.other_agent_token, "", None).await.unwrap();

        // A new payments ticket reaches the payments agent's queue only.
        let t = app
            .create_ticket(ticket_body(&app, "Withdrawal stuck"))
            .await;
        let id = t["id"].as_i64().unwrap();
        let v = expect(&mut payments_queue, "changed").await;
        assert_eq!(v["ticket_id"], id);
        let mut accounts = ticket_body(&app, "Locked out");
        accounts["group_id"] = json!(app.accounts_group);
        let other = app.create_ticket(accounts).await["id"].as_i64().unwrap();
        let v = expect(&mut accounts_queue, "changed").await;
        assert_eq!(
            v["ticket_id"], other,
            "the payments ticket never reached accounts"
        );

        // Two agents on one ticket see each other, and what the other does.
        let admin = app.admin_token().await;
        let query = format!("?ticket={id}");
        let mut agent = open(&app, &app.agent_token, &query, Some(&origin))
            .await
            .unwrap();
        let mut boss = open(&app, &admin, &query, Some(&origin)).await.unwrap();
        let seen = expect(&mut agent, "presence").await;
        assert_eq!(seen["doing"], "viewing");
        assert_eq!(seen["name"], "admin");
        agent
            .send(Message::Text(json!({"type": "typing"}).to_string().into()))
            .await
            .unwrap();
        let typing = loop {
            let p = expect(&mut boss, "presence").await;
            if p["doing"] == "typing" {
                break p;
            }
        };
        assert_eq!(typing["agent_id"], app.agent_id);
        assert_eq!(typing["name"], "agent");

        // A reply shows on both pages and in the queue.
        let r = app
            .post(
                &admin,
                &format!("/api/v1/tickets/{id}/replies"),
                json!({"body": "On it."}),
            )
            .await;
        assert!(r.status().is_success());
        assert_eq!(expect(&mut agent, "changed").await["ticket_id"], id);
        assert_eq!(expect(&mut boss, "changed").await["ticket_id"], id);
        assert_eq!(
            expect(&mut payments_queue, "changed").await["ticket_id"],
            id
        );
        // A field change too.
        let version =
            app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await["version"].clone();
        let r = app
            .patch(
                &admin,
                &format!("/api/v1/tickets/{id}"),
                json!({"version": version, "state": "pending_customer"}),
            )
            .await;
        assert!(r.status().is_success());
        assert_eq!(expect(&mut agent, "changed").await["ticket_id"], id);

        // Closing the page says so.
        agent.close(None).await.unwrap();
        loop {
            let p = expect(&mut boss, "presence").await;
            if p["doing"] == "left" {
                assert_eq!(p["agent_id"], app.agent_id);
                break;
            }
        }

        // Another site's page, another group's ticket, or no session: no socket.
        assert!(
            open(&app, &app.agent_token, "", Some("https://evil.example"))
                .await
                .is_err()
        );
        assert!(
            open(&app, &app.other_agent_token, &query, None)
                .await
                .is_err()
        );
        assert!(open(&app, "xds_not-a-session", "", None).await.is_err());
        // Nothing of the accounts agent's reach leaked in between.
        while let Some(v) = next(&mut accounts_queue, 1).await {
            assert_ne!(v["ticket_id"], id, "{v}");
        }
        app.stop().await;
    }
);

async fn customer(app: &TestApp) -> Socket {
    let url = format!(
        "{}/api/v1/chat/customer",
        app.base.replacen("http", "ws", 1)
    );
    tokio_tungstenite::connect_async(url.into_client_request().unwrap())
        .await
        .unwrap()
        .0
}

async fn say(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into())).await.unwrap();
}

backend_test_db!(an_agent_takes_a_waiting_chat_from_the_console, |db| {
    // The first group made is Payments: chats go there.
    let Some(app) = spawn_app_with(db, |c| c.chat.group_id = Some(1)).await else {
        return;
    };
    assert_eq!(app.payments_group, 1);
    let mut visitor = customer(&app).await;
    expect(&mut visitor, "welcome").await;
    say(
        &mut visitor,
        json!({"type": "message", "body": "My BTC withdrawal is stuck"}),
    )
    .await;
    let id = expect(&mut visitor, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();

    // It waits in the chats view.
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let r = web.get("/console?view=chats").await;
    assert!(r.body.contains("data-view=\"chats\">1<"), "{}", r.body);
    assert!(r.body.contains(&format!("/console/tickets/{id}")));
    let page = web.get(&format!("/console/tickets/{id}")).await;
    assert!(page.body.contains("Accept chat"));

    // The agent sees the customer typing and reading.
    let origin = app.base.clone();
    let mut agent = open(
        &app,
        &app.agent_token,
        &format!("?ticket={id}"),
        Some(&origin),
    )
    .await
    .unwrap();
    say(&mut visitor, json!({"type": "typing"})).await;
    expect(&mut agent, "customer_typing").await;
    say(&mut visitor, json!({"type": "read", "seq": 1})).await;
    assert_eq!(expect(&mut agent, "customer_read").await["seq"], 1);

    // Accepting: assigned, open, and the customer sees who joined.
    let csrf = web.csrf();
    let r = web
        .post(&format!("/console/tickets/{id}/accept"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
    let joined = expect(&mut visitor, "agent_joined").await;
    assert_eq!(joined["name"], "agent");
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(t["assignee_id"], app.agent_id);
    assert_eq!(t["state"], "open");
    assert!(
        !web.get("/console?view=chats")
            .await
            .body
            .contains("data-view=\"chats\">1<")
    );

    // The customer sees the agent typing and reading.
    say(&mut agent, json!({"type": "typing"})).await;
    let typing = expect(&mut visitor, "typing").await;
    assert_eq!(typing["who"]["kind"], "agent");
    say(&mut agent, json!({"type": "read", "seq": 1})).await;
    assert_eq!(expect(&mut visitor, "read").await["seq"], 1);

    // A second agent cannot take it too.
    let admin = app.admin_token().await;
    let mut boss = crate::web::Web::new(&app);
    boss.jar.insert("xdesk_session".into(), admin);
    boss.get("/console").await;
    let bc = boss.csrf();
    let r = boss
        .post(&format!("/console/tickets/{id}/accept"), &[("csrf", &bc)])
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CONFLICT);
    assert!(r.body.contains("already took this chat"));
    app.stop().await;
});

// A queue's `changed` message tells its agent what is news to them, for desktop
// notifications: a ticket someone else gave them, a customer's reply on one of theirs; never
// their own doing, never someone else's ticket.
backend_test!(a_queue_marks_what_is_news_to_its_agent, |app| {
    let origin = app.base.clone();
    let mut mine = open(&app, &app.agent_token, "", Some(&origin))
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let mut boss = open(&app, &admin, "", Some(&origin)).await.unwrap();
    let mut ids = Vec::new();
    for subject in ["Card payment failed", "Own pick", "Second one"] {
        let t = app.create_ticket(ticket_body(&app, subject)).await;
        ids.push((t["id"].as_i64().unwrap(), t["version"].clone()));
    }
    let assign = |token: String, (id, version): (i64, Value)| {
        let app = &app;
        async move { app.assign(&token, id, &version, app.agent_id).await }
    };
    // The next `changed` of ticket `id` that is news, failing on news of another ticket.
    async fn news_of(s: &mut Socket, id: i64) -> Value {
        loop {
            let v = expect(s, "changed").await;
            if v.get("notify").is_some() {
                assert_eq!(v["ticket_id"], id, "news of another ticket first: {v}");
                return v;
            }
        }
    }

    assign(admin.clone(), ids[0].clone()).await;
    let v = news_of(&mut mine, ids[0].0).await;
    assert_eq!(v["notify"], "assigned");
    assert_eq!(v["subject"], "Card payment failed");
    assert!(v["version"].as_i64().unwrap() > ids[0].1.as_i64().unwrap());

    // The agent's own pick is no news to them (news_of fails if it is); the next one is.
    assign(app.agent_token.clone(), ids[1].clone()).await;
    assign(admin.clone(), ids[2].clone()).await;
    let v = news_of(&mut mine, ids[2].0).await;
    assert_eq!(v["subject"], "Second one");

    // The customer writes on the first: news to its assignee.
    let customer = app
        .get_json(&admin, &format!("/api/v1/tickets/{}", ids[0].0))
        .await["customer_id"]
        .as_i64()
        .unwrap();
    let mut portal = app.portal_as(customer).await;
    portal.get(&format!("/portal/tickets/{}", ids[0].0)).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", portal.csrf())
        .text("body", "Any news?");
    let r = portal
        .post_multipart(&format!("/portal/tickets/{}/reply", ids[0].0), form)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
    let v = news_of(&mut mine, ids[0].0).await;
    assert_eq!(v["notify"], "customer_reply");
    assert_eq!(v["subject"], "Card payment failed");

    // The admin's queue heard every change, and none of it was news to the admin.
    for _ in 0..6 {
        let v = expect(&mut boss, "changed").await;
        assert!(v.get("notify").is_none(), "{v}");
    }
    app.stop().await;
});
