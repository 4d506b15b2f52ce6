//! The admin pages over real HTTP: an admin enrols two-factor from the console, invites an
//! agent who chooses a password through the mailed link, changes roles and groups, resets
//! two-factor, deactivates, makes groups, mailboxes, API keys and integration secrets (which
//! then work and stop working when revoked), edits email templates, and finds each action in
//! the audit log. Agents are kept out, and no admin form works without its CSRF token.

use crate::backend_test;
use crate::support::*;
use crate::web::Web;
use reqwest::StatusCode;
use serde_json::json;

/// The text between `start` and the next `end` in `body`.
pub(crate) fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {body}"))
        + start.len();
    let len = body[from..].find(end).unwrap();
    &body[from..from + len]
}

backend_test!(an_admin_runs_xdesk_from_the_admin_pages, |app| {
    let mut admin = Web::new(&app);
    let r = admin.sign_in(&app.admin_email, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // No second factor yet: admin pages send the admin to enrol first.
    let r = admin.get("/admin/agents").await;
    assert_eq!(r.location(), "/console/two-factor");
    let csrf = admin.csrf();
    let r = admin
        .post("/console/two-factor", &[("csrf", &csrf), ("step", "begin")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let secret = between(&r.body, "id=\"totp-secret\">", "<").to_owned();
    let r = admin
        .post(
            "/console/two-factor",
            &[("csrf", &csrf), ("step", "confirm"), ("code", "000000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = totp_code(&secret);
    let r = admin
        .post(
            "/console/two-factor",
            &[("csrf", &csrf), ("step", "confirm"), ("code", &code)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"recovery-codes\""), "{}", r.body);
    let r = admin.get("/admin").await;
    assert_eq!(r.location(), "/admin/agents");
    let r = admin.get("/admin/agents").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("agent@x.test"));

    // Invite: the agent chooses a password through the link and signs in with it.
    let payments = app.payments_group.to_string();
    let r = admin
        .post(
            "/admin/agents/invite",
            &[
                ("csrf", &csrf),
                ("email", "new@x.test"),
                ("name", "New Agent"),
                ("role", "agent"),
                ("group", &payments),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = between(&r.body, "<code class=\"hash\">", "<").to_owned();
    let path = link.strip_prefix(&app.base).unwrap().to_owned();
    let mut newbie = Web::new(&app);
    assert_eq!(newbie.get(&path).await.status, StatusCode::OK);
    let nc = newbie.csrf();
    let r = newbie
        .post(
            &path,
            &[("csrf", &nc), ("password", "short"), ("again", "short")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = newbie
        .post(
            &path,
            &[
                ("csrf", &nc),
                ("password", PASSWORD),
                ("again", "something else!!"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = newbie
        .post(
            &path,
            &[("csrf", &nc), ("password", PASSWORD), ("again", PASSWORD)],
        )
        .await;
    assert_eq!(r.location(), "/console/login", "{}", r.body);
    let r = newbie.sign_in("new@x.test", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(newbie.get("/console").await.status, StatusCode::OK);
    let r = newbie
        .post(
            &path,
            &[("csrf", &nc), ("password", PASSWORD), ("again", PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "an invitation works once"
    );
    // Agents are kept out of the admin pages.
    assert_eq!(
        newbie.get("/admin/agents").await.status,
        StatusCode::FORBIDDEN
    );

    // Role and groups.
    let agents: serde_json::Value = app.get_json(&app.agent_token, "/api/v1/agents").await;
    let new_id = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "new@x.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let accounts = app.accounts_group.to_string();
    let r = admin
        .post(
            &format!("/admin/agents/{new_id}"),
            &[
                ("csrf", &csrf),
                ("role", "supervisor"),
                ("group", &accounts),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let agents: serde_json::Value = app.get_json(&app.agent_token, "/api/v1/agents").await;
    let a = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == new_id)
        .unwrap()
        .clone();
    assert_eq!(a["role"], "supervisor");
    assert_eq!(a["group_ids"], json!([app.accounts_group]));
    // An admin cannot demote or deactivate themselves.
    let me = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == app.admin_email.as_str())
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = admin
        .post(
            &format!("/admin/agents/{me}"),
            &[("csrf", &csrf), ("role", "agent")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = admin
        .post(
            &format!("/admin/agents/{me}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Reset a lost second factor; deactivate an agent, whose session ends.
    app.enrol_totp(&app.other_agent_token).await;
    let other = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "other@x.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = admin
        .post(
            &format!("/admin/agents/{other}/reset-2fa"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let me_json = app
        .get_json(&app.other_agent_token, "/api/v1/agents/me")
        .await;
    assert_eq!(me_json["two_factor"], false, "{me_json}");
    let r = admin
        .post(
            &format!("/admin/agents/{other}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app.get(&app.other_agent_token, "/api/v1/tickets").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Groups and mailboxes.
    let r = admin
        .post(
            "/admin/groups",
            &[
                ("csrf", &csrf),
                ("name", "VIP desk"),
                ("description", "大客户"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/admin/groups").await.body.contains("VIP desk"));

    // Routing rules: a stolen account goes to the VIP desk; a rule needs a condition.
    let vip = app
        .running
        .as_ref()
        .unwrap()
        .services
        .store
        .group_by_name("VIP desk")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let r = admin
        .post(
            "/admin/routing",
            &[("csrf", &csrf), ("intent", ""), ("group", &vip)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = admin
        .post(
            "/admin/routing",
            &[
                ("csrf", &csrf),
                ("intent", "account_compromised"),
                ("language", ""),
                ("channel", ""),
                ("tier", ""),
                ("group", &vip),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get("/admin/routing").await.body;
    assert!(page.contains("Account compromised"), "{page}");
    let rule_id = page
        .split("data-rule=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = admin
        .post(
            &format!("/admin/routing/{rule_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !admin
            .get("/admin/routing")
            .await
            .body
            .contains("data-rule=")
    );
    let r = admin
        .post(
            "/admin/mailboxes",
            &[
                ("csrf", &csrf),
                ("name", "support inbox"),
                ("host", "imap.example.test"),
                ("port", "993"),
                ("tls", "tls"),
                ("username", "support"),
                ("password", "imap-password"),
                ("folder", "INBOX"),
                ("group", &payments),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin.get("/admin/mailboxes").await;
    assert!(r.body.contains("imap.example.test:993"));
    assert!(!r.body.contains("imap-password"), "passwords are not shown");
    let mailbox = between(&r.body, "/admin/mailboxes/", "/delete").to_owned();
    let r = admin
        .post(
            &format!("/admin/mailboxes/{mailbox}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !admin
            .get("/admin/mailboxes")
            .await
            .body
            .contains("imap.example.test")
    );

    // An API key works until revoked.
    let r = admin
        .post(
            "/admin/keys",
            &[
                ("csrf", &csrf),
                ("name", "reporting"),
                ("scope", "tickets:read"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let key = between(&r.body, "id=\"new-secret\">", "<").to_owned();
    assert!(key.starts_with("xdk_"));
    assert_eq!(
        app.get(&key, "/api/v1/tickets").await.status(),
        StatusCode::OK
    );
    let page = admin.get("/admin/keys").await.body;
    assert!(!page.contains(&key), "a key is shown once");
    let row = &page[page.find("reporting").unwrap()..];
    let id = between(row, "/admin/keys/", "/revoke").to_owned();
    let r = admin
        .post(&format!("/admin/keys/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&key, "/api/v1/tickets").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // An integration's secret signs a user into the portal until revoked.
    let r = admin
        .post(
            "/admin/integrations",
            &[("csrf", &csrf), ("name", "web app")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let secret = between(&r.body, "id=\"new-secret\">", "<").to_owned();
    let claim = || {
        xdesk_domain::chat_token::sign(
            &json!({"sub": "U5", "exp": chrono::Utc::now().timestamp() + 300}),
            secret.as_bytes(),
        )
    };
    let mut customer = Web::new(&app);
    let r = customer
        .get(&format!("/portal/token?token={}", claim()))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/keys").await.body;
    assert!(!page.contains(&secret));
    let id = between(&page, "/admin/integrations/", "/revoke").to_owned();
    let r = admin
        .post(
            &format!("/admin/integrations/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = Web::new(&app)
        .get(&format!("/portal/token?token={}", claim()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Email templates: a change, a refused typo, back to built-in.
    let r = admin
        .post(
            "/admin/templates/acknowledgement/en",
            &[
                ("csrf", &csrf),
                ("subject", "[{{ ticket_number }}] Got it"),
                ("body", "Hello {{ customer_name }}"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(admin.get("/admin/templates").await.body.contains("Got it"));
    let r = admin
        .post(
            "/admin/templates/acknowledgement/en",
            &[("csrf", &csrf), ("subject", "{{ nope }}"), ("body", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .post(
            "/admin/templates/acknowledgement/en",
            &[("csrf", &csrf), ("reset", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!admin.get("/admin/templates").await.body.contains("Got it"));

    // Every action is in the audit log, and the filter narrows it.
    let all = admin.get("/admin/audit").await.body;
    for action in [
        "agent.create",
        "agent.accept_invite",
        "agent.update",
        "agent.reset_2fa",
        "agent.deactivate",
        "group.create",
        "routing_rule.create",
        "routing_rule.delete",
        "mailbox.create",
        "mailbox.delete",
        "api_key.create",
        "api_key.revoke",
        "integration.create",
        "integration.revoke",
        "email_template.update",
        "email_template.reset",
    ] {
        assert!(all.contains(action), "{action} not in the audit log");
    }
    let only = admin.get("/admin/audit?action=agent.update").await.body;
    assert!(only.contains(&format!("agent:{new_id}")));
    assert!(!only.contains("group.create"));

    // No admin form works without its CSRF token.
    for path in [
        "/admin/agents/invite".to_owned(),
        format!("/admin/agents/{new_id}"),
        format!("/admin/agents/{new_id}/active"),
        format!("/admin/agents/{new_id}/reset-2fa"),
        "/admin/groups".to_owned(),
        "/admin/routing".to_owned(),
        "/admin/routing/1/delete".to_owned(),
        "/admin/mailboxes".to_owned(),
        "/admin/mailboxes/1/delete".to_owned(),
        "/admin/keys".to_owned(),
        "/admin/keys/1/revoke".to_owned(),
        "/admin/integrations".to_owned(),
        "/admin/integrations/1/revoke".to_owned(),
        "/admin/templates/reply/en".to_owned(),
        "/admin/sla/policies".to_owned(),
        "/admin/sla/calendars".to_owned(),
        "/admin/sla/1/delete".to_owned(),
        "/admin/calendars/1/update".to_owned(),
        "/admin/calendars/1/delete".to_owned(),
        "/console/macros".to_owned(),
        "/console/macros/1".to_owned(),
        "/console/macros/1/delete".to_owned(),
        "/admin/official".to_owned(),
        "/admin/official/1/delete".to_owned(),
        "/admin/phishing".to_owned(),
        "/admin/phishing/1/delete".to_owned(),
        format!("/admin/groups/{}/assignment", app.payments_group),
        format!("/admin/agents/{new_id}/routing"),
        "/console/status".to_owned(),
        "/console/two-factor".to_owned(),
    ] {
        let r = admin
            .post(&path, &[("csrf", "wrong"), ("name", "x"), ("port", "1")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }

    // The admin's console session also works as an API token (it has the second factor).
    let admin_api = admin.jar.get("xdesk_session").unwrap().clone();
    // SLA: a business calendar with an iCalendar holiday, then a policy on it, then deleted.
    let ical = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nSUMMARY:National Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let r = admin
        .post(
            "/admin/sla/calendars",
            &[
                ("csrf", &csrf),
                ("name", "Shanghai office"),
                ("time_zone", "Asia/Shanghai"),
                ("opens_0", "09:00"),
                ("closes_0", "18:00"),
                ("opens_1", "09:00"),
                ("closes_1", "18:00"),
                ("opens_5", "10:00"),
                ("closes_5", "14:00"),
                ("holidays", "2026-12-25"),
                ("holidays_ical", ical),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post(
            "/admin/sla/calendars",
            &[
                ("csrf", &csrf),
                ("name", "Bad"),
                ("time_zone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A day with an opening time but no closing time is refused.
    let r = admin
        .post(
            "/admin/sla/calendars",
            &[
                ("csrf", &csrf),
                ("name", "Half"),
                ("time_zone", "Asia/Shanghai"),
                ("opens_2", "09:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cal = app.get_json(&admin_api, "/api/v1/sla/calendars").await;
    assert_eq!(cal.as_array().unwrap().len(), 1, "{cal}");
    let cal_id = cal[0]["id"].as_i64().unwrap().to_string();
    assert!(cal.to_string().contains("2026-10-01"), "{cal}");
    assert_eq!(
        cal[0]["week"],
        json!([
            ["09:00", "18:00"],
            ["09:00", "18:00"],
            null,
            null,
            null,
            ["10:00", "14:00"],
            null
        ])
    );
    // Edited from the page: Wednesday opens, a holiday is added, the name changes.
    let r = admin
        .post(
            &format!("/admin/calendars/{cal_id}/update"),
            &[
                ("csrf", &csrf),
                ("name", "Shanghai desk"),
                ("time_zone", "Asia/Shanghai"),
                ("opens_0", "09:00"),
                ("closes_0", "18:00"),
                ("opens_2", "08:30"),
                ("closes_2", "17:30"),
                ("holidays", "2026-12-25\n2027-02-17"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cal = app.get_json(&admin_api, "/api/v1/sla/calendars").await;
    assert_eq!(cal[0]["name"], "Shanghai desk");
    assert_eq!(cal[0]["week"][2], json!(["08:30", "17:30"]));
    assert_eq!(cal[0]["week"][1], json!(null));
    assert_eq!(cal[0]["holidays"], json!(["2026-12-25", "2027-02-17"]));
    let page = admin.get("/admin/sla").await.body;
    assert!(
        page.contains("name=\"opens_2\" value=\"08:30\"") && page.contains("2027-02-17"),
        "{page}"
    );
    let r = admin
        .post(
            "/admin/sla/policies",
            &[
                ("csrf", &csrf),
                ("name", "VIP fast"),
                ("priority", ""),
                ("intent", "deposit_missing"),
                ("tier", "vip"),
                ("first_response_minutes", "15"),
                ("next_response_minutes", "60"),
                ("resolution_minutes", "240"),
                ("calendar", &cal_id),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post(
            "/admin/sla/policies",
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("first_response_minutes", "soon"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = admin.get("/admin/sla").await;
    assert!(page.body.contains("VIP fast") && page.body.contains("15 / 60 / 240 min"));
    assert!(page.body.contains("Shanghai desk"));
    let pol = app.get_json(&admin_api, "/api/v1/sla/policies").await;
    assert_eq!(pol[0]["calendar_id"].as_i64().unwrap().to_string(), cal_id);
    // A calendar a policy uses cannot be deleted.
    let r = admin
        .post(
            &format!("/admin/calendars/{cal_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let pid = pol[0]["id"].as_i64().unwrap();
    let r = admin
        .post(&format!("/admin/sla/{pid}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!admin.get("/admin/sla").await.body.contains("VIP fast"));
    let r = admin
        .post(
            &format!("/admin/calendars/{cal_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cal = app.get_json(&admin_api, "/api/v1/sla/calendars").await;
    assert_eq!(cal, json!([]));

    // Macros from the console's macros page: written, rewritten, used, counted, deleted.
    let r = admin
        .post(
            "/console/macros",
            &[
                ("csrf", &csrf),
                ("name", "Deposit on its way"),
                (
                    "body_en",
                    "Hi {{ customer_name }}, your deposit is confirming.",
                ),
                ("body_zh", "{{ customer_name }}，您好：您的充值正在确认中。"),
                ("set_state", "pending_customer"),
                ("add_tags", "deposit, chain"),
                ("set_group", &app.payments_group.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post(
            "/console/macros",
            &[
                ("csrf", &csrf),
                ("name", "Typo"),
                ("body_en", "Hi {{ custmer }}"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let macros = app.get_json(&admin_api, "/api/v1/macros").await;
    assert_eq!(macros.as_array().unwrap().len(), 1, "{macros}");
    let mid = macros[0]["id"].as_i64().unwrap();
    assert_eq!(macros[0]["add_tags"], json!(["chain", "deposit"]));
    assert_eq!(macros[0]["set_group_id"], json!(app.payments_group));
    let r = admin
        .post(
            &format!("/console/macros/{mid}"),
            &[
                ("csrf", &csrf),
                ("name", "Deposit confirming"),
                (
                    "body_en",
                    "Hi {{ customer_name }}, {{ ticket_number }} is confirming.",
                ),
                ("body_zh", ""),
                ("set_state", ""),
                ("add_tags", "deposit"),
                ("set_group", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = app
        .create_ticket(ticket_body(&app, "Where is my deposit?"))
        .await;
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{}/macros/{mid}", t["id"]),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let mut agent = crate::web::Web::new(&app);
    agent.sign_in("agent@x.test", None).await;
    let page = agent.get("/console/macros").await.body;
    assert!(
        page.contains("Deposit confirming") && page.contains("data-usage=\"1\""),
        "{page}"
    );
    // Agents read macros; only supervisors and admins get the forms, and the service agrees.
    assert!(!page.contains("id=\"new-macro\""), "{page}");
    let agent_csrf = agent.csrf();
    let r = agent
        .post(
            &format!("/console/macros/{mid}/delete"),
            &[("csrf", agent_csrf.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        admin
            .get("/console/macros")
            .await
            .body
            .contains("id=\"new-macro\"")
    );
    let r = admin
        .post(&format!("/console/macros/{mid}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_json(&admin_api, "/api/v1/macros").await, json!([]));

    // Assignment: a group's strategy and an agent's languages and capacity from the pages.
    let r = admin
        .post(
            &format!("/admin/groups/{}/assignment", app.payments_group),
            &[
                ("csrf", &csrf),
                ("strategy", "least_loaded"),
                ("return_after_minutes", "15"),
                ("reassign_on_breach", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let groups = app.get_json(&admin_api, "/api/v1/groups").await;
    let g = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == app.payments_group)
        .unwrap();
    assert_eq!(
        (
            g["assignment"].as_str(),
            g["return_after_minutes"].as_i64(),
            g["reassign_on_breach"].as_bool()
        ),
        (Some("least_loaded"), Some(15), Some(true))
    );
    let r = admin
        .post(
            &format!("/admin/agents/{new_id}/routing"),
            &[
                ("csrf", &csrf),
                ("languages", "zh en"),
                ("skills", "kyc"),
                ("capacity", "chat=2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post(
            &format!("/admin/agents/{new_id}/routing"),
            &[("csrf", &csrf), ("capacity", "chat=lots")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The team page: the admin goes online and sees the agent's settings.
    let r = admin
        .post("/console/status", &[("csrf", &csrf), ("status", "online")])
        .await;
    assert_eq!(r.location(), "/console/team");
    let team = admin.get("/console/team").await;
    assert!(
        team.body.contains("chat=2") && team.body.contains("zh en"),
        "{}",
        team.body
    );
    assert!(team.body.contains("data-status=\"online\""));
    // The agent's public ID, to give a doubting customer.
    let me = app.get_json(&admin_api, "/api/v1/agents/me").await;
    assert!(
        team.body.contains(&format!(
            "<strong>{}</strong>",
            me["public_id"].as_str().unwrap()
        )),
        "{}",
        team.body
    );

    // Official channels and known phishing domains from their page.
    let r = admin
        .post(
            "/admin/official",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "https://Exchange.example/"),
                ("note", "main site"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .post(
            "/admin/official",
            &[("csrf", &csrf), ("kind", "phone"), ("value", "not a phone")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = admin
        .post(
            "/admin/phishing",
            &[
                ("csrf", &csrf),
                ("domain", "exchange-airdrop.io"),
                ("note", "reported"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get("/admin/official").await.body;
    assert!(
        page.contains("<td>exchange.example</td>") && page.contains("<td>exchange-airdrop.io</td>"),
        "{page}"
    );
    let channels = app.get_json(&admin_api, "/api/v1/official-channels").await;
    let phishing = app.get_json(&admin_api, "/api/v1/phishing-domains").await;
    for (path, id) in [
        ("official", channels[0]["id"].as_i64().unwrap()),
        ("phishing", phishing[0]["id"].as_i64().unwrap()),
    ] {
        let r = admin
            .post(&format!("/admin/{path}/{id}/delete"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        app.get_json(&admin_api, "/api/v1/official-channels").await,
        json!([])
    );
    assert_eq!(
        app.get_json(&admin_api, "/api/v1/phishing-domains").await,
        json!([])
    );
    app.stop().await;
});
