//! Assignment over real HTTP: agents set their status, admins a group's strategy and each
//! agent's languages and capacity; new tickets go round-robin or to the least loaded online
//! agent who speaks their language and has room, the most urgent waiting ticket first when
//! room frees; an offline agent's tickets go back to the queue after the group's delay; the
//! team's status is visible to supervisors, not to agents.

use crate::backend_test;
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.http
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn status(app: &TestApp, token: &str, agent: i64, status: &str) {
    let r = put(
        app,
        token,
        &format!("/api/v1/agents/{agent}/status"),
        json!({"status": status}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

async fn routing(app: &TestApp, admin: &str, agent: i64, languages: &str, capacity: &str) {
    let r = put(
        app,
        admin,
        &format!("/api/v1/agents/{agent}/routing"),
        json!({"languages": languages, "capacity": capacity}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// A second agent in the payments group, `second@x.test`; their id.
async fn second_agent(app: &TestApp, admin: &str) -> i64 {
    let r = app
        .post(
            admin,
            "/api/v1/agents",
            json!({"email": "second@x.test", "display_name": "Second", "role": "agent",
                   "password": PASSWORD, "group_ids": [app.payments_group]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

fn ticket(app: &TestApp, subject: &str, language: &str, priority: &str) -> Value {
    json!({
        "subject": subject,
        "body": "Where can I see my trading history?",
        "customer": {"email": "queue@example.com"},
        "group_id": app.payments_group,
        "language": language,
        "priority": priority,
    })
}

async fn assignee(app: &TestApp, id: &Value) -> Value {
    app.get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await["assignee_id"]
        .clone()
}

backend_test!(groups_hand_tickets_to_online_agents, |app| {
    let admin = app.admin_token().await;
    let services = app.running.as_ref().unwrap().services.clone();
    let a = app.agent_id;
    let b = second_agent(&app, &admin).await;
    let b_token = app.login("second@x.test").await;

    // Manual (the default): nobody is assigned.
    let t = app
        .create_ticket(ticket(&app, "Manual", "en", "normal"))
        .await;
    assert_eq!(t["assignee_id"], Value::Null);
    // Only admins set a strategy, and only a known one.
    let path = format!("/api/v1/groups/{}/assignment", app.payments_group);
    let r = put(
        &app,
        &app.supervisor_token,
        &path,
        json!({"strategy": "round_robin"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = put(&app, &admin, &path, json!({"strategy": "lottery"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(
        &app,
        &admin,
        &path,
        json!({"strategy": "round_robin", "return_after_minutes": 5}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Nobody online yet: the group's tickets wait.
    let waiting = app
        .create_ticket(ticket(&app, "Waiting", "en", "normal"))
        .await;
    assert_eq!(waiting["assignee_id"], Value::Null);

    // An agent sets only their own status; going online takes the oldest waiting ticket.
    let r = put(
        &app,
        &app.agent_token,
        &format!("/api/v1/agents/{b}/status"),
        json!({"status": "online"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = put(
        &app,
        &app.agent_token,
        &format!("/api/v1/agents/{a}/status"),
        json!({"status": "busy"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A supervisor of another group may not either.
    let r = put(
        &app,
        &app.supervisor_token,
        &format!("/api/v1/agents/{a}/status"),
        json!({"status": "online"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    status(&app, &app.agent_token, a, "online").await;
    assert_eq!(
        assignee(&app, &t["id"]).await,
        a,
        "the manual-era ticket waited too"
    );
    assert_eq!(assignee(&app, &waiting["id"]).await, a);
    status(&app, &b_token, b, "online").await;

    // Round-robin: the one whose turn is oldest; B never had one.
    let mut order = Vec::new();
    for n in 0..4 {
        let t = app
            .create_ticket(ticket(&app, &format!("RR {n}"), "en", "normal"))
            .await;
        assert_eq!(t["state"], "open", "an assigned ticket is open: {t}");
        order.push(t["assignee_id"].as_i64().unwrap());
    }
    assert_eq!(order, vec![b, a, b, a]);
    let events = app.verified_events(t["id"].as_i64().unwrap()).await;
    let auto = events
        .iter()
        .find(|e| e["kind"] == "auto_assigned")
        .expect("auto_assigned event");
    assert_eq!(auto["data"]["strategy"], "round_robin");
    assert_eq!(auto["data"]["agent_id"], a);

    // Languages: a Chinese ticket only to whoever answers Chinese.
    routing(&app, &admin, a, "en", "").await;
    routing(&app, &admin, b, "zh en", "").await;
    for _ in 0..2 {
        let t = app
            .create_ticket(ticket(&app, "中文", "zh-Hans", "normal"))
            .await;
        assert_eq!(t["assignee_id"], b, "{t}");
    }
    // Bad settings are refused with the field named.
    let r = put(
        &app,
        &admin,
        &format!("/api/v1/agents/{a}/routing"),
        json!({"capacity": "fax=3"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_capacity"
    );

    // Least-loaded: A holds 4 open tickets, B 4; solve two of B's and B is next.
    put(
        &app,
        &admin,
        &path,
        json!({"strategy": "least_loaded", "return_after_minutes": 5}),
    )
    .await;
    let team = app.get_json(&app.supervisor_token, "/api/v1/team").await;
    let load = |who: i64| {
        team.as_array()
            .unwrap()
            .iter()
            .find(|m| m["agent"]["id"] == who)
            .unwrap()["load"]["api"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((load(a), load(b)), (4, 4), "{team}");
    let b_tickets = app
        .get_json(
            &app.api_key,
            &format!("/api/v1/tickets?assignee={b}&state=open&limit=50"),
        )
        .await;
    for t in b_tickets["tickets"].as_array().unwrap().iter().take(2) {
        app.set_state(t["id"].as_i64().unwrap(), "solved").await;
    }
    let t = app.create_ticket(ticket(&app, "LL", "en", "normal")).await;
    assert_eq!(t["assignee_id"], b);
    let events = app.verified_events(t["id"].as_i64().unwrap()).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "auto_assigned" && e["data"]["strategy"] == "least_loaded")
    );

    // Capacity: both full on this channel; new tickets wait, the urgent one is served first
    // when room frees.
    routing(&app, &admin, a, "en", "api=4").await;
    routing(&app, &admin, b, "zh en", "api=3").await;
    let normal = app
        .create_ticket(ticket(&app, "Normal wait", "en", "normal"))
        .await;
    let urgent = app
        .create_ticket(ticket(&app, "Urgent wait", "en", "urgent"))
        .await;
    assert_eq!(normal["assignee_id"], Value::Null, "{normal}");
    assert_eq!(urgent["assignee_id"], Value::Null, "{urgent}");
    let a_tickets = app
        .get_json(
            &app.api_key,
            &format!("/api/v1/tickets?assignee={a}&state=open&limit=50"),
        )
        .await;
    app.set_state(a_tickets["tickets"][0]["id"].as_i64().unwrap(), "solved")
        .await;
    services.run_assignment().await.unwrap();
    assert_eq!(assignee(&app, &urgent["id"]).await, a, "urgent first");
    assert_eq!(assignee(&app, &normal["id"]).await, Value::Null);

    // The team page's data: supervisors see statuses and loads, agents do not.
    let r = app.get(&app.agent_token, "/api/v1/team").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let team = app.get_json(&app.supervisor_token, "/api/v1/team").await;
    let row = team
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["agent"]["id"] == a)
        .unwrap();
    assert_eq!(row["agent"]["status"], "online");
    assert_eq!(row["agent"]["capacity"], "api=4");

    // A goes offline: their open tickets stay for the group's 5 minutes, then go back to the
    // queue and on to B (room made first).
    routing(&app, &admin, b, "zh en", "").await;
    status(&app, &app.agent_token, a, "offline").await;
    services.run_assignment().await.unwrap();
    assert_eq!(
        assignee(&app, &urgent["id"]).await,
        a,
        "not before the delay"
    );
    services.advance_clock(Duration::minutes(6));
    services.run_assignment().await.unwrap();
    assert_eq!(assignee(&app, &urgent["id"]).await, b);
    let events = app.verified_events(urgent["id"].as_i64().unwrap()).await;
    let back = events
        .iter()
        .find(|e| e["kind"] == "returned_to_queue")
        .expect("returned event");
    assert_eq!(back["data"]["agent_id"], a);
    let left = app
        .get_json(
            &app.api_key,
            &format!("/api/v1/tickets?assignee={a}&state=open&limit=50"),
        )
        .await;
    assert_eq!(left["tickets"].as_array().unwrap().len(), 0, "{left}");
    app.stop().await;
});

backend_test!(a_broken_promise_moves_the_ticket_to_another_agent, |app| {
    let admin = app.admin_token().await;
    let services = app.running.as_ref().unwrap().services.clone();
    let a = app.agent_id;
    let b = second_agent(&app, &admin).await;
    let r = app
        .post(
            &admin,
            "/api/v1/sla/policies",
            json!({"name": "Fast", "first_response_minutes": 30,
                   "next_response_minutes": 60, "resolution_minutes": 600}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let path = format!("/api/v1/groups/{}/assignment", app.payments_group);
    let r = put(
        &app,
        &admin,
        &path,
        json!({"strategy": "round_robin", "reassign_on_breach": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let groups = app.get_json(&admin, "/api/v1/groups").await;
    assert!(
        groups.to_string().contains("\"reassign_on_breach\":true"),
        "{groups}"
    );
    // Only A is online: A gets the ticket.
    status(&app, &app.agent_token, a, "online").await;
    let t = app
        .create_ticket(ticket(&app, "Slow", "en", "normal"))
        .await;
    assert_eq!(t["assignee_id"], a);
    let id = t["id"].as_i64().unwrap();
    // B comes online; the first response is missed.
    let b_token = app.login("second@x.test").await;
    status(&app, &b_token, b, "online").await;
    services.advance_clock(Duration::minutes(31));
    for _ in 0..50 {
        services.run_sla_timers(100).await.unwrap();
        if assignee(&app, &json!(id)).await == b {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        assignee(&app, &json!(id)).await,
        b,
        "moved to the other agent"
    );
    let events = app.verified_events(id).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let breach = kinds
        .iter()
        .position(|k| *k == "sla_breached")
        .expect("breach");
    let moved = kinds.iter().rposition(|k| *k == "auto_assigned").unwrap();
    assert!(moved > breach, "{kinds:?}");
    app.stop().await;
});

// Capacity holds when assignments race (two nodes sharing PostgreSQL): the load is counted in
// the assigning transaction with the agent locked, so of eight tickets given at once to an
// agent with room for three, exactly three land.
backend_test!(capacity_holds_when_assignments_race, |app| {
    let store = app.running.as_ref().unwrap().services.store.clone();
    let me = app.get_json(&app.agent_token, "/api/v1/agents/me").await;
    let agent = me["id"].as_i64().unwrap();
    let mut tickets = Vec::new();
    for n in 0..8 {
        let mut b = ticket_body(&app, &format!("Race {n}"));
        b["customer"] = json!({"email": format!("race{n}@example.com")});
        b["assignee_id"] = json!(null);
        let t = app.create_ticket(b).await;
        tickets.push(
            store
                .ticket(t["id"].as_i64().unwrap())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let channel = tickets[0].channel.clone();
    let runs: Vec<_> = tickets
        .iter()
        .map(|t| {
            let store = store.clone();
            let cs = xdesk_store::ChangeSet::system(
                t.id,
                t.version,
                xdesk_store::TicketPatch {
                    assignee_id: Some(Some(agent)),
                    ..Default::default()
                },
                Vec::new(),
            );
            let channel = channel.clone();
            tokio::spawn(async move {
                store
                    .apply_within_capacity(&cs, agent, &channel, Some(3))
                    .await
            })
        })
        .collect();
    let mut landed = 0;
    for r in runs {
        match r.await.unwrap() {
            Ok(Some(_)) => landed += 1,
            Ok(None) => {}
            // SQLite's single writer may be busy for a moment: that one did not land.
            Err(e) if e.is_transient() => {}
            Err(e) => panic!("{e}"),
        }
    }
    let held = store
        .open_load(&[agent])
        .await
        .unwrap()
        .iter()
        .filter(|l| l.channel == channel)
        .map(|l| l.open)
        .sum::<i64>();
    assert_eq!(held, 3, "the agent holds {held}");
    assert_eq!(landed, 3);
    app.stop().await;
});
