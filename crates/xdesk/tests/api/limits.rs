//! Rate limits on what anyone may ask (anonymous chats and their uploads, wallet challenges,
//! `/verify`) and on step-up codes, answered 429 with Retry-After; behind a trusted proxy each
//! client is limited by its forwarded address, and a forwarded address from anyone else is
//! ignored.

use crate::backend_test_db;
use crate::chat::{connect, expect, send};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xdesk_service::ratelimit::Rule;

const ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const SECRET: &str = "limits-test-identity-secret";

async fn verify_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut r = app
        .http
        .get(app.url("/api/v1/verify"))
        .query(&[("q", "exchange.example")]);
    if let Some(f) = forwarded_for {
        r = r.header("x-forwarded-for", f);
    }
    r.send().await.unwrap()
}

/// Asserts a 429 with the API's error shape and a Retry-After.
async fn assert_limited(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    let after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after >= 1, "{what}: Retry-After {after}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{what}: {body}");
}

/// An anonymous visitor writes a first message: the new chat's ticket, or the error frame.
async fn open_chat(app: &TestApp, token: Option<&str>) -> (String, Value) {
    let path = match token {
        Some(t) => format!("/api/v1/chat/customer?token={t}"),
        None => "/api/v1/chat/customer".to_owned(),
    };
    let mut s = connect(app, &path, None).await;
    let welcome = expect(&mut s, "welcome").await;
    send(
        &mut s,
        json!({"type": "message", "body": "my deposit is missing"}),
    )
    .await;
    let answer = loop {
        let f = expect_any(&mut s).await;
        if f["type"] == "ticket" || f["type"] == "error" {
            break f;
        }
    };
    (
        welcome["visitor_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        answer,
    )
}

async fn expect_any(s: &mut crate::chat::Socket) -> Value {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), s.next())
            .await
            .expect("a frame")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn upload(app: &TestApp, visitor: &str, ticket: i64) -> reqwest::Response {
    app.http
        .post(app.url(&format!(
            "/api/v1/chat/uploads?visitor={visitor}&ticket={ticket}&filename=shot.png"
        )))
        .header("content-type", "image/png")
        .body(b"\x89PNG\r\n\x1a\nnot really an image".to_vec())
        .send()
        .await
        .unwrap()
}

backend_test_db!(anonymous_requests_are_limited_per_client, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.limits.verify = Rule::new(4, 60);
        c.limits.wallet_challenges = Rule::new(3, 600);
        c.limits.chat_tickets = Rule::new(2, 3600);
        c.limits.chat_uploads = Rule::new(2, 600);
        c.chat.identity_secret = Some(SECRET.into());
    })
    .await
    else {
        return;
    };
    // /verify: the API and the page share the budget.
    for _ in 0..3 {
        assert_eq!(verify_from(&app, None).await.status(), StatusCode::OK);
    }
    let page = app
        .http
        .get(app.url("/verify?q=exchange.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_limited(verify_from(&app, None).await, "verify").await;
    let page = app
        .http
        .get(app.url("/verify?q=exchange.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key("retry-after"));

    // Wallet challenges: each writes a nonce row.
    let challenge = || async {
        app.http
            .get(app.url("/api/v1/wallet/challenge"))
            .query(&[("chain", "ethereum"), ("address", ADDRESS)])
            .send()
            .await
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(challenge().await.status(), StatusCode::OK);
    }
    assert_limited(challenge().await, "wallet challenge").await;

    // Anonymous chats: two open, the third is refused before anything is stored.
    let (visitor, first) = open_chat(&app, None).await;
    assert_eq!(first["type"], "ticket", "{first}");
    let ticket = first["ticket"]["id"].as_i64().unwrap();
    let (_, second) = open_chat(&app, None).await;
    assert_eq!(second["type"], "ticket", "{second}");
    let tickets = app.ticket_count().await;
    let (_, third) = open_chat(&app, None).await;
    assert_eq!(
        (third["type"].as_str(), third["code"].as_str()),
        (Some("error"), Some("rate_limited")),
        "{third}"
    );
    assert_eq!(
        app.ticket_count().await,
        tickets,
        "a refused chat stored a ticket"
    );
    // A visitor the exchange vouches for is not an anonymous chat.
    let exp = chrono::Utc::now().timestamp() + 600;
    let token = xdesk_domain::chat_token::sign(
        &json!({"sub": "U7001", "email": "u7001@example.com", "exp": exp}),
        SECRET.as_bytes(),
    );
    let (_, vouched) = open_chat(&app, Some(&token)).await;
    assert_eq!(vouched["type"], "ticket", "{vouched}");

    // Uploads into a chat.
    for _ in 0..2 {
        assert_eq!(
            upload(&app, &visitor, ticket).await.status(),
            StatusCode::CREATED
        );
    }
    assert_limited(upload(&app, &visitor, ticket).await, "upload").await;
    app.stop().await;
});

backend_test_db!(clients_behind_a_trusted_proxy_are_limited_apart, |db| {
    let postgres = matches!(db, Db::Postgres);
    let Some(app) = spawn_app_with(db, |c| {
        c.limits.verify = Rule::new(2, 60);
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await
    else {
        return;
    };
    // Client A, then client B, through the proxy (this test, on loopback).
    for _ in 0..2 {
        assert_eq!(
            verify_from(&app, Some("198.51.100.1")).await.status(),
            StatusCode::OK
        );
    }
    assert_limited(verify_from(&app, Some("198.51.100.1")).await, "client A").await;
    assert_eq!(
        verify_from(&app, Some("198.51.100.2")).await.status(),
        StatusCode::OK,
        "client B has a budget of its own"
    );
    // Client A puts a made-up hop in front: the proxy appends the real one, which counts.
    assert_limited(
        verify_from(&app, Some("203.0.113.50, 198.51.100.1")).await,
        "client A spoofing",
    )
    .await;
    // The audit log has the client's address, not the proxy's.
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.9")
        .json(&json!({"email": "agent@x.test", "password": app.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let admin = app.admin_token().await;
    let logins = app
        .get_json(&admin, "/api/v1/audit?action=login&limit=100")
        .await;
    assert!(
        logins
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ip"] == "198.51.100.9"),
        "{logins}"
    );
    app.stop().await;

    // Without trusted proxies the header is the client's own word: ignored.
    let db = if postgres { Db::Postgres } else { Db::Sqlite };
    let Some(direct) = spawn_app_with(db, |c| {
        c.limits.verify = Rule::new(2, 60);
    })
    .await
    else {
        return;
    };
    for i in 0..2 {
        let r = verify_from(&direct, Some(&format!("198.51.100.{}", 10 + i))).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_limited(
        verify_from(&direct, Some("198.51.100.99")).await,
        "spoofed X-Forwarded-For from an untrusted peer",
    )
    .await;
    direct.stop().await;
});

backend_test_db!(wrong_step_up_codes_are_limited_per_agent, |db| {
    let exchange = xdesk_demo_exchange::start("limits-connector")
        .await
        .unwrap();
    let url = exchange.url.clone();
    let Some(app) = spawn_app_with(db, move |c| {
        c.exchange = Some(xdesk::config::ExchangeConfig {
            url,
            token: "limits-connector".into(),
            timeout_secs: 5,
        });
    })
    .await
    else {
        return;
    };
    let admin = app.login(&app.admin_email).await;
    let secret = app.enrol_totp(&admin).await;
    let t = app.create_ticket(ticket_body(&app, "Freeze please")).await;
    let path = format!("/api/v1/tickets/{}/exchange/actions", t["id"]);
    let act = |code: &str| json!({"action": "freeze", "reason": "customer reports a stolen phone", "totp": code});
    for _ in 0..5 {
        let r = app.post(&admin, &path, act("000000")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right code waits: a stolen session cannot guess on.
    assert_limited(
        app.post(&admin, &path, act(&totp_code(&secret))).await,
        "step-up",
    )
    .await;
    assert!(exchange.actions().is_empty());
    // Another agent's budget is their own.
    let agent_secret = app.enrol_totp(&app.agent_token).await;
    let r = app
        .post(&app.agent_token, &path, act(&totp_code(&agent_secret)))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Each wrong code, and the refusal, is in the audit log.
    let failed = app
        .get_json(&admin, "/api/v1/audit?action=step_up.failed&limit=100")
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 5, "{failed}");
    let limited = app
        .get_json(&admin, "/api/v1/audit?action=step_up.limited&limit=100")
        .await;
    assert_eq!(limited.as_array().unwrap().len(), 1, "{limited}");
    app.stop().await;
});

/// Password hashing (argon2, slow on purpose) runs on blocking threads: while six logins hash
/// at once, the server answers another request at once, on the two async threads it has here.
/// Were the hashing on those threads, the request would wait for a login to finish (measured:
/// 28-38 ms against 63-80 ms for the fastest login; off them, under 1 ms against 50 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_logins_do_not_stall_other_requests() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let logins: Vec<_> = (0..6)
        .map(|i| {
            let (http, url) = (app.http.clone(), app.url("/api/v1/auth/login"));
            let email = if i % 2 == 0 {
                "agent@x.test"
            } else {
                "nobody@x.test"
            };
            tokio::spawn(async move {
                let t = std::time::Instant::now();
                let r = http
                    .post(url)
                    .json(&json!({"email": email, "password": "not the password at all"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
                t.elapsed()
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let t = std::time::Instant::now();
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    let health = t.elapsed();
    assert!(r.status().is_success());
    let mut fastest = std::time::Duration::MAX;
    for l in logins {
        fastest = fastest.min(l.await.unwrap());
    }
    assert!(
        health * 4 < fastest,
        "a request took {health:?} while logins hashed (the fastest login took {fastest:?})"
    );
    app.stop().await;
}
