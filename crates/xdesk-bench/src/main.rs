//! `xdesk-bench tickets`: starts the real server in-process on SQLite and/or PostgreSQL, drives
//! `POST /api/v1/tickets` from concurrent keep-alive clients, and compares the rate with a
//! ceiling that inserts the same rows straight through the database driver. A third phase
//! writes through the store alone (no HTTP) to show where the difference goes.

mod ceiling;
mod chat;
mod email;
mod growth;
mod inbox;
mod incidents;
mod index_commits;
mod load;
mod pgstat;
mod search;
mod sla;
mod soak;
mod status;
mod surge;
mod triage;

use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand, ValueEnum};
use load::Outcome;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use xdesk_domain::event::Actor;
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::RawCryptoFields;
use xdesk_store::{NewMessage, NewTicket, Store, TicketCustomer};

const TO_ADDRESS: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const BODY: &str = "USDT withdrawal pending since 2h";
/// Ceiling tickets are numbered from here so they never repeat an HTTP ticket's subject.
const CEILING_OFFSET: u64 = 1 << 40;
const BATCHED_OFFSET: u64 = 2 << 40;

#[derive(Parser)]
#[command(about = "xdesk load benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Tickets/s for POST /api/v1/tickets, with latency, peak RSS and a store-only ceiling.
    Tickets(TicketsArgs),
    /// Mails/s through POST /api/v1/channels/email/inbound: parsed and stored, with attachments.
    Email(email::EmailArgs),
    /// WebSocket connections held (with RSS) and customer-to-agent latency at a fixed rate.
    Chat(chat::ChatArgs),
    /// Server time of the console's inbox page with 100,000 tickets in the database.
    Inbox(inbox::InboxArgs),
    /// Ticket creation, the inbox page and ticket search with 0, 100k and 1M tickets stored.
    Growth(growth::GrowthArgs),
    /// Search at scale: 100,000 articles and 1,000,000 tickets indexed and queried, suggestions
    /// over HTTP, and catching up from the change feed.
    Search(search::SearchArgs),
    /// SLA timers: CPU with 100,000 pending while idle; 10,000 due in one minute fired.
    Sla(sla::SlaArgs),
    /// Triage per new ticket: intent, language and urgency, p50/p99 (goal under 1 ms).
    Triage(triage::TriageArgs),
    /// One incident update to 10,000 linked tickets: queued, posted, mailed to an SMTP sink.
    Incidents(incidents::IncidentArgs),
    /// Surge detection over simulated days: latency to catch injected surges, false alarms.
    Surge(surge::SurgeArgs),
    /// The public status page and summary.json at a fixed rate (goal: p99 under 5 ms at 500/s).
    Status(status::StatusArgs),
    /// Two nodes on PostgreSQL and Redis under a bounded mixed load for 30 minutes: p99 and
    /// memory per window.
    Soak(soak::SoakArgs),
    /// The ticket index over thousands of small commits, as the feed follower makes them: commit
    /// and search time, and memory with glibc's default allocator settings and the server's.
    IndexCommits(index_commits::IndexCommitsArgs),
    /// Internal: one run of `index-commits`.
    #[command(hide = true)]
    IndexCommitsChild(index_commits::IndexCommitsArgs),
    /// Internal: one node for the chat benchmark, configured from XDESK_* variables.
    #[command(hide = true)]
    ServeNode,
}

#[derive(Args)]
struct TicketsArgs {
    /// Measured seconds per phase (HTTP and ceiling each), after the warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients (HTTP) and tasks (ceiling).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    /// Warm-up seconds before each measured phase; not counted.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// A PostgreSQL URL whose user may create databases; a fresh one is made for each run.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Leave out the demo's configuration (groups, agents, SLA policies, the default route):
    /// the figures of issue 2, before tickets had clocks and routes.
    #[arg(long)]
    bare: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

impl DbChoice {
    /// The databases a run covers, in order.
    pub(crate) fn dbs(self) -> &'static [Db] {
        match self {
            DbChoice::Sqlite => &[Db::Sqlite],
            DbChoice::Postgres => &[Db::Postgres],
            DbChoice::Both => &[Db::Sqlite, Db::Postgres],
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// One database's results.
struct Report {
    db: Db,
    http: Outcome,
    /// The server process's own peak memory during the HTTP phase.
    memory: chat::Memory,
    ceiling: Outcome,
    batched: Outcome,
    store: Outcome,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = match Cli::parse().cmd {
        Cmd::Tickets(args) => args,
        Cmd::Email(args) => return email::run(args).await,
        Cmd::Chat(args) => return chat::run(args).await,
        Cmd::Inbox(args) => return inbox::run(args).await,
        Cmd::Growth(args) => return growth::run(args).await,
        Cmd::Soak(args) => return soak::run(args).await,
        Cmd::Search(args) => return search::run(args).await,
        Cmd::Triage(args) => return triage::run(args),
        Cmd::Surge(args) => return surge::run(args),
        Cmd::Sla(args) => return sla::run(args).await,
        Cmd::Incidents(args) => return incidents::run(args).await,
        Cmd::Status(args) => return status::run(args).await,
        Cmd::ServeNode => return chat::serve_node().await,
        Cmd::IndexCommits(args) => return index_commits::run(&args),
        Cmd::IndexCommitsChild(args) => return index_commits::child(&args),
    };
    anyhow::ensure!(
        args.seconds > 0 && args.clients > 0,
        "need --seconds and --clients > 0"
    );
    let dbs = args.db.dbs();
    let mut reports = Vec::new();
    for &db in dbs {
        println!("== {} ==", db.name());
        reports.push(bench_db(db, &args).await?);
        println!();
    }
    print_summary(&args, &reports);
    Ok(())
}

/// Runs both phases against a fresh database.
async fn bench_db(db: Db, args: &TicketsArgs) -> anyhow::Result<Report> {
    in_fresh_database(db, &args.pg_url, async |url, dir| {
        run_phases(db, url, dir, args).await
    })
    .await
}

/// Runs `f` once per database in `dbs`, each in a fresh database (see [`in_fresh_database`]),
/// under a heading with the database's name; the results in the same order.
pub(crate) async fn each_fresh_database<T>(
    dbs: &[Db],
    pg_url: &str,
    f: impl AsyncFn(Db, &str, &std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut results = Vec::with_capacity(dbs.len());
    for &db in dbs {
        println!("== {} ==", db.name());
        results.push(in_fresh_database(db, pg_url, async |url, dir| f(db, url, dir).await).await?);
    }
    Ok(results)
}

/// A server configuration for an in-process benchmark: a free port, `url`, and its files in
/// `dir`; everything else as the defaults.
pub(crate) fn bench_config(url: &str, dir: &std::path::Path) -> xdesk::Config {
    xdesk::Config {
        listen: "127.0.0.1:0".into(),
        database_url: url.to_owned(),
        data_dir: dir.join("data"),
        ..Default::default()
    }
}

/// Calls `f` with the URL of a fresh database and a scratch directory; a PostgreSQL database
/// is created for the run and dropped after it.
pub(crate) async fn in_fresh_database<T>(
    db: Db,
    pg_url: &str,
    f: impl AsyncFnOnce(&str, &std::path::Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = tempfile::tempdir()?;
    match db {
        Db::Sqlite => {
            let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
            f(&url, dir.path()).await
        }
        Db::Postgres => {
            let name = format!(
                "xdesk_bench_{}_{}",
                std::process::id(),
                chrono::Utc::now().timestamp_millis()
            );
            let admin = Database::connect(pg_url)
                .await
                .with_context(|| format!("connecting to {pg_url}"))?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            println!("created database {name}");
            let result = f(&with_database(pg_url, &name), dir.path()).await;
            match admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
            {
                Ok(_) => println!("dropped database {name}"),
                Err(e) => eprintln!("warning: could not drop database {name}: {e}"),
            }
            let _ = admin.close().await;
            result
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host = match base.rsplit_once('/') {
        Some((h, _)) if h.len() > "postgres://".len() => h,
        _ => base,
    };
    format!("{host}/{name}{query}")
}

async fn run_phases(
    db: Db,
    database_url: &str,
    dir: &std::path::Path,
    args: &TicketsArgs,
) -> anyhow::Result<Report> {
    let warmup = Duration::from_secs(args.warmup);
    let window = Duration::from_secs(args.seconds);
    // The database made and the key issued here; the server runs as its own process (this
    // binary as `serve-node`), so its memory is its own.
    let data_dir = dir.join("data");
    let services = xdesk::open(&xdesk::Config {
        database_url: database_url.to_owned(),
        data_dir: data_dir.clone(),
        ..Default::default()
    })
    .await?;
    let (key_row, key) = services
        .create_api_key("bench", &[])
        .await
        .map_err(|e| anyhow!("creating the API key: {e}"))?;
    let mut env = vec![
        ("XDESK_DATABASE_URL", database_url.to_owned()),
        ("XDESK_DATA_DIR", data_dir.display().to_string()),
    ];
    if !args.bare {
        // Configured as the demo runs: its groups, agents and SLA policies, and what no rule
        // routes goes to its catch-all group. Every new ticket then starts two SLA clocks.
        xdesk::demo::seed(&services).await?;
        env.push((
            "XDESK_ROUTING__DEFAULT_GROUP",
            xdesk::demo::DEFAULT_GROUP.to_owned(),
        ));
    }
    let node = chat::start_node(&env).await?;
    let sampler = chat::Memory::sample(&node);
    println!(
        "server process {} on {}; at start {}",
        node.child.id().unwrap_or_default(),
        node.base,
        chat::Memory::now(&node)
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url: Arc<str> = format!("{}/api/v1/tickets", node.base).into();
    let auth: Arc<str> = format!("Bearer {key}").into();
    println!(
        "HTTP: {} clients, {}s warm-up + {}s measured ...",
        args.clients, args.warmup, args.seconds
    );
    let stats = match db {
        Db::Postgres => {
            let pool = ceiling::postgres_pool(database_url).await?;
            let before = pgstat::Snapshot::take(&pool).await?;
            Some((pool, before))
        }
        Db::Sqlite => None,
    };
    let http = load::drive(args.clients, warmup, window, move |n| {
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        async move { post_ticket(&client, &url, &auth, n).await }
    })
    .await;
    let memory = sampler.finish().await;
    let per_ticket = match &stats {
        Some((pool, _)) => Some(pgstat::Snapshot::take(pool).await?),
        None => None,
    };
    drop(node);
    print_outcome("HTTP", &http);
    println!("  server process peak: {memory}");
    if let (Some((_, before)), Some(after)) = (&stats, &per_ticket) {
        after.print_since(before);
    }

    println!(
        "ceiling (the same rows through the sqlx driver, one transaction per ticket): {} tasks, {}s warm-up + {}s measured ...",
        args.clients, args.warmup, args.seconds
    );
    let actor = Actor::ApiKey(key_row.id);
    let batch = args.clients as u64;
    let (ceiling, batched) = match db {
        Db::Sqlite => {
            let pool = ceiling::sqlite_pool(database_url).await?;
            let (p, a) = (pool.clone(), actor.clone());
            let one = load::drive(args.clients, warmup, window, move |n| {
                let (pool, actor) = (p.clone(), a.clone());
                async move { ceiling::sqlite_ticket(&pool, &actor, CEILING_OFFSET + n).await }
            })
            .await;
            let a = actor.clone();
            let many = load::drive(1, warmup, window, move |n| {
                let (pool, actor) = (pool.clone(), a.clone());
                async move {
                    ceiling::sqlite_batch(&pool, &actor, BATCHED_OFFSET / batch + n, batch).await
                }
            })
            .await;
            (one, many)
        }
        Db::Postgres => {
            let pool = ceiling::postgres_pool(database_url).await?;
            let (p, a) = (pool.clone(), actor.clone());
            let one = load::drive(args.clients, warmup, window, move |n| {
                let (pool, actor) = (p.clone(), a.clone());
                async move { ceiling::postgres_ticket(&pool, &actor, CEILING_OFFSET + n).await }
            })
            .await;
            let a = actor.clone();
            let many = load::drive(xdesk_store::POSTGRES_WRITERS, warmup, window, move |n| {
                let (pool, actor) = (pool.clone(), a.clone());
                async move {
                    ceiling::postgres_batch(&pool, &actor, BATCHED_OFFSET / batch + n, batch).await
                }
            })
            .await;
            (one, many)
        }
    };
    let batched = batched.scaled(batch);
    print_outcome("ceiling", &ceiling);
    println!(
        "  HTTP / ceiling: {:.0}%",
        100.0 * http.per_second() / ceiling.per_second()
    );
    println!(
        "  batched ceiling ({batch} tickets per transaction, as many tasks as the server has writers): {:.0} tickets/s; HTTP / batched: {:.0}%",
        batched.per_second(),
        100.0 * http.per_second() / batched.per_second()
    );

    println!(
        "store only (Store::create_ticket, group commit, no HTTP): {} tasks, {}s warm-up + {}s measured ...",
        args.clients, args.warmup, args.seconds
    );
    let store = services.store.clone();
    let store_outcome = load::drive(args.clients, warmup, window, move |n| {
        let (store, actor) = (store.clone(), actor.clone());
        async move { store_ticket(&store, actor, 3 * CEILING_OFFSET + n).await }
    })
    .await;
    print_outcome("store only", &store_outcome);

    let _ = services.store.close().await;
    Ok(Report {
        db,
        http,
        memory,
        ceiling,
        batched,
        store: store_outcome,
    })
}

/// 64 hex digits that differ for every `n`.
fn tx_hash(n: u64) -> String {
    let mut x = n;
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        next(),
        next(),
        next(),
        next()
    )
}

fn email(n: u64) -> String {
    format!("bench{}@example.com", n % 1000)
}

pub(crate) async fn post_ticket(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    n: u64,
) -> Result<(), String> {
    let body = json!({
        "subject": format!("Withdrawal not received #{n}"),
        "body": BODY,
        "customer": {"email": email(n)},
        "priority": "high",
        "tags": ["withdrawal"],
        "crypto": {
            "network": "tron",
            "asset": "USDT",
            "tx_hash": tx_hash(n),
            "to_address": TO_ADDRESS,
            "amount": "1250.5"
        }
    });
    let resp = client
        .post(url)
        .header(reqwest::header::AUTHORIZATION, auth)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    // Read the whole body so the connection goes back to the pool.
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("{status}: reading body: {e}"))?;
    if status == reqwest::StatusCode::CREATED {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&bytes);
        Err(format!(
            "{status}: {}",
            text.chars().take(500).collect::<String>()
        ))
    }
}

/// The rows `POST /api/v1/tickets` writes for the same input, through the store: no HTTP, auth,
/// or validation of the request.
async fn store_ticket(store: &Store, actor: Actor, n: u64) -> Result<(), String> {
    let identity = Identity::parse("email", &email(n)).map_err(|e| e.to_string())?;
    let crypto = RawCryptoFields {
        network: Some("tron".into()),
        asset: Some("USDT".into()),
        tx_hash: Some(tx_hash(n)),
        to_address: Some(TO_ADDRESS.into()),
        amount: Some("1250.5".into()),
        ..Default::default()
    }
    .validate()
    .map_err(|e| e.to_string())?
    .to_raw();
    store
        .create_ticket(NewTicket {
            subject: format!("Withdrawal not received #{n}"),
            state: "new".into(),
            priority: "high".into(),
            channel: "api".into(),
            language: "en".into(),
            category: None,
            customer: TicketCustomer::Identities {
                display_name: identity.value(),
                identities: vec![identity],
                language: "en".into(),
            },
            group_id: None,
            assignee_id: None,
            tags: vec!["withdrawal".into()],
            crypto,
            triage: None,
            first_message: NewMessage {
                author_kind: "customer".into(),
                author_id: None,
                body_text: BODY.into(),
                body_html: None,
                internal: false,
                channel: "api".into(),
                metadata: json!({}),
                attachments: Vec::new(),
                email: None,
                redacted: Vec::new(),
                outbound: None,
            },
            notices: Vec::new(),
            after_insert: None,
            sla: None,
            actor,
        })
        .await
        .map_err(|e| format!("create_ticket: {e}"))?;
    Ok(())
}

fn print_outcome(label: &str, o: &Outcome) {
    println!(
        "  {label}: {} tickets in {:.1}s = {:.0} tickets/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; errors {}",
        o.ok,
        o.window.as_secs_f64(),
        o.per_second(),
        o.quantile_ms(0.50),
        o.quantile_ms(0.99),
        o.max_ms(),
        o.errors
    );
    for e in &o.error_samples {
        println!("    error: {e}");
    }
}

fn print_summary(args: &TicketsArgs, reports: &[Report]) {
    println!("## Tickets: POST /api/v1/tickets");
    println!();
    println!(
        "{} clients over keep-alive HTTP/1.1, {} s measured after {} s warm-up; the server is its own process (memory: its peak resident, anonymous, and file-backed such as the search index's mapped files, sampled every 50 ms).",
        args.clients, args.seconds, args.warmup
    );
    println!(
        "{}",
        if args.bare {
            "Bare: no groups, agents, SLA policies or routes (--bare)."
        } else {
            "Configured as the demo: its groups, agents, SLA policies (two clocks per ticket) and default route."
        }
    );
    println!(
        "Ceiling: the same rows inserted by {} tasks straight through the sqlx driver, one transaction per ticket. Batched ceiling: the same rows through the driver, {} tickets per transaction, from as many tasks as the server has writers (SQLite 1, PostgreSQL {}). Store only: {} tasks calling the store's group-committed create, no HTTP.",
        args.clients,
        args.clients,
        xdesk_store::POSTGRES_WRITERS,
        args.clients
    );
    println!();
    println!(
        "| database | tickets/s | p50 ms | p99 ms | max ms | errors | server peak RSS / anonymous / file MB | ceiling tickets/s | HTTP/ceiling % | batched ceiling tickets/s | HTTP/batched % | store only tickets/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            r.db.name(),
            r.http.per_second(),
            r.http.quantile_ms(0.50),
            r.http.quantile_ms(0.99),
            r.http.max_ms(),
            r.http.errors + r.ceiling.errors + r.batched.errors + r.store.errors,
            r.memory.table(),
            r.ceiling.per_second(),
            100.0 * r.http.per_second() / r.ceiling.per_second(),
            r.batched.per_second(),
            100.0 * r.http.per_second() / r.batched.per_second(),
            r.store.per_second()
        );
    }
    println!();
    print_machine();
}

/// The machine and the exact command, printed under every summary.
pub(crate) fn print_machine() {
    let command: Vec<String> = std::env::args().skip(1).collect();
    println!(
        "Machine: {} CPUs ({}), {} MB RAM; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model().unwrap_or_else(|| "unknown CPU".into()),
        mb(meminfo_kib("MemTotal")),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    println!(
        "Command: `cargo run --release -p xdesk-bench -- {}`",
        command.join(" ")
    );
}

/// Resets VmHWM to the current RSS (Linux); ignored where unsupported.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn proc_field_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

pub(crate) fn proc_status_kib(key: &str) -> Option<u64> {
    proc_field_kib("/proc/self/status", key)
}

pub(crate) fn meminfo_kib(key: &str) -> Option<u64> {
    proc_field_kib("/proc/meminfo", key)
}

pub(crate) fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

pub(crate) fn mb(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}
