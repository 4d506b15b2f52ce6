use crate::backend_test;
use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use xdesk_domain::anchor::{AnchorStatus, Checkpoint, verify_transcript};
use xdesk_domain::event::sha256_hex;
use xdesk_domain::evidence::ProblemKind;
use xdesk_service::Principal;
use xdesk_service::anchor::{HistoryAudit, LogState};

backend_test!(tampering_is_detected_by_api_and_cli, |app| {
    let t = app.create_ticket(ticket_body(&app, "evidence")).await;
    let id = t["id"].as_i64().unwrap();
    app.post(
        &app.agent_token,
        &format!("/api/v1/tickets/{id}/replies"),
        json!({"body": "Funds will arrive in 2 hours."}),
    )
    .await;
    let h = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}/history"))
        .await;
    assert_eq!(h["verification"]["valid"], true);
    let n = h["events"].as_array().unwrap().len();
    assert!(n >= 3, "created, message, update, reply: {h}");
    let cli_ok = verify_cli(&app, t["number"].as_str().unwrap()).await;
    assert!(
        cli_ok.status.success(),
        "{}",
        String::from_utf8_lossy(&cli_ok.stderr)
    );
    // Someone with database access rewrites what the agent promised.
    let changed = app
        .running
        .as_ref()
        .unwrap()
        .services
        .store
        .execute_unprepared(&format!(
            "UPDATE ticket_events SET actor = 'agent:999' WHERE ticket_id = {id} AND seq = 2"
        ))
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let h: Value = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}/history"))
        .await;
    assert_eq!(h["verification"]["valid"], false);
    assert_eq!(h["verification"]["broken_at_seq"], 2);
    let out = verify_cli(&app, &id.to_string()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN"));
    // Deleting the last event is caught too (the ticket row keeps the head).
    let store = &app.running.as_ref().unwrap().services.store;
    store
        .execute_unprepared(&format!(
            "UPDATE ticket_events SET actor = 'api_key:1' WHERE ticket_id = {id} AND seq = 2"
        ))
        .await
        .unwrap();
    let last = n as i64;
    store
        .execute_unprepared(&format!(
            "DELETE FROM ticket_events WHERE ticket_id = {id} AND seq = {last}"
        ))
        .await
        .unwrap();
    let h: Value = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}/history"))
        .await;
    assert_eq!(h["verification"]["valid"], false, "{h}");
    app.stop().await;
});

async fn verify_cli(app: &TestApp, ticket: &str) -> std::process::Output {
    xdesk_cli(app, &["verify-history", ticket], &[]).await
}

/// Runs the built binary on the test app's database and data directory.
async fn xdesk_cli(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_xdesk"))
        .args(args)
        .env("XDESK_DATABASE_URL", &app.config.database_url)
        .env("XDESK_DATA_DIR", &app.config.data_dir)
        .env("XDESK_CONFIG", "/nonexistent/xdesk.toml")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

const SEED: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn services(app: &TestApp) -> &xdesk_service::Services {
    &app.running.as_ref().unwrap().services
}

async fn audit(app: &TestApp) -> HistoryAudit {
    services(app)
        .audit_all_history(&Principal::System)
        .await
        .unwrap()
}

fn failed_ids(a: &HistoryAudit) -> BTreeSet<i64> {
    a.failed.iter().map(|t| t.ticket_id).collect()
}

fn id_of(t: &Value) -> i64 {
    t["id"].as_i64().unwrap()
}

async fn reply(app: &TestApp, id: i64, body: &str) {
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({ "body": body }),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
}

/// A ticket of customer `email` with one small file.
fn with_file(app: &TestApp, subject: &str, email: &str, file: &[u8]) -> Value {
    use base64::Engine;
    json!({
        "group_id": app.payments_group,
        "subject": subject,
        "body": "Here is my payment proof.",
        "customer": {"email": email},
        "attachments": [{"filename": "proof.txt", "content_type": "text/plain",
                         "content_base64": base64::engine::general_purpose::STANDARD.encode(file)}],
    })
}

/// A webhook receiver on loopback that keeps every body POSTed to it.
async fn webhook() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/checkpoints",
        axum::routing::post(move |body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/checkpoints", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// What an attacker with full write access to the database does: rewrites the body of message
/// `message_id`, then the event that recorded it, every hash after it, and the ticket's head
/// and count, all with xdesk's own hashing, so the chain verifies again.
async fn rewrite_history(app: &TestApp, ticket: i64, message_id: i64, body: &str) {
    let store = &services(app).store;
    let q = |s: &str| s.replace('\'', "''");
    store
        .execute_unprepared(&format!(
            "UPDATE messages SET body_text = '{}' WHERE id = {message_id}",
            q(body)
        ))
        .await
        .unwrap();
    let mut events = store.events(ticket).await.unwrap();
    let at = events
        .iter()
        .position(|e| e.kind == "message_added" && e.data["message_id"] == message_id)
        .unwrap();
    events[at].data["body_sha256"] = json!(sha256_hex(body.as_bytes()));
    for i in at..events.len() {
        if i > 0 {
            events[i].prev_hash = events[i - 1].hash.clone();
        }
        events[i].hash = events[i].expected_hash();
        let e = &events[i];
        store
            .execute_unprepared(&format!(
                "UPDATE ticket_events SET data = '{}', prev_hash = '{}', hash = '{}' WHERE ticket_id = {ticket} AND seq = {}",
                q(&e.data.to_string()),
                e.prev_hash,
                e.hash,
                e.seq
            ))
            .await
            .unwrap();
    }
    let head = &events.last().unwrap().hash;
    store
        .execute_unprepared(&format!(
            "UPDATE tickets SET head_hash = '{head}', event_count = {} WHERE id = {ticket}",
            events.len()
        ))
        .await
        .unwrap();
}

backend_test!(
    checkpoints_anchor_every_history_outside_the_database,
    |app| {
        let s = services(&app);
        // Histories that xdesk itself changed on the way: a seed phrase cut out before storage,
        // and a duplicate merged into another ticket with its file.
        let intact = id_of(&app.create_ticket(ticket_body(&app, "intact")).await);
        reply(&app, intact, "We are looking into it.").await;
        let mut b = ticket_body(&app, "secret");
        b["body"] = json!(format!("My words: {SEED}. Balance is zero?"));
        let redacted = id_of(&app.create_ticket(b).await);
        let keep = id_of(
            &app.create_ticket(with_file(&app, "keep", "m@example.com", b"proof 1"))
                .await,
        );
        let dup = id_of(
            &app.create_ticket(with_file(&app, "dup", "m@example.com", b"proof 2"))
                .await,
        );
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup}/merge"),
                json!({ "into": keep }),
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::OK, "merge");
        let grows = id_of(&app.create_ticket(ticket_body(&app, "grows")).await);
        let rewritten = id_of(&app.create_ticket(ticket_body(&app, "rewritten")).await);
        reply(&app, rewritten, "Funds will arrive in 2 hours.").await;
        let edited = id_of(&app.create_ticket(ticket_body(&app, "edited")).await);
        reply(&app, edited, "Your 1250 USDT was credited.").await;
        let filed = app
            .create_ticket(with_file(&app, "filed", "f@example.com", b"bank receipt"))
            .await;
        let sha = filed["messages"][0]["attachments"][0]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(sha, sha256_hex(b"bank receipt"));
        let filed = id_of(&filed);

        // No checkpoint yet: every history matches, but the audit cannot pass unanchored.
        let a = audit(&app).await;
        assert!(failed_ids(&a).is_empty(), "{a:#?}");
        assert!(matches!(a.log, LogState::Absent { .. }), "{a:#?}");
        assert!(!a.ok);
        let out = xdesk_cli(&app, &["verify-history", "--all"], &[]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no checkpoint log"));

        // The first checkpoint, published to a webhook too, as `xdesk anchor` writes it.
        let (url, published) = webhook().await;
        let (c1, err) = xdesk::anchor::checkpoint(s, Some(&url), false)
            .await
            .unwrap()
            .unwrap();
        assert!(err.is_none(), "{err:?}");
        assert_eq!((c1.seq, c1.tickets), (1, 8));
        let log_file = app.config.anchor_log_file();
        let log = std::fs::read_to_string(&log_file).unwrap();
        assert_eq!(log, format!("{}\n", c1.to_line()));
        assert_eq!(*published.lock().unwrap(), vec![c1.to_line()]);
        // The key file sits outside the database, for its owner only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(app.config.anchor_key_file())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing changed: the schedule writes nothing.
        assert!(
            xdesk::anchor::checkpoint(s, None, true)
                .await
                .unwrap()
                .is_none()
        );
        let a = audit(&app).await;
        assert!(a.ok, "{a:#?}");
        assert_eq!(a.tickets_checked, 8);
        let out = xdesk_cli(&app, &["verify-history", "--all"], &[]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // Life goes on: a ticket grows, a new one comes; both pass, and the next checkpoint
        // (only when something changed) follows the first.
        reply(&app, grows, "Still checking with the chain team.").await;
        let newer = id_of(&app.create_ticket(ticket_body(&app, "newer")).await);
        let a = audit(&app).await;
        assert!(a.ok, "{a:#?}");
        assert!(a.extended_since_checkpoint >= 1);
        assert_eq!(a.new_since_checkpoint, 1);
        let (c2, _) = xdesk::anchor::checkpoint(s, None, true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c2.seq, c2.tickets), (2, 9));
        assert_eq!(c2.prev, xdesk_domain::anchor::line_hash(&c1.to_line()));
        reply(&app, grows, "Found it.").await;
        let a = audit(&app).await;
        assert!(a.ok, "{a:#?}");

        // The customer's transcript carries the proof, checkable from the JSON alone.
        let customer = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{intact}"))
            .await["customer_id"]
            .as_i64()
            .unwrap();
        let mut web = app.portal_as(customer).await;
        let page = web
            .get(&format!("/portal/tickets/{grows}/transcript.json"))
            .await;
        assert_eq!(page.status, reqwest::StatusCode::OK);
        let tr: Value = serde_json::from_str(&page.body).unwrap();
        let v = verify_transcript(&tr).unwrap();
        assert_eq!(v.checkpoint_seq, 2);
        assert_eq!(v.public_key, c2.key);
        // It grew after the checkpoint: the anchored head is an earlier link of its chain.
        assert!(!v.export_is_anchored);
        let chain = app.verified_events(grows).await;
        assert!(chain.iter().any(|e| e["hash"] == v.anchored_head.as_str()));
        let mut forged = tr.clone();
        forged["anchor"]["head"] = json!(chain[0]["hash"]);
        assert!(verify_transcript(&forged).is_err());
        let html = web
            .get(&format!("/portal/tickets/{intact}/transcript.html"))
            .await;
        assert!(html.body.contains(&c2.key), "{}", html.body);

        // The attacks. 1: a promise rewritten, and the chain recomputed as xdesk would.
        let d = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{rewritten}"))
            .await;
        let promise = d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["body"] == "Funds will arrive in 2 hours.")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        rewrite_history(&app, rewritten, promise, "Funds will arrive in 2 weeks.").await;
        // The database alone is fooled: the chain, bodies and files all agree with each other.
        let h = app
            .get_json(
                &app.agent_token,
                &format!("/api/v1/tickets/{rewritten}/history"),
            )
            .await;
        assert_eq!(h["verification"]["valid"], true, "{h}");
        // 2: a body changed, the chain left alone.
        let d = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{edited}"))
            .await;
        let credited = d["messages"][1]["id"].as_i64().unwrap();
        services(&app)
        .store
        .execute_unprepared(&format!(
            "UPDATE messages SET body_text = 'Your 12.50 USDT was credited.' WHERE id = {credited}"
        ))
        .await
        .unwrap();
        // 3: an attachment's file replaced on disk.
        let path = app
            .config
            .data_dir
            .join("attachments")
            .join(&sha[..2])
            .join(&sha);
        assert!(path.exists(), "{}", path.display());
        std::fs::write(&path, b"forged receipt").unwrap();

        let a = audit(&app).await;
        assert!(!a.ok);
        assert_eq!(
            failed_ids(&a),
            BTreeSet::from([rewritten, edited, filed]),
            "{a:#?}"
        );
        let by_id = |id: i64| a.failed.iter().find(|t| t.ticket_id == id).unwrap();
        let r = by_id(rewritten);
        assert!(r.chain.valid && r.content.is_empty(), "{r:#?}");
        assert!(
            matches!(r.anchor, AnchorStatus::NotInChain { .. }),
            "{r:#?}"
        );
        let e = by_id(edited);
        assert_eq!(e.content.len(), 1, "{e:#?}");
        assert_eq!(e.content[0].kind, ProblemKind::BodyChanged);
        assert_eq!(e.content[0].message_id, Some(credited));
        assert!(e.content[0].seq.is_some());
        let f = by_id(filed);
        assert_eq!(f.content[0].kind, ProblemKind::FileChanged, "{f:#?}");
        for id in [intact, redacted, keep, dup, grows, newer] {
            assert!(!failed_ids(&a).contains(&id));
        }
        // The command says so, ticket by ticket, and fails.
        let out = xdesk_cli(&app, &["verify-history", "--all"], &[]).await;
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        for (id, what) in [
            (rewritten, "is not in its chain"),
            (edited, &format!("body of message {credited}") as &str),
            (filed, "hashes to"),
        ] {
            let number = format!("XD-{}", 10000 + id);
            assert!(
                err.lines().any(|l| l.contains(&number) && l.contains(what)),
                "{number} {what}: {err}"
            );
        }
        let one = verify_cli(&app, &format!("XD-{}", 10000 + rewritten)).await;
        assert_eq!(one.status.code(), Some(1));
        let one = verify_cli(&app, &format!("XD-{}", 10000 + edited)).await;
        assert_eq!(one.status.code(), Some(1));
        assert!(verify_cli(&app, &intact.to_string()).await.status.success());
        // No checkpoint will sign the rewritten history as if it were the real one.
        let refused = xdesk::anchor::checkpoint(s, None, true).await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains(&format!("XD-{}", 10000 + rewritten)),
            "{refused}"
        );
        assert_eq!(
            std::fs::read_to_string(&log_file).unwrap().lines().count(),
            2
        );

        // The log itself: an edited line, a line signed with another key, heads that are not
        // the signed ones: each is reported.
        let good = std::fs::read_to_string(&log_file).unwrap();
        let mut c = Checkpoint::parse_line(good.lines().nth(1).unwrap()).unwrap();
        c.tickets += 1;
        std::fs::write(&log_file, format!("{}\n{}\n", c1.to_line(), c.to_line())).unwrap();
        let a = audit(&app).await;
        match &a.log {
            LogState::Broken { reason, .. } => {
                assert!(
                    reason.contains("line 2") && reason.contains("signature"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(!a.ok);
        std::fs::write(&log_file, &good).unwrap();
        let other_key = "11".repeat(32);
        let out = xdesk_cli(
            &app,
            &["verify-history", "--all"],
            &[("XDESK_ANCHOR__KEY", &other_key)],
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not by the trusted key"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let heads = log_file
            .with_file_name("checkpoints.jsonl.heads")
            .join("2.json");
        let kept = std::fs::read_to_string(&heads).unwrap();
        let mut snapshot: Value = serde_json::from_str(&kept).unwrap();
        snapshot["heads"][0]["head"] = json!(sha256_hex(b"other"));
        std::fs::write(&heads, snapshot.to_string()).unwrap();
        assert!(matches!(audit(&app).await.log, LogState::Broken { .. }));
        std::fs::write(&heads, &kept).unwrap();
        app.stop().await;
    }
);
