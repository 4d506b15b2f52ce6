//! `xdesk-bench status`: the public status page and its `summary.json` under a fixed load of
//! anonymous readers (500 requests/s by default, an open loop: requests start on schedule
//! whether or not earlier ones finished, as a surge of customers does), with the demo's
//! components and history and one open incident. Latency is the client's round trip over
//! loopback; the page is cached per status revision, so a request costs a revision check.

use crate::load::quantile_ms;
use crate::{Db, DbChoice, each_fresh_database, print_machine};
use anyhow::anyhow;
use clap::Args;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xdesk_service::Principal;
use xdesk_service::incidents::IncidentSpec;

#[derive(Args, Clone)]
pub struct StatusArgs {
    /// Requests per second, half to `/status`, half to `/status/summary.json`.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

struct Report {
    db: Db,
    /// Per path: sorted latencies (µs) inside the window, errors, bytes of one answer.
    paths: Vec<(&'static str, Vec<u64>, u64, usize)>,
    achieved: f64,
}

const PATHS: [&str; 2] = ["/status", "/status/summary.json"];

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let reports = each_fresh_database(args.db.dbs(), &args.pg_url, async |db, url, dir| {
        one_db(db, url, dir, &args).await
    })
    .await?;
    println!();
    println!("## Status page at {} requests/s", args.rate);
    println!();
    println!(
        "Anonymous readers, an open loop at {} requests/s (alternating `/status` and `/status/summary.json`) for {} s after {} s warm-up, over loopback; the demo's 14 components, two past incidents, a maintenance and one open incident.",
        args.rate, args.seconds, args.warmup
    );
    println!();
    println!(
        "| database | path | requests | achieved req/s | p50 ms | p99 ms | max ms | errors | KB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        for (path, lat, errors, bytes) in &r.paths {
            println!(
                "| {} | `{}` | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
                r.db.name(),
                path,
                lat.len(),
                r.achieved,
                quantile_ms(lat, 0.5),
                quantile_ms(lat, 0.99),
                lat.last().map_or(f64::NAN, |&u| u as f64 / 1000.0),
                errors,
                *bytes as f64 / 1024.0
            );
        }
    }
    println!();
    print_machine();
    Ok(())
}

async fn one_db(
    db: Db,
    url: &str,
    dir: &std::path::Path,
    args: &StatusArgs,
) -> anyhow::Result<Report> {
    let running = xdesk::start(&crate::bench_config(url, dir)).await?;
    let s = running.services.clone();
    xdesk::demo::seed_status_page(&s).await?;
    let tron = s
        .list_components(&Principal::System)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .into_iter()
        .find(|c| c.network.as_deref() == Some("tron"))
        .ok_or_else(|| anyhow!("the demo has no TRON component"))?
        .id;
    s.create_incident(
        &Principal::System,
        IncidentSpec {
            title: "TRON deposits delayed".into(),
            title_zh: "波场充值延迟".into(),
            body: "Deposits on TRON arrive late; funds are safe.".into(),
            body_zh: "波场充值到账延迟，资产安全。".into(),
            components: vec![(tron, "partial_outage".into())],
            ..Default::default()
        },
        None,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let mut sizes = Vec::new();
    for p in PATHS {
        sizes.push(
            http.get(format!("{base}{p}"))
                .send()
                .await?
                .bytes()
                .await?
                .len(),
        );
    }
    let lat: Arc<Mutex<[Vec<u64>; 2]>> = Arc::default();
    let errors: Arc<Mutex<[u64; 2]>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.seconds);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n = 0usize;
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < end {
        tick.tick().await;
        let which = n % 2;
        n += 1;
        let (http, url, lat, errors) = (
            http.clone(),
            format!("{base}{}", PATHS[which]),
            lat.clone(),
            errors.clone(),
        );
        tasks.spawn(async move {
            let t0 = Instant::now();
            let ok = match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            let t1 = Instant::now();
            if !ok {
                if let Ok(mut e) = errors.lock() {
                    e[which] += 1;
                }
            } else if t0 >= measure_from
                && t1 <= end
                && let Ok(mut l) = lat.lock()
            {
                l[which].push(u64::try_from((t1 - t0).as_micros()).unwrap_or(u64::MAX));
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let _ = running.shutdown.send(());
    let _ = running.task.await;
    let mut lat = lat.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    let errors = *errors.lock().map_err(|_| anyhow!("poisoned"))?;
    for l in lat.iter_mut() {
        l.sort_unstable();
    }
    let total: usize = lat.iter().map(Vec::len).sum();
    let [a, b] = lat;
    Ok(Report {
        db,
        achieved: total as f64 / args.seconds as f64,
        paths: vec![
            (PATHS[0], a, errors[0], sizes[0]),
            (PATHS[1], b, errors[1], sizes[1]),
        ],
    })
}
