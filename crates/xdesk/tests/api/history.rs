use crate::backend_test;
use crate::support::*;
use serde_json::{Value, json};

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
    tokio::process::Command::new(env!("CARGO_BIN_EXE_xdesk"))
        .arg("verify-history")
        .arg(ticket)
        .env("XDESK_DATABASE_URL", &app.config.database_url)
        .env("XDESK_DATA_DIR", &app.config.data_dir)
        .env("XDESK_CONFIG", "/nonexistent/xdesk.toml")
        .output()
        .await
        .unwrap()
}
