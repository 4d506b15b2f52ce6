//! The agent console over real HTTP: sign-in (with TOTP), the inbox, a ticket page, replies and
//! field changes through the pages' own forms, CSRF refusals, access by URL, and the language.

use crate::backend_test;
use crate::support::*;
use crate::web::Web;
use reqwest::StatusCode;
use serde_json::{Value, json};

backend_test!(an_agent_works_a_ticket_from_the_console, |app| {
    let created = app
        .post(
            &app.api_key,
            "/api/v1/tickets",
            ticket_body(&app, "Deposit missing after 6 hours"),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let ticket: Value = created.json().await.unwrap();
    let id = ticket["id"].as_i64().unwrap();
    let number = ticket["number"].as_str().unwrap().to_owned();

    let mut web = Web::new(&app);
    // Not signed in: sent to sign in, and back afterwards.
    let r = web.get("/console?view=unassigned").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        "/console/login?next=/console%3Fview%3Dunassigned"
    );
    let r = web.get(r.location()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("name=\"next\" value=\"/console?view=unassigned\"")
    );
    let csrf = web.csrf();
    assert_eq!(csrf.len(), 32);
    let r = web
        .post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("email", "agent@x.test"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong email or password."));
    assert!(!web.jar.contains_key("xdesk_session"));
    let r = web.sign_in("agent@x.test", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/console");
    assert!(web.jar.contains_key("xdesk_session"));

    // The inbox: the payments group's view counts the ticket, which is unassigned and high.
    let r = web.get("/console?view=unassigned").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Deposit missing after 6 hours"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&number));
    assert!(
        r.body
            .contains(&format!("data-view=\"group-{}\">1<", app.payments_group)),
        "{}",
        r.body
    );
    assert!(r.body.contains("data-view=\"mine\">0<"));
    assert!(r.body.contains("data-view=\"unassigned\">1<"));
    // Searching a ticket number opens it.
    let r = web.get(&format!("/console?q={number}")).await;
    assert_eq!(r.location(), format!("/console/tickets/{id}"));
    // A number that is no ticket's (an amount, say) is searched for instead.
    let r = web.get("/console?q=1250").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Results for"));
    // The customer is found by name and by any of their identities, and a ticket by the words
    // of its messages (through the search index).
    for q in [
        "Alice",
        "ALICE%40example.com",
        "U1001",
        "%E6%8F%90%E5%B8%81",
    ] {
        let r = web.get(&format!("/console?q={q}")).await;
        assert!(r.body.contains("Deposit missing after 6 hours"), "{q}");
    }
    // A match in the messages shows where it is.
    let r = web.get("/console?q=%E6%8F%90%E5%B8%81").await;
    assert!(
        r.body.contains("<div class=\"snippet\"><b>提币</b>"),
        "{}",
        r.body
    );
    let r = web.get("/console?q=nobody-like-this").await;
    assert!(!r.body.contains("Deposit missing after 6 hours"));

    // The ticket page: the customer's message, the case fields, an intact history.
    let r = web.get(&format!("/console/tickets/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("提币未到账"), "{}", r.body);
    assert!(
        r.body
            .contains("0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b")
    );
    assert!(r.body.contains("History intact"));
    // The tx hash links to the network's explorer; nothing else of the page leaves xdesk.
    assert!(r.body.contains(
        "href=\"https://etherscan.io/tx/0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b\""
    ));
    assert!(r.body.contains("rel=\"noopener noreferrer\""));
    // The customer panel: their identities, and their ticket from another identity.
    let earlier = app
        .create_ticket(json!({
            "subject": "KYC review pending",
            "body": "Submitted my documents",
            "customer": {"exchange_uid": "U1001"},
            "group_id": app.payments_group,
        }))
        .await;
    let r = web.get(&format!("/console/tickets/{id}")).await;
    assert!(r.body.contains("alice@example.com"));
    assert!(r.body.contains("U1001"));
    assert!(r.body.contains("KYC review pending"), "{}", r.body);
    assert!(r.body.contains(&format!(
        "/console/tickets/{}",
        earlier["id"].as_i64().unwrap()
    )));

    // Assign to me, then reply with a file and add an internal note, through the forms.
    let csrf = web.csrf();
    let version = ticket["version"].as_i64().unwrap().to_string();
    let r = web
        .post(
            &format!("/console/tickets/{id}/fields"),
            &[("csrf", &csrf), ("version", &version), ("assign", "me")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("body", "We found your deposit; it is being credited now.")
        .part(
            "files",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 receipt".to_vec())
                .file_name("receipt.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let req = web
        .http
        .post(format!("{}/console/tickets/{id}/reply", web.base))
        .multipart(form);
    let r = web.send(req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let note = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("body", "Checked with the wallet team.")
        .text("internal", "1");
    let req = web
        .http
        .post(format!("{}/console/tickets/{id}/reply", web.base))
        .multipart(note);
    assert_eq!(web.send(req).await.status, StatusCode::SEE_OTHER);

    let stored = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(stored["assignee_id"], app.agent_id);
    let messages = stored["messages"].as_array().unwrap();
    let reply = messages
        .iter()
        .find(|m| m["body"] == "We found your deposit; it is being credited now.")
        .unwrap();
    assert_eq!(reply["internal"], false);
    assert_eq!(reply["attachments"][0]["filename"], "receipt.pdf");
    let note = messages
        .iter()
        .find(|m| m["body"] == "Checked with the wallet team.")
        .unwrap();
    assert_eq!(note["internal"], true);
    let r = web.get(&format!("/console/tickets/{id}")).await;
    assert!(r.body.contains("receipt.pdf"));
    assert!(r.body.contains("Internal note"));

    // Solve it from the side panel; the inbox no longer lists it as open.
    let version = stored["version"].as_i64().unwrap().to_string();
    let r = web
        .post(
            &format!("/console/tickets/{id}/fields"),
            &[("csrf", &csrf), ("version", &version), ("state", "solved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = web.get("/console?view=all").await;
    assert!(!r.body.contains("Deposit missing after 6 hours"));
    // A form sent with an old version is refused, not applied over the newer state.
    let r = web
        .post(
            &format!("/console/tickets/{id}/fields"),
            &[("csrf", &csrf), ("version", &version), ("state", "open")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Sign out ends the session on the server: the old cookie no longer opens the console.
    let old = web.jar.get("xdesk_session").cloned().unwrap();
    let r = web.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!web.jar.contains_key("xdesk_session"));
    web.jar.insert("xdesk_session".into(), old);
    assert_eq!(web.get("/console").await.status, StatusCode::SEE_OTHER);
});

backend_test!(forms_refuse_a_missing_or_wrong_csrf_token, |app| {
    let created = app
        .post(
            &app.api_key,
            "/api/v1/tickets",
            ticket_body(&app, "CSRF target"),
        )
        .await;
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let mut web = Web::new(&app);
    // Sign-in itself needs the token.
    web.get("/console/login").await;
    for token in ["", "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = web
            .post(
                "/console/login",
                &[
                    ("csrf", token),
                    ("email", "agent@x.test"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "token {token:?}");
        assert!(!web.jar.contains_key("xdesk_session"));
    }
    // Without the cookie, even a matching-looking field fails.
    let mut cookieless = Web::new(&app);
    let r = cookieless
        .post(
            "/console/login",
            &[
                ("csrf", &web.csrf()),
                ("email", "agent@x.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    assert_eq!(
        web.sign_in("agent@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let before = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let version = before["version"].as_i64().unwrap().to_string();
    for token in ["", "wrong-token"] {
        let r = web
            .post(
                &format!("/console/tickets/{id}/fields"),
                &[("csrf", token), ("version", &version), ("state", "solved")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let form = reqwest::multipart::Form::new()
            .text("csrf", token.to_owned())
            .text("body", "forged reply");
        let req = web
            .http
            .post(format!("{}/console/tickets/{id}/reply", web.base))
            .multipart(form);
        assert_eq!(web.send(req).await.status, StatusCode::FORBIDDEN);
        let r = web.post("/console/logout", &[("csrf", token)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Every other console form too.
        for path in [
            format!("/console/tickets/{id}/case"),
            format!("/console/tickets/{id}/accept"),
            "/console/filters".to_owned(),
            "/console/filters/1/delete".to_owned(),
            "/console/two-factor".to_owned(),
            "/console/welcome/some-token".to_owned(),
        ] {
            let r = web
                .post(
                    &path,
                    &[
                        ("csrf", token),
                        ("version", &version),
                        ("amount", "1"),
                        ("name", "x"),
                        ("q", "x"),
                        ("step", "begin"),
                        ("password", PASSWORD),
                        ("again", PASSWORD),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    let after = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["messages"], before["messages"]);
    // Still signed in: the forged sign-out did nothing.
    assert_eq!(web.get("/console").await.status, StatusCode::OK);
});

backend_test!(an_agent_cannot_open_a_ticket_outside_its_groups, |app| {
    let created = app
        .post(
            &app.api_key,
            "/api/v1/tickets",
            ticket_body(&app, "Payments only"),
        )
        .await;
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    // other@x.test works in Accounts; the ticket is in Payments.
    let mut web = Web::new(&app);
    assert_eq!(
        web.sign_in("other@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let r = web.get(&format!("/console/tickets/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("Payments only"));
    let r = web.get("/console?view=all").await;
    assert!(!r.body.contains("Payments only"));
    let r = web.get("/console?q=Payments").await;
    assert!(!r.body.contains("Payments only"));
    let csrf = web.csrf();
    let r = web
        .post(
            &format!("/console/tickets/{id}/fields"),
            &[("csrf", &csrf), ("version", "1"), ("state", "solved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
});

backend_test!(agents_with_two_factor_give_their_code, |app| {
    let secret = app.enrol_totp(&app.agent_token).await;
    let mut web = Web::new(&app);
    let r = web.sign_in("agent@x.test", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("name=\"totp\""), "{}", r.body);
    assert!(!web.jar.contains_key("xdesk_session"));
    let r = web.sign_in("agent@x.test", Some("000000".into())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("wrong or has expired"));
    let code = totp_code(&secret);
    let r = web.sign_in("agent@x.test", Some(code.clone())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(web.get("/console").await.status, StatusCode::OK);
    // A code is good once: seen over a shoulder, it opens nothing a second time.
    let mut thief = Web::new(&app);
    let r = thief.sign_in("agent@x.test", Some(code)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!thief.jar.contains_key("xdesk_session"));
});

backend_test!(pages_speak_the_browsers_language_until_switched, |app| {
    let mut web = Web::new(&app);
    let r = web
        .get_lang("/console/login", "zh-CN,zh;q=0.9,en;q=0.8")
        .await;
    assert!(r.body.contains("<html lang=\"zh-CN\">"));
    assert!(r.body.contains("登录"));
    assert!(!r.body.contains("Password"));
    // The switch on the page: back to the same page, now English, whatever the browser says.
    let r = web.get("/ui/lang/en?back=/console/login").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/console/login");
    let r = web.get_lang("/console/login", "zh-CN").await;
    assert!(r.body.contains("Password"));
    assert!(r.body.contains("<html lang=\"en\">"));
    // A switch cannot send anyone to another site.
    let r = web.get("/ui/lang/zh?back=//evil.test/").await;
    assert_eq!(r.location(), "/console");
    // Signed in, every string of the inbox and the ticket page is Chinese.
    assert_eq!(
        web.sign_in("agent@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let created = app
        .post(
            &app.api_key,
            "/api/v1/tickets",
            ticket_body(&app, "Chinese page"),
        )
        .await;
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let inbox = web.get("/console?view=all").await;
    for word in [
        "我的工单",
        "未分配",
        "紧急",
        "等待客户回复",
        "优先级",
        "退出登录",
        "高",
    ] {
        assert!(inbox.body.contains(word), "inbox lacks {word}");
    }
    let page = web.get(&format!("/console/tickets/{id}")).await;
    for word in [
        "历史记录完整",
        "内部备注只有客服可见",
        "交易哈希",
        "分配给我",
        "新建",
    ] {
        assert!(page.body.contains(word), "ticket page lacks {word}");
    }
    for english in ["Sign out", "Priority", "Internal note", "Assign to me"] {
        assert!(
            !page.body.contains(english),
            "ticket page still says {english}"
        );
    }
    // Switched while signed in, the choice is the account's: another browser, whose own
    // language is English, gets Chinese pages once the agent signs in there.
    assert_eq!(
        web.get("/ui/lang/zh?back=/console").await.status,
        StatusCode::SEE_OTHER
    );
    let mut other = Web::new(&app);
    other.get_lang("/console/login", "en-US").await;
    assert_eq!(
        other.sign_in("agent@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let inbox = other.get_lang("/console", "en-US").await;
    assert!(inbox.body.contains("退出登录"), "{}", inbox.body);
});

backend_test!(pages_are_small_and_assets_come_from_the_binary, |app| {
    let mut web = Web::new(&app);
    assert_eq!(
        web.sign_in("agent@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let page = web.get("/console").await;
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let mut total = page.body.len();
    for asset in [
        "/static/app.css",
        "/static/htmx.min.js",
        "/static/console.js",
        "/static/notify.js",
    ] {
        assert!(page.body.contains(asset), "{asset} not linked");
        let r = app.http.get(app.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
        total += r.bytes().await.unwrap().len();
    }
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "an external URL"
    );
    assert!(total < 150 * 1024, "a page load moves {total} bytes");
    let r = app
        .http
        .get(app.url("/static/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});

backend_test!(an_expired_session_signs_the_agent_out, |app| {
    let s = &app.running.as_ref().unwrap().services;
    let token = "xds_expiredexpiredexpiredexpired0000";
    let hash = xdesk_service::auth::sha256_hex(token);
    s.store
        .create_session(
            &hash,
            app.agent_id,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let mut web = Web::new(&app);
    web.jar.insert("xdesk_session".into(), token.into());
    let r = web.get("/console").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/console/login"));
    // The API refuses it too.
    assert!(
        s.session_agent(token).await.is_err(),
        "an expired session still signs in"
    );
    // A session still in date opens the console.
    let fresh = "xds_freshfreshfreshfreshfresh00000";
    s.store
        .create_session(
            &xdesk_service::auth::sha256_hex(fresh),
            app.agent_id,
            chrono::Utc::now() + chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    web.jar.insert("xdesk_session".into(), fresh.into());
    assert_eq!(web.get("/console").await.status, StatusCode::OK);
});

backend_test!(
    group_assignee_and_tags_are_edited_from_the_side_panel,
    |app| {
        let created = app
            .create_ticket(ticket_body(&app, "Side panel target"))
            .await;
        let id = created["id"].as_i64().unwrap();
        let mut web = Web::new(&app);
        assert_eq!(
            web.sign_in("agent@x.test", None).await.status,
            StatusCode::SEE_OTHER
        );
        let page = web.get(&format!("/console/tickets/{id}")).await;
        assert!(page.body.contains("name=\"group\""));
        assert!(page.body.contains(&format!(
            "<option value=\"{}\" selected>Payments</option>",
            app.payments_group
        )));
        let csrf = web.csrf();
        let version = created["version"].as_i64().unwrap().to_string();
        let me = app.agent_id.to_string();
        let group = app.payments_group.to_string();
        let r = web
            .post(
                &format!("/console/tickets/{id}/fields"),
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("group", &group),
                    ("assignee", &me),
                    ("tags", "kyc， VIP, withdrawal"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let stored = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(stored["assignee_id"], app.agent_id);
        let mut tags: Vec<String> = stored["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        tags.sort();
        assert_eq!(tags, ["kyc", "vip", "withdrawal"]);
        // A made-up choice is refused, and nothing changes.
        let version = stored["version"].as_i64().unwrap().to_string();
        let r = web
            .post(
                &format!("/console/tickets/{id}/fields"),
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("assignee", "nobody"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let again = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(again["version"], stored["version"]);
        // Clearing the assignee puts the ticket back in the unassigned view.
        let r = web
            .post(
                &format!("/console/tickets/{id}/fields"),
                &[("csrf", &csrf), ("version", &version), ("assignee", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let inbox = web.get("/console?view=unassigned").await;
        assert!(inbox.body.contains("Side panel target"));
    }
);

backend_test!(
    agents_edit_case_fields_with_problems_shown_beside_them,
    |app| {
        let t = app
            .create_ticket(ticket_body(&app, "Withdrawal to the wrong chain"))
            .await;
        let id = t["id"].as_i64().unwrap();
        let version = t["version"].as_i64().unwrap().to_string();
        let mut web = Web::new(&app);
        web.sign_in("agent@x.test", None).await;
        let page = web.get(&format!("/console/tickets/{id}")).await;
        assert!(page.body.contains("Edit case fields"));
        assert!(page.body.contains("name=\"tx_hash\""));
        let csrf = web.csrf();
        let path = format!("/console/tickets/{id}/case");
        // Checked while typing.
        let r = web
            .post(
                "/console/check",
                &[
                    ("field", "to_address"),
                    ("network", "bitcoin"),
                    ("to_address", "0xabc"),
                ],
            )
            .await;
        assert!(r.body.contains("not a valid address"), "{}", r.body);
        // Two bad fields: both shown, nothing stored.
        let r = web
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("network", "ethereum"),
                    ("tx_hash", "0x12"),
                    ("amount", "lots"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body
                .contains("This is not a transaction hash of the chosen network.")
        );
        assert!(r.body.contains("Enter a positive number, like 120.5."));
        assert!(r.body.contains("value=\"0x12\""), "what was typed is kept");
        let stored = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(stored["version"], t["version"]);
        // Without the token: refused.
        let r = web
            .post(&path, &[("version", &version), ("amount", "5")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Good values are saved; blank ones keep what was there.
        let tx = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944c";
        let r = web
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("network", "ethereum"),
                    ("tx_hash", tx),
                    ("amount", "99.5"),
                    ("occurred_at", "2026-11-19T22:05"),
                    ("memo", ""),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let stored = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(stored["crypto"]["tx_hash"], tx);
        assert_eq!(stored["crypto"]["amount"], "99.5");
        assert_eq!(stored["crypto"]["occurred_at"], "2026-11-19T22:05:00Z");
        assert_eq!(stored["crypto"]["asset"], t["crypto"]["asset"]);
        let page = web.get(&format!("/console/tickets/{id}")).await;
        assert!(
            page.body.contains("etherscan.io/tx/0x88df0164"),
            "explorer link for the new hash"
        );
        app.stop().await;
    }
);

backend_test!(agents_save_filters_that_show_with_their_counts, |app| {
    let t = app
        .create_ticket(ticket_body(&app, "Deposit missing on TRON"))
        .await;
    let mut low = ticket_body(&app, "Deposit question");
    low["priority"] = json!("low");
    app.create_ticket(low).await;
    let mut web = Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let csrf = web.csrf();
    let r = web.get("/console?q=Deposit&priority=high").await;
    assert!(r.body.contains("Deposit missing on TRON"));
    assert!(
        !r.body.contains("Deposit question"),
        "the low one is filtered out"
    );
    assert!(r.body.contains("Save this filter as"));
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "High deposits"),
        ("q", "Deposit"),
        ("priority", "high"),
    ];
    let r = web.post("/console/filters", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let view = r.location().to_owned();
    let key = view.trim_start_matches("/console?view=").to_owned();
    let r = web.get(&view).await;
    assert!(
        r.body.contains("<h1 id=\"list-title\">High deposits</h1>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("data-view=\"{key}\">1<")));
    assert!(r.body.contains(&format!("/console/tickets/{}", t["id"])));
    // Refused: a state no ticket has, nothing to filter by, no CSRF token.
    let r = web
        .post(
            "/console/filters",
            &[("csrf", &csrf), ("name", "x"), ("state", "lost")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = web
        .post("/console/filters", &[("csrf", &csrf), ("name", "x")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = web
        .post("/console/filters", &[("name", "x"), ("q", "y")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another agent neither sees nor deletes it.
    let id = key.trim_start_matches("saved-");
    let mut other = Web::new(&app);
    other.sign_in("other@x.test", None).await;
    assert!(!other.get("/console").await.body.contains("High deposits"));
    let oc = other.csrf();
    let r = other
        .post(&format!("/console/filters/{id}/delete"), &[("csrf", &oc)])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = web
        .post(&format!("/console/filters/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!web.get("/console").await.body.contains("High deposits"));
    app.stop().await;
});

backend_test!(next_ticket_goes_through_the_queue, |app| {
    let a = app.create_ticket(ticket_body(&app, "First")).await["id"]
        .as_i64()
        .unwrap();
    let b = app.create_ticket(ticket_body(&app, "Second")).await["id"]
        .as_i64()
        .unwrap();
    let mut web = Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{a}")).await;
    assert!(
        page.body
            .contains(&format!("href=\"/console/next?after={a}\""))
    );
    // Nothing is the agent's own yet: the unassigned queue, oldest first, skipping this one.
    let r = web.get(&format!("/console/next?after={a}")).await;
    assert_eq!(r.location(), format!("/console/tickets/{b}"));
    let r = web.get(&format!("/console/next?after={b}")).await;
    assert_eq!(r.location(), format!("/console/tickets/{a}"));
    app.stop().await;
});

// The timeline and the audit log say what happened in words, in the reader's language: the
// assignee by name, states and tags by their names, the ticket by its number; no ids, no JSON.
backend_test!(history_reads_in_words_in_both_languages, |app| {
    // Admin pages need a second factor: enrolled over the API, then the next 30-second step's
    // code (the current one is used up by the enrolment).
    let admin = app.login(&app.admin_email).await;
    let totp = app.enrol_totp(&admin).await;
    let r = app
        .post(
            &admin,
            "/api/v1/agents",
            json!({"email": "li.wei@x.test", "display_name": "Li Wei", "role": "agent",
                   "password": PASSWORD, "group_ids": [app.payments_group]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let li: Value = r.json().await.unwrap();
    let t = app
        .create_ticket(ticket_body(&app, "KYC stuck for a week"))
        .await;
    let id = t["id"].as_i64().unwrap();
    let number = t["number"].as_str().unwrap().to_owned();
    assert_eq!((&t["state"], &t["channel"]), (&json!("new"), &json!("api")));
    let mut tags = t["tags"].as_array().unwrap().clone();
    tags.push(json!("kyc"));
    let r = app
        .patch(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": t["version"], "assignee_id": li["id"],
                   "state": "pending_customer", "tags": tags}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let mut web = Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{id}")).await.body;
    holds_all(
        &page,
        &[
            "Assigned to Li Wei",
            "State: New → Waiting on customer",
            "Tags added: kyc",
            "(by agent)",
            "Ticket opened via API",
        ],
    );
    assert!(!page.contains("Assignee →"), "an id, not a name");
    web.get("/ui/lang/zh?back=/console").await;
    let page = web.get(&format!("/console/tickets/{id}")).await.body;
    holds_all(
        &page,
        &[
            "已分配给 Li Wei",
            "状态：由“新建”改为“等待客户回复”",
            "已添加标签：kyc",
            "（agent 操作）",
        ],
    );

    let key = totp_rs::Secret::Encoded(totp).to_bytes().unwrap();
    let next = (chrono::Utc::now().timestamp() + 30) as u64;
    let code = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, key)
        .unwrap()
        .generate(next);
    let mut boss = Web::new(&app);
    boss.sign_in(&app.admin_email, Some(code)).await;
    let log = boss
        .get(&format!("/admin/audit?target=ticket:{id}"))
        .await
        .body;
    holds_all(
        &log,
        &[
            &format!("Changed Assignee, State, Tags on ticket {number}"),
            &format!("Viewed ticket {number}"),
            ">agent</a>",
        ],
    );
    assert!(!log.contains("&quot;fields&quot;"), "raw JSON in\n{log}");
    boss.get("/ui/lang/zh?back=/admin/audit").await;
    let log = boss
        .get(&format!("/admin/audit?target=ticket:{id}"))
        .await
        .body;
    let zh = format!("修改了工单 {number} 的处理人, 状态, 标签");
    assert!(log.contains(&zh), "no {zh:?} in\n{log}");
    app.stop().await;
});

fn holds_all(page: &str, texts: &[&str]) {
    for t in texts {
        assert!(page.contains(t), "no {t:?} in\n{page}");
    }
}

/// Whether a page carries the signed-in header: who is signed in, the console's links and
/// the sign-out form.
fn has_signed_in_nav(body: &str, who: &str) -> bool {
    let header = body.split("</header>").next().unwrap_or_default();
    [
        "/console/team",
        "/console/macros",
        "/console/kb",
        "/console/logout",
    ]
    .iter()
    .all(|link| header.contains(link))
        && header.contains(&format!("<strong>{who}</strong>"))
}

backend_test!(error_pages_keep_the_signed_in_navigation, |app| {
    let mut accounts = ticket_body(&app, "Locked out");
    accounts["group_id"] = json!(app.accounts_group);
    let theirs = app.create_ticket(accounts).await["id"].as_i64().unwrap();
    let hidden = app.create_ticket(ticket_body(&app, "Payments only")).await["id"]
        .as_i64()
        .unwrap();

    let mut web = Web::new(&app);
    // Signed out, an unknown page is a plain not-found page with nobody's navigation.
    let r = web.get("/console/no-such-page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Not found"), "{}", r.body);
    assert!(!r.body.contains("/console/logout"));

    assert_eq!(
        web.sign_in("super@x.test", None).await.status,
        StatusCode::SEE_OTHER
    );
    let csrf = web.csrf();
    let mut seen = Vec::new();
    for (what, r) in [
        ("no such ticket", web.get("/console/tickets/999999").await),
        (
            "a ticket of another group",
            web.get(&format!("/console/tickets/{hidden}")).await,
        ),
        ("an unknown page", web.get("/console/no-such-page").await),
        ("an admin page", web.get("/admin/agents").await),
        (
            "a stale version",
            web.post(
                &format!("/console/tickets/{theirs}/fields"),
                &[("csrf", &csrf), ("version", "0"), ("state", "open")],
            )
            .await,
        ),
        (
            "a wrong CSRF token",
            web.post(
                &format!("/console/tickets/{theirs}/fields"),
                &[("csrf", "wrong"), ("version", "1"), ("state", "open")],
            )
            .await,
        ),
    ] {
        assert!(r.status.is_client_error(), "{what}: {}", r.status);
        assert!(has_signed_in_nav(&r.body, "super"), "{what}: {}", r.body);
        assert!(!r.body.contains("Payments only"), "{what}");
        seen.push(r.status);
    }
    assert_eq!(
        seen,
        [
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::FORBIDDEN,
            StatusCode::CONFLICT,
            StatusCode::FORBIDDEN,
        ]
    );
    // The API keeps its own JSON answer for unknown routes.
    let r = app
        .http
        .get(app.url("/api/v1/no-such-route"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "route_not_found");
});

/// The row of ticket `id` in an inbox page's HTML.
fn inbox_row(html: &str, id: i64) -> &str {
    let start = html
        .find(&format!("data-ticket=\"{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}"));
    let row_start = html[..start].rfind("<tr").unwrap();
    let end = start + html[start..].find("</tr>").unwrap();
    &html[row_start..end]
}

// Issue 18: a row is unread until its agent opens the ticket, and again when the customer
// writes; the list sorts by the customer's last message, and the header links keep the view.
backend_test!(the_inbox_marks_unread_and_sorts_by_column, |app| {
    let mut web = Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let older = app.create_ticket(ticket_body(&app, "Older ticket")).await;
    let newer = app.create_ticket(ticket_body(&app, "Newer ticket")).await;
    let (a, b) = (older["id"].as_i64().unwrap(), newer["id"].as_i64().unwrap());
    let r = web.get("/console?view=unassigned").await;
    assert_eq!(r.status, StatusCode::OK);
    for id in [a, b] {
        let row = inbox_row(&r.body, id);
        assert!(row.contains("unread"), "{row}");
        assert!(row.contains("Alice 王"), "customer column: {row}");
    }
    // Opened: read for this agent.
    assert_eq!(
        web.get(&format!("/console/tickets/{a}")).await.status,
        StatusCode::OK
    );
    let r = web.get("/console?view=unassigned").await;
    assert!(!inbox_row(&r.body, a).contains("unread"));
    assert!(inbox_row(&r.body, b).contains("unread"));
    // The customer writes on the older ticket: unread again, and first by last message.
    let mut portal = app.portal_as(older["customer_id"].as_i64().unwrap()).await;
    portal.get(&format!("/portal/tickets/{a}")).await;
    let csrf = portal.csrf();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("body", "Any news?");
    let r = portal
        .post_multipart(&format!("/portal/tickets/{a}/reply"), form)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = web
        .get("/console?view=unassigned&sort=-last_customer")
        .await;
    assert!(inbox_row(&r.body, a).contains("unread"));
    assert!(
        r.body.find(&format!("data-ticket=\"{a}\"")) < r.body.find(&format!("data-ticket=\"{b}\"")),
        "newest customer message first"
    );
    // The header that sorts shows it, and its link flips the direction within the view.
    assert!(r.body.contains("aria-sort=\"descending\""));
    let flip = r
        .body
        .find("sort=last_customer\"")
        .map(|i| &r.body[i.saturating_sub(40)..i]);
    assert!(
        flip.is_some_and(|f| f.ends_with("/console?view=unassigned&#38;")),
        "{flip:?}"
    );
    let r = web.get("/console?view=unassigned&sort=last_customer").await;
    assert!(
        r.body.find(&format!("data-ticket=\"{b}\"")) < r.body.find(&format!("data-ticket=\"{a}\"")),
        "oldest customer message first"
    );
    let r = web.get("/console?view=unassigned&sort=-created").await;
    assert!(
        r.body.find(&format!("data-ticket=\"{b}\"")) < r.body.find(&format!("data-ticket=\"{a}\""))
    );
});

// Issue 18: one change to three tickets, one of which the agent cannot see: the two it can are
// changed, each with its own event and audit entry; the third is reported, not skipped, and
// left as it was.
backend_test!(
    a_bulk_change_audits_each_ticket_and_reports_the_refused,
    |app| {
        let a = app.create_ticket(ticket_body(&app, "Bulk one")).await;
        let b = app.create_ticket(ticket_body(&app, "Bulk two")).await;
        let mut hidden = ticket_body(&app, "Bulk hidden");
        hidden["group_id"] = json!(app.accounts_group);
        let c = app.create_ticket(hidden).await;
        let ids: Vec<i64> = [&a, &b, &c]
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        let r = app
        .post(
            &app.agent_token,
            "/api/v1/tickets/bulk",
            json!({"ids": ids, "state": "open", "add_tags": ["bulk"], "assignee_id": app.agent_id}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let out: Value = r.json().await.unwrap();
        assert_eq!(out["changed"], json!([ids[0], ids[1]]), "{out}");
        assert_eq!(out["refused"][0]["id"], ids[2], "{out}");
        assert_eq!(out["refused"][0]["code"], "not_found", "{out}");
        assert_eq!(out["refused"].as_array().unwrap().len(), 1);
        let admin = app.admin_token().await;
        for (i, id) in ids.iter().enumerate() {
            let t = app
                .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
                .await;
            let events = if i < 2 {
                app.verified_events(*id).await
            } else {
                Vec::new()
            };
            let updates: Vec<_> = events.iter().filter(|e| e["kind"] == "updated").collect();
            let log = app
                .get_json(
                    &admin,
                    &format!("/api/v1/audit?action=ticket.update&target=ticket:{id}"),
                )
                .await;
            if i < 2 {
                assert_eq!(t["state"], "open");
                assert_eq!(t["assignee_id"], app.agent_id);
                assert!(t["tags"].as_array().unwrap().contains(&json!("bulk")));
                assert_eq!(updates.len(), 1, "one event per ticket: {events:?}");
                assert_eq!(log.as_array().unwrap().len(), 1, "one audit entry: {log}");
                assert_eq!(log[0]["actor"], format!("agent:{}", app.agent_id));
            } else {
                assert_eq!(t["state"], "new");
                assert!(t["assignee_id"].is_null());
                assert_eq!(t["version"], c["version"], "untouched");
                assert!(log.as_array().unwrap().is_empty());
            }
        }
        // Done again: already so, nothing written.
        let r = app
            .post(
                &app.agent_token,
                "/api/v1/tickets/bulk",
                json!({"ids": [ids[0]], "state": "open"}),
            )
            .await;
        let out: Value = r.json().await.unwrap();
        assert_eq!(out["unchanged"], json!([ids[0]]), "{out}");
        // Bad requests are refused as a whole, before any ticket changes.
        for (body, field) in [
            (json!({"ids": [], "state": "open"}), "ids"),
            (
                json!({"ids": (1..=201).collect::<Vec<i64>>(), "state": "open"}),
                "ids",
            ),
            (json!({"ids": [ids[0]], "state": "nonsense"}), "state"),
            (json!({"ids": [ids[0]]}), "change"),
            (
                json!({"ids": [ids[0]], "merge_into": ids[1], "state": "open"}),
                "merge_into",
            ),
        ] {
            let r = app
                .post(&app.agent_token, "/api/v1/tickets/bulk", body.clone())
                .await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error"]["field"], field, "{e}");
        }
        // The console's form: the refused ticket is named on the answer.
        let mut web = Web::new(&app);
        web.sign_in("agent@x.test", None).await;
        let csrf = web.csrf();
        let (x, y, z) = (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
        let r = web
            .post(
                "/console/bulk",
                &[
                    ("csrf", &csrf),
                    ("ids", &x),
                    ("ids", &y),
                    ("ids", &z),
                    ("op", "priority"),
                    ("priority", "urgent"),
                    ("back", "/console?view=mine"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("2 tickets changed."), "{}", r.body);
        assert!(
            r.body
                .contains(&format!("href=\"/console/tickets/{}\"", ids[2])),
            "{}",
            r.body
        );
        assert!(r.body.contains("href=\"/console?view=mine\""));
        let t = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{}", ids[2]))
            .await;
        assert_eq!(t["priority"], "high");
        let r = web
            .post(
                "/console/bulk",
                &[("ids", &x), ("op", "priority"), ("priority", "low")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    }
);
