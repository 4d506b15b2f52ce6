//! What the public status page keeps besides incidents: email subscribers (tokens stored only
//! as hashes), the position of the mailer that follows public updates, and moving a finished
//! incident's history into the past (the demo's and an import's).

use crate::entities::{component_spell, incident, incident_component, incident_update};
use crate::{Store, StoreError};
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
    TransactionTrait,
};

impl Store {
    /// Moves an incident, its updates and the component spells it caused `by` into the past,
    /// so the status page's history shows it where it happened (the demo seeds a resolved
    /// incident weeks ago this way). Spells of its components that began with it or later
    /// move with it.
    pub async fn backdate_incident(&self, id: i64, by: Duration) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let inc = incident::Entity::find_by_id(id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        let since = inc.created_at;
        let mut m = inc.clone().into_active_model();
        m.created_at = Set(inc.created_at - by);
        m.updated_at = Set(inc.updated_at - by);
        m.resolved_at = Set(inc.resolved_at.map(|t| t - by));
        m.starts_at = Set(inc.starts_at.map(|t| t - by));
        m.ends_at = Set(inc.ends_at.map(|t| t - by));
        m.update(&tx).await?;
        for u in incident_update::Entity::find()
            .filter(incident_update::Column::IncidentId.eq(id))
            .all(&tx)
            .await?
        {
            let at = u.created_at;
            let mut u = u.into_active_model();
            u.created_at = Set(at - by);
            u.update(&tx).await?;
        }
        let components: Vec<i64> = incident_component::Entity::find()
            .filter(incident_component::Column::IncidentId.eq(id))
            .all(&tx)
            .await?
            .into_iter()
            .map(|c| c.component_id)
            .collect();
        for s in component_spell::Entity::find()
            .filter(component_spell::Column::ComponentId.is_in(components))
            .filter(component_spell::Column::StartedAt.gte(since))
            .all(&tx)
            .await?
        {
            let (from, until) = (s.started_at, s.ended_at);
            let mut s = s.into_active_model();
            s.started_at = Set(from - by);
            s.ended_at = Set(until.map(|t| t - by));
            s.update(&tx).await?;
        }
        tx.execute_unprepared("UPDATE status_revision SET revision = revision + 1 WHERE id = 1")
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
