//! `xdesk-bench soak`: two nodes (their own processes) on one PostgreSQL database with Redis
//! between them, under a bounded mixed load for a long time (30 minutes by default): tickets
//! by API, inbound mails with an attachment, chat (customers on the first node, the agent on
//! the second) and ticket searches, each at a fixed rate, alternating between the nodes. Every
//! window reports each load's p99 and each node's memory, to show whether they stay flat. The
//! default rates are what a 2-core machine that also runs PostgreSQL, Redis and the load
//! generator carries with room to spare (each node indexes every ticket).
//!
//! Each node keeps its own search index (its own data directory, as on its own machine); the
//! files (attachments, the secrets key) are shared, as on a shared volume.

use crate::chat::{Memory, Node, PASSWORD, connect, next_of, open_chats, start_node};
use crate::load::quantile_ms;
use crate::{Db, in_fresh_database, post_ticket, print_machine};
use anyhow::anyhow;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Args, Clone)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 30)]
    minutes: u64,
    /// Length of a reported window.
    #[arg(long, default_value_t = 300)]
    window_secs: u64,
    #[arg(long, default_value_t = 50)]
    tickets_per_sec: u64,
    #[arg(long, default_value_t = 10)]
    mails_per_sec: u64,
    /// Customer chat messages per second, over `--chats` conversations.
    #[arg(long, default_value_t = 20)]
    chat_per_sec: u64,
    #[arg(long, default_value_t = 20)]
    chats: usize,
    #[arg(long, default_value_t = 5)]
    searches_per_sec: u64,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
}

const KINDS: [&str; 4] = ["tickets", "mail", "chat", "search"];
/// Requests of one kind in flight at most; past it a tick is counted as skipped, so an
/// overloaded server shows as such instead of piling up tasks.
const IN_FLIGHT: usize = 256;

/// Latencies (µs) per window and kind, and errors per kind.
#[derive(Default)]
struct Record {
    windows: Vec<[Vec<u64>; 4]>,
    errors: [u64; 4],
    skipped: [u64; 4],
    error_samples: Vec<String>,
}

#[derive(Clone)]
struct Recorder {
    inner: Arc<Mutex<Record>>,
    start: Instant,
    window: Duration,
}

impl Recorder {
    fn window_of(&self, at: Instant) -> usize {
        (at.duration_since(self.start).as_secs_f64() / self.window.as_secs_f64()) as usize
    }

    fn ok(&self, kind: usize, sent: Instant) {
        let w = self.window_of(sent);
        if let Ok(mut r) = self.inner.lock() {
            while r.windows.len() <= w {
                r.windows.push(Default::default());
            }
            r.windows[w][kind].push(sent.elapsed().as_micros() as u64);
        }
    }

    fn failed(&self, kind: usize, e: String) {
        if let Ok(mut r) = self.inner.lock() {
            r.errors[kind] += 1;
            if r.error_samples.len() < 10 {
                r.error_samples.push(format!("{}: {e}", KINDS[kind]));
            }
        }
    }

    fn skipped(&self, kind: usize) {
        if let Ok(mut r) = self.inner.lock() {
            r.skipped[kind] += 1;
        }
    }
}

/// Calls `op(n)` `rate` times a second until `until`, each call its own task, at most
/// [`IN_FLIGHT`] at once.
fn every<F, Fut>(
    rec: &Recorder,
    kind: usize,
    rate: u64,
    until: Instant,
    op: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let rec = rec.clone();
    let op = Arc::new(op);
    tokio::spawn(async move {
        if rate == 0 {
            return;
        }
        let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut n = 0;
        while Instant::now() < until {
            tick.tick().await;
            n += 1;
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                rec.skipped(kind);
                continue;
            };
            let (rec, op) = (rec.clone(), op.clone());
            tokio::spawn(async move {
                let sent = Instant::now();
                match op(n).await {
                    Ok(()) => rec.ok(kind, sent),
                    Err(e) => rec.failed(kind, e),
                }
                drop(slot);
            });
        }
    })
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    in_fresh_database(Db::Postgres, &args.pg_url, async |url, dir| {
        soak(url, dir, &args).await
    })
    .await
}

async fn soak(url: &str, dir: &std::path::Path, args: &SoakArgs) -> anyhow::Result<()> {
    let data_a = dir.join("node-a");
    let config = xdesk::Config {
        database_url: url.to_owned(),
        data_dir: data_a.clone(),
        ..Default::default()
    };
    let setup = xdesk::open(&config).await?;
    xdesk::demo::seed(&setup).await?;
    let chat_group = crate::chat::chat_group_and_agent(&setup).await?;
    let (_, key) = setup
        .create_api_key("bench", &[])
        .await
        .map_err(|e| anyhow!("creating the API key: {e}"))?;
    setup.store.close().await?;

    let env = |data: &std::path::Path| {
        vec![
            ("XDESK_DATABASE_URL", url.to_owned()),
            ("XDESK_DATA_DIR", data.display().to_string()),
            ("XDESK_REDIS_URL", args.redis_url.clone()),
            ("XDESK_CHAT__GROUP_ID", chat_group.to_string()),
            (
                "XDESK_ROUTING__DEFAULT_GROUP",
                xdesk::demo::DEFAULT_GROUP.to_owned(),
            ),
            // Every simulated visitor and mail sender comes from this one address.
            ("XDESK_LIMITS__CHAT_TICKETS__MAX", "0".to_owned()),
        ]
    };
    let a = start_node(&env(&data_a)).await?;
    // The second node's own directory: its own index, the first node's files.
    let data_b = dir.join("node-b");
    std::fs::create_dir_all(&data_b)?;
    for entry in std::fs::read_dir(&data_a)? {
        let entry = entry?;
        if entry.file_name() != "index" {
            std::os::unix::fs::symlink(entry.path(), data_b.join(entry.file_name()))?;
        }
    }
    let b = start_node(&env(&data_b)).await?;
    let nodes = Arc::new([a.base.clone(), b.base.clone()]);
    println!(
        "nodes {} and {}; at start A {}, B {}",
        a.base,
        b.base,
        Memory::now(&a),
        Memory::now(&b)
    );

    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let auth: Arc<str> = format!("Bearer {key}").into();
    let token = crate::inbox::sign_in(&http, &b.base, "bench@x.test", PASSWORD).await?;

    // The chats: customers on node A, the agent on node B joined to each.
    let mut agent = connect(&b.base, "/api/v1/chat/agent", Some(&token)).await?;
    next_of(&mut agent, "welcome").await?;
    let customers = open_chats(&a.base, &mut agent, args.chats).await?;

    let total = Duration::from_secs(args.minutes * 60);
    let rec = Recorder {
        inner: Arc::default(),
        start: Instant::now(),
        window: Duration::from_secs(args.window_secs.max(1)),
    };
    let until = rec.start + total;
    println!(
        "soaking for {} min: {} tickets/s, {} mails/s, {} chat messages/s, {} searches/s ...",
        args.minutes,
        args.tickets_per_sec,
        args.mails_per_sec,
        args.chat_per_sec,
        args.searches_per_sec
    );

    // Memory of both nodes every 10 s: (window, node, sample).
    let memory: Arc<Mutex<Vec<(usize, usize, Memory)>>> = Arc::default();
    let sampler = {
        let (memory, rec) = (memory.clone(), rec.clone());
        let pids = [a.child.id(), b.child.id()];
        tokio::spawn(async move {
            while Instant::now() < until {
                let w = rec.window_of(Instant::now());
                for (i, pid) in pids.iter().enumerate() {
                    if let Some(m) = pid.and_then(Memory::of)
                        && let Ok(mut v) = memory.lock()
                    {
                        v.push((w, i, m));
                    }
                }
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        })
    };

    let mut loads = Vec::new();
    {
        let (h, n, a) = (http.clone(), nodes.clone(), auth.clone());
        loads.push(every(&rec, 0, args.tickets_per_sec, until, move |i| {
            let (h, n, a) = (h.clone(), n.clone(), a.clone());
            async move {
                let url = format!("{}/api/v1/tickets", n[(i % 2) as usize]);
                post_ticket(&h, &url, &a, i).await
            }
        }));
    }
    {
        let (h, n, a) = (http.clone(), nodes.clone(), auth.clone());
        let bulk: Arc<str> = crate::email::bulk(16).into();
        loads.push(every(&rec, 1, args.mails_per_sec, until, move |i| {
            let (h, n, a, bulk) = (h.clone(), n.clone(), a.clone(), bulk.clone());
            async move {
                let r = h
                    .post(format!(
                        "{}/api/v1/channels/email/inbound",
                        n[(i % 2) as usize]
                    ))
                    .header("authorization", &*a)
                    .header("content-type", "message/rfc822")
                    .body(crate::email::mail(i, &bulk))
                    .send()
                    .await;
                crate::growth::answered(r, "mail").await
            }
        }));
    }
    {
        let (h, n, a) = (http.clone(), nodes.clone(), auth.clone());
        const WORDS: [&str; 6] = ["usdt", "withdrawal", "提币", "deposit", "tron", "pending"];
        loads.push(every(&rec, 3, args.searches_per_sec, until, move |i| {
            let (h, n, a) = (h.clone(), n.clone(), a.clone());
            async move {
                crate::growth::search_once(&h, &n[(i % 2) as usize], &a, WORDS[(i % 6) as usize])
                    .await
            }
        }));
    }

    // Chat: each message's latency is from the customer's send on node A to the agent's socket
    // on node B receiving it, through PostgreSQL and Redis.
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let (sent_at, rec) = (sent_at.clone(), rec.clone());
        tokio::spawn(async move {
            while let Ok(Some(Ok(frame))) =
                tokio::time::timeout(Duration::from_secs(30), agent.next()).await
            {
                let Message::Text(t) = frame else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                let Some(body) = v["message"]["body"].as_str() else {
                    continue;
                };
                if let Some(sent) = sent_at.lock().ok().and_then(|mut m| m.remove(body)) {
                    rec.ok(2, sent);
                }
            }
        })
    };
    let mut senders = Vec::new();
    let mut drains = Vec::new();
    for c in customers {
        let (sink, mut stream) = c.split();
        drains.push(tokio::spawn(async move {
            while let Some(Ok(_)) = stream.next().await {}
        }));
        senders.push(sink);
    }
    let chat_sent = AtomicU64::new(0);
    if args.chat_per_sec > 0 && !senders.is_empty() {
        let mut tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / args.chat_per_sec as f64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut n: u64 = 0;
        while Instant::now() < until {
            tick.tick().await;
            let body = format!("soak {n}");
            sent_at
                .lock()
                .map_err(|_| anyhow!("poisoned"))?
                .insert(body.clone(), Instant::now());
            let i = (n % senders.len() as u64) as usize;
            if let Err(e) = senders[i]
                .send(Message::Text(
                    json!({"type": "message", "body": body}).to_string().into(),
                ))
                .await
            {
                rec.failed(2, e.to_string());
            }
            chat_sent.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    } else {
        tokio::time::sleep_until(until.into()).await;
    }
    for l in loads {
        let _ = l.await;
    }
    // Let what is in flight finish, then count chat messages never delivered.
    tokio::time::sleep(Duration::from_secs(5)).await;
    reader.abort();
    for d in drains {
        d.abort();
    }
    let _ = sampler.await;
    let undelivered = sent_at.lock().map_or(0, |m| m.len());
    let end = [Memory::now(&a), Memory::now(&b)];
    report(
        args,
        &rec,
        &memory,
        chat_sent.load(Ordering::Relaxed),
        undelivered,
        end,
    )?;
    stop(a).await;
    stop(b).await;
    Ok(())
}

async fn stop(mut node: Node) {
    let _ = node.child.kill().await;
}

fn report(
    args: &SoakArgs,
    rec: &Recorder,
    memory: &Mutex<Vec<(usize, usize, Memory)>>,
    chat_sent: u64,
    undelivered: usize,
    end: [Memory; 2],
) -> anyhow::Result<()> {
    let r = rec.inner.lock().map_err(|_| anyhow!("poisoned"))?;
    let memory = memory.lock().map_err(|_| anyhow!("poisoned"))?;
    println!();
    println!(
        "## Soak: two nodes, PostgreSQL and Redis, {} min",
        args.minutes
    );
    println!();
    println!(
        "Fixed rates: {} tickets/s (POST /api/v1/tickets), {} mails/s with a 16 KiB attachment (POST /api/v1/channels/email/inbound), {} chat messages/s over {} chats (customer on node A to agent on node B), {} ticket searches/s; HTTP loads alternate between the nodes. p99 in ms per {}-s window; memory is each node's peak in the window (RSS / anonymous MB, sampled every 10 s).",
        args.tickets_per_sec,
        args.mails_per_sec,
        args.chat_per_sec,
        args.chats,
        args.searches_per_sec,
        args.window_secs
    );
    println!();
    println!(
        "| window | tickets p99 | mail p99 | chat p99 | search p99 | done (t / m / c / s) | node A RSS / anon MB | node B RSS / anon MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let full = (args.minutes * 60 / args.window_secs.max(1)) as usize;
    for (w, kinds) in r.windows.iter().enumerate().take(full) {
        let p99 = |k: usize| {
            let mut v = kinds[k].clone();
            v.sort_unstable();
            quantile_ms(&v, 0.99)
        };
        let peak = |node: usize| {
            memory
                .iter()
                .filter(|(mw, n, _)| *mw == w && *n == node)
                .fold(Memory::default(), |p, (_, _, m)| Memory {
                    rss: p.rss.max(m.rss),
                    anon: p.anon.max(m.anon),
                    file: p.file.max(m.file),
                })
        };
        let (ma, mb) = (peak(0), peak(1));
        let (from, to) = (
            w as u64 * args.window_secs,
            (w as u64 + 1) * args.window_secs,
        );
        let label = if args.window_secs.is_multiple_of(60) {
            format!("{}-{} min", from / 60, to / 60)
        } else {
            format!("{from}-{to} s")
        };
        println!(
            "| {label} | {:.1} | {:.1} | {:.1} | {:.1} | {} / {} / {} / {} | {} / {} | {} / {} |",
            p99(0),
            p99(1),
            p99(2),
            p99(3),
            kinds[0].len(),
            kinds[1].len(),
            kinds[2].len(),
            kinds[3].len(),
            ma.rss / 1024,
            ma.anon / 1024,
            mb.rss / 1024,
            mb.anon / 1024,
        );
    }
    println!();
    println!(
        "Errors (tickets / mail / chat / search): {:?}; ticks skipped with {IN_FLIGHT} in flight: {:?}; chat messages sent {chat_sent}, never delivered {undelivered}. At the end: A {}, B {}.",
        r.errors, r.skipped, end[0], end[1]
    );
    for e in &r.error_samples {
        println!("  error: {e}");
    }
    println!();
    print_machine();
    Ok(())
}
