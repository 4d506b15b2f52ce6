//! `xdesk-bench search`: the search component at scale, on this machine.
//! - Articles: 100,000 translations built from the demo knowledge base (each demo article
//!   varied with sentences of others), indexed; then the labelled customer questions (Chinese,
//!   English, mixed) asked back to back: indexing rate, query latency, memory.
//! - Tickets: 1,000,000 synthetic tickets (Chinese and English text, hashes, emails) indexed;
//!   then word, hash and email queries within an agent's groups: rate, latency, memory.
//! - Suggestions end to end: the demo knowledge base behind the real server, asked over HTTP
//!   (`GET /api/v1/kb/search`, what the portal's suggestions call).
//! - Catch-up: tickets stored in the database, then a new index following the feed from zero;
//!   the article index rebuilt from the database. Server phases on SQLite and PostgreSQL.

use crate::load::{drive, quantile_ms};
use crate::{DbChoice, in_fresh_database};
use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use std::time::{Duration, Instant};
use xdesk_domain::kb::ArticleFile;
use xdesk_search::articles::{ArticleDoc, ArticleIndex, ArticleQuery};
use xdesk_search::tickets::{Scope, TicketDoc, TicketIndex, TicketQuery};

#[derive(Args)]
pub struct SearchArgs {
    #[arg(long, default_value_t = 100_000)]
    articles: usize,
    #[arg(long, default_value_t = 1_000_000)]
    tickets: usize,
    /// Tickets stored in the database for the catch-up phase.
    #[arg(long, default_value_t = 20_000)]
    feed_tickets: usize,
    /// Measured seconds per query phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Databases the server phases (suggestions, catch-up) run on.
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

#[derive(Deserialize)]
struct Questions {
    question: Vec<Question>,
}

#[derive(Deserialize)]
struct Question {
    q: String,
    lang: String,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator, so runs index the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

/// Query latencies from `threads` threads asking `queries` round-robin for `seconds`.
fn measure<F>(threads: usize, seconds: u64, queries: usize, ask: F) -> (u64, Vec<u64>)
where
    F: Fn(usize) + Send + Sync + Copy + 'static,
{
    let end = Instant::now() + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut i = t;
                while Instant::now() < end {
                    let start = Instant::now();
                    ask(i % queries);
                    lat.push(start.elapsed().as_micros() as u64);
                    i += threads;
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    all.sort_unstable();
    (all.len() as u64, all)
}

struct Row {
    what: String,
    docs: usize,
    index_s: f64,
    docs_per_s: f64,
    queries: u64,
    p50: f64,
    p99: f64,
    rss_mb: f64,
    disk_mb: f64,
}

/// Bytes of the files under `dir`, in MB: an index's size on disk.
fn dir_mb(dir: &std::path::Path) -> f64 {
    let bytes: u64 = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    bytes as f64 / 1_048_576.0
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let files = xdesk::demo::knowledge_base_files();
    let articles: Vec<ArticleFile> = files
        .iter()
        .filter(|(n, _)| n.ends_with(".md"))
        .map(|(n, t)| ArticleFile::parse(n, t).map_err(|e| anyhow::anyhow!("{n}: {e}")))
        .collect::<Result<_, _>>()?;
    let questions: Questions = toml::from_str(
        files
            .iter()
            .find(|(n, _)| *n == "_relevance.toml")
            .map(|(_, t)| *t)
            .context("no _relevance.toml in the demo knowledge base")?,
    )?;
    let questions: &'static [(String, String)] = Box::leak(
        questions
            .question
            .into_iter()
            .map(|q| {
                let lang = if q.lang == "zh"
                    || (q.lang == "mixed" && q.q.chars().any(|c| c > '\u{2e80}'))
                {
                    "zh"
                } else {
                    "en"
                };
                (q.q, lang.to_owned())
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let mut rows = Vec::new();
    let dir = tempfile::tempdir()?;

    // Articles.
    println!("== articles: building {} ==", args.articles);
    let rss0 = rss_kib();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut index = ArticleIndex::open(&dir.path().join("articles")).or_else(|_| {
        std::fs::create_dir_all(dir.path().join("articles"))?;
        ArticleIndex::open(&dir.path().join("articles"))
            .map_err(|e| std::io::Error::other(e.to_string()))
    })?;
    let start = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..args.articles {
        let base = &articles[i % articles.len()];
        let other = rng.pick(&articles);
        let extra: String = other
            .body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        batch.push(ArticleDoc {
            slug: format!("{}-{i}", base.slug),
            language: base.language.clone(),
            category: base.front.category.clone(),
            title: format!("{} ({i})", base.front.title),
            description: base.front.description.clone(),
            tags: base.front.tags.clone(),
            body: format!("{}\n\n{extra}", base.body),
            public: base.front.is_public(),
        });
        if batch.len() == 10_000 {
            index.upsert(&batch)?;
            batch.clear();
        }
    }
    index.upsert(&batch)?;
    let took = start.elapsed().as_secs_f64();
    let rss = rss_kib().saturating_sub(rss0);
    let index: &'static ArticleIndex = Box::leak(Box::new(index));
    let (n, lat) = tokio::task::spawn_blocking(move || {
        measure(2, args.seconds, questions.len(), move |i| {
            let (q, lang) = &questions[i];
            let _ = index.search(&ArticleQuery {
                text: q,
                language: Some(lang),
                limit: 10,
                ..Default::default()
            });
        })
    })
    .await?;
    rows.push(Row {
        what: "articles".into(),
        docs: args.articles,
        index_s: took,
        docs_per_s: args.articles as f64 / took,
        queries: n,
        p50: quantile_ms(&lat, 0.5),
        p99: quantile_ms(&lat, 0.99),
        rss_mb: rss as f64 / 1024.0,
        disk_mb: dir_mb(&dir.path().join("articles")),
    });

    // Tickets.
    println!("== tickets: building {} ==", args.tickets);
    let rss0 = rss_kib();
    std::fs::create_dir_all(dir.path().join("tickets"))?;
    let tindex = TicketIndex::open(&dir.path().join("tickets"))?;
    let zh = [
        "充值未到账",
        "提现一直在处理中",
        "账户被冻结",
        "谷歌验证丢失",
        "实名认证失败",
        "转错链了",
        "手续费太高",
        "P2P 付款没收到",
        "合约爆仓",
        "登录不了",
    ];
    let en = [
        "deposit not credited",
        "withdrawal pending for hours",
        "account locked after login",
        "lost 2FA device",
        "KYC rejected again",
        "sent on the wrong network",
        "fee too high",
        "P2P payment not received",
        "futures liquidation",
        "cannot sign in",
    ];
    let start = Instant::now();
    let mut batch = Vec::with_capacity(50_000);
    let mut probe_hash = String::new();
    for i in 0..args.tickets {
        let (a, b) = (rng.next(), rng.next());
        let hash = format!("0x{a:016x}{b:016x}{:016x}{:016x}", rng.next(), rng.next());
        if i == args.tickets / 2 {
            probe_hash = hash.clone();
        }
        let (s1, s2) = (rng.pick(&zh), rng.pick(&en));
        batch.push(TicketDoc {
            id: i as i64 + 1,
            subject: if i % 2 == 0 {
                (*s1).to_owned()
            } else {
                (*s2).to_owned()
            },
            messages: format!("{s1}，{s2}. UID {} 已经等了 {} 小时。", 100_000 + i, i % 48),
            customer: format!("Customer {i} user{i}@example.com U{}", 100_000 + i),
            crypto: format!("tron USDT {hash}"),
            state: ["new", "open", "pending_customer", "solved", "closed"][i % 5].into(),
            group_id: Some((i % 10) as i64 + 1),
            assignee_id: (i % 3 == 0).then_some((i % 50) as i64 + 1),
            customer_id: (i / 3) as i64 + 1,
            created_at: 1_700_000_000 + i as i64 * 30,
        });
        if batch.len() == 50_000 {
            tindex.upsert(&batch, i as i64)?;
            batch.clear();
        }
    }
    tindex.upsert(&batch, args.tickets as i64)?;
    let took = start.elapsed().as_secs_f64();
    let rss = rss_kib().saturating_sub(rss0);
    let tindex: &'static TicketIndex = Box::leak(Box::new(tindex));
    let probe_email = format!("user{}@example.com", args.tickets / 3);
    let ticket_queries: &'static [String] = Box::leak(
        vec![
            "提现 处理".to_owned(),
            "withdrawal pending".to_owned(),
            "2fa".to_owned(),
            "充值未到账".to_owned(),
            probe_hash,
            probe_email,
            "P2P payment".to_owned(),
            "合约爆仓".to_owned(),
        ]
        .into_boxed_slice(),
    );
    let scope: &'static Scope = Box::leak(Box::new(Scope::Restricted {
        group_ids: vec![1, 2, 3],
        agent_ids: vec![7],
        unrouted: false,
    }));
    let (n, lat) = tokio::task::spawn_blocking(move || {
        measure(2, args.seconds, ticket_queries.len(), move |i| {
            let _ = tindex.search(&TicketQuery {
                text: &ticket_queries[i],
                scope,
                states: &[],
                group_id: None,
                created_from: None,
                created_to: None,
                limit: 20,
            });
        })
    })
    .await?;
    rows.push(Row {
        what: "tickets".into(),
        docs: args.tickets,
        index_s: took,
        docs_per_s: args.tickets as f64 / took,
        queries: n,
        p50: quantile_ms(&lat, 0.5),
        p99: quantile_ms(&lat, 0.99),
        rss_mb: rss as f64 / 1024.0,
        disk_mb: dir_mb(&dir.path().join("tickets")),
    });

    // Suggestions over HTTP, and catch-up from the feed, against the real server on each
    // database.
    let mut served = Vec::new();
    for &db in args.db.dbs() {
        println!(
            "== {}: suggestions over HTTP; catch-up of {} tickets ==",
            db.name(),
            args.feed_tickets
        );
        let run = in_fresh_database(db, &args.pg_url, async |url, dir| {
            serve_and_catch_up(&args, url, dir, questions).await
        })
        .await?;
        served.push((db, run));
    }

    println!("\n## Search at scale\n");
    println!(
        "| index | documents | index s | docs/s | queries | p50 ms | p99 ms | memory MB | disk MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {:.0} | {} | {:.2} | {:.2} | {:.0} | {:.0} |",
            r.what, r.docs, r.index_s, r.docs_per_s, r.queries, r.p50, r.p99, r.rss_mb, r.disk_mb
        );
    }
    for (db, r) in &served {
        println!(
            "\n{}: suggestions over HTTP (demo knowledge base, 2 clients, {} s): {} requests, p50 {:.2} ms, p99 {:.2} ms, errors {}",
            db.name(),
            args.seconds,
            r.suggest.ok,
            r.suggest.quantile_ms(0.5),
            r.suggest.quantile_ms(0.99),
            r.suggest.errors
        );
        println!(
            "{}: catch-up from the ticket feed: {} tickets in {:.2} s ({:.0} tickets/s); article index rebuilt from the database: {} translations in {:.3} s",
            db.name(),
            r.caught,
            r.catch_up_s,
            r.caught as f64 / r.catch_up_s,
            r.translations,
            r.kb_rebuild_s
        );
    }
    println!();
    crate::print_machine();
    Ok(())
}

/// What one database's server answered: suggestions over HTTP, and how fast a new node's
/// indexes catch up from it.
struct Served {
    suggest: crate::load::Outcome,
    caught: usize,
    catch_up_s: f64,
    translations: usize,
    kb_rebuild_s: f64,
}

async fn serve_and_catch_up(
    args: &SearchArgs,
    database_url: &str,
    dir: &std::path::Path,
    questions: &'static [(String, String)],
) -> anyhow::Result<Served> {
    let running = xdesk::start(&crate::bench_config(database_url, dir)).await?;
    xdesk::demo::seed_knowledge_base(&running.services).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let suggest = drive(
        2,
        Duration::from_secs(2),
        Duration::from_secs(args.seconds),
        move |n| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let (q, lang) = &questions[n as usize % questions.len()];
                let r = http
                    .get(format!("{base}/api/v1/kb/search"))
                    .query(&[("q", q.as_str()), ("lang", lang.as_str()), ("limit", "3")])
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status().is_success() {
                    r.bytes().await.map(|_| ()).map_err(|e| e.to_string())
                } else {
                    Err(r.status().to_string())
                }
            }
        },
    )
    .await;
    let store = running.services.store.clone();
    for chunk in (0..args.feed_tickets as u64).collect::<Vec<_>>().chunks(64) {
        let writes = chunk
            .iter()
            .map(|n| crate::store_ticket(&store, xdesk_domain::event::Actor::System, *n));
        for r in futures_util::future::join_all(writes).await {
            r.map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
        }
    }
    // A new node: empty indexes that follow the database from the start.
    let fresh = running
        .services
        .clone()
        .with_ticket_index(xdesk_service::ticket_search::TicketSearchIndex::new(
            TicketIndex::in_memory()?,
        ))
        .with_kb_index(std::sync::Arc::new(std::sync::RwLock::new(
            ArticleIndex::in_memory()?,
        )));
    let start = Instant::now();
    let caught = fresh
        .follow_ticket_feed()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let catch_up_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let translations = fresh
        .reindex_kb()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let kb_rebuild_s = start.elapsed().as_secs_f64();
    let _ = running.shutdown.send(());
    Ok(Served {
        suggest,
        caught,
        catch_up_s,
        translations,
        kb_rebuild_s,
    })
}
