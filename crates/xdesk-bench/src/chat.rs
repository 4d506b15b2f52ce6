//! `xdesk-bench chat`: WebSocket connections one node holds (with its RSS), and delivery
//! latency from a customer's message to the agent's screen at a fixed rate, on one node or
//! across two nodes relaying through Redis. The nodes are separate `xdesk serve` processes
//! (this binary re-run as `serve-node`), so their memory is measured alone.

use crate::load::quantile_ms;
use crate::{Db, DbChoice, each_fresh_database, print_machine};
use anyhow::{Context, anyhow};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) const PASSWORD: &str = "bench password 1234";

#[derive(Args, Clone)]
pub struct ChatArgs {
    /// Customer connections held open on the first node.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Customer messages per second, spread over `--chats` conversations.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 50)]
    chats: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// 1: customers and agent on one node; 2: customers on the first, the agent on the second,
    /// events through Redis.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    #[arg(long, value_enum, default_value_t = DbChoice::Sqlite)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

pub(crate) struct Node {
    pub(crate) base: String,
    pub(crate) child: tokio::process::Child,
}

/// A server process's memory (KiB): resident in all, anonymous (heap, stacks), and file-backed
/// (the binary and mapped index files, which the kernel can drop and read back).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub rss: u64,
    pub anon: u64,
    pub file: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {} MB (anonymous {} MB, file-backed {} MB)",
            self.rss / 1024,
            self.anon / 1024,
            self.file / 1024
        )
    }
}

/// Samples a process's memory until [`Sampler::finish`], keeping each figure's peak.
pub(crate) struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Memory>,
}

impl Sampler {
    pub(crate) async fn finish(self) -> Memory {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

impl Memory {
    pub(crate) fn of(pid: u32) -> Option<Memory> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some(Memory {
            rss: field("VmRSS:")?,
            anon: field("RssAnon:")?,
            file: field("RssFile:")?,
        })
    }

    pub(crate) fn now(node: &Node) -> Memory {
        node.child.id().and_then(Memory::of).unwrap_or_default()
    }

    /// Every 50 ms until finished.
    pub(crate) fn sample(node: &Node) -> Sampler {
        let pid = node.child.id().unwrap_or_default();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = Memory::default();
            loop {
                if let Some(m) = Memory::of(pid) {
                    peak.rss = peak.rss.max(m.rss);
                    peak.anon = peak.anon.max(m.anon);
                    peak.file = peak.file.max(m.file);
                }
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        });
        Sampler { stop, task }
    }

    /// `rss / anon / file` in MB, for a table cell.
    pub(crate) fn table(&self) -> String {
        format!(
            "{} / {} / {}",
            self.rss / 1024,
            self.anon / 1024,
            self.file / 1024
        )
    }
}

impl Node {
    fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

/// Runs one node in this process until killed: the child side of the benchmark.
pub async fn serve_node() -> anyhow::Result<()> {
    // As `xdesk serve` does.
    xdesk::allocator::tune_malloc();
    let config = xdesk::Config::load(std::path::Path::new("/nonexistent/xdesk.toml"))?;
    let running = xdesk::start(&config).await?;
    running.task.await??;
    Ok(())
}

pub(crate) async fn start_node(env: &[(&str, String)]) -> anyhow::Result<Node> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.arg("serve-node")
        .env("XDESK_LISTEN", format!("127.0.0.1:{port}"))
        .env("XDESK_LOG", "warn")
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Node { base, child });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow!("node on {base} did not come up"))
}

/// A "Chat" group (its id returned) and an agent in it who signs in as `bench@x.test` with
/// [`PASSWORD`].
pub(crate) async fn chat_group_and_agent(s: &xdesk_service::Services) -> anyhow::Result<i64> {
    let group = s
        .create_group(&xdesk_service::Principal::System, "Chat", "")
        .await
        .map_err(|e| anyhow!("{e}"))?;
    s.create_agent(
        &xdesk_service::Principal::System,
        xdesk_service::people::CreateAgent {
            email: "bench@x.test".into(),
            display_name: "Bench".into(),
            role: "agent".into(),
            password: PASSWORD.into(),
            group_ids: vec![group.id],
        },
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    Ok(group.id)
}

/// `n` customers on `customer_base` each open a chat (one message makes its ticket) and the
/// signed-in `agent` joins every one; the customers' sockets are returned.
pub(crate) async fn open_chats(
    customer_base: &str,
    agent: &mut Socket,
    n: usize,
) -> anyhow::Result<Vec<Socket>> {
    let mut chatters = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = connect(customer_base, "/api/v1/chat/customer", None).await?;
        next_of(&mut c, "welcome").await?;
        c.send(Message::Text(
            json!({"type": "message", "body": format!("hello {i}")})
                .to_string()
                .into(),
        ))
        .await?;
        let t = next_of(&mut c, "ticket").await?["ticket"]["id"]
            .as_i64()
            .ok_or_else(|| anyhow!("no ticket"))?;
        agent
            .send(Message::Text(
                json!({"type": "join", "ticket_id": t}).to_string().into(),
            ))
            .await?;
        next_of(agent, "joined").await?;
        chatters.push(c);
    }
    Ok(chatters)
}

pub(crate) async fn connect(
    base: &str,
    path: &str,
    bearer: Option<&str>,
) -> anyhow::Result<Socket> {
    let mut req = format!("{}{path}", base.replacen("http", "ws", 1)).into_client_request()?;
    if let Some(b) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {b}").parse()?);
    }
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

pub(crate) async fn next_of(s: &mut Socket, kind: &str) -> anyhow::Result<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), s.next())
            .await
            .context("waiting for a frame")?
            .ok_or_else(|| anyhow!("socket closed"))??;
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t)?;
            if v["type"] == kind {
                return Ok(v);
            }
        }
    }
}

struct Report {
    db: Db,
    connections: usize,
    connect_secs: f64,
    rss_kib: Option<u64>,
    idle_rss_kib: Option<u64>,
    sent: u64,
    latencies_us: Vec<u64>,
}

pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.chats > 0 && args.connections >= args.chats,
        "need --connections >= --chats > 0"
    );
    anyhow::ensure!((1..=2).contains(&args.nodes), "--nodes is 1 or 2");
    let dbs = args.db.dbs();
    anyhow::ensure!(
        args.nodes == 1 || !dbs.iter().any(|d| matches!(d, Db::Sqlite)),
        "two nodes share one database: use --db postgres"
    );
    let reports = each_fresh_database(dbs, &args.pg_url, async |db, url, dir| {
        one_db(db, url, dir, &args).await
    })
    .await?;
    println!();
    println!("## Chat: WebSocket connections and delivery latency");
    println!();
    println!(
        "{} node(s){}; customers on the first node; {} conversations, customer messages at {} /s for {} s after {} s warm-up; latency from the customer's send to the agent's receipt of the stored message. RSS is the first node's process alone.",
        args.nodes,
        if args.nodes == 2 {
            ", the agent on the second, events through Redis"
        } else {
            ""
        },
        args.chats,
        args.rate,
        args.seconds,
        args.warmup
    );
    println!();
    println!(
        "| database | connections | connect s | RSS idle MB | RSS with connections MB | messages | p50 ms | p99 ms | max ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            r.db.name(),
            r.connections,
            r.connect_secs,
            crate::mb(r.idle_rss_kib),
            crate::mb(r.rss_kib),
            r.sent,
            quantile_ms(&r.latencies_us, 0.5),
            quantile_ms(&r.latencies_us, 0.99),
            r.latencies_us
                .last()
                .map_or(f64::NAN, |&u| u as f64 / 1000.0)
        );
    }
    println!();
    print_machine();
    Ok(())
}

async fn one_db(
    db: Db,
    url: &str,
    dir: &std::path::Path,
    args: &ChatArgs,
) -> anyhow::Result<Report> {
    let config = xdesk::Config {
        database_url: url.to_owned(),
        data_dir: dir.join("data"),
        ..Default::default()
    };
    let setup = xdesk::open(&config).await?;
    let group = chat_group_and_agent(&setup).await?;
    setup.store.close().await?;
    let mut env = vec![
        ("XDESK_DATABASE_URL", url.to_owned()),
        ("XDESK_DATA_DIR", dir.join("data").display().to_string()),
        ("XDESK_CHAT__GROUP_ID", group.to_string()),
        // Every simulated visitor comes from this one address.
        ("XDESK_LIMITS__CHAT_TICKETS__MAX", "0".to_owned()),
    ];
    if args.nodes == 2 {
        env.push(("XDESK_REDIS_URL", args.redis_url.clone()));
    }
    let mut nodes = Vec::new();
    for _ in 0..args.nodes {
        nodes.push(start_node(&env).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kib = nodes[0].rss_kib();
    let customer_base = nodes[0].base.clone();
    let agent_base = nodes[nodes.len() - 1].base.clone();

    let login: Value = reqwest::Client::new()
        .post(format!("{agent_base}/api/v1/auth/login"))
        .json(&json!({"email": "bench@x.test", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .ok_or_else(|| anyhow!("login: {login}"))?
        .to_owned();
    let mut agent = connect(&agent_base, "/api/v1/chat/agent", Some(&token)).await?;
    next_of(&mut agent, "welcome").await?;

    // The conversations: each customer opens a chat; the agent joins them all.
    let chatters = open_chats(&customer_base, &mut agent, args.chats).await?;

    // The rest of the connections: visitors with the widget open, idle.
    println!("opening {} connections ...", args.connections);
    let start = Instant::now();
    let idle: Arc<Mutex<Vec<Socket>>> = Arc::new(Mutex::new(Vec::new()));
    let want = args.connections - args.chats;
    let per_task = want.div_ceil(64);
    let mut tasks = Vec::new();
    for k in 0..64 {
        let n = per_task.min(want.saturating_sub(k * per_task));
        let (base, idle) = (customer_base.clone(), idle.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let mut s = connect(&base, "/api/v1/chat/customer", None).await?;
                next_of(&mut s, "welcome").await?;
                idle.lock().map_err(|_| anyhow!("poisoned"))?.push(s);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let connect_secs = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_kib = nodes[0].rss_kib();
    let held = idle.lock().map_err(|_| anyhow!("poisoned"))?.len() + chatters.len();
    println!(
        "  {held} connections in {connect_secs:.1}s; first node RSS {} MB (idle {} MB)",
        crate::mb(rss_kib),
        crate::mb(idle_rss_kib)
    );

    // Latency: customers send at a fixed rate; the agent's socket reports each stored message.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let measure_from = Instant::now() + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.seconds);
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let (sa, lat) = (sent_at.clone(), latencies.clone());
    let reader = tokio::spawn(async move {
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_secs(5), agent.next()).await
        {
            let Message::Text(t) = frame else { continue };
            let Ok(v) = serde_json::from_str::<Value>(&t) else {
                continue;
            };
            let Some(body) = v["message"]["body"].as_str() else {
                continue;
            };
            let sent = sa.lock().ok().and_then(|mut m| m.remove(body));
            if let Some(sent) = sent
                && sent >= measure_from
                && sent < until
                && let Ok(mut l) = lat.lock()
            {
                l.push(sent.elapsed().as_micros() as u64);
            }
        }
    });
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n: u64 = 0;
    let mut measured_sent = 0;
    let mut sinks: Vec<_> = chatters.into_iter().map(|c| c.split()).collect();
    // Drain what the server sends the customers (their own echoes) so their buffers stay empty.
    let mut drains = Vec::new();
    let mut senders = Vec::new();
    for (sink, mut stream) in sinks.drain(..) {
        drains.push(tokio::spawn(async move {
            while let Some(Ok(_)) = stream.next().await {}
        }));
        senders.push(sink);
    }
    while Instant::now() < until {
        tick.tick().await;
        let body = format!("m{n}");
        let now = Instant::now();
        if now >= until {
            break;
        }
        if now >= measure_from {
            measured_sent += 1;
        }
        sent_at
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .insert(body.clone(), now);
        let i = (n % senders.len() as u64) as usize;
        senders[i]
            .send(Message::Text(
                json!({"type": "message", "body": body}).to_string().into(),
            ))
            .await?;
        n += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    reader.abort();
    for d in drains {
        d.abort();
    }
    let mut latencies_us = latencies.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    latencies_us.sort_unstable();
    let lost = measured_sent - latencies_us.len() as u64;
    println!(
        "  {measured_sent} messages at {}/s: p50 {:.2} ms, p99 {:.2} ms; not delivered within 2 s: {lost}",
        args.rate,
        quantile_ms(&latencies_us, 0.5),
        quantile_ms(&latencies_us, 0.99)
    );
    drop(idle);
    for mut node in nodes {
        let _ = node.child.kill().await;
    }
    Ok(Report {
        db,
        connections: held,
        connect_secs,
        rss_kib,
        idle_rss_kib,
        sent: measured_sent,
        latencies_us,
    })
}
