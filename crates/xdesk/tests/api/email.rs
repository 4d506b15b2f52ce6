use crate::backend_test;
use reqwest::StatusCode;

fn mail(from: &str, subject: &str, message_id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@exchange.test\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--R\r\nContent-Type: image/png\r\nContent-ID: <shot@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--R--\r\n"
    )
    .into_bytes()
}

backend_test!(inbound_mail_opens_threads_and_dedupes, |app| {
    let first = mail(
        "Wang Fang <Wang.Fang@example.com>",
        "=?UTF-8?B?5o+Q5biB5pyq5Yiw6LSm?=",
        "m1@example.com",
        "",
        "我的 USDT 提币还没到账",
    );
    let (status, r) = app.post_mail(&first).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["created_ticket"], true);
    let ticket = r["ticket_id"].as_i64().unwrap();
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{ticket}"))
        .await;
    assert_eq!(t["subject"], "提币未到账");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["language"], "zh");
    let m = &t["messages"][0];
    assert_eq!(m["body"], "我的 USDT 提币还没到账");
    assert_eq!(m["author_kind"], "customer");
    assert_eq!(m["attachments"].as_array().unwrap().len(), 1, "{m}");

    // The same mail again (a re-fetch, a retried webhook) is stored once.
    let (status, again) = app.post_mail(&first).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["ticket_id"], ticket);
    assert_eq!(app.ticket_count().await, 1);

    // A reply threads by In-Reply-To.
    let reply = mail(
        "wang.fang@example.com",
        "Re: something else entirely",
        "m2@example.com",
        "In-Reply-To: <m1@example.com>\r\n",
        "补充截图",
    );
    let (status, r) = app.post_mail(&reply).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["ticket_id"], ticket);
    assert_eq!(r["created_ticket"], false);

    // The ticket number in the subject joins only when the sender owns the ticket.
    let number = r["ticket_number"].as_str().unwrap().to_owned();
    let stranger = mail(
        "mallory@evil.test",
        &format!("Re: [{number}] please send funds here"),
        "m3@evil.test",
        "",
        "change the address",
    );
    let (status, r) = app.post_mail(&stranger).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(r["ticket_id"], ticket);
    let owner = mail(
        "wang.fang@example.com",
        &format!("Re: [{number}] update"),
        "m4@example.com",
        "",
        "still waiting",
    );
    let (_, r) = app.post_mail(&owner).await;
    assert_eq!(r["ticket_id"], ticket);
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{ticket}"))
        .await;
    // The first mail, its acknowledgement, the reply, and this one.
    assert_eq!(t["messages"].as_array().unwrap().len(), 4);
    let history = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{ticket}/history"))
        .await;
    assert_eq!(history["verification"]["valid"], true, "{history}");
    app.stop().await;
});

backend_test!(inbound_mail_bad_and_automatic_input, |app| {
    // Wrong media type: rejected, nothing written.
    let r = app
        .http
        .post(app.url("/api/v1/channels/email/inbound"))
        .bearer_auth(&app.api_key)
        .header("content-type", "text/plain")
        .body("From: a@b.test\r\n\r\nhi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // No credentials.
    let r = app
        .http
        .post(app.url("/api/v1/channels/email/inbound"))
        .header("content-type", "message/rfc822")
        .body("From: a@b.test\r\n\r\nhi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.ticket_count().await, 0);

    // Bytes that are no message still become a ticket, flagged, with the original attached:
    // a few odd bytes, and 5 KB of random ones (which a lenient parser reads as headers).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..5 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    for garbage in [&b"\r\n\r\n\x00\x01\x02 not a mail \xff\xfe"[..], &random] {
        let (status, r) = app.post_mail(garbage).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        assert_eq!(r["flags"][0], "unparseable");
        let t = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{}", r["ticket_id"]))
            .await;
        let att = &t["messages"][0]["attachments"][0];
        assert_eq!(att["filename"], "original.eml");
        let file = app
            .get(&app.api_key, &format!("/api/v1/attachments/{}", att["id"]))
            .await;
        assert_eq!(file.bytes().await.unwrap().as_ref(), garbage);
    }

    // An out-of-office is kept and flagged, so nothing ever auto-replies to it.
    let ooo = b"From: away@example.com\r\nSubject: Automatic reply: I am on leave\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@example.com>\r\n\r\nBack on Monday.\r\n";
    let (status, r) = app.post_mail(ooo).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(r["flags"][0], "auto_reply");
    let t = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{}", r["ticket_id"]))
        .await;
    assert_eq!(t["tags"][0], "auto-reply");
    app.stop().await;
});

// Senders written as people write them become the customer, never "unknown sender"; a long
// subject keeps its first 998 characters (RFC 5322's line limit), not 250.
backend_test!(
    inbound_mail_reads_senders_and_long_subjects_as_written,
    |app| {
        let long: String = "USDT withdrawal stuck ".repeat(60);
        for (i, (from, address)) in [
            (
                "John Smith john.smith@example.com",
                "john.smith@example.com",
            ),
            ("\"Li Wei\" <li.wei@example.com.>", "li.wei@example.com"),
        ]
        .into_iter()
        .enumerate()
        {
            let raw = mail(from, &long, &format!("wild{i}@example.com"), "", "hello");
            let (status, r) = app.post_mail(&raw).await;
            assert_eq!(status, StatusCode::CREATED, "{r}");
            let id = r["ticket_id"].as_i64().unwrap();
            let t = app
                .get_json(&app.api_key, &format!("/api/v1/tickets/{id}"))
                .await;
            assert!(!t["tags"].to_string().contains("unknown-sender"), "{t}");
            let identities = app
                .running
                .as_ref()
                .unwrap()
                .services
                .store
                .customer_identities(t["customer_id"].as_i64().unwrap())
                .await
                .unwrap();
            let customer = format!("{identities:?}");
            assert!(customer.to_string().contains(address), "{customer}");
            assert_eq!(t["subject"].as_str().unwrap().chars().count(), 998);
        }
    }
);

// A multipart cut off before its closing boundary: the text, every image decoded, a flag, and
// the original beside them for an agent to open.
backend_test!(
    an_unclosed_multipart_keeps_its_parts_and_the_original,
    |app| {
        let png = b"\x89PNG\r\n\x1a\nscreenshot";
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png);
        let mut raw = String::from(
            "From: c@example.com\r\nTo: support@exchange.test\r\nSubject: Screenshots\r\nMessage-ID: <cut@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nMy deposit, three screenshots.\r\n",
        );
        for i in 1..=3 {
            raw.push_str(&format!("--B\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"s{i}.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"));
        }
        let (status, r) = app.post_mail(raw.as_bytes()).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        assert!(r["flags"].to_string().contains("mime_incomplete"), "{r}");
        let t = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{}", r["ticket_id"]))
            .await;
        let m = &t["messages"][0];
        assert!(m["body"].as_str().unwrap().contains("three screenshots"));
        assert!(!m["body"].as_str().unwrap().contains("Content-Type"));
        let atts = m["attachments"].as_array().unwrap();
        let names: Vec<&str> = atts
            .iter()
            .map(|a| a["filename"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["s1.png", "s2.png", "s3.png", "original.eml"]);
        for a in &atts[..3] {
            let file = app
                .get(&app.api_key, &format!("/api/v1/attachments/{}", a["id"]))
                .await;
            assert_eq!(file.bytes().await.unwrap().as_ref(), png);
        }
        let original = app
            .get(
                &app.api_key,
                &format!("/api/v1/attachments/{}", atts[3]["id"]),
            )
            .await;
        assert_eq!(original.bytes().await.unwrap().as_ref(), raw.as_bytes());
    }
);
