//! On-chain checks for deposit and withdrawal tickets: the transaction the customer gave is
//! looked up through a configured node (EVM JSON-RPC in `xdesk-channels`), compared with what
//! they reported (`xdesk_domain::onchain` decides), and the diagnosis is written on the ticket
//! as an internal note for the agent (its findings in the note's metadata).

use crate::exchange::{BoxFuture, ConnectorError};
use crate::{Principal, ServiceError, Services};
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::crypto::Network;
use xdesk_domain::onchain::{self, Claim, Finding, TxFacts};
use xdesk_store::{ChangeSet, TicketPatch, TicketRow};

/// Reads transactions from the networks it has a node for.
pub trait ChainReader: Send + Sync + 'static {
    /// Whether a node is configured for `network`.
    fn reads(&self, network: &str) -> bool;
    /// The transaction's facts, or None when the chain does not know the hash.
    fn transaction<'a>(
        &'a self,
        network: &'a str,
        hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<TxFacts>, ConnectorError>>;
    /// A read-only contract call (`eth_call`): the hex it returns. Networks without contracts
    /// refuse.
    fn call<'a>(
        &'a self,
        network: &'a str,
        to: &'a str,
        data: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>>;
}

/// The outcome of a check.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    pub network: String,
    pub tx_hash: String,
    pub findings: Vec<Finding>,
    /// The diagnosis in the ticket's language.
    pub text: String,
}

/// Intents whose tickets are checked on arrival when they carry a transaction hash.
const CHECKED_INTENTS: &[&str] = &["deposit_missing", "withdrawal_delayed"];

impl Services {
    pub fn with_chains(mut self, reader: std::sync::Arc<dyn ChainReader>) -> Self {
        self.chains = Some(reader);
        self
    }

    /// Checks the ticket's transaction on its network and writes the diagnosis on the ticket.
    pub async fn chain_check(
        &self,
        p: &Principal,
        ticket_id: i64,
    ) -> Result<ChainCheck, ServiceError> {
        if !matches!(p, Principal::Agent { .. } | Principal::System) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        let t = match p {
            Principal::System => self
                .store
                .ticket(ticket_id)
                .await?
                .ok_or(ServiceError::NotFound("ticket"))?,
            _ => self.visible_ticket(p, ticket_id).await?,
        };
        let (Some(network), Some(hash)) = (t.network.clone(), t.tx_hash.clone()) else {
            return Err(FieldError::new(
                "tx_hash",
                "missing_transaction",
                "the ticket needs a network and a transaction hash",
            )
            .into());
        };
        let reader = self
            .chains
            .as_ref()
            .filter(|r| r.reads(&network))
            .ok_or_else(|| {
                ServiceError::Conflict(format!("no node is configured for {network}"))
            })?;
        let facts = reader
            .transaction(&network, &hash)
            .await
            .map_err(|e| ServiceError::Upstream(e.to_string()))?;
        let (required_confirmations, block_seconds) = onchain::network_defaults(&network);
        let exchange_addresses = if t.intent.as_deref() == Some("deposit_missing") {
            self.deposit_addresses(p, &t, &network).await
        } else {
            Vec::new()
        };
        let claim = Claim {
            to_address: t.to_address.clone(),
            exchange_addresses,
            amount: t
                .amount
                .as_deref()
                .and_then(|a| rust_decimal::Decimal::from_str(a).ok()),
            memo_missing: Network::from_str(&network).is_ok_and(|n| n.supports_memo())
                && t.intent.as_deref() == Some("deposit_missing")
                && t.memo.is_none(),
            required_confirmations,
            block_seconds,
        };
        let findings = onchain::diagnose(facts.as_ref(), &claim);
        let text = onchain::words(&findings, &t.language);
        self.record_check(&t, &network, &hash, &findings, &text)
            .await?;
        Ok(ChainCheck {
            network,
            tx_hash: hash,
            findings,
            text,
        })
    }

    /// The customer's deposit addresses on `network` as the exchange knows them (empty when
    /// no connector, no exchange account, or the exchange cannot say now). Audited.
    async fn deposit_addresses(&self, p: &Principal, t: &TicketRow, network: &str) -> Vec<String> {
        if self.exchange.is_none() {
            return Vec::new();
        }
        let uid = match self.store.customer_identities(t.customer_id).await {
            Ok(ids) => ids
                .into_iter()
                .find(|i| i.kind == "exchange_uid")
                .map(|i| i.value),
            Err(_) => None,
        };
        let Some(uid) = uid else {
            return Vec::new();
        };
        match self.exchange_deposit_addresses(p, t.id, &uid).await {
            Ok(list) => list
                .into_iter()
                .filter(|a| a.network == network)
                .map(|a| a.address)
                .collect(),
            Err(e) => {
                tracing::warn!(ticket = t.id, error = %e, "deposit addresses not read");
                Vec::new()
            }
        }
    }

    async fn record_check(
        &self,
        t: &TicketRow,
        network: &str,
        hash: &str,
        findings: &[Finding],
        text: &str,
    ) -> Result<(), ServiceError> {
        let mut note = crate::tickets::system_notice(
            &t.channel,
            format!("On-chain check of {hash} on {network}:\n{text}"),
            serde_json::json!({"notice": "chain_check", "findings": findings}),
        );
        note.internal = true;
        self.apply_own_change(t.id, |now| {
            let mut change =
                ChangeSet::system(now.id, now.version, TicketPatch::default(), Vec::new());
            change.notices = vec![note.clone()];
            change
        })
        .await
        .map(|_| ())
    }

    /// A new deposit or withdrawal ticket with a transaction hash is checked at once, when a
    /// node for its network is configured. Logged, never returned.
    pub(crate) async fn chain_check_new(&self, t: &TicketRow) {
        let wanted = t.tx_hash.is_some()
            && t.intent
                .as_deref()
                .is_some_and(|i| CHECKED_INTENTS.contains(&i))
            && t.network
                .as_deref()
                .is_some_and(|n| self.chains.as_ref().is_some_and(|r| r.reads(n)));
        if wanted && let Err(e) = self.chain_check(&Principal::System, t.id).await {
            tracing::warn!(ticket = t.id, error = %e, "on-chain check failed");
        }
    }
}
