//! Which identities are one customer. An identity joined to a customer opens that customer's
//! history to whoever holds it (a portal link mailed to an address, a wallet signature, the
//! exchange's signed token), so joining needs proof: the exchange's backend (an API key with
//! `customers:write`), xdesk's own channels after they verified the identity, or a supervisor
//! approving what an agent proposed. Every link and unlink is audited on the customer.

use crate::{Principal, ServiceError, Services};
use serde_json::json;
use xdesk_domain::FieldError;
use xdesk_domain::identity::{Identity, Role};
use xdesk_store::{CustomerRow, IdentityLinkRow, IdentityRow};

/// A customer found or made for some identities, and the identities that wait for approval.
#[derive(Debug, Clone)]
pub struct CustomerWithLinks {
    pub customer: CustomerRow,
    pub pending: Vec<IdentityLinkRow>,
}

/// Whose word joins identities without a second person: the exchange's backend, which knows
/// its users, and xdesk's own adapters, which verified what they deliver.
fn vouches(p: &Principal) -> bool {
    match p {
        Principal::ApiKey { scopes, .. } => scopes.iter().any(|s| s == "customers:write"),
        Principal::System => true,
        Principal::Agent { .. } | Principal::Customer { .. } => false,
    }
}

/// Supervisors and admins decide on links and unlink.
fn require_supervisor(p: &Principal) -> Result<i64, ServiceError> {
    match p {
        Principal::Agent {
            id,
            role: Role::Supervisor | Role::Admin,
            ..
        } => Ok(*id),
        _ => Err(ServiceError::Forbidden(
            "linking identities is decided by a supervisor".into(),
        )),
    }
}

impl Services {
    async fn audit_customer(
        &self,
        p: &Principal,
        action: &str,
        customer_id: i64,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.audit_admin(
            p.actor().to_string(),
            action,
            format!("customer:{customer_id}"),
            detail,
        )
        .await
    }

    /// The customer these identities name. With proof, they are all joined to it (the
    /// customer made if none exists). Without, the first stored one decides the customer (or
    /// the first given makes a new one) and the others wait for a supervisor as proposals;
    /// identities another customer owns stay theirs.
    pub(crate) async fn customer_for_identities(
        &self,
        p: &Principal,
        identities: &[Identity],
        name: &str,
        language: &str,
    ) -> Result<CustomerWithLinks, ServiceError> {
        if vouches(p) || identities.len() < 2 {
            let customer = self
                .store
                .upsert_customer(identities, name, language)
                .await?;
            return Ok(CustomerWithLinks {
                customer,
                pending: Vec::new(),
            });
        }
        let owners = self.store.identity_owners(identities).await?;
        let customer = match owners.first() {
            Some(o) => self
                .store
                .customer(o.customer_id)
                .await?
                .ok_or(ServiceError::NotFound("customer"))?,
            None => {
                self.store
                    .upsert_customer(&identities[..1], name, language)
                    .await?
            }
        };
        let mut pending = Vec::new();
        for i in identities {
            let owned = owners
                .iter()
                .any(|o| o.kind == i.kind() && o.value == i.value());
            if owned || (owners.is_empty() && i == &identities[0]) {
                continue;
            }
            pending.push(
                self.propose_link(p, customer.id, i, "named with other identities")
                    .await?,
            );
        }
        Ok(CustomerWithLinks { customer, pending })
    }

    async fn propose_link(
        &self,
        p: &Principal,
        customer_id: i64,
        identity: &Identity,
        reason: &str,
    ) -> Result<IdentityLinkRow, ServiceError> {
        let row = self
            .store
            .propose_identity_link(customer_id, identity, &p.actor().to_string(), reason)
            .await?;
        self.audit_customer(
            p,
            "customer.identity_link_proposed",
            customer_id,
            json!({"request": row.id, "kind": row.kind, "value": row.value, "reason": reason}),
        )
        .await?;
        Ok(row)
    }

    /// An agent proposes that an identity is this customer's (a phone call, a ticket from
    /// another address); a supervisor decides. The exchange's backend links at once.
    pub async fn propose_identity_link(
        &self,
        p: &Principal,
        customer_id: i64,
        kind: &str,
        value: &str,
        reason: &str,
    ) -> Result<IdentityLinkRow, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden(
                "agents propose links; the exchange's backend links with POST /customers".into(),
            ));
        }
        self.get_customer_row(p, customer_id).await?;
        let identity = Identity::parse(kind, value)?;
        let reason = reason.trim();
        if !(5..=500).contains(&reason.chars().count()) {
            return Err(FieldError::new("reason", "invalid_reason", "5-500 characters").into());
        }
        if let Some(owner) = self
            .store
            .identity_owners(std::slice::from_ref(&identity))
            .await?
            .first()
        {
            return Err(ServiceError::Conflict(
                if owner.customer_id == customer_id {
                    "the customer has this identity already".into()
                } else {
                    "another customer owns this identity".into()
                },
            ));
        }
        self.propose_link(p, customer_id, &identity, reason).await
    }

    /// A supervisor other than the proposer approves or rejects a waiting link.
    pub async fn decide_identity_link(
        &self,
        p: &Principal,
        customer_id: i64,
        link_id: i64,
        approve: bool,
    ) -> Result<IdentityLinkRow, ServiceError> {
        let me = require_supervisor(p)?;
        let waiting = self
            .store
            .identity_link_requests(customer_id)
            .await?
            .into_iter()
            .find(|r| r.id == link_id)
            .ok_or(ServiceError::NotFound("identity link request"))?;
        if approve && waiting.proposed_by == format!("agent:{me}") {
            return Err(ServiceError::Forbidden(
                "another person approves what you proposed".into(),
            ));
        }
        let row = self
            .store
            .decide_identity_link(customer_id, link_id, approve, &p.actor().to_string())
            .await?;
        let action = if approve {
            "customer.identity_linked"
        } else {
            "customer.identity_link_rejected"
        };
        self.audit_customer(
            p,
            action,
            customer_id,
            json!({"request": row.id, "kind": row.kind, "value": row.value,
                   "proposed_by": row.proposed_by}),
        )
        .await?;
        Ok(row)
    }

    /// [`Services::decide_identity_link`] from a ticket's page: for the ticket's customer, when
    /// the caller may see the ticket.
    pub async fn decide_identity_link_on_ticket(
        &self,
        p: &Principal,
        ticket_id: i64,
        link_id: i64,
        approve: bool,
    ) -> Result<IdentityLinkRow, ServiceError> {
        let t = self.may_see_ticket(p, ticket_id).await?;
        self.decide_identity_link(p, t.customer_id, link_id, approve)
            .await
    }

    /// Takes an identity from a customer (it was never theirs); their portal sessions end.
    pub async fn unlink_identity(
        &self,
        p: &Principal,
        customer_id: i64,
        identity_id: i64,
    ) -> Result<IdentityRow, ServiceError> {
        require_supervisor(p)?;
        let row = self.store.unlink_identity(customer_id, identity_id).await?;
        self.audit_customer(
            p,
            "customer.identity_unlinked",
            customer_id,
            json!({"kind": row.kind, "value": row.value}),
        )
        .await?;
        Ok(row)
    }

    /// A customer's link requests, waiting and decided: shown with the customer.
    pub async fn identity_links(
        &self,
        p: &Principal,
        customer_id: i64,
    ) -> Result<Vec<IdentityLinkRow>, ServiceError> {
        self.get_customer_row(p, customer_id).await?;
        Ok(self.store.identity_link_requests(customer_id).await?)
    }
}
