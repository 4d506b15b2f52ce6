//! Backup and restore: `xdesk backup` taken while the server takes tickets, `xdesk restore`
//! into a fresh installation, and the restored history still proves itself against the
//! checkpoint signed before the backup (`xdesk verify-history --all`).

use crate::backend_test_db;
use crate::support::*;
use serde_json::json;

/// Runs the `xdesk` binary with `args` against the installation `env` describes.
async fn xdesk(args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdesk"));
    cmd.args(args).env("XDESK_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

fn installation(
    database_url: &str,
    data_dir: &std::path::Path,
    key: &std::path::Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("XDESK_DATABASE_URL", database_url.to_owned()),
        ("XDESK_DATA_DIR", data_dir.display().to_string()),
        ("XDESK_SECRETS__KEY_FILE", key.display().to_string()),
    ]
}

backend_test_db!(a_backup_taken_while_serving_restores_whole, |db| {
    let on_postgres = matches!(db, Db::Postgres);
    let Some(app) = spawn_app(db).await else {
        return;
    };
    // The operator keeps the key that seals secrets apart from backups (and from the
    // installation, which this test throws away).
    let kept = tempfile::tempdir().unwrap();
    let key = kept.path().join("secrets.key");
    std::fs::copy(app.config.secrets.key_file.clone().unwrap(), &key).unwrap();
    let source = installation(&app.config.database_url, &app.config.data_dir, &key);
    let mut files = Vec::new();
    for i in 0..5 {
        let content = format!("receipt {i} for 0.5 BTC");
        let t = app
            .create_ticket(json!({
                "subject": format!("Withdrawal {i} missing"),
                "body": "提币未到账",
                "customer": {"email": format!("b{i}@example.com")},
                "attachments": [{"filename": format!("receipt-{i}.txt"), "content_type": "text/plain",
                    "content_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &content)}],
            }))
            .await;
        files.push((t["id"].as_i64().unwrap(), content));
    }
    // A checkpoint of every history, as the server's schedule writes one.
    let out = xdesk(&["anchor"], &source).await;
    assert!(out.status.success(), "{out:?}");

    // The backup runs while customers keep writing.
    let busy = {
        let (http, url, key) = (
            app.http.clone(),
            app.url("/api/v1/tickets"),
            app.api_key.clone(),
        );
        tokio::spawn(async move {
            for i in 0..20 {
                let _ = http
                    .post(&url)
                    .bearer_auth(&key)
                    .json(
                        &json!({"subject": format!("During the backup {i}"), "body": "KYC",
                        "customer": {"email": "busy@example.com"}}),
                    )
                    .send()
                    .await;
            }
        })
    };
    let backup = tempfile::tempdir().unwrap();
    let dir = backup.path().join("b");
    let dir_s = dir.display().to_string();
    let out = xdesk(&["backup", &dir_s], &source).await;
    assert!(out.status.success(), "{out:?}");
    busy.await.unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"], 5, "{manifest}");
    assert_eq!(manifest["checkpoints"], true);
    // A second backup into the same directory is refused, and leaves the first whole.
    let out = xdesk(&["backup", &dir_s], &source).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    app.stop().await;

    // Into a fresh installation: the key that seals secrets is the operator's to bring.
    let fresh = tempfile::tempdir().unwrap();
    let url = if on_postgres {
        fresh_postgres(&postgres_url().unwrap()).await
    } else {
        format!("sqlite://{}/xdesk.db?mode=rwc", fresh.path().display())
    };
    let target = installation(&url, &fresh.path().join("data"), &key);
    let out = xdesk(&["restore", &dir_s], &target).await;
    assert!(out.status.success(), "{out:?}");
    let out = xdesk(&["verify-history", "--all"], &target).await;
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every ticket and file is there, byte for byte.
    let config = xdesk::Config {
        database_url: url.clone(),
        data_dir: fresh.path().join("data"),
        secrets: xdesk::config::SecretsConfig {
            key_file: Some(key.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let s = xdesk::open(&config).await.unwrap();
    for (id, content) in &files {
        let atts = s.store.ticket_attachments(*id).await.unwrap();
        assert_eq!(atts.len(), 1);
        let bytes = s.store.files().get(&atts[0].sha256).await.unwrap().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), *content);
    }
    s.store.close().await.unwrap();
    // Restoring over a database that holds one already is refused.
    let out = xdesk(&["restore", &dir_s], &target).await;
    assert!(!out.status.success());
});
