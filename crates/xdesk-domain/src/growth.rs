//! How a scan's cost grows with its input, for the tests that keep scans of untrusted text
//! linear (quadratic ones were found by xdesk-fuzz). CPU time of this thread is measured where
//! Linux gives it, so other processes on a busy machine do not count, and the fastest of three
//! runs counts.

use std::time::{Duration, Instant};

fn cpu() -> Option<Duration> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
}

fn fastest(text: &str, times: usize, f: &impl Fn(&str)) -> Duration {
    (0..3)
        .map(|_| {
            let (c, t) = (cpu(), Instant::now());
            for _ in 0..times {
                f(std::hint::black_box(text));
            }
            match (c, cpu()) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => t.elapsed(),
            }
        })
        .min()
        .unwrap_or(Duration::ZERO)
}

/// The cost of `f` on `large` once over its cost on `small` `times` times, where `large` is
/// `times` as long as `small`: about 1 when `f` is linear, about `times` when quadratic. The
/// lowest of three measurements: other tests running beside this one (sharing caches and
/// cores) can only make one look worse, never better.
pub(crate) fn growth(small: &str, large: &str, times: usize, f: impl Fn(&str)) -> f64 {
    (0..3)
        .map(|_| {
            let s = fastest(small, times, &f);
            let l = fastest(large, 1, &f);
            l.as_secs_f64() / s.as_secs_f64().max(1e-9)
        })
        .fold(f64::INFINITY, f64::min)
}
