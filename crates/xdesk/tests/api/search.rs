//! Ticket search over real HTTP: the index follows changes as they happen, finds a ticket by a
//! transaction hash (any case), the customer's email or a word of a later reply, and never
//! returns a ticket the agent may not open.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The answer to a GET of `path` with `query`, which must succeed.
async fn get_ok(app: &TestApp, token: &str, path: &str, query: &[(&str, &str)]) -> Value {
    let r = app
        .http
        .get(app.url(path))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn ids(tickets: &Value, id: impl Fn(&Value) -> &Value) -> Vec<i64> {
    tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| id(t).as_i64().unwrap())
        .collect()
}

/// The tickets the search index finds.
async fn search(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Vec<i64> {
    let hits = get_ok(app, token, "/api/v1/tickets/search", query).await;
    ids(&hits, |h| &h["ticket"]["id"])
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

/// The tickets a plain list filter (`/api/v1/tickets?q=`, the console's path without the
/// index) finds for `q`.
async fn listed(app: &TestApp, token: &str, q: &str) -> Vec<i64> {
    let page = get_ok(app, token, "/api/v1/tickets", &[("q", q)]).await;
    ids(&page["tickets"], |t| &t["id"])
}

backend_test!(a_pasted_hash_or_address_prefix_finds_its_ticket, |app| {
    // An Ethereum case (hash stored lowercase with 0x, address checksummed) and a Tron case
    // (hash stored without 0x).
    let eth = app
        .create_ticket(ticket_body(&app, "Withdrawal not arrived"))
        .await;
    let eth_id = eth["id"].as_i64().unwrap();
    let mut tron = ticket_body(&app, "Deposit missing");
    tron["crypto"] = json!({
        "network": "tron",
        "asset": "USDT",
        "tx_hash": "A7D3C1E5B2F4A6C8E0D2F4B6A8C0E2D4F6B8A0C2E4D6F8B0A2C4E6D8F0B2A4C6",
        "to_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    });
    let tron_id = app.create_ticket(tron).await["id"].as_i64().unwrap();
    let hash = "88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b";
    let address = "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
    let agent = app.agent_token.clone();
    eventually("the index to take both tickets", || {
        let (app, agent) = (&app, agent.clone());
        async move { search(app, &agent, &[("q", "A7D3C1E5B2F4A6C8")]).await == vec![tron_id] }
    })
    .await;
    let finds_eth = [
        // Cut short, with or without 0x, in any case.
        format!("0x{}", &hash[..8]),
        format!("0x{}", &hash[..16]),
        hash[..8].to_owned(),
        hash[..16].to_uppercase(),
        hash.to_owned(),
        hash.to_uppercase(),
        format!("0X{}", hash.to_uppercase()),
        // The checksummed address typed in lower or upper case, whole or its start.
        format!("0x{address}"),
        address[..12].to_owned(),
        format!("0x{}", address[..10].to_uppercase()),
    ];
    for q in &finds_eth {
        assert_eq!(
            search(&app, &agent, &[("q", q)]).await,
            vec![eth_id],
            "index: {q}"
        );
        assert_eq!(listed(&app, &agent, q).await, vec![eth_id], "list: {q}");
    }
    // The Tron id is stored without 0x: pasted with one, it is found too.
    for q in ["0xa7d3c1e5b2f4a6c8", "a7d3c1e5", "tr7nhqjekq"] {
        assert_eq!(
            search(&app, &agent, &[("q", q)]).await,
            vec![tron_id],
            "index: {q}"
        );
        assert_eq!(listed(&app, &agent, q).await, vec![tron_id], "list: {q}");
    }
    // Fewer than 8 hex digits is not a hash prefix to the index; a prefix of no hash finds
    // nothing; and another group's agent never sees either ticket by its hash.
    assert!(search(&app, &agent, &[("q", "0x88df016")]).await.is_empty());
    assert!(
        search(&app, &agent, &[("q", "0x88df0165")])
            .await
            .is_empty()
    );
    assert!(listed(&app, &agent, "0x88df0165").await.is_empty());
    let other = app.other_agent_token.clone();
    assert!(search(&app, &other, &[("q", &hash[..12])]).await.is_empty());
    assert!(listed(&app, &other, &hash[..12]).await.is_empty());

    // The console searches the same ways.
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let r = web.get(&format!("/console?q={}", &hash[..10])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Withdrawal not arrived"), "{}", r.body);
    assert!(!r.body.contains("Deposit missing"));
    let r = web
        .get(&format!(
            "/console?q={}&priority=high",
            hash[..10].to_uppercase()
        ))
        .await;
    assert!(r.body.contains("Withdrawal not arrived"), "{}", r.body);
});
