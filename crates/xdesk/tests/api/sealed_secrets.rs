//! Secrets at rest: the database holds agents' TOTP secrets, mailbox passwords and integration
//! signing secrets only sealed with a key kept outside it; sign-in and everything else still
//! work; a sealed value moved to another row does not open; plaintext from before is sealed at
//! start-up; a key rotation keeps everything working without the old key; an empty signing
//! secret is refused.

use crate::backend_test;
use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xdesk_service::Principal;
use xdesk_store::{SecretColumn, StoredSecret};

const MAILBOX_PASSWORD: &str = "imap-password-Jq7v";

fn services(app: &TestApp) -> xdesk_service::Services {
    app.running.as_ref().unwrap().services.clone()
}

/// The TOTP secret as xdesk keeps it before sealing (URL-safe base64 of the raw bytes).
fn stored_totp_form(base32: &str) -> String {
    let raw = totp_rs::Secret::Encoded(base32.to_owned())
        .to_bytes()
        .unwrap();
    URL_SAFE_NO_PAD.encode(raw)
}

fn admin_principal(id: i64) -> Principal {
    Principal::Agent {
        id,
        role: xdesk_domain::identity::Role::Admin,
        group_ids: Vec::new(),
        two_factor: true,
    }
}

async fn agent_id(app: &TestApp, token: &str) -> i64 {
    app.get_json(token, "/api/v1/agents/me").await["id"]
        .as_i64()
        .unwrap()
}

/// A TOTP code of the next 30-second step: accepted as clock skew and not used yet.
fn next_code(base32: &str) -> String {
    let secret = totp_rs::Secret::Encoded(base32.to_owned())
        .to_bytes()
        .unwrap();
    let t = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret).unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    t.generate((now / 30 + 1) * 30)
}

async fn login_with_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": app.password, "totp": code}))
        .send()
        .await
        .unwrap()
}

/// Everything the tests store: the admin's TOTP secret (base32), a mailbox and an
/// integration secret.
struct Secrets {
    totp_base32: String,
    admin_token: String,
    admin_id: i64,
    mailbox_id: i64,
    integration_id: i64,
    integration_secret: String,
}

async fn store_secrets(app: &TestApp) -> Secrets {
    let admin_token = app.login(&app.admin_email).await;
    let totp_base32 = app.enrol_totp(&admin_token).await;
    let admin_id = agent_id(app, &admin_token).await;
    let r = app
        .post(
            &admin_token,
            "/api/v1/mailboxes",
            json!({"name": "support", "host": "127.0.0.1", "port": 1, "tls": "none",
                   "username": "support", "password": MAILBOX_PASSWORD, "active": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mailbox_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (row, integration_secret) = services(app)
        .create_integration(&admin_principal(admin_id), "exchange-web")
        .await
        .unwrap();
    Secrets {
        totp_base32,
        admin_token,
        admin_id,
        mailbox_id,
        integration_id: row.id,
        integration_secret,
    }
}

/// The raw stored value of one secret column of a row.
async fn raw(app: &TestApp, column: SecretColumn, row_id: i64) -> String {
    services(app)
        .store
        .stored_secrets()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.column == column && s.row_id == row_id)
        .map(|s: StoredSecret| s.value)
        .unwrap_or_else(|| panic!("no {column:?} in row {row_id}"))
}

/// The three work with what is stored: TOTP sign-in, the poller's mailbox password, an
/// identity claim signed with the integration's secret.
async fn assert_all_work(app: &TestApp, s: &Secrets) {
    // A code is good once: forget the step an earlier check in this test used.
    set_raw(
        app,
        &format!(
            "UPDATE agents SET totp_last_step = NULL WHERE id = {}",
            s.admin_id
        ),
    )
    .await;
    let r = login_with_code(app, &app.admin_email, &next_code(&s.totp_base32)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let boxes = services(app).mailboxes_for_polling().await.unwrap();
    let mailbox = boxes.iter().find(|m| m.id == s.mailbox_id).unwrap();
    assert_eq!(mailbox.password, MAILBOX_PASSWORD);
    let exp = chrono::Utc::now().timestamp() + 600;
    let claim = xdesk_domain::chat_token::sign(
        &json!({"sub": "U5005", "exp": exp}),
        s.integration_secret.as_bytes(),
    );
    let who = services(app).identity_claims(&claim).await.unwrap();
    assert_eq!(who.map(|c| c.sub).as_deref(), Some("U5005"));
}

/// Stops the server and starts it again on the same database and data directory, with the
/// configuration changed by `configure`.
async fn restart(app: &mut TestApp, configure: impl FnOnce(&mut xdesk::Config)) {
    if let Some(r) = app.running.take() {
        let _ = r.shutdown.send(());
        r.task.await.unwrap().unwrap();
        r.services.store.close().await.ok();
    }
    configure(&mut app.config);
    let running = xdesk::start(&app.config)
        .await
        .expect("server starts again");
    app.base = format!("http://{}", running.addr);
    app.running = Some(running);
}

async fn set_raw(app: &TestApp, sql: &str) {
    services(app).store.execute_unprepared(sql).await.unwrap();
}

backend_test!(secrets_are_stored_sealed_and_bound_to_their_rows, |app| {
    let s = store_secrets(&app).await;
    let totp_plain = stored_totp_form(&s.totp_base32);
    for (column, id, plain) in [
        (SecretColumn::AgentTotp, s.admin_id, totp_plain.as_str()),
        (
            SecretColumn::MailboxPassword,
            s.mailbox_id,
            MAILBOX_PASSWORD,
        ),
        (
            SecretColumn::IntegrationSecret,
            s.integration_id,
            s.integration_secret.as_str(),
        ),
    ] {
        let v = raw(&app, column, id).await;
        assert!(v.starts_with("enc:v1:"), "{column:?} stored as {v}");
        assert!(!v.contains(plain), "{column:?} stored in plain text");
        if app.config.database_url.starts_with("sqlite:") {
            assert!(
                !stored_bytes_contain(&app, plain),
                "{column:?} found on disk in plain text"
            );
        }
    }
    // The key is not in the database: it is the file the first start made, owner-only.
    let key_file = app.config.data_dir.join("secrets.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    if app.config.database_url.starts_with("sqlite:") {
        assert!(!on_disk_except(&app, key.trim(), &key_file));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    assert_all_work(&app, &s).await;

    // Another agent enrols; the admin's sealed secret copied into their row does not open
    // there: a clear error, no sign-in, and the server goes on.
    let agent_secret = app.enrol_totp(&app.agent_token).await;
    let victim = app.agent_id;
    let admin_sealed = raw(&app, SecretColumn::AgentTotp, s.admin_id).await;
    set_raw(
        &app,
        &format!("UPDATE agents SET totp_secret = '{admin_sealed}' WHERE id = {victim}"),
    )
    .await;
    let r = login_with_code(&app, "agent@x.test", &next_code(&s.totp_base32)).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "secret_unreadable", "{body}");
    let r = login_with_code(&app, "agent@x.test", &next_code(&agent_secret)).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // Plaintext written by hand is refused like a tampered value.
    set_raw(
        &app,
        &format!(
            "UPDATE agents SET totp_secret = '{}' WHERE id = {victim}",
            stored_totp_form(&agent_secret)
        ),
    )
    .await;
    let r = login_with_code(&app, "agent@x.test", &next_code(&agent_secret)).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // A mailbox password moved to another mailbox is left out of polling, with the reason.
    let r = app
        .post(
            &s.admin_token,
            "/api/v1/mailboxes",
            json!({"name": "other", "host": "127.0.0.1", "port": 1, "tls": "none",
                   "username": "other", "password": "other-password", "active": false}),
        )
        .await;
    let other = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let sealed = raw(&app, SecretColumn::MailboxPassword, s.mailbox_id).await;
    set_raw(
        &app,
        &format!("UPDATE mailboxes SET password = '{sealed}' WHERE id = {other}"),
    )
    .await;
    let boxes = services(&app).mailboxes_for_polling().await.unwrap();
    assert!(boxes.iter().all(|m| m.id != other));
    let listed = app.get_json(&s.admin_token, "/api/v1/mailboxes").await;
    let listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == other)
        .cloned()
        .unwrap();
    assert!(
        listed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("mailboxes.password")),
        "{listed}"
    );
    // Everyone else still works.
    assert_all_work(&app, &s).await;
    app.stop().await;
});

/// Whether `needle` is on disk anywhere but in `except`.
fn on_disk_except(app: &TestApp, needle: &str, except: &std::path::Path) -> bool {
    fn walk(dir: &std::path::Path, needle: &[u8], except: &std::path::Path) -> bool {
        std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let p = e.path();
            if p == except {
                false
            } else if p.is_dir() {
                walk(&p, needle, except)
            } else {
                let b = std::fs::read(&p).unwrap_or_default();
                b.windows(needle.len()).any(|w| w == needle)
            }
        })
    }
    walk(app._dir.path(), needle.as_bytes(), except)
}

backend_test!(plaintext_from_before_is_sealed_at_start, |app| {
    let mut app = app;
    let s = store_secrets(&app).await;
    // As an older xdesk left them: plaintext in every column.
    let plain_totp = stored_totp_form(&s.totp_base32);
    set_raw(
        &app,
        &format!(
            "UPDATE agents SET totp_secret = '{plain_totp}' WHERE id = {}",
            s.admin_id
        ),
    )
    .await;
    set_raw(
        &app,
        &format!(
            "UPDATE mailboxes SET password = '{MAILBOX_PASSWORD}' WHERE id = {}",
            s.mailbox_id
        ),
    )
    .await;
    set_raw(
        &app,
        &format!(
            "UPDATE integrations SET secret = '{}' WHERE id = {}",
            s.integration_secret, s.integration_id
        ),
    )
    .await;
    restart(&mut app, |_| {}).await;
    for (column, id) in [
        (SecretColumn::AgentTotp, s.admin_id),
        (SecretColumn::MailboxPassword, s.mailbox_id),
        (SecretColumn::IntegrationSecret, s.integration_id),
    ] {
        assert!(
            raw(&app, column, id).await.starts_with("enc:v1:"),
            "{column:?}"
        );
    }
    assert_all_work(&app, &s).await;
    app.stop().await;
});

backend_test!(rotating_the_key_keeps_everything_working, |app| {
    let mut app = app;
    let s = store_secrets(&app).await;
    let old_key_file = app.config.data_dir.join("secrets.key");
    // Stopped, rotated to a new key file (made by the command), started with only that key.
    if let Some(r) = app.running.take() {
        let _ = r.shutdown.send(());
        r.task.await.unwrap().unwrap();
        r.services.store.close().await.ok();
    }
    let new_key_file = app._dir.path().join("keys").join("secrets-2.key");
    let rotation = xdesk::secrets::rotate(&app.config, Some(&new_key_file))
        .await
        .unwrap();
    assert_eq!(rotation.resealed, 3);
    assert_ne!(rotation.new_key_id, rotation.old_key_id);
    // The old key is gone for good.
    std::fs::remove_file(&old_key_file).unwrap();
    let file = new_key_file.clone();
    restart(&mut app, move |c| c.secrets.key_file = Some(file)).await;
    for (column, id) in [
        (SecretColumn::AgentTotp, s.admin_id),
        (SecretColumn::MailboxPassword, s.mailbox_id),
        (SecretColumn::IntegrationSecret, s.integration_id),
    ] {
        let v = raw(&app, column, id).await;
        assert!(
            v.starts_with(&format!("enc:v1:{}:", rotation.new_key_id)),
            "{column:?}: {v}"
        );
    }
    assert_all_work(&app, &s).await;
    // New secrets are sealed with the new key too.
    let agent_secret = app.enrol_totp(&app.agent_token).await;
    assert!(
        raw(&app, SecretColumn::AgentTotp, app.agent_id)
            .await
            .contains(&rotation.new_key_id)
    );
    let r = login_with_code(&app, "agent@x.test", &next_code(&agent_secret)).await;
    assert_eq!(r.status(), StatusCode::OK);

    // With a key that sealed none of them, xdesk refuses to start and says why.
    if let Some(r) = app.running.take() {
        let _ = r.shutdown.send(());
        r.task.await.unwrap().unwrap();
        r.services.store.close().await.ok();
    }
    let mut wrong = app.config.clone();
    wrong.secrets.key_file = None;
    wrong.secrets.key = Some(base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
    let err = match xdesk::start(&wrong).await {
        Ok(_) => panic!("started with the wrong key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("not configured"), "{err}");
    // Both keys during a rotation: the new one current, the old one still readable; then
    // everything is re-sealed with the current key and the old one can go.
    let third = app._dir.path().join("keys").join("secrets-3.key");
    std::fs::write(
        &third,
        format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode([9u8; 32])
        ),
    )
    .unwrap();
    let mut rotating = app.config.clone();
    rotating.secrets.key_file = Some(third.clone());
    rotating.secrets.previous_key_files = vec![new_key_file.clone()];
    let same = xdesk::secrets::rotate(&rotating, Some(&third))
        .await
        .unwrap_err();
    assert!(format!("{same:#}").contains("in use"), "{same:#}");
    let finished = xdesk::secrets::rotate(&rotating, None).await.unwrap();
    assert_eq!(finished.resealed, 4);
    restart(&mut app, move |c| {
        c.secrets.key_file = Some(third);
        c.secrets.previous_key_files = Vec::new();
    })
    .await;
    assert_all_work(&app, &s).await;
    app.stop().await;
});

#[tokio::test]
async fn an_empty_signing_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = xdesk::Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/xdesk.db?mode=rwc", dir.path().display()),
        data_dir: dir.path().join("data"),
        chat: xdesk::config::ChatConfig {
            identity_secret: Some("  ".into()),
            ..Default::default()
        },
        ..xdesk::Config::default()
    };
    let err = match xdesk::open(&config).await {
        Ok(_) => panic!("opened with an empty chat.identity_secret"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("chat.identity_secret"), "{err}");
    let e = xdesk_service::secrets::check_signing_secret("secret", "").unwrap_err();
    assert_eq!(e.code, "empty_signing_secret");
}
