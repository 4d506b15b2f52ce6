//! `spawn_app`: a real server on port 0 against a fresh database, with a few fixtures.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use xdesk::{Config, Running};
use xdesk_service::people::CreateAgent;

pub struct TestApp {
    pub base: String,
    pub http: Client,
    pub running: Option<Running>,
    pub config: Config,
    pub _dir: tempfile::TempDir,
    /// Full-access API key for the "exchange backend".
    pub api_key: String,
    pub payments_group: i64,
    pub accounts_group: i64,
    pub agent_token: String,
    pub agent_id: i64,
    pub other_agent_token: String,
    pub supervisor_token: String,
    pub admin_email: String,
    pub password: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A loopback port nothing listens on now, for a server a test starts as its own process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Test databases older than this are dropped by the next test run: no test takes as long,
/// and the server does not fill up with the databases of earlier runs.
const STALE_TEST_DB_SECS: i64 = 3600;

/// A fresh PostgreSQL database for one test, created from the server in the env URL. Its name
/// carries its creation time, so later runs can drop it.
pub async fn fresh_postgres(url: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let name = format!("xdesk_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let admin = xdesk_store::Store::connect(url, &std::env::temp_dir().join("xdesk-pg-admin"))
        .await
        .expect("connect to XDESK_TEST_DATABASE_URL");
    let stale: Vec<String> = admin
        .database_names("xdesk_test_")
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            n.strip_prefix("xdesk_test_")
                .and_then(|rest| rest.split('_').next())
                .and_then(|t| t.parse::<i64>().ok())
                // Names without a time are from before this scheme: stale too.
                .is_none_or(|t| t < now - STALE_TEST_DB_SECS)
        })
        .collect();
    for n in stale {
        // Another test may be dropping it at the same moment; either way it goes.
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"))
            .await;
    }
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

pub enum Db {
    Sqlite,
    Postgres,
}

/// Whether this is a CI run (`CI=true`, as CI services set it): then nothing a test needs
/// may be missing.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The one place a test gives up because `what` (PostgreSQL, Redis, ganache, Chromium, …) is
/// not there: under CI the test fails, elsewhere it says so and the caller returns.
pub fn skip_or_fail(what: &str) {
    assert!(
        !in_ci(),
        "CI=true but {what} is not available: CI runs every test (scripts/test.sh sets it up)"
    );
    eprintln!("{what} is not available: test skipped");
}

/// The PostgreSQL server the PostgreSQL half of the tests uses (`XDESK_TEST_DATABASE_URL`);
/// None (after [`skip_or_fail`]) when it is not set.
pub fn postgres_url() -> Option<String> {
    match std::env::var("XDESK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip_or_fail("PostgreSQL (XDESK_TEST_DATABASE_URL)");
            None
        }
    }
}

/// The Redis of the multi-node tests (`XDESK_TEST_REDIS_URL`, else the local default); None
/// (after [`skip_or_fail`]) when nothing answers there.
pub fn redis_url() -> Option<String> {
    let url =
        std::env::var("XDESK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:6379")
    };
    if std::net::TcpStream::connect(&host).is_ok() {
        Some(url)
    } else {
        skip_or_fail(&format!("Redis ({url})"));
        None
    }
}

pub async fn spawn_app(db: Db) -> Option<TestApp> {
    spawn_app_with(db, |_| {}).await
}

/// [`spawn_app`] with the configuration adjusted first (e.g. an SMTP server).
pub async fn spawn_app_with(db: Db, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}/xdesk.db?mode=rwc", dir.path().display()),
        Db::Postgres => fresh_postgres(&postgres_url()?).await,
    };
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    configure(&mut config);
    let running = xdesk::start(&config).await.expect("server starts");
    // Other nodes a test starts on this database (from this config, with data directories of
    // their own) must open its sealed secrets: they share the key file the first start made.
    if config.secrets.key.is_none() && config.secrets.key_file.is_none() {
        config.secrets.key_file = Some(config.data_dir.join("secrets.key"));
    }
    let s = running.services.clone();
    let payments = s
        .create_group(&xdesk_service::Principal::System, "Payments", "")
        .await
        .unwrap();
    let accounts = s
        .create_group(&xdesk_service::Principal::System, "Accounts", "")
        .await
        .unwrap();
    let mk = |email: &str, role: &str, groups: Vec<i64>| CreateAgent {
        email: email.into(),
        display_name: email.split('@').next().unwrap().into(),
        role: role.into(),
        password: PASSWORD.into(),
        group_ids: groups,
    };
    let agent = s
        .create_agent(
            &xdesk_service::Principal::System,
            mk("agent@x.test", "agent", vec![payments.id]),
        )
        .await
        .unwrap();
    s.create_agent(
        &xdesk_service::Principal::System,
        mk("other@x.test", "agent", vec![accounts.id]),
    )
    .await
    .unwrap();
    s.create_agent(
        &xdesk_service::Principal::System,
        mk("super@x.test", "supervisor", vec![accounts.id]),
    )
    .await
    .unwrap();
    s.create_agent(
        &xdesk_service::Principal::System,
        mk("admin@x.test", "admin", vec![]),
    )
    .await
    .unwrap();
    let (_, api_key) = s.create_api_key("backend", &[]).await.unwrap();
    let mut app = TestApp {
        base: format!("http://{}", running.addr),
        http: Client::new(),
        running: Some(running),
        config,
        _dir: dir,
        api_key,
        payments_group: payments.id,
        accounts_group: accounts.id,
        agent_token: String::new(),
        agent_id: agent.id,
        other_agent_token: String::new(),
        supervisor_token: String::new(),
        admin_email: "admin@x.test".into(),
        password: PASSWORD.into(),
    };
    app.agent_token = app.login("agent@x.test").await;
    app.other_agent_token = app.login("other@x.test").await;
    app.supervisor_token = app.login("super@x.test").await;
    Some(app)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": self.password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {email}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Signs the admin in and enrols TOTP, as an admin must before administering.
    pub async fn admin_token(&self) -> String {
        let token = self.login(&self.admin_email).await;
        self.enrol_totp(&token).await;
        token
    }

    /// Enrols TOTP for the session's agent; returns the secret (base32) for later codes.
    pub async fn enrol_totp(&self, token: &str) -> String {
        let begin: Value = self
            .http
            .post(self.url("/api/v1/auth/totp"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = begin["secret_base32"].as_str().unwrap().to_owned();
        let r = self
            .http
            .post(self.url("/api/v1/auth/totp/confirm"))
            .bearer_auth(token)
            .json(&json!({"code": totp_code(&secret)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        secret
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A ticket's hash-chained events, after checking the chain verifies.
    pub async fn verified_events(&self, id: i64) -> Vec<Value> {
        let h = self
            .get_json(&self.agent_token, &format!("/api/v1/tickets/{id}/history"))
            .await;
        assert_eq!(h["verification"]["valid"], true, "{h}");
        h["events"].as_array().unwrap().clone()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let r = self.get(token, path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.unwrap()
    }

    /// Creates a ticket through the exchange-backend API key and returns the response body.
    pub async fn create_ticket(&self, body: Value) -> Value {
        let r = self.post(&self.api_key, "/api/v1/tickets", body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    /// Delivers one raw mail to the inbound endpoint, as an MTA pipe would.
    pub async fn post_mail(&self, raw: &[u8]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url("/api/v1/channels/email/inbound"))
            .bearer_auth(&self.api_key)
            .header("content-type", "message/rfc822")
            .body(raw.to_vec())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    /// A browser signed in to the portal as customer `customer_id` (as a used sign-in link
    /// leaves it).
    pub async fn portal_as(&self, customer_id: i64) -> crate::web::Web {
        let token = format!("xdc_{}", uuid::Uuid::new_v4().simple());
        self.running
            .as_ref()
            .unwrap()
            .services
            .store
            .create_customer_session(
                &xdesk_service::auth::sha256_hex(&token),
                customer_id,
                chrono::Utc::now() + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
        let mut web = crate::web::Web::new(self);
        web.jar.insert("xdesk_portal".into(), token);
        web
    }

    /// Gives ticket `id` (at `version`) to `agent` as `token`'s caller.
    pub async fn assign(&self, token: &str, id: i64, version: &Value, agent: i64) {
        let r = self
            .patch(
                token,
                &format!("/api/v1/tickets/{id}"),
                json!({"version": version, "assignee_id": agent}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "assign {id} to {agent}");
    }

    /// Moves a ticket to `state` as the agent, from its current version; the ticket after.
    pub async fn set_state(&self, id: i64, state: &str) -> Value {
        let now = self
            .get_json(&self.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        let r = self
            .patch(
                &self.agent_token,
                &format!("/api/v1/tickets/{id}"),
                json!({"version": now["version"], "state": state}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "to {state}");
        r.json().await.unwrap()
    }

    /// The newest ticket that came in on `channel`.
    pub async fn ticket_on(&self, channel: &str) -> Value {
        let list = self
            .get_json(&self.api_key, "/api/v1/tickets?limit=50")
            .await;
        list["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["channel"] == channel)
            .cloned()
            .unwrap_or_else(|| panic!("no {channel} ticket in {list}"))
    }

    pub async fn ticket_count(&self) -> usize {
        let v = self
            .get_json(&self.api_key, "/api/v1/tickets?limit=200")
            .await;
        v["tickets"].as_array().unwrap().len()
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the in-process server but keeps its database and files, for a test that goes on
    /// with `xdesk serve` processes on them.
    pub async fn halt(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = r.shutdown.send(());
            r.task.await.unwrap().unwrap();
            r.services.store.close().await.ok();
        }
    }
}

pub fn totp_code(base32: &str) -> String {
    let secret = totp_rs::Secret::Encoded(base32.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret)
        .unwrap()
        .generate_current()
        .unwrap()
}

/// A ticket body in the payments group with valid crypto fields.
pub fn ticket_body(app: &TestApp, subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "提币未到账，已经等了 6 小时 🚀",
        "customer": {"email": "alice@example.com", "exchange_uid": "U1001", "name": "Alice 王"},
        "priority": "high",
        "group_id": app.payments_group,
        "tags": ["withdrawal", "VIP"],
        "crypto": {
            "network": "ethereum",
            "asset": "usdt",
            "tx_hash": "0x88DF016429689C079F3B2F6AD39FA052532C56795B733DA78A91EBE6A713944B",
            "to_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "amount": "1250.000001",
        }
    })
}

/// A real SMTP server on loopback (aiosmtpd, see scripts/smtp_capture.py) that keeps every
/// message it accepts; stopped when dropped.
pub struct SmtpCapture {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl SmtpCapture {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the server with options of scripts/smtp_capture.py (TLS, a required login).
    pub async fn start_with(options: &[&str]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/smtp_capture.py");
        // scripts/test.sh installs aiosmtpd here; a plain `cargo test` finds it too.
        let cached = std::env::var("HOME").unwrap_or_default() + "/.cache/xdesk-py";
        let path = match std::env::var("PYTHONPATH") {
            Ok(p) if !p.is_empty() => format!("{cached}:{p}"),
            _ => cached,
        };
        let mut child = tokio::process::Command::new("python3")
            .env("PYTHONPATH", path)
            .arg(script)
            .arg(dir.path())
            .args(options)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let out = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::io::BufReader::new(out)
            .read_line(&mut line)
            .await
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP capture server did not start (is aiosmtpd installed? scripts/test.sh installs it): {line:?}")
        });
        Self {
            port,
            dir,
            _child: child,
        }
    }

    /// Settings that send to this server, retrying at once.
    pub fn settings(&self) -> xdesk_channels::smtp::SmtpSettings {
        xdesk_channels::smtp::SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: xdesk_channels::smtp::SmtpTls::None,
            poll_ms: 100,
            retry_base_secs: 0,
            ..Default::default()
        }
    }

    /// The files the server wrote with extension `ext`, oldest first.
    fn files(&self, ext: &str) -> Vec<std::path::PathBuf> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        names.sort();
        names
    }

    /// The client port each message came from, oldest first: one port, one connection.
    pub fn peers(&self) -> Vec<String> {
        self.files("peer")
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        self.files("eml")
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }

    /// Waits (up to 20 s) until `n` messages have arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("expected {n} mails, got {}", self.messages().len());
    }
}

/// A test run on SQLite and again on PostgreSQL, that starts its own app from the [`Db`].
#[macro_export]
macro_rules! backend_test_db {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($db: $crate::support::Db) {
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_url().is_some() {
                    run($crate::support::Db::Postgres).await;
                }
            }
        }
    };
}

/// Declares a test that runs once on SQLite and once on PostgreSQL (when configured).
#[macro_export]
macro_rules! backend_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::support::TestApp) {
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::spawn_app($crate::support::Db::Sqlite)
                    .await
                    .unwrap();
                run(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::spawn_app($crate::support::Db::Postgres).await {
                    run(app).await;
                }
            }
        }
    };
}

/// A real IMAP server on loopback: Debian's dovecot, run in the foreground from a private
/// configuration with one user, `support`/`secret`; stopped when dropped.
pub struct Dovecot {
    pub port: u16,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

pub type ImapSession = async_imap::Session<tokio::net::TcpStream>;

impl Dovecot {
    pub const USER: &'static str = "support";
    pub const PASSWORD: &'static str = "secret";

    pub async fn start() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Dovecot's unprivileged processes must reach their sockets, and the mail user
        // (nobody) must write its maildir.
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["run", "state"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        std::fs::create_dir(d.join("home")).unwrap();
        std::fs::set_permissions(d.join("home"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(
            d.join("passwd"),
            format!("{}:{{PLAIN}}{}::::::\n", Self::USER, Self::PASSWORD),
        )
        .unwrap();
        let port = free_port();
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             instance_name = xdesk-test-{port}\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:{d}/home/%u/Maildir\nfirst_valid_uid = 1\n\
             default_login_user = dovenull\ndefault_internal_user = dovecot\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service stats {{\n  unix_listener stats-reader {{\n    mode = 0666\n  }}\n\
               unix_listener stats-writer {{\n    mode = 0666\n  }}\n}}\n",
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let child = tokio::process::Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(d.join("dovecot.conf"))
            .kill_on_drop(true)
            .spawn()
            .expect("dovecot runs (scripts/test.sh installs Debian's dovecot-imapd)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    _dir: dir,
                    _child: child,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "dovecot did not listen: {}",
            std::fs::read_to_string(d.join("dovecot.log")).unwrap_or_default()
        );
    }

    /// A logged-in session as the test user.
    pub async fn session(&self) -> ImapSession {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client
            .login(Self::USER, Self::PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Delivers a raw message into `folder`, as an MTA would.
    pub async fn deliver(&self, folder: &str, raw: &[u8]) {
        let mut s = self.session().await;
        s.append(folder, None, None, raw).await.unwrap();
        s.logout().await.unwrap();
    }

    /// UIDs in `folder` matching an IMAP search, e.g. `ALL` or `SEEN`.
    pub async fn search(&self, folder: &str, query: &str) -> Vec<u32> {
        let mut s = self.session().await;
        s.select(folder).await.unwrap();
        let mut uids: Vec<u32> = s.uid_search(query).await.unwrap().into_iter().collect();
        uids.sort_unstable();
        s.logout().await.unwrap();
        uids
    }
}

/// Waits (up to 20 s) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A real local EVM node: ganache (from the npm registry, see scripts/test.sh) on a free
/// loopback port, with deterministic unlocked accounts, stopped when dropped.
pub struct Ganache {
    pub url: String,
    http: Client,
    _child: tokio::process::Child,
}

impl Ganache {
    /// None when ganache is not installed (after [`skip_or_fail`]).
    pub async fn start() -> Option<Ganache> {
        let default = format!(
            "{}/.cache/xdesk-node/node_modules/.bin/ganache",
            std::env::var("HOME").unwrap_or_default()
        );
        let bin = std::env::var("XDESK_GANACHE").unwrap_or(default);
        if !std::path::Path::new(&bin).exists() {
            skip_or_fail(&format!("ganache ({bin})"));
            return None;
        }
        let port = free_port();
        let child = tokio::process::Command::new(&bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--wallet.deterministic",
                "--chain.chainId",
                "1337",
                "--logging.quiet",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let g = Ganache {
            url: format!("http://127.0.0.1:{port}"),
            http: Client::new(),
            _child: child,
        };
        for _ in 0..300 {
            if g.try_rpc("eth_chainId", json!([])).await.is_some() {
                return Some(g);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("ganache did not start on {}", g.url);
    }

    async fn try_rpc(&self, method: &str, params: Value) -> Option<Value> {
        let r = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()?.get("result").cloned()
    }

    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .await
            .unwrap_or_else(|| panic!("{method} failed"))
    }

    pub async fn accounts(&self) -> Vec<String> {
        self.rpc("eth_accounts", json!([]))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    /// Sends a real transaction from an unlocked account; its hash.
    pub async fn send(&self, tx: Value) -> String {
        self.rpc("eth_sendTransaction", json!([tx]))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn mine(&self, blocks: u32) {
        for _ in 0..blocks {
            self.rpc("evm_mine", json!([])).await;
        }
    }
}

/// Whether any byte the server keeps on disk (the SQLite files, the attachment store) holds
/// `needle`: what must never be stored stays out of every file.
pub fn stored_bytes_contain(app: &TestApp, needle: &str) -> bool {
    fn walk(dir: &std::path::Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p, needle)
            } else {
                let b = std::fs::read(&p).unwrap_or_default();
                let hit = b.windows(needle.len()).any(|w| w == needle);
                if hit {
                    eprintln!("found in {}", p.display());
                }
                hit
            }
        })
    }
    walk(app._dir.path(), needle.as_bytes())
}

/// A local EVM node (ganache) and an app whose `ethereum` network reads it.
pub async fn app_with_ganache(db: Db) -> Option<(Ganache, TestApp)> {
    let node = Ganache::start().await?;
    let url = node.url.clone();
    let app = spawn_app_with(db, move |c| {
        c.chains.insert("ethereum".into(), url);
    })
    .await?;
    Some((node, app))
}
