//! Crash safety: `xdesk serve` killed with SIGKILL while 32 clients create tickets, send mail,
//! reply (queuing outbound mail) and chat. After a restart every answered request is stored
//! whole, every history verifies (bodies and files included), and every queued mail goes out,
//! a copy sent twice only under the same Message-ID.

use crate::backend_test_db;
use crate::chat::{Node, connect_to, start_node};
use crate::support::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answered 2xx to: each must be found after the crash.
#[derive(Default)]
struct Acknowledged {
    /// Ticket id and the text it must hold (a subject or a message body).
    items: Vec<(i64, String)>,
    /// Reply bodies, whose mail must go out.
    replies: Vec<String>,
}

type Shared = Arc<Mutex<Acknowledged>>;

fn note(acked: &Shared, ticket: i64, text: String) {
    acked.lock().unwrap().items.push((ticket, text));
}

fn mail(c: usize, i: usize) -> Vec<u8> {
    format!(
        "From: crash{c}@example.com\r\nTo: help@exchange.test\r\nSubject: mail-{c}-{i}\r\n\
         Message-ID: <m-{c}-{i}@crash.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nmail-{c}-{i} 充值未到账\r\n--B\r\n\
         Content-Type: text/plain; name=\"tx-{c}-{i}.txt\"\r\n\
         Content-Disposition: attachment; filename=\"tx-{c}-{i}.txt\"\r\n\r\n\
         txid {c} {i}\r\n--B--\r\n"
    )
    .into_bytes()
}

/// The JSON of a 2xx answer (null if it has none); None when the server did not answer 2xx.
async fn answered(request: reqwest::RequestBuilder) -> Option<Value> {
    let r = request.send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    Some(r.json().await.unwrap_or(Value::Null))
}

/// One client's loop until the server stops answering (or `until`).
async fn client(
    c: usize,
    base: String,
    tokens: (String, String),
    reply_to: Option<i64>,
    acked: Shared,
    until: tokio::time::Instant,
) {
    let (api_key, agent) = tokens;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut i = 0;
    let mut chat: Option<(crate::chat::Socket, i64)> = None;
    while tokio::time::Instant::now() < until {
        i += 1;
        match c % 4 {
            // New tickets from the exchange's backend.
            0 => {
                let subject = format!("ticket-{c}-{i}");
                let Some(v) = answered(
                    http.post(format!("{base}/api/v1/tickets"))
                        .bearer_auth(&api_key)
                        .json(
                            &json!({"subject": subject, "body": format!("body of {subject}"),
                        "customer": {"email": format!("t{c}@example.com")}}),
                        ),
                )
                .await
                else {
                    return;
                };
                note(
                    &acked,
                    v["id"].as_i64().unwrap(),
                    format!("body of {subject}"),
                );
            }
            // Mail in, with a file.
            1 => {
                let Some(v) = answered(
                    http.post(format!("{base}/api/v1/channels/email/inbound"))
                        .bearer_auth(&api_key)
                        .header("content-type", "message/rfc822")
                        .body(mail(c, i)),
                )
                .await
                else {
                    return;
                };
                note(
                    &acked,
                    v["ticket_id"].as_i64().unwrap(),
                    format!("mail-{c}-{i} 充值未到账"),
                );
            }
            // An agent's replies: each queues a mail to the customer.
            2 => {
                let id = reply_to.unwrap();
                let body = format!("reply-{c}-{i}");
                if answered(
                    http.post(format!("{base}/api/v1/tickets/{id}/replies"))
                        .bearer_auth(&agent)
                        .json(&json!({"body": body})),
                )
                .await
                .is_none()
                {
                    return;
                }
                note(&acked, id, body.clone());
                acked.lock().unwrap().replies.push(body);
            }
            // A customer chatting: a message counts once the server echoes it (stored).
            _ => {
                let body = format!("chat-{c}-{i}");
                if chat.is_none() {
                    let ws = base.clone();
                    let connected = tokio::spawn(async move {
                        connect_to(&ws, "/api/v1/chat/customer", None).await
                    });
                    let Ok(Ok(mut s)) =
                        tokio::time::timeout(Duration::from_secs(5), connected).await
                    else {
                        return;
                    };
                    if !say(&mut s, &body).await {
                        return;
                    }
                    let Some(t) = frame_of(&mut s, "ticket").await else {
                        return;
                    };
                    chat = Some((s, t["ticket"]["id"].as_i64().unwrap()));
                } else if let Some((s, _)) = &mut chat
                    && !say(s, &body).await
                {
                    return;
                }
                let Some((s, ticket)) = &mut chat else { return };
                let ticket = *ticket;
                // Wait for the echo of this very message.
                loop {
                    match frame_of(s, "message").await {
                        Some(m) if m["message"]["body"] == body.as_str() => break,
                        Some(_) => continue,
                        None => return,
                    }
                }
                note(&acked, ticket, body);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn say(s: &mut crate::chat::Socket, body: &str) -> bool {
    use futures_util::SinkExt;
    let frame = json!({"type": "message", "body": body}).to_string();
    s.send(tokio_tungstenite::tungstenite::Message::Text(frame.into()))
        .await
        .is_ok()
}

/// The next frame of type `kind` within 5 s, or None when the socket ends first.
async fn frame_of(s: &mut crate::chat::Socket, kind: &str) -> Option<Value> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let frame = tokio::time::timeout_at(deadline, s.next())
            .await
            .ok()??
            .ok()?;
        if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).ok()?;
            if v["type"] == kind {
                return Some(v);
            }
        }
    }
}

backend_test_db!(a_killed_server_loses_nothing_it_answered, |db| {
    let smtp = SmtpCapture::start().await;
    // A short lease: what the killed node had claimed is taken over within seconds.
    let settings = xdesk_channels::smtp::SmtpSettings {
        lease_secs: 3,
        ..smtp.settings()
    };
    let Some(mut app) = spawn_app_with(db, |c| c.smtp = Some(settings)).await else {
        return;
    };
    // Tickets the agents will answer (each reply is a mail out).
    let mut to_answer = Vec::new();
    for n in 0..8 {
        let raw = format!(
            "From: reply{n}@example.com\r\nSubject: needs an answer {n}\r\n\
             Message-ID: <ask-{n}@crash.test>\r\n\r\nplease answer\r\n"
        );
        let (status, r) = app.post_mail(raw.as_bytes()).await;
        assert!(status.is_success(), "{r}");
        to_answer.push(r["ticket_id"].as_i64().unwrap());
    }
    let agent = app.admin_token().await;
    let api_key = app.api_key.clone();
    let mut config = app.config.clone();
    config.chat.group_id = Some(app.payments_group);
    config.listen = "127.0.0.1:0".into();
    app.halt().await;

    let file = app._dir.path().join("xdesk.toml");
    std::fs::write(&file, toml::to_string(&config).unwrap()).unwrap();
    let env = [
        ("XDESK_CONFIG", file.display().to_string()),
        ("XDESK_LOG", "warn".to_owned()),
    ];
    let mut node: Node = start_node(app._dir.path(), &env).await;

    let acked: Shared = Arc::default();
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut clients = Vec::new();
    for c in 0..32 {
        clients.push(tokio::spawn(client(
            c,
            node.base.clone(),
            (api_key.clone(), agent.clone()),
            Some(to_answer[c % to_answer.len()]),
            acked.clone(),
            until,
        )));
    }
    // Under load for a while (at least 2.5 s, longer on a slow or busy machine until enough
    // writes were answered to prove something), then killed outright.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for _ in 0..150 {
        let enough = {
            let a = acked.lock().unwrap();
            a.items.len() > 100 && a.replies.len() > 10
        };
        if enough {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.child.start_kill().unwrap();
    node.child.wait().await.unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let kinds = acked.items.len();
    eprintln!(
        "answered before the kill: {kinds} writes, {} of them replies",
        acked.replies.len()
    );
    assert!(
        kinds > 100 && acked.replies.len() > 10,
        "too little load to prove anything: {kinds} answered, {} replies",
        acked.replies.len()
    );

    // Restarted on the same database and files.
    let node = start_node(app._dir.path(), &env).await;
    let http = reqwest::Client::new();
    let mut tickets: HashMap<i64, Value> = HashMap::new();
    for (id, text) in &acked.items {
        if !tickets.contains_key(id) {
            let t: Value = http
                .get(format!("{}/api/v1/tickets/{id}", node.base))
                .bearer_auth(&api_key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tickets.insert(*id, t);
        }
        let t = &tickets[id];
        let found = t["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("ticket {id}: {t}"))
            .iter()
            .find(|m| {
                m["body"]
                    .as_str()
                    .is_some_and(|b| b.contains(text.as_str()))
            })
            .unwrap_or_else(|| panic!("`{text}` answered but not stored in ticket {id}"));
        if text.starts_with("mail-") {
            let file = &found["attachments"][0];
            assert!(
                file["filename"].as_str().unwrap().starts_with("tx-"),
                "{found}"
            );
            let bytes = http
                .get(format!("{}/api/v1/attachments/{}", node.base, file["id"]))
                .bearer_auth(&api_key)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(bytes.starts_with(b"txid "), "a file stored whole");
        }
    }

    // Every queued mail goes out (the restarted node sends what was left), each under one
    // Message-ID.
    let s = xdesk::open(&config).await.unwrap();
    for _ in 0..300 {
        if s.store.pending_outbound().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        s.store.pending_outbound().await.unwrap(),
        0,
        "mail left unsent"
    );
    let mut ids_by_body: HashMap<String, Vec<String>> = HashMap::new();
    for m in smtp.messages() {
        let parsed = mail_parser::MessageParser::default()
            .parse(m.as_bytes())
            .unwrap();
        let text = parsed.body_text(0).unwrap_or_default().into_owned();
        if let Some(token) = text.split_whitespace().find(|w| w.starts_with("reply-")) {
            ids_by_body
                .entry(token.to_owned())
                .or_default()
                .push(parsed.message_id().unwrap_or_default().to_owned());
        }
    }
    for body in &acked.replies {
        let ids = ids_by_body
            .get(body)
            .unwrap_or_else(|| panic!("the mail of `{body}` never went out"));
        assert!(ids.len() <= 2, "`{body}` went {} times", ids.len());
        assert!(
            ids.iter().all(|i| i == &ids[0] && !i.is_empty()),
            "`{body}` went out under different Message-IDs: {ids:?}"
        );
    }
    for (body, ids) in &ids_by_body {
        assert!(ids.iter().all(|i| i == &ids[0]), "`{body}`: {ids:?}");
    }

    // Nothing half-written: every ticket's chain verifies, with its bodies and files.
    let audit = xdesk::anchor::verify_all(&config).await.unwrap();
    assert!(audit.failed.is_empty(), "{:?}", audit.failed);
    assert!(audit.tickets_checked >= tickets.len(), "{audit:?}");
    s.store.close().await.unwrap();
    drop(node);
});
