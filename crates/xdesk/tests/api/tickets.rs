use crate::backend_test;
use crate::support::*;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_test!(create_get_roundtrip, |app| {
    let created = app
        .create_ticket(ticket_body(&app, "提币未到账 🚀 withdrawal"))
        .await;
    assert!(created["number"].as_str().unwrap().starts_with("XD-1"));
    assert_eq!(created["subject"], "提币未到账 🚀 withdrawal");
    assert_eq!(created["state"], "new");
    assert_eq!(created["channel"], "api");
    assert_eq!(created["tags"], json!(["vip", "withdrawal"]));
    let c = &created["crypto"];
    assert_eq!(c["network"], "ethereum");
    assert_eq!(c["asset"], "USDT");
    assert_eq!(
        c["tx_hash"],
        "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"
    );
    assert_eq!(c["amount"], "1250.000001");
    let id = created["id"].as_i64().unwrap();
    let got = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(got["subject"], created["subject"]);
    assert_eq!(got["messages"][0]["body"], "提币未到账，已经等了 6 小时 🚀");
    assert_eq!(got["messages"][0]["author_kind"], "customer");
    // The customer is found again by any of their identities.
    let again = app
        .create_ticket(
            json!({"subject": "second", "body": "b", "customer": {"exchange_uid": "U1001"}}),
        )
        .await;
    assert_eq!(again["customer_id"], created["customer_id"]);
    app.stop().await;
});

backend_test!(reply_note_and_state_machine, |app| {
    let t = app.create_ticket(ticket_body(&app, "reply flow")).await;
    let id = t["id"].as_i64().unwrap();
    let r = app.post(&app.agent_token, &format!("/api/v1/tickets/{id}/replies"), json!({"body": "We are checking the chain.", "body_html": "<p>ok<script>alert(1)</script></p>"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        d["state"], "open",
        "an agent's first public reply opens the ticket"
    );
    assert_eq!(
        d["messages"][1]["body_html"], "<p>ok</p>",
        "HTML is sanitised"
    );
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/notes"),
            json!({"body": "internal: check hot wallet"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The exchange backend (API key) does not see internal notes.
    let as_backend = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(as_backend["messages"].as_array().unwrap().len(), 2);
    let as_agent = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(as_agent["messages"].as_array().unwrap().len(), 3);
    let v = as_agent["version"].as_i64().unwrap();
    // new -> ... -> closed is fine; closed -> open is illegal.
    let r = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), json!({"version": v, "state": "solved", "priority": "urgent", "assignee_id": app.agent_id})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(
        (t["state"].as_str(), t["priority"].as_str()),
        (Some("solved"), Some("urgent"))
    );
    let v = t["version"].as_i64().unwrap();
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": v, "state": "closed"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = v + 1;
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": v, "state": "open"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "illegal_transition");
    assert_eq!(e["error"]["field"], "state");
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "late"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    app.stop().await;
});

backend_test!(stale_version_is_409_and_changes_nothing, |app| {
    let t = app.create_ticket(ticket_body(&app, "concurrency")).await;
    let id = t["id"].as_i64().unwrap();
    let v = t["version"].as_i64().unwrap();
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": v, "priority": "low"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": v, "priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "stale_version");
    let now = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(now["priority"], "low");
    app.stop().await;
});

backend_test!(crypto_fields_update_and_validation, |app| {
    let t = app.create_ticket(ticket_body(&app, "fields")).await;
    let id = t["id"].as_i64().unwrap();
    let v = t["version"].as_i64().unwrap();
    // Mixed-case address with a broken EIP-55 checksum: rejected, named, nothing changes.
    let r = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), json!({"version": v, "crypto": {"to_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid_address");
    assert_eq!(e["error"]["field"], "to_address");
    // Switching network re-validates every field against it.
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": v, "crypto": {"network": "bitcoin"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), json!({"version": v, "crypto": {"network": "bitcoin", "asset": "BTC", "tx_hash": "b6f6991d03df0e2e04dafffcd6bc418aac66049e2cd74b80f14ac86db1e3f0da", "to_address": "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "amount": "0.50"}}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(
        t["crypto"]["to_address"],
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    );
    assert_eq!(t["crypto"]["amount"], "0.5");
    let h = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}/history"))
        .await;
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "updated");
    assert_eq!(
        last["data"]["changes"]["network"],
        json!(["ethereum", "bitcoin"])
    );
    assert_eq!(h["verification"]["valid"], true);
    app.stop().await;
});

backend_test!(list_filters_and_cursor_pagination, |app| {
    for i in 0..7 {
        let mut b = ticket_body(&app, &format!("ticket {i}"));
        if i % 2 == 0 {
            b["priority"] = json!("low");
            b["tags"] = json!(["kyc"]);
        }
        app.create_ticket(b).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=3&sort=created&cursor={c}"),
            None => "/api/v1/tickets?limit=3&sort=created".to_owned(),
        };
        let page = app.get_json(&app.agent_token, &path).await;
        seen.extend(
            page["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 7);
    let low = app
        .get_json(&app.agent_token, "/api/v1/tickets?priority=low")
        .await;
    assert_eq!(low["tickets"].as_array().unwrap().len(), 4);
    let kyc = app
        .get_json(&app.agent_token, "/api/v1/tickets?tag=KYC&state=new,open")
        .await;
    assert_eq!(kyc["tickets"].as_array().unwrap().len(), 4);
    let q = app
        .get_json(&app.agent_token, "/api/v1/tickets?q=ticket%203")
        .await;
    assert_eq!(q["tickets"].as_array().unwrap().len(), 1);
    let by_hash = app
        .get_json(&app.agent_token, "/api/v1/tickets?q=88df0164")
        .await;
    assert_eq!(by_hash["tickets"].as_array().unwrap().len(), 7);
    let r = app
        .get(&app.agent_token, "/api/v1/tickets?priority=panic")
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .get(&app.agent_token, "/api/v1/tickets?cursor=nonsense")
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
});

backend_test!(attachments_upload_download_and_limits, |app| {
    let png: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let mut b = ticket_body(&app, "with screenshot");
    b["attachments"] = json!([{"filename": "截图.png", "content_type": "image/png", "content_base64": base64::engine::general_purpose::STANDARD.encode(&png)}]);
    let t = app.create_ticket(b).await;
    let att = &t["messages"][0]["attachments"][0];
    assert_eq!(att["filename"], "截图.png");
    assert_eq!(att["size"], 70_000);
    let r = app
        .get(&app.agent_token, att["url"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // Multipart upload as a new message.
    let id = t["id"].as_i64().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("body", "here is the receipt")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 receipt".to_vec())
                .file_name("receipt.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
        .bearer_auth(&app.agent_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        d["messages"][1]["attachments"][0]["filename"],
        "receipt.pdf"
    );
    // Too large: 413, and no message was added.
    let big = vec![0u8; 21 * 1024 * 1024];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big).file_name("big.bin"),
    );
    let r = app
        .http
        .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
        .bearer_auth(&app.agent_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 2);
    // Not multipart: 415.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/attachments"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = app.get(&app.agent_token, "/api/v1/attachments/9999").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A file no row references (e.g. left by a failed request) is collected; referenced ones stay.
    let store = &app.running.as_ref().unwrap().services.store;
    store.files().put(b"orphan bytes").await.unwrap();
    let removed = store
        .collect_unreferenced_files(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let r = app
        .get(&app.agent_token, att["url"].as_str().unwrap())
        .await;
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    app.stop().await;
});

backend_test!(concurrent_creations_all_land_once, |app| {
    // Enough at once for the group-commit writers to share transactions, and to race each other
    // on the same new customers (PostgreSQL runs several writers).
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (client, url, key) = (
            client.clone(),
            app.url("/api/v1/tickets"),
            app.api_key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&json!({
                    "subject": format!("并发 {i}"),
                    "body": "burst",
                    "customer": {"email": format!("burst{}@example.com", i % 3)},
                }))
                .send()
                .await
                .unwrap()
        }));
    }
    let mut customers = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["messages"][0]["author_kind"], "customer");
        customers.push(v["customer_id"].as_i64().unwrap());
    }
    customers.sort_unstable();
    customers.dedup();
    assert_eq!(customers.len(), 3, "one customer per address");
    assert_eq!(app.ticket_count().await, 24);
    app.stop().await;
});

/// Planner statistics follow the tables' growth on PostgreSQL (issue 20's soak: a plan made
/// when `tickets` was small seq-scanned it once it was large): a pass analyses the tables
/// that changed enough, and the next pass, with nothing new, leaves them alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planner_statistics_follow_the_tickets_growth() {
    let Some(app) = spawn_app(Db::Postgres).await else {
        return;
    };
    for i in 0..60 {
        app.create_ticket(json!({
            "subject": format!("Deposit {i} not credited"),
            "body": "充值未到账",
            "customer": {"email": format!("grow{i}@example.com")},
        }))
        .await;
    }
    let store = &app.running.as_ref().unwrap().services.store;
    // The statistics collector publishes a backend's counters within a second or so.
    let mut analyzed = Vec::new();
    for _ in 0..50 {
        analyzed = store.keep_statistics().await.unwrap().analyzed;
        if analyzed.iter().any(|t| t == "tickets") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        analyzed.iter().any(|t| t == "tickets"),
        "60 new tickets, yet no analysis: {analyzed:?}"
    );
    // Whatever the tickets' after-create work changed meanwhile is taken in by one more pass
    // once the server is quiet; right after it, nothing has changed enough.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    store.keep_statistics().await.unwrap();
    let again = store.keep_statistics().await.unwrap();
    assert!(
        !again.analyzed.iter().any(|t| t == "tickets"),
        "analysed again with nothing new: {again:?}"
    );
}
