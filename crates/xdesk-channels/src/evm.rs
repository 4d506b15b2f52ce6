//! An EVM node over JSON-RPC, for on-chain checks: the transaction, its receipt (status, block,
//! ERC-20 `Transfer` logs, with each token's `decimals()`), and the chain's height for the
//! confirmations. One RPC URL per network (`[chains] ethereum = "https://…"`).

use std::collections::BTreeMap;
use std::time::Duration;
use xdesk_domain::onchain::{TokenTransfer, TxFacts, from_base_units, hex_quantity};
use xdesk_service::exchange::{BoxFuture, ConnectorError};
use xdesk_service::onchain::ChainReader;

/// keccak256("Transfer(address,address,uint256)").
const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

pub struct EvmReader {
    nodes: BTreeMap<String, String>,
    http: reqwest::Client,
}

fn unavailable(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unavailable(e.to_string())
}

/// The address in a 32-byte log topic.
fn topic_address(topic: &str) -> Option<String> {
    let hex = topic.strip_prefix("0x")?;
    (hex.len() == 64).then(|| format!("0x{}", &hex[24..]))
}

impl EvmReader {
    /// `nodes`: network name (`ethereum`, `bsc`, …) to RPC URL.
    pub fn new(nodes: BTreeMap<String, String>, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            nodes,
            http: reqwest::Client::builder().timeout(timeout).build()?,
        })
    }

    async fn rpc(
        &self,
        url: &str,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, ConnectorError> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let r: serde_json::Value = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| unavailable(e.without_url()))?
            .json()
            .await
            .map_err(|e| unavailable(e.without_url()))?;
        if let Some(e) = r.get("error") {
            return Err(unavailable(format!("{method}: {e}")));
        }
        Ok(r.get("result").cloned().unwrap_or_default())
    }

    async fn decimals(&self, url: &str, token: &str) -> Option<u32> {
        let r = self
            .rpc(
                url,
                "eth_call",
                serde_json::json!([{"to": token, "data": "0x313ce567"}, "latest"]),
            )
            .await
            .ok()?;
        hex_quantity(r.as_str()?).and_then(|d| u32::try_from(d).ok())
    }

    async fn facts(&self, url: &str, hash: &str) -> Result<Option<TxFacts>, ConnectorError> {
        let tx = self
            .rpc(url, "eth_getTransactionByHash", serde_json::json!([hash]))
            .await?;
        if tx.is_null() {
            return Ok(None);
        }
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().map(str::to_owned);
        let value = text(&tx, "value")
            .and_then(|v| hex_quantity(&v))
            .and_then(|v| from_base_units(v, 18))
            .unwrap_or_default();
        let receipt = self
            .rpc(url, "eth_getTransactionReceipt", serde_json::json!([hash]))
            .await?;
        let mut facts = TxFacts {
            success: None,
            confirmations: 0,
            from: text(&tx, "from"),
            to: text(&tx, "to"),
            value,
            token_transfers: Vec::new(),
        };
        if receipt.is_null() {
            return Ok(Some(facts));
        }
        facts.success = text(&receipt, "status").map(|s| s == "0x1");
        let tip = self
            .rpc(url, "eth_blockNumber", serde_json::json!([]))
            .await?;
        let block = text(&receipt, "blockNumber").and_then(|b| hex_quantity(&b));
        let tip = tip.as_str().and_then(hex_quantity);
        if let (Some(block), Some(tip)) = (block, tip) {
            facts.confirmations = u64::try_from(tip.saturating_sub(block) + 1).unwrap_or(u64::MAX);
        }
        for log in receipt["logs"].as_array().into_iter().flatten() {
            let topics: Vec<&str> = log["topics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .collect();
            if topics.len() != 3 || !topics[0].eq_ignore_ascii_case(TRANSFER_TOPIC) {
                continue;
            }
            let (Some(token), Some(from), Some(to)) = (
                text(log, "address"),
                topic_address(topics[1]),
                topic_address(topics[2]),
            ) else {
                continue;
            };
            let raw = text(log, "data")
                .and_then(|d| hex_quantity(&d))
                .unwrap_or(0);
            let decimals = self.decimals(url, &token).await.unwrap_or(18);
            facts.token_transfers.push(TokenTransfer {
                token,
                from,
                to,
                amount: from_base_units(raw, decimals).unwrap_or_default(),
            });
        }
        Ok(Some(facts))
    }
}

impl ChainReader for EvmReader {
    fn reads(&self, network: &str) -> bool {
        self.nodes.contains_key(network)
    }

    fn call<'a>(
        &'a self,
        network: &'a str,
        to: &'a str,
        data: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        Box::pin(async move {
            let url = self
                .nodes
                .get(network)
                .ok_or_else(|| unavailable(format!("no node for {network}")))?;
            let r = self
                .rpc(
                    url,
                    "eth_call",
                    serde_json::json!([{"to": to, "data": data}, "latest"]),
                )
                .await?;
            Ok(r.as_str().unwrap_or_default().to_owned())
        })
    }

    fn transaction<'a>(
        &'a self,
        network: &'a str,
        hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<TxFacts>, ConnectorError>> {
        Box::pin(async move {
            let url = self
                .nodes
                .get(network)
                .ok_or_else(|| unavailable(format!("no node for {network}")))?;
            self.facts(url, hash).await
        })
    }
}

/// Every configured node behind one reader: EVM networks over JSON-RPC, Bitcoin-family ones
/// over Esplora.
pub struct Chains {
    evm: EvmReader,
    esplora: crate::esplora::EsploraReader,
}

impl Chains {
    /// `nodes`: network name to URL; each network goes to the client that speaks its API.
    pub fn new(
        nodes: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let (esplora, evm): (BTreeMap<_, _>, BTreeMap<_, _>) = nodes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .partition(|(k, _)| matches!(k.as_str(), "bitcoin" | "litecoin" | "dogecoin"));
        Ok(Self {
            evm: EvmReader::new(evm, timeout)?,
            esplora: crate::esplora::EsploraReader::new(esplora, timeout)?,
        })
    }
}

impl ChainReader for Chains {
    fn reads(&self, network: &str) -> bool {
        self.evm.reads(network) || self.esplora.reads(network)
    }

    fn call<'a>(
        &'a self,
        network: &'a str,
        to: &'a str,
        data: &'a str,
    ) -> BoxFuture<'a, Result<String, ConnectorError>> {
        ChainReader::call(&self.evm, network, to, data)
    }

    fn transaction<'a>(
        &'a self,
        network: &'a str,
        hash: &'a str,
    ) -> BoxFuture<'a, Result<Option<TxFacts>, ConnectorError>> {
        if self.esplora.reads(network) {
            self.esplora.transaction(network, hash)
        } else {
            self.evm.transaction(network, hash)
        }
    }
}
