//! Planner statistics that follow the tables' growth on PostgreSQL.
//!
//! A plan chosen on statistics from when `tickets` held a few hundred rows scans the whole
//! table once it holds a hundred thousand: measured in the 30-minute soak (issue 20), the
//! repeat-intent query went from an index lookup to ~40 sequential scans a second and the
//! tickets' p99 from 275 ms to 2.7 s, on a server whose `autovacuum` was off. Autovacuum's own
//! rule is the model: a table is analysed once the rows changed since its last analysis
//! exceed a base plus a fraction of its size, so statistics are refreshed at every ~10 %
//! of growth, often while a table is small and rarely once it is large. When autovacuum is
//! off, dead rows are vacuumed by the same rule (otherwise updated tickets bloat without end).

use crate::{Store, StoreError};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Rows changed before a table is analysed, on top of [`ANALYZE_FRACTION`] of its size
/// (PostgreSQL's defaults for `autovacuum_analyze_threshold` and `_scale_factor`).
const ANALYZE_BASE: f64 = 50.0;
const ANALYZE_FRACTION: f64 = 0.1;
/// Dead rows before a table is vacuumed when autovacuum is off (`autovacuum_vacuum_*`).
const VACUUM_BASE: f64 = 50.0;
const VACUUM_FRACTION: f64 = 0.2;

/// What one pass of [`Store::keep_statistics`] did, table by table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatisticsPass {
    pub analyzed: Vec<String>,
    pub vacuumed: Vec<String>,
}

/// One table's counters as PostgreSQL's statistics collector reports them.
#[derive(Debug, Clone, Copy)]
struct TableCounters {
    /// Rows inserted, updated or deleted since the last analysis.
    modified: f64,
    dead: f64,
    /// The planner's row estimate; negative when never analysed.
    estimate: f64,
}

/// Whether the table needs fresh statistics, and (with autovacuum off) a vacuum.
fn due(c: TableCounters, autovacuum: bool) -> (bool, bool) {
    let size = c.estimate.max(0.0);
    let analyze = c.modified > ANALYZE_BASE + ANALYZE_FRACTION * size;
    let vacuum = !autovacuum && c.dead > VACUUM_BASE + VACUUM_FRACTION * size;
    (analyze, vacuum)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Store {
    /// Analyses (and, with autovacuum off, vacuums) the tables that changed enough since
    /// their last analysis; cheap when none did, so the server calls it every half minute.
    /// SQLite is left without statistics on purpose (see [`Store::optimize`]).
    pub async fn keep_statistics(&self) -> Result<StatisticsPass, StoreError> {
        let mut pass = StatisticsPass::default();
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Ok(pass);
        }
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT s.relname, s.n_mod_since_analyze::float8 AS modified, \
                 s.n_dead_tup::float8 AS dead, c.reltuples::float8 AS estimate, \
                 current_setting('autovacuum') = 'on' AS autovacuum \
                 FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
                 WHERE s.schemaname = current_schema() ORDER BY s.relname",
            ))
            .await?;
        for row in rows {
            let name: String = row.try_get("", "relname")?;
            let counters = TableCounters {
                modified: row.try_get("", "modified")?,
                dead: row.try_get("", "dead")?,
                estimate: row.try_get("", "estimate")?,
            };
            let autovacuum: bool = row.try_get("", "autovacuum")?;
            match due(counters, autovacuum) {
                (_, true) => {
                    self.db
                        .execute_unprepared(&format!("VACUUM (ANALYZE) {}", quoted(&name)))
                        .await?;
                    pass.vacuumed.push(name.clone());
                    pass.analyzed.push(name);
                }
                (true, false) => {
                    self.db
                        .execute_unprepared(&format!("ANALYZE {}", quoted(&name)))
                        .await?;
                    pass.analyzed.push(name);
                }
                (false, false) => {}
            }
        }
        Ok(pass)
    }
}

#[cfg(test)]
mod tests {
    use super::{TableCounters, due, quoted};

    fn counters(modified: f64, dead: f64, estimate: f64) -> TableCounters {
        TableCounters {
            modified,
            dead,
            estimate,
        }
    }

    #[test]
    fn a_table_is_analysed_at_every_tenth_of_growth() {
        // Never analysed (estimate -1): the base alone decides.
        assert_eq!(due(counters(51.0, 0.0, -1.0), true), (true, false));
        assert_eq!(due(counters(50.0, 0.0, -1.0), true), (false, false));
        // 100,000 rows: 10,050 changes are needed, not 51.
        assert_eq!(
            due(counters(10_000.0, 0.0, 100_000.0), true),
            (false, false)
        );
        assert_eq!(due(counters(10_051.0, 0.0, 100_000.0), true), (true, false));
    }

    #[test]
    fn dead_rows_are_vacuumed_only_when_autovacuum_is_off() {
        assert_eq!(
            due(counters(0.0, 30_000.0, 100_000.0), true),
            (false, false)
        );
        assert_eq!(
            due(counters(0.0, 30_000.0, 100_000.0), false),
            (false, true)
        );
        assert_eq!(
            due(counters(0.0, 20_000.0, 100_000.0), false),
            (false, false)
        );
    }

    #[test]
    fn table_names_are_quoted_as_identifiers() {
        assert_eq!(quoted("tickets"), "\"tickets\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
