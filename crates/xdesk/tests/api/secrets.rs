//! Seed phrases, private keys and 2FA codes are cut out before storage on every inbound path,
//! the customer is warned, and the ticket is raised to urgent and tagged.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SEED_EN: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const SEED_ZH: &str = "的 一 是 在 不 了 有 和 人 这 中 大 为 上 个";
const KEY_HEX: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

async fn history_kinds(app: &TestApp, id: i64) -> Vec<String> {
    app.verified_events(id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_warned(t: &Value, zh: bool) {
    assert_eq!(t["priority"], "urgent", "{t}");
    assert!(
        t["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "secret-exposed"),
        "{t}"
    );
    let needle = if zh { "新钱包" } else { "new wallet" };
    let warning = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "system" && m["body"].as_str().unwrap().contains(needle))
        .unwrap_or_else(|| panic!("no warning in {t}"));
    assert_eq!(warning["internal"], false);
}

backend_test!(seed_phrase_in_api_ticket_is_never_stored, |app| {
    let mut body = ticket_body(&app, "help, my 2fa code is 551234");
    body["body"] = json!(format!(
        "My recovery words: {SEED_EN}. Why is my balance zero?"
    ));
    body["body_html"] = json!(format!("<p>My recovery words: <b>{SEED_EN}</b></p>"));
    let t = app.create_ticket(body).await;
    let id = t["id"].as_i64().unwrap();
    let first = &t["messages"][0];
    assert!(
        !first["body"].as_str().unwrap().contains("sausage"),
        "{first}"
    );
    assert!(first["body"].as_str().unwrap().contains("[secret removed"));
    assert!(first["body_html"].is_null(), "the HTML copy still held it");
    assert_eq!(first["redacted"], json!(["seed_phrase", "one_time_code"]));
    assert!(!t["subject"].as_str().unwrap().contains("551234"));
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_warned(&t, false);
    assert!(
        history_kinds(&app, id)
            .await
            .contains(&"secret_redacted".to_owned())
    );
    assert!(!stored_bytes_contain(&app, "worth useful legal"));
});

backend_test!(secrets_in_replies_raise_the_ticket, |app| {
    let t = app.create_ticket(ticket_body(&app, "deposit")).await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["priority"], "high");
    // The exchange relays the customer's follow-up, in Chinese.
    let r = app
        .post(
            &app.api_key,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": format!("这是我的私钥：0x{KEY_HEX}，请帮我找回资产")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_warned(&t, true);
    let relayed = &t["messages"][1];
    assert_eq!(relayed["redacted"], json!(["private_key"]));
    assert!(!relayed["body"].as_str().unwrap().contains(KEY_HEX));
    assert!(!stored_bytes_contain(&app, KEY_HEX));

    // An agent's note is redacted too, but warns nobody a second time.
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/notes"),
            json!({"body": format!("customer read out: {SEED_ZH}")}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let msgs = t["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4, "message, relayed, warning, note: {t}");
    assert!(!msgs[3]["body"].as_str().unwrap().contains("的 一 是"));
    assert_eq!(
        msgs.iter()
            .filter(|m| m["body"].as_str().unwrap().starts_with("安全提醒"))
            .count(),
        1,
        "{t}"
    );
});

backend_test!(seed_phrase_by_email_keeps_no_original, |app| {
    let raw = format!(
        "From: Li Lei <li.lei@example.com>\r\nTo: support@exchange.test\r\nSubject: 钱包被盗\r\n\
         Message-ID: <seed1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         我的助记词：{SEED_ZH}\r\n请尽快处理\r\n"
    );
    let (status, v) = app.post_mail(raw.as_bytes()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        v["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "secret_redacted"),
        "{v}"
    );
    let id = v["ticket_id"].as_i64().unwrap();
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_warned(&t, true);
    assert_eq!(t["messages"][0]["redacted"], json!(["seed_phrase"]));
    assert!(
        t["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains("请尽快处理")
    );
    // Neither the database nor the raw-mail store holds the words; a redelivery is still a
    // duplicate.
    assert!(!stored_bytes_contain(&app, "的 一 是 在 不"));
    let (status, _) = app.post_mail(raw.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!stored_bytes_contain(&app, "的 一 是 在 不"));
});

backend_test!(hashes_and_addresses_are_not_secrets, |app| {
    let mut body = ticket_body(
        &app,
        "withdrawal 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
    );
    body["body"] = json!(
        "Tx 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 to \
         0x52908400098527886E0F7030069857D2E4169EE7, order 492817, 交易哈希 \
         4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    );
    let t = app.create_ticket(body.clone()).await;
    // Not flagged as a shared secret (triage may still judge the request itself urgent).
    let tags = t["tags"].as_array().unwrap();
    assert!(
        !tags.contains(&json!(xdesk_service::safety::SECRET_TAG)),
        "{t}"
    );
    assert_eq!(t["messages"][0]["body"], body["body"]);
    assert!(t["messages"][0].get("redacted").is_none(), "{t}");
    assert_eq!(t["messages"].as_array().unwrap().len(), 1);
});

backend_test!(unspaced_chinese_seed_phrase_is_never_stored, |app| {
    // BIP-39's all-zero entropy in the Chinese list, typed without spaces, as many do.
    let zh = "的的的的的的的的的的的在";
    let mut body = ticket_body(&app, "钱包被盗");
    body["body"] = json!(format!("我的钱包\n{zh}\n余额没了，怎么办"));
    let t = app.create_ticket(body).await;
    let first = &t["messages"][0];
    assert!(!first["body"].as_str().unwrap().contains(zh), "{first}");
    assert_eq!(first["redacted"], json!(["seed_phrase"]));
    assert!(!stored_bytes_contain(&app, zh));
    app.stop().await;
});
