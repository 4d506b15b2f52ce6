//! On-chain checks: what a chain says about a transaction (found, succeeded, confirmations,
//! from, to, amount, token transfers) compared with what the customer reported, turned into a
//! plain diagnosis an agent can act on ("confirmed 3 of 12 required confirmations; expect
//! credit in about 2 minutes", "sent to an address that is not yours"). No I/O here: the
//! facts come from a chain reader (EVM JSON-RPC, Esplora).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A transfer of a token inside a transaction (an ERC-20 `Transfer` log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTransfer {
    pub token: String,
    pub from: String,
    pub to: String,
    /// In the token's units (its decimals applied), when they are known.
    pub amount: Decimal,
}

/// What the chain says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxFacts {
    /// None while it waits in the mempool; then whether it succeeded.
    pub success: Option<bool>,
    /// 0 while pending; 1 when in the newest block.
    pub confirmations: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The native coin moved (ETH, BNB, BTC …), in whole units.
    pub value: Decimal,
    #[serde(default)]
    pub token_transfers: Vec<TokenTransfer>,
}

/// What the ticket claims, and what the network needs.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    /// Where the customer says it went (their deposit address at the exchange).
    pub to_address: Option<String>,
    /// The account's deposit addresses on this network as the exchange knows them, when it was
    /// asked: a deposit that went elsewhere did not go to the customer.
    pub exchange_addresses: Vec<String>,
    pub amount: Option<Decimal>,
    /// The network needs a memo/tag for this deposit and the ticket has none.
    pub memo_missing: bool,
    pub required_confirmations: u64,
    /// Average seconds per block, for the wait estimate.
    pub block_seconds: u64,
}

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    NotFound,
    Pending,
    Failed,
    Confirming {
        have: u64,
        need: u64,
        minutes: u64,
    },
    Confirmed {
        confirmations: u64,
    },
    /// Neither the transaction nor any token transfer in it went to the reported address.
    WrongAddress {
        sent_to: String,
        reported: String,
    },
    /// The amount sent is not the amount reported.
    AmountDiffers {
        sent: Decimal,
        reported: Decimal,
    },
    /// It did not go to any of the account's deposit addresses the exchange knows.
    NotExchangeAddress {
        sent_to: String,
        ours: String,
    },
    MemoMissing,
}

fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Compares the chain's facts with the claim. `None` facts: the chain does not know the hash.
pub fn diagnose(facts: Option<&TxFacts>, claim: &Claim) -> Vec<Finding> {
    let Some(f) = facts else {
        return vec![Finding::NotFound];
    };
    let mut out = Vec::new();
    match f.success {
        None => out.push(Finding::Pending),
        Some(false) => out.push(Finding::Failed),
        Some(true) if f.confirmations < claim.required_confirmations => {
            let left = claim.required_confirmations - f.confirmations;
            out.push(Finding::Confirming {
                have: f.confirmations,
                need: claim.required_confirmations,
                minutes: (left * claim.block_seconds).div_ceil(60),
            });
        }
        Some(true) => out.push(Finding::Confirmed {
            confirmations: f.confirmations,
        }),
    }
    // What went to the reported address: the coin itself, or a token transfer in it.
    let token_to = |addr: &str| f.token_transfers.iter().find(|t| same_address(&t.to, addr));
    if let Some(reported) = &claim.to_address {
        let direct = f.to.as_deref().is_some_and(|t| same_address(t, reported));
        if !direct && token_to(reported).is_none() {
            let sent_to = f
                .token_transfers
                .first()
                .map(|t| t.to.clone())
                .or_else(|| f.to.clone())
                .unwrap_or_default();
            out.push(Finding::WrongAddress {
                sent_to,
                reported: reported.clone(),
            });
        } else if let Some(reported_amount) = claim.amount {
            let sent = match token_to(reported) {
                Some(t) => t.amount,
                None => f.value,
            };
            if sent != reported_amount {
                out.push(Finding::AmountDiffers {
                    sent,
                    reported: reported_amount,
                });
            }
        }
    }
    if !claim.exchange_addresses.is_empty() {
        let reached = claim.exchange_addresses.iter().any(|ours| {
            f.to.as_deref().is_some_and(|t| same_address(t, ours)) || token_to(ours).is_some()
        });
        if !reached {
            out.push(Finding::NotExchangeAddress {
                sent_to: f
                    .token_transfers
                    .first()
                    .map(|t| t.to.clone())
                    .or_else(|| f.to.clone())
                    .unwrap_or_default(),
                ours: claim.exchange_addresses.join(", "),
            });
        }
    }
    if claim.memo_missing {
        out.push(Finding::MemoMissing);
    }
    out
}

/// The diagnosis in plain words, in English or Chinese, one finding per line.
pub fn words(findings: &[Finding], language: &str) -> String {
    let zh = language.starts_with("zh");
    findings
        .iter()
        .map(|f| match (f, zh) {
            (Finding::NotFound, false) => "Not found on the chain: the hash is wrong, for another network, or the transaction was never broadcast.".to_owned(),
            (Finding::NotFound, true) => "链上查不到此交易：哈希有误、属于其他网络，或交易从未广播。".to_owned(),
            (Finding::Pending, false) => "Waiting in the mempool: not in a block yet.".to_owned(),
            (Finding::Pending, true) => "仍在内存池中等待：尚未打包进区块。".to_owned(),
            (Finding::Failed, false) => "Failed on the chain: nothing was transferred (only the network fee was spent).".to_owned(),
            (Finding::Failed, true) => "链上执行失败：没有转出任何资产（只消耗了网络手续费）。".to_owned(),
            (Finding::Confirming { have, need, minutes }, false) => format!(
                "Confirmed {have} of {need} required confirmations; expect credit in about {minutes} minutes."
            ),
            (Finding::Confirming { have, need, minutes }, true) => format!(
                "已确认 {have}/{need} 个区块；预计约 {minutes} 分钟后到账。"
            ),
            (Finding::Confirmed { confirmations }, false) => format!(
                "Confirmed on the chain ({confirmations} confirmations): the exchange should have credited it; check the deposit on the exchange's side."
            ),
            (Finding::Confirmed { confirmations }, true) => format!(
                "链上已确认（{confirmations} 个确认）：交易所应已入账，请核查交易所侧的充值记录。"
            ),
            (Finding::WrongAddress { sent_to, reported }, false) => format!(
                "Sent to {sent_to}, which is not the address reported ({reported}): it went to an address that is not yours."
            ),
            (Finding::WrongAddress { sent_to, reported }, true) => format!(
                "资产被发送到 {sent_to}，不是您提供的地址（{reported}）：它去了一个不属于您的地址。"
            ),
            (Finding::AmountDiffers { sent, reported }, false) => {
                format!("The chain shows {sent} sent, not the {reported} reported.")
            }
            (Finding::AmountDiffers { sent, reported }, true) => {
                format!("链上显示发送了 {sent}，而不是您提供的 {reported}。")
            }
            (Finding::NotExchangeAddress { sent_to, ours }, false) => format!(
                "Sent to {sent_to}, which is not this account's deposit address at the exchange ({ours})."
            ),
            (Finding::NotExchangeAddress { sent_to, ours }, true) => format!(
                "资产被发送到 {sent_to}，不是该账户在交易所的充值地址（{ours}）。"
            ),
            (Finding::MemoMissing, false) => "Memo missing: this network needs the deposit memo/tag to credit the right account.".to_owned(),
            (Finding::MemoMissing, true) => "缺少备注（Memo/Tag）：该网络需要充值备注才能入账到正确的账户。".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Confirmations an exchange typically waits for, and seconds per block, by network.
pub fn network_defaults(network: &str) -> (u64, u64) {
    match network {
        "ethereum" => (12, 12),
        "bsc" => (15, 3),
        "polygon" => (128, 2),
        "arbitrum" | "optimism" | "base" => (20, 2),
        "avalanche-c" => (12, 2),
        "bitcoin" => (2, 600),
        "litecoin" => (6, 150),
        "dogecoin" => (40, 60),
        _ => (12, 12),
    }
}

/// `0x…` hex quantity (a JSON-RPC number) as an integer; None when it is not one.
pub fn hex_quantity(s: &str) -> Option<u128> {
    u128::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// An integer amount in the smallest unit as a decimal in whole units (`decimals` places).
pub fn from_base_units(raw: u128, decimals: u32) -> Option<Decimal> {
    let raw = i128::try_from(raw).ok()?;
    let d = Decimal::try_from_i128_with_scale(raw, decimals.min(28)).ok()?;
    Some(d.normalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn facts(confirmations: u64) -> TxFacts {
        TxFacts {
            success: Some(true),
            confirmations,
            from: Some("0xaaa".into()),
            to: Some("0xBBB".into()),
            value: dec("1.5"),
            token_transfers: Vec::new(),
        }
    }

    fn claim() -> Claim {
        Claim {
            to_address: Some("0xbbb".into()),
            exchange_addresses: Vec::new(),
            amount: Some(dec("1.5")),
            memo_missing: false,
            required_confirmations: 12,
            block_seconds: 12,
        }
    }

    #[test]
    fn confirmations_give_a_wait() {
        assert_eq!(
            diagnose(Some(&facts(3)), &claim()),
            vec![Finding::Confirming {
                have: 3,
                need: 12,
                minutes: 2
            }]
        );
        let text = words(&diagnose(Some(&facts(3)), &claim()), "en");
        assert_eq!(
            text,
            "Confirmed 3 of 12 required confirmations; expect credit in about 2 minutes."
        );
        assert!(words(&diagnose(Some(&facts(3)), &claim()), "zh").contains("已确认 3/12"));
        assert_eq!(
            diagnose(Some(&facts(12)), &claim()),
            vec![Finding::Confirmed { confirmations: 12 }]
        );
    }

    #[test]
    fn wrong_addresses_amounts_and_memos_are_named() {
        let mut c = claim();
        c.to_address = Some("0xccc".into());
        assert!(matches!(
            diagnose(Some(&facts(20)), &c)[1],
            Finding::WrongAddress { .. }
        ));
        let mut c = claim();
        c.amount = Some(dec("2"));
        assert_eq!(
            diagnose(Some(&facts(20)), &c)[1],
            Finding::AmountDiffers {
                sent: dec("1.5"),
                reported: dec("2")
            }
        );
        let mut c = claim();
        c.exchange_addresses = vec!["0xddd".into()];
        assert_eq!(
            diagnose(Some(&facts(20)), &c)[1],
            Finding::NotExchangeAddress {
                sent_to: "0xBBB".into(),
                ours: "0xddd".into()
            }
        );
        c.exchange_addresses = vec!["0xBBB".into()];
        assert_eq!(diagnose(Some(&facts(20)), &c).len(), 1);
        let mut c = claim();
        c.memo_missing = true;
        assert_eq!(diagnose(Some(&facts(20)), &c)[1], Finding::MemoMissing);
        // A token sent to the reported address counts, whatever the transaction's `to` (the
        // token contract).
        let mut f = facts(20);
        f.to = Some("0xtoken".into());
        f.value = Decimal::ZERO;
        f.token_transfers.push(TokenTransfer {
            token: "0xtoken".into(),
            from: "0xaaa".into(),
            to: "0xBBB".into(),
            amount: dec("1.5"),
        });
        assert_eq!(
            diagnose(Some(&f), &claim()),
            vec![Finding::Confirmed { confirmations: 20 }]
        );
    }

    #[test]
    fn missing_pending_and_failed() {
        assert_eq!(diagnose(None, &claim()), vec![Finding::NotFound]);
        let mut f = facts(0);
        f.success = None;
        assert_eq!(diagnose(Some(&f), &claim())[0], Finding::Pending);
        f.success = Some(false);
        assert_eq!(diagnose(Some(&f), &claim())[0], Finding::Failed);
        for finding in [
            Finding::NotFound,
            Finding::Pending,
            Finding::Failed,
            Finding::MemoMissing,
        ] {
            let (en, zh) = (
                words(std::slice::from_ref(&finding), "en"),
                words(&[finding], "zh"),
            );
            assert!(!en.is_empty() && zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn units_convert() {
        assert_eq!(
            hex_quantity("0x14d1120d7b160000"),
            Some(1_500_000_000_000_000_000)
        );
        assert_eq!(
            from_base_units(1_500_000_000_000_000_000, 18),
            Some(dec("1.5"))
        );
        assert_eq!(from_base_units(2_500_000, 6), Some(dec("2.5")));
        assert_eq!(hex_quantity("12"), None);
    }
}
