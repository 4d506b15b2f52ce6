//! What PostgreSQL did per created ticket, from its own statistics views: scans, index
//! lookups and rows written per table, and transactions. Taken before and after a load, it
//! says where the database's share of a ticket's cost goes without a profiler.

use sea_orm::sqlx::{self, Row};
use std::collections::BTreeMap;

/// Counters of one table: sequential scans, index scans, rows inserted, updated, deleted.
type Counters = [i64; 5];

/// A snapshot of the current database's counters.
pub struct Snapshot {
    tables: BTreeMap<String, Counters>,
    commits: i64,
    tickets: i64,
}

impl Snapshot {
    pub async fn take(pool: &sqlx::PgPool) -> Result<Self, sqlx::Error> {
        // A backend publishes its counters within a second of going idle.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let rows = sqlx::query(
            "SELECT relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan, n_tup_ins, \
             n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE schemaname = current_schema()",
        )
        .fetch_all(pool)
        .await?;
        let mut tables = BTreeMap::new();
        for r in rows {
            tables.insert(
                r.try_get::<String, _>("relname")?,
                [
                    r.try_get("seq_scan")?,
                    r.try_get("idx_scan")?,
                    r.try_get("n_tup_ins")?,
                    r.try_get("n_tup_upd")?,
                    r.try_get("n_tup_del")?,
                ],
            );
        }
        let commits: i64 = sqlx::query_scalar(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(pool)
        .await?;
        let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
            .fetch_one(pool)
            .await?;
        Ok(Self {
            tables,
            commits,
            tickets,
        })
    }

    /// Prints, per ticket created since `before`, what each table saw (tables with nothing
    /// left out) and the transactions committed.
    pub fn print_since(&self, before: &Snapshot) {
        let tickets = (self.tickets - before.tickets).max(1) as f64;
        println!(
            "  PostgreSQL per ticket ({} tickets): {:.2} transactions committed",
            self.tickets - before.tickets,
            (self.commits - before.commits) as f64 / tickets
        );
        println!("    table: seq scans / index scans / rows inserted / updated / deleted");
        for (name, now) in &self.tables {
            let was = before.tables.get(name).copied().unwrap_or_default();
            let d: Vec<f64> = now
                .iter()
                .zip(was)
                .map(|(n, w)| (n - w) as f64 / tickets)
                .collect();
            if d.iter().all(|v| *v < 0.005) {
                continue;
            }
            println!(
                "    {name}: {:.2} / {:.2} / {:.2} / {:.2} / {:.2}",
                d[0], d[1], d[2], d[3], d[4]
            );
        }
    }
}
