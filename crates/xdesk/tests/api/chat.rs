//! Live chat over real WebSockets: a customer (anonymous or identified by the exchange's
//! signed claim) and an agent exchange messages, typing and read receipts, and a customer who
//! reconnects gets what they missed.

use crate::backend_test_db;
use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SECRET: &str = "exchange-integration-secret";

pub(crate) async fn connect(app: &TestApp, path: &str, bearer: Option<&str>) -> Socket {
    connect_to(&app.base, path, bearer).await
}

pub(crate) async fn connect_to(base: &str, path: &str, bearer: Option<&str>) -> Socket {
    let url = format!("{}{path}", base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(b) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {b}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Sets the agent behind `token` online on the node at `base`: the widget counts only agents
/// whose status is online.
pub(crate) async fn go_online(base: &str, token: &str, agent_id: &Value) {
    let r = reqwest::Client::new()
        .put(format!("{base}/api/v1/agents/{agent_id}/status"))
        .bearer_auth(token)
        .json(&json!({"status": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}

pub(crate) async fn send(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next frame whose `type` is `kind`, skipping others (up to 10 s).
pub(crate) async fn expect(s: &mut Socket, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout_at(deadline, s.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` frame"))
            .unwrap()
            .unwrap();
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

backend_test_db!(customer_and_agent_chat_and_resume, |db| {
    let Some(app) = spawn_app_with(db, |_| {}).await else {
        return;
    };
    // Nobody is online yet: the widget says so and asks for an address.
    let mut customer = connect(&app, "/api/v1/chat/customer?lang=zh", None).await;
    let welcome = expect(&mut customer, "welcome").await;
    assert_eq!(welcome["verified"], false);
    assert_eq!(welcome["agents_online"], 0);
    let visitor = welcome["visitor_id"].as_str().unwrap().to_owned();
    let offline = expect(&mut customer, "offline").await;
    assert_eq!(offline["expected_response"], "4 小时");
    assert_eq!(offline["ask_email"], true);

    send(
        &mut customer,
        json!({"type": "message", "body": "充值没到账"}),
    )
    .await;
    let opened = expect(&mut customer, "ticket").await;
    let ticket_id = opened["ticket"]["id"].as_i64().unwrap();
    let echo = expect(&mut customer, "message").await;
    assert_eq!(echo["message"]["seq"], 1);
    assert_eq!(echo["message"]["body"], "充值没到账");

    let admin = app.admin_token().await;
    let mut agent = connect(&app, "/api/v1/chat/agent", Some(&admin)).await;
    expect(&mut agent, "welcome").await;
    let admin_id = app.get_json(&admin, "/api/v1/agents/me").await["id"].clone();
    go_online(&app.base, &admin, &admin_id).await;
    send(&mut agent, json!({"type": "join", "ticket_id": ticket_id})).await;
    expect(&mut agent, "joined").await;
    let joined = expect(&mut customer, "agent_joined").await;
    assert!(
        joined.get("agent_id").is_none(),
        "customers see names only: {joined}"
    );

    // Typing and read receipts travel both ways, unstored.
    send(&mut customer, json!({"type": "typing"})).await;
    let typing = expect(&mut agent, "typing").await;
    assert_eq!(typing["who"]["kind"], "customer");
    send(
        &mut agent,
        json!({"type": "read", "ticket_id": ticket_id, "seq": 1}),
    )
    .await;
    let read = expect(&mut customer, "read").await;
    assert_eq!(
        (read["seq"].as_i64(), read["who"]["kind"].as_str()),
        (Some(1), Some("agent"))
    );

    send(
        &mut agent,
        json!({"type": "message", "ticket_id": ticket_id, "body": "我来帮您查一下"}),
    )
    .await;
    let m = expect(&mut customer, "message").await;
    assert_eq!(
        (
            m["message"]["seq"].as_i64(),
            m["message"]["author_kind"].as_str()
        ),
        (Some(2), Some("agent"))
    );
    // An internal note reaches the agent but never the customer.
    send(
        &mut agent,
        json!({"type": "message", "ticket_id": ticket_id, "body": "check deposit 1234", "internal": true}),
    )
    .await;
    let note = expect(&mut agent, "message").await;
    let note = if note["message"]["internal"] == true {
        note
    } else {
        expect(&mut agent, "message").await
    };
    assert_eq!(note["message"]["internal"], true);

    // The customer drops off; the agent writes twice; on reconnecting with the last sequence
    // number seen, the customer gets exactly what they missed.
    drop(customer);
    for body in ["到账了吗？", "已经到账了"] {
        send(
            &mut agent,
            json!({"type": "message", "ticket_id": ticket_id, "body": body}),
        )
        .await;
    }
    // Both stored before the customer comes back.
    for _ in 0..100 {
        let t = app
            .get_json(&admin, &format!("/api/v1/tickets/{ticket_id}"))
            .await;
        if t["messages"].as_array().unwrap().len() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut back = connect(
        &app,
        &format!("/api/v1/chat/customer?visitor={visitor}&ticket={ticket_id}&last_seq=2"),
        None,
    )
    .await;
    let welcome = expect(&mut back, "welcome").await;
    assert_eq!(welcome["ticket"]["id"], ticket_id);
    assert_eq!(welcome["agents_online"], 1);
    let a = expect(&mut back, "message").await;
    let b = expect(&mut back, "message").await;
    assert_eq!(
        (a["message"]["seq"].as_i64(), a["message"]["body"].as_str()),
        (Some(4), Some("到账了吗？")),
        "seq 3 is the internal note: {a}"
    );
    assert_eq!(b["message"]["seq"], 5);

    // Someone else's visitor ID cannot open this chat.
    let mut stranger = connect(
        &app,
        &format!("/api/v1/chat/customer?ticket={ticket_id}&last_seq=0"),
        None,
    )
    .await;
    let w = expect(&mut stranger, "welcome").await;
    assert!(w["ticket"].is_null(), "{w}");

    // The chat is a ticket on the chat channel, with every message stored.
    let t = app
        .get_json(&admin, &format!("/api/v1/tickets/{ticket_id}"))
        .await;
    assert_eq!(t["channel"], "chat");
    let seqs: Vec<i64> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    send(&mut agent, json!({"type": "leave", "ticket_id": ticket_id})).await;
    expect(&mut back, "agent_left").await;
    app.stop().await;
});

backend_test_db!(signed_customers_are_linked_and_forgeries_are_not, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.chat.identity_secret = Some(SECRET.into());
    })
    .await
    else {
        return;
    };
    let exp = chrono::Utc::now().timestamp() + 600;
    let token = xdesk_domain::chat_token::sign(
        &json!({"sub": "U1001", "email": "alice@example.com", "name": "Alice", "exp": exp}),
        SECRET.as_bytes(),
    );
    let mut s = connect(&app, &format!("/api/v1/chat/customer?token={token}"), None).await;
    let w = expect(&mut s, "welcome").await;
    assert_eq!(
        (w["verified"].as_bool(), w["name"].as_str()),
        (Some(true), Some("Alice"))
    );
    assert!(w["visitor_id"].is_null());
    send(
        &mut s,
        json!({"type": "message", "body": "my KYC is stuck"}),
    )
    .await;
    let ticket = expect(&mut s, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    expect(&mut s, "message").await;
    let admin = app.admin_token().await;
    let t = app
        .get_json(&admin, &format!("/api/v1/tickets/{ticket}"))
        .await;
    let customer = app
        .get_json(&admin, &format!("/api/v1/customers/{}", t["customer_id"]))
        .await;
    let ids = customer["identities"].to_string();
    assert!(
        ids.contains("U1001") && ids.contains("alice@example.com"),
        "{customer}"
    );

    // A forged, an expired and an unsigned claim are all anonymous visitors.
    let forged = xdesk_domain::chat_token::sign(&json!({"sub": "U1001", "exp": exp}), b"guess");
    let expired = xdesk_domain::chat_token::sign(
        &json!({"sub": "U1001", "exp": chrono::Utc::now().timestamp() - 1}),
        SECRET.as_bytes(),
    );
    for t in [forged, expired, "not-a-jwt".to_owned()] {
        let mut s = connect(&app, &format!("/api/v1/chat/customer?token={t}"), None).await;
        let w = expect(&mut s, "welcome").await;
        assert_eq!(w["verified"], false, "{t}");
        assert_ne!(w["name"], "Alice");
    }

    // A seed phrase typed into the chat is cut before storage and the customer warned.
    send(
        &mut s,
        json!({"type": "message", "body": "legal winner thank year wave sausage worth useful legal winner thank yellow"}),
    )
    .await;
    let m = expect(&mut s, "message").await;
    assert!(
        m["message"]["body"]
            .as_str()
            .unwrap()
            .contains("[secret removed"),
        "{m}"
    );
    let warning = expect(&mut s, "message").await;
    assert!(
        warning["message"]["body"]
            .as_str()
            .unwrap()
            .contains("new wallet"),
        "{warning}"
    );
    app.stop().await;
});

/// An `xdesk serve` process.
pub(crate) struct Node {
    pub(crate) base: String,
    pub(crate) child: tokio::process::Child,
}

pub(crate) async fn start_node(dir: &std::path::Path, env: &[(&str, String)]) -> Node {
    let port = free_port();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_xdesk"));
    cmd.arg("serve")
        .current_dir(dir)
        .env("XDESK_LISTEN", format!("127.0.0.1:{port}"))
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Node { base, child };
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("xdesk serve did not come up on {base}");
}

/// A fresh PostgreSQL database with a chat group and its agent (`chat@x.test`), and the
/// environment that starts `xdesk serve` nodes on it relaying through Redis at `redis`.
pub(crate) async fn chat_cluster(
    pg: &str,
    redis: String,
) -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_postgres(pg).await;
    let config = xdesk::Config {
        database_url: database_url.clone(),
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let setup = xdesk::open(&config).await.unwrap();
    let group = setup
        .create_group(&xdesk_service::Principal::System, "Chat", "")
        .await
        .unwrap();
    setup
        .create_agent(
            &xdesk_service::Principal::System,
            xdesk_service::people::CreateAgent {
                email: "chat@x.test".into(),
                display_name: "Chen".into(),
                role: "agent".into(),
                password: PASSWORD.into(),
                group_ids: vec![group.id],
            },
        )
        .await
        .unwrap();
    setup.store.close().await.unwrap();
    let env = vec![
        ("XDESK_DATABASE_URL", database_url),
        (
            "XDESK_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("XDESK_REDIS_URL", redis),
        ("XDESK_CHAT__GROUP_ID", group.id.to_string()),
    ];
    (dir, env)
}

/// Signs in the chat agent of [`chat_cluster`] on the node at `base` and sets them online
/// (the widget counts only agents online); returns their token.
pub(crate) async fn chat_agent_online(base: &str) -> String {
    let login: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "chat@x.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    go_online(base, &token, &login["agent"]["id"]).await;
    token
}

/// Two `xdesk serve` processes on one PostgreSQL and one Redis: a customer on the first and an
/// agent on the second talk, and killing the first loses nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_chat_through_redis() {
    let (Some(pg), Some(redis)) = (postgres_url(), redis_url()) else {
        return;
    };
    let (dir, env) = chat_cluster(&pg, redis).await;
    let mut a = start_node(dir.path(), &env).await;
    let b = start_node(dir.path(), &env).await;

    // Online on node B; the widget on node A counts it.
    let token = chat_agent_online(&b.base).await;
    let mut agent = connect_to(&b.base, "/api/v1/chat/agent", Some(&token)).await;
    expect(&mut agent, "welcome").await;

    let mut customer = connect_to(&a.base, "/api/v1/chat/customer", None).await;
    let welcome = expect(&mut customer, "welcome").await;
    let visitor = welcome["visitor_id"].as_str().unwrap().to_owned();
    send(
        &mut customer,
        json!({"type": "message", "body": "withdrawal stuck"}),
    )
    .await;
    let ticket_id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    send(&mut agent, json!({"type": "join", "ticket_id": ticket_id})).await;
    expect(&mut agent, "joined").await;
    expect(&mut customer, "agent_joined").await;
    send(
        &mut agent,
        json!({"type": "message", "ticket_id": ticket_id, "body": "looking into it"}),
    )
    .await;
    let m = loop {
        let m = expect(&mut customer, "message").await;
        if m["message"]["author_kind"] == "agent" {
            break m;
        }
    };
    assert_eq!(m["message"]["body"], "looking into it");
    send(&mut customer, json!({"type": "message", "body": "thanks"})).await;
    let m = loop {
        let m = expect(&mut agent, "message").await;
        if m["message"]["body"] == "thanks" {
            break m;
        }
    };
    assert_eq!(m["message"]["author_kind"], "customer");

    // The customer's node dies mid-chat; the agent goes on writing.
    a.child.kill().await.unwrap();
    drop(customer);
    for body in ["found it", "sent again"] {
        send(
            &mut agent,
            json!({"type": "message", "ticket_id": ticket_id, "body": body}),
        )
        .await;
    }
    let http = reqwest::Client::new();
    let mut bodies = Vec::new();
    for _ in 0..100 {
        let t: Value = http
            .get(format!("{}/api/v1/tickets/{ticket_id}", b.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        bodies = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        if bodies.len() == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        bodies,
        vec![
            "withdrawal stuck",
            "looking into it",
            "thanks",
            "found it",
            "sent again"
        ]
    );
    // Reconnecting to the surviving node, the customer gets what was written meanwhile.
    let mut back = connect_to(
        &b.base,
        &format!("/api/v1/chat/customer?visitor={visitor}&ticket={ticket_id}&last_seq=3"),
        None,
    )
    .await;
    assert_eq!(expect(&mut back, "welcome").await["agents_online"], 1);
    assert_eq!(
        expect(&mut back, "message").await["message"]["body"],
        "found it"
    );
    assert_eq!(
        expect(&mut back, "message").await["message"]["body"],
        "sent again"
    );
}

backend_test_db!(the_widget_is_served_from_the_binary, |db| {
    let Some(app) = spawn_app_with(db, |_| {}).await else {
        return;
    };
    let r = app.http.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        "application/javascript; charset=utf-8"
    );
    let js = r.text().await.unwrap();
    // It speaks the customer socket's protocol, in both languages.
    for needle in [
        "/api/v1/chat/customer",
        "last_seq",
        "联系客服",
        "Chat with support",
    ] {
        assert!(js.contains(needle), "{needle}");
    }
    // And it is valid JavaScript, where Node.js is there to say so.
    if let Ok(out) = std::process::Command::new("node")
        .arg("--check")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../xdesk-web/static/widget.js"
        ))
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    app.stop().await;
});

/// Serves one HTML page on a loopback port, as an exchange's site would; returns its URL.
async fn serve_page(html: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    html.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(html.as_bytes()).await;
            });
        }
    });
    url
}

/// Headless Chromium driven over the DevTools protocol: one page, JavaScript evaluated in it.
struct Browser {
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
    cdp: Socket,
    session: String,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium and opens `url`; `None` when Chromium is not installed (after
    /// `skip_or_fail`; scripts/test.sh installs it).
    async fn open(url: &str) -> Option<Self> {
        let Some(bin) = ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find(|b| {
                std::process::Command::new("which")
                    .arg(b)
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
        else {
            skip_or_fail("Chromium");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let port_file = profile.path().join("DevToolsActivePort");
        let mut endpoint = None;
        for _ in 0..150 {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    endpoint = Some(format!("ws://127.0.0.1:{port}{path}"));
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let (cdp, _) =
            tokio_tungstenite::connect_async(endpoint.expect("Chromium's DevTools port"))
                .await
                .unwrap();
        let mut b = Browser {
            _child: child,
            _profile: profile,
            cdp,
            session: String::new(),
            next_id: 0,
        };
        let target = b
            .call("Target.createTarget", json!({"url": url}), false)
            .await;
        let attached = b
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
                false,
            )
            .await;
        b.session = attached["sessionId"].as_str().unwrap().to_owned();
        Some(b)
    }

    async fn call(&mut self, method: &str, params: Value, in_page: bool) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if in_page {
            msg["sessionId"] = json!(self.session);
        }
        send(&mut self.cdp, msg).await;
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), self.cdp.next())
                .await
                .expect("DevTools answers")
                .unwrap()
                .unwrap();
            if let Message::Text(t) = frame {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    /// Evaluates `js` in the page and returns its (JSON) value.
    async fn eval(&mut self, js: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true}),
                true,
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Waits (up to 10 s) until `js` is true in the page.
    async fn until(&mut self, what: &str, js: &str) {
        for _ in 0..100 {
            if self.eval(js).await == json!(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let text = self
            .eval("document.body ? document.body.innerText : ''")
            .await;
        panic!("timed out waiting for {what}; the page shows: {text}");
    }
}

/// The widget in a real browser: one script tag on a page, a customer's message through it,
/// and the agent's answer shown back, in Chinese.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_chats_in_a_real_browser() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    // The exchange's own page, on another origin, with the one script tag.
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>Exchange</title><p>Trade</p>\
         <script src=\"{}/widget.js\" data-lang=\"zh\"></script>",
        app.base
    );
    let page = serve_page(html).await;
    let Some(mut browser) = Browser::open(&page).await else {
        return;
    };
    browser
        .until("the widget's button", "!!document.getElementById('xdesk-chat-launcher') && document.getElementById('xdesk-chat-launcher').textContent === '联系客服'")
        .await;
    browser
        .eval("document.getElementById('xdesk-chat-launcher').click()")
        .await;
    browser
        .until(
            "the offline notice",
            "document.body.innerText.includes('当前没有客服在线')",
        )
        .await;
    // Nobody is online: the widget asks for an address for answers by mail.
    browser
        .eval("const a = document.querySelector('#xdesk-chat-panel input[type=email]'); a.value = 'web@example.com'; a.form.requestSubmit(); true")
        .await;
    browser
        .until(
            "the address confirmed",
            "document.body.innerText.includes('我们也会回复到 web@example.com')",
        )
        .await;
    // Before the first message, the help center answers what the visitor types.
    xdesk::demo::seed_knowledge_base(&app.running.as_ref().unwrap().services)
        .await
        .unwrap();
    browser
        .eval("const q = document.querySelector('#xdesk-chat-panel textarea'); q.value = '充值没到账'; q.dispatchEvent(new Event('input')); true")
        .await;
    browser
        .until(
            "a suggested article",
            "!!document.querySelector('#xdesk-chat-suggest a[href*=\"/help/articles/deposit-not-credited?lang=zh\"]')",
        )
        .await;
    // The visitor opens it (counted), and writes anyway: it did not deflect this chat.
    browser
        .eval("document.querySelector('#xdesk-chat-suggest a').click(); true")
        .await;
    browser
        .eval("const t = document.querySelector('#xdesk-chat-panel textarea'); t.value = '网页里提问：提币多久到账？'; t.form.requestSubmit(); true")
        .await;
    browser
        .until(
            "the customer's own message",
            "document.body.innerText.includes('提币多久到账')",
        )
        .await;

    // The agent sees a chat ticket and answers it.
    let admin = app.admin_token().await;
    let mut ticket_id = None;
    for _ in 0..100 {
        let list = app.get_json(&admin, "/api/v1/tickets?limit=10").await;
        ticket_id = list["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["channel"] == "chat")
            .and_then(|t| t["id"].as_i64());
        if ticket_id.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ticket_id = ticket_id.expect("a chat ticket");
    let opened = app
        .running
        .as_ref()
        .unwrap()
        .services
        .store
        .deflections(chrono::Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap();
    let d = opened
        .iter()
        .find(|d| d.slug == "deposit-not-credited")
        .expect("the opened suggestion counted");
    assert_eq!((d.chat_opened, d.chat_deflected), (1, 0));
    let mut agent = connect(&app, "/api/v1/chat/agent", Some(&admin)).await;
    expect(&mut agent, "welcome").await;
    send(&mut agent, json!({"type": "join", "ticket_id": ticket_id})).await;
    expect(&mut agent, "joined").await;
    send(
        &mut agent,
        json!({"type": "message", "ticket_id": ticket_id, "body": "通常 10 分钟内到账"}),
    )
    .await;
    browser
        .until(
            "the agent's answer",
            "document.body.innerText.includes('通常 10 分钟内到账')",
        )
        .await;
    // Support's answer carries its authenticity code, linked to the check.
    browser
        .until(
            "the authenticity code",
            "[...document.querySelectorAll('#xdesk-chat-panel a.xdesk-code')].some(a => /\\/verify\\?lang=zh&q=[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(a.href))",
        )
        .await;
    browser
        .until(
            "the join notice",
            "document.body.innerText.includes('加入了对话')",
        )
        .await;
    // A picture the agent sends shows inline, fetched with the visitor's own credentials.
    let pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let r = app
        .post(
            &admin,
            &format!("/api/v1/tickets/{ticket_id}/replies"),
            json!({"body": "示意图", "attachments": [
                {"filename": "guide.png", "content_type": "image/png", "content_base64": pixel}]}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    browser
        .until(
            "the picture",
            "[...document.querySelectorAll('#xdesk-chat-panel img')].some(i => i.complete && i.naturalWidth === 1)",
        )
        .await;
    // A screenshot pasted into the widget crosses from the exchange's origin to xdesk (the
    // browser's CORS preflight included) and reaches the agent as a file.
    browser
        .eval(&format!(
            "const bytes = Uint8Array.from(atob('{pixel}'), c => c.charCodeAt(0)); \
             const dt = new DataTransfer(); \
             dt.items.add(new File([bytes], 'pasted.png', {{type: 'image/png'}})); \
             document.querySelector('#xdesk-chat-panel textarea').dispatchEvent(\
               new ClipboardEvent('paste', {{clipboardData: dt, bubbles: true, cancelable: true}})); true"
        ))
        .await;
    let m = loop {
        let m = expect(&mut agent, "message").await;
        if m["message"]["attachments"][0]["filename"] == "pasted.png" {
            break m;
        }
    };
    assert_eq!(m["message"]["author_kind"], "customer", "{m}");
    assert!(
        !browser
            .eval("document.body.innerText.includes('文件发送失败')")
            .await
            .as_bool()
            .unwrap_or(true),
        "the widget reported a failed upload"
    );
    // Solved: the widget asks how it went, and the visitor answers right there.
    let now = app
        .get_json(&admin, &format!("/api/v1/tickets/{ticket_id}"))
        .await;
    let r = app
        .patch(
            &admin,
            &format!("/api/v1/tickets/{ticket_id}"),
            json!({"version": now["version"], "state": "solved"}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    browser
        .until(
            "the rating form",
            "!!document.querySelector('#xdesk-chat-rating button[data-score=\"5\"]')",
        )
        .await;
    browser
        .eval(
            "document.querySelector('#xdesk-chat-rating button[data-score=\"5\"]').click(); \
               document.querySelector('#xdesk-chat-rating input').value = '很快，谢谢'; \
               document.querySelector('#xdesk-chat-rating').requestSubmit(); true",
        )
        .await;
    browser
        .until(
            "the thanks",
            "document.body.innerText.includes('感谢您的评分') && !document.querySelector('#xdesk-chat-rating')",
        )
        .await;
    let report = app.get_json(&admin, "/api/v1/reports/satisfaction").await;
    assert_eq!(report["by_intent"][0]["answers"], 1, "{report}");
    assert_eq!(report["by_intent"][0]["average"], 5.0, "{report}");
    app.stop().await;
}

backend_test_db!(an_away_customer_gets_answers_by_mail, |db| {
    let smtp = SmtpCapture::start().await;
    let settings = smtp.settings();
    let Some(app) = spawn_app_with(db, move |c| c.smtp = Some(settings)).await else {
        return;
    };
    let mut customer = connect(&app, "/api/v1/chat/customer", None).await;
    expect(&mut customer, "welcome").await;
    assert_eq!(expect(&mut customer, "offline").await["ask_email"], true);
    // A bad address is refused; a good one is kept, even before the chat has a ticket.
    send(
        &mut customer,
        json!({"type": "email", "address": "not an address"}),
    )
    .await;
    assert_eq!(
        expect(&mut customer, "error").await["code"],
        "email_refused"
    );
    send(
        &mut customer,
        json!({"type": "email", "address": "Away@Example.com"}),
    )
    .await;
    assert_eq!(
        expect(&mut customer, "email_saved").await["address"],
        "away@example.com"
    );
    send(
        &mut customer,
        json!({"type": "message", "body": "Is my deposit lost?"}),
    )
    .await;
    let ticket_id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    let admin = app.admin_token().await;
    let reply = |body: &str| json!({"body": body});
    // While the customer is connected, the answer is read in the chat, not mailed.
    app.post(
        &admin,
        &format!("/api/v1/tickets/{ticket_id}/replies"),
        reply("Checking now."),
    )
    .await;
    let m = loop {
        let m = expect(&mut customer, "message").await;
        if m["message"]["author_kind"] == "agent" {
            break m;
        }
    };
    assert_eq!(m["message"]["body"], "Checking now.");
    drop(customer);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.post(
        &admin,
        &format!("/api/v1/tickets/{ticket_id}/replies"),
        reply("Found it: credited 10 minutes ago."),
    )
    .await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "only the answer written while away");
    let mail = mail_parser::MessageParser::default()
        .parse(mails[0].as_bytes())
        .unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address().unwrap(),
        "away@example.com"
    );
    assert!(
        mail.body_text(0)
            .unwrap()
            .contains("credited 10 minutes ago")
    );
    assert!(
        mail.subject()
            .unwrap()
            .contains(&format!("XD-{}", 10000 + ticket_id))
    );
    // The address is not an identity: nobody becomes that address's owner by typing it.
    let t = app
        .get_json(&admin, &format!("/api/v1/tickets/{ticket_id}"))
        .await;
    let c = app
        .get_json(&admin, &format!("/api/v1/customers/{}", t["customer_id"]))
        .await;
    assert!(
        !c["identities"].to_string().contains("away@example.com"),
        "{c}"
    );
    app.stop().await;
});

backend_test_db!(a_pasted_screenshot_reaches_the_agent, |db| {
    let Some(app) = spawn_app_with(db, |_| {}).await else {
        return;
    };
    let mut customer = connect(&app, "/api/v1/chat/customer", None).await;
    let visitor = expect(&mut customer, "welcome").await["visitor_id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(
        &mut customer,
        json!({"type": "message", "body": "see the screenshot"}),
    )
    .await;
    let ticket_id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    let admin = app.admin_token().await;
    let mut agent = connect(&app, "/api/v1/chat/agent", Some(&admin)).await;
    expect(&mut agent, "welcome").await;
    send(&mut agent, json!({"type": "join", "ticket_id": ticket_id})).await;
    expect(&mut agent, "joined").await;

    let png = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();
    let r = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/uploads?visitor={visitor}&ticket={ticket_id}&filename=shot.png"
        )))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let m = expect(&mut agent, "message").await;
    let files = m["message"]["attachments"].as_array().unwrap();
    assert_eq!(files[0]["filename"], "shot.png", "{m}");
    let id = files[0]["id"].as_i64().unwrap();
    // The customer's widget shows it inline; another visitor cannot fetch it.
    let got = app
        .http
        .get(app.url(&format!("/api/v1/chat/attachments/{id}?visitor={visitor}")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), reqwest::StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);
    let other = app
        .http
        .get(app.url(&format!(
            "/api/v1/chat/attachments/{id}?visitor=someone-else-entirely-0000"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), reqwest::StatusCode::NOT_FOUND);
    let anonymous = app
        .http
        .post(app.url(&format!("/api/v1/chat/uploads?ticket={ticket_id}")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);
    app.stop().await;
});

backend_test_db!(
    opening_the_widget_stores_nothing_until_the_visitor_writes,
    |db| {
        let Some(app) = spawn_app_with(db, |_| {}).await else {
            return;
        };
        let admin = app.admin_token().await;
        let customers = |v: Value| v.as_array().unwrap().len();
        let before = customers(app.get_json(&admin, "/api/v1/customers").await);
        let mut idle = Vec::new();
        for _ in 0..3 {
            let mut s = connect(&app, "/api/v1/chat/customer", None).await;
            expect(&mut s, "welcome").await;
            idle.push(s);
        }
        assert_eq!(
            customers(app.get_json(&admin, "/api/v1/customers").await),
            before,
            "page views alone made customers"
        );
        // A visitor who comes back with their id before writing is still nobody on record …
        let mut first = connect(&app, "/api/v1/chat/customer", None).await;
        let visitor = expect(&mut first, "welcome").await["visitor_id"]
            .as_str()
            .unwrap()
            .to_owned();
        drop(first);
        let mut c = connect(
            &app,
            &format!("/api/v1/chat/customer?visitor={visitor}"),
            None,
        )
        .await;
        let w = expect(&mut c, "welcome").await;
        assert_eq!(w["visitor_id"], visitor.as_str());
        // … until the first message, which makes exactly one customer, kept on the next visit.
        send(
            &mut c,
            json!({"type": "message", "body": "Where is my deposit?"}),
        )
        .await;
        let ticket = expect(&mut c, "ticket").await["ticket"]["id"]
            .as_i64()
            .unwrap();
        assert_eq!(
            customers(app.get_json(&admin, "/api/v1/customers").await),
            before + 1
        );
        drop(c);
        let mut again = connect(
            &app,
            &format!("/api/v1/chat/customer?visitor={visitor}&ticket={ticket}"),
            None,
        )
        .await;
        let w = expect(&mut again, "welcome").await;
        assert_eq!(w["ticket"]["id"], ticket);
        let m = expect(&mut again, "message").await;
        assert_eq!(m["message"]["body"], "Where is my deposit?");
        assert_eq!(
            customers(app.get_json(&admin, "/api/v1/customers").await),
            before + 1
        );
        app.stop().await;
    }
);

backend_test_db!(only_allowed_sites_open_the_widget, |db| {
    let Some(app) = spawn_app_with(db, |c| {
        c.chat.allowed_origins = vec!["https://www.exchange.test".into()];
    })
    .await
    else {
        return;
    };
    let url = format!(
        "{}/api/v1/chat/customer",
        app.base.replacen("http", "ws", 1)
    );
    let with_origin = |origin: &str| {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        req
    };
    match tokio_tungstenite::connect_async(with_origin("https://phish.test")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 403);
            let body: Value = serde_json::from_slice(r.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "origin_not_allowed");
        }
        other => panic!("a foreign site opened a chat: {:?}", other.map(|_| ())),
    }
    let (mut ok, _) = tokio_tungstenite::connect_async(with_origin("https://www.exchange.test"))
        .await
        .unwrap();
    let visitor = expect(&mut ok, "welcome").await["visitor_id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&mut ok, json!({"type": "message", "body": "hello"})).await;
    let ticket = expect(&mut ok, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();

    // Uploads: the browser's preflight is answered for the exchange's pages only, and a
    // foreign page's upload is refused even if it skips the preflight.
    let uploads = app.url(&format!(
        "/api/v1/chat/uploads?visitor={visitor}&ticket={ticket}&filename=shot.png"
    ));
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, &uploads)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let r = preflight("https://www.exchange.test").await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://www.exchange.test"
    );
    let r = preflight("https://phish.test").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app
        .http
        .post(&uploads)
        .header("origin", "https://phish.test")
        .header("content-type", "image/png")
        .body("png")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(&uploads)
        .header("origin", "https://www.exchange.test")
        .header("content-type", "image/png")
        .body("png")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://www.exchange.test"
    );
    app.stop().await;
});

/// A chat identity token as an exchange's backend would make it with a common JWT library
/// (`jsonwebtoken`), not with xdesk's own signer, over the secret as the admin is shown it.
fn outside_jwt(alg: jsonwebtoken::Algorithm, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

// Tokens from that library sign customers in, with the configured secret and with an
// integration's secret made by an admin; the wrong algorithm, the wrong secret, a revoked
// integration's secret and an expired claim are anonymous.
backend_test_db!(tokens_from_a_jwt_library_are_honoured, |db| {
    use jsonwebtoken::Algorithm;
    let Some(app) = spawn_app_with(db, |c| {
        c.chat.identity_secret = Some(SECRET.into());
    })
    .await
    else {
        return;
    };
    let exp = chrono::Utc::now().timestamp() + 600;
    let claims = json!({"sub": "U4242", "email": "lib@example.com", "name": "Lib", "exp": exp});
    let welcome = |token: String| {
        let app = &app;
        async move {
            let mut s = connect(app, &format!("/api/v1/chat/customer?token={token}"), None).await;
            expect(&mut s, "welcome").await
        }
    };
    let w = welcome(outside_jwt(Algorithm::HS256, &claims, SECRET)).await;
    assert_eq!(
        (w["verified"].as_bool(), w["name"].as_str()),
        (Some(true), Some("Lib")),
        "{w}"
    );
    for token in [
        outside_jwt(Algorithm::HS512, &claims, SECRET),
        outside_jwt(Algorithm::HS256, &claims, "another-exchanges-secret"),
        outside_jwt(
            Algorithm::HS256,
            &json!({"sub": "U4242", "exp": chrono::Utc::now().timestamp() - 5}),
            SECRET,
        ),
    ] {
        let w = welcome(token.clone()).await;
        assert_eq!(w["verified"], false, "{token}: {w}");
    }

    // An integration's secret, as the admin page shows it once.
    // (Admin pages need a second factor: enrolled over the API, then the next 30-second
    // step's code, the current one being used up by the enrolment.)
    let totp = app.enrol_totp(&app.login(&app.admin_email).await).await;
    let key = totp_rs::Secret::Encoded(totp).to_bytes().unwrap();
    let next = (chrono::Utc::now().timestamp() + 30) as u64;
    let code = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, key)
        .unwrap()
        .generate(next);
    let mut admin = crate::web::Web::new(&app);
    admin.sign_in(&app.admin_email, Some(code)).await;
    let csrf = admin.csrf();
    let r = admin
        .post(
            "/admin/integrations",
            &[("csrf", &csrf), ("name", "exchange backend")],
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    let start = r.body.find("id=\"new-secret\">").unwrap() + "id=\"new-secret\">".len();
    let len = r.body[start..].find('<').unwrap();
    let secret = r.body[start..start + len].to_owned();
    assert!(secret.len() >= 16, "{secret}");
    let by_integration = outside_jwt(Algorithm::HS256, &claims, &secret);
    let mut portal = crate::web::Web::new(&app);
    let r = portal
        .get(&format!("/portal/token?token={by_integration}"))
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(welcome(by_integration.clone()).await["verified"], true);
    let page = admin.get("/admin/keys").await.body;
    let at = page.find("/admin/integrations/").unwrap() + "/admin/integrations/".len();
    let id: String = page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let r = admin
        .post(
            &format!("/admin/integrations/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::SEE_OTHER);
    assert_eq!(welcome(by_integration).await["verified"], false);
    app.stop().await;
});

/// An incident under way shows in the widget before the visitor writes, in their language, on
/// a phone. Opening the widget counts the visitor as having seen it; writing anyway counts
/// that too; a client's claim to have seen some other incident counts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_shows_an_incident_before_the_visitor_writes() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let admin = app.admin_token().await;
    let c: Value = app
        .post(
            &admin,
            "/api/v1/components",
            json!({"name": "Withdrawals › BTC", "name_zh": "提币 › BTC", "network": "bitcoin"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let inc: Value = app
        .post(
            &app.supervisor_token,
            "/api/v1/incidents",
            json!({"title": "BTC withdrawals delayed", "title_zh": "BTC 提币延迟", "impact": "major",
                "body": "BTC withdrawals are queued; we expect them out within two hours.",
                "body_zh": "BTC 提币正在排队处理，预计两小时内发出。",
                "components": [{"id": c["id"], "status": "partial_outage"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let iid = inc["incident"]["id"].as_i64().unwrap();
    let counts = async |app: &TestApp| {
        let d = app
            .get_json(&app.agent_token, &format!("/api/v1/incidents/{iid}"))
            .await;
        (
            d["notice_seen"].as_u64().unwrap(),
            d["notice_then_wrote"].as_u64().unwrap(),
        )
    };

    let page = serve_page(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Exchange</title><p>Trade</p>\
         <script src=\"{}/widget.js\" data-lang=\"zh\"></script>",
        app.base
    ))
    .await;
    let Some(d) = crate::browser::Driver::start(true).await else {
        return;
    };
    d.client.goto(&page).await.unwrap();
    let js = |code: &'static str| {
        let client = d.client.clone();
        async move { client.execute(code, Vec::new()).await.unwrap() }
    };
    let mut shown = false;
    for _ in 0..100 {
        shown = js("const n = document.getElementById('xdesk-chat-notices'); return !!n && n.textContent.includes('BTC 提币延迟') && n.textContent.includes('预计两小时内发出');").await == json!(true);
        if shown {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(shown, "the widget never received the notice");
    // Loaded with the page but not yet read: not counted.
    assert_eq!(counts(&app).await, (0, 0));
    d.click("#xdesk-chat-launcher").await;
    d.until_text("我们已知晓此问题").await;
    d.until_text("BTC 提币延迟").await;
    d.screenshot("widget-incident-notice-zh").await;
    let status_link = js("return document.querySelector('#xdesk-chat-notices a').href;").await;
    assert!(
        status_link
            .as_str()
            .unwrap()
            .ends_with(&format!("/status/incidents/{iid}")),
        "{status_link}"
    );
    for _ in 0..100 {
        if counts(&app).await.0 == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(counts(&app).await, (1, 0));

    // Another visitor's widget claims to have seen an incident it was never shown.
    let mut other = connect(&app, "/api/v1/chat/customer?lang=en", None).await;
    expect(&mut other, "welcome").await;
    let notices = expect(&mut other, "notices").await;
    assert_eq!(notices["notices"][0]["title"], "BTC withdrawals delayed");
    send(
        &mut other,
        json!({"type": "notices_seen", "incidents": [iid + 1000]}),
    )
    .await;
    send(&mut other, json!({"type": "typing"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(counts(&app).await, (1, 0));

    // The first visitor writes anyway: the notice goes, and the count says it did not answer.
    d.type_into("#xdesk-chat-panel textarea", "我的 BTC 提币还没到")
        .await;
    d.click("#xdesk-chat-panel > form button[type=submit]")
        .await;
    d.until_text("我的 BTC 提币还没到").await;
    for _ in 0..100 {
        if counts(&app).await == (1, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(counts(&app).await, (1, 1));
    assert_eq!(
        js("return document.getElementById('xdesk-chat-notices').style.display;").await,
        json!("none")
    );
    d.close().await;
    app.stop().await;
}
