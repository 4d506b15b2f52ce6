//! Mailboxes polled over IMAP, against Debian's dovecot on loopback.

use crate::backend_test_db;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn mail(from: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@exchange.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n\
         --M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
         --M\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"shot.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--M--\r\n"
    )
    .into_bytes()
}

async fn tickets(app: &TestApp, token: &str) -> Vec<Value> {
    app.get_json(token, "/api/v1/tickets?limit=200").await["tickets"]
        .as_array()
        .unwrap()
        .clone()
}

backend_test_db!(mailbox_mail_becomes_tickets_once_and_is_moved, |db| {
    let imap = Dovecot::start().await;
    let Some(app) = spawn_app_with(db, |c| {
        c.imap.poll_secs = 1;
        c.imap.idle_secs = 2;
        c.imap.retry_secs = 1;
    })
    .await
    else {
        return;
    };
    let mut s = imap.session().await;
    s.create("Processed").await.unwrap();
    s.logout().await.unwrap();
    imap.deliver(
        "INBOX",
        &mail(
            "Wang <wang@example.com>",
            "充值未到账",
            "w1@example.com",
            "截图见附件",
        ),
    )
    .await;
    imap.deliver(
        "INBOX",
        &mail(
            "carol@example.com",
            "KYC stuck",
            "c1@example.com",
            "Please check",
        ),
    )
    .await;

    let admin = app.admin_token().await;
    let r = app
        .post(
            &admin,
            "/api/v1/mailboxes",
            json!({"name": "support", "host": "127.0.0.1", "port": imap.port, "tls": "none",
                   "username": Dovecot::USER, "password": Dovecot::PASSWORD,
                   "move_to": "Processed", "group_id": app.payments_group}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mailbox: Value = r.json().await.unwrap();
    assert!(mailbox.get("password").is_none(), "{mailbox}");

    // The payments agent sees both tickets: the mailbox's group is theirs.
    eventually("two tickets", || async {
        tickets(&app, &app.agent_token).await.len() == 2
    })
    .await;
    eventually("the inbox emptied", || async {
        imap.search("INBOX", "ALL").await.is_empty()
    })
    .await;
    assert_eq!(imap.search("Processed", "ALL").await.len(), 2);
    let list = tickets(&app, &app.agent_token).await;
    let wang = list.iter().find(|t| t["subject"] == "充值未到账").unwrap();
    let t = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{}", wang["id"]))
        .await;
    assert_eq!(t["channel"], "email");
    assert_eq!(
        t["messages"][0]["attachments"][0]["filename"], "shot.png",
        "{t}"
    );

    // The same mail fetched again (as after a crash between commit and move) is not stored
    // twice, and still leaves the inbox.
    imap.deliver(
        "INBOX",
        &mail(
            "Wang <wang@example.com>",
            "充值未到账",
            "w1@example.com",
            "截图见附件",
        ),
    )
    .await;
    eventually("the re-delivered copy moved", || async {
        imap.search("Processed", "ALL").await.len() == 3
    })
    .await;
    assert_eq!(tickets(&app, &app.api_key).await.len(), 2);

    // A reply threads into its ticket.
    let reply = "From: wang@example.com\r\nSubject: Re: 充值未到账\r\nMessage-ID: <w2@example.com>\r\n\
         In-Reply-To: <w1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n还是没到\r\n";
    imap.deliver("INBOX", reply.as_bytes()).await;
    eventually("the reply joined", || async {
        let t = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{}", wang["id"]))
            .await;
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "还是没到")
    })
    .await;
    assert_eq!(tickets(&app, &app.api_key).await.len(), 2);
    app.stop().await;
});

backend_test_db!(configured_mailbox_marks_seen_and_reports_errors, |db| {
    let imap = Dovecot::start().await;
    let port = imap.port;
    let Some(app) = spawn_app_with(db, move |c| {
        c.imap.poll_secs = 1;
        c.imap.idle_secs = 2;
        c.imap.retry_secs = 1;
        c.mailboxes = vec![
            serde_json::from_value(json!({"name": "configured", "host": "127.0.0.1",
                "port": port, "tls": "none", "username": "support", "password": "secret"}))
            .unwrap(),
            serde_json::from_value(json!({"name": "wrong-password", "host": "127.0.0.1",
                "port": port, "tls": "none", "username": "support", "password": "nope"}))
            .unwrap(),
        ];
    })
    .await
    else {
        return;
    };
    imap.deliver(
        "INBOX",
        &mail("dave@example.com", "Locked out", "d1@example.com", "help"),
    )
    .await;
    eventually("the mail marked seen", || async {
        imap.search("INBOX", "SEEN").await.len() == 1
    })
    .await;
    assert_eq!(tickets(&app, &app.api_key).await.len(), 1);
    let admin = app.admin_token().await;
    let mut boxes = Value::Null;
    for _ in 0..100 {
        boxes = app.get_json(&admin, "/api/v1/mailboxes").await;
        if boxes[1]["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(boxes[0]["name"], "configured");
    assert!(boxes[0]["last_error"].is_null(), "{boxes}");
    assert!(boxes[0]["last_polled_at"].is_string());
    let error = boxes[1]["last_error"].as_str().unwrap_or_default();
    assert!(error.to_lowercase().contains("auth"), "{boxes}");

    // Bad settings are refused with the field named.
    let r = app
        .post(
            &admin,
            "/api/v1/mailboxes",
            json!({"name": "x", "host": "imap.example.com", "username": "u", "password": "p",
                   "folder": "INBOX", "move_to": "INBOX"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["field"], "move_to", "{v}");
    let r = app
        .post(
            &app.agent_token,
            "/api/v1/mailboxes",
            json!({"name": "x", "host": "h", "username": "u", "password": "p"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
});

backend_test_db!(
    a_mail_over_the_limit_stays_in_the_mailbox_with_a_flagged_ticket,
    |db| {
        let imap = Dovecot::start().await;
        let port = imap.port;
        let Some(app) = spawn_app_with(db, move |c| {
            c.imap.poll_secs = 1;
            c.imap.idle_secs = 1;
            c.imap.retry_secs = 1;
            c.imap.max_mail_bytes = 200_000;
            c.mailboxes = vec![
                serde_json::from_value(json!({"name": "support", "host": "127.0.0.1",
                "port": port, "tls": "none", "username": "support", "password": "secret"}))
                .unwrap(),
            ];
        })
        .await
        else {
            return;
        };
        // 300 KB of screenshot, base64: over the limit of 200 KB.
        let big = format!(
            "From: Li Wei <li@example.com>\r\nSubject: 提现截图\r\nMessage-ID: <big@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n见附件\r\n\
         --B\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"a.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
            "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n"
                .repeat(4_000)
        );
        imap.deliver("INBOX", big.as_bytes()).await;
        imap.deliver(
            "INBOX",
            &mail("dave@example.com", "Locked out", "d2@example.com", "help"),
        )
        .await;
        eventually("both mails handled", || async {
            tickets(&app, &app.api_key).await.len() == 2
        })
        .await;
        let list = tickets(&app, &app.api_key).await;
        let big_ticket = list.iter().find(|t| t["subject"] == "提现截图").unwrap();
        let t = app
            .get_json(
                &app.api_key,
                &format!("/api/v1/tickets/{}", big_ticket["id"]),
            )
            .await;
        let body = t["messages"][0]["body"].as_str().unwrap();
        assert!(
            body.contains("over the 0.2 MB limit") && body.contains("UID"),
            "{body}"
        );
        assert!(body.contains("mailbox support (INBOX)"), "{body}");
        assert!(t["tags"].to_string().contains("too-large"), "{t}");
        // The big mail stays where it was, unseen, and later rounds pass it by.
        assert_eq!(imap.search("INBOX", "UNSEEN").await.len(), 1);
        assert_eq!(
            imap.search("INBOX", "KEYWORD $XdeskTooLarge").await.len(),
            1
        );
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(tickets(&app, &app.api_key).await.len(), 2);
        app.stop().await;
    }
);
