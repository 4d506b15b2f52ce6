//! `xdesk-bench triage`: what triage costs per new ticket on this machine. The model is
//! trained from the shipped examples (timed), then every held-out text is classified and its
//! language detected, round after round, one at a time: per-ticket latency p50/p99/max.

use clap::Args;
use std::time::Instant;
use xdesk_domain::triage::{Classifier, UrgentAmounts, builtin_examples, parse_examples, triage};

#[derive(Args)]
pub struct TriageArgs {
    /// Rounds over the held-out texts.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

pub fn run(args: TriageArgs) -> anyhow::Result<()> {
    let examples = builtin_examples()?;
    let start = Instant::now();
    let model = Classifier::train(&examples);
    let train_s = start.elapsed().as_secs_f64();
    let held = parse_examples(include_str!("../../xdesk-domain/data/triage/heldout.tsv"))?;
    let limits = UrgentAmounts::default();
    // Warm-up: jieba's dictionary loads on first use.
    for h in held.iter().take(10) {
        let _ = triage(&model, &h.text, None, None, &limits);
    }
    let mut lat = Vec::with_capacity(held.len() * args.rounds);
    for _ in 0..args.rounds {
        for h in &held {
            let t = Instant::now();
            let r = triage(&model, &h.text, None, None, &limits);
            lat.push(t.elapsed().as_nanos() as u64);
            std::hint::black_box(r);
        }
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1e6;
    println!("\n## Triage\n");
    println!(
        "Training: {} examples in {:.2} s. Triage (intent, language, urgency) of {} tickets, one at a time: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({:.0} tickets/s on one core)",
        examples.len(),
        train_s,
        lat.len(),
        q(0.5),
        q(0.99),
        lat.last().copied().unwrap_or(0) as f64 / 1e6,
        lat.len() as f64 / (lat.iter().sum::<u64>() as f64 / 1e9)
    );
    println!();
    crate::print_machine();
    Ok(())
}
