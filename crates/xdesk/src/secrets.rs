//! The key for secrets at rest, kept outside the database: from `secrets.key`
//! (`XDESK_SECRETS__KEY`), `secrets.key_file`, or `data_dir/secrets.key`, which the first start
//! makes (readable by its owner only) so the demo runs with no configuration. Also the key
//! rotation behind `xdesk rotate-secrets-key`.

use crate::Config;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use xdesk_service::sealed::{Keyring, SecretKey};

/// The key file used when none is configured.
pub fn default_key_file(config: &Config) -> PathBuf {
    config.data_dir.join("secrets.key")
}

/// Reads a key file (base64 of 32 bytes).
pub fn read_key_file(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the secrets key file {}", path.display()))?;
    warn_if_readable_by_others(path);
    SecretKey::from_base64(&text).with_context(|| format!("secrets key file {}", path.display()))
}

/// Makes a key file with a fresh random key, readable and writable by its owner only. Never
/// overwrites a file.
pub fn create_key_file(path: &Path) -> anyhow::Result<SecretKey> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (key, text) = SecretKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating the secrets key file {}", path.display()))?;
    f.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing the secrets key file {}", path.display()))?;
    tracing::info!(file = %path.display(), key_id = key.id(), "made a new secrets key: back it up, it cannot be recovered");
    Ok(key)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the secrets key file is readable by others: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// The configured keys: the current one first, then those still readable.
fn configured_keys(config: &Config) -> anyhow::Result<Vec<SecretKey>> {
    let s = &config.secrets;
    let current = match (&s.key, &s.key_file) {
        (Some(_), Some(_)) => bail!("secrets.key and secrets.key_file: set one of them"),
        (Some(k), None) => SecretKey::from_base64(k).context("secrets.key (XDESK_SECRETS__KEY)")?,
        (None, Some(f)) => read_key_file(f)?,
        (None, None) => {
            let f = default_key_file(config);
            if f.exists() {
                read_key_file(&f)?
            } else {
                create_key_file(&f)?
            }
        }
    };
    let mut keys = vec![current];
    for f in &s.previous_key_files {
        keys.push(read_key_file(f)?);
    }
    for k in &s.previous_keys {
        keys.push(SecretKey::from_base64(k).context("secrets.previous_keys")?);
    }
    Ok(keys)
}

fn keyring(keys: Vec<SecretKey>) -> anyhow::Result<Keyring> {
    let mut keys = keys.into_iter();
    let current = keys.next().context("no secrets key")?;
    Ok(keys.fold(Keyring::new(current), Keyring::with_previous))
}

/// The keyring of the configuration.
pub fn load_keyring(config: &Config) -> anyhow::Result<Keyring> {
    keyring(configured_keys(config)?)
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub resealed: usize,
    pub old_key_id: String,
    pub new_key_id: String,
    /// The key file to configure now, when the rotation brought a new key.
    pub new_key_file: Option<PathBuf>,
}

/// Re-seals every stored secret, in one transaction, reading them with the configured keys:
/// with the key in `new_key_file` (made when missing), after which the configuration must name
/// it (`secrets.key_file`) and the old key is no longer needed; or, without one, with the
/// configured current key (finishing a rotation where nodes already seal with the new key and
/// still read the old one through `secrets.previous_key_files`).
pub async fn rotate(config: &Config, new_key_file: Option<&Path>) -> anyhow::Result<Rotation> {
    let mut keys = configured_keys(config)?;
    let old_key_id = keys.first().map(|k| k.id().to_owned()).unwrap_or_default();
    if let Some(path) = new_key_file {
        let new = if path.exists() {
            read_key_file(path)?
        } else {
            create_key_file(path)?
        };
        if new.id() == old_key_id {
            bail!(
                "{} holds the key in use now (id {old_key_id}); give a new key file",
                path.display()
            );
        }
        keys.insert(0, new);
    }
    let new_key_id = keys.first().map(|k| k.id().to_owned()).unwrap_or_default();
    let services = crate::open_with_keys(config, keyring(keys)?).await?;
    let report = services
        .reseal_all_secrets()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    services.store.close().await.ok();
    Ok(Rotation {
        resealed: report.sealed,
        old_key_id,
        new_key_id,
        new_key_file: new_key_file.map(Path::to_owned),
    })
}
