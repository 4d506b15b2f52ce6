//! The xdesk application: configuration, start-up and the demo data set. The binary's CLI is
//! in `main.rs`; tests and benchmarks start servers through [`start`].

pub mod allocator;
pub mod anchor;
pub mod backup;
pub mod config;
pub mod demo;
pub mod secrets;
pub mod status_export;

use anyhow::Context;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use xdesk_channels::smtp::OutboxSender;
use xdesk_service::{Limits, Services};
use xdesk_store::Store;

pub use config::{Config, IncidentsConfig};

/// Opens the store, applies migrations, seals secrets still stored in plain text, and returns
/// the services.
pub async fn open(config: &Config) -> anyhow::Result<Services> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let keys = secrets::load_keyring(config)?;
    open_with_keys(config, keys).await
}

/// [`open`] with the keys for secrets at rest given (a key rotation brings its own).
pub async fn open_with_keys(
    config: &Config,
    keys: xdesk_service::sealed::Keyring,
) -> anyhow::Result<Services> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    if let Some(s) = &config.chat.identity_secret {
        xdesk_service::secrets::check_signing_secret("chat.identity_secret", s)
            .map_err(|e| anyhow::anyhow!("chat.identity_secret: {}", e.reason))?;
    }
    let proxies = xdesk_service::client_addr::TrustedProxies::new(
        &config.trusted_proxies,
        config.forwarded_header,
    )
    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
    let store = Store::connect(&config.database_url, &config.data_dir)
        .await
        .with_context(|| format!("connecting to {}", config.redacted_database_url()))?;
    store.migrate().await.context("applying migrations")?;
    let mut services = Services::new(
        store,
        Limits {
            max_attachment_bytes: config.max_attachment_bytes,
            ..Limits::default()
        },
    )
    .with_mail(config.email.settings())
    .with_chat(xdesk_service::chat::ChatSettings {
        identity_secret: config.chat.identity_secret.clone(),
        group_id: config.chat.group_id,
        allowed_origins: config.chat.allowed_origins.clone(),
    })
    .with_incidents(xdesk_service::incidents::IncidentSettings {
        broadcast_per_second: config.incidents.broadcast_per_second,
        lease: std::time::Duration::from_secs(config.incidents.lease_secs.max(1)),
    })
    .with_status_page(xdesk_service::status::StatusPage::new(
        config.status.name.clone(),
        config.status.export_dir.clone(),
    ))
    .with_routing(xdesk_service::routing::RoutingSettings {
        default_group: config
            .routing
            .default_group
            .clone()
            .filter(|g| !g.trim().is_empty()),
    })
    .with_triage(xdesk_service::triage::TriageSettings::with_urgent_amounts(
        config.triage.urgent_amounts().map_err(anyhow::Error::msg)?,
    ))
    .with_rate_limits(&config.limits)
    .with_trusted_proxies(proxies)
    .with_agents(xdesk_service::assignment::AgentSettings {
        online_on_sign_in: config.agents.online_on_sign_in,
    })
    .with_secrets(keys);
    // Secrets written before they were sealed are sealed now, before anything reads them.
    services
        .seal_plaintext_secrets()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("sealing stored secrets")?;
    if let Some(url) = &config.redis_url {
        let bus = xdesk_channels::redis_bus::RedisBus::connect(url)
            .await
            .context("connecting the live-event bus to Redis")?;
        services = services.with_bus(bus);
    }
    if let Some(x) = &config.exchange {
        let connector = xdesk_channels::exchange::HttpConnector::new(
            &xdesk_channels::exchange::ExchangeSettings {
                url: x.url.clone(),
                token: x.token.clone(),
                timeout: std::time::Duration::from_secs(x.timeout_secs.max(1)),
            },
        )
        .context("configuring the exchange connector")?;
        services = services.with_exchange(std::sync::Arc::new(connector));
    }
    services = services.with_anchor(anchor::settings(config).context("history anchoring")?);
    if !config.chains.is_empty() {
        let reader =
            xdesk_channels::evm::Chains::new(&config.chains, std::time::Duration::from_secs(10))
                .context("configuring the chain nodes")?;
        services = services.with_chains(std::sync::Arc::new(reader));
    }
    Ok(services)
}

/// One of this node's search indexes (`data_dir/index/<name>`), derived from the database:
/// on disk, or in memory when another process holds that directory (a second node sharing
/// it). None only if not even memory works; that search then answers nothing.
fn open_search_index<T, E: std::fmt::Display>(
    config: &Config,
    name: &str,
    on_disk: impl FnOnce(&std::path::Path) -> Result<T, E>,
    in_memory: impl FnOnce() -> Result<T, E>,
) -> Option<T> {
    let dir = config.data_dir.join("index").join(name);
    let index = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| on_disk(&dir).map_err(|e| e.to_string()))
        .or_else(|e| {
            tracing::warn!(dir = %dir.display(), error = %e, "search index kept in memory");
            in_memory().map_err(|e| e.to_string())
        });
    match index {
        Ok(i) => Some(i),
        Err(e) => {
            tracing::error!(index = name, error = %e, "no search index: that search answers nothing");
            None
        }
    }
}

/// How often the indexes take what the feeds add. Each step is a commit (a new segment and
/// an fsync), on the same cores as the request handlers; a search catches up first anyway, so
/// a longer pause costs searches nothing and ticket creation less.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps the ticket and article indexes following the change feeds (what other nodes wrote).
async fn follow_tickets(services: xdesk_service::Services) {
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        if let Err(e) = services.follow_ticket_feed().await {
            tracing::warn!(error = %e, "ticket index could not follow the feed; retrying");
        }
        if let Err(e) = services.follow_article_feed().await {
            tracing::warn!(error = %e, "article index could not follow the feed; retrying");
        }
    }
}

/// Fires due SLA timers (warnings, breaches) every second; every node runs it, the jobs
/// table hands each timer to one.
async fn sla_timers(services: xdesk_service::Services) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        loop {
            match services.run_sla_timers(500).await {
                // A full batch: more may be due.
                Ok(run) if run.claimed >= 500 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "SLA timers could not run; retrying");
                    break;
                }
            }
        }
    }
}

/// Every few seconds: tickets of agents offline too long go back to their queues, and groups
/// that assign automatically hand out what waits (a ticket solved or an agent back online
/// frees room). Every node runs it; a versioned change keeps each ticket to one agent.
async fn assignment(services: xdesk_service::Services) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        if let Err(e) = services.run_assignment().await {
            tracing::warn!(error = %e, "assignment could not run; retrying");
        }
    }
}

/// Incidents: links new tickets that match an open incident's rule, starts and completes
/// maintenance windows, and posts queued updates on linked tickets at the configured rate.
/// Every node runs it; the database hands each delivery to one node.
async fn incidents(services: xdesk_service::Services) {
    const TICK: std::time::Duration = std::time::Duration::from_millis(100);
    let per_tick = u64::from(services.incidents.broadcast_per_second)
        .div_ceil(10)
        .max(1);
    let mut last_rules = tokio::time::Instant::now() - std::time::Duration::from_secs(60);
    loop {
        if last_rules.elapsed() >= std::time::Duration::from_secs(1) {
            last_rules = tokio::time::Instant::now();
            if let Err(e) = services.run_incident_rules().await {
                tracing::warn!(error = %e, "incident rules could not run; retrying");
            }
            if let Err(e) = services.run_maintenance().await {
                tracing::warn!(error = %e, "maintenance timers could not run; retrying");
            }
        }
        let started = tokio::time::Instant::now();
        if services.incidents.broadcast_per_second == 0 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        let round = match services.run_incident_deliveries(per_tick).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "incident updates could not be posted; retrying");
                xdesk_service::incidents::BroadcastRound {
                    posted: 0,
                    paced: false,
                }
            }
        };
        // A full batch: more wait, at the rate's pace. The nodes' shared rate used up: the
        // next second. Otherwise sleep until woken or the tick.
        let rest = TICK.saturating_sub(started.elapsed());
        if round.paced {
            let into_second = chrono::Utc::now().timestamp_subsec_millis();
            let to_next = 1000u64.saturating_sub(u64::from(into_second)).max(1);
            tokio::time::sleep(std::time::Duration::from_millis(to_next)).await;
        } else if round.posted as u64 >= per_tick {
            tokio::time::sleep(rest).await;
        } else {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                services.incident_wake.notified(),
            )
            .await;
        }
    }
}

/// Looks for surges of new tickets every `every` (see `xdesk_service::surge`). Every node runs
/// it; a running surge's unique key in the database lets only one node raise it.
async fn surge_checks(services: xdesk_service::Services, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = services.run_surge_check().await {
            tracing::warn!(error = %e, "surge check could not run; retrying");
        }
    }
}

/// Writes the knowledge base into `dir` as files: what an exchange keeps in git.
pub async fn kb_export(config: &Config, dir: &std::path::Path) -> anyhow::Result<usize> {
    let services = open(config).await?;
    let files = services
        .export_kb(&xdesk_service::Principal::System)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(files.len())
}

/// Imports the knowledge-base files in `dir` (`_categories.toml` and `*.md`).
pub async fn kb_import(config: &Config, dir: &std::path::Path) -> anyhow::Result<usize> {
    let mut categories = None;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "_categories.toml" {
            categories = Some(std::fs::read_to_string(&path)?);
        } else if name.ends_with(".md") {
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    let services = open(config).await?;
    let report = services
        .import_kb(
            &xdesk_service::Principal::System,
            categories.as_deref(),
            &files,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(report.translations)
}

/// Rebuilds this node's search indexes from the database, from scratch. The server must be
/// stopped: its indexes are locked while it runs.
pub async fn reindex(config: &Config) -> anyhow::Result<(usize, usize)> {
    use xdesk_search::{articles::ArticleIndex, tickets::TicketIndex};
    use xdesk_service::ticket_search::TicketSearchIndex;
    let services = open(config).await?;
    let dir = config.data_dir.join("index");
    std::fs::create_dir_all(dir.join("articles"))?;
    std::fs::create_dir_all(dir.join("tickets"))?;
    let busy = "is xdesk still running? Stop it first";
    let articles = ArticleIndex::open(&dir.join("articles")).context(busy)?;
    let tickets = TicketIndex::open(&dir.join("tickets")).context(busy)?;
    let services = services
        .with_kb_index(std::sync::Arc::new(std::sync::RwLock::new(articles)))
        .with_ticket_index(TicketSearchIndex::new(tickets));
    let a = services.reindex_kb().await.context("articles")?;
    let t = services.reindex_tickets().await.context("tickets")?;
    Ok((a, t))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub services: Services,
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    pub task: JoinHandle<anyhow::Result<()>>,
}

/// Binds `config.listen` (port 0 picks a free port) and serves until `shutdown` is sent or the
/// process gets SIGINT/SIGTERM; in-flight requests finish before it returns.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    let services = open(config).await?;
    let listener = TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    use xdesk_search::{articles::ArticleIndex, tickets::TicketIndex};
    use xdesk_service::ticket_search::TicketSearchIndex;
    let services = match open_search_index(
        config,
        "articles",
        ArticleIndex::open,
        ArticleIndex::in_memory,
    ) {
        Some(index) => services.with_kb_index(std::sync::Arc::new(std::sync::RwLock::new(index))),
        None => services,
    };
    // The ticket index remembers its feed position: a restart only catches up.
    let services =
        match open_search_index(config, "tickets", TicketIndex::open, TicketIndex::in_memory) {
            Some(index) => services.with_ticket_index(TicketSearchIndex::new(index)),
            None => services,
        };
    let caught_up = services
        .follow_ticket_feed()
        .await
        .context("catching the ticket index up with the database")?;
    tracing::info!(tickets = caught_up, "ticket index caught up");
    services
        .reindex_kb()
        .await
        .context("indexing the knowledge base")?;
    let corrections = services.retrain_triage().await.context("training triage")?;
    tracing::info!(corrections, "triage model trained");
    let services = services.with_portal(xdesk_service::portal::PortalSettings {
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        group_id: config.portal.group_id,
        log_sign_in_links: config.portal.log_sign_in_links,
    });
    let secure_cookies = config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let pages = xdesk_ui::router(services.clone(), secure_cookies);
    let web = xdesk_web::WebSettings {
        secure_cookies,
        metrics_token: config.metrics.token.clone().filter(|t| !t.is_empty()),
        metrics_elsewhere: config.metrics.listen.is_some(),
    };
    let metrics_server = match &config.metrics.listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding metrics listener {addr}"))?;
            let r = xdesk_web::metrics_router(services.clone(), web.clone());
            Some(tokio::spawn(async move { axum::serve(l, r).await }))
        }
        None => None,
    };
    let app = xdesk_web::router(services.clone(), pages, web);
    let sender = match &config.smtp {
        Some(smtp) => {
            let s = OutboxSender::new(services.clone(), smtp.clone())
                .context("configuring the SMTP sender")?;
            Some(tokio::spawn(s.run()))
        }
        None => None,
    };
    services
        .sync_configured_mailboxes(&config.mailboxes)
        .await
        .context("configured mailboxes")?;
    let poller = tokio::spawn(xdesk_channels::imap::run_mailboxes(
        services.clone(),
        config.imap.timing(),
    ));
    let planner = tokio::spawn(refresh_statistics(services.store.clone()));
    let follower = tokio::spawn(follow_tickets(services.clone()));
    let timers = tokio::spawn(sla_timers(services.clone()));
    let assigner = tokio::spawn(assignment(services.clone()));
    let broadcaster = tokio::spawn(incidents(services.clone()));
    let surges = (config.surge.interval_secs > 0).then(|| {
        tokio::spawn(surge_checks(
            services.clone(),
            std::time::Duration::from_secs(config.surge.interval_secs),
        ))
    });
    let status_mailer = tokio::spawn(status_export::mail_subscribers(services.clone()));
    let status_exporter = config
        .status
        .export_dir
        .clone()
        .map(|dir| tokio::spawn(status_export::follow(services.clone(), dir)));
    let anchorer = (config.anchor.interval_secs > 0).then(|| {
        tokio::spawn(anchor::schedule(
            services.clone(),
            std::time::Duration::from_secs(config.anchor.interval_secs),
            config.anchor.webhook_url.clone(),
        ))
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = rx => {}
                _ = shutdown_signal() => {}
            }
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await
        .context("serving HTTP");
        // A mail cut off mid-send stays claimed until its lease ends, then goes again with
        // the same Message-ID.
        if let Some(s) = sender {
            s.abort();
        }
        poller.abort();
        planner.abort();
        if let Some(m) = metrics_server {
            m.abort();
        }
        follower.abort();
        timers.abort();
        assigner.abort();
        broadcaster.abort();
        if let Some(s) = surges {
            s.abort();
        }
        status_mailer.abort();
        if let Some(e) = status_exporter {
            e.abort();
        }
        if let Some(a) = anchorer {
            a.abort();
        }
        served
    });
    Ok(Running {
        addr,
        services,
        shutdown: tx,
        task,
    })
}

/// How often the server checks whether a table changed enough to need fresh planner
/// statistics (one query on `pg_stat_user_tables` when none did).
const STATISTICS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps the query planner's statistics following the tables' growth (see
/// `Store::keep_statistics`): at start, when a demo or an import has just filled the tables,
/// then whenever a table has changed by a tenth since it was last analysed.
async fn refresh_statistics(store: xdesk_store::Store) {
    let mut every = tokio::time::interval(STATISTICS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store.keep_statistics().await {
            Ok(pass) if !pass.analyzed.is_empty() => tracing::info!(
                analyzed = ?pass.analyzed,
                vacuumed = ?pass.vacuumed,
                "refreshed planner statistics"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "refreshing planner statistics failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
