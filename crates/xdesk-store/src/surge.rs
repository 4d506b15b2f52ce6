//! Surges raised (see `xdesk_domain::surge`), and the ticket facts the detector reads.
//!
//! Several nodes run the check against one database. A surge that is still running keeps its
//! key in `active_key`, which is unique: the node whose insert lands raises the alert, every
//! other node's insert of the same key does nothing, and the key is only freed (set to NULL)
//! once the surge has been quiet for a while. Dismissing a surge hides it from supervisors but
//! keeps the key until it is over, so a dismissed surge does not come straight back.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use std::collections::HashMap;

pub(crate) mod entity {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "surges")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// What it is about (`xdesk_domain::surge::SurgeKey::as_key`).
        pub key: String,
        /// The key while the surge runs, NULL once over: unique, so a running surge is raised
        /// once across nodes.
        pub active_key: Option<String>,
        pub intent: Option<String>,
        pub network: Option<String>,
        pub asset: Option<String>,
        /// JSON array of the unusual words its tickets share.
        pub words: String,
        /// JSON array of the ids of the tickets that made it.
        pub ticket_ids: String,
        pub count: i64,
        pub window_minutes: i64,
        /// Tickets the baseline expected in that window.
        pub expected: f64,
        pub summary_en: String,
        pub summary_zh: String,
        pub first_at: DateTimeUtc,
        pub last_at: DateTimeUtc,
        pub raised_at: DateTimeUtc,
        /// The last check that still found it well above its usual rate.
        pub last_seen_at: DateTimeUtc,
        pub dismissed_at: Option<DateTimeUtc>,
        pub dismissed_by: Option<i64>,
        /// The incident started from it, when one was.
        pub incident_id: Option<i64>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

use crate::entities::{message, ticket};

pub type SurgeRow = entity::Model;

impl entity::Model {
    /// The unusual words its tickets share (the `words` column's JSON).
    pub fn word_list(&self) -> Vec<String> {
        serde_json::from_str(&self.words).unwrap_or_default()
    }

    /// The tickets that made it (the `ticket_ids` column's JSON).
    pub fn ticket_id_list(&self) -> Vec<i64> {
        serde_json::from_str(&self.ticket_ids).unwrap_or_default()
    }

    /// Whether it is still running (new tickets keep coming well above the usual rate).
    pub fn running(&self) -> bool {
        self.active_key.is_some()
    }
}

/// A surge to raise.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSurge {
    pub key: String,
    pub intent: Option<String>,
    pub network: Option<String>,
    pub asset: Option<String>,
    pub words: Vec<String>,
    pub ticket_ids: Vec<i64>,
    pub count: i64,
    pub window_minutes: i64,
    pub expected: f64,
    pub summary_en: String,
    pub summary_zh: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// What the detector needs of a ticket (its first message is read apart, see
/// [`Store::surge_first_messages`], only for tickets it has not read yet).
#[derive(Debug, Clone, PartialEq)]
pub struct SurgeTicket {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub intent: Option<String>,
    pub network: Option<String>,
    pub asset: Option<String>,
    pub subject: String,
}

/// Characters of the first message read with a ticket's subject: what the ticket is about is
/// said at the start.
const FIRST_MESSAGE_CHARS: usize = 1_000;

impl Store {
    /// Raises a surge unless one with the same key is still running (on any node). Returns
    /// the new row, or None when another check raised it first.
    pub async fn raise_surge(
        &self,
        s: NewSurge,
        at: DateTime<Utc>,
    ) -> Result<Option<SurgeRow>, StoreError> {
        let json = |v: serde_json::Value| v.to_string();
        let inserted = entity::Entity::insert(entity::ActiveModel {
            key: Set(s.key.clone()),
            active_key: Set(Some(s.key.clone())),
            intent: Set(s.intent),
            network: Set(s.network),
            asset: Set(s.asset),
            words: Set(json(serde_json::json!(s.words))),
            ticket_ids: Set(json(serde_json::json!(s.ticket_ids))),
            count: Set(s.count),
            window_minutes: Set(s.window_minutes),
            expected: Set(s.expected),
            summary_en: Set(s.summary_en),
            summary_zh: Set(s.summary_zh),
            first_at: Set(s.first_at),
            last_at: Set(s.last_at),
            raised_at: Set(at),
            last_seen_at: Set(at),
            dismissed_at: Set(None),
            dismissed_by: Set(None),
            incident_id: Set(None),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(entity::Column::ActiveKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        if inserted == 0 {
            return Ok(None);
        }
        Ok(entity::Entity::find()
            .filter(entity::Column::ActiveKey.eq(s.key))
            .one(&self.db)
            .await?)
    }

    /// The keys of the surges still running.
    pub async fn running_surge_keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(entity::Entity::find()
            .select_only()
            .column(entity::Column::ActiveKey)
            .filter(entity::Column::ActiveKey.is_not_null())
            .into_tuple::<Option<String>>()
            .all(&self.db)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Marks running surges as seen at `at`, and ends (frees the key of) those not seen since
    /// `quiet_since`. Returns how many ended.
    pub async fn touch_surges(
        &self,
        seen: &[String],
        at: DateTime<Utc>,
        quiet_since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if !seen.is_empty() {
            entity::Entity::update_many()
                .col_expr(entity::Column::LastSeenAt, Expr::value(at))
                .filter(entity::Column::ActiveKey.is_in(seen.to_vec()))
                .exec(&self.db)
                .await?;
        }
        let ended = entity::Entity::update_many()
            .col_expr(
                entity::Column::ActiveKey,
                Expr::value(Option::<String>::None),
            )
            .filter(entity::Column::ActiveKey.is_not_null())
            .filter(entity::Column::LastSeenAt.lt(quiet_since))
            .exec(&self.db)
            .await?;
        Ok(ended.rows_affected)
    }

    pub async fn surge(&self, id: i64) -> Result<Option<SurgeRow>, StoreError> {
        Ok(entity::Entity::find_by_id(id).one(&self.read).await?)
    }

    /// Surges raised since `since`, newest first; dismissed ones only when asked.
    pub async fn surges(
        &self,
        since: DateTime<Utc>,
        include_dismissed: bool,
        limit: u64,
    ) -> Result<Vec<SurgeRow>, StoreError> {
        let mut q = entity::Entity::find().filter(entity::Column::RaisedAt.gte(since));
        if !include_dismissed {
            q = q.filter(entity::Column::DismissedAt.is_null());
        }
        Ok(q.order_by_desc(entity::Column::RaisedAt)
            .order_by_desc(entity::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?)
    }

    /// Dismisses a surge once; false when it already was.
    pub async fn dismiss_surge(
        &self,
        id: i64,
        by: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = entity::Entity::update_many()
            .col_expr(entity::Column::DismissedAt, Expr::value(at))
            .col_expr(entity::Column::DismissedBy, Expr::value(by))
            .filter(entity::Column::Id.eq(id))
            .filter(entity::Column::DismissedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }

    /// Records the incident started from a surge.
    pub async fn set_surge_incident(&self, id: i64, incident_id: i64) -> Result<(), StoreError> {
        let row = entity::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("surge"))?;
        let mut am: entity::ActiveModel = row.into();
        am.incident_id = Set(Some(incident_id));
        am.update(&self.db).await?;
        Ok(())
    }

    /// Tickets created in `[from, to)` for the detector, oldest first, at most `limit` (the
    /// newest are kept when there are more).
    pub async fn surge_tickets(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<SurgeTicket>, StoreError> {
        type Cols = (
            i64,
            DateTime<Utc>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
        );
        let mut rows: Vec<Cols> = ticket::Entity::find()
            .select_only()
            .columns([
                ticket::Column::Id,
                ticket::Column::CreatedAt,
                ticket::Column::Intent,
                ticket::Column::Network,
                ticket::Column::Asset,
                ticket::Column::Subject,
            ])
            .filter(ticket::Column::CreatedAt.gte(from))
            .filter(ticket::Column::CreatedAt.lt(to))
            .order_by_desc(ticket::Column::CreatedAt)
            .order_by_desc(ticket::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.read)
            .await?;
        rows.reverse();
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, intent, network, asset, subject)| SurgeTicket {
                    id,
                    created_at,
                    intent,
                    network,
                    asset,
                    subject,
                },
            )
            .collect())
    }

    /// The start of each ticket's first message, by ticket: what the detector reads words
    /// from besides the subject. Only the start is read from the database.
    pub async fn surge_first_messages(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let first: Vec<(i64, String)> = message::Entity::find()
                .select_only()
                .column(message::Column::TicketId)
                .column_as(
                    Expr::cust(format!("SUBSTR(body_text, 1, {FIRST_MESSAGE_CHARS})")),
                    "body",
                )
                .filter(message::Column::TicketId.is_in(crate::id_list(chunk.iter().copied())))
                .filter(message::Column::Seq.eq(1))
                .into_tuple()
                .all(&self.read)
                .await?;
            out.extend(first);
        }
        Ok(out)
    }
}

/// The surges table, and an index on when tickets were created: the check reads the last
/// hour's tickets every minute and a week's once an hour.
pub(crate) struct M0026Surges;

impl MigrationName for M0026Surges {
    fn name(&self) -> &str {
        "m0026_surges"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0026Surges {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let ts = timestamp_with_time_zone;
        m.create_table(
            Table::create()
                .table("surges")
                .col(big_pk_auto("id"))
                .col(string("key"))
                .col(string_null("active_key"))
                .col(string_null("intent"))
                .col(string_null("network"))
                .col(string_null("asset"))
                .col(text("words"))
                .col(text("ticket_ids"))
                .col(big_integer("count"))
                .col(big_integer("window_minutes"))
                .col(double("expected"))
                .col(text("summary_en"))
                .col(text("summary_zh"))
                .col(ts("first_at"))
                .col(ts("last_at"))
                .col(ts("raised_at"))
                .col(ts("last_seen_at"))
                .col(timestamp_with_time_zone_null("dismissed_at"))
                .col(big_integer_null("dismissed_by"))
                .col(big_integer_null("incident_id"))
                .take(),
        )
        .await?;
        for (table, name, cols, unique) in [
            ("surges", "ux_surges_active_key", &["active_key"][..], true),
            ("surges", "ix_surges_raised", &["raised_at"][..], false),
            ("tickets", "ix_tickets_created", &["created_at"][..], false),
        ] {
            m.create_index(crate::migration::index(table, name, cols, unique))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn new(key: &str, at: DateTime<Utc>) -> NewSurge {
        NewSurge {
            key: key.into(),
            intent: Some("deposit_missing".into()),
            network: Some("tron".into()),
            asset: Some("USDT".into()),
            words: vec!["arrived".into()],
            ticket_ids: vec![1, 2, 3],
            count: 37,
            window_minutes: 30,
            expected: 0.4,
            summary_en: "37 tickets in 12 minutes: USDT deposits on Tron".into(),
            summary_zh: "12 分钟内 37 张工单：Tron 上的 USDT 充值未到账".into(),
            first_at: at - Duration::minutes(12),
            last_at: at,
        }
    }

    /// Two nodes raising the same running key: one row, one alert; once it has been quiet
    /// the key is free again.
    #[tokio::test]
    async fn a_running_key_is_raised_once_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, dir.path()).await.unwrap();
        store.migrate().await.unwrap();
        let t0 = crate::now();
        let key = "network:deposit_missing:tron";
        let first = store.raise_surge(new(key, t0), t0).await.unwrap().unwrap();
        assert_eq!(first.active_key.as_deref(), Some(key));
        assert_eq!(first.word_list(), ["arrived"]);
        assert_eq!(first.ticket_id_list(), [1, 2, 3]);
        assert!(store.raise_surge(new(key, t0), t0).await.unwrap().is_none());
        let other = "asset:deposit_missing:USDT";
        assert!(
            store
                .raise_surge(new(other, t0), t0)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.running_surge_keys().await.unwrap().len(), 2);
        // Still seen: it runs on; the other has been quiet and ends.
        let t1 = t0 + Duration::minutes(40);
        let ended = store
            .touch_surges(&[key.to_owned()], t1, t0 + Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(ended, 1);
        assert_eq!(
            store.running_surge_keys().await.unwrap(),
            vec![key.to_owned()]
        );
        assert!(store.raise_surge(new(key, t1), t1).await.unwrap().is_none());
        assert!(
            store
                .raise_surge(new(other, t1), t1)
                .await
                .unwrap()
                .is_some()
        );
        // Dismissed once; hidden from the default list; the incident is remembered.
        assert!(store.dismiss_surge(first.id, Some(4), t1).await.unwrap());
        assert!(!store.dismiss_surge(first.id, Some(4), t1).await.unwrap());
        let listed = store
            .surges(t0 - Duration::hours(1), false, 10)
            .await
            .unwrap();
        assert!(listed.iter().all(|s| s.id != first.id));
        assert_eq!(
            store
                .surges(t0 - Duration::hours(1), true, 10)
                .await
                .unwrap()
                .len(),
            3
        );
        store.set_surge_incident(first.id, 9).await.unwrap();
        assert_eq!(
            store.surge(first.id).await.unwrap().unwrap().incident_id,
            Some(9)
        );
    }
}
