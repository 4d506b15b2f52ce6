//! `xdesk-bench sla`: SLA timers on one node. 100,000 pending timers (due tomorrow) while the
//! node's timer loop polls every second: the process's CPU time over the idle period. Then
//! 10,000 tickets whose first-response promise comes due in the same minute: the time one node
//! takes to fire every breach (event written, priority raised) once they are due.

use crate::{Db, DbChoice, each_fresh_database};
use chrono::Duration;
use clap::Args;
use std::time::Instant;
use xdesk_domain::sla::{Calendar, Clock};
use xdesk_service::Services;
use xdesk_service::sla::{FIRST_RESPONSE, WARN_SHARE};
use xdesk_store::{ClockWrite, NewSlaPolicy, SLA_JOB, Store};

#[derive(Args)]
pub struct SlaArgs {
    /// Pending timers while idle.
    #[arg(long, default_value_t = 100_000)]
    idle: u64,
    /// Tickets due in the same minute.
    #[arg(long, default_value_t = 10_000)]
    due: u64,
    /// Idle seconds measured.
    #[arg(long, default_value_t = 30)]
    idle_seconds: u64,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// CPU seconds this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

struct Report {
    db: Db,
    idle: u64,
    idle_cpu_pct: f64,
    idle_claimed: usize,
    due: u64,
    seed_s: f64,
    fire_s: f64,
    fired: usize,
}

/// The node's timer loop, as `xdesk serve` runs it: every second, batches of 500 until none.
async fn tick(services: &Services) -> anyhow::Result<(usize, usize)> {
    let (mut claimed, mut fired) = (0, 0);
    loop {
        let run = services
            .run_sla_timers(500)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        claimed += run.claimed;
        fired += run.fired;
        if run.claimed < 500 {
            return Ok((claimed, fired));
        }
    }
}

async fn one(db: Db, args: &SlaArgs, url: &str, dir: &std::path::Path) -> anyhow::Result<Report> {
    let store = Store::connect(url, dir).await?;
    store.migrate().await?;
    let services = Services::new(store.clone(), Default::default());
    let policy = store
        .add_sla_policy(NewSlaPolicy {
            name: "bench".into(),
            first_response_minutes: 60,
            next_response_minutes: 60,
            resolution_minutes: 24 * 60,
            ..Default::default()
        })
        .await?;
    let now = services.now();
    let cal = Calendar::Always;
    let write = |target: Duration| {
        let c = Clock::start(now, target);
        ClockWrite {
            kind: FIRST_RESPONSE.into(),
            policy_id: policy.id,
            calendar_id: None,
            target_secs: c.target.num_seconds(),
            used_secs: 0,
            running_since: c.running_since,
            met_at: None,
            due_at: c.due(&cal),
            warn_at: c.warn_at(&cal, WARN_SHARE),
        }
    };
    // Idle timers: clocks of tickets due tomorrow (the rows a busy desk has waiting).
    let started = Instant::now();
    let idle_clock = [write(Duration::hours(30))];
    for chunk in (0..args.idle).collect::<Vec<_>>().chunks(256) {
        let saves = chunk
            .iter()
            .map(|n| store.save_sla_clocks(10_000_000 + *n as i64, &idle_clock));
        for r in futures_util::future::join_all(saves).await {
            r?;
        }
    }
    println!(
        "{}: {} idle timers stored in {:.1} s",
        db.name(),
        store.pending_jobs(SLA_JOB).await?,
        started.elapsed().as_secs_f64()
    );
    // Let the database settle after the bulk load (SQLite checkpoints its log) before measuring.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        tick(&services).await?;
    }
    let cpu0 = cpu_seconds();
    let mut idle_claimed = 0;
    for _ in 0..args.idle_seconds {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        idle_claimed += tick(&services).await?.0;
    }
    let idle_cpu_pct = (cpu_seconds() - cpu0) / args.idle_seconds as f64 * 100.0;

    // Tickets whose promise comes due in the same minute.
    let started = Instant::now();
    let due_clock = [write(Duration::minutes(60))];
    for chunk in (0..args.due).collect::<Vec<_>>().chunks(64) {
        let writes = chunk
            .iter()
            .map(|n| crate::store_ticket(&store, xdesk_domain::event::Actor::System, *n));
        for r in futures_util::future::join_all(writes).await {
            r.map_err(|e| anyhow::anyhow!("seeding: {e}"))?;
        }
    }
    for chunk in (1..=args.due as i64).collect::<Vec<_>>().chunks(256) {
        let saves = chunk
            .iter()
            .map(|id| store.save_sla_clocks(*id, &due_clock));
        for r in futures_util::future::join_all(saves).await {
            r?;
        }
    }
    let seed_s = started.elapsed().as_secs_f64();
    // The minute comes: every one of them is due now.
    services.advance_clock(Duration::minutes(61));
    let started = Instant::now();
    let mut fired = 0;
    while fired < args.due as usize {
        let (claimed, f) = tick(&services).await?;
        fired += f;
        if claimed == 0 && f == 0 {
            break;
        }
    }
    let fire_s = started.elapsed().as_secs_f64();
    Ok(Report {
        db,
        idle: args.idle,
        idle_cpu_pct,
        idle_claimed,
        due: args.due,
        seed_s,
        fire_s,
        fired,
    })
}

pub async fn run(args: SlaArgs) -> anyhow::Result<()> {
    let reports = each_fresh_database(args.db.dbs(), &args.pg_url, async |db, url, dir| {
        one(db, &args, url, dir).await
    })
    .await?;
    println!("\n## SLA timers on one node\n");
    println!(
        "| database | idle timers | idle CPU % (timer loop, {} s) | claimed while idle | due in one minute | fired | fire s | timers/s |",
        args.idle_seconds
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        println!(
            "| {} | {} | {:.2} | {} | {} | {} | {:.1} | {:.0} |",
            r.db.name(),
            r.idle,
            r.idle_cpu_pct,
            r.idle_claimed,
            r.due,
            r.fired,
            r.fire_s,
            r.fired as f64 / r.fire_s
        );
        println!(
            "({}: seeding {} due tickets and their clocks took {:.1} s)",
            r.db.name(),
            r.due,
            r.seed_s
        );
    }
    println!();
    crate::print_machine();
    Ok(())
}
