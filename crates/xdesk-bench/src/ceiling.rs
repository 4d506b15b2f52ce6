//! The ceiling: the rows `POST /api/v1/tickets` writes for one ticket (customer lookup or
//! insert, ticket, tag, first message, two hash-chained events, chain head), inserted straight
//! through the sqlx driver with hand-written SQL. No HTTP, no JSON, no auth, no ORM.
//!
//! Two shapes: one transaction per ticket from as many concurrent tasks as HTTP clients (what
//! the issue calls the direct-insert ceiling), and batches of tickets per transaction from as
//! many tasks as the server has writers (the bound for xdesk's own group commit).

use crate::{BODY, TO_ADDRESS, email, tx_hash};
use chrono::{DateTime, Utc};
use sea_orm::sqlx;
use xdesk_domain::event::{Actor, EventKind, EventRecord, GENESIS_HASH, sha256_hex, storage_time};

const INSERT_TICKET: &str = "INSERT INTO tickets (subject, state, priority, channel, language, \
     category, customer_id, group_id, assignee_id, tags, network, asset, tx_hash, from_address, \
     to_address, amount, memo, occurred_at, version, event_count, head_hash, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22, $23) RETURNING id";
const INSERT_MESSAGE: &str = "INSERT INTO messages (ticket_id, author_kind, author_id, body_text, \
     body_html, internal, channel, metadata, created_at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) \
     RETURNING id";
const INSERT_EVENTS: &str = "INSERT INTO ticket_events (ticket_id, seq, kind, actor, data, \
     created_at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8), \
     ($9, $10, $11, $12, $13, $14, $15, $16)";

fn now() -> DateTime<Utc> {
    storage_time(Utc::now())
}

/// Generates one ceiling function per sqlx database type (the SQL is the same for both).
macro_rules! ceiling_ticket {
    ($one:ident, $batch:ident, $rows:ident, $db:ty) => {
        /// One ticket in its own transaction.
        pub async fn $one(pool: &sqlx::Pool<$db>, actor: &Actor, n: u64) -> Result<(), String> {
            let mut tx = pool.begin().await.map_err(|e| format!("begin: {e}"))?;
            $rows(&mut tx, actor, n).await?;
            tx.commit().await.map_err(|e| format!("commit: {e}"))
        }

        /// Tickets `n * size .. (n + 1) * size` in one transaction.
        pub async fn $batch(
            pool: &sqlx::Pool<$db>,
            actor: &Actor,
            n: u64,
            size: u64,
        ) -> Result<(), String> {
            let mut tx = pool.begin().await.map_err(|e| format!("begin: {e}"))?;
            for i in 0..size {
                $rows(&mut tx, actor, n * size + i).await?;
            }
            tx.commit().await.map_err(|e| format!("commit: {e}"))
        }

        async fn $rows(
            tx: &mut sqlx::Transaction<'_, $db>,
            actor: &Actor,
            n: u64,
        ) -> Result<(), String> {
            let e = |what: &str| {
                let what = what.to_owned();
                move |err: sqlx::Error| format!("{what}: {err}")
            };
            let at = now();
            let address = email(n);
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2",
            )
            .bind("email")
            .bind(&address)
            .fetch_optional(&mut **tx)
            .await
            .map_err(e("identity"))?;
            let customer_id = match known {
                Some(id) => id,
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO customers (display_name, language, created_at) \
                         VALUES ($1, $2, $3) RETURNING id",
                    )
                    .bind(&address)
                    .bind("en")
                    .bind(at)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(e("customer"))?;
                    sqlx::query(
                        "INSERT INTO customer_identities (customer_id, kind, value) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(id)
                    .bind("email")
                    .bind(&address)
                    .execute(&mut **tx)
                    .await
                    .map_err(e("identity insert"))?;
                    id
                }
            };
            let subject = format!("Withdrawal not received #{n}");
            let ticket_id: i64 = sqlx::query_scalar(INSERT_TICKET)
                .bind(&subject)
                .bind("new")
                .bind("high")
                .bind("api")
                .bind("en")
                .bind(None::<String>)
                .bind(customer_id)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(r#"["withdrawal"]"#)
                .bind("tron")
                .bind("USDT")
                .bind(tx_hash(n))
                .bind(None::<String>)
                .bind(TO_ADDRESS)
                .bind("1250.5")
                .bind(None::<String>)
                .bind(None::<DateTime<Utc>>)
                .bind(1_i64)
                .bind(0_i64)
                .bind(GENESIS_HASH)
                .bind(at)
                .bind(at)
                .fetch_one(&mut **tx)
                .await
                .map_err(e("ticket"))?;
            sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2)")
                .bind(ticket_id)
                .bind("withdrawal")
                .execute(&mut **tx)
                .await
                .map_err(e("tag"))?;
            let message_id: i64 = sqlx::query_scalar(INSERT_MESSAGE)
                .bind(ticket_id)
                .bind("customer")
                .bind(customer_id)
                .bind(BODY)
                .bind(None::<String>)
                .bind(false)
                .bind("api")
                .bind("{}")
                .bind(at)
                .fetch_one(&mut **tx)
                .await
                .map_err(e("message"))?;
            let created = EventRecord::seal(
                ticket_id,
                1,
                &EventKind::Created {
                    subject,
                    state: "new".into(),
                    priority: "high".into(),
                    channel: "api".into(),
                    customer_id,
                },
                actor,
                at,
                GENESIS_HASH,
            );
            let message = EventRecord::seal(
                ticket_id,
                2,
                &EventKind::MessageAdded {
                    message_id,
                    internal: false,
                    body_sha256: sha256_hex(BODY.as_bytes()),
                },
                actor,
                at,
                &created.hash,
            );
            let head = message.hash.clone();
            let mut q = sqlx::query(INSERT_EVENTS);
            for r in [created, message] {
                q = q
                    .bind(r.ticket_id)
                    .bind(r.seq)
                    .bind(r.kind)
                    .bind(r.actor)
                    .bind(r.data.to_string())
                    .bind(r.created_at)
                    .bind(r.prev_hash)
                    .bind(r.hash);
            }
            q.execute(&mut **tx).await.map_err(e("events"))?;
            sqlx::query("UPDATE tickets SET event_count = $1, head_hash = $2 WHERE id = $3")
                .bind(2_i64)
                .bind(head)
                .bind(ticket_id)
                .execute(&mut **tx)
                .await
                .map_err(e("head"))?;
            Ok(())
        }
    };
}

ceiling_ticket!(sqlite_ticket, sqlite_batch, sqlite_rows, sqlx::Sqlite);
ceiling_ticket!(
    postgres_ticket,
    postgres_batch,
    postgres_rows,
    sqlx::Postgres
);

/// A pool like the server's writer: one WAL connection for SQLite.
pub async fn sqlite_pool(url: &str) -> Result<sqlx::SqlitePool, sqlx::Error> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    use std::str::FromStr;
    let opts = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(opts)
        .await
}

/// A pool like the server's: 16 connections for PostgreSQL.
pub async fn postgres_pool(url: &str) -> Result<sqlx::PgPool, sqlx::Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect(url)
        .await
}
