//! Routing rules, in the order they are tried, and customers' tiers.

use crate::entities::{customer, routing_rule};
use crate::{Store, StoreError, now};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

pub type RoutingRuleRow = routing_rule::Model;

/// A rule to add; conditions left `None` match anything.
#[derive(Debug, Clone, Default)]
pub struct NewRoutingRule {
    pub intent: Option<String>,
    pub language: Option<String>,
    pub channel: Option<String>,
    pub tier: Option<String>,
    pub group_id: i64,
}

impl Store {
    /// Every rule, in the order they are tried.
    pub async fn routing_rules(&self) -> Result<Vec<RoutingRuleRow>, StoreError> {
        Ok(self.settings().await?.routing_rules.clone())
    }

    /// Adds a rule after the others.
    pub async fn add_routing_rule(&self, r: NewRoutingRule) -> Result<RoutingRuleRow, StoreError> {
        let last: Option<i64> = routing_rule::Entity::find()
            .select_only()
            .column_as(routing_rule::Column::Position.max(), "max")
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await?
            .flatten();
        let row = routing_rule::ActiveModel {
            position: Set(last.map_or(1, |p| p + 1)),
            intent: Set(r.intent),
            language: Set(r.language),
            channel: Set(r.channel),
            tier: Set(r.tier),
            group_id: Set(r.group_id),
            created_at: Set(now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        self.settings.invalidate();
        Ok(row)
    }

    pub async fn delete_routing_rule(&self, id: i64) -> Result<(), StoreError> {
        let done = routing_rule::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        self.settings.invalidate();
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("routing rule"));
        }
        Ok(())
    }

    /// Records the tier the exchange gave for a customer.
    pub async fn set_customer_tier(&self, customer_id: i64, tier: &str) -> Result<(), StoreError> {
        customer::Entity::update_many()
            .col_expr(customer::Column::Tier, Expr::value(tier))
            .filter(customer::Column::Id.eq(customer_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
