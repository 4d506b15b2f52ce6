//! The static copy of the status page: after every change (the status revision moves) and at
//! each new day, the page in each language, each incident's page, `summary.json`, the Atom
//! feed and the style sheet are written into `[status] export_dir`, for a CDN or another web
//! server to serve while xdesk or its database is down.
//!
//! Each file is written beside its final name and renamed over it, so a reader sees the old
//! file or the new one, never half of one. Every node may run it: they write the same bytes.

use std::path::{Path, PathBuf};
use xdesk_service::Services;

/// Writes `bytes` to `dir/name` through a temporary file in the same directory and a rename.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = dir.join(name);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = parent.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        rand_suffix()
    ));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Writes the current copy once. Returns the revision written.
pub async fn export_once(services: &Services, dir: &Path) -> anyhow::Result<i64> {
    let snap = services
        .status_snapshot()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let files = xdesk_ui::status_export_files(&snap, &services.portal.public_url);
    let dir = dir.to_path_buf();
    let revision = snap.revision;
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        for (name, bytes) in &files {
            write_atomically(&dir, name, bytes)?;
        }
        Ok(())
    })
    .await??;
    Ok(revision)
}

/// Follows the status revision and writes a copy whenever it moves or the day changes.
pub async fn follow(services: Services, dir: PathBuf) {
    let mut written: Option<(i64, chrono::NaiveDate)> = None;
    loop {
        let today = services.now().date_naive();
        match services.store.status_revision().await {
            Ok(rev) if written != Some((rev, today)) => match export_once(&services, &dir).await {
                Ok(r) => written = Some((r, today)),
                Err(e) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "status page export failed; retrying")
                }
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "status revision unreadable; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Mails public incident updates to the status page's confirmed subscribers. Every node runs
/// it; the feed's lease lets one node at a time queue a batch (see `run_status_mail`).
pub async fn mail_subscribers(services: Services) {
    loop {
        match services.run_status_mail().await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "status subscribers could not be mailed; retrying")
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
