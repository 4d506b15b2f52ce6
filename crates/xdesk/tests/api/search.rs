//! Ticket search over real HTTP: the index follows changes as they happen, finds a ticket by a
//! transaction hash (any case), the customer's email or a word of a later reply, and never
//! returns a ticket the agent may not open.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn search(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<i64> {
    let r = app
        .http
        .get(app.url("/api/v1/tickets/search"))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let hits: Vec<Value> = r.json().await.unwrap();
    hits.iter()
        .map(|h| h["ticket"]["id"].as_i64().unwrap())
        .collect()
}

backend_test!(agents_find_tickets_by_hash_customer_and_words, |app| {
    let t = app
        .create_ticket(ticket_body(&app, "USDT withdrawal missing"))
        .await;
    let id = t["id"].as_i64().unwrap();
    let tx = t["crypto"]["tx_hash"].as_str().unwrap().to_uppercase();
    let mut other = ticket_body(&app, "Locked out of my account");
    other["group_id"] = json!(app.accounts_group);
    other["customer"] = json!({"email": "bob@example.com"});
    let locked = app.create_ticket(other).await["id"].as_i64().unwrap();

    let agent = app.agent_token.clone();
    eventually("the index to take the new tickets", || {
        let (app, agent, tx) = (&app, agent.clone(), tx.clone());
        async move { search(app, &agent, &[("q", &tx)]).await == vec![id] }
    })
    .await;
    assert_eq!(
        search(&app, &agent, &[("q", "alice@example.com")]).await,
        vec![id]
    );
    assert_eq!(search(&app, &agent, &[("q", "提币")]).await, vec![id]);
    // The accounts agent never sees the payments ticket, even by its hash (their own ticket
    // carries the same hash).
    assert_eq!(
        search(&app, &app.other_agent_token, &[("q", &tx)]).await,
        vec![locked]
    );
    assert_eq!(
        search(&app, &app.other_agent_token, &[("q", "bob@example.com")]).await,
        vec![locked]
    );
    // A later reply is found as soon as the index follows it.
    let admin = app.admin_token().await;
    let r = app
        .post(
            &admin,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "Refund via the zebracorn procedure."}),
        )
        .await;
    assert!(r.status().is_success());
    eventually("the reply to be searchable", || {
        let (app, agent) = (&app, agent.clone());
        async move { search(app, &agent, &[("q", "zebracorn")]).await == vec![id] }
    })
    .await;
    // Filters.
    assert!(
        search(&app, &admin, &[("q", "zebracorn"), ("state", "solved")])
            .await
            .is_empty()
    );
    assert_eq!(
        search(&app, &admin, &[("q", "zebracorn"), ("state", "open,new")]).await,
        vec![id]
    );
    let r = app
        .http
        .get(app.url("/api/v1/tickets/search"))
        .query(&[("q", "x"), ("nonsense", "1")])
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // `xdesk reindex` rebuilds both indexes from the database once the server is stopped.
    let config = app.config.clone();
    assert!(
        xdesk::reindex(&config).await.is_err(),
        "refused while the server runs"
    );
    // Stopped, with its data directory kept (stopping the test app would delete it).
    let mut app = app;
    let xdesk::Running {
        shutdown,
        task,
        services,
        ..
    } = app.running.take().unwrap();
    let _ = shutdown.send(());
    let _ = task.await;
    let xdesk_service::Services {
        store,
        kb_index,
        ticket_index,
        ..
    } = services;
    drop((kb_index, ticket_index));
    store.close().await.ok();

    let mut rebuilt = None;
    for _ in 0..50 {
        match xdesk::reindex(&config).await {
            Ok(n) => {
                rebuilt = Some(n);
                break;
            }
            // The stopped server's last tasks may still hold the index for a moment.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert_eq!(rebuilt.map(|(_, tickets)| tickets), Some(2));

    // While this node is down, another (its own data directory) takes a ticket. Restarted,
    // this node's index resumes from the feed position it kept and catches up.
    let other_dir = tempfile::tempdir().unwrap();
    let other = xdesk::start(&xdesk::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: other_dir.path().to_owned(),
        ..config.clone()
    })
    .await
    .unwrap();
    let r = app
        .http
        .post(format!("http://{}/api/v1/tickets", other.addr))
        .bearer_auth(&app.api_key)
        .json(&ticket_body(&app, "Quokka deposit while node one was down"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let quokka = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let _ = other.shutdown.send(());
    let _ = other.task.await;
    let restarted = xdesk::start(&xdesk::Config {
        listen: "127.0.0.1:0".into(),
        ..config.clone()
    })
    .await
    .unwrap();
    let kept = restarted
        .services
        .ticket_index
        .as_ref()
        .expect("an index on disk")
        .read()
        .unwrap()
        .position();
    assert!(kept > 0, "the index starts from its kept position");
    let mut found = Vec::new();
    for _ in 0..100 {
        let r = app
            .http
            .get(format!("http://{}/api/v1/tickets/search", restarted.addr))
            .query(&[("q", "quokka")])
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap();
        let hits: Vec<Value> = r.json().await.unwrap();
        found = hits
            .iter()
            .map(|h| h["ticket"]["id"].as_i64().unwrap())
            .collect();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, vec![quokka]);
    let _ = restarted.shutdown.send(());
    let _ = restarted.task.await;
    drop(app);
});
