//! A Bitcoin-family chain through an Esplora-compatible API (Blockstream's, mempool.space's, or
//! one's own electrs), for on-chain checks: the transaction with its outputs, whether it is in
//! a block, and the tip height for the confirmations. Each output is reported as a transfer,
//! so the check finds the one paying the reported address. One base URL per network
//! (`[chains] bitcoin = "https://blockstream.info/api"`).

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::time::Duration;
use xdesk_domain::onchain::{TokenTransfer, TxFacts};
use xdesk_service::exchange::{BoxFuture, ConnectorError};
use xdesk_service::onchain::ChainReader;

pub struct EsploraReader {
    nodes: BTreeMap<String, String>,
    http: reqwest::Client,
}

fn unavailable(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unavailable(e.to_string())
}

/// Satoshis as whole coins.
fn coins(sats: u64) -> Decimal {
    Decimal::new(i64::try_from(sats).unwrap_or(i64::MAX), 8).normalize()
}

impl EsploraReader {
    pub fn new(nodes: BTreeMap<String, String>, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            nodes,
            http: reqwest::Client::builder().timeout(timeout).build()?,
        })
    }

    async fn facts(&self, base: &str, txid: &str) -> Result<Option<TxFacts>, ConnectorError> {
        let base = base.trim_end_matches('/');
        let r = self
            .http
            .get(format!("{base}/tx/{txid}"))
            .send()
            .await
            .map_err(|e| unavailable(e.without_url()))?;
        if r.status() == reqwest::StatusCode::NOT_FOUND
            || r.status() == reqwest::StatusCode::BAD_REQUEST
        {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(unavailable(format!("HTTP {}", r.status())));
        }
        let tx: serde_json::Value = r.json().await.map_err(|e| unavailable(e.without_url()))?;
        let outputs: Vec<TokenTransfer> = tx["vout"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| {
                Some(TokenTransfer {
                    token: "native".into(),
                    from: String::new(),
                    to: o["scriptpubkey_address"].as_str()?.to_owned(),
                    amount: coins(o["value"].as_u64()?),
                })
            })
            .collect();
        let from = tx["vin"][0]["prevout"]["scriptpubkey_address"]
            .as_str()
            .map(str::to_owned);
        let confirmed = tx["status"]["confirmed"].as_bool().unwrap_or(false);
        let mut facts = TxFacts {
            // A Bitcoin transaction in a block cannot have failed.
            success: confirmed.then_some(true),
            confirmations: 0,
            from,
            to: outputs.first().map(|o| o.to.clone()),
            value: outputs.first().map(|o| o.amount).unwrap_or_default(),
            token_transfers: outputs,
        };
        if let Some(height) = tx["status"]["block_height"].as_u64() {
            let tip: u64 = self
                .http
                .get(format!("{base}/blocks/tip/height"))
                .send()
                .await
                .map_err(|e| unavailable(e.without_url()))?
                .text()
                .await
                .map_err(|e| unavailable(e.without_url()))?
                .trim()
                .parse()
                .map_err(|_| unavailable("tip height is not a number"))?;
            facts.confirmations = tip.saturating_sub(height) + 1;
        }
        Ok(Some(facts))
    }
}

impl ChainReader for EsploraReader {
    fn reads(&self, network: &str) -> bool {
        self.nodes.contains_key(network)
    }

    fn call<'a>(
        &'a self,
        network: &'a str,
        _to: &'a str,
        _data: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move { Err(unavailable(format!("{network} has no contract calls"))) })
    }

    fn transaction<'a>(
        &'a self,
        network: &'a str,
        hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<TxFacts>, ConnectorError>> {
        Box::pin(async move {
            let base = self
                .nodes
                .get(network)
                .ok_or_else(|| unavailable(format!("no node for {network}")))?;
            self.facts(base, hash).await
        })
    }
}
