//! The customer portal over real HTTP: sign-in by a link mailed through a real SMTP server and
//! by the exchange's signed token, a missing-deposit ticket through the form (fields checked as
//! typed, a screenshot attached), replies both ways, the transcript, and that a customer reaches
//! nothing of anyone else's and no form works without its CSRF token.

use crate::support::*;
use crate::web::{Page, Web};
use crate::{backend_test, backend_test_db};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const SECRET: &str = "portal-test-secret";
const TRON_TX: &str = "a7d3c1e5b2f4a6c8e0d2f4b6a8c0e2d4f6b8a0c2e4d6f8b0a2c4e6d8f0b2a4c6";
const TRON_ADDRESS: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const SCREENSHOT: &[u8] = b"\x89PNG\r\n\x1a\n fake screenshot bytes";

/// The sign-in link in a captured mail, decoded from its transfer encoding.
fn link_in(raw: &str) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let body = msg.body_text(0).unwrap().into_owned();
    body.split_whitespace()
        .find(|w| w.contains("/portal/sign-in/"))
        .unwrap_or_else(|| panic!("no link in {body}"))
        .to_owned()
}

fn deposit_form(csrf: &str, tx_hash: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("issue_type", "missing_deposit")
        .text("subject", "USDT deposit not credited")
        .text("network", "tron")
        .text("asset", "USDT")
        .text("tx_hash", tx_hash.to_owned())
        .text("to_address", TRON_ADDRESS)
        .text("amount", "120.5")
        .text("occurred_at", "2026-11-20T08:15")
        .text(
            "body",
            "Sent from my wallet yesterday, still not in my balance.",
        )
        .part(
            "files",
            Part::bytes(SCREENSHOT.to_vec())
                .file_name("wallet.png")
                .mime_str("image/png")
                .unwrap(),
        )
}

async fn sign_in_by_token(app: &TestApp, sub: &str, email: &str) -> Web {
    let exp = chrono::Utc::now().timestamp() + 300;
    let token = xdesk_domain::chat_token::sign(
        &json!({"sub": sub, "email": email, "name": sub, "exp": exp}),
        SECRET.as_bytes(),
    );
    let mut web = Web::new(app);
    let r = web.get(&format!("/portal/token?token={token}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/portal");
    assert!(web.jar.contains_key("xdesk_portal"));
    web.get("/portal").await;
    web
}

fn id_from(r: &Page) -> i64 {
    r.location()
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a ticket page: {}", r.location()))
}

backend_test_db!(
    a_customer_signs_in_by_mail_and_opens_a_deposit_ticket,
    |db| {
        let smtp = SmtpCapture::start().await;
        let settings = smtp.settings();
        let Some(app) = spawn_app_with(db, move |c| c.smtp = Some(settings)).await else {
            return;
        };
        let mut web = Web::new(&app);
        let r = web.get("/portal").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/portal/sign-in");
        let r = web.get("/portal/sign-in").await;
        assert_eq!(r.status, StatusCode::OK);
        let csrf = web.csrf();
        let r = web
            .post(
                "/portal/sign-in",
                &[("csrf", &csrf), ("email", "not-an-address")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("does not look like an email address"));
        let r = web
            .post(
                "/portal/sign-in",
                &[("csrf", &csrf), ("email", "Alice@Example.com")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("sign-in link is on its way"), "{}", r.body);

        // The link arrives through the real SMTP server, pointing at this server.
        let mail = smtp.wait_for(1).await.remove(0);
        assert!(
            mail.to_lowercase().contains("to: alice@example.com"),
            "{mail}"
        );
        let link = link_in(&mail);
        let path = link
            .strip_prefix(&app.base)
            .unwrap_or_else(|| panic!("{link} is not on {}", app.base))
            .to_owned();
        // Opening the link (as a mail scanner would) does not use it up.
        for _ in 0..2 {
            let r = web.get(&path).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.body.contains("finish signing in"));
        }
        let r = web.post(&path, &[("csrf", "wrong")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = web.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/portal");
        let cookie = web.jar.get("xdesk_portal").cloned().unwrap();
        // A link works once.
        let mut other = Web::new(&app);
        other.get("/portal/sign-in").await;
        let c2 = other.csrf();
        let r = other.post(&path, &[("csrf", &c2)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("already used or has expired"));

        let r = web.get("/portal").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("You have no tickets yet."));

        // The form asks for what a missing deposit needs.
        let r = web.get("/portal/new?type=missing_deposit").await;
        assert_eq!(r.status, StatusCode::OK);
        for field in [
            "network",
            "asset",
            "tx_hash",
            "to_address",
            "amount",
            "occurred_at",
        ] {
            assert!(r.body.contains(&format!("name=\"{field}\"")), "{field}");
        }
        let r = web.get("/portal/new?type=account_access").await;
        assert!(!r.body.contains("name=\"tx_hash\""));

        // Each field is checked as it is typed.
        let check = |field: &'static str, network: &'static str, value: &'static str| {
            [("field", field), ("network", network), (field, value)]
        };
        let r = web
            .post("/portal/check", &check("tx_hash", "tron", "0x1234"))
            .await;
        assert!(
            r.body
                .contains("not a transaction hash of the chosen network"),
            "{}",
            r.body
        );
        let r = web
            .post("/portal/check", &check("tx_hash", "tron", TRON_TX))
            .await;
        assert_eq!(r.body.trim(), "");
        let r = web
            .post(
                "/portal/check",
                &check("to_address", "ethereum", TRON_ADDRESS),
            )
            .await;
        assert!(r.body.contains("not a valid address"), "{}", r.body);
        let r = web
            .post("/portal/check", &check("to_address", "", TRON_ADDRESS))
            .await;
        assert!(r.body.contains("Choose the network first"), "{}", r.body);

        // Sent with a bad hash and nothing else: every problem beside its field, nothing stored.
        let bad = Form::new()
            .text("csrf", csrf.clone())
            .text("issue_type", "missing_deposit")
            .text("subject", "deposit")
            .text("network", "tron")
            .text("tx_hash", "0x1234");
        let r = web.post_multipart("/portal/new", bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body
                .contains("not a transaction hash of the chosen network")
        );
        assert_eq!(
            r.body.matches("Please fill this in.").count(),
            4,
            "asset, address, amount, time"
        );
        assert!(
            r.body.contains("value=\"0x1234\""),
            "what was typed is kept"
        );
        assert_eq!(app.ticket_count().await, 0);

        let r = web
            .post_multipart("/portal/new", deposit_form(&csrf, TRON_TX))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = id_from(&r);

        // The agent sees every field, the screenshot and who wrote.
        let admin = app.admin_token().await;
        let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
        assert_eq!(t["category"], "missing_deposit");
        assert_eq!(t["channel"], "web");
        assert_eq!(t["crypto"]["tx_hash"], TRON_TX);
        assert_eq!(t["crypto"]["to_address"], TRON_ADDRESS);
        assert_eq!(t["crypto"]["amount"], "120.5");
        assert_eq!(t["crypto"]["occurred_at"], "2026-11-20T08:15:00Z");
        assert_eq!(t["messages"][0]["author_kind"], "customer");
        let shot = &t["messages"][0]["attachments"][0];
        assert_eq!(shot["filename"], "wallet.png");
        let customer = app
            .get_json(&admin, &format!("/api/v1/customers/{}", t["customer_id"]))
            .await;
        assert!(customer.to_string().contains("alice@example.com"));

        // The customer sees where it stands and what happens next.
        let r = web.get(&format!("/portal/tickets/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("An agent will pick this up."));
        assert!(r.body.contains("We answer within 4 hours."));
        assert!(r.body.contains("wallet.png"));
        let r = web.get("/portal").await;
        assert!(r.body.contains("USDT deposit not credited"));

        // An answer and an internal note: the customer sees the answer only.
        let reply = app
            .post(
                &admin,
                &format!("/api/v1/tickets/{id}/replies"),
                json!({"body": "We found the transfer; it is being credited now."}),
            )
            .await;
        assert!(reply.status().is_success());
        let note = app
            .post(
                &admin,
                &format!("/api/v1/tickets/{id}/notes"),
                json!({"body": "INTERNAL: wallet flagged by risk"}),
            )
            .await;
        assert!(note.status().is_success());
        let r = web.get(&format!("/portal/tickets/{id}")).await;
        assert!(r.body.contains("it is being credited now"));
        assert!(!r.body.contains("INTERNAL"));

        let shot_id = shot["id"].as_i64().unwrap();
        let r = web.get(&format!("/portal/attachments/{shot_id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, String::from_utf8_lossy(SCREENSHOT));
        assert!(
            r.headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );

        // The customer answers with another file.
        let form = Form::new()
            .text("csrf", csrf.clone())
            .text("body", "Thanks, I see it now.")
            .part(
                "files",
                Part::bytes(b"receipt".to_vec()).file_name("receipt.txt"),
            );
        let r = web
            .post_multipart(&format!("/portal/tickets/{id}/reply"), form)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // The transcript, with the history hash the server holds.
        let r = web
            .get(&format!("/portal/tickets/{id}/transcript.json"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let tr: Value = serde_json::from_str(&r.body).unwrap();
        let history = app
            .get_json(&admin, &format!("/api/v1/tickets/{id}/history"))
            .await;
        assert_eq!(tr["head_hash"], history["verification"]["head"]);
        assert_eq!(tr["history_intact"], true);
        let bodies: Vec<&str> = tr["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert!(bodies.iter().any(|b| b.contains("being credited")));
        assert!(!bodies.iter().any(|b| b.contains("INTERNAL")));
        let sha = &tr["messages"][0]["body_sha256"];
        let chain = history.to_string();
        assert!(
            chain.contains(sha.as_str().unwrap()),
            "message hash is in the chain"
        );
        let r = web
            .get(&format!("/portal/tickets/{id}/transcript.html"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(tr["head_hash"].as_str().unwrap()));
        assert!(
            r.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("transcript.html")
        );

        // Done: the customer marks it solved.
        let version = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await["version"]
            .as_i64()
            .unwrap();
        let r = web
            .post(
                &format!("/portal/tickets/{id}/close"),
                &[("csrf", &csrf), ("version", &version.to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
        assert_eq!(t["state"], "solved");

        // Signing out ends the session on the server.
        let r = web.post("/portal/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let mut stale = Web::new(&app);
        stale.jar.insert("xdesk_portal".into(), cookie);
        let r = stale.get("/portal").await;
        assert_eq!(r.location(), "/portal/sign-in");
        app.stop().await;
    }
);

backend_test_db!(customers_reach_only_their_own_tickets, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.chat.identity_secret = Some(SECRET.into());
    })
    .await
    else {
        return;
    };
    // A forged token signs nobody in.
    let forged = xdesk_domain::chat_token::sign(
        &json!({"sub": "U1", "exp": chrono::Utc::now().timestamp() + 300}),
        b"not the secret",
    );
    let mut web = Web::new(&app);
    let r = web.get(&format!("/portal/token?token={forged}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!web.jar.contains_key("xdesk_portal"));

    let mut bob = sign_in_by_token(&app, "U-bob", "bob@example.com").await;
    let mut eve = sign_in_by_token(&app, "U-eve", "eve@example.com").await;
    let csrf = bob.csrf();
    let r = bob
        .post_multipart("/portal/new", deposit_form(&csrf, TRON_TX))
        .await;
    let id = id_from(&r);
    let admin = app.admin_token().await;
    let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    let shot = t["messages"][0]["attachments"][0]["id"].as_i64().unwrap();
    let version = t["version"].as_i64().unwrap().to_string();

    // Eve tries every address of Bob's ticket: all "not found", nothing changes.
    let ecsrf = eve.csrf();
    for path in [
        format!("/portal/tickets/{id}"),
        format!("/portal/tickets/{id}/transcript.json"),
        format!("/portal/tickets/{id}/transcript.html"),
        format!("/portal/attachments/{shot}"),
    ] {
        assert_eq!(eve.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let form = Form::new()
        .text("csrf", ecsrf.clone())
        .text("body", "let me in");
    let r = eve
        .post_multipart(&format!("/portal/tickets/{id}/reply"), form)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = eve
        .post(
            &format!("/portal/tickets/{id}/close"),
            &[("csrf", &ecsrf), ("version", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!eve.get("/portal").await.body.contains("USDT deposit"));
    let after = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(after["version"], t["version"]);

    // An internal note's file stays with the agents.
    let note = Form::new()
        .text("body", "risk report")
        .text("internal", "true")
        .part("file", Part::bytes(b"risk".to_vec()).file_name("risk.pdf"));
    let r = app
        .http
        .post(app.url(&format!("/api/v1/tickets/{id}/attachments")))
        .bearer_auth(&admin)
        .multipart(note)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    let note_file = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["internal"] == true)
        .unwrap()["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let r = bob.get(&format!("/portal/attachments/{note_file}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Every portal form refuses a missing or wrong CSRF token, and changes nothing.
    for token in [None, Some("x".repeat(32))] {
        let mut f: Vec<(&str, &str)> = vec![("version", &version), ("email", "a@example.com")];
        if let Some(t) = &token {
            f.push(("csrf", t));
        }
        for path in [
            "/portal/sign-in".to_owned(),
            "/portal/sign-in/abc".to_owned(),
            format!("/portal/tickets/{id}/close"),
            format!("/portal/tickets/{id}/escalate"),
            "/portal/sign-out".to_owned(),
        ] {
            let r = bob.post(&path, &f).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
        let mut form = Form::new().text("body", "hello");
        if let Some(t) = &token {
            form = form.text("csrf", t.clone());
        }
        let r = bob
            .post_multipart(&format!("/portal/tickets/{id}/reply"), form)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let mut form = deposit_form("", TRON_TX);
        if let Some(t) = &token {
            form = form.text("csrf", t.clone());
        }
        let r = bob.post_multipart("/portal/new", form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.ticket_count().await, 1);
    let after = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    assert_eq!(after["state"], "new");
    assert_eq!(after["messages"].as_array().unwrap().len(), 2);
    // Still signed in: the refused sign-out did nothing.
    assert_eq!(bob.get("/portal").await.status, StatusCode::OK);
    app.stop().await;
});

backend_test!(the_portal_speaks_chinese, |app| {
    let mut web = Web::new(&app);
    let r = web.get_lang("/portal/sign-in", "zh-CN,zh;q=0.9").await;
    assert!(r.body.contains("登录支持中心"));
    assert!(r.body.contains("lang=\"zh-CN\""));
    let csrf = web.csrf();
    let r = web
        .post("/portal/sign-in", &[("csrf", &csrf), ("email", "nope")])
        .await;
    // The language cookie is not set yet: the form's answer follows the browser again.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = web.get("/ui/lang/zh?back=/portal/sign-in").await;
    assert_eq!(r.location(), "/portal/sign-in");
    let r = web
        .post("/portal/sign-in", &[("csrf", &csrf), ("email", "nope")])
        .await;
    assert!(r.body.contains("这不是有效的邮箱地址"), "{}", r.body);
    app.stop().await;
});

backend_test!(
    amounts_are_taken_as_typed_and_the_case_is_read_back,
    |app| {
        let admin = app.admin_token().await;
        let seed = app.create_ticket(ticket_body(&app, "earlier")).await;
        let mut web = app.portal_as(seed["customer_id"].as_i64().unwrap()).await;
        web.get("/portal/new?type=pending_withdrawal").await;
        let csrf = web.csrf();
        let form = |amount: &str| {
            Form::new()
                .text("csrf", csrf.clone())
                .text("issue_type", "pending_withdrawal")
                .text("subject", "USDT withdrawal not received after 6 hours")
                .text("network", "tron")
                .text("asset", "USDT")
                .text("to_address", TRON_ADDRESS)
                .text("tx_hash", TRON_TX)
                .text("amount", amount.to_owned())
                .text("occurred_at", "2026-11-20T08:15")
                .text(
                    "body",
                    "Withdrew to my wallet this morning, nothing arrived.",
                )
        };
        // Thousands separators as people type them: fine while typing, and when sent.
        for amount in ["25,000.50", "25 000.50", "25，000.50", "25000.50", "25,000"] {
            let r = web
                .post("/portal/check", &[("field", "amount"), ("amount", amount)])
                .await;
            assert_eq!(r.body.trim(), "", "{amount}");
        }
        let mut id = 0;
        for amount in ["25,000.50", "25\u{202f}000.50"] {
            let r = web.post_multipart("/portal/new", form(amount)).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{amount}: {}", r.body);
            id = id_from(&r);
            let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
            assert_eq!(t["crypto"]["amount"], "25000.5", "{amount}");
        }
        // What would need a guess is refused beside the field, saying how to write it.
        let before = app.ticket_count().await;
        for amount in ["25,00.5", "1.000,50"] {
            let r = web.post_multipart("/portal/new", form(amount)).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{amount}");
            assert!(
                r.body.contains("only between groups of three digits"),
                "{amount}: {}",
                r.body
            );
            assert!(r.body.contains(&format!("value=\"{amount}\"")));
        }
        assert_eq!(app.ticket_count().await, before);
        // The API takes and refuses the same amounts.
        let mut body = ticket_body(&app, "grouped");
        body["crypto"]["amount"] = json!("1,250.000001");
        assert_eq!(
            app.create_ticket(body).await["crypto"]["amount"],
            "1250.000001"
        );
        let mut body = ticket_body(&app, "european");
        body["crypto"]["amount"] = json!("1.250,50");
        let r = app.post(&app.api_key, "/api/v1/tickets", body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], "amount", "{e}");
        assert_eq!(e["error"]["code"], "ambiguous_amount", "{e}");

        // Agents add what is theirs only: a tag, a note, a corrected intent.
        let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
        let r = app
            .patch(
                &admin,
                &format!("/api/v1/tickets/{id}"),
                json!({"version": t["version"], "tags": ["zz-risk-hold"], "intent": "scam_report"}),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let r = app
            .post(
                &admin,
                &format!("/api/v1/tickets/{id}/notes"),
                json!({"body": "zz-note: counterparty wallet flagged"}),
            )
            .await;
        assert!(r.status().is_success());

        // The customer's page shows the case as given, read-only, and nothing internal.
        let r = web.get(&format!("/portal/tickets/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        let case = r
            .body
            .split("<section class=\"case\"")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap_or_else(|| panic!("no case section: {}", r.body));
        for shown in [
            "Case details",
            "A withdrawal is stuck or missing",
            "Network",
            "Tron",
            "USDT",
            TRON_TX,
            TRON_ADDRESS,
            "Amount",
            "25000.5",
            "2026-11-20 08:15 UTC",
            "tronscan",
        ] {
            assert!(case.contains(shown), "{shown} missing from {case}");
        }
        assert!(!case.contains("<input"), "read-only");
        for internal in [
            "zz-risk-hold",
            "zz-note",
            "scam_report",
            "withdrawal_delayed",
        ] {
            assert!(
                !r.body.contains(internal),
                "{internal} shown to the customer"
            );
        }
        web.get("/ui/lang/zh?back=/portal").await;
        let r = web.get(&format!("/portal/tickets/{id}")).await;
        for shown in [
            "案件详情",
            "提现卡住或未到账",
            "网络",
            "币种",
            "数量",
            "接收地址",
            TRON_TX,
        ] {
            assert!(r.body.contains(shown), "{shown}");
        }
        // And refuses, in Chinese, an amount that would need a guess.
        let r = web.post_multipart("/portal/new", form("25,00.5")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("每三位数字分组"), "{}", r.body);
    }
);
