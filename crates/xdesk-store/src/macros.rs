//! Macros: canned replies with actions, counted as agents use them.

use crate::entities::ticket_macro;
use crate::{Store, StoreError, now};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

pub type MacroRow = ticket_macro::Model;

#[derive(Debug, Clone, Default)]
pub struct NewMacro {
    pub name: String,
    pub body_en: String,
    pub body_zh: String,
    pub set_state: Option<String>,
    pub add_tags: Vec<String>,
    pub set_group_id: Option<i64>,
}

impl Store {
    pub async fn create_macro(&self, m: NewMacro) -> Result<MacroRow, StoreError> {
        Ok(ticket_macro::ActiveModel {
            name: Set(m.name),
            body_en: Set(m.body_en),
            body_zh: Set(m.body_zh),
            set_state: Set(m.set_state),
            add_tags: Set(serde_json::to_string(&m.add_tags).unwrap_or_else(|_| "[]".into())),
            set_group_id: Set(m.set_group_id),
            usage_count: Set(0),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?)
    }

    /// Rewrites a macro's text and actions; its use count stays.
    pub async fn update_macro(&self, id: i64, m: NewMacro) -> Result<MacroRow, StoreError> {
        let Some(row) = self.ticket_macro(id).await? else {
            return Err(StoreError::NotFound("macro"));
        };
        let mut row: ticket_macro::ActiveModel = row.into();
        row.name = Set(m.name);
        row.body_en = Set(m.body_en);
        row.body_zh = Set(m.body_zh);
        row.set_state = Set(m.set_state);
        row.add_tags = Set(serde_json::to_string(&m.add_tags).unwrap_or_else(|_| "[]".into()));
        row.set_group_id = Set(m.set_group_id);
        Ok(row.update(&self.db).await?)
    }

    /// Every macro, by name.
    pub async fn macros(&self) -> Result<Vec<MacroRow>, StoreError> {
        Ok(ticket_macro::Entity::find()
            .order_by_asc(ticket_macro::Column::Name)
            .all(&self.read)
            .await?)
    }

    pub async fn ticket_macro(&self, id: i64) -> Result<Option<MacroRow>, StoreError> {
        Ok(ticket_macro::Entity::find_by_id(id).one(&self.db).await?)
    }

    pub async fn delete_macro(&self, id: i64) -> Result<(), StoreError> {
        let done = ticket_macro::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("macro"));
        }
        Ok(())
    }

    /// Counts one use.
    pub async fn macro_used(&self, id: i64) -> Result<(), StoreError> {
        ticket_macro::Entity::update_many()
            .col_expr(
                ticket_macro::Column::UsageCount,
                Expr::col(ticket_macro::Column::UsageCount).add(1),
            )
            .filter(ticket_macro::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
