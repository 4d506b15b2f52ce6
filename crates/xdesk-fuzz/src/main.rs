//! The long fuzz run:
//!
//! ```sh
//! cargo run --release -p xdesk-fuzz -- --target all --inputs 1000000 [--seed S] [--jobs N]
//! cargo run --release -p xdesk-fuzz -- --target NAME --replay FILE   # one saved input
//! cargo run --release -p xdesk-fuzz -- --list
//! ```
//!
//! Prints, per target: inputs, total time, inputs per second, the slowest input and its size,
//! and every failure. Exits 1 if anything failed, 2 on a hang (an input running for more than
//! `--hang-secs`, 10 by default: it is saved before the process exits).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xdesk_fuzz::{Config, Report, Slot, Target, failure_dir, run, run_one, save, targets};

struct Args {
    target: String,
    inputs: u64,
    seed: u64,
    jobs: usize,
    hang: Duration,
    replay: Option<String>,
    list: bool,
    worst: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        target: "all".into(),
        inputs: 100_000,
        seed: 1,
        jobs: 1,
        hang: Duration::from_secs(10),
        replay: None,
        list: false,
        worst: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => a.target = value()?,
            "--inputs" => a.inputs = value()?.parse().map_err(|e| format!("--inputs: {e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--jobs" => a.jobs = value()?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--hang-secs" => {
                a.hang =
                    Duration::from_secs(value()?.parse().map_err(|e| format!("--hang-secs: {e}"))?)
            }
            "--replay" => a.replay = Some(value()?),
            "--list" => a.list = true,
            "--worst" => a.worst = true,
            "-h" | "--help" => {
                return Err("usage: xdesk-fuzz [--target NAME|all] [--inputs N] [--seed S] [--jobs N] [--hang-secs S] [--replay FILE] [--list]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn selected(name: &str) -> Result<Vec<Target>, String> {
    if name == "all" {
        return Ok(targets::all());
    }
    name.split(',')
        .map(|n| targets::by_name(n).ok_or(format!("no target {n:?} (see --list)")))
        .collect()
}

/// Exits the process, after saving the input, when one input runs past `hang`.
fn watchdog(slots: Vec<Slot>, hang: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(250));
            for s in &slots {
                let c = s.lock().unwrap_or_else(|e| e.into_inner());
                if !c.1.is_empty() && c.0.elapsed() > hang {
                    let saved = save(c.1, &c.2);
                    eprintln!(
                        "HANG: {} ran one input of {} bytes for more than {hang:?}; saved as {:?}",
                        c.1,
                        c.2.len(),
                        saved
                    );
                    std::process::exit(2);
                }
            }
        }
    });
}

/// A finished target: its name, report and wall time.
type Done = (&'static str, Report, Duration);

fn line(name: &str, r: &Report, wall: Duration) -> String {
    format!(
        "{name:<24} {:>9} inputs {:>8.1} s {:>10.0}/s  slowest {:>8.2} ms ({} bytes)  largest {} bytes  wall {:.1} s  failures {}",
        r.inputs,
        r.total.as_secs_f64(),
        r.per_second(),
        r.slowest.as_secs_f64() * 1000.0,
        r.slowest_len,
        r.largest,
        wall.as_secs_f64(),
        r.failures.len()
    )
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.list {
        for t in targets::all() {
            println!("{:<24} {}", t.name, t.about);
        }
        return ExitCode::SUCCESS;
    }
    let chosen = match selected(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.worst {
        // Each worst case alone, whole and cut to an eighth: how the time grows with the size.
        let slot: Slot = Arc::new(Mutex::new((Instant::now(), "", Vec::new())));
        watchdog(vec![Arc::clone(&slot)], args.hang);
        for t in &chosen {
            for (i, w) in t.worst.iter().enumerate() {
                let eighth = &w[..w.len() / 8];
                let mut times = Vec::new();
                for input in [eighth, &w[..]] {
                    {
                        let mut c = slot.lock().unwrap_or_else(|e| e.into_inner());
                        *c = (Instant::now(), t.name, input.to_vec());
                    }
                    times.push(xdesk_fuzz::fastest_of(t.run, input, 3));
                }
                let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
                println!(
                    "{:<24} worst #{i:<2} {:>6} bytes {:>9.3} ms, {:>6} bytes {:>9.3} ms, ratio {:.1}  {:?}",
                    t.name,
                    eighth.len(),
                    ms(times[0]),
                    w.len(),
                    ms(times[1]),
                    ms(times[1]) / ms(times[0]),
                    String::from_utf8_lossy(&w[..w.len().min(24)])
                );
            }
        }
        slot.lock().unwrap_or_else(|e| e.into_inner()).1 = "";
        return ExitCode::SUCCESS;
    }
    if let Some(file) = &args.replay {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{file}: {e}");
                return ExitCode::from(2);
            }
        };
        let mut failed = false;
        for t in &chosen {
            // The first run also builds the target's tables (jieba's dictionary, the triage
            // model: 100-250 ms); the fastest of three after it is what the long run judges.
            let outcome = run_one(t.run, &data);
            let warm = match outcome {
                xdesk_fuzz::Outcome::Ok(_) => xdesk_fuzz::fastest_of(t.run, &data, 3),
                _ => None,
            };
            println!(
                "{}: first {outcome:?}, fastest of 3 after it {warm:?}",
                t.name
            );
            failed |= !matches!(warm, Some(d) if d <= xdesk_fuzz::time_limit());
        }
        return if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    println!(
        "xdesk-fuzz: {} targets, {} inputs each, seed {}, {} job(s), limit {:?} per input; failures go to {}",
        chosen.len(),
        args.inputs,
        args.seed,
        args.jobs,
        xdesk_fuzz::time_limit(),
        failure_dir().display()
    );
    let jobs = args.jobs.max(1);
    let slots: Vec<Slot> = (0..jobs)
        .map(|_| Arc::new(Mutex::new((Instant::now(), "", Vec::new()))))
        .collect();
    watchdog(slots.clone(), args.hang);
    let queue = Arc::new(Mutex::new(chosen.into_iter().collect::<Vec<_>>()));
    let results: Arc<Mutex<Vec<Done>>> = Arc::default();
    let started = Instant::now();
    let workers: Vec<_> = slots
        .into_iter()
        .map(|slot| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let (inputs, seed) = (args.inputs, args.seed);
            std::thread::spawn(move || {
                loop {
                    let next = {
                        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                        if q.is_empty() {
                            None
                        } else {
                            Some(q.remove(0))
                        }
                    };
                    let Some(t) = next else { break };
                    let mut cfg = Config::new(inputs, seed);
                    cfg.current = Some(Arc::clone(&slot));
                    let t0 = Instant::now();
                    let r = run(&t, &cfg);
                    let wall = t0.elapsed();
                    println!("{}", line(t.name, &r, wall));
                    for f in &r.failures {
                        println!("  FAILURE {f}");
                    }
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((t.name, r, wall));
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let results = results.lock().unwrap_or_else(|e| e.into_inner());
    let total: u64 = results.iter().map(|(_, r, _)| r.inputs).sum();
    let failures: usize = results.iter().map(|(_, r, _)| r.failures.len()).sum();
    println!(
        "total: {total} inputs over {} targets in {:.1} s; {failures} failure(s)",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
