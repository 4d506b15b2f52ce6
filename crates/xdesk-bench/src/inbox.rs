//! `xdesk-bench inbox`: the agent console's inbox page with 100,000 tickets in the database.
//! Tickets are seeded through the store (varied states, priorities, groups and assignees,
//! 10,000 customers); then signed-in clients load the inbox views back to back over HTTP. The
//! figure is the server's own time per page (its `Server-Timing` header), with the client's
//! round trip beside it, and the bytes a page load moves.

use crate::load::{drive, quantile_ms};
use crate::{Db, DbChoice, each_fresh_database, print_machine};
use anyhow::anyhow;
use clap::Args;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xdesk_domain::event::Actor;
use xdesk_domain::identity::Identity;
use xdesk_store::{NewMessage, NewTicket, TicketCustomer};

pub(crate) const PASSWORD: &str = "bench password 1234";

#[derive(Args, Clone)]
pub struct InboxArgs {
    #[arg(long, default_value_t = 100_000)]
    tickets: u64,
    /// Concurrent clients loading pages.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

struct Report {
    db: Db,
    seed_secs: f64,
    pages: u64,
    server_us: Vec<u64>,
    client: crate::load::Outcome,
    page_bytes: usize,
}

pub async fn run(args: InboxArgs) -> anyhow::Result<()> {
    let dbs = args.db.dbs();
    let reports = each_fresh_database(dbs, &args.pg_url, async |db, url, dir| {
        one_db(db, url, dir, &args).await
    })
    .await?;
    println!();
    println!("## Inbox page with {} tickets", args.tickets);
    println!();
    println!(
        "{} clients load the inbox views (mine, unassigned, urgent, waiting, a group, all open; then mine by last customer message, all open by SLA due, unassigned by last update; with their counts) back to back for {} s after {} s warm-up. Server time is the `Server-Timing` the server reports for the page; round trip is the client's, over loopback.",
        args.clients, args.seconds, args.warmup
    );
    println!();
    println!(
        "| database | seed s | pages | server p50 ms | server p99 ms | server max ms | round trip p99 ms | page load KB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        println!(
            "| {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            r.db.name(),
            r.seed_secs,
            r.pages,
            quantile_ms(&r.server_us, 0.5),
            quantile_ms(&r.server_us, 0.99),
            r.server_us.last().map_or(f64::NAN, |&u| u as f64 / 1000.0),
            r.client.quantile_ms(0.99),
            r.page_bytes as f64 / 1024.0
        );
    }
    println!();
    print_machine();
    Ok(())
}

const STATES: [(&str, u64); 6] = [
    ("new", 20),
    ("open", 20),
    ("pending_customer", 10),
    ("pending_internal", 5),
    ("solved", 35),
    ("closed", 10),
];
const PRIORITIES: [(&str, u64); 4] = [("urgent", 5), ("high", 15), ("normal", 60), ("low", 20)];

/// The `n`-th value of a weighted list (weights summing to 100), spread by a multiplicative hash.
fn pick<'a>(list: &[(&'a str, u64)], n: u64, salt: u64) -> &'a str {
    let mut r = (n.wrapping_mul(2_654_435_761).wrapping_add(salt)) % 100;
    for (v, w) in list {
        if r < *w {
            return v;
        }
        r -= w;
    }
    list[0].0
}

/// Writes tickets `range` through the store from 64 tasks: varied states, priorities,
/// channels, groups and assignees, 10,000 customers. Numbers in `range` make their subjects.
pub(crate) async fn seed(
    store: &xdesk_store::Store,
    range: std::ops::Range<u64>,
    groups: &[i64],
    agents: &[i64],
) -> anyhow::Result<()> {
    let store = Arc::new(store.clone());
    let next = Arc::new(std::sync::atomic::AtomicU64::new(range.start));
    let total = range.end;
    let (groups, agents) = (Arc::new(groups.to_vec()), Arc::new(agents.to_vec()));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (store, next, groups, agents) =
            (store.clone(), next.clone(), groups.clone(), agents.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(());
                }
                let identity = Identity::parse("email", &format!("c{}@example.com", n % 10_000))?;
                let assignee = match n % 10 {
                    0..=2 => Some(agents[0]),
                    3..=4 => Some(agents[1 + (n as usize % 2)]),
                    _ => None,
                };
                store
                    .create_ticket(NewTicket {
                        subject: format!("Deposit not credited #{n}"),
                        state: pick(&STATES, n, 17).into(),
                        priority: pick(&PRIORITIES, n, 71).into(),
                        channel: ["email", "chat", "web", "api"][n as usize % 4].into(),
                        language: "en".into(),
                        category: None,
                        customer: TicketCustomer::Identities {
                            display_name: identity.value(),
                            identities: vec![identity],
                            language: "en".into(),
                        },
                        group_id: Some(groups[n as usize % 3]),
                        assignee_id: assignee,
                        tags: Vec::new(),
                        crypto: Default::default(),
                        triage: None,
                        first_message: NewMessage {
                            author_kind: "customer".into(),
                            author_id: None,
                            body_text: "My USDT deposit has not arrived.".into(),
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
                        actor: Actor::System,
                    })
                    .await
                    .map_err(|e| anyhow!("seeding: {e}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Three groups and three agents (each in two groups, the first signs in with [`PASSWORD`]
/// as `bench@x.test`), for seeded tickets to belong to.
pub(crate) async fn groups_and_agents(
    s: &xdesk_service::Services,
) -> anyhow::Result<(Vec<i64>, Vec<i64>)> {
    let mut groups = Vec::new();
    for name in ["Payments", "Accounts", "Compliance"] {
        groups.push(
            s.create_group(&xdesk_service::Principal::System, name, "")
                .await
                .map_err(|e| anyhow!("{e}"))?
                .id,
        );
    }
    let mut agents = Vec::new();
    for (i, email) in ["bench@x.test", "two@x.test", "three@x.test"]
        .iter()
        .enumerate()
    {
        agents.push(
            s.create_agent(
                &xdesk_service::Principal::System,
                xdesk_service::people::CreateAgent {
                    email: (*email).into(),
                    display_name: format!("Agent {i}"),
                    role: "agent".into(),
                    password: PASSWORD.into(),
                    group_ids: vec![groups[i], groups[(i + 1) % 3]],
                },
            )
            .await
            .map_err(|e| anyhow!("{e}"))?
            .id,
        );
    }
    Ok((groups, agents))
}

/// A session token for `email`, signed in over HTTP.
pub(crate) async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    Ok(login["token"]
        .as_str()
        .ok_or_else(|| anyhow!("login: {login}"))?
        .to_owned())
}

/// Inbox pages (`views` in turn) back to back from `clients`: the client's outcome, and the
/// server's own time per page (its `Server-Timing`) in microseconds, sorted. Fails if a page
/// did.
pub(crate) async fn load_pages(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    views: &[String],
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<(crate::load::Outcome, Vec<u64>)> {
    let server_us = Arc::new(std::sync::Mutex::new(Vec::new()));
    let measure_from = Instant::now() + warmup;
    let (h, b, c, v, su) = (
        http.clone(),
        Arc::<str>::from(base),
        Arc::<str>::from(cookie),
        Arc::new(views.to_vec()),
        server_us.clone(),
    );
    let client = drive(clients, warmup, window, move |n| {
        let (h, b, c, v, su) = (h.clone(), b.clone(), c.clone(), v.clone(), su.clone());
        async move {
            let view = &v[n as usize % v.len()];
            let r = h
                .get(format!("{b}/console?view={view}"))
                .header("cookie", &*c)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("{view}: {}", r.status()));
            }
            let took = r
                .headers()
                .get("server-timing")
                .and_then(|t| t.to_str().ok())
                .and_then(|t| t.strip_prefix("app;dur="))
                .and_then(|d| d.parse::<f64>().ok())
                .ok_or("no Server-Timing")?;
            r.bytes().await.map_err(|e| e.to_string())?;
            if Instant::now() >= measure_from
                && let Ok(mut s) = su.lock()
            {
                s.push((took * 1000.0) as u64);
            }
            Ok(())
        }
    })
    .await;
    anyhow::ensure!(
        client.errors == 0,
        "page loads failed: {:?}",
        client.error_samples
    );
    let mut server_us = server_us.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    server_us.sort_unstable();
    Ok((client, server_us))
}

async fn one_db(
    db: Db,
    url: &str,
    dir: &std::path::Path,
    args: &InboxArgs,
) -> anyhow::Result<Report> {
    let running = xdesk::start(&crate::bench_config(url, dir)).await?;
    let s = running.services.clone();
    let (groups, agents) = groups_and_agents(&s).await?;
    println!("seeding {} tickets ...", args.tickets);
    let started = Instant::now();
    seed(&s.store, 0..args.tickets, &groups, &agents).await?;
    // Open tickets have a promise due (no policy runs here: the column is set directly), so
    // the SLA sort has an index to walk.
    s.store
        .execute_unprepared(
            "UPDATE tickets SET sla_due_at = created_at \
             WHERE state IN ('new', 'open', 'pending_internal')",
        )
        .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    println!("  seeded in {seed_secs:.0} s");
    // What the server's hourly refresh (and PostgreSQL's autovacuum) would have done by now,
    // so the run measures pages, not the aftermath of a bulk load.
    let t = Instant::now();
    s.store.optimize().await?;
    if matches!(db, Db::Postgres) {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(url).await?;
        conn.execute_unprepared("VACUUM (ANALYZE) tickets").await?;
        conn.execute_unprepared("CHECKPOINT").await?;
        conn.close().await?;
    }
    println!(
        "  planner statistics refreshed in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = format!(
        "xdesk_session={}",
        sign_in(&http, &base, "bench@x.test", PASSWORD).await?
    );
    // The six views in the inbox's own order, then three sorted by a column (issue 18).
    let views = [
        "mine".to_owned(),
        "unassigned".into(),
        "urgent".into(),
        "waiting".into(),
        format!("group-{}", groups[0]),
        "all".into(),
        "mine&sort=-last_customer".into(),
        "all&sort=sla".into(),
        "unassigned&sort=-updated".into(),
    ];
    // What one page load moves: the HTML and the assets it links.
    let mut page_bytes = 0;
    let page = http
        .get(format!("{base}/console?view=all"))
        .header("cookie", &cookie)
        .send()
        .await?;
    anyhow::ensure!(page.status().is_success(), "inbox: {}", page.status());
    let html = page.text().await?;
    anyhow::ensure!(
        html.contains("Deposit not credited"),
        "inbox shows no tickets"
    );
    page_bytes += html.len();
    for asset in [
        "/static/app.css",
        "/static/htmx.min.js",
        "/static/console.js",
        "/static/notify.js",
        "/static/inbox.js",
    ] {
        page_bytes += http
            .get(format!("{base}{asset}"))
            .send()
            .await?
            .bytes()
            .await?
            .len();
    }

    let (client, server_us) = load_pages(
        &http,
        &base,
        &cookie,
        &views,
        args.clients,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.seconds),
    )
    .await?;
    println!(
        "  {} pages: server p50 {:.2} ms, p99 {:.2} ms; round trip p99 {:.2} ms; page load {:.1} KB",
        client.ok,
        quantile_ms(&server_us, 0.5),
        quantile_ms(&server_us, 0.99),
        client.quantile_ms(0.99),
        page_bytes as f64 / 1024.0
    );
    let _ = running.shutdown.send(());
    let _ = running.task.await;
    Ok(Report {
        db,
        seed_secs,
        pages: client.ok,
        server_us,
        client,
        page_bytes,
    })
}
