//! Routing of new tickets to groups by the admins' rules (`xdesk_domain::routing`), from what
//! triage decided, the channel and the customer's tier.

use crate::{Principal, ServiceError, Services};
use serde_json::json;
use std::str::FromStr;
use xdesk_domain::routing::{Facts, Rule, parse_tier, route};
use xdesk_domain::ticket::{Channel, parse_language};
use xdesk_domain::triage::Intent;
use xdesk_store::{NewRoutingRule, RoutingRuleRow, TicketCustomer};

/// Where a new ticket goes when no rule and no channel setting names a group.
#[derive(Debug, Clone, Default)]
pub struct RoutingSettings {
    /// The name of the group every otherwise unrouted ticket joins, so that agents see it.
    /// Without one (or when it names no group) such tickets stay in the supervisors'
    /// "Unrouted" view.
    pub default_group: Option<String>,
}

/// A rule as an admin typed it: empty fields match anything.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    pub intent: Option<String>,
    pub language: Option<String>,
    pub channel: Option<String>,
    pub tier: Option<String>,
    pub group_id: i64,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn rule_of(r: &RoutingRuleRow) -> Rule {
    Rule {
        intent: r.intent.as_deref().and_then(Intent::parse),
        language: r.language.clone(),
        channel: r.channel.clone(),
        tier: r.tier.clone(),
        group_id: r.group_id,
    }
}

impl Services {
    /// The rules, in the order they are tried (admins).
    pub async fn routing_rules(&self, p: &Principal) -> Result<Vec<RoutingRuleRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.routing_rules().await?)
    }

    /// Adds a rule after the others; every condition is checked, and at least one is needed.
    pub async fn add_routing_rule(
        &self,
        p: &Principal,
        r: RuleInput,
    ) -> Result<RoutingRuleRow, ServiceError> {
        p.require_admin()?;
        let intent = given(&r.intent)
            .map(crate::triage::parse_intent)
            .transpose()?;
        let language = given(&r.language).map(parse_language).transpose()?;
        let channel = given(&r.channel)
            .map(Channel::from_str)
            .transpose()?
            .map(|c| c.as_str().to_owned());
        let tier = given(&r.tier).map(parse_tier).transpose()?;
        let rule = Rule {
            intent,
            language: language.clone(),
            channel: channel.clone(),
            tier: tier.clone(),
            group_id: r.group_id,
        };
        rule.validate()?;
        self.check_assignment(Some(r.group_id), None).await?;
        let row = self
            .store
            .add_routing_rule(NewRoutingRule {
                intent: intent.map(|i| i.as_str().to_owned()),
                language,
                channel,
                tier,
                group_id: r.group_id,
            })
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "routing_rule.create",
            format!("routing_rule:{}", row.id),
            json!({"group_id": row.group_id}),
        )
        .await?;
        Ok(row)
    }

    pub async fn delete_routing_rule(&self, p: &Principal, id: i64) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.delete_routing_rule(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "routing_rule.delete",
            format!("routing_rule:{id}"),
            json!({}),
        )
        .await
    }

    /// The customer's tier: as given with the ticket, else as stored for a known customer.
    pub(crate) async fn tier_of(
        &self,
        given: Option<&str>,
        customer: &TicketCustomer,
    ) -> Result<Option<String>, ServiceError> {
        if let Some(t) = given {
            return Ok(Some(parse_tier(t)?));
        }
        let known = match customer {
            TicketCustomer::Id(id) => self.store.customer(*id).await?,
            TicketCustomer::Identities { identities, .. } => {
                let mut found = None;
                for i in identities {
                    found = self.store.customer_by_identity(i).await?;
                    if found.is_some() {
                        break;
                    }
                }
                found
            }
        };
        Ok(known.and_then(|c| c.tier))
    }

    /// The group the first matching rule names for a new ticket, if any. The customer's tier
    /// is looked up only when a rule asks for one.
    pub(crate) async fn route_new(
        &self,
        intent: Intent,
        language: &str,
        channel: &str,
        given_tier: Option<&str>,
        customer: &TicketCustomer,
    ) -> Result<Option<i64>, ServiceError> {
        let rules: Vec<Rule> = self
            .store
            .routing_rules()
            .await?
            .iter()
            .map(rule_of)
            .collect();
        if rules.is_empty() {
            return self.default_group().await;
        }
        let tier = if rules.iter().any(|r| r.tier.is_some()) {
            self.tier_of(given_tier, customer).await?
        } else {
            None
        };
        let facts = Facts {
            intent: Some(intent),
            language,
            channel,
            tier: tier.as_deref(),
        };
        match route(&rules, &facts) {
            Some(g) => Ok(Some(g)),
            None => self.default_group().await,
        }
    }

    /// The configured default group, looked up by name each time so that renaming or
    /// re-creating it takes effect at once.
    pub(crate) async fn default_group(&self) -> Result<Option<i64>, ServiceError> {
        let Some(name) = self.routing.default_group.as_deref().map(str::trim) else {
            return Ok(None);
        };
        match self.store.group_by_name(name).await? {
            Some(g) => Ok(Some(g.id)),
            None => {
                tracing::warn!(
                    group = name,
                    "routing.default_group names no group: the ticket stays unrouted"
                );
                Ok(None)
            }
        }
    }
}
