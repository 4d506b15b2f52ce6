//! Agents' saved inbox filters: a named combination of text, states, priorities and a tag that
//! shows in the agent's views with its count. Each agent sees and deletes only their own.

use crate::{Principal, ServiceError, Services};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::ticket::{Priority, Tag, TicketState};
use xdesk_store::{SortOrder, TicketFilter, Visibility};

/// What a saved filter selects. Empty parts select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterSpec {
    pub text: Option<String>,
    pub states: Vec<String>,
    pub priorities: Vec<String>,
    pub tag: Option<String>,
}

impl FilterSpec {
    /// Checks every part, so a saved filter never holds a value no ticket can have.
    pub fn validate(&self) -> Result<(), FieldError> {
        for s in &self.states {
            TicketState::from_str(s)?;
        }
        for p in &self.priorities {
            Priority::from_str(p)?;
        }
        if let Some(t) = &self.tag {
            Tag::parse(t)?;
        }
        if self
            .text
            .as_deref()
            .is_some_and(|t| t.chars().count() > 200)
        {
            return Err(FieldError::new(
                "text",
                "invalid_text",
                "at most 200 characters",
            ));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }

    /// The tickets it selects among those `visibility` allows, urgent first then oldest.
    pub fn to_filter(&self, visibility: Visibility, limit: u64) -> TicketFilter {
        TicketFilter {
            text: self.text.clone(),
            states: self.states.clone(),
            priorities: self.priorities.clone(),
            tag: self.tag.clone(),
            sort: SortOrder::PriorityAge,
            limit,
            ..TicketFilter::new(visibility)
        }
    }
}

/// A saved filter as its agent sees it.
#[derive(Debug, Clone)]
pub struct SavedFilter {
    pub id: i64,
    pub name: String,
    pub spec: FilterSpec,
}

/// An agent keeps at most this many.
const MAX_FILTERS: usize = 20;

fn agent_of(p: &Principal) -> Result<i64, ServiceError> {
    match p {
        Principal::Agent { id, .. } => Ok(*id),
        _ => Err(ServiceError::Forbidden("only agents save filters".into())),
    }
}

impl Services {
    pub async fn saved_filters(&self, p: &Principal) -> Result<Vec<SavedFilter>, ServiceError> {
        let me = agent_of(p)?;
        Ok(self
            .store
            .saved_filters(me)
            .await?
            .into_iter()
            .map(|r| SavedFilter {
                id: r.id,
                name: r.name,
                spec: serde_json::from_str(&r.spec).unwrap_or_default(),
            })
            .collect())
    }

    pub async fn save_filter(
        &self,
        p: &Principal,
        name: &str,
        spec: &FilterSpec,
    ) -> Result<SavedFilter, ServiceError> {
        let me = agent_of(p)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(FieldError::new("name", "invalid_name", "1-60 characters").into());
        }
        if spec.is_empty() {
            return Err(
                FieldError::new("filter", "empty_filter", "choose something to filter by").into(),
            );
        }
        spec.validate()?;
        if self.store.saved_filters(me).await?.len() >= MAX_FILTERS {
            return Err(ServiceError::Conflict(format!(
                "at most {MAX_FILTERS} saved filters; delete one first"
            )));
        }
        let json =
            serde_json::to_string(spec).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let row = self.store.create_saved_filter(me, name, &json).await?;
        Ok(SavedFilter {
            id: row.id,
            name: row.name,
            spec: spec.clone(),
        })
    }

    pub async fn delete_saved_filter(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        let me = agent_of(p)?;
        Ok(self.store.delete_saved_filter(me, id).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::FilterSpec;

    #[test]
    fn a_filter_holds_only_values_tickets_can_have() {
        let ok = FilterSpec {
            text: Some("USDT".into()),
            states: vec!["open".into()],
            priorities: vec!["urgent".into()],
            tag: Some("vip".into()),
        };
        assert_eq!(ok.validate(), Ok(()));
        let f = ok.to_filter(xdesk_store::Visibility::All, 50);
        assert_eq!((f.states.len(), f.limit), (1, 50));
        let bad = FilterSpec {
            states: vec!["lost".into()],
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().code, "invalid_state");
        let bad = FilterSpec {
            priorities: vec!["asap".into()],
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().code, "invalid_priority");
        assert!(FilterSpec::default().is_empty());
    }
}
