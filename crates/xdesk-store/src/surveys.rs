//! Satisfaction surveys: offered once per solved ticket, answered once by its link's holder.

use crate::entities::survey;
use crate::{Store, StoreError, now};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

pub type SurveyRow = survey::Model;

impl Store {
    /// Offers a survey for a ticket; None if it already has one.
    pub async fn create_survey(
        &self,
        ticket_id: i64,
        token_hash: &str,
        agent_id: Option<i64>,
        group_id: Option<i64>,
        intent: Option<String>,
    ) -> Result<Option<SurveyRow>, StoreError> {
        if survey::Entity::find()
            .filter(survey::Column::TicketId.eq(ticket_id))
            .one(&self.db)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        match (survey::ActiveModel {
            ticket_id: Set(ticket_id),
            token_hash: Set(token_hash.to_owned()),
            agent_id: Set(agent_id),
            group_id: Set(group_id),
            intent: Set(intent),
            score: Set(None),
            comment: Set(None),
            sent_at: Set(now()),
            answered_at: Set(None),
            ..Default::default()
        })
        .insert(&self.db)
        .await
        {
            Ok(row) => Ok(Some(row)),
            // Offered at the same moment by another request: that one stands.
            Err(e) => match StoreError::from(e) {
                StoreError::Duplicate(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    pub async fn survey_by_token(&self, token_hash: &str) -> Result<Option<SurveyRow>, StoreError> {
        Ok(survey::Entity::find()
            .filter(survey::Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await?)
    }

    /// The survey offered for a ticket, if any (a chat answers it in the widget by its ticket).
    pub async fn survey_for_ticket(&self, ticket_id: i64) -> Result<Option<SurveyRow>, StoreError> {
        Ok(survey::Entity::find()
            .filter(survey::Column::TicketId.eq(ticket_id))
            .one(&self.db)
            .await?)
    }

    /// Records the answer, once: false if it was answered already.
    pub async fn answer_survey(
        &self,
        id: i64,
        score: i32,
        comment: Option<String>,
    ) -> Result<bool, StoreError> {
        let done = survey::Entity::update_many()
            .col_expr(survey::Column::Score, Expr::value(Some(score)))
            .col_expr(survey::Column::Comment, Expr::value(comment))
            .col_expr(survey::Column::AnsweredAt, Expr::value(Some(now())))
            .filter(survey::Column::Id.eq(id))
            .filter(survey::Column::AnsweredAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Every answered survey, for reports.
    pub async fn answered_surveys(&self) -> Result<Vec<SurveyRow>, StoreError> {
        Ok(survey::Entity::find()
            .filter(survey::Column::AnsweredAt.is_not_null())
            .all(&self.read)
            .await?)
    }
}
