//! glibc's allocator, tuned for a long-running server. Two settings, both measured in
//! docs/BENCHMARKS.md (issue 20):
//!
//! - One arena. glibc gives threads that allocate at the same moment arenas of their own, up
//!   to eight per core, and memory freed in one arena is not reused by another: under a burst
//!   of ticket creations on SQLite (its driver runs each connection on a thread of its own) the
//!   server's heap grew to 232 MB, against 92 MB with two arenas and the same throughput. A
//!   single arena kept a 20-minute two-node soak about 20 MB lower again, and flatter, with
//!   ticket creation unchanged within noise on both databases.
//! - A fixed threshold for large blocks. By default glibc raises its mmap threshold to the size
//!   of every large block freed (up to 32 MB), and from then on carves such blocks from the
//!   heap, whose high-water mark is never given back. The search index's writer allocates
//!   megabytes per commit (every couple of seconds) and its merges more as the index grows, so
//!   the heap kept rising through a soak; with blocks of 128 KiB and more always mapped on
//!   their own (and returned when freed), 3,000 commits of the ticket index ended at 39 MB
//!   instead of 74 MB.
//!
//! The settings must be in place before the first thread allocates, and the workspace allows
//! no `unsafe` (so no `mallopt`): the process starts itself again once with the variables set,
//! which glibc reads at start. A value set by the operator is kept as it is.

use std::ffi::OsString;

/// The variables glibc reads at start, and the values used where the operator set none.
pub const TUNING: [(&str, &str); 3] = [
    ("MALLOC_ARENA_MAX", "1"),
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ("MALLOC_TRIM_THRESHOLD_", "131072"),
];

/// What to start instead of this process: this executable with the same arguments and the
/// missing settings added, or None when every one is already set.
fn restart_with_tuning(
    current: impl Fn(&str) -> Option<OsString>,
    exe: std::io::Result<std::path::PathBuf>,
) -> Option<std::process::Command> {
    let missing: Vec<(&str, &str)> = TUNING
        .into_iter()
        .filter(|(variable, _)| current(variable).is_none())
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut cmd = std::process::Command::new(exe.ok()?);
    cmd.args(std::env::args_os().skip(1)).envs(missing);
    Some(cmd)
}

/// Call first in `main`. Returns only when the settings are in place, or when starting again
/// failed (the server then runs with glibc's defaults, and says so).
pub fn tune_malloc() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let Some(mut cmd) = restart_with_tuning(|v| std::env::var_os(v), std::env::current_exe())
    else {
        return;
    };
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let e = cmd.exec();
    eprintln!("xdesk: could not restart with tuned malloc settings ({e}); using glibc's defaults");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs(cmd: Option<std::process::Command>) -> Option<Vec<(OsString, Option<OsString>)>> {
        cmd.map(|c| {
            c.get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
                .collect()
        })
    }

    #[test]
    fn restarts_once_with_what_is_missing_and_keeps_the_operators_values() {
        let exe = || Ok(std::path::PathBuf::from("/usr/bin/xdesk"));
        let all = envs(restart_with_tuning(|_| None, exe())).unwrap_or_default();
        assert_eq!(all.len(), TUNING.len());
        for (variable, value) in TUNING {
            assert!(all.contains(&(variable.into(), Some(value.into()))));
        }
        // The operator chose the arenas: only the thresholds are added.
        let some = envs(restart_with_tuning(
            |v| (v == "MALLOC_ARENA_MAX").then(|| "8".into()),
            exe(),
        ))
        .unwrap_or_default();
        assert_eq!(some.len(), TUNING.len() - 1);
        assert!(!some.iter().any(|(k, _)| k == "MALLOC_ARENA_MAX"));
        // Everything set (as after the restart): no second restart.
        assert!(restart_with_tuning(|_| Some("1".into()), exe()).is_none());
        assert!(restart_with_tuning(|_| None, Err(std::io::Error::other("gone"))).is_none());
    }
}
