//! Trust boundaries under attack (issue 17): each test replays a takeover path that worked
//! against earlier builds and checks it is closed, over real HTTP and WebSockets.

use crate::chat::{Socket, expect, send};
use crate::support::*;
use crate::web::Web;
use crate::{backend_test, backend_test_db};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use xdesk_service::Principal;

async fn error_code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or_default();
    (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
}

fn services(app: &TestApp) -> &xdesk_service::Services {
    &app.running.as_ref().unwrap().services
}

async fn admin_principal(app: &TestApp) -> Principal {
    let s = services(app);
    let admin = s
        .store
        .agent_by_email(&app.admin_email)
        .await
        .unwrap()
        .unwrap();
    s.principal_of(&admin).await.unwrap()
}

backend_test!(
    a_stolen_session_cannot_replace_or_drop_the_second_factor,
    |app| {
        let token = app.login(&app.admin_email).await;
        let secret = app.enrol_totp(&token).await;
        // The session alone (no code, a wrong code) cannot start a new enrolment.
        let r = app.post(&token, "/api/v1/auth/totp", json!({})).await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::UNAUTHORIZED, "two_factor_required".into())
        );
        let r = app
            .post(
                &token,
                "/api/v1/auth/totp",
                json!({"current_code": "000000"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = app
            .http
            .post(app.url("/api/v1/auth/totp"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Two-factor is still on: a password alone does not sign in.
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": app.admin_email, "password": app.password}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(r).await,
            (StatusCode::UNAUTHORIZED, "two_factor_required".into())
        );
        // With a code from the current authenticator the agent may replace it; the old one stays
        // in force until the new one is confirmed.
        let r = app
            .post(
                &token,
                "/api/v1/auth/totp",
                json!({"current_code": totp_code(&secret)}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let fresh: Value = r.json().await.unwrap();
        let new_secret = fresh["secret_base32"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        let s = services(&app);
        let me = s
            .store
            .agent_by_email(&app.admin_email)
            .await
            .unwrap()
            .unwrap();
        assert!(me.totp_enabled, "still on while the new one waits");
        let r = app
            .post(
                &token,
                "/api/v1/auth/totp/confirm",
                json!({"code": totp_code(&new_secret)}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let audit = app
            .get_json(&token, "/api/v1/audit?action=agent.totp_replaced")
            .await;
        assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
        let refused = app
            .get_json(&token, "/api/v1/audit?action=agent.totp_replace_refused")
            .await;
        assert_eq!(refused.as_array().unwrap().len(), 3, "{refused}");
        // An admin cannot drop their own second factor either: another admin resets it.
        let me = admin_principal(&app).await;
        let Principal::Agent { id, .. } = me else {
            unreachable!()
        };
        assert!(matches!(
            s.reset_agent_two_factor(&me, id).await,
            Err(xdesk_service::ServiceError::Forbidden(_))
        ));
        app.stop().await;
    }
);

backend_test_db!(an_agent_cannot_hijack_a_customers_portal, |db| {
    let smtp = SmtpCapture::start().await;
    let settings = smtp.settings();
    let Some(app) = spawn_app_with(db, move |c| c.smtp = Some(settings)).await else {
        return;
    };
    // The exchange's backend knows its user: UID and address join at once.
    let r = app
        .post(
            &app.api_key,
            "/api/v1/customers",
            json!({"name": "Victim", "identities": [
                {"kind": "exchange_uid", "value": "U7001"},
                {"kind": "email", "value": "victim@ex.test"}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let victim: Value = r.json().await.unwrap();
    let victim_id = victim["id"].as_i64().unwrap();
    let mut body = ticket_body(&app, "Withdrawal of 3 BTC missing");
    body["customer"] = json!({"exchange_uid": "U7001"});
    let ticket = app.create_ticket(body).await;
    assert_eq!(ticket["customer_id"], victim_id);

    // A plain agent names the victim's UID with the attacker's address.
    let attack = json!({"name": "x", "identities": [
        {"kind": "exchange_uid", "value": "U7001"},
        {"kind": "email", "value": "attacker@evil.test"}]});
    let r = app
        .post(&app.agent_token, "/api/v1/customers", attack.clone())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let found: Value = r.json().await.unwrap();
    assert_eq!(found["id"], victim_id);
    let pending = found["pending_identity_links"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{found}");
    assert_eq!(pending[0]["value"], "attacker@evil.test");
    assert_eq!(pending[0]["status"], "pending");
    let link_id = pending[0]["id"].as_i64().unwrap();
    // The same through a new ticket with both identities.
    let mut body = ticket_body(&app, "Please help");
    body["customer"] = json!({"exchange_uid": "U7001", "email": "attacker2@evil.test"});
    let r = app.post(&app.agent_token, "/api/v1/tickets", body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let admin = app.admin_token().await;
    let ids = app
        .get_json(&admin, &format!("/api/v1/customers/{victim_id}"))
        .await;
    let values: Vec<&str> = ids["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["value"].as_str())
        .collect();
    assert!(
        !values.iter().any(|v| v.contains("evil.test")),
        "{values:?}"
    );

    // The attacker signs in to the portal with their address: a customer of their own, who
    // sees none of the victim's tickets.
    let mut web = Web::new(&app);
    web.get("/portal/sign-in").await;
    let csrf = web.csrf();
    let r = web
        .post(
            "/portal/sign-in",
            &[("csrf", &csrf), ("email", "attacker@evil.test")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mail = smtp.wait_for(1).await.remove(0);
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/portal/sign-in/"))
        .unwrap()
        .to_owned();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let r = web.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = web.get("/portal").await;
    assert!(
        !home.body.contains("Withdrawal of 3 BTC missing"),
        "the attacker sees the victim's ticket"
    );
    let number = ticket["number"].as_str().unwrap();
    let r = web
        .get(&format!(
            "/portal/tickets/{}",
            ticket["id"].as_i64().unwrap()
        ))
        .await;
    assert_ne!(r.status, StatusCode::OK, "{number}");

    // Only a supervisor decides, never the proposer's own role, and every step is audited.
    let link = format!("/api/v1/customers/{victim_id}/identity-links/{link_id}");
    let r = app
        .post(
            &app.other_agent_token,
            &format!("{link}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(&app.supervisor_token, &format!("{link}/reject"), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(&admin, &format!("{link}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "decided already");
    let links = app
        .get_json(
            &app.supervisor_token,
            &format!("/api/v1/customers/{victim_id}/identity-links"),
        )
        .await;
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == link_id && l["status"] == "rejected"),
        "{links}"
    );
    // A supervisor proposes a real second address; another person approves it.
    let r = app
        .post(
            &app.supervisor_token,
            &format!("/api/v1/customers/{victim_id}/identity-links"),
            json!({"kind": "email", "value": "victim.work@ex.test",
                   "reason": "customer confirmed on a recorded call"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let proposed: Value = r.json().await.unwrap();
    let next = format!(
        "/api/v1/customers/{victim_id}/identity-links/{}",
        proposed["id"]
    );
    let r = app
        .post(&app.supervisor_token, &format!("{next}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "four eyes");
    let r = app
        .post(&admin, &format!("{next}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ids = app
        .get_json(&admin, &format!("/api/v1/customers/{victim_id}"))
        .await;
    let work = ids["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"] == "victim.work@ex.test")
        .cloned()
        .unwrap_or_else(|| panic!("approved identity missing: {ids}"));
    // Unlinking is a supervisor's too, audited.
    let unlink = format!("/api/v1/customers/{victim_id}/identities/{}", work["id"]);
    let r = app
        .http
        .delete(app.url(&unlink))
        .bearer_auth(&app.agent_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .delete(app.url(&unlink))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let audit = app
        .get_json(
            &admin,
            &format!("/api/v1/audit?target=customer:{victim_id}&limit=50"),
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    for want in [
        "customer.identity_link_proposed",
        "customer.identity_link_rejected",
        "customer.identity_linked",
        "customer.identity_unlinked",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    app.stop().await;
});

backend_test!(identity_values_cannot_carry_url_syntax, |app| {
    for uid in ["U1/../admin", "U1?freeze=1", "U1#x", "U1%2F..", ".."] {
        let r = app
            .post(
                &app.api_key,
                "/api/v1/customers",
                json!({"name": "x", "identities": [{"kind": "exchange_uid", "value": uid}]}),
            )
            .await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_identity".into()),
            "{uid}"
        );
    }
    app.stop().await;
});

backend_test!(return_addresses_stay_on_this_site, |app| {
    for bad in [
        "/%09/evil.test",
        "/%0a/evil.test",
        "/%5cevil.test",
        "/%2F%2Fevil.test",
        "//evil.test",
        "https://evil.test",
        "javascript:alert(1)",
    ] {
        let enc: String = bad.bytes().map(|b| format!("%{b:02X}")).collect();
        let mut web = Web::new(&app);
        let r = web.get(&format!("/ui/lang/en?back={enc}")).await;
        assert_eq!(r.location(), "/console", "{bad}");
        let r = web.get(&format!("/console/login?next={enc}")).await;
        assert!(
            r.body.contains(r#"name="next" value="/console""#),
            "{bad}: {}",
            r.body
        );
    }
    app.stop().await;
});

backend_test_db!(probes_and_cookies_give_nothing_away, |db| {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let Some(app) = spawn_app_with(db, move |c| {
        c.public_url = Some("https://support.example".into());
        c.metrics.token = Some("metrics-secret".into());
        c.metrics.listen = Some(metrics_addr.to_string());
    })
    .await
    else {
        return;
    };
    // The API's session cookie is Secure behind HTTPS.
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "agent@x.test", "password": app.password}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    // Metrics live on their own listener, behind their token.
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_ne!(r.status(), StatusCode::OK);
    let separate = format!("http://{metrics_addr}/metrics");
    let r = app.http.get(&separate).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(&separate)
        .bearer_auth("metrics-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Readiness says the database is down, not why.
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    services(&app).store.clone().close().await.unwrap();
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.text().await.unwrap(), "database unavailable");
});

async fn agent_socket(app: &TestApp, token: &str, origin: Option<&str>) -> Result<Socket, u16> {
    let url = format!("{}/api/v1/chat/agent", app.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => Ok(s),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// The socket ends (a close frame or the end of the stream) within 10 s.
async fn ends(s: &mut Socket) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, s.next()).await {
            Err(_) => panic!("the socket stayed open"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Ok(_))) => {}
        }
    }
}

backend_test_db!(agent_sockets_check_origin_and_lose_revoked_rights, |db| {
    let Some(app) = spawn_app_with(db, |c| c.chat.group_id = Some(1)).await else {
        return;
    };
    let mut customer = crate::chat::connect(&app, "/api/v1/chat/customer", None).await;
    expect(&mut customer, "welcome").await;
    send(
        &mut customer,
        json!({"type": "message", "body": "deposit missing"}),
    )
    .await;
    let ticket_id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    app.admin_token().await;
    // Another site's page cannot open the socket with the agent's credentials.
    let refused = agent_socket(&app, &app.agent_token, Some("https://evil.test")).await;
    assert_eq!(refused.err(), Some(403));
    let host_origin = app.base.clone();
    let mut agent = agent_socket(&app, &app.agent_token, Some(&host_origin))
        .await
        .unwrap();
    expect(&mut agent, "welcome").await;
    send(&mut agent, json!({"type": "join", "ticket_id": ticket_id})).await;
    expect(&mut agent, "joined").await;
    // The agent loses the group: the open socket leaves the chat at its next frame.
    let admin = admin_principal(&app).await;
    services(&app)
        .update_agent(&admin, app.agent_id, "agent", vec![app.accounts_group])
        .await
        .unwrap();
    send(
        &mut agent,
        json!({"type": "typing", "ticket_id": ticket_id}),
    )
    .await;
    let left = expect(&mut agent, "left").await;
    assert_eq!(left["reason"], "access_revoked");
    send(
        &mut agent,
        json!({"type": "message", "ticket_id": ticket_id, "body": "still here?"}),
    )
    .await;
    expect(&mut agent, "error").await;
    // Deactivated: the socket closes.
    services(&app)
        .set_agent_active(&admin, app.agent_id, false)
        .await
        .unwrap();
    send(
        &mut agent,
        json!({"type": "typing", "ticket_id": ticket_id}),
    )
    .await;
    ends(&mut agent).await;
    app.stop().await;
});

/// One door: the HTTP handlers and pages reach storage only through the services, which
/// authorise every call. A handler that read the store directly would skip that.
#[test]
fn handlers_and_pages_never_touch_the_store() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    walk(&root.join("xdesk-web/src"), &mut files);
    walk(&root.join("xdesk-ui/src"), &mut files);
    assert!(files.len() > 10, "sources not found");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            let touches = code.trim_start().starts_with(".store")
                || code.contains(".store.")
                || code.contains(".store(")
                || code.contains("Store::");
            assert!(
                !touches,
                "{}:{}: reads storage directly; call a service instead: {line}",
                f.display(),
                n + 1
            );
        }
    }
}

backend_test!(
    supervisors_decide_identity_links_on_the_ticket_page,
    |app| {
        let mut body = ticket_body(&app, "KYC stuck");
        body["customer"] = json!({"exchange_uid": "U7100"});
        let t = app.create_ticket(body).await;
        let (id, customer) = (
            t["id"].as_i64().unwrap(),
            t["customer_id"].as_i64().unwrap(),
        );
        let r = app
            .post(
                &app.agent_token,
                &format!("/api/v1/customers/{customer}/identity-links"),
                json!({"kind": "email", "value": "u7100@ex.test", "reason": "asked on the phone"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let link: Value = r.json().await.unwrap();
        // The proposing agent sees it waiting, without buttons.
        let mut agent = Web::new(&app);
        agent.sign_in("agent@x.test", None).await;
        let page = agent.get(&format!("/console/tickets/{id}")).await;
        assert!(page.body.contains("u7100@ex.test"), "{}", page.body);
        assert!(page.body.contains("asked on the phone"));
        assert!(
            !page.body.contains("/identity-links/"),
            "no buttons for agents"
        );
        let csrf = agent.csrf();
        let r = agent
            .post(
                &format!(
                    "/console/tickets/{id}/identity-links/{}/approve",
                    link["id"]
                ),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // An admin approves it from the page.
        let token = app.login(&app.admin_email).await;
        let secret = app.enrol_totp(&token).await;
        let mut admin = Web::new(&app);
        admin
            .sign_in(&app.admin_email, Some(totp_code(&secret)))
            .await;
        let page = admin.get(&format!("/console/tickets/{id}")).await;
        let action = format!(
            "/console/tickets/{id}/identity-links/{}/approve",
            link["id"]
        );
        assert!(page.body.contains(&action), "{}", page.body);
        let csrf = admin.csrf();
        let r = admin.post(&action, &[("csrf", "wrong")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = admin.post(&action, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = admin.get(&format!("/console/tickets/{id}")).await;
        assert!(!page.body.contains(&action), "decided");
        let c = app
            .get_json(&token, &format!("/api/v1/customers/{customer}"))
            .await;
        assert!(
            c["identities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["value"] == "u7100@ex.test"),
            "{c}"
        );
        app.stop().await;
    }
);
