//! The short fuzz run CI does (`cargo test --workspace`): every target, a few thousand inputs
//! each, seeds and 64 KiB worst cases included. The long run is the `xdesk-fuzz` binary (see
//! docs/BENCHMARKS.md, "Fuzzing").
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};
use xdesk_fuzz::{Config, fastest_of, run, targets};

/// Inputs per target: `XDESK_FUZZ_INPUTS`, else 3,000.
fn inputs() -> u64 {
    std::env::var("XDESK_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

#[test]
fn every_target_survives_a_short_run() {
    let mut failures = Vec::new();
    let started = Instant::now();
    for t in targets::all() {
        let r = run(&t, &Config::new(inputs(), 20_261_207));
        println!(
            "{:<24} {:>6} inputs {:>8.0}/s slowest {:?} ({} bytes)",
            t.name,
            r.inputs,
            r.per_second(),
            r.slowest,
            r.slowest_len
        );
        failures.extend(r.failures.iter().map(ToString::to_string));
    }
    println!("{:?} in all", started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// This thread's CPU time (Linux), so a busy machine does not skew the comparison; None
/// elsewhere.
fn cpu() -> Option<Duration> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
}

/// The fastest of three runs of `f` on `data`, `times` times each (CPU time where available).
fn cost(f: fn(&[u8]), data: &[u8], times: usize) -> Duration {
    (0..3)
        .map(|_| {
            let (c, t) = (cpu(), Instant::now());
            for _ in 0..times {
                let _ = fastest_of(f, data, 1);
            }
            match (c, cpu()) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => t.elapsed(),
            }
        })
        .min()
        .unwrap_or(Duration::ZERO)
}

/// The secret scanner stays linear: each adversarial text at 64 KiB costs about what its first
/// 8 KiB cost 8 times over. A quadratic scan would cost 8 times that; the bound (3x) leaves
/// room for noise (timer ticks, caches) without letting a quadratic scan pass.
#[test]
fn secret_scanner_is_linear() {
    let scan = targets::by_name("secret_scanner").unwrap().run;
    let mut slow = Vec::new();
    for ((name, small), (_, large)) in targets::secret_worst_cases(8 * 1024)
        .into_iter()
        .zip(targets::secret_worst_cases(64 * 1024))
    {
        // The lowest of three: tests running beside this one can only make a ratio worse.
        let (ratio, s, l) = (0..3)
            .map(|_| {
                let s = cost(scan, &small, 8 * large.len() / small.len().max(1) / 8);
                let l = cost(scan, &large, 1);
                (l.as_secs_f64() / s.as_secs_f64().max(1e-6), s, l)
            })
            .fold((f64::INFINITY, Duration::ZERO, Duration::ZERO), |a, b| {
                if b.0 < a.0 { b } else { a }
            });
        println!("{name:<28} 8 x 8 KiB {s:>12?}  64 KiB {l:>12?}  ratio {ratio:.2}");
        if ratio > 3.0 && l > Duration::from_millis(5) {
            slow.push(format!("{name}: {ratio:.1}x ({s:?} vs {l:?})"));
        }
    }
    assert!(slow.is_empty(), "super-linear: {}", slow.join("; "));
}
