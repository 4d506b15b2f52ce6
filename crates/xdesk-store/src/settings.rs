//! This node's copy of the settings every new ticket consults: groups, routing rules, SLA
//! policies and calendars. Reading them from the database for each ticket cost five queries
//! per creation; they change a few times a day. A change made through this node is seen at
//! once (its writes drop the copy); one made through another node within [`SETTINGS_TTL`].

use crate::entities::{group, routing_rule, sla_calendar, sla_policy};
use crate::{GroupRow, RoutingRuleRow, SlaCalendarRow, SlaPolicyRow, StoreError};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a copy is used before it is read again: the delay before a change made on another
/// node takes effect here.
pub const SETTINGS_TTL: Duration = Duration::from_secs(1);

/// The settings as read at one moment.
#[derive(Debug, Default)]
pub struct Settings {
    /// By id.
    pub groups: Vec<GroupRow>,
    /// In the order they are tried.
    pub routing_rules: Vec<RoutingRuleRow>,
    /// In the order they are listed.
    pub sla_policies: Vec<SlaPolicyRow>,
    /// By id.
    pub sla_calendars: Vec<SlaCalendarRow>,
}

#[derive(Debug, Default)]
pub(crate) struct SettingsCache {
    /// Bumped by every write of a setting through this node.
    generation: AtomicU64,
    /// The copy, when it was read, and the generation it was read at.
    slot: Mutex<Option<(Instant, u64, Arc<Settings>)>>,
    /// One reader at a time: when the copy expires under load, one request reads it again
    /// and the others wait for that copy.
    loading: tokio::sync::Mutex<()>,
}

impl SettingsCache {
    /// Drops the copy: call after a write of a setting has committed.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn fresh(&self) -> Option<Arc<Settings>> {
        let generation = self.generation.load(Ordering::Acquire);
        let (at, g, s) = self.slot.lock().ok()?.clone()?;
        (g == generation && at.elapsed() < SETTINGS_TTL).then_some(s)
    }

    pub(crate) async fn get(&self, read: &DatabaseConnection) -> Result<Arc<Settings>, StoreError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _turn = self.loading.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let generation = self.generation.load(Ordering::Acquire);
        // Read at `generation`: a write committed meanwhile bumps it, so the next call reads
        // again instead of keeping what may predate that write.
        let (groups, routing_rules, sla_policies, sla_calendars) = futures_util::future::try_join4(
            group::Entity::find()
                .order_by_asc(group::Column::Id)
                .all(read),
            routing_rule::Entity::find()
                .order_by_asc(routing_rule::Column::Position)
                .order_by_asc(routing_rule::Column::Id)
                .all(read),
            sla_policy::Entity::find()
                .order_by_asc(sla_policy::Column::Position)
                .order_by_asc(sla_policy::Column::Id)
                .all(read),
            sla_calendar::Entity::find()
                .order_by_asc(sla_calendar::Column::Id)
                .all(read),
        )
        .await?;
        let settings = Arc::new(Settings {
            groups,
            routing_rules,
            sla_policies,
            sla_calendars,
        });
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((Instant::now(), generation, settings.clone()));
        }
        Ok(settings)
    }
}
