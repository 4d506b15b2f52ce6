//! The exchange connector over real HTTP against the reference implementation
//! (`xdesk-demo-exchange`, on loopback): agents see the customer's account with personal fields
//! masked, cached and audited; unmasking takes a reason and too many raise an alarm; actions
//! need a fresh step-up code (and a supervisor for a 2FA reset) and land on the ticket; a
//! customer locks their own account from the portal; an unreachable exchange is a clear 502.

use crate::backend_test_db;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xdesk::config::ExchangeConfig;

const TOKEN: &str = "connector-secret";

/// The connector settings for a demo exchange at `url`.
fn connector(url: String) -> ExchangeConfig {
    ExchangeConfig {
        url,
        token: TOKEN.into(),
        timeout_secs: 5,
    }
}

/// A TOTP code for the next 30-second step (accepted as clock skew, and not yet used).
fn next_code(base32: &str) -> String {
    let secret = totp_rs::Secret::Encoded(base32.to_owned())
        .to_bytes()
        .unwrap();
    let t = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret).unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    t.generate((now / 30 + 1) * 30)
}

async fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    app.get_json(admin, &format!("/api/v1/audit?action={action}&limit=100"))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

backend_test_db!(agents_see_and_act_on_exchange_accounts, |db| {
    let exchange = xdesk_demo_exchange::start(TOKEN).await.unwrap();
    let url = exchange.url.clone();
    let Some(app) = spawn_app_with(db, move |c| c.exchange = Some(connector(url))).await else {
        return;
    };
    // The admin enrols a second factor: its codes are the step-up for actions.
    let admin = app.login(&app.admin_email).await;
    let secret = app.enrol_totp(&admin).await;
    // ticket_body's customer has exchange UID U1001.
    let t = app
        .create_ticket(ticket_body(&app, "Withdrawal on hold"))
        .await;
    let id = t["id"].as_i64().unwrap();
    let path = format!("/api/v1/tickets/{id}/exchange");
    let v = app.get_json(&app.agent_token, &path).await;
    assert_eq!(v["uid"], "U1001");
    assert_eq!(v["account"]["status"], "active", "{v}");
    assert!(v["account"]["email"].is_null(), "personal data leaked: {v}");
    assert!(
        !v["account"]["kyc"]["history"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let email = v["personal"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["field"] == "email")
        .unwrap();
    assert_eq!(email["masked"], "u***@example.com");
    assert!(!v.to_string().contains("u1001@example.com"));
    assert_eq!(v["transfers"].as_array().unwrap().len(), 3);
    assert!(
        v["transfers"][0]["tx_hash"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );
    assert!(!v["logins"].as_array().unwrap().is_empty());
    assert!(v["risk"].to_string().contains("withdrawal_address_changed"));
    // Cached: a second look does not ask the exchange again, but is audited again.
    app.get_json(&app.agent_token, &path).await;
    assert_eq!(exchange.hits("account"), 1);
    assert_eq!(audit(&app, &admin, "exchange.view").await.len(), 2);

    // Unmasking takes a reason, is audited, and too many in an hour alarm admins once.
    let unmask = |reason: &str, field: &str| json!({"field": field, "reason": reason});
    let r = app
        .post(
            &app.agent_token,
            &format!("{path}/unmask"),
            unmask("x", "email"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &app.agent_token,
            &format!("{path}/unmask"),
            unmask("customer asks which address we mail", "email"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["value"],
        "u1001@example.com"
    );
    let entries = audit(&app, &admin, "exchange.unmask").await;
    assert!(
        entries[0]
            .to_string()
            .contains("customer asks which address we mail")
    );
    for _ in 0..24 {
        let r = app
            .post(
                &app.agent_token,
                &format!("{path}/unmask"),
                unmask("bulk lookup for no reason", "phone"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let alarms = audit(&app, &admin, "exchange.unmask_alarm").await;
    assert_eq!(alarms.len(), 1, "{alarms:?}");

    // The console: the ticket page loads the panel; masked values, unmasked for a reason.
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{id}")).await.body;
    assert!(page.contains(&format!("hx-get=\"/console/tickets/{id}/exchange\"")));
    let panel = web.get(&format!("/console/tickets/{id}/exchange")).await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(
        panel.body.contains("u***@example.com")
            && panel.body.contains("data-account-status=\"active\"")
            && !panel.body.contains("u1001@example.com"),
        "{}",
        panel.body
    );
    let csrf = web.csrf();
    let shown = web
        .post(
            &format!("/console/tickets/{id}/exchange/unmask"),
            &[
                ("csrf", csrf.as_str()),
                ("field", "email"),
                ("reason", "customer cannot log in"),
            ],
        )
        .await;
    assert_eq!(
        shown.body,
        "<strong class=\"unmasked\">u1001@example.com</strong>"
    );

    // Actions: a fresh step-up code; a 2FA reset needs a supervisor; the answer is on the
    // ticket and in the audit log, and the account view shows the new status.
    let token = admin.clone();
    let act = |action: &str, code: &str| json!({"action": action, "reason": "customer reports a stolen phone", "totp": code});
    // Without a second factor enrolled there is no step-up, so no action.
    let r = app
        .post(
            &app.agent_token,
            &format!("{path}/actions"),
            act("reset_2fa", "000000"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(&token, &format!("{path}/actions"), act("freeze", "000000"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(exchange.actions().is_empty());
    let r = app
        .post(
            &token,
            &format!("{path}/actions"),
            act("freeze", &next_code(&secret)),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["account_status"], "frozen", "{body}");
    let asked = exchange.actions();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].0.as_str(), asked[0].1.as_str()),
        ("U1001", "freeze")
    );
    assert_eq!(asked[0].2.ticket.as_deref(), t["number"].as_str());
    assert!(asked[0].2.requested_by.starts_with("agent:"));
    let events = app.verified_events(id).await;
    let e = events
        .iter()
        .find(|e| e["kind"] == "exchange_action")
        .unwrap_or_else(|| panic!("no exchange_action event"));
    assert_eq!(e["data"]["account_status"], "frozen");
    assert_eq!(audit(&app, &admin, "exchange.freeze").await.len(), 1);
    let v = app.get_json(&app.agent_token, &path).await;
    assert_eq!(v["account"]["status"], "frozen");

    // Four eyes on a 2FA reset: the agent asks (with their own step-up), a supervisor approves.
    let agent_secret = app.enrol_totp(&app.agent_token).await;
    let r = app
        .post(
            &app.agent_token,
            &format!("{path}/actions"),
            act("reset_2fa", &next_code(&agent_secret)),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"], "pending_approval", "{body}");
    assert_eq!(
        exchange.actions().len(),
        1,
        "nothing sent before the approval"
    );
    let r = app
        .post(
            &app.agent_token,
            &format!("{path}/approve"),
            json!({"totp": "000000"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "agents do not approve");
    let r = app
        .post(
            &admin,
            "/api/v1/agents",
            json!({"email": "boss@x.test", "display_name": "Boss", "role": "supervisor",
                   "password": "correct horse battery staple", "group_ids": [app.payments_group]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let boss = app.login("boss@x.test").await;
    let boss_secret = app.enrol_totp(&boss).await;
    let r = app
        .post(
            &boss,
            &format!("{path}/approve"),
            json!({"totp": next_code(&boss_secret)}),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"], "done", "{body}");
    let asked = exchange.actions();
    assert_eq!(asked[1].1, "reset_2fa");
    assert!(asked[1].2.requested_by.starts_with("agent:"));
    assert!(
        asked[1]
            .2
            .approved_by
            .as_deref()
            .is_some_and(|a| a.starts_with("agent:") && a != asked[1].2.requested_by)
    );
    let r = app
        .post(&boss, &format!("{path}/approve"), json!({"totp": "000000"}))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing left to approve");

    // The customer locks their own account from the portal: one step, a ticket follows.
    let mut portal = app.portal_as(t["customer_id"].as_i64().unwrap()).await;
    let home = portal.get("/portal").await;
    assert!(home.body.contains("id=\"freeze\""), "{}", home.body);
    let csrf = portal.csrf();
    let r = portal
        .post("/portal/freeze", &[("csrf", "forged"), ("reason", "x")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = portal
        .post(
            "/portal/freeze",
            &[("csrf", csrf.as_str()), ("reason", "my phone was stolen")],
        )
        .await;
    assert!(r.location().starts_with("/portal/tickets/"), "{}", r.status);
    let asked = exchange.actions();
    assert_eq!(asked.len(), 3);
    assert!(asked[2].2.requested_by.starts_with("customer:"));
    assert_eq!(asked[2].2.reason, "my phone was stolen");
    let followed: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    let ft = app
        .get_json(&admin, &format!("/api/v1/tickets/{followed}"))
        .await;
    assert_eq!(ft["priority"], "urgent", "{ft}");

    // A customer without an exchange account has no panel; a foreign account is not found.
    let mut other = ticket_body(&app, "No uid");
    other["customer"] = json!({"email": "nouid@example.com"});
    let other = app.create_ticket(other).await;
    let r = app
        .get(
            &app.agent_token,
            &format!("/api/v1/tickets/{}/exchange", other["id"]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
});

backend_test_db!(an_unreachable_exchange_is_a_clear_error, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.exchange = Some(ExchangeConfig {
            timeout_secs: 2,
            ..connector("http://127.0.0.1:9".into())
        })
    })
    .await
    else {
        return;
    };
    let t = app.create_ticket(ticket_body(&app, "Down")).await;
    let r = app
        .get(
            &app.agent_token,
            &format!("/api/v1/tickets/{}/exchange", t["id"]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_unavailable");
    app.stop().await;
});

// The widget's "Lock my account": a visitor the exchange vouched for (signed token) freezes
// their account over the chat socket; an anonymous visitor cannot.
backend_test_db!(
    a_signed_in_visitor_locks_their_account_from_the_widget,
    |db| {
        use crate::chat::{connect, expect, send};
        let exchange = xdesk_demo_exchange::start(TOKEN).await.unwrap();
        let url = exchange.url.clone();
        let Some(app) = spawn_app_with(db, move |c| {
            c.chat.identity_secret = Some("widget-secret".into());
            c.exchange = Some(connector(url))
        })
        .await
        else {
            return;
        };
        let mut anonymous = connect(&app, "/api/v1/chat/customer", None).await;
        expect(&mut anonymous, "welcome").await;
        send(&mut anonymous, json!({"type": "freeze"})).await;
        assert_eq!(
            expect(&mut anonymous, "error").await["code"],
            "freeze_refused"
        );
        let exp = chrono::Utc::now().timestamp() + 600;
        let token = xdesk_domain::chat_token::sign(
            &json!({"sub": "U2002", "name": "Mei", "exp": exp}),
            b"widget-secret",
        );
        let mut chat = connect(&app, &format!("/api/v1/chat/customer?token={token}"), None).await;
        assert_eq!(expect(&mut chat, "welcome").await["verified"], true);
        send(
            &mut chat,
            json!({"type": "freeze", "reason": "phone stolen"}),
        )
        .await;
        let frozen = expect(&mut chat, "frozen").await;
        assert_eq!(frozen["account_status"], "frozen", "{frozen}");
        let asked = exchange.actions();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].0, "U2002");
        assert!(asked[0].2.requested_by.starts_with("customer:"));
        let admin = app.admin_token().await;
        let t = app
            .get_json(
                &admin,
                &format!("/api/v1/tickets/{}", frozen["ticket"]["id"]),
            )
            .await;
        assert_eq!(t["priority"], "urgent");
        app.stop().await;
    }
);
