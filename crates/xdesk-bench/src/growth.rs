//! `xdesk-bench growth`: how ticket creation, the inbox page and ticket search cost as tickets
//! pile up. One server per database, configured as the demo (its groups, SLA policies and
//! default route); tickets are added through the store up to each size in turn (0, 100,000,
//! 1,000,000 by default), the search index catches up and the planner statistics are
//! refreshed, then the three are measured over HTTP against that many stored tickets.

use crate::inbox::{PASSWORD, groups_and_agents, load_pages, seed, sign_in};
use crate::load::{Outcome, drive, quantile_ms};
use crate::{Db, DbChoice, each_fresh_database, post_ticket, print_machine};
use anyhow::anyhow;
use clap::Args;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct GrowthArgs {
    /// Tickets stored before each measurement, ascending.
    #[arg(long, value_delimiter = ',', default_values_t = [0_u64, 100_000, 1_000_000])]
    sizes: Vec<u64>,
    /// Measured seconds of each of the three loads.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Clients creating tickets (pages and searches use 2).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// Clients loading inbox pages and searching.
const READERS: usize = 2;

struct Row {
    db: Db,
    stored: u64,
    seed_secs: f64,
    create: Outcome,
    /// Server time per inbox page (its `Server-Timing`), microseconds, sorted.
    inbox_us: Vec<u64>,
    /// A ticket number: a handful of hits.
    search_rare: Outcome,
    /// A word every seeded ticket holds.
    search_common: Outcome,
}

pub async fn run(args: GrowthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sizes.windows(2).all(|w| w[0] <= w[1]),
        "--sizes must be ascending"
    );
    let rows: Vec<Row> = each_fresh_database(args.db.dbs(), &args.pg_url, async |db, url, dir| {
        one_db(db, url, dir, &args).await
    })
    .await?
    .into_iter()
    .flatten()
    .collect();
    println!();
    println!("## Cost as tickets pile up");
    println!();
    println!(
        "Configured as the demo. At each size: ticket creation by {} clients (POST /api/v1/tickets), then {READERS} clients loading the inbox (all open, mine, unassigned in turn; server time from Server-Timing), then {READERS} clients searching tickets (GET /api/v1/tickets/search, round trip) for a ticket number (a few hits) and for a word every seeded ticket holds; {} s each after {} s warm-up.",
        args.clients, args.seconds, args.warmup
    );
    println!();
    println!(
        "| database | tickets stored | seeded in s | create tickets/s | create p99 ms | inbox p50 ms | inbox p99 ms | search number p50 / p99 ms | search common word p50 / p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.1} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} |",
            r.db.name(),
            r.stored,
            r.seed_secs,
            r.create.per_second(),
            r.create.quantile_ms(0.99),
            quantile_ms(&r.inbox_us, 0.5),
            quantile_ms(&r.inbox_us, 0.99),
            r.search_rare.quantile_ms(0.5),
            r.search_rare.quantile_ms(0.99),
            r.search_common.quantile_ms(0.5),
            r.search_common.quantile_ms(0.99),
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
    args: &GrowthArgs,
) -> anyhow::Result<Vec<Row>> {
    let mut config = crate::bench_config(url, dir);
    config.routing.default_group = Some(xdesk::demo::DEFAULT_GROUP.into());
    let running = xdesk::start(&config).await?;
    let s = running.services.clone();
    xdesk::demo::seed(&s).await?;
    let (groups, agents) = groups_and_agents(&s).await?;
    let (_, key) = s
        .create_api_key("bench", &[])
        .await
        .map_err(|e| anyhow!("creating the API key: {e}"))?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let cookie = format!(
        "xdesk_session={}",
        sign_in(&http, &base, "bench@x.test", PASSWORD).await?
    );
    let auth = format!("Bearer {key}");
    let warmup = Duration::from_secs(args.warmup);
    let window = Duration::from_secs(args.seconds);
    // HTTP tickets are numbered apart from the seeded ones.
    let mut posted = 1_u64 << 40;
    let mut stored = 0;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let started = Instant::now();
        if size > stored {
            println!("seeding tickets {stored}..{size} ...");
            seed(&s.store, stored..size, &groups, &agents).await?;
            stored = size;
        }
        // The index catches up and the planner knows the tables, as hours after a bulk load.
        s.follow_ticket_feed()
            .await
            .map_err(|e| anyhow!("indexing: {e}"))?;
        s.store.optimize().await?;
        if matches!(db, Db::Postgres) {
            use sea_orm::ConnectionTrait;
            let conn = sea_orm::Database::connect(url).await?;
            conn.execute_unprepared("VACUUM (ANALYZE)").await?;
            conn.execute_unprepared("CHECKPOINT").await?;
            conn.close().await?;
        }
        let seed_secs = started.elapsed().as_secs_f64();
        println!("  {stored} stored, ready in {seed_secs:.0} s");

        let (h, u, a) = (
            http.clone(),
            Arc::<str>::from(format!("{base}/api/v1/tickets")),
            Arc::<str>::from(auth.as_str()),
        );
        let from = posted;
        let create = drive(args.clients, warmup, window, move |n| {
            let (h, u, a) = (h.clone(), u.clone(), a.clone());
            async move { post_ticket(&h, &u, &a, from + n).await }
        })
        .await;
        posted += 1 << 30;
        println!(
            "  create: {:.0}/s, p99 {:.1} ms, {} errors {:?}",
            create.per_second(),
            create.quantile_ms(0.99),
            create.errors,
            create.error_samples
        );

        let views = ["all", "mine", "unassigned"].map(String::from);
        let (_, inbox_us) =
            load_pages(&http, &base, &cookie, &views, READERS, warmup, window).await?;
        println!(
            "  inbox: p50 {:.2} ms, p99 {:.2} ms",
            quantile_ms(&inbox_us, 0.5),
            quantile_ms(&inbox_us, 0.99)
        );
        let span = stored.max(1);
        let search_rare = search(&http, &base, &auth, warmup, window, move |n| {
            // Spread over the stored tickets by a multiplicative hash.
            (n.wrapping_mul(2_654_435_761) % span).to_string()
        })
        .await?;
        let search_common = search(&http, &base, &auth, warmup, window, |_| {
            "deposit".to_owned()
        })
        .await?;
        println!(
            "  search: number p50 {:.2} / p99 {:.2} ms; common word p50 {:.2} / p99 {:.2} ms",
            search_rare.quantile_ms(0.5),
            search_rare.quantile_ms(0.99),
            search_common.quantile_ms(0.5),
            search_common.quantile_ms(0.99)
        );
        rows.push(Row {
            db,
            stored,
            seed_secs,
            create,
            inbox_us,
            search_rare,
            search_common,
        });
    }
    let _ = running.shutdown.send(());
    let _ = running.task.await;
    Ok(rows)
}

/// One ticket search over HTTP, its answer read whole.
pub(crate) async fn search_once(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    q: &str,
) -> Result<(), String> {
    let r = http
        .get(format!("{base}/api/v1/tickets/search"))
        .query(&[("q", q)])
        .header(reqwest::header::AUTHORIZATION, auth)
        .send()
        .await;
    answered(r, "search").await
}

/// Ok when a request was answered with a success, its body read whole.
pub(crate) async fn answered(
    r: Result<reqwest::Response, reqwest::Error>,
    what: &str,
) -> Result<(), String> {
    let r = r.map_err(|e| format!("{what}: {e}"))?;
    let status = r.status();
    r.bytes().await.map_err(|e| format!("{what}: {e}"))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{what}: {status}"))
    }
}

/// Ticket searches back to back from [`READERS`] clients, the `n`-th asking `query(n)`.
async fn search(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    warmup: Duration,
    window: Duration,
    query: impl Fn(u64) -> String + Send + Sync + 'static,
) -> anyhow::Result<Outcome> {
    let query = Arc::new(query);
    let (h, b, a) = (http.clone(), Arc::<str>::from(base), Arc::<str>::from(auth));
    let outcome = drive(READERS, warmup, window, move |n| {
        let (h, b, a, q) = (h.clone(), b.clone(), a.clone(), query.clone());
        async move { search_once(&h, &b, &a, &q(n)).await }
    })
    .await;
    anyhow::ensure!(
        outcome.errors == 0,
        "searches failed: {:?}",
        outcome.error_samples
    );
    Ok(outcome)
}
