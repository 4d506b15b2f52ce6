//! `xdesk`: the help desk in one binary.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;
use xdesk::{Config, demo};
use xdesk_service::people::CreateAgent;

#[derive(Parser)]
#[command(
    name = "xdesk",
    version,
    about = "Open-source help desk for crypto-asset exchanges"
)]
struct Cli {
    /// Configuration file; missing is fine (defaults and XDESK_* variables apply).
    #[arg(
        long,
        global = true,
        env = "XDESK_CONFIG",
        default_value = "xdesk.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on the embedded SQLite database with demo data.
    Demo,
    /// Run the server from configuration.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Rebuild this node's search indexes from the database (stop the server first).
    Reindex,
    /// Write the whole knowledge base as Markdown files (`<slug>.<lang>.md`, TOML front
    /// matter) and `_categories.toml` into a directory, e.g. a git checkout.
    KbExport { dir: std::path::PathBuf },
    /// Import a directory written by kb-export (or by hand); every file is checked first, and
    /// running servers pick the changes up from the feed.
    KbImport { dir: std::path::PathBuf },
    /// Re-encrypt every secret stored in the database (TOTP secrets, mailbox passwords,
    /// integration signing secrets) in one transaction: with the key in --new-key-file (made
    /// when it does not exist; then point `secrets.key_file` at it, the old key is no longer
    /// needed), or without it with the configured key (to finish a rotation where the old key
    /// is still listed in `secrets.previous_key_files`).
    RotateSecretsKey {
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
    /// Check a ticket's history (its hash chain, message bodies, attachment files and the
    /// head the last checkpoint signed), or every ticket's with --all; exits 1 if any was
    /// tampered with.
    VerifyHistory {
        /// Ticket number (XD-10042) or id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ticket: Option<String>,
        /// Every ticket, against the last checkpoint (whose log and signature are checked too).
        #[arg(long)]
        all: bool,
    },
    /// Sign a checkpoint of every ticket's history now and append it to the checkpoint log.
    Anchor,
    /// Copy the database (SQLite: a consistent copy taken while the server runs; PostgreSQL:
    /// pg_dump), the attachment files and the history checkpoints into a new directory.
    Backup { dir: PathBuf },
    /// Bring a backup back into the configured database and data directory, which must be
    /// empty (stop the server first), then apply this version's migrations.
    Restore { dir: PathBuf },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an agent; the password is read from XDESK_AGENT_PASSWORD or generated and printed.
    CreateAgent {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "agent")]
        role: String,
        /// Group ids to join.
        #[arg(long = "group", value_delimiter = ',')]
        groups: Vec<i64>,
    },
    /// Create an API key for the exchange's backend; it is printed once.
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// Scopes (default: tickets:read,tickets:write,customers:write).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// Delete attachment files that no ticket references (older than an hour).
    CollectFiles,
}

fn init_tracing(json: bool) {
    let filter = EnvFilter::try_from_env("XDESK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

/// Ticket references are `XD-<10000 + id>`; a bare number below that is taken as an id.
fn parse_ticket_ref(s: &str) -> anyhow::Result<i64> {
    let n: xdesk_domain::ticket::TicketNumber = s
        .parse()
        .map_err(|e: xdesk_domain::FieldError| anyhow::anyhow!(e.reason))?;
    let first = xdesk_domain::ticket::TicketNumber::FIRST;
    Ok(
        if s.to_uppercase().starts_with("XD-") || n.value() >= first {
            n.value() - (first - 1)
        } else {
            n.value()
        },
    )
}

fn main() -> anyhow::Result<()> {
    xdesk::allocator::tune_malloc();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(&cli.config).context("reading configuration")?;
    init_tracing(config.log_format == "json");
    match cli.command {
        Command::Demo => run_demo(config).await,
        Command::Serve => serve(config).await,
        Command::Migrate => {
            xdesk::open(&config).await?;
            println!("migrations applied to {}", config.redacted_database_url());
            Ok(())
        }
        Command::Admin { command } => admin(config, command).await,
        Command::KbExport { dir } => {
            let n = xdesk::kb_export(&config, &dir).await?;
            println!("wrote {n} files to {}", dir.display());
            Ok(())
        }
        Command::KbImport { dir } => {
            let n = xdesk::kb_import(&config, &dir).await?;
            println!("imported {n} article files from {}", dir.display());
            Ok(())
        }
        Command::Backup { dir } => {
            let m = xdesk::backup::backup(&config, &dir).await?;
            println!(
                "backed up the {} database, {} files ({} bytes){} into {}",
                m.database,
                m.files,
                m.file_bytes,
                if m.checkpoints {
                    " and the history checkpoints"
                } else {
                    ""
                },
                dir.display()
            );
            println!(
                "the key that seals stored secrets is not in it: keep it (secrets.key_file) apart"
            );
            Ok(())
        }
        Command::Restore { dir } => {
            let m = xdesk::backup::restore(&config, &dir).await?;
            println!(
                "restored the {} database of {} and {} files into {}; check it with `xdesk verify-history --all`",
                m.database,
                m.created_at.to_rfc3339(),
                m.files,
                config.redacted_database_url()
            );
            Ok(())
        }
        Command::Reindex => {
            let (articles, tickets) = xdesk::reindex(&config).await?;
            println!("reindexed {articles} article translations and {tickets} tickets");
            Ok(())
        }
        Command::RotateSecretsKey { new_key_file } => {
            let r = xdesk::secrets::rotate(&config, new_key_file.as_deref()).await?;
            println!(
                "re-encrypted {} stored secrets with key {} (the configured key was {})",
                r.resealed, r.new_key_id, r.old_key_id
            );
            match r.new_key_file {
                Some(f) => println!(
                    "now set secrets.key_file = \"{}\" (or XDESK_SECRETS__KEY_FILE) and start xdesk; \
                     the old key is no longer needed",
                    f.display()
                ),
                None => println!(
                    "keys listed in secrets.previous_key_files / secrets.previous_keys are no longer needed"
                ),
            }
            Ok(())
        }
        Command::VerifyHistory { ticket: None, .. } => {
            let audit = xdesk::anchor::verify_all(&config).await?;
            println!("{}", serde_json::to_string_pretty(&audit)?);
            let mut problems: Vec<String> = audit
                .failed
                .iter()
                .flat_map(xdesk::anchor::ticket_failures)
                .collect();
            problems.extend(xdesk::anchor::log_failure(&audit.log, true));
            if !audit.ok {
                for p in &problems {
                    eprintln!("BROKEN {p}");
                }
                eprintln!(
                    "history verification FAILED ({} of {} tickets failed)",
                    audit.failed.len(),
                    audit.tickets_checked
                );
                std::process::exit(1);
            }
            eprintln!(
                "{} tickets verified against checkpoint ({} grew since, {} are newer)",
                audit.tickets_checked, audit.extended_since_checkpoint, audit.new_since_checkpoint
            );
            Ok(())
        }
        Command::VerifyHistory {
            ticket: Some(ticket),
            ..
        } => {
            let id = parse_ticket_ref(&ticket)?;
            let (audit, log) = xdesk::anchor::verify_ticket(&config, id).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"ticket": audit, "log": log}))?
            );
            let mut problems = xdesk::anchor::ticket_failures(&audit);
            problems.extend(xdesk::anchor::log_failure(&log, false));
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("history of ticket {ticket} is BROKEN: {p}");
                }
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Anchor => {
            let (c, published) = xdesk::anchor::anchor_now(&config).await?;
            println!("{}", c.to_line());
            eprintln!(
                "checkpoint {} over {} tickets appended to {}",
                c.seq,
                c.tickets,
                config.anchor_log_file().display()
            );
            if let Some(e) = published {
                eprintln!("warning: {e:#}");
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let r = xdesk::start(&config).await?;
    tracing::info!(addr = %r.addr, "xdesk listening");
    r.task.await?
}

async fn run_demo(mut config: Config) -> anyhow::Result<()> {
    if !config.database_url.starts_with("sqlite:") {
        bail!(
            "the demo runs on the embedded SQLite database; unset XDESK_DATABASE_URL or use `xdesk serve`"
        );
    }
    // With nowhere to mail them, the demo shows portal sign-in links in its log.
    if config.smtp.is_none() {
        config.portal.log_sign_in_links = true;
    }
    // What no rule routes goes to the demo's catch-all group, where its agents see it.
    if config.routing.default_group.is_none() {
        config.routing.default_group = Some(demo::DEFAULT_GROUP.into());
    }
    // Without an exchange of its own, the demo talks to the reference one, in this process.
    if config.exchange.is_none() {
        let ex = xdesk_demo_exchange::start(xdesk_demo_exchange::DEFAULT_TOKEN)
            .await
            .context("starting the demo exchange")?;
        println!("demo exchange connector at {}", ex.url);
        config.exchange = Some(xdesk::config::ExchangeConfig {
            url: ex.url,
            token: xdesk_demo_exchange::DEFAULT_TOKEN.into(),
            timeout_secs: 5,
        });
    }
    let r = xdesk::start(&config).await?;
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", r.addr));
    match demo::seed(&r.services).await? {
        Some(logins) => {
            println!(
                "\nxdesk demo seeded in {}. Sign in with (shown once):",
                config.data_dir.display()
            );
            for l in logins {
                println!("  {:<11} {:<24} {}", l.role, l.email, l.password);
            }
        }
        None => println!(
            "\nxdesk demo data already present in {} (passwords were shown at the first run).",
            config.data_dir.display()
        ),
    }
    println!("\n  Agent console:         {base}/console");
    println!(
        "  Customer portal:       {base}/portal  (sign-in links appear in this log while no SMTP server is set)"
    );
    println!("  API docs (Swagger UI): {base}/api/docs");
    println!("  OpenAPI document:      {base}/api/openapi.json");
    println!("  Health / metrics:      {base}/healthz  {base}/metrics");
    println!(
        "  Sign in:               curl -X POST {base}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"li.wei@xdesk.example\",\"password\":\"…\"}}'"
    );
    println!("\nPress Ctrl-C to stop.");
    r.task.await?
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let s = xdesk::open(&config).await?;
    match command {
        AdminCommand::CreateAgent {
            email,
            name,
            role,
            groups,
        } => {
            let (password, generated) = match std::env::var("XDESK_AGENT_PASSWORD") {
                Ok(p) => (p, false),
                Err(_) => (demo::password(), true),
            };
            let a = s
                .create_agent(
                    &xdesk_service::Principal::System,
                    CreateAgent {
                        email,
                        display_name: name,
                        role,
                        password: password.clone(),
                        group_ids: groups,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} {} (id {})", a.role, a.email, a.id);
            if generated {
                println!("password: {password}");
            }
        }
        AdminCommand::CreateApiKey { name, scopes } => {
            let (row, key) = s
                .create_api_key(&name, &scopes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created API key `{}` (id {}) with scopes: {}",
                row.name, row.id, row.scopes
            );
            println!("{key}");
            eprintln!("store it now: it is not shown again");
        }
        AdminCommand::CollectFiles => {
            let n = s
                .store
                .collect_unreferenced_files(std::time::Duration::from_secs(3600))
                .await?;
            println!("removed {n} unreferenced attachment files");
        }
    }
    Ok(())
}
