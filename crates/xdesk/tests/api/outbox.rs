//! Email out, against a real SMTP server on loopback: the acknowledgement, agent replies with
//! threading headers and attachments, retries on 4xx, failure on 5xx, bounces, and templates.

use crate::backend_test_db;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn app_sending_to(db: Db, smtp: &SmtpCapture) -> Option<TestApp> {
    let settings = smtp.settings();
    spawn_app_with(db, move |c| {
        c.email.from_address = "help@exchange.test".into();
        c.email.from_name = "Exchange Support".into();
        c.email.first_response_minutes = 120;
        c.smtp = Some(settings);
    })
    .await
}

fn plain_mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: help@exchange.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         {extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn parse(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap()
}

fn header<'a>(m: &'a mail_parser::Message<'a>, name: &str) -> String {
    m.header_raw(name).unwrap_or_default().trim().to_owned()
}

async fn messages(app: &TestApp, id: i64) -> Vec<Value> {
    app.get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
        .await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls the ticket until the delivery of message `index` reaches `state`.
async fn delivery(app: &TestApp, id: i64, index: usize, state: &str) -> Value {
    for _ in 0..200 {
        let m = messages(app, id).await;
        if let Some(d) = m
            .get(index)
            .map(|m| m["delivery"].clone())
            .filter(|d| d["state"] == state)
        {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "message {index} never reached {state}: {:?}",
        messages(app, id).await
    );
}

backend_test_db!(acknowledgement_and_replies_thread_by_email, |db| {
    let smtp = SmtpCapture::start().await;
    let Some(app) = app_sending_to(db, &smtp).await else {
        return;
    };
    let (status, r) = app
        .post_mail(&plain_mail(
            "Alice <alice@example.com>",
            "Deposit missing",
            "a1@example.com",
            "",
            "My USDT deposit has not arrived.",
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["ticket_id"].as_i64().unwrap();
    let number = r["ticket_number"].as_str().unwrap().to_owned();

    // The acknowledgement: number, promised time, threaded under the customer's mail, marked
    // automatic.
    let mails = smtp.wait_for(1).await;
    let ack = parse(&mails[0]);
    assert_eq!(
        ack.subject().unwrap(),
        format!("[{number}] We received your request: Deposit missing")
    );
    assert_eq!(
        ack.to().unwrap().first().unwrap().address().unwrap(),
        "alice@example.com"
    );
    assert_eq!(
        ack.from().unwrap().first().unwrap().address().unwrap(),
        "help@exchange.test"
    );
    assert_eq!(ack.in_reply_to().as_text(), Some("a1@example.com"));
    assert_eq!(header(&ack, "Auto-Submitted"), "auto-replied");
    let ack_body = ack.body_text(0).unwrap();
    assert!(ack_body.contains("within 2 hours"), "{ack_body}");
    let d = delivery(&app, id, 1, "sent").await;
    assert!(
        d["smtp_response"].as_str().unwrap().contains("queued as"),
        "{d}"
    );
    let ack_id = ack.message_id().unwrap().to_owned();

    // An agent's reply, with a file, threads under everything before it.
    let agent = app.admin_token().await;
    let r = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "It arrived after 12 confirmations.", "attachments": [
                {"filename": "receipt.txt", "content_type": "text/plain", "content_base64": "b2s="}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mails = smtp.wait_for(2).await;
    let reply = parse(&mails[1]);
    assert_eq!(
        reply.subject().unwrap(),
        format!("Re: Deposit missing [{number}]")
    );
    assert_eq!(reply.in_reply_to().as_text(), Some("a1@example.com"));
    let refs: Vec<String> = reply
        .references()
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, vec!["a1@example.com".to_owned(), ack_id.clone()]);
    assert!(header(&reply, "Auto-Submitted").is_empty());
    assert!(reply.body_text(0).unwrap().contains("12 confirmations"));
    assert_eq!(reply.attachment(0).unwrap().contents(), b"ok");
    let d = delivery(&app, id, 2, "sent").await;
    assert_eq!(d["to"], "alice@example.com");

    // The customer answers the reply: it joins the same ticket through our Message-ID, and no
    // second acknowledgement goes out.
    let (status, r) = app
        .post_mail(&plain_mail(
            "alice@example.com",
            "Re: something",
            "a2@example.com",
            &format!("In-Reply-To: <{}>\r\n", reply.message_id().unwrap()),
            "Thanks, received.",
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["ticket_id"], id);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 2);
    app.stop().await;
});

backend_test_db!(temporary_failures_retry_and_permanent_ones_fail, |db| {
    let smtp = SmtpCapture::start().await;
    let Some(app) = app_sending_to(db, &smtp).await else {
        return;
    };
    let (_, r) = app
        .post_mail(&plain_mail(
            "tempfail@example.com",
            "Help",
            "t1@example.com",
            "",
            "hi",
        ))
        .await;
    let deferred = r["ticket_id"].as_i64().unwrap();
    let (_, r) = app
        .post_mail(&plain_mail(
            "reject@example.com",
            "Help",
            "r1@example.com",
            "",
            "hi",
        ))
        .await;
    let rejected = r["ticket_id"].as_i64().unwrap();

    let d = delivery(&app, deferred, 1, "sent").await;
    assert_eq!(d["attempts"], 2, "one 451, then accepted: {d}");
    let d = delivery(&app, rejected, 1, "failed").await;
    assert_eq!(d["attempts"], 1);
    let error = d["error"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("mailbox unavailable"),
        "{error}"
    );
    assert_eq!(smtp.wait_for(1).await.len(), 1);
    app.stop().await;
});

backend_test_db!(a_bounce_marks_the_mail_failed, |db| {
    let smtp = SmtpCapture::start().await;
    let Some(app) = app_sending_to(db, &smtp).await else {
        return;
    };
    let (_, r) = app
        .post_mail(&plain_mail(
            "bob@example.com",
            "KYC",
            "b1@example.com",
            "",
            "hello",
        ))
        .await;
    let id = r["ticket_id"].as_i64().unwrap();
    delivery(&app, id, 1, "sent").await;
    let ack = parse(&smtp.wait_for(1).await[0])
        .message_id()
        .unwrap()
        .to_owned();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.com\r\nTo: help@exchange.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
         Final-Recipient: rfc822; bob@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ack}>\r\nSubject: x\r\n\r\n--B--\r\n"
    );
    let (status, r) = app.post_mail(dsn.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["ticket_id"], id);
    let d = delivery(&app, id, 1, "failed").await;
    let error = d["error"].as_str().unwrap();
    assert!(
        error.contains("5.1.1") && error.contains("user unknown"),
        "{error}"
    );
    // The report itself is an internal note, and nobody answers it.
    let admin = app.admin_token().await;
    let t = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    let last = t["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["internal"], true, "{last}");
    assert!(last.get("delivery").is_none());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1);
    app.stop().await;
});

backend_test_db!(admins_edit_templates_and_robots_get_no_answer, |db| {
    let smtp = SmtpCapture::start().await;
    let Some(app) = app_sending_to(db, &smtp).await else {
        return;
    };
    let admin = app.admin_token().await;
    let path = "/api/v1/email-templates/acknowledgement/zh";
    let r = app
        .http
        .put(app.url(path))
        .bearer_auth(&admin)
        .json(&json!({"subject": "[{{ ticket_number }}] 收到", "body": "{{ brand }}：我们会在{{ first_response }}内回复。"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let broken = app
        .http
        .put(app.url(path))
        .bearer_auth(&admin)
        .json(&json!({"subject": "{{ ticket_nmber }}", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = broken.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_template", "{v}");
    let denied = app
        .http
        .put(app.url(path))
        .bearer_auth(&app.agent_token)
        .json(&json!({"subject": "x", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let list = app.get_json(&admin, "/api/v1/email-templates").await;
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["language"] == "zh"
                && t["name"] == "acknowledgement"
                && t["customised"] == true)
    );

    // An out-of-office reply opens a ticket but gets no acknowledgement.
    let (_, r) = app
        .post_mail(&plain_mail(
            "robot@example.com",
            "Out of office",
            "o1@example.com",
            "Auto-Submitted: auto-replied\r\n",
            "I am away.",
        ))
        .await;
    let robot = r["ticket_id"].as_i64().unwrap();
    assert!(
        messages(&app, robot)
            .await
            .iter()
            .all(|m| m.get("delivery").is_none())
    );

    let (_, r) = app
        .post_mail(&plain_mail(
            "li@example.com",
            "提币未到账",
            "z1@example.com",
            "",
            "请帮我查一下",
        ))
        .await;
    let id = r["ticket_id"].as_i64().unwrap();
    let mails = smtp.wait_for(1).await;
    let ack = parse(&mails[0]);
    assert_eq!(
        ack.subject().unwrap(),
        format!("[{}] 收到", r["ticket_number"].as_str().unwrap())
    );
    assert!(
        ack.body_text(0)
            .unwrap()
            .contains("Exchange Support：我们会在2 小时内回复")
    );
    delivery(&app, id, 1, "sent").await;
    assert_eq!(smtp.messages().len(), 1, "the robot got nothing");
    app.stop().await;
});

backend_test_db!(oversized_attachments_are_named_and_the_sender_told, |db| {
    let smtp = SmtpCapture::start().await;
    let settings = smtp.settings();
    let Some(app) = spawn_app_with(db, move |c| {
        c.max_attachment_bytes = 2048;
        c.smtp = Some(settings);
    })
    .await
    else {
        return;
    };
    let big = "A".repeat(4000);
    let raw = format!(
        "From: erin@example.com\r\nSubject: Screenshots\r\nMessage-ID: <e1@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n\
         --X\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\r\n{big}\r\n\
         --X\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"small.txt\"\r\n\r\nsmall\r\n--X--\r\n"
    );
    let (status, r) = app.post_mail(raw.as_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["rejected_attachments"], json!(["big.bin (4000 bytes)"]));
    let id = r["ticket_id"].as_i64().unwrap();
    let m = messages(&app, id).await;
    let kept: Vec<&str> = m[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec!["small.txt"]);
    assert!(
        m[0]["body"].as_str().unwrap().contains("big.bin"),
        "agents see it too"
    );
    // The sender is told by mail which file did not arrive and how to send it.
    let mails = smtp.wait_for(2).await;
    let notice = mails
        .iter()
        .map(|raw| parse(raw).body_text(0).unwrap().into_owned())
        .find(|b| b.contains("big.bin"))
        .expect("a mail naming the file");
    assert!(
        notice.contains("2 KB") && notice.contains("compressed"),
        "{notice}"
    );
    app.stop().await;
});

/// A certificate authority and a certificate for `localhost` it signed, made by openssl:
/// (authority, certificate, key) in `dir`.
fn test_certificates(dir: &std::path::Path) -> (String, String, String) {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key) = (path("ca.pem"), path("ca.key"));
    let (cert, key, csr, ext) = (
        path("cert.pem"),
        path("cert.key"),
        path("cert.csr"),
        path("ext"),
    );
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                &ca_key,
                "-out",
                &ca,
                "-days",
                "2",
                "-subj",
                "/CN=xdesk test authority",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"],
        ]
        .concat(),
    );
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &cert,
        "-days",
        "2",
        "-extfile",
        &ext,
    ]);
    (ca, cert, key)
}

/// Settings for a capture server reached as `localhost` over TLS.
fn tls_settings(
    smtp: &SmtpCapture,
    tls: xdesk_channels::smtp::SmtpTls,
    ca: Option<&str>,
) -> xdesk_channels::smtp::SmtpSettings {
    xdesk_channels::smtp::SmtpSettings {
        host: "localhost".into(),
        tls,
        ca_file: ca.map(Into::into),
        ..smtp.settings()
    }
}

async fn app_with_smtp(settings: xdesk_channels::smtp::SmtpSettings) -> Option<TestApp> {
    spawn_app_with(Db::Sqlite, move |c| {
        c.email.from_address = "help@exchange.test".into();
        c.smtp = Some(settings);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_login_on_a_connection_kept_open() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificates(dir.path());
    let smtp =
        SmtpCapture::start_with(&["--starttls", &cert, &key, "--auth", "xdesk:s3cret"]).await;
    let settings = xdesk_channels::smtp::SmtpSettings {
        username: Some("xdesk".into()),
        password: Some("s3cret".into()),
        connections: 1,
        ..tls_settings(&smtp, xdesk_channels::smtp::SmtpTls::Starttls, Some(&ca))
    };
    let Some(app) = app_with_smtp(settings).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, r) = app
            .post_mail(&plain_mail(
                &format!("c{i}@example.com"),
                "Withdrawal",
                &format!("tls{i}@example.com"),
                "",
                "Where is my BTC?",
            ))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        ids.push(r["ticket_id"].as_i64().unwrap());
    }
    for id in ids {
        let d = delivery(&app, id, 1, "sent").await;
        assert_eq!(d["attempts"], 1, "{d}");
    }
    assert_eq!(smtp.wait_for(3).await.len(), 3);
    let peers = smtp.peers();
    assert_eq!(peers.len(), 3);
    assert!(
        peers.iter().all(|p| p == &peers[0]),
        "three mails, one connection: {peers:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_sends() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificates(dir.path());
    let smtp = SmtpCapture::start_with(&["--implicit", &cert, &key]).await;
    let Some(app) = app_with_smtp(tls_settings(
        &smtp,
        xdesk_channels::smtp::SmtpTls::Tls,
        Some(&ca),
    ))
    .await
    else {
        return;
    };
    let (_, r) = app
        .post_mail(&plain_mail(
            "d@example.com",
            "KYC",
            "imp@example.com",
            "",
            "hi",
        ))
        .await;
    delivery(&app, r["ticket_id"].as_i64().unwrap(), 1, "sent").await;
    let mails = smtp.wait_for(1).await;
    assert!(parse(&mails[0]).subject().unwrap().contains("KYC"));
    app.stop().await;
}

/// With `tls = "starttls"`, a relay that offers no STARTTLS, or whose certificate no trusted
/// authority signed, gets nothing: the mail waits, then fails with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mail_in_the_clear_nor_to_an_unproven_server() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = test_certificates(dir.path());
    let plain = SmtpCapture::start().await;
    let untrusted = SmtpCapture::start_with(&["--starttls", &cert, &key]).await;
    for (smtp, words) in [
        (&plain, "does not offer STARTTLS"),
        (&untrusted, "certificate"),
    ] {
        let settings = xdesk_channels::smtp::SmtpSettings {
            max_attempts: 2,
            ..tls_settings(smtp, xdesk_channels::smtp::SmtpTls::Starttls, None)
        };
        let Some(app) = app_with_smtp(settings).await else {
            return;
        };
        let (_, r) = app
            .post_mail(&plain_mail(
                "e@example.com",
                "Help",
                "clear@example.com",
                "",
                "hi",
            ))
            .await;
        let d = delivery(&app, r["ticket_id"].as_i64().unwrap(), 1, "failed").await;
        let error = d["error"].as_str().unwrap();
        assert!(error.contains(words), "{error}");
        assert_eq!(d["attempts"], 2, "{d}");
        assert!(smtp.messages().is_empty());
        app.stop().await;
    }
}
