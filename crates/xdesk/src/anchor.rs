//! History anchoring for the binary: the signing key (from configuration, or a key file made on
//! first use), the checkpoint schedule, publishing each checkpoint line to a webhook, and the
//! `xdesk anchor` / `xdesk verify-history` commands (here so tests can call them).

use crate::Config;
use anyhow::Context;
use rand::RngCore;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use xdesk_domain::anchor::{
    AnchorStatus, Checkpoint, SigningKey, public_key_hex, signing_key_from_hex, signing_key_to_hex,
};
use xdesk_service::anchor::{AnchorSettings, HistoryAudit, LogState, TicketAudit};
use xdesk_service::{Principal, Services};

/// The signing key and log from configuration; a missing key file is created (mode 0600).
pub fn settings(config: &Config) -> anyhow::Result<AnchorSettings> {
    let key = match &config.anchor.key {
        Some(hex) => signing_key_from_hex(hex)
            .context("anchor.key is not the hex of a 32-byte Ed25519 seed")?,
        None => load_or_create_key(&config.anchor_key_file())?,
    };
    Ok(AnchorSettings {
        key,
        log_file: config.anchor_log_file(),
    })
}

fn load_or_create_key(path: &Path) -> anyhow::Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            signing_key_from_hex(&text).with_context(|| {
                format!(
                    "{} does not hold the hex of a 32-byte Ed25519 seed",
                    path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let key = SigningKey::from_bytes(&seed);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => {
                    f.write_all(format!("{}\n", signing_key_to_hex(&key)).as_bytes())
                        .and_then(|()| f.sync_all())
                        .with_context(|| format!("writing {}", path.display()))?;
                    tracing::info!(
                        file = %path.display(),
                        public_key = %public_key_hex(&key),
                        "generated the history checkpoint signing key; publish its public key"
                    );
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(path),
                Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %path.display(), "the checkpoint signing key is readable by others: chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// POSTs one checkpoint line (JSON) to the webhook, so another system keeps a copy.
pub async fn publish(url: &str, line: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(line.to_owned())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("publishing the checkpoint to {url}"))?;
    Ok(())
}

/// Writes a checkpoint (with `only_if_changed`, only when a head changed) and publishes it.
/// The checkpoint stands even if publishing fails: the error comes back beside it.
pub async fn checkpoint(
    services: &Services,
    webhook_url: Option<&str>,
    only_if_changed: bool,
) -> anyhow::Result<Option<(Checkpoint, Option<anyhow::Error>)>> {
    let Some(c) = services
        .write_checkpoint(&Principal::System, only_if_changed)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        return Ok(None);
    };
    let published = match webhook_url {
        Some(url) => publish(url, &c.to_line()).await.err(),
        None => None,
    };
    Ok(Some((c, published)))
}

/// `xdesk anchor`: one checkpoint now, whether or not anything changed.
pub async fn anchor_now(config: &Config) -> anyhow::Result<(Checkpoint, Option<anyhow::Error>)> {
    let services = crate::open(config).await?;
    checkpoint(&services, config.anchor.webhook_url.as_deref(), false)
        .await?
        .context("no checkpoint was written")
}

/// The schedule: every `every`, a checkpoint if any head changed.
pub(crate) async fn schedule(services: Services, every: Duration, webhook_url: Option<String>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match checkpoint(&services, webhook_url.as_deref(), true).await {
            Ok(Some((c, published))) => {
                tracing::info!(seq = c.seq, tickets = c.tickets, root = %c.root, "history checkpoint written");
                if let Some(e) = published {
                    tracing::warn!(error = %format!("{e:#}"), "history checkpoint not published");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "history checkpoint failed; retrying")
            }
        }
    }
}

/// `xdesk verify-history --all`.
pub async fn verify_all(config: &Config) -> anyhow::Result<HistoryAudit> {
    let services = crate::open(config).await?;
    services
        .audit_all_history(&Principal::System)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `xdesk verify-history <ticket>`: passes when the ticket checks out and the log (if any)
/// is intact.
pub async fn verify_ticket(config: &Config, id: i64) -> anyhow::Result<(TicketAudit, LogState)> {
    let services = crate::open(config).await?;
    services
        .audit_ticket_history(&Principal::System, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// What is wrong with the log, if anything; `require_checkpoint` for the full audit.
pub fn log_failure(log: &LogState, require_checkpoint: bool) -> Option<String> {
    match log {
        LogState::Broken { path, reason } => Some(format!("checkpoint log {path}: {reason}")),
        LogState::Absent { path } if require_checkpoint => Some(format!(
            "no checkpoint log at {path}: run `xdesk anchor` (or let the server's schedule write one) first"
        )),
        LogState::Intact {
            path, last: None, ..
        } if require_checkpoint => Some(format!("the checkpoint log {path} is empty")),
        _ => None,
    }
}

/// One line per problem of a ticket, for people.
pub fn ticket_failures(a: &TicketAudit) -> Vec<String> {
    let mut out = Vec::new();
    if !a.chain.valid {
        out.push(format!(
            "{}: chain: {}",
            a.ticket,
            a.chain.reason.clone().unwrap_or_default()
        ));
    }
    for p in &a.content {
        out.push(format!("{}: {}", a.ticket, p.detail));
    }
    match &a.anchor {
        AnchorStatus::NotInChain { anchored_head } => out.push(format!(
            "{}: the head the last checkpoint signed ({anchored_head}) is not in its chain: the history was rewritten",
            a.ticket
        )),
        AnchorStatus::Missing { anchored_head } => out.push(format!(
            "{}: in the last checkpoint (head {anchored_head}) but gone from the database",
            a.ticket
        )),
        _ => {}
    }
    out
}
