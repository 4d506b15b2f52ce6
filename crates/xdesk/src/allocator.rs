//! Fewer malloc arenas for the server process. glibc gives threads that allocate at the same
//! moment arenas of their own, up to eight per core, and memory freed in one arena is not
//! reused by another: under a burst of ticket creations on SQLite (its driver runs each
//! connection on a thread of its own) the server's heap grew to 232 MB, against 92 MB with two
//! arenas and the same throughput (docs/BENCHMARKS.md, "Ticket creation, issue 20").
//!
//! The limit must be in place before the first thread allocates, and the workspace allows no
//! `unsafe` (so no `mallopt`): the process starts itself again once with `MALLOC_ARENA_MAX`
//! set, which glibc reads at start. A value set by the operator is kept as it is.

use std::ffi::OsString;

/// The variable glibc reads at start, and the value used when the operator set none.
const VARIABLE: &str = "MALLOC_ARENA_MAX";
const ARENAS: &str = "2";

/// What to start instead of this process: this executable with the same arguments and the
/// limit set, or None when the limit is already set.
fn restart_with_limit(
    current: Option<OsString>,
    exe: std::io::Result<std::path::PathBuf>,
) -> Option<std::process::Command> {
    if current.is_some() {
        return None;
    }
    let mut cmd = std::process::Command::new(exe.ok()?);
    cmd.args(std::env::args_os().skip(1)).env(VARIABLE, ARENAS);
    Some(cmd)
}

/// Call first in `main`. Returns only when the limit is set, or when starting again failed
/// (the server then runs with glibc's default, and says so).
pub fn limit_arenas() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let Some(mut cmd) = restart_with_limit(std::env::var_os(VARIABLE), std::env::current_exe())
    else {
        return;
    };
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let e = cmd.exec();
    eprintln!("xdesk: could not restart with {VARIABLE}={ARENAS} ({e}); using glibc's default");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_once_and_keeps_the_operators_value() {
        let exe = || Ok(std::path::PathBuf::from("/usr/bin/xdesk"));
        let cmd = restart_with_limit(None, exe()).map(|c| {
            c.get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            cmd,
            Some(vec![(
                OsString::from(VARIABLE),
                Some(OsString::from(ARENAS))
            )])
        );
        assert!(restart_with_limit(Some("8".into()), exe()).is_none());
        assert!(restart_with_limit(None, Err(std::io::Error::other("gone"))).is_none());
    }
}
