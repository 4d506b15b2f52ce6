//! The ticket index over thousands of small commits, as the feed follower and searches make
//! them under a steady stream of new tickets (one commit per batch, a search after each): how
//! long a commit and a search take as the index grows, and the process's anonymous memory
//! (which leaves out the index files it maps). It runs twice, once with glibc's default
//! allocator settings and once with the server's (`xdesk::allocator::TUNING`), each time in a
//! child process, so the allocator reads its settings at start as the server's does.

use crate::load::quantile_ms;
use clap::Args;
use std::io::BufRead;
use std::time::Instant;
use xdesk_search::tickets::{Scope, TicketDoc, TicketIndex, TicketQuery};

#[derive(Args, Clone)]
pub struct IndexCommitsArgs {
    /// Commits per run.
    #[arg(long, default_value_t = 3_000)]
    pub commits: usize,
    /// Tickets per commit (the soak's 50 tickets/s and 5 searches/s make about 10).
    #[arg(long, default_value_t = 25)]
    pub per_commit: i64,
    /// Tickets already indexed that change in each commit (replies, chat messages, state).
    #[arg(long, default_value_t = 10)]
    pub updates: i64,
    /// Report every this many commits.
    #[arg(long, default_value_t = 500)]
    pub every: usize,
}

impl IndexCommitsArgs {
    fn to_args(&self) -> [String; 8] {
        [
            "--commits".into(),
            self.commits.to_string(),
            "--per-commit".into(),
            self.per_commit.to_string(),
            "--updates".into(),
            self.updates.to_string(),
            "--every".into(),
            self.every.to_string(),
        ]
    }
}

/// This process's anonymous resident memory, in KiB.
fn anon_kib() -> u64 {
    crate::chat::Memory::of(std::process::id()).map_or(0, |m| m.anon)
}

fn ticket(id: i64) -> TicketDoc {
    TicketDoc {
        id,
        subject: format!("Withdrawal {id} pending"),
        messages: format!(
            "My withdrawal of {} USDT has been pending for hours, tx 0x{id:064x}. 我的提现一直在处理中，请帮忙查看。",
            id % 1_000
        ),
        customer: format!("Customer {id} c{id}@example.com"),
        crypto: format!("ethereum USDT 0x{id:064x}"),
        state: "new".into(),
        group_id: Some(id % 5),
        customer_id: id,
        created_at: 1_700_000_000 + id,
        ..Default::default()
    }
}

/// The child: commits and searches, printing one line per report:
/// `commits tickets anon_kib commit_p50_ms commit_p99_ms search_p50_ms search_p99_ms`.
pub fn child(args: &IndexCommitsArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let index = TicketIndex::open(dir.path())?;
    let scope = Scope::All;
    let (mut commits, mut searches) = (Vec::new(), Vec::new());
    let mut id = 0;
    for c in 1..=args.commits {
        // Earlier tickets, spread over the whole index, then the new ones.
        let mut docs: Vec<TicketDoc> = (0..args.updates.min(id))
            .map(|k| {
                let mut t = ticket(1 + (id * 7_919 + k * 104_729) % id);
                t.state = "open".into();
                t
            })
            .collect();
        docs.extend((0..args.per_commit).map(|_| {
            id += 1;
            ticket(id)
        }));
        let t = Instant::now();
        index.upsert(&docs, id)?;
        commits.push(t.elapsed().as_micros() as u64);
        let t = Instant::now();
        index.search(&TicketQuery {
            text: "withdrawal",
            scope: &scope,
            states: &[],
            group_id: None,
            created_from: None,
            created_to: None,
            limit: 20,
        })?;
        searches.push(t.elapsed().as_micros() as u64);
        if c == 1 || c % args.every.max(1) == 0 {
            commits.sort_unstable();
            searches.sort_unstable();
            println!(
                "{c} {id} {} {} {} {} {}",
                anon_kib(),
                quantile_ms(&commits, 0.5),
                quantile_ms(&commits, 0.99),
                quantile_ms(&searches, 0.5),
                quantile_ms(&searches, 0.99),
            );
            commits.clear();
            searches.clear();
        }
    }
    Ok(())
}

pub fn run(args: &IndexCommitsArgs) -> anyhow::Result<()> {
    println!(
        "ticket index: {} commits of {} new tickets and {} changed ones, a search for a word every ticket holds after each; figures per {} commits",
        args.commits, args.per_commit, args.updates, args.every
    );
    let mut ends = Vec::new();
    for (name, tuned) in [("glibc's defaults", false), ("xdesk's settings", true)] {
        let mut cmd = std::process::Command::new(std::env::current_exe()?);
        cmd.arg("index-commits-child")
            .args(args.to_args())
            .stdout(std::process::Stdio::piped());
        for (variable, value) in xdesk::allocator::TUNING {
            if tuned {
                cmd.env(variable, value);
            } else {
                cmd.env_remove(variable);
            }
        }
        let mut child = cmd.spawn()?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no output from the child"))?;
        println!("\n-- {name}\n");
        println!(
            "| commits | tickets | anonymous MB | commit p50 / p99 ms | search p50 / p99 ms |"
        );
        println!("|---:|---:|---:|---:|---:|");
        let mut end = 0.0;
        for line in std::io::BufReader::new(out).lines() {
            let line = line?;
            let f: Vec<f64> = line
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            if let [c, t, kib, c50, c99, s50, s99] = f[..] {
                end = kib / 1024.0;
                println!("| {c} | {t} | {end:.1} | {c50:.2} / {c99:.2} | {s50:.2} / {s99:.2} |");
            }
        }
        anyhow::ensure!(child.wait()?.success(), "the run with {name} failed");
        ends.push(end);
    }
    if let [default, tuned] = ends[..] {
        println!(
            "\nanonymous memory at the end: {default:.1} MB with glibc's defaults, {tuned:.1} MB with xdesk's settings"
        );
    }
    Ok(())
}
