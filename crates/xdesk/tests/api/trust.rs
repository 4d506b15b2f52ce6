//! "Is this official?" over real HTTP: admins keep the registry; anyone checks an address,
//! handle, link, agent ID or a message's authenticity code at `/verify` (page and API, English
//! and Chinese) and lookalikes are answered NOT official, naming what they imitate; every
//! message support sends carries a code, mail shows it and the customer's anti-phishing
//! phrase (over a real SMTP server); links in customers' messages are checked.

use crate::backend_test;
use crate::backend_test_db;
use crate::support::*;
use crate::web::Web;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn registry(app: &TestApp, admin: &str) {
    for (kind, value, note) in [
        ("domain", "exchange.example", "main site"),
        ("email", "*@exchange.example", "all support mail"),
        ("telegram", "https://t.me/ExchangeSupport", "support bot"),
    ] {
        let r = app
            .post(
                admin,
                "/api/v1/official-channels",
                json!({"kind": kind, "value": value, "note": note}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{kind} {value}");
    }
}

async fn verify(app: &TestApp, q: &str) -> Value {
    let r = app
        .http
        .get(app.url("/api/v1/verify"))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{q}");
    r.json().await.unwrap()
}

backend_test!(anyone_can_check_what_is_official, |app| {
    let admin = app.admin_token().await;
    registry(&app, &admin).await;
    // Refused: an unknown kind, a value that is not of its kind, a duplicate, an agent.
    for (body, status) in [
        (
            json!({"kind": "fax", "value": "123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "phone", "value": "exchange.example"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "domain", "value": "EXCHANGE.example."}),
            StatusCode::CONFLICT,
        ),
    ] {
        let r = app.post(&admin, "/api/v1/official-channels", body).await;
        assert_eq!(r.status(), status);
    }
    let r = app
        .post(
            &app.agent_token,
            "/api/v1/official-channels",
            json!({"kind": "domain", "value": "mine.example"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Official, in any spelling; no credentials needed.
    for q in [
        "https://www.exchange.example/en/login",
        "help@Exchange.example",
        "@exchangesupport",
    ] {
        let v = verify(&app, q).await;
        assert_eq!(
            (v["official"].as_bool(), v["verdict"].as_str()),
            (Some(true), Some("official")),
            "{q}: {v}"
        );
    }
    // Lookalikes name what they imitate.
    let v = verify(&app, "https://exchаnge.example/login").await;
    assert_eq!(v["verdict"], "lookalike", "{v}");
    assert_eq!(v["official"], false);
    assert_eq!(v["channel"]["value"], "exchange.example");
    let reasons: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        reasons.contains(&"confusable") && reasons.contains(&"punycode"),
        "{v}"
    );
    assert_eq!(
        verify(&app, "exchange.example.verify-wallet.io").await["reasons"],
        json!(["contains_name"])
    );
    assert_eq!(
        verify(&app, "exchange.net").await["reasons"],
        json!(["other_tld"])
    );
    assert_eq!(
        verify(&app, "@ExchangeSupportt").await["verdict"],
        "lookalike"
    );
    assert_eq!(
        verify(&app, "satoshi@example.org").await["verdict"],
        "unknown"
    );
    let r = app
        .http
        .get(app.url("/api/v1/verify?q=a%20b%20c"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Agents: an active agent's public ID is official; a deactivated one's is not.
    let me = app.get_json(&app.agent_token, "/api/v1/agents/me").await;
    let id = me["public_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("XA-") && id.len() == 11, "{id}");
    let v = verify(&app, &id.to_lowercase()).await;
    assert_eq!(v["verdict"], "official", "{v}");
    assert_eq!(v["channel"]["note"], me["display_name"]);
    let r = app
        .post(
            &admin,
            "/api/v1/agents",
            json!({"email": "gone@x.test", "display_name": "Gone", "role": "agent",
                   "password": "correct horse battery staple"}),
        )
        .await;
    let gone: Value = r.json().await.unwrap();
    let r = app
        .http
        .put(app.url(&format!("/api/v1/agents/{}/active", gone["id"])))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let v = verify(&app, gone["public_id"].as_str().unwrap()).await;
    assert_eq!(
        (v["official"].as_bool(), v["verdict"].as_str()),
        (Some(false), Some("former_agent")),
        "{v}"
    );

    // Known phishing domains, subdomains included; an official domain cannot be listed.
    let r = app
        .post(
            &admin,
            "/api/v1/phishing-domains",
            json!({"domain": "https://exchange-airdrop.io/claim", "note": "reported"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        verify(&app, "https://claim.exchange-airdrop.io/x").await["verdict"],
        "phishing"
    );
    let r = app
        .post(
            &admin,
            "/api/v1/phishing-domains",
            json!({"domain": "login.exchange.example"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The public page, in Chinese and English.
    let mut web = Web::new(&app);
    let page = web
        .get("/verify?lang=zh&q=https%3A%2F%2Fexch%D0%B0nge.example%2Flogin")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-verdict=\"lookalike\"")
            && page.body.contains("非官方")
            && page.body.contains("冒充我们的官方网站 exchange.example"),
        "{}",
        page.body
    );
    let page = web.get("/verify?lang=en&q=exchange.example").await;
    assert!(
        page.body.contains("is an official website"),
        "{}",
        page.body
    );
    let page = web.get("/verify?lang=en&q=a+b+c").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"verify-error\""));
    app.stop().await;
});

backend_test!(messages_carry_codes_and_customer_links_are_checked, |app| {
    let admin = app.admin_token().await;
    registry(&app, &admin).await;
    let r = app
        .post(
            &admin,
            "/api/v1/phishing-domains",
            json!({"domain": "exchange-airdrop.io"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // A customer writes with a lookalike link.
    let mut body = ticket_body(&app, "Is this your site?");
    body["body"] = json!("我在 https://exchаnge.example/login 登录后资产不见了");
    let t = app.create_ticket(body).await;
    let id = t["id"].as_i64().unwrap();
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert!(
        detail["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("phishing-link")),
        "{detail}"
    );
    let warning = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"].as_str().unwrap().contains("不是我们的官方网站"))
        .cloned()
        .unwrap_or_else(|| panic!("no warning: {detail}"));
    assert!(
        warning["body"]
            .as_str()
            .unwrap()
            .contains("冒充 exchange.example"),
        "{warning}"
    );
    let events = app.verified_events(id).await;
    let e = events
        .iter()
        .find(|e| e["kind"] == "suspicious_link")
        .unwrap_or_else(|| panic!("no suspicious_link event"));
    assert_eq!(e["data"]["imitates"], "exchange.example");
    assert_eq!(e["data"]["verdict"], "lookalike");

    // The agent's reply carries a code; /verify names the ticket, the date and the channel,
    // never the content. The customer's own message carries none.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "请勿再访问该网站，我们已冻结您的账户。"}),
        )
        .await;
    assert!(r.status().is_success());
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let messages = detail["messages"].as_array().unwrap();
    assert!(messages[0]["verify_code"].is_null(), "{}", messages[0]);
    let reply = messages
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .unwrap();
    let code = reply["verify_code"].as_str().unwrap().to_owned();
    let v = verify(&app, &code.to_lowercase().replace('-', " ")).await;
    assert_eq!(
        (v["official"].as_bool(), v["verdict"].as_str()),
        (Some(true), Some("message")),
        "{v}"
    );
    assert_eq!(v["message"]["ticket_number"], t["number"]);
    assert_eq!(v["message"]["channel"], reply["channel"]);
    assert!(!v.to_string().contains("冻结"), "{v}");
    let v = verify(&app, "AAAA-BBBB-CCCC").await;
    assert_eq!(
        (v["official"].as_bool(), v["verdict"].as_str()),
        (Some(false), Some("unknown_code"))
    );
    // The portal shows the code with a link to check it.
    let mut customer = app.portal_as(t["customer_id"].as_i64().unwrap()).await;
    let page = customer.get(&format!("/portal/tickets/{id}")).await.body;
    assert!(page.contains(&format!("/verify?q={code}")), "{page}");

    // A reply with a known phishing link is flagged too.
    let csrf = customer.csrf();
    let form = reqwest::multipart::Form::new().text("csrf", csrf).text(
        "body",
        "They sent me www.claim.exchange-airdrop.io, is it yours?",
    );
    let r = customer
        .post_multipart(&format!("/portal/tickets/{id}/reply"), form)
        .await;
    assert!(
        r.status.is_redirection() || r.status.is_success(),
        "{}",
        r.status
    );
    let events = app.verified_events(id).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "suspicious_link" && e["data"]["verdict"] == "phishing"),
        "{events:?}"
    );
    // Links to official sites and unrelated ones raise nothing.
    let mut fine = ticket_body(&app, "Normal");
    fine["customer"] = json!({"email": "bob@example.com"});
    fine["body"] = json!("See https://exchange.example/faq and https://docs.rs/");
    let fine = app.create_ticket(fine).await;
    let events = app.verified_events(fine["id"].as_i64().unwrap()).await;
    assert!(!events.iter().any(|e| e["kind"] == "suspicious_link"));
    app.stop().await;
});

// Mail shows the customer's anti-phishing phrase on top and the authenticity code at the end,
// the same code /verify knows.
backend_test_db!(mail_shows_the_phrase_and_the_code, |db| {
    let smtp = SmtpCapture::start().await;
    let settings = smtp.settings();
    let Some(app) = spawn_app_with(db, move |c| c.smtp = Some(settings)).await else {
        return;
    };
    let raw = b"From: Mei <mei@example.com>\r\nTo: support@xdesk.test\r\nSubject: KYC stuck\r\nMessage-ID: <trust1@example.com>\r\n\r\nMy KYC has been pending for a week.\r\n";
    let (status, v) = app.post_mail(raw).await;
    assert!(status.is_success(), "{v}");
    let id = v["ticket_id"].as_i64().unwrap();
    let parse = |raw: &str| -> (String, String) {
        let m = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        (
            m.subject().unwrap_or_default().to_owned(),
            m.body_text(0).unwrap_or_default().into_owned(),
        )
    };
    let ack = parse(&smtp.wait_for(1).await[0]).1;
    let code_of = |text: &str| -> String {
        let at = text
            .find("Authenticity code: ")
            .unwrap_or_else(|| panic!("{text}"));
        text[at + 19..at + 33].to_owned()
    };
    let ack_code = code_of(&ack);
    assert!(!ack.contains("anti-phishing phrase"), "{ack}");
    let v = verify(&app, &ack_code).await;
    assert_eq!(v["verdict"], "message", "{v}");
    assert_eq!(v["message"]["channel"], "email");

    // The customer sets a phrase in the portal; the next mail shows it first.
    let detail = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    let mut portal = app.portal_as(detail["customer_id"].as_i64().unwrap()).await;
    let home = portal.get("/portal").await;
    assert!(home.body.contains("id=\"phrase\""));
    let csrf = portal.csrf();
    let r = portal
        .post(
            "/portal/phrase",
            &[("csrf", csrf.as_str()), ("phrase", "blue otter 42")],
        )
        .await;
    assert_eq!(r.location(), "/portal");
    let r = portal
        .post(
            "/portal/phrase",
            &[("csrf", csrf.as_str()), ("phrase", "line one\nline two")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = portal
        .post("/portal/phrase", &[("csrf", "forged"), ("phrase", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let admin = app.admin_token().await;
    let r = app
        .post(
            &admin,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "Your KYC is approved."}),
        )
        .await;
    assert!(r.status().is_success());
    let reply = parse(&smtp.wait_for(2).await[1]).1;
    assert!(
        reply.starts_with("Your anti-phishing phrase: blue otter 42"),
        "{reply}"
    );
    let code = code_of(&reply);
    let detail = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    let agent = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(agent["verify_code"], code.as_str());
    app.stop().await;
});
