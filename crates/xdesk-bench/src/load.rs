//! A closed-loop load driver: `clients` tasks call one operation back to back for a warm-up
//! and then a measured window, and the latency of every call completed inside the window is kept.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many error messages are kept to print.
const KEPT_ERRORS: usize = 5;

/// The `p`-quantile (0..=1) of sorted microseconds, in milliseconds, by nearest rank.
pub fn quantile_ms(sorted_us: &[u64], p: f64) -> f64 {
    let n = sorted_us.len();
    if n == 0 {
        return f64::NAN;
    }
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted_us[rank - 1] as f64 / 1000.0
}

/// What one run of [`drive`] measured.
#[derive(Debug)]
pub struct Outcome {
    /// Successful calls completed inside the measured window.
    pub ok: u64,
    pub window: Duration,
    /// Latencies of those calls, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Failed calls over the whole run, warm-up included.
    pub errors: u64,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// The `p`-quantile (0..=1) in milliseconds, by nearest rank.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        quantile_ms(&self.latencies_us, p)
    }

    /// The same run counted in items when each call handled `items` of them.
    pub fn scaled(mut self, items: u64) -> Self {
        self.ok *= items;
        self
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(f64::NAN, |&us| us as f64 / 1000.0)
    }
}

/// Runs `op(n)` from `clients` concurrent tasks, `n` counting up across all of them, for
/// `warmup` (not counted) and then `window`. No call starts after the window closes.
pub async fn drive<F, Fut>(clients: usize, warmup: Duration, window: Duration, op: F) -> Outcome
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (op, next, samples) = (op.clone(), next.clone(), samples.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                let r = op(n).await;
                let t1 = Instant::now();
                match r {
                    Ok(()) if t1 >= measure_from && t1 <= end => {
                        lat.push(u64::try_from((t1 - t0).as_micros()).unwrap_or(u64::MAX));
                    }
                    Ok(()) => {}
                    Err(e) => {
                        errors += 1;
                        if let Ok(mut s) = samples.lock()
                            && s.len() < KEPT_ERRORS
                        {
                            s.push(e);
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok((lat, e)) => {
                latencies_us.extend(lat);
                errors += e;
            }
            Err(e) => {
                errors += 1;
                if let Ok(mut s) = samples.lock() {
                    s.push(format!("client task failed: {e}"));
                }
            }
        }
    }
    latencies_us.sort_unstable();
    let error_samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    Outcome {
        ok: latencies_us.len() as u64,
        window,
        latencies_us,
        errors,
        error_samples,
    }
}
