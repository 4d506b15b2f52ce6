//! `xdesk-bench incidents`: one public update to 10,000 tickets linked to an incident, over
//! mixed channels (email, chat, portal), on the real server in-process with its SMTP sender
//! pointed at a sink in this process. Reports how long publishing took to queue every delivery,
//! how fast the updates were posted on the tickets, how fast the mails reached the sink, and
//! the server's RSS growth over the broadcast.

use crate::{Db, DbChoice, each_fresh_database, proc_status_kib, reset_peak_rss};
use clap::Args;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use xdesk_service::Principal;
use xdesk_service::incidents::{IncidentSpec, UpdateSpec};
use xdesk_service::tickets::{CreateTicket, CustomerRef};

#[derive(Args)]
pub struct IncidentArgs {
    /// Tickets linked to the incident.
    #[arg(long, default_value_t = 10_000)]
    tickets: usize,
    /// The node's broadcast rate (`[incidents] broadcast_per_second`).
    #[arg(long, default_value_t = 5_000)]
    rate: u32,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Tickets created at once while seeding.
    #[arg(long, default_value_t = 16)]
    seed_concurrency: usize,
}

/// What the SMTP sink has seen: messages accepted, and when the last one was.
#[derive(Default)]
struct Sink {
    messages: AtomicU64,
    last_micros: AtomicU64,
}

/// A minimal SMTP server that accepts every mail and forgets it: the ceiling of what a mail
/// server can take is not what is measured.
async fn start_sink(epoch: Instant) -> anyhow::Result<(u16, Arc<Sink>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let sink = Arc::new(Sink::default());
    let s = sink.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let s = s.clone();
            let _ = conn.set_nodelay(true);
            tokio::spawn(async move {
                let (r, mut w) = conn.into_split();
                let mut lines = BufReader::new(r).lines();
                if w.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                    return;
                }
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        s.messages.fetch_add(1, Ordering::Relaxed);
                        s.last_micros
                            .store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
                        b"250 ok\r\n"
                    } else {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        }
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, sink))
}

struct Report {
    db: Db,
    tickets: usize,
    emails: usize,
    seed_s: f64,
    queue_ms: f64,
    post_s: f64,
    mail_s: f64,
    mails: u64,
    rss_growth_mib: f64,
}

pub async fn run(args: IncidentArgs) -> anyhow::Result<()> {
    let reports = each_fresh_database(args.db.dbs(), &args.pg_url, async |db, url, dir| {
        one(db, &args, url, dir).await
    })
    .await?;
    println!();
    println!(
        "| database | linked tickets (email) | queued in | posted on tickets | mails to the sink | RSS growth |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &reports {
        println!(
            "| {} | {} ({}) | {:.0} ms | {:.1} s ({:.0}/s) | {:.1} s ({:.0}/s, {} mails) | {:.1} MiB |",
            r.db.name(),
            r.tickets,
            r.emails,
            r.queue_ms,
            r.post_s,
            r.tickets as f64 / r.post_s,
            r.mail_s,
            r.mails as f64 / r.mail_s,
            r.mails,
            r.rss_growth_mib
        );
        println!("(seeding {} tickets took {:.1} s)", r.tickets, r.seed_s);
    }
    Ok(())
}

async fn one(
    db: Db,
    args: &IncidentArgs,
    url: &str,
    dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let epoch = Instant::now();
    let (port, sink) = start_sink(epoch).await?;
    let config = xdesk::Config {
        smtp: Some(xdesk_channels::smtp::SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: xdesk_channels::smtp::SmtpTls::None,
            poll_ms: 100,
            retry_base_secs: 0,
            ..Default::default()
        }),
        incidents: xdesk::IncidentsConfig {
            broadcast_per_second: args.rate,
            ..Default::default()
        },
        ..crate::bench_config(url, dir)
    };
    let running = xdesk::start(&config).await?;
    let s = running.services.clone();
    let system = Principal::System;
    // Mixed channels: three in five by email, the rest chat and portal; half in Chinese.
    let seed = Instant::now();
    let mut ids = Vec::with_capacity(args.tickets);
    let mut emails = 0;
    let mut pending = Vec::new();
    for i in 0..args.tickets {
        let channel = match i % 5 {
            0..=2 => "email",
            3 => "chat",
            _ => "web",
        };
        if channel == "email" {
            emails += 1;
        }
        let s = s.clone();
        pending.push(tokio::spawn(async move {
            s.create_ticket(
                &Principal::System,
                CreateTicket {
                    subject: format!("USDT deposit on TRON missing #{i}"),
                    body: "I sent USDT over TRC20 and it has not arrived.".into(),
                    body_html: None,
                    customer: CustomerRef {
                        email: Some(format!("bench{i}@example.com")),
                        ..Default::default()
                    },
                    priority: None,
                    channel: Some(channel.into()),
                    language: Some(if i % 2 == 0 { "en" } else { "zh" }.into()),
                    category: None,
                    group_id: None,
                    assignee_id: None,
                    tags: Vec::new(),
                    crypto: Default::default(),
                    attachments: Vec::new(),
                },
                None,
            )
            .await
        }));
        if pending.len() >= args.seed_concurrency.max(1) {
            for p in pending.drain(..) {
                ids.push(p.await?.map_err(|e| anyhow::anyhow!("{e}"))?.ticket.id);
            }
        }
    }
    for p in pending.drain(..) {
        ids.push(p.await?.map_err(|e| anyhow::anyhow!("{e}"))?.ticket.id);
    }
    let seed_s = seed.elapsed().as_secs_f64();
    let inc = s
        .create_incident(
            &system,
            IncidentSpec {
                title: "TRON deposits delayed".into(),
                title_zh: "TRON 充值延迟".into(),
                body: "Deposits on TRON are delayed; we are on it.".into(),
                body_zh: "TRON 充值延迟，我们正在处理。".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let iid = inc.incident.id;
    for chunk in ids.chunks(1000) {
        s.link_to_incident(&system, iid, chunk, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // The links' own first answers go out before the measured update.
    wait_done(&s, &sink, 0).await?;
    println!(
        "{}: {} tickets seeded in {seed_s:.1} s and linked; their first answers sent",
        db.name(),
        ids.len()
    );
    let mails_before = sink.messages.load(Ordering::Relaxed);
    let rss_before = proc_status_kib("VmRSS").unwrap_or(0);
    reset_peak_rss();
    let started = Instant::now();
    let t0 = epoch.elapsed().as_micros() as u64;
    let u = s
        .post_incident_update(
            &system,
            iid,
            UpdateSpec {
                status: Some("identified".into()),
                body: "The TRON node is synced; credits are going out now.".into(),
                body_zh: "TRON 节点已同步，正在入账。".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let queue_ms = started.elapsed().as_secs_f64() * 1000.0;
    let post_s = wait_posted(&s, started).await?;
    let want = mails_before + emails as u64;
    wait_done(&s, &sink, want).await?;
    let last = sink.last_micros.load(Ordering::Relaxed);
    let mail_s = (last.saturating_sub(t0)) as f64 / 1e6;
    let peak = proc_status_kib("VmHWM").unwrap_or(0);
    let detail: Value = serde_json::to_value(
        s.incident_detail(&system, iid)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )?;
    let update = detail["updates"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == json!(u.id)).cloned())
        .unwrap_or_default();
    println!("{}: deliveries {}", db.name(), update["deliveries"]);
    let _ = running.shutdown.send(());
    let _ = running.task.await;
    Ok(Report {
        db,
        tickets: ids.len(),
        emails,
        seed_s,
        queue_ms,
        post_s,
        mail_s,
        mails: sink.messages.load(Ordering::Relaxed) - mails_before,
        rss_growth_mib: peak.saturating_sub(rss_before) as f64 / 1024.0,
    })
}

/// Seconds from `started` until no delivery waits.
async fn wait_posted(s: &xdesk_service::Services, started: Instant) -> anyhow::Result<f64> {
    loop {
        if s.store.pending_deliveries().await? == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "deliveries did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until no delivery waits and the sink has `mails` messages (when above 0), or the
/// outbox is empty.
async fn wait_done(s: &xdesk_service::Services, sink: &Sink, mails: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let posted = s.store.pending_deliveries().await? == 0;
        let mailed = if mails > 0 {
            sink.messages.load(Ordering::Relaxed) >= mails
        } else {
            s.store.pending_outbound().await? == 0
        };
        if posted && mailed {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the broadcast did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
