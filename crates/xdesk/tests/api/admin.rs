use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_test!(group_visibility_and_roles, |app| {
    let t = app
        .create_ticket(ticket_body(&app, "payments ticket"))
        .await;
    let id = t["id"].as_i64().unwrap();
    let mut b = ticket_body(&app, "accounts ticket");
    b["group_id"] = json!(app.accounts_group);
    let acc = app.create_ticket(b).await;
    // An agent sees only their group's tickets.
    assert_eq!(
        app.get(&app.other_agent_token, &format!("/api/v1/tickets/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let mine = app.get_json(&app.agent_token, "/api/v1/tickets").await;
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 1);
    // A supervisor sees their group and their team's assigned work.
    let sup = app.get_json(&app.supervisor_token, "/api/v1/tickets").await;
    assert_eq!(sup["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(sup["tickets"][0]["id"], acc["id"]);
    // Agents cannot administer.
    let r = app
        .post(&app.agent_token, "/api/v1/groups", json!({"name": "VIP"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
});

backend_test!(admin_needs_two_factor_and_reads_audit_log, |app| {
    let t = app.create_ticket(ticket_body(&app, "audited")).await;
    let id = t["id"].as_i64().unwrap();
    app.get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let plain = app.login(&app.admin_email).await;
    let r = app.get(&plain, "/api/v1/audit").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "two_factor_enrolment_required"
    );
    let admin = app.admin_token().await;
    let log = app
        .get_json(
            &admin,
            &format!("/api/v1/audit?action=ticket.view&target=ticket:{id}"),
        )
        .await;
    let entry = &log.as_array().unwrap()[0];
    assert_eq!(entry["actor"], format!("agent:{}", app.agent_id));
    assert_eq!(entry["ip"], "127.0.0.1");
    // Once enrolled, sign-in needs the code.
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": app.admin_email, "password": app.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "two_factor_required"
    );
    // Admin manages groups, agents and API keys; the key is shown once and works.
    let g: Value = app
        .post(&admin, "/api/v1/groups", json!({"name": "VIP 大客户"}))
        .await
        .json()
        .await
        .unwrap();
    let r = app.post(&admin, "/api/v1/agents", json!({"email": "new@x.test", "display_name": "New", "role": "agent", "password": PASSWORD, "group_ids": [g["id"]]})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app.post(&admin, "/api/v1/agents", json!({"email": "new@x.test", "display_name": "New", "role": "agent", "password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let k: Value = app
        .post(
            &admin,
            "/api/v1/api-keys",
            json!({"name": "exchange", "scopes": ["tickets:read"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = k["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&key, "/api/v1/tickets").await.status(),
        StatusCode::OK
    );
    let listed = app.get_json(&admin, "/api/v1/api-keys").await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["key"].is_null())
    );
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/api-keys/{}", k["id"])))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&key, "/api/v1/tickets").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
});

backend_test!(service_endpoints, |app| {
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/tickets"]["post"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let r = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("swagger"));
    app.get_json(&app.agent_token, "/api/v1/tickets").await;
    let m = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("route=\"/api/v1/tickets\""), "{m}");
    let r = app.get(&app.agent_token, "/api/v1/nope").await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "route_not_found"
    );
    app.stop().await;
});
