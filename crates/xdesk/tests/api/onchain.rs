//! On-chain checks against a real local EVM node (ganache) with real transactions made in the
//! test: confirmations with the wait left, then confirmed; a transfer to another address; a
//! different amount; a failed transaction; an unknown hash. The diagnosis is written on the
//! ticket as an internal note; the console's button does the same.

use crate::backend_test_db;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Asks for the on-chain check of ticket `id` as the agent; the answer.
async fn chain_check(app: &TestApp, id: i64) -> Value {
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/chain-check"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

backend_test_db!(transactions_are_checked_on_chain, |db| {
    let Some((node, app)) = app_with_ganache(db).await else {
        return;
    };
    let accounts = node.accounts().await;
    let (sender, mine, other) = (&accounts[0], &accounts[1], &accounts[2]);
    // 1.5 ETH to the customer's deposit address.
    let hash = node
        .send(json!({"from": sender, "to": mine, "value": "0x14d1120d7b160000"}))
        .await;
    let ticket = |to: &str, amount: &str, tx: &str| {
        let mut b = ticket_body(&app, "Deposit not credited");
        b["body"] = json!("I deposited ETH an hour ago and it is not in my account.");
        b["crypto"] = json!({"network": "ethereum", "asset": "eth", "tx_hash": tx,
                              "to_address": to, "amount": amount});
        b
    };
    let t = app.create_ticket(ticket(mine, "1.5", &hash)).await;
    let id = t["id"].as_i64().unwrap();
    let check = |id: i64| chain_check(&app, id);
    let c = check(id).await;
    assert_eq!(c["findings"][0]["finding"], "confirming", "{c}");
    assert_eq!(c["findings"][0]["have"], 1);
    assert_eq!(c["findings"][0]["need"], 12);
    assert_eq!(
        c["text"],
        "Confirmed 1 of 12 required confirmations; expect credit in about 3 minutes."
    );
    // The diagnosis is on the ticket, for agents only.
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let note = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["body"].as_str().unwrap().starts_with("On-chain check of"))
        .cloned()
        .unwrap_or_else(|| panic!("no diagnosis note: {detail}"));
    assert_eq!(note["internal"], true);
    node.mine(11).await;
    let c = check(id).await;
    assert_eq!(
        c["findings"],
        json!([{"finding": "confirmed", "confirmations": 12}])
    );

    // Another address, another amount, an unknown hash.
    let c = check(
        app.create_ticket(ticket(other, "1.5", &hash)).await["id"]
            .as_i64()
            .unwrap(),
    )
    .await;
    assert_eq!(c["findings"][1]["finding"], "wrong_address", "{c}");
    assert!(c["text"].as_str().unwrap().contains("not yours"));
    let c = check(
        app.create_ticket(ticket(mine, "2", &hash)).await["id"]
            .as_i64()
            .unwrap(),
    )
    .await;
    assert_eq!(c["findings"][1]["finding"], "amount_differs", "{c}");
    let unknown = format!("0x{}", "ab".repeat(32));
    let c = check(
        app.create_ticket(ticket(mine, "1.5", &unknown)).await["id"]
            .as_i64()
            .unwrap(),
    )
    .await;
    assert_eq!(c["findings"], json!([{"finding": "not_found"}]));

    // A transaction that fails on chain: a contract whose code always reverts.
    let deploy = node
        .send(json!({"from": sender, "data": "0x6005600c60003960056000f360006000fd", "gas": "0x100000"}))
        .await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([deploy])).await;
    let contract = receipt["contractAddress"].as_str().unwrap().to_owned();
    let failing = node
        .send(json!({"from": sender, "to": contract, "gas": "0x30000"}))
        .await;
    let c = check(
        app.create_ticket(ticket(&contract, "0", &failing)).await["id"]
            .as_i64()
            .unwrap(),
    )
    .await;
    assert_eq!(c["findings"][0]["finding"], "failed", "{c}");

    // A token transfer: a contract that, when called, logs an ERC-20 `Transfer` of 1.5 tokens
    // from the caller to the customer's address (decimals unknown: 18).
    let runtime = format!(
        "7f{:064x}600052{}{}337f{}60206000a300",
        1_500_000_000_000_000_000u128,
        "73",
        mine.trim_start_matches("0x"),
        "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    );
    let n = runtime.len() / 2;
    let tx = node
        .send(json!({"from": sender, "data": format!("0x60{n:02x}600c60003960{n:02x}6000f3{runtime}"), "gas": "0x100000"}))
        .await;
    let token = node.rpc("eth_getTransactionReceipt", json!([tx])).await["contractAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    let paid = node
        .send(json!({"from": sender, "to": token, "gas": "0x30000"}))
        .await;
    let mut t = ticket(mine, "1.5", &paid);
    t["crypto"]["asset"] = json!("usdt");
    let c = check(app.create_ticket(t).await["id"].as_i64().unwrap()).await;
    assert_eq!(c["findings"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(c["findings"][0]["finding"], "confirming");
    let c = check(
        app.create_ticket(ticket(other, "1.5", &paid)).await["id"]
            .as_i64()
            .unwrap(),
    )
    .await;
    assert_eq!(c["findings"][1]["finding"], "wrong_address", "{c}");
    assert_eq!(c["findings"][1]["sent_to"], mine.to_lowercase());

    // The console's button writes the same note; without a node for the network: 409.
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{id}")).await.body;
    assert!(page.contains(&format!("/console/tickets/{id}/chain-check")));
    let csrf = web.csrf();
    let r = web
        .post(
            &format!("/console/tickets/{id}/chain-check"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(r.location(), format!("/console/tickets/{id}"));
    let mut tron = ticket(mine, "1.5", &hash);
    tron["crypto"] = json!({"network": "tron", "tx_hash": "a".repeat(64)});
    let tron = app.create_ticket(tron).await;
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{}/chain-check", tron["id"]),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    app.stop().await;
});

/// An Esplora-compatible API on loopback, answering as Blockstream's does for one confirmed
/// transaction (no bitcoind or electrs can be installed on this machine's package sources).
async fn esplora(txid: &'static str) -> String {
    use axum::http::header;
    use axum::response::IntoResponse;
    use axum::routing::get;
    let tx = json!({
        "txid": txid,
        "vin": [{"prevout": {"scriptpubkey_address": "bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h", "value": 160_000_000u64}}],
        "vout": [
            {"scriptpubkey_address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "value": 9_000_000u64},
            {"scriptpubkey_address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "value": 150_000_000u64}
        ],
        "status": {"confirmed": true, "block_height": 870_000u64}
    })
    .to_string();
    let app = axum::Router::new()
        .route(
            "/tx/{id}",
            get(
                move |axum::extract::Path(id): axum::extract::Path<String>| {
                    let tx = tx.clone();
                    async move {
                        if id == txid {
                            ([(header::CONTENT_TYPE, "application/json")], tx).into_response()
                        } else {
                            (StatusCode::NOT_FOUND, "Transaction not found").into_response()
                        }
                    }
                },
            ),
        )
        .route("/blocks/tip/height", get(|| async { "870000" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

backend_test_db!(bitcoin_transactions_are_checked_through_esplora, |db| {
    const TXID: &str = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
    let url = esplora(TXID).await;
    let Some(app) = spawn_app_with(db, move |c| {
        c.chains.insert("bitcoin".into(), url);
    })
    .await
    else {
        return;
    };
    let ticket = |tx: &str, amount: &str| {
        let mut b = ticket_body(&app, "BTC deposit missing");
        b["body"] = json!("My bitcoin deposit has not arrived.");
        b["crypto"] = json!({"network": "bitcoin", "asset": "btc", "tx_hash": tx,
            "to_address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "amount": amount});
        b
    };
    let check = |id: i64| chain_check(&app, id);
    let t = app.create_ticket(ticket(TXID, "1.5")).await;
    let c = check(t["id"].as_i64().unwrap()).await;
    assert_eq!(
        c["text"], "Confirmed 1 of 2 required confirmations; expect credit in about 10 minutes.",
        "{c}"
    );
    // The output paying the reported address is found among the others; its amount compared.
    let t = app.create_ticket(ticket(TXID, "1.6")).await;
    let c = check(t["id"].as_i64().unwrap()).await;
    assert_eq!(c["findings"][1]["finding"], "amount_differs", "{c}");
    let t = app.create_ticket(ticket(&"0".repeat(64), "1.5")).await;
    let c = check(t["id"].as_i64().unwrap()).await;
    assert_eq!(c["findings"], json!([{"finding": "not_found"}]));
    app.stop().await;
});

// A deposit is also compared with the account's deposit addresses the exchange knows (through
// the connector): sent to the address the customer reported, but that is not theirs.
backend_test_db!(deposits_are_compared_with_the_exchanges_addresses, |db| {
    let Some(node) = Ganache::start().await else {
        return;
    };
    let exchange = xdesk_demo_exchange::start("chain-test").await.unwrap();
    let (node_url, exchange_url) = (node.url.clone(), exchange.url.clone());
    let Some(app) = spawn_app_with(db, move |c| {
        c.chains.insert("ethereum".into(), node_url);
        c.exchange = Some(xdesk::config::ExchangeConfig {
            url: exchange_url,
            token: "chain-test".into(),
            timeout_secs: 5,
        });
    })
    .await
    else {
        return;
    };
    let accounts = node.accounts().await;
    let (sender, paid_to) = (&accounts[0], &accounts[1]);
    exchange.set_deposit_address("U3001", "ethereum", &accounts[3]);
    exchange.set_deposit_address("U3002", "ethereum", paid_to);
    let hash = node
        .send(json!({"from": sender, "to": paid_to, "value": "0x14d1120d7b160000"}))
        .await;
    let mut findings = Vec::new();
    for uid in ["U3001", "U3002"] {
        let mut b = ticket_body(&app, "Deposit not credited");
        b["customer"] = json!({"email": format!("{uid}@example.com"), "exchange_uid": uid});
        b["body"] = json!("My ETH deposit is missing.");
        b["crypto"] = json!({"network": "ethereum", "asset": "eth", "tx_hash": hash,
                              "to_address": paid_to, "amount": "1.5"});
        let t = app.create_ticket(b).await;
        let r = app
            .patch(
                &app.agent_token,
                &format!("/api/v1/tickets/{}", t["id"]),
                json!({"version": app.get_json(&app.agent_token, &format!("/api/v1/tickets/{}", t["id"])).await["version"],
                       "intent": "deposit_missing"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .post(
                &app.agent_token,
                &format!("/api/v1/tickets/{}/chain-check", t["id"]),
                json!({}),
            )
            .await;
        findings.push(r.json::<Value>().await.unwrap()["findings"].clone());
    }
    assert_eq!(
        findings[0][1]["finding"], "not_exchange_address",
        "{findings:?}"
    );
    assert_eq!(findings[0][1]["ours"], accounts[3].as_str());
    assert_eq!(findings[1].as_array().unwrap().len(), 1, "{findings:?}");
    assert_eq!(exchange.hits("deposit_addresses"), 2);
    app.stop().await;
});
