//! SLA storage: calendars, policies, each ticket's clocks, and the durable `jobs` rows that
//! carry their timers. A ticket with a clock to watch has one `sla` job, due at the next
//! warning or breach; nodes claim due jobs with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL), so a restart loses none and two nodes never both take one. A warning or breach
//! is recorded once: its flag is set in the same transaction as the ticket's event, and only
//! if it was not set yet.

use crate::entities::{job, sla_calendar, sla_clock, sla_policy, ticket};
use crate::tickets::{AppliedChange, ChangeSet, apply_change_in};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};

pub type SlaCalendarRow = sla_calendar::Model;
pub type SlaPolicyRow = sla_policy::Model;
pub type SlaClockRow = sla_clock::Model;
pub type JobRow = job::Model;

/// The job kind SLA timers use.
pub const SLA_JOB: &str = "sla";

#[derive(Debug, Clone)]
pub struct NewSlaCalendar {
    pub name: String,
    pub time_zone: Option<String>,
    pub week: String,
    pub holidays: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewSlaPolicy {
    pub name: String,
    pub priority: Option<String>,
    pub intent: Option<String>,
    pub tier: Option<String>,
    pub first_response_minutes: i64,
    pub next_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<i64>,
}

/// What deleting a calendar did: nothing while a policy or a running clock still counts
/// time on it (that clock would silently fall back to 24/7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarDelete {
    Deleted,
    InUse { policies: u64, clocks: u64 },
}

/// A clock as the service computed it, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockWrite {
    pub kind: String,
    pub policy_id: i64,
    pub calendar_id: Option<i64>,
    pub target_secs: i64,
    pub used_secs: i64,
    pub running_since: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub warn_at: Option<DateTime<Utc>>,
}

/// Builds a new ticket's clocks from its row and its customer's tier.
pub type StartClocks = dyn Fn(&crate::TicketRow, Option<&str>) -> Vec<ClockWrite> + Send + Sync;

/// A new ticket's SLA clocks, started in the ticket's own transaction: creating a ticket then
/// costs no second write (on SQLite's single writer, a second transaction per ticket halves
/// the rate). See [`crate::NewTicket::sla`].
#[derive(Clone)]
pub struct SlaStart {
    /// The policy depends on the customer's tier, which is read inside the transaction (the
    /// customer may be created there).
    pub needs_tier: bool,
    pub build: std::sync::Arc<StartClocks>,
}

impl std::fmt::Debug for SlaStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaStart")
            .field("needs_tier", &self.needs_tier)
            .finish_non_exhaustive()
    }
}

/// A clock as a new row: neither warned nor breached yet.
fn clock_row(ticket_id: i64, c: &ClockWrite) -> sla_clock::ActiveModel {
    sla_clock::ActiveModel {
        ticket_id: Set(ticket_id),
        kind: Set(c.kind.clone()),
        policy_id: Set(c.policy_id),
        calendar_id: Set(c.calendar_id),
        target_secs: Set(c.target_secs),
        used_secs: Set(c.used_secs),
        running_since: Set(c.running_since),
        met_at: Set(c.met_at),
        due_at: Set(c.due_at),
        warn_at: Set(c.warn_at),
        warned: Set(false),
        breached: Set(false),
        ..Default::default()
    }
}

/// A new ticket's first clocks, built inside `tx` (before the ticket row, which takes their
/// due time): the customer's tier is read there when the policies need it.
pub(crate) async fn first_clocks_in(
    tx: &impl ConnectionTrait,
    ticket: &crate::TicketRow,
    start: &SlaStart,
) -> Result<Vec<ClockWrite>, StoreError> {
    let tier = if start.needs_tier {
        crate::entities::customer::Entity::find_by_id(ticket.customer_id)
            .one(tx)
            .await?
            .and_then(|c| c.tier)
    } else {
        None
    };
    Ok((start.build)(ticket, tier.as_deref()))
}

/// What starting `clocks` on a new ticket writes: the clock rows, the ticket's job (at its
/// first warning or breach; new clocks are neither yet), and the ticket's due time.
pub(crate) fn started_clocks(
    ticket_id: i64,
    clocks: &[ClockWrite],
) -> (
    Vec<sla_clock::ActiveModel>,
    Option<job::ActiveModel>,
    Option<DateTime<Utc>>,
) {
    let rows = clocks.iter().map(|c| clock_row(ticket_id, c)).collect();
    let unmet = || clocks.iter().filter(|c| c.met_at.is_none());
    let job = unmet()
        .flat_map(|c| [c.warn_at, c.due_at])
        .flatten()
        .min()
        .map(|at| job_row(ticket_id, at));
    (rows, job, unmet().filter_map(|c| c.due_at).min())
}

/// Writes the jobs of new tickets, with the same conflict rule as a reschedule (though none
/// of them has a job yet).
pub(crate) async fn insert_jobs_in(
    tx: &impl ConnectionTrait,
    jobs: Vec<job::ActiveModel>,
) -> Result<(), StoreError> {
    for chunk in crate::chunked(jobs) {
        job::Entity::insert_many(chunk)
            .on_conflict(job_conflict())
            .exec_without_returning(tx)
            .await?;
    }
    Ok(())
}

fn job_row(ticket_id: i64, run_at: DateTime<Utc>) -> job::ActiveModel {
    job::ActiveModel {
        kind: Set(SLA_JOB.to_owned()),
        ticket_id: Set(ticket_id),
        run_at: Set(run_at),
        lease_until: Set(None),
        attempts: Set(0),
        ..Default::default()
    }
}

fn job_conflict() -> OnConflict {
    OnConflict::columns([job::Column::Kind, job::Column::TicketId])
        .update_columns([job::Column::RunAt, job::Column::LeaseUntil])
        .to_owned()
}

/// A step of a clock that happens once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStep {
    Warn,
    Breach,
}

/// When the ticket's job should next run: the earliest warning or breach still to happen.
fn next_run(clocks: &[SlaClockRow]) -> Option<DateTime<Utc>> {
    clocks
        .iter()
        .filter(|c| c.met_at.is_none())
        .flat_map(|c| {
            [
                c.warn_at.filter(|_| !c.warned),
                c.due_at.filter(|_| !c.breached),
            ]
        })
        .flatten()
        .min()
}

impl Store {
    pub async fn add_sla_calendar(&self, c: NewSlaCalendar) -> Result<SlaCalendarRow, StoreError> {
        let row = sla_calendar::ActiveModel {
            name: Set(c.name),
            time_zone: Set(c.time_zone),
            week: Set(c.week),
            holidays: Set(c.holidays),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        self.settings.invalidate();
        Ok(row)
    }

    /// Rewrites a calendar; clocks use it from their next computation on.
    pub async fn update_sla_calendar(
        &self,
        id: i64,
        c: NewSlaCalendar,
    ) -> Result<SlaCalendarRow, StoreError> {
        let Some(row) = sla_calendar::Entity::find_by_id(id).one(&self.db).await? else {
            return Err(StoreError::NotFound("calendar"));
        };
        let mut row: sla_calendar::ActiveModel = row.into();
        row.name = Set(c.name);
        row.time_zone = Set(c.time_zone);
        row.week = Set(c.week);
        row.holidays = Set(c.holidays);
        let row = row.update(&self.db).await?;
        self.settings.invalidate();
        Ok(row)
    }

    /// Deletes a calendar no policy and no running clock uses, in one transaction.
    pub async fn delete_sla_calendar(&self, id: i64) -> Result<CalendarDelete, StoreError> {
        use sea_orm::PaginatorTrait;
        let tx = self.db.begin().await?;
        let policies = sla_policy::Entity::find()
            .filter(sla_policy::Column::CalendarId.eq(id))
            .count(&tx)
            .await?;
        let clocks = sla_clock::Entity::find()
            .filter(sla_clock::Column::CalendarId.eq(id))
            .filter(sla_clock::Column::MetAt.is_null())
            .count(&tx)
            .await?;
        if policies + clocks > 0 {
            return Ok(CalendarDelete::InUse { policies, clocks });
        }
        let done = sla_calendar::Entity::delete_by_id(id).exec(&tx).await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("calendar"));
        }
        tx.commit().await?;
        self.settings.invalidate();
        Ok(CalendarDelete::Deleted)
    }

    pub async fn sla_calendars(&self) -> Result<Vec<SlaCalendarRow>, StoreError> {
        Ok(self.settings().await?.sla_calendars.clone())
    }

    /// Adds a policy after the others.
    pub async fn add_sla_policy(&self, p: NewSlaPolicy) -> Result<SlaPolicyRow, StoreError> {
        let last: Option<i64> = sla_policy::Entity::find()
            .select_only()
            .column_as(sla_policy::Column::Position.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await?
            .flatten();
        let row = sla_policy::ActiveModel {
            position: Set(last.map_or(1, |n| n + 1)),
            name: Set(p.name),
            priority: Set(p.priority),
            intent: Set(p.intent),
            tier: Set(p.tier),
            first_response_minutes: Set(p.first_response_minutes),
            next_response_minutes: Set(p.next_response_minutes),
            resolution_minutes: Set(p.resolution_minutes),
            calendar_id: Set(p.calendar_id),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        self.settings.invalidate();
        Ok(row)
    }

    /// Every policy, in the order they are listed.
    pub async fn sla_policies(&self) -> Result<Vec<SlaPolicyRow>, StoreError> {
        Ok(self.settings().await?.sla_policies.clone())
    }

    pub async fn delete_sla_policy(&self, id: i64) -> Result<(), StoreError> {
        let done = sla_policy::Entity::delete_by_id(id).exec(&self.db).await?;
        self.settings.invalidate();
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("SLA policy"));
        }
        Ok(())
    }

    /// A ticket's clocks.
    pub async fn sla_clocks(&self, ticket_id: i64) -> Result<Vec<SlaClockRow>, StoreError> {
        Ok(sla_clock::Entity::find()
            .filter(sla_clock::Column::TicketId.eq(ticket_id))
            .order_by_asc(sla_clock::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Writes a ticket's clocks (by kind, keeping their warned and breached flags) and
    /// schedules its job at the next warning or breach, or removes it, in one transaction.
    pub async fn save_sla_clocks(
        &self,
        ticket_id: i64,
        clocks: &[ClockWrite],
    ) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        for c in clocks {
            sla_clock::Entity::insert(clock_row(ticket_id, c))
                .on_conflict(
                    OnConflict::columns([sla_clock::Column::TicketId, sla_clock::Column::Kind])
                        .update_columns([
                            sla_clock::Column::PolicyId,
                            sla_clock::Column::CalendarId,
                            sla_clock::Column::TargetSecs,
                            sla_clock::Column::UsedSecs,
                            sla_clock::Column::RunningSince,
                            sla_clock::Column::MetAt,
                            sla_clock::Column::DueAt,
                            sla_clock::Column::WarnAt,
                        ])
                        .to_owned(),
                )
                .exec(&tx)
                .await?;
        }
        reschedule_in(&tx, ticket_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` `kind` jobs due by `at` for `lease`: each goes to one node.
    pub async fn claim_jobs(
        &self,
        kind: &str,
        at: DateTime<Utc>,
        limit: u64,
        lease: chrono::Duration,
    ) -> Result<Vec<JobRow>, StoreError> {
        // Mostly nothing is due: a read finds that without taking the write lock.
        let due = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(job::Column::Kind.eq(kind))
            .filter(job::Column::RunAt.lte(at))
            .into_tuple::<i64>()
            .one(&self.read)
            .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "UPDATE jobs SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM jobs WHERE kind = $2 AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) \
                 ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
            _ => {
                "UPDATE jobs SET lease_until = ?1, attempts = attempts + 1 WHERE id IN \
                 (SELECT id FROM jobs WHERE kind = ?2 AND run_at <= ?3 \
                 AND (lease_until IS NULL OR lease_until < ?3) \
                 ORDER BY run_at LIMIT ?4) RETURNING *"
            }
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [
                (at + lease).into(),
                kind.into(),
                at.into(),
                (limit.min(10_000) as i64).into(),
            ],
        );
        let mut rows = job::Entity::find().from_raw_sql(stmt).all(&self.db).await?;
        rows.sort_by_key(|r| (r.run_at, r.id));
        Ok(rows)
    }

    /// A claimed job is done for now: its ticket's clocks decide when it runs next (or it
    /// goes, when nothing is left to watch).
    pub async fn release_job(&self, ticket_id: i64) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        reschedule_in(&tx, ticket_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many jobs of `kind` wait (for benchmarks and health).
    pub async fn pending_jobs(&self, kind: &str) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(job::Entity::find()
            .filter(job::Column::Kind.eq(kind))
            .count(&self.read)
            .await?)
    }

    /// Records a warning or breach of clock `clock_id` with the ticket's change, once: if
    /// another node recorded it first, nothing is written and None comes back.
    pub async fn sla_step(
        &self,
        clock_id: i64,
        step: SlaStep,
        change: ChangeSet,
    ) -> Result<Option<AppliedChange>, StoreError> {
        let tx = self.db.begin().await?;
        let flag = match step {
            SlaStep::Warn => sla_clock::Column::Warned,
            SlaStep::Breach => sla_clock::Column::Breached,
        };
        let mut claim = sla_clock::Entity::update_many()
            .col_expr(flag, Expr::value(true))
            .filter(sla_clock::Column::Id.eq(clock_id))
            .filter(flag.eq(false));
        if step == SlaStep::Breach {
            // A breach is also past any warning.
            claim = claim.col_expr(sla_clock::Column::Warned, Expr::value(true));
        }
        if claim.exec(&tx).await?.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let applied = apply_change_in(&tx, &change).await?;
        tx.commit().await?;
        Ok(Some(applied))
    }
}

/// Puts the ticket's `sla` job at its clocks' next warning or breach, or removes it, and
/// notes on the ticket when its first running clock is due (the inbox sorts by it).
async fn reschedule_in(tx: &impl ConnectionTrait, ticket_id: i64) -> Result<(), StoreError> {
    let all = sla_clock::Entity::find()
        .filter(sla_clock::Column::TicketId.eq(ticket_id))
        .all(tx)
        .await?;
    let due = all
        .iter()
        .filter(|c| c.met_at.is_none())
        .filter_map(|c| c.due_at)
        .min();
    ticket::Entity::update_many()
        .col_expr(ticket::Column::SlaDueAt, Expr::value(due))
        .filter(ticket::Column::Id.eq(ticket_id))
        .exec(tx)
        .await?;
    schedule_in(tx, ticket_id, next_run(&all)).await
}

/// Puts the ticket's `sla` job at `run_at` (clearing any lease, so a node takes it then), or
/// removes it.
async fn schedule_in(
    tx: &impl ConnectionTrait,
    ticket_id: i64,
    run_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    match run_at {
        Some(at) => {
            job::Entity::insert(job_row(ticket_id, at))
                .on_conflict(job_conflict())
                .exec(tx)
                .await?;
        }
        None => {
            job::Entity::delete_many()
                .filter(job::Column::Kind.eq(SLA_JOB))
                .filter(job::Column::TicketId.eq(ticket_id))
                .exec(tx)
                .await?;
        }
    }
    Ok(())
}
