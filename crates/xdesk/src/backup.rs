//! `xdesk backup DIR` and `xdesk restore DIR`: one installation's database, attachment files
//! and history checkpoints, copied while the server runs and brought back into an empty one.
//!
//! A backup directory holds `manifest.json`, the database (`xdesk.db`, a `VACUUM INTO` copy of
//! SQLite, or `xdesk.pgdump`, PostgreSQL's `pg_dump` in its custom format), `attachments/`
//! (content-addressed, so a file is either whole or absent) and `anchor/` (the checkpoint log
//! and its signing key, so `xdesk verify-history --all` still proves the restored history).
//! The key that seals stored secrets is left out on purpose: a backup that carried it would
//! carry everything it protects. Search indexes are rebuilt from the database at start.

use crate::config::Config;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use xdesk_store::{AttachmentStore, Backend, Store};

/// The format of the directory, raised when it changes incompatibly.
const FORMAT: u32 = 1;
const SQLITE_FILE: &str = "xdesk.db";
const PG_FILE: &str = "xdesk.pgdump";
const ANCHOR_LOG: &str = "anchor/checkpoints.jsonl";
const ANCHOR_KEY: &str = "anchor/signing.key";

/// What a backup holds, written last: a directory without it is not a finished backup.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub xdesk_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Files the database refers to, all present in `attachments/`.
    pub files: usize,
    pub file_bytes: u64,
    /// The checkpoint log and its key were copied.
    pub checkpoints: bool,
}

/// Copies the installation `config` describes into `dir`, which must be new or empty.
pub async fn backup(config: &Config, dir: &Path) -> anyhow::Result<Manifest> {
    ensure_empty(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = Store::connect(&config.database_url, &config.data_dir)
        .await
        .context("connecting to the database")?;
    let database = match store.backend() {
        Backend::Sqlite => {
            store
                .sqlite_copy_into(&dir.join(SQLITE_FILE))
                .await
                .context("copying the SQLite database")?;
            "sqlite"
        }
        Backend::Postgres => {
            let (url, password) = split_password(&config.database_url);
            run_pg_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    &path_str(&dir.join(PG_FILE))?,
                    "--dbname",
                    &url,
                ],
                password.as_deref(),
            )
            .await?;
            "postgres"
        }
    };
    // Files after the database: every file a row of the copy names was written before that
    // row committed, and stored files never change, so each is copied whole or found missing.
    let (files, file_bytes) =
        copy_files(&store, &config.data_dir, &dir.join("attachments")).await?;
    // The log, the heads of its recent checkpoints beside it, and the key that signs them.
    let log = config.anchor_log_file();
    let checkpoints = copy_if_present(&log, &dir.join(ANCHOR_LOG))?;
    if checkpoints {
        let heads = xdesk_service::anchor::heads_dir_of(&log);
        if heads.exists() {
            copy_tree(
                &heads,
                &xdesk_service::anchor::heads_dir_of(&dir.join(ANCHOR_LOG)),
            )?;
        }
        copy_if_present(&config.anchor_key_file(), &dir.join(ANCHOR_KEY))?;
    }
    store.close().await.ok();
    let manifest = Manifest {
        format: FORMAT,
        xdesk_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now(),
        database: database.into(),
        files,
        file_bytes,
        checkpoints,
    };
    write_atomically(
        &dir.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// Brings the backup in `dir` back into the installation `config` describes, whose database
/// and data directory must not hold one already. Then applies this version's migrations.
pub async fn restore(config: &Config, dir: &Path) -> anyhow::Result<Manifest> {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).with_context(|| {
            format!("{} holds no finished backup (manifest.json)", dir.display())
        })?)
        .context("reading manifest.json")?;
    if manifest.format != FORMAT {
        bail!(
            "backup format {} is not one this version reads ({FORMAT})",
            manifest.format
        );
    }
    let attachments = config.data_dir.join("attachments");
    ensure_empty(&attachments)?;
    match (
        manifest.database.as_str(),
        Backend::of_url(&config.database_url)?,
    ) {
        ("sqlite", Backend::Sqlite) => {
            let target = sqlite_file(&config.database_url)?;
            if target.exists() && std::fs::metadata(&target)?.len() > 0 {
                bail!(
                    "{} exists: restore into a new database (move it away first)",
                    target.display()
                );
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let part = target.with_extension("restoring");
            std::fs::copy(dir.join(SQLITE_FILE), &part)
                .with_context(|| format!("copying the database to {}", part.display()))?;
            std::fs::rename(&part, &target)?;
        }
        ("postgres", Backend::Postgres) => {
            let store = Store::connect(&config.database_url, &config.data_dir).await?;
            let used = store.has_tables().await?;
            store.close().await.ok();
            if used {
                bail!("the database already holds xdesk's tables: restore into an empty database");
            }
            let (url, password) = split_password(&config.database_url);
            run_pg_tool(
                "pg_restore",
                &[
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                    &url,
                    &path_str(&dir.join(PG_FILE))?,
                ],
                password.as_deref(),
            )
            .await?;
        }
        (kind, _) => bail!(
            "this backup holds a {kind} database; point database_url at one of that kind to restore it"
        ),
    }
    copy_tree(&dir.join("attachments"), &attachments)?;
    if manifest.checkpoints {
        let log = config.anchor_log_file();
        for to in [&log, &config.anchor_key_file()] {
            if to.exists() {
                bail!("{} exists: it would be overwritten", to.display());
            }
        }
        copy_if_present(&dir.join(ANCHOR_LOG), &log)?;
        copy_if_present(&dir.join(ANCHOR_KEY), &config.anchor_key_file())?;
        let heads = xdesk_service::anchor::heads_dir_of(&dir.join(ANCHOR_LOG));
        if heads.exists() {
            copy_tree(&heads, &xdesk_service::anchor::heads_dir_of(&log))?;
        }
    }
    // Migrations of this version, and a check that the restored database opens.
    crate::open(config)
        .await
        .context("opening the restored installation")?;
    Ok(manifest)
}

/// Copies every referenced file into `to` (checked by hash name, not by trusting the walk),
/// and returns how many and their size. A file the installation itself has lost is an error:
/// the backup would be silently incomplete.
async fn copy_files(store: &Store, data_dir: &Path, to: &Path) -> anyhow::Result<(usize, u64)> {
    let from = data_dir.join("attachments");
    if from.exists() {
        copy_tree(&from, to)?;
    }
    let copy = AttachmentStore::open(to.to_path_buf()).await?;
    let live = store.files();
    let mut bytes = 0;
    let referenced = store.referenced_files().await?;
    for sha in &referenced {
        let data = match copy.get(sha).await? {
            Some(d) => d,
            // Written after the tree was walked: take it now.
            None => match live.get(sha).await? {
                Some(d) => {
                    copy.put(&d).await?;
                    d
                }
                None => bail!(
                    "file {sha} is referenced by the database but missing from {}",
                    from.display()
                ),
            },
        };
        bytes += data.len() as u64;
    }
    Ok((referenced.len(), bytes))
}

fn ensure_empty(dir: &Path) -> anyhow::Result<()> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{} is not empty", dir.display());
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if !target.exists() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn copy_if_present(from: &Path, to: &Path) -> anyhow::Result<bool> {
    if !from.exists() {
        return Ok(false);
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    Ok(true)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let part = path.with_extension("part");
    std::fs::write(&part, bytes)?;
    std::fs::rename(&part, path)?;
    Ok(())
}

fn path_str(p: &Path) -> anyhow::Result<String> {
    p.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", p.display()))
}

/// The file of a `sqlite://path?options` URL.
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| anyhow::anyhow!("not an SQLite URL"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        bail!("an in-memory database cannot be restored into");
    }
    Ok(PathBuf::from(path))
}

/// The URL without its password, and the password (for `PGPASSWORD`): a password on a
/// command line is visible to every user of the machine.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_owned(), None);
    };
    let Some(at) = url[scheme_end..].find('@').map(|i| i + scheme_end) else {
        return (url.to_owned(), None);
    };
    let userinfo = &url[scheme_end..at];
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{}{user}{}", &url[..scheme_end], &url[at..]),
            Some(percent_decode(password)),
        ),
        None => (url.to_owned(), None),
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (hex(b.get(i + 1)), hex(b.get(i + 2)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run_pg_tool(tool: &str, args: &[&str], password: Option<&str>) -> anyhow::Result<()> {
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.map_err(|e| {
        anyhow::anyhow!(
            "{tool} could not run ({e}): install PostgreSQL's client tools of the server's major \
             version (Debian: postgresql-client), or see README \"Backup and restore\""
        )
    })?;
    if !out.status.success() {
        bail!(
            "{tool} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_password("postgres://xd:p%40ss@db:5432/xdesk"),
            (
                "postgres://xd@db:5432/xdesk".to_owned(),
                Some("p@ss".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".to_owned(), None)
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/xdesk/xdesk.db?mode=rwc").ok(),
            Some(PathBuf::from("/var/lib/xdesk/xdesk.db"))
        );
        assert!(sqlite_file("sqlite::memory:").is_err());
    }
}
