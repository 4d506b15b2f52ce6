//! Configuration from defaults, `xdesk.toml` and `XDESK_*` environment variables (in that
//! order of precedence, lowest first). The defaults run the embedded demo.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; port 0 picks a free one.
    pub listen: String,
    /// `sqlite://…` (embedded default) or `postgres://…`.
    pub database_url: String,
    /// Where attachments (and the SQLite file, by default) live.
    pub data_dir: PathBuf,
    /// The URL people reach this server at, printed by `demo`.
    pub public_url: Option<String>,
    /// `text` or `json` logs.
    pub log_format: String,
    pub max_attachment_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://xdesk-data/xdesk.db?mode=rwc".into(),
            data_dir: PathBuf::from("xdesk-data"),
            public_url: None,
            log_format: "text".into(),
            max_attachment_bytes: 20 * 1024 * 1024,
        }
    }
}

impl Config {
    /// Keys read from `XDESK_*`; other `XDESK_` variables (e.g. `XDESK_LOG`) are not config.
    const FIELDS: &'static [&'static str] = &[
        "listen",
        "database_url",
        "data_dir",
        "public_url",
        "log_format",
        "max_attachment_bytes",
    ];

    /// Loads `file` (if it exists) and the environment over the defaults.
    pub fn load(file: &Path) -> Result<Self, figment::Error> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("XDESK_").only(Self::FIELDS))
            .extract()
    }

    /// The database URL without its password, for messages.
    pub fn redacted_database_url(&self) -> String {
        match (self.database_url.find("://"), self.database_url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &self.database_url[s + 3..at];
                match creds.split_once(':') {
                    Some((user, _)) => format!(
                        "{}{user}:***{}",
                        &self.database_url[..s + 3],
                        &self.database_url[at..]
                    ),
                    None => self.database_url.clone(),
                }
            }
            _ => self.database_url.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        let c = Config {
            database_url: "postgres://u:secret@h/db".into(),
            ..Config::default()
        };
        assert_eq!(c.redacted_database_url(), "postgres://u:***@h/db");
    }
}
