//! Agents' status across nodes: signing in at the console sets an agent online (unless the node
//! is configured otherwise), the header's switch changes it on any page, and the chat widget
//! and the team page of another node on the same database follow at once; the last session
//! ending (signed out or expired) sets the agent offline.

use crate::chat::{expect, go_online};
use crate::support::*;
use crate::web::Web;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The `agents_online` a new chat on the node at `base` is greeted with.
async fn widget_online(base: &str) -> i64 {
    let url = format!("{}/api/v1/chat/customer", base.replacen("http", "ws", 1));
    let req = url.into_client_request().unwrap();
    let mut socket = tokio_tungstenite::connect_async(req).await.unwrap().0;
    expect(&mut socket, "welcome").await["agents_online"]
        .as_i64()
        .unwrap()
}

/// An agent's status as the team API of the node at `base` reports it.
async fn status_on(app: &TestApp, base: &str, agent_id: i64) -> String {
    let team: Value = app
        .http
        .get(format!("{base}/api/v1/team"))
        .bearer_auth(&app.supervisor_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    team.as_array()
        .unwrap()
        .iter()
        .find(|m| m["agent"]["id"] == agent_id)
        .unwrap()["agent"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn pressed(body: &str, status: &str) -> bool {
    body.contains(&format!(
        "value=\"{status}\" class=\"status-{status}\" aria-pressed=\"true\""
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_set_on_one_node_is_what_every_node_shows() {
    let Some(app) = spawn_app(Db::Postgres).await else {
        return;
    };
    // A second node on the same database, without Redis, whose sign-ins leave status alone.
    let dir = tempfile::tempdir().unwrap();
    let other = xdesk::start(&xdesk::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_owned(),
        agents: xdesk::config::AgentsConfig {
            online_on_sign_in: false,
        },
        ..app.config.clone()
    })
    .await
    .unwrap();
    let b = format!("http://{}", other.addr);
    assert_eq!(
        widget_online(&b).await,
        0,
        "the fixtures' API sign-ins set nobody online"
    );

    // Signing in at node A's console: online, as node B's widget and team API see it.
    let mut web = Web::new(&app);
    assert_eq!(
        web.sign_in("agent@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status_on(&app, &b, app.agent_id).await, "online");
    assert_eq!(widget_online(&b).await, 1);

    // The header shows the status on every page and switches it, back to the same page.
    let page = web.get("/console/macros").await;
    assert!(pressed(&page.body, "online"), "{}", page.body);
    assert!(!pressed(&page.body, "away"));
    let csrf = web.csrf();
    let r = web
        .post(
            "/console/status",
            &[("csrf", &csrf), ("status", "away"), ("back", "/console/kb")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/console/kb");
    assert!(pressed(&web.get("/console/kb").await.body, "away"));
    assert_eq!(widget_online(&b).await, 0, "away is not online");
    // A place to go back to is on this site only.
    let r = web
        .post(
            "/console/status",
            &[
                ("csrf", &csrf),
                ("status", "away"),
                ("back", "//evil.test/"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/console");
    // Through htmx only the switch comes back, to be swapped in place.
    let req = web
        .http
        .post(format!("{}/console/status", web.base))
        .header("hx-request", "true")
        .form(&[
            ("csrf", csrf.as_str()),
            ("status", "online"),
            ("back", "/console/kb"),
        ]);
    let r = web.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("<form"), "{}", r.body);
    assert!(!r.body.contains("<html"));
    assert!(pressed(&r.body, "online"), "{}", r.body);
    assert!(
        r.body.contains("name=\"back\" value=\"/console/kb\""),
        "{}",
        r.body
    );
    assert_eq!(widget_online(&b).await, 1);

    // Node B's team page counts it. Node B does not set who signs in there online.
    let mut supervisor = Web::new(&app);
    supervisor.base = b.clone();
    assert_eq!(
        supervisor.sign_in("super@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let team = supervisor.get("/console/team").await;
    assert!(
        team.body
            .contains("data-status=\"online\" data-count=\"1\""),
        "{}",
        team.body
    );
    assert!(
        pressed(&team.body, "offline"),
        "the supervisor stayed offline"
    );

    // Signing out of one session leaves the status while another lives; the last one ending
    // sets the agent offline, everywhere.
    let r = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&app.agent_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_on(&app, &b, app.agent_id).await, "online");
    let r = web.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status_on(&app, &b, app.agent_id).await, "offline");
    assert_eq!(widget_online(&b).await, 0);

    // An agent whose sessions all expired goes offline at the next sweep of any node.
    let me: Value = app
        .get_json(&app.other_agent_token, "/api/v1/agents/me")
        .await;
    let other_id = me["id"].as_i64().unwrap();
    go_online(&app.base, &app.other_agent_token, &me["id"]).await;
    assert_eq!(widget_online(&b).await, 1);
    let store = &app.running.as_ref().unwrap().services.store;
    store
        .delete_session(&xdesk_service::auth::sha256_hex(&app.other_agent_token))
        .await
        .unwrap();
    store
        .create_session(
            &xdesk_service::auth::sha256_hex("xds_lapsedlapsedlapsedlapsed00000"),
            other_id,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    other.services.run_assignment().await.unwrap();
    assert_eq!(status_on(&app, &app.base, other_id).await, "offline");
    assert_eq!(widget_online(&app.base).await, 0);

    let _ = other.shutdown.send(());
    let _ = other.task.await;
    app.stop().await;
}
