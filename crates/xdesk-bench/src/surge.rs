//! `xdesk-bench surge`: how soon surge detection (`xdesk_domain::surge`) catches a burst, and
//! how often ordinary traffic raises a false alarm. Pure simulation, no server: for each seed,
//! eight days of ordinary tickets are generated (a realistic mix of intents, networks and assets,
//! texts from the labelled triage examples, triage mistakes, a day-night cycle, busy and quiet
//! stretches), the detector runs every minute of the eighth day exactly as the service runs it
//! (baseline of the week before re-read hourly, words from a sample of the newest 3,000
//! tickets, running surges not raised again, ended after 30 quiet minutes), once on the
//! ordinary day alone (every raise is a false alarm) and once with surges of various sizes
//! injected (detection latency from each surge's first ticket).

use chrono::{DateTime, Duration, Timelike, Utc};
use clap::Args;
use std::collections::HashMap;
use xdesk_domain::surge::{self, Baseline, Fact, Settings, SurgeKey, Term};
use xdesk_domain::triage::{Example, Intent, builtin_examples, parse_examples};

#[derive(Args)]
pub struct SurgeArgs {
    /// Seeds, one simulated desk each (comma-separated).
    #[arg(long, default_value = "101,102,103,104,105,106,107,108,109,110")]
    seeds: String,
    /// Ordinary tickets per day, on average (comma-separated: one run per volume).
    #[arg(long, default_value = "500,3000,20000")]
    per_day: String,
    /// Override the detector's minimum count (default: the shipped setting).
    #[arg(long)]
    min_count: Option<u32>,
    /// Override the detector's minimum ratio over expectation.
    #[arg(long)]
    min_ratio: Option<f64>,
    /// Override the detector's largest p-value.
    #[arg(long)]
    max_p: Option<f64>,
}

/// SplitMix64: small, fast, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos()
    }
    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let l = (-lambda).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
    fn pick<'a, T>(&mut self, weighted: &'a [(T, f64)]) -> &'a T {
        let total: f64 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.unit() * total;
        for (v, w) in weighted {
            if x < *w {
                return v;
            }
            x -= w;
        }
        &weighted[weighted.len() - 1].0
    }
}

/// What exchanges' support desks hear, roughly: shares of intents.
const INTENTS: &[(Intent, f64)] = &[
    (Intent::DepositMissing, 22.0),
    (Intent::WithdrawalDelayed, 18.0),
    (Intent::AccountAccess, 8.0),
    (Intent::TwoFactorReset, 6.0),
    (Intent::Kyc, 12.0),
    (Intent::AccountCompromised, 2.0),
    (Intent::CardFiatPayment, 6.0),
    (Intent::TradingOrder, 8.0),
    (Intent::Fees, 4.0),
    (Intent::Api, 2.0),
    (Intent::P2pDispute, 4.0),
    (Intent::ScamReport, 2.0),
    (Intent::Feedback, 3.0),
    (Intent::Other, 3.0),
];

/// A network and the assets sent over it, weighted.
type NetworkMix = (&'static str, &'static [(&'static str, f64)]);

/// Networks of deposits and withdrawals, with the assets sent over each.
const NETWORKS: &[(NetworkMix, f64)] = &[
    (("tron", &[("USDT", 90.0), ("TRX", 10.0)]), 35.0),
    (
        ("ethereum", &[("ETH", 50.0), ("USDT", 30.0), ("USDC", 20.0)]),
        20.0,
    ),
    (("bitcoin", &[("BTC", 100.0)]), 15.0),
    (("bsc", &[("USDT", 60.0), ("BNB", 40.0)]), 12.0),
    (("solana", &[("SOL", 60.0), ("USDC", 40.0)]), 8.0),
    (("xrp", &[("XRP", 100.0)]), 4.0),
    (("ton", &[("TON", 100.0)]), 3.0),
    (("polygon", &[("USDT", 50.0), ("POL", 50.0)]), 3.0),
];

/// Share of tickets triage files under another intent.
const TRIAGE_MISTAKES: f64 = 0.10;

struct Texts {
    by_intent: HashMap<Intent, Vec<String>>,
}

impl Texts {
    fn load() -> anyhow::Result<Texts> {
        let mut all: Vec<Example> = builtin_examples()?;
        all.extend(parse_examples(include_str!(
            "../../xdesk-domain/data/triage/heldout.tsv"
        ))?);
        let mut by_intent: HashMap<Intent, Vec<String>> = HashMap::new();
        for e in all {
            by_intent.entry(e.intent).or_default().push(e.text);
        }
        Ok(Texts { by_intent })
    }
    fn text(&self, rng: &mut Rng, intent: Intent) -> &str {
        self.by_intent
            .get(&intent)
            .filter(|v| !v.is_empty())
            .map_or("", |v| v[rng.below(v.len())].as_str())
    }
}

/// A generated ticket; `surge` names the injected surge it belongs to.
struct Ticket {
    fact: Fact,
    surge: Option<usize>,
}

fn ticket(
    rng: &mut Rng,
    texts: &Texts,
    id: i64,
    at: DateTime<Utc>,
    intent: Intent,
    crypto: Option<(&str, &str)>,
    extra: &str,
) -> Fact {
    let text = format!("{} {extra}", texts.text(rng, intent));
    // Triage is sometimes wrong: the ticket is filed under another intent.
    let filed = if rng.unit() < TRIAGE_MISTAKES {
        *rng.pick(INTENTS)
    } else {
        intent
    };
    let terms: Vec<Term> = surge::terms(&text);
    Fact::new(
        id,
        at,
        Some(filed),
        crypto.map(|c| c.0),
        crypto.map(|c| c.1),
        terms,
    )
}

fn crypto_for(rng: &mut Rng, intent: Intent) -> Option<(&'static str, &'static str)> {
    let funds = matches!(intent, Intent::DepositMissing | Intent::WithdrawalDelayed);
    if !funds && rng.unit() > 0.1 {
        return None;
    }
    let (network, assets) = *rng.pick(NETWORKS);
    Some((network, *rng.pick(assets)))
}

/// How busy an hour of the day is: quiet at night (UTC 20-04 here), busiest in the afternoon,
/// four to one from peak to trough.
fn diurnal(t: DateTime<Utc>) -> f64 {
    let h = t.hour() as f64 + t.minute() as f64 / 60.0;
    1.0 + 0.6 * ((h - 8.0) / 24.0 * 2.0 * std::f64::consts::PI).sin()
}

/// Eight days of ordinary tickets ending at `end`: a Poisson stream whose rate follows the day,
/// each day ±15 %, and each ten minutes a busier or quieter stretch (log-normal, σ 0.35),
/// burstier than Poisson as real queues are.
fn ordinary(rng: &mut Rng, texts: &Texts, per_day: f64, end: DateTime<Utc>) -> Vec<Ticket> {
    let start = end - Duration::days(8);
    let mut out = Vec::new();
    let mut id = 0;
    let mut day_factor = 1.0;
    let mut stretch = 1.0;
    for m in 0..(8 * 24 * 60) {
        let t = start + Duration::minutes(m);
        if m % (24 * 60) == 0 {
            day_factor = 1.0 + 0.15 * (2.0 * rng.unit() - 1.0);
        }
        if m % 10 == 0 {
            stretch = (0.35 * rng.normal() - 0.35 * 0.35 / 2.0).exp();
        }
        let lambda = per_day / 1440.0 * diurnal(t) * day_factor * stretch;
        for _ in 0..rng.poisson(lambda) {
            id += 1;
            let at = t + Duration::milliseconds((rng.unit() * 60_000.0) as i64);
            let intent = *rng.pick(INTENTS);
            let crypto = crypto_for(rng, intent);
            out.push(Ticket {
                fact: ticket(rng, texts, id, at, intent, crypto, ""),
                surge: None,
            });
        }
    }
    out
}

/// An injected surge: how many tickets over how many minutes, and about what.
#[derive(Clone, Copy)]
struct Injected {
    count: usize,
    minutes: i64,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    /// Deposits of one asset on one network stop arriving.
    Funds(Intent, &'static str, &'static str),
    /// A new word across intents (a promotion, an outage's name).
    Word(&'static str),
}

const INJECTED: &[Injected] = &[
    Injected {
        count: 12,
        minutes: 20,
        kind: Kind::Funds(Intent::DepositMissing, "solana", "SOL"),
    },
    Injected {
        count: 15,
        minutes: 30,
        kind: Kind::Word("megadrop"),
    },
    Injected {
        count: 20,
        minutes: 10,
        kind: Kind::Funds(Intent::WithdrawalDelayed, "bitcoin", "BTC"),
    },
    Injected {
        count: 30,
        minutes: 15,
        kind: Kind::Funds(Intent::DepositMissing, "tron", "USDT"),
    },
    Injected {
        count: 40,
        minutes: 60,
        kind: Kind::Word("跨链桥"),
    },
    Injected {
        count: 100,
        minutes: 45,
        kind: Kind::Funds(Intent::DepositMissing, "tron", "USDT"),
    },
];

/// Adds the injected surges to the evaluated day, spaced over it; returns their start times.
fn inject(
    rng: &mut Rng,
    texts: &Texts,
    tickets: &mut Vec<Ticket>,
    day: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut id = 1_000_000;
    let slot = 24 * 60 / INJECTED.len() as i64;
    let mut starts = Vec::new();
    for (n, s) in INJECTED.iter().enumerate() {
        // Anywhere in its slot, with room to end before the next one starts.
        let start = day
            + Duration::minutes(
                n as i64 * slot + 60 + rng.below((slot - s.minutes - 120) as usize) as i64,
            );
        let mut times: Vec<DateTime<Utc>> = (0..s.count)
            .map(|_| start + Duration::seconds((rng.unit() * s.minutes as f64 * 60.0) as i64))
            .collect();
        times.sort();
        starts.push(times[0]);
        for at in times {
            id += 1;
            let fact = match s.kind {
                Kind::Funds(intent, network, asset) => {
                    ticket(rng, texts, id, at, intent, Some((network, asset)), "")
                }
                Kind::Word(w) => {
                    let intent = *rng.pick(INTENTS);
                    let crypto = crypto_for(rng, intent);
                    ticket(rng, texts, id, at, intent, crypto, w)
                }
            };
            tickets.push(Ticket {
                fact,
                surge: Some(n),
            });
        }
    }
    starts
}

/// A raise: when, and which injected surge most of its tickets belong to (None: false alarm).
struct Raise {
    at: DateTime<Utc>,
    surge: Option<usize>,
    summary: String,
}

/// Runs the detector every minute of `[day, day + 1 day)` as the service does.
fn run_day(tickets: &[Ticket], day: DateTime<Utc>, s: &Settings) -> Vec<Raise> {
    let facts: Vec<&Fact> = tickets.iter().map(|t| &t.fact).collect();
    let injected: HashMap<i64, usize> = tickets
        .iter()
        .filter_map(|t| t.surge.map(|n| (t.fact.id, n)))
        .collect();
    let slice = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let a = facts.partition_point(|f| f.at < from);
        let b = facts.partition_point(|f| f.at < to);
        &facts[a..b]
    };
    let mut baseline: Option<(DateTime<Utc>, Baseline)> = None;
    let mut running: HashMap<SurgeKey, DateTime<Utc>> = HashMap::new();
    let mut raises = Vec::new();
    for m in 1..=(24 * 60) {
        let now = day + Duration::minutes(m);
        let windows_from = now - s.longest_window();
        if baseline
            .as_ref()
            .is_none_or(|(to, _)| windows_from - *to >= Duration::minutes(60))
        {
            let from = windows_from - Duration::days(7);
            let week = slice(from, windows_from);
            let sample = &week[week.len().saturating_sub(3_000)..];
            let b = Baseline::new(week.iter().copied(), from, windows_from).with_terms(
                sample.iter().copied(),
                from,
                windows_from,
            );
            baseline = Some((windows_from, b));
        }
        let Some((_, b)) = baseline.as_ref() else {
            continue;
        };
        let recent = slice(windows_from, now + Duration::seconds(1));
        let active: Vec<SurgeKey> = running.keys().cloned().collect();
        let found = surge::detect(recent.iter().copied(), b, &active, now, s);
        for k in found.running {
            running.insert(k, now);
        }
        running.retain(|_, seen| now - *seen < Duration::minutes(30));
        for x in found.new {
            running.insert(x.key.clone(), now);
            let mut votes: HashMap<usize, usize> = HashMap::new();
            for id in &x.ticket_ids {
                if let Some(n) = injected.get(id) {
                    *votes.entry(*n).or_default() += 1;
                }
            }
            let surge = votes
                .into_iter()
                .max_by_key(|(_, c)| *c)
                .filter(|(_, c)| *c * 2 >= x.ticket_ids.len())
                .map(|(n, _)| n);
            raises.push(Raise {
                at: now,
                surge,
                summary: x.summary_en(),
            });
        }
    }
    raises
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub fn run(args: SurgeArgs) -> anyhow::Result<()> {
    let seeds: Vec<u64> = args
        .seeds
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let volumes: Vec<f64> = args
        .per_day
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let texts = Texts::load()?;
    let mut settings = Settings::default();
    if let Some(n) = args.min_count {
        settings.min_count = n;
    }
    if let Some(r) = args.min_ratio {
        settings.min_ratio = r;
    }
    if let Some(p) = args.max_p {
        settings.max_p = p;
    }
    let end: DateTime<Utc> = "2026-12-08T00:00:00Z".parse()?;
    let day = end - Duration::days(1);
    println!("\n## Surge detection\n");
    println!(
        "Per volume: {} seeds, each 7 days of history and 1 evaluated day, the detector run every minute (min count {}, min ratio {}, max p {:e}).\n",
        seeds.len(),
        settings.min_count,
        settings.min_ratio,
        settings.max_p
    );
    println!(
        "| tickets/day | false alarms/day (ordinary day) | surge | detected | latency p50 / max (min) |"
    );
    println!("|---|---|---|---|---|");
    for per_day in volumes {
        let started = std::time::Instant::now();
        let mut false_alarms = 0usize;
        let mut injected_false = 0usize;
        let mut examples = Vec::new();
        let mut latency: Vec<Vec<f64>> = vec![Vec::new(); INJECTED.len()];
        let mut detected = vec![0usize; INJECTED.len()];
        for &seed in &seeds {
            let mut rng = Rng(seed);
            let mut tickets = ordinary(&mut rng, &texts, per_day, end);
            // The ordinary day alone: anything raised is a false alarm.
            for r in run_day(&tickets, day, &settings) {
                false_alarms += 1;
                examples.push(format!(
                    "seed {seed} {}: {}",
                    r.at.format("%H:%M"),
                    r.summary
                ));
            }
            let starts = inject(&mut rng, &texts, &mut tickets, day);
            tickets.sort_by_key(|t| (t.fact.at, t.fact.id));
            let mut first = vec![None; INJECTED.len()];
            for r in run_day(&tickets, day, &settings) {
                match r.surge {
                    Some(n) if first[n].is_none() => first[n] = Some(r.at),
                    Some(_) => {}
                    None => injected_false += 1,
                }
            }
            for (n, at) in first.into_iter().enumerate() {
                if let Some(at) = at {
                    detected[n] += 1;
                    latency[n].push((at - starts[n]).num_seconds() as f64 / 60.0);
                }
            }
        }
        let days = seeds.len() as f64;
        for (n, s) in INJECTED.iter().enumerate() {
            let what = match s.kind {
                Kind::Funds(i, net, a) => format!("{a} {} on {net}", i.as_str()),
                Kind::Word(w) => format!("word “{w}”"),
            };
            let mut l = latency[n].clone();
            let took = if l.is_empty() {
                "–".to_owned()
            } else {
                format!(
                    "{:.0} / {:.0}",
                    quantile(&mut l, 0.5),
                    quantile(&mut l, 1.0)
                )
            };
            println!(
                "| {per_day:.0} | {} | {} in {} min: {what} | {}/{} | {took} |",
                if n == 0 {
                    format!(
                        "{:.2} ({false_alarms} in {days:.0} days; {injected_false} more on the days with surges)",
                        false_alarms as f64 / days
                    )
                } else {
                    String::new()
                },
                s.count,
                s.minutes,
                detected[n],
                seeds.len()
            );
        }
        for e in examples.iter().take(5) {
            eprintln!("false alarm at {per_day:.0}/day: {e}");
        }
        eprintln!(
            "{per_day:.0} tickets/day: {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    println!();
    crate::print_machine();
    Ok(())
}
