//! Configuration from defaults, `xdesk.toml` and `XDESK_*` environment variables (in that
//! order of precedence, lowest first). The defaults run the embedded demo.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use xdesk_channels::imap::PollTiming;
use xdesk_channels::smtp::SmtpSettings;
use xdesk_service::client_addr::ForwardedHeader;
use xdesk_service::mailboxes::MailboxInput;
use xdesk_service::outbox::MailSettings;
use xdesk_service::ratelimit::RateLimitSettings;

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
    /// Who xdesk's mail comes from and what the acknowledgement promises.
    pub email: EmailConfig,
    /// Where mail goes out; without it, mail is queued and waits.
    pub smtp: Option<SmtpSettings>,
    /// IMAP mailboxes to poll (`[[mailboxes]]`), created or updated by name at start-up; admins
    /// may add more through the API.
    pub mailboxes: Vec<MailboxInput>,
    /// How the mailbox poller paces itself.
    pub imap: ImapConfig,
    pub chat: ChatConfig,
    pub portal: PortalConfig,
    /// Where tickets go that no rule and no channel setting routes.
    pub routing: RoutingConfig,
    pub triage: TriageConfig,
    /// Redis for the live-event bus shared by several nodes (`redis://127.0.0.1:6379`); without
    /// it, live events stay within this process.
    pub redis_url: Option<String>,
    /// The exchange's connector (`[exchange] url = "https://…", token = "…"`): agents then see
    /// customers' accounts. Without it the console says none is configured.
    pub exchange: Option<ExchangeConfig>,
    /// Nodes for on-chain checks, by network: `[chains] ethereum = "https://…"` (EVM JSON-RPC),
    /// `bitcoin = "https://blockstream.info/api"` (Esplora).
    pub chains: std::collections::BTreeMap<String, String>,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// The key that seals secrets stored in the database (`[secrets]`).
    pub secrets: SecretsConfig,
    /// Rate limits on what anyone may ask (`[limits.verify] max = 60, window_secs = 60`).
    pub limits: RateLimitSettings,
    /// Reverse proxies (address blocks) whose forwarded client address is believed:
    /// `["127.0.0.1/32", "10.0.0.0/8"]`, or in the environment `10.0.0.0/8,127.0.0.1`.
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub trusted_proxies: Vec<String>,
    /// The header those proxies append the client to: `x-forwarded-for` or `forwarded`.
    pub forwarded_header: ForwardedHeader,
    /// Signed checkpoints of every ticket's history, kept outside the database.
    pub anchor: AnchorConfig,
    /// How agents' status follows their sign-ins (`[agents] online_on_sign_in = false`).
    pub agents: AgentsConfig,
    /// How incident updates go out (`[incidents] broadcast_per_second = 200`).
    pub incidents: IncidentsConfig,
    /// Surge alerts (`[surge] interval_secs = 60`).
    pub surge: SurgeConfig,
    /// The public status page (`[status] name = "…", export_dir = "/var/www/status"`).
    pub status: StatusConfig,
}

/// Surge alerts: how often each node looks for new tickets arriving far above their usual rate
/// (see `xdesk_service::surge`). 0 turns the check off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurgeConfig {
    pub interval_secs: u64,
}

impl Default for SurgeConfig {
    fn default() -> Self {
        Self { interval_secs: 60 }
    }
}

/// The public status page: its name, and where a static copy is written after every change
/// (for a CDN or another web server to serve while xdesk or its database is down).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// Shown as the page's title and in `summary.json`; "xdesk status" when empty.
    pub name: String,
    pub export_dir: Option<PathBuf>,
}

/// Incident broadcasts: each node posts at most this many updates per second on linked
/// tickets (each one a message, and for email tickets a mail), so a broadcast to thousands of
/// customers never crowds out the desk's own work or the mail server's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Deliveries all nodes together post per second (set it alike on every node); 0: this
    /// node posts none (others do).
    pub broadcast_per_second: u32,
    /// Seconds a node holds the deliveries it claimed before another may take them over.
    pub lease_secs: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        let d = xdesk_service::incidents::IncidentSettings::default();
        Self {
            broadcast_per_second: d.broadcast_per_second,
            lease_secs: d.lease.as_secs(),
        }
    }
}

/// Agents' status: signing in at the console sets them online unless this is off (then their
/// status stays as it was, offline after they signed out).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    pub online_on_sign_in: bool,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            online_on_sign_in: true,
        }
    }
}

/// `/metrics` is open on the main listener unless a bearer token is set, or it moves to a
/// listener of its own (an internal address the public never reaches).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub token: Option<String>,
    pub listen: Option<String>,
}

/// Where the key for secrets at rest comes from: `key` (base64 of 32 random bytes; best given
/// as `XDESK_SECRETS__KEY`), else `key_file`, else `data_dir/secrets.key`, made on first start.
/// During a rotation the old keys stay readable through `previous_key_files` / `previous_keys`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    pub key: Option<String>,
    pub key_file: Option<PathBuf>,
    #[serde(deserialize_with = "paths_or_comma_separated")]
    pub previous_key_files: Vec<PathBuf>,
    #[serde(deserialize_with = "list_or_comma_separated")]
    pub previous_keys: Vec<String>,
}

impl std::fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsConfig")
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("key_file", &self.key_file)
            .field("previous_key_files", &self.previous_key_files)
            .field("previous_keys", &self.previous_keys.len())
            .finish()
    }
}

/// A list from a file (`["a", "b"]`) or from the environment (`a,b`).
fn list_or_comma_separated<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

fn paths_or_comma_separated<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<PathBuf>, D::Error> {
    Ok(list_or_comma_separated(d)?
        .into_iter()
        .map(PathBuf::from)
        .collect())
}

/// History anchoring: the Ed25519 key that signs checkpoints and the log they are appended to,
/// both outside the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnchorConfig {
    /// File with the hex of the 32-byte key seed; made (mode 0600) when missing.
    /// Default: `<data_dir>/anchor/signing.key`.
    pub key_file: Option<PathBuf>,
    /// The seed itself, e.g. from `XDESK_ANCHOR__KEY`; wins over `key_file`.
    pub key: Option<String>,
    /// The append-only checkpoint log. Default: `<data_dir>/anchor/checkpoints.jsonl`.
    pub log_file: Option<PathBuf>,
    /// Seconds between checkpoints (one is written only when a ticket changed); 0: none on a
    /// schedule, only `xdesk anchor`.
    pub interval_secs: u64,
    /// Each checkpoint line is also POSTed here (JSON), for another system to keep.
    pub webhook_url: Option<String>,
}

impl Default for AnchorConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            key: None,
            log_file: None,
            interval_secs: 300,
            webhook_url: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    pub url: String,
    pub token: String,
    #[serde(default = "ExchangeConfig::default_timeout")]
    pub timeout_secs: u64,
}

impl ExchangeConfig {
    fn default_timeout() -> u64 {
        5
    }
}

/// Live chat: the secret the exchange signs its users' identity claims with (HS256), and the
/// group new chats go to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    pub identity_secret: Option<String>,
    pub group_id: Option<i64>,
    /// Sites whose pages may embed the widget (`["https://www.example.com"]`); empty allows any.
    pub allowed_origins: Vec<String>,
}

/// The customer portal: the group its tickets go to, and (for the demo without SMTP) whether
/// sign-in links are written to the log instead of only waiting in the outbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalConfig {
    pub group_id: Option<i64>,
    /// Never in production: whoever reads the log could sign in as any customer.
    pub log_sign_in_links: bool,
}

/// `[routing] default_group = "Support"`: the group (by name) every ticket joins that no
/// routing rule and no channel's `group_id` sends elsewhere, so that agents see it. Without it
/// such tickets wait in the supervisors' "Unrouted" view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    pub default_group: Option<String>,
}

/// Triage: a missing deposit or withdrawal at or above these amounts (per asset, as decimal
/// text: `[triage.urgent_amounts] USDT = "10000"`) makes a ticket urgent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    pub urgent_amounts: std::collections::BTreeMap<String, String>,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            urgent_amounts: [
                ("USDT", "10000"),
                ("USDC", "10000"),
                ("BTC", "0.2"),
                ("ETH", "3"),
            ]
            .into_iter()
            .map(|(a, n)| (a.to_owned(), n.to_owned()))
            .collect(),
        }
    }
}

impl TriageConfig {
    /// The amounts, checked: each a plain non-negative decimal.
    pub fn urgent_amounts(&self) -> Result<xdesk_domain::triage::UrgentAmounts, String> {
        let mut out = std::collections::HashMap::new();
        for (asset, n) in &self.urgent_amounts {
            let amount = xdesk_domain::crypto::Amount::parse(n)
                .map_err(|e| format!("triage.urgent_amounts.{asset}: {e}"))?;
            out.insert(asset.to_uppercase(), amount.as_decimal());
        }
        Ok(xdesk_domain::triage::UrgentAmounts(out))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImapConfig {
    /// Between polls of a server without IDLE.
    pub poll_secs: u64,
    /// Longest IDLE before polling anyway.
    pub idle_secs: u64,
    /// After a failed connection or login.
    pub retry_secs: u64,
    /// A larger mail is left in the mailbox, not fetched; a flagged ticket says where it is.
    pub max_mail_bytes: u64,
}

impl Default for ImapConfig {
    fn default() -> Self {
        Self {
            poll_secs: 30,
            idle_secs: 300,
            retry_secs: 30,
            max_mail_bytes: xdesk_service::email::MAX_MAIL_BYTES as u64,
        }
    }
}

impl ImapConfig {
    pub fn timing(&self) -> PollTiming {
        PollTiming {
            poll: Duration::from_secs(self.poll_secs.max(1)),
            idle: Duration::from_secs(self.idle_secs.max(1)),
            retry: Duration::from_secs(self.retry_secs.max(1)),
            max_bytes: self.max_mail_bytes.max(1),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub from_address: String,
    pub from_name: String,
    pub first_response_minutes: u32,
}

impl Default for EmailConfig {
    fn default() -> Self {
        let m = MailSettings::default();
        Self {
            from_address: m.from_address,
            from_name: m.from_name,
            first_response_minutes: m.first_response_minutes,
        }
    }
}

impl EmailConfig {
    pub fn settings(&self) -> MailSettings {
        MailSettings {
            from_address: self.from_address.clone(),
            from_name: self.from_name.clone(),
            first_response_minutes: self.first_response_minutes,
        }
    }
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
            email: EmailConfig::default(),
            smtp: None,
            mailboxes: Vec::new(),
            imap: ImapConfig::default(),
            chat: ChatConfig::default(),
            portal: PortalConfig::default(),
            routing: RoutingConfig::default(),
            triage: TriageConfig::default(),
            redis_url: None,
            exchange: None,
            chains: std::collections::BTreeMap::new(),
            metrics: MetricsConfig::default(),
            secrets: SecretsConfig::default(),
            limits: RateLimitSettings::default(),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            anchor: AnchorConfig::default(),
            agents: AgentsConfig::default(),
            incidents: IncidentsConfig::default(),
            surge: SurgeConfig::default(),
            status: StatusConfig::default(),
        }
    }
}

impl Config {
    /// Keys read from `XDESK_*` (`__` for a section: `XDESK_SMTP__HOST`); other `XDESK_`
    /// variables (e.g. `XDESK_LOG`) are not config.
    const FIELDS: &'static [&'static str] = &[
        "listen",
        "database_url",
        "data_dir",
        "public_url",
        "log_format",
        "max_attachment_bytes",
        "email.from_address",
        "email.from_name",
        "email.first_response_minutes",
        "smtp.host",
        "smtp.port",
        "smtp.tls",
        "smtp.username",
        "smtp.password",
        "smtp.password_file",
        "smtp.connections",
        "smtp.ca_file",
        "chat.identity_secret",
        "chat.group_id",
        "chat.allowed_origins",
        "portal.group_id",
        "portal.log_sign_in_links",
        "routing.default_group",
        "incidents.broadcast_per_second",
        "incidents.lease_secs",
        "status.name",
        "status.export_dir",
        "redis_url",
        "exchange.url",
        "exchange.token",
        "exchange.timeout_secs",
        "metrics.token",
        "metrics.listen",
        "secrets.key",
        "secrets.key_file",
        "secrets.previous_key_files",
        "secrets.previous_keys",
        "trusted_proxies",
        "forwarded_header",
        "limits.max_keys",
        "limits.chat_tickets.max",
        "limits.chat_tickets.window_secs",
        "limits.chat_uploads.max",
        "limits.chat_uploads.window_secs",
        "limits.wallet_challenges.max",
        "limits.wallet_challenges.window_secs",
        "limits.verify.max",
        "limits.verify.window_secs",
        "limits.step_up_failures.max",
        "limits.step_up_failures.window_secs",
        "anchor.key_file",
        "anchor.key",
        "anchor.log_file",
        "anchor.interval_secs",
        "anchor.webhook_url",
        "agents.online_on_sign_in",
        "surge.interval_secs",
    ];

    /// Loads `file` (if it exists) and the environment over the defaults.
    pub fn load(file: &Path) -> Result<Self, Box<figment::Error>> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("XDESK_").split("__").only(Self::FIELDS))
            .extract()
            .map_err(Box::new)
    }

    pub fn anchor_key_file(&self) -> PathBuf {
        self.anchor
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("anchor").join("signing.key"))
    }

    pub fn anchor_log_file(&self) -> PathBuf {
        self.anchor
            .log_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("anchor").join("checkpoints.jsonl"))
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
    #[allow(clippy::result_large_err)] // figment's Jail takes a closure returning its Error.
    fn sections_come_from_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "xdesk.toml",
                "[email]\nfrom_address = \"help@ex.test\"\n[smtp]\nhost = \"mail.ex.test\"\ntls = \"tls\"\n",
            )?;
            jail.set_env("XDESK_SMTP__PORT", "465");
            jail.set_env("XDESK_EMAIL__FROM_NAME", "Ex Support");
            let c = Config::load(Path::new("xdesk.toml")).map_err(|e| *e)?;
            assert_eq!(c.email.from_address, "help@ex.test");
            assert_eq!(c.email.from_name, "Ex Support");
            let smtp = c.smtp.unwrap();
            assert_eq!((smtp.host.as_str(), smtp.port), ("mail.ex.test", 465));
            assert_eq!(smtp.tls, xdesk_channels::smtp::SmtpTls::Tls);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn secrets_limits_and_proxies_come_from_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "xdesk.toml",
                "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n[limits.verify]\nmax = 5\nwindow_secs = 10\n[secrets]\nkey_file = \"/etc/xdesk/key\"\n",
            )?;
            let c = Config::load(Path::new("xdesk.toml")).map_err(|e| *e)?;
            assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "::1"]);
            assert_eq!(c.limits.verify, xdesk_service::ratelimit::Rule::new(5, 10));
            assert_eq!(
                c.limits.chat_tickets,
                RateLimitSettings::default().chat_tickets
            );
            assert_eq!(
                c.secrets.key_file.as_deref(),
                Some(Path::new("/etc/xdesk/key"))
            );
            jail.set_env("XDESK_TRUSTED_PROXIES", "127.0.0.1/32, 192.168.0.0/16");
            jail.set_env("XDESK_FORWARDED_HEADER", "forwarded");
            jail.set_env("XDESK_LIMITS__VERIFY__MAX", "7");
            jail.set_env("XDESK_SECRETS__KEY", "a2V5");
            jail.set_env("XDESK_SECRETS__PREVIOUS_KEY_FILES", "/a,/b");
            let c = Config::load(Path::new("xdesk.toml")).map_err(|e| *e)?;
            assert_eq!(c.trusted_proxies, ["127.0.0.1/32", "192.168.0.0/16"]);
            assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
            assert_eq!(c.limits.verify, xdesk_service::ratelimit::Rule::new(7, 10));
            assert_eq!(c.secrets.key.as_deref(), Some("a2V5"));
            assert_eq!(
                c.secrets.previous_key_files,
                [PathBuf::from("/a"), PathBuf::from("/b")]
            );
            assert!(!format!("{c:?}").contains("a2V5"));
            Ok(())
        });
    }

    #[test]
    fn redacts_passwords() {
        let c = Config {
            database_url: "postgres://u:secret@h/db".into(),
            ..Config::default()
        };
        assert_eq!(c.redacted_database_url(), "postgres://u:***@h/db");
    }
}
