use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn error_of(r: reqwest::Response) -> (StatusCode, Value) {
    let s = r.status();
    (s, r.json::<Value>().await.unwrap()["error"].clone())
}

backend_test!(bad_requests_get_clear_errors_and_change_nothing, |app| {
    app.create_ticket(ticket_body(&app, "baseline")).await;
    let url = app.url("/api/v1/tickets");
    let send = |body: Vec<u8>, ct: Option<&'static str>| {
        let mut rb = app.http.post(&url).bearer_auth(&app.api_key).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        rb.send()
    };
    let (s, e) = error_of(
        send(b"{\"subject\": ".to_vec(), Some("application/json"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (s, e) = error_of(send(b"{}".to_vec(), None).await.unwrap()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
    let mut invalid_utf8 = b"{\"subject\":\"".to_vec();
    invalid_utf8.extend([0xff, 0xfe]);
    invalid_utf8.extend(b"\",\"body\":\"x\",\"customer\":{\"email\":\"a@b.co\"}}");
    let (s, e) = error_of(send(invalid_utf8, Some("application/json")).await.unwrap()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let mut unknown = ticket_body(&app, "x");
    unknown["sneaky"] = json!(1);
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", unknown).await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_request_body")
        )
    );
    assert!(e["message"].as_str().unwrap().contains("sneaky"));
    let mut wrong_type = ticket_body(&app, "x");
    wrong_type["crypto"]["amount"] = json!(1.5);
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", wrong_type).await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_request_body")
        ),
        "amounts are strings, never floats"
    );
    let mut bad_hash = ticket_body(&app, "x");
    bad_hash["crypto"]["tx_hash"] = json!("0x1234");
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", bad_hash).await).await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_tx_hash"),
            Some("tx_hash")
        )
    );
    let mut testnet = ticket_body(&app, "x");
    testnet["crypto"] =
        json!({"network": "bitcoin", "to_address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"});
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", testnet).await).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("to_address"))
    );
    let mut bad_amount = ticket_body(&app, "x");
    bad_amount["crypto"]["amount"] = json!("-5");
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", bad_amount).await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount"))
    );
    let (s, e) = error_of(
        app.post(
            &app.api_key,
            "/api/v1/tickets",
            json!({"subject": " ", "body": "b", "customer": {"email": "a@b.co"}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("subject"))
    );
    let (s, e) = error_of(
        app.post(
            &app.api_key,
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "customer": {}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("customer_required"))
    );
    let mut bad_b64 = ticket_body(&app, "x");
    bad_b64["attachments"] = json!([{"filename": "a.png", "content_base64": "!!!"}]);
    let (s, e) = error_of(app.post(&app.api_key, "/api/v1/tickets", bad_b64).await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_attachment"))
    );
    let huge = vec![b'a'; xdesk_web::MAX_BODY_BYTES + 10];
    let r = send(huge, Some("application/json")).await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of the above was written.
    assert_eq!(app.ticket_count().await, 1);
    app.stop().await;
});

backend_test!(credentials_are_checked, |app| {
    let r = app
        .http
        .get(app.url("/api/v1/tickets"))
        .send()
        .await
        .unwrap();
    let (s, e) = error_of(r).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let wrong = format!("{}x", &app.api_key[..app.api_key.len() - 1]);
    let (s, _) = error_of(app.get(&wrong, "/api/v1/tickets").await).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = error_of(app.get("xds_forged", "/api/v1/tickets").await).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = error_of(app.get(&app.agent_token, "/api/v1/tickets/99999").await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ticket_not_found"))
    );
    let (s, e) = error_of(app.get(&app.agent_token, "/api/v1/tickets/abc").await).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_path"))
    );
    // A read-only key cannot create tickets.
    let (_, ro) = app
        .running
        .as_ref()
        .unwrap()
        .services
        .create_api_key("ro", &["tickets:read".into()])
        .await
        .unwrap();
    let (s, e) = error_of(
        app.post(&ro, "/api/v1/tickets", ticket_body(&app, "x"))
            .await,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // Logging out ends the session.
    let token = app.login("agent@x.test").await;
    let r = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&token, "/api/v1/tickets").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
});

backend_test!(login_is_rate_limited_per_account, |app| {
    for _ in 0..5 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "agent@x.test", "password": "wrong password!!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "agent@x.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    // Another account from the same address is not locked out by this one.
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "other@x.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
});
