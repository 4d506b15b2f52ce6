//! Crypto case fields as newtypes that cannot hold an invalid value.
//!
//! Every value type here is built only through a `parse` function that checks the input
//! against the rules of its network (checksums, lengths, prefixes, testnet markers) and
//! stores one canonical string form. Errors are [`FieldError`]s with a stable `code` and a
//! precise, human-readable `reason`.
//!
//! Positions in reasons are 1-based character positions.

mod amount;
mod asset;
mod base58;
mod evm;
mod memo;
mod solana;
mod text;
mod ton;
mod tron;
mod tx_hash;
mod utxo;
mod xrp;

#[cfg(test)]
mod tests;

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A blockchain network a case field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    Bitcoin,
    Ethereum,
    Bsc,
    Polygon,
    Arbitrum,
    Optimism,
    Base,
    AvalancheC,
    Tron,
    Solana,
    Xrp,
    Ton,
    Litecoin,
    Dogecoin,
}

/// Hashes and addresses of every supported network use only these characters; anything else
/// is refused rather than escaped into a URL.
fn link_safe(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':')
}

impl Network {
    /// Every supported network, in a stable order.
    pub const ALL: &'static [Network] = &[
        Network::Bitcoin,
        Network::Ethereum,
        Network::Bsc,
        Network::Polygon,
        Network::Arbitrum,
        Network::Optimism,
        Network::Base,
        Network::AvalancheC,
        Network::Tron,
        Network::Solana,
        Network::Xrp,
        Network::Ton,
        Network::Litecoin,
        Network::Dogecoin,
    ];

    /// The stable machine name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Bitcoin => "bitcoin",
            Network::Ethereum => "ethereum",
            Network::Bsc => "bsc",
            Network::Polygon => "polygon",
            Network::Arbitrum => "arbitrum",
            Network::Optimism => "optimism",
            Network::Base => "base",
            Network::AvalancheC => "avalanche-c",
            Network::Tron => "tron",
            Network::Solana => "solana",
            Network::Xrp => "xrp",
            Network::Ton => "ton",
            Network::Litecoin => "litecoin",
            Network::Dogecoin => "dogecoin",
        }
    }

    /// A name for humans, used in error reasons.
    pub fn display_name(self) -> &'static str {
        match self {
            Network::Bitcoin => "Bitcoin",
            Network::Ethereum => "Ethereum",
            Network::Bsc => "BNB Smart Chain",
            Network::Polygon => "Polygon",
            Network::Arbitrum => "Arbitrum",
            Network::Optimism => "Optimism",
            Network::Base => "Base",
            Network::AvalancheC => "Avalanche C-Chain",
            Network::Tron => "Tron",
            Network::Solana => "Solana",
            Network::Xrp => "XRP Ledger",
            Network::Ton => "TON",
            Network::Litecoin => "Litecoin",
            Network::Dogecoin => "Dogecoin",
        }
    }

    /// A public block explorer's page for a transaction, so an agent checks the chain with one
    /// click instead of asking the customer for a screenshot. None for a value that is not a
    /// plain hash (nothing else is ever put in a link).
    pub fn explorer_tx_url(self, tx_hash: &str) -> Option<String> {
        let base = match self {
            Network::Bitcoin => "https://mempool.space/tx/",
            Network::Ethereum => "https://etherscan.io/tx/",
            Network::Bsc => "https://bscscan.com/tx/",
            Network::Polygon => "https://polygonscan.com/tx/",
            Network::Arbitrum => "https://arbiscan.io/tx/",
            Network::Optimism => "https://optimistic.etherscan.io/tx/",
            Network::Base => "https://basescan.org/tx/",
            Network::AvalancheC => "https://snowtrace.io/tx/",
            Network::Tron => "https://tronscan.org/#/transaction/",
            Network::Solana => "https://solscan.io/tx/",
            Network::Xrp => "https://livenet.xrpl.org/transactions/",
            Network::Ton => "https://tonviewer.com/transaction/",
            Network::Litecoin => "https://litecoinspace.org/tx/",
            Network::Dogecoin => "https://blockchair.com/dogecoin/transaction/",
        };
        link_safe(tx_hash).then(|| format!("{base}{tx_hash}"))
    }

    /// A public block explorer's page for an address.
    pub fn explorer_address_url(self, address: &str) -> Option<String> {
        let base = match self {
            Network::Bitcoin => "https://mempool.space/address/",
            Network::Ethereum => "https://etherscan.io/address/",
            Network::Bsc => "https://bscscan.com/address/",
            Network::Polygon => "https://polygonscan.com/address/",
            Network::Arbitrum => "https://arbiscan.io/address/",
            Network::Optimism => "https://optimistic.etherscan.io/address/",
            Network::Base => "https://basescan.org/address/",
            Network::AvalancheC => "https://snowtrace.io/address/",
            Network::Tron => "https://tronscan.org/#/address/",
            Network::Solana => "https://solscan.io/account/",
            Network::Xrp => "https://livenet.xrpl.org/accounts/",
            Network::Ton => "https://tonviewer.com/",
            Network::Litecoin => "https://litecoinspace.org/address/",
            Network::Dogecoin => "https://blockchair.com/dogecoin/address/",
        };
        link_safe(address).then(|| format!("{base}{address}"))
    }

    /// Whether the network uses Ethereum-style (0x + 20 bytes, EIP-55) addresses.
    pub fn is_evm(self) -> bool {
        matches!(
            self,
            Network::Ethereum
                | Network::Bsc
                | Network::Polygon
                | Network::Arbitrum
                | Network::Optimism
                | Network::Base
                | Network::AvalancheC
        )
    }

    /// Whether transfers on this network carry a memo / destination tag / comment.
    pub fn supports_memo(self) -> bool {
        matches!(self, Network::Xrp | Network::Ton | Network::Solana)
    }
}

impl FromStr for Network {
    type Err = FieldError;

    /// Accepts the machine name (see [`Network::as_str`]) and common aliases such as `btc`,
    /// `erc20`, `bep20` or `trc20`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let network = match s.to_ascii_lowercase().as_str() {
            "bitcoin" | "btc" => Network::Bitcoin,
            "ethereum" | "eth" | "erc20" => Network::Ethereum,
            "bsc" | "bnb" | "bep20" => Network::Bsc,
            "polygon" => Network::Polygon,
            "arbitrum" => Network::Arbitrum,
            "optimism" => Network::Optimism,
            "base" => Network::Base,
            "avalanche-c" => Network::AvalancheC,
            "tron" | "trx" | "trc20" => Network::Tron,
            "solana" | "sol" => Network::Solana,
            "xrp" => Network::Xrp,
            "ton" => Network::Ton,
            "litecoin" | "ltc" => Network::Litecoin,
            "dogecoin" | "doge" => Network::Dogecoin,
            _ => {
                return Err(FieldError::new(
                    "network",
                    "unknown_network",
                    format!("unknown network `{s}`"),
                ));
            }
        };
        Ok(network)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implements `Display` and `Serialize` (as the stored string) for a value type with `as_str`.
macro_rules! string_value {
    ($ty:ty) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

/// A receiving or sending address, valid for its network.
///
/// Canonical form: EVM addresses are EIP-55 checksummed, bech32 addresses lowercase,
/// everything else exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    network: Network,
    value: String,
}

impl Address {
    pub fn parse(network: Network, s: &str) -> Result<Self, FieldError> {
        let value = parse_address(network, s)
            .map_err(|reason| FieldError::new("address", "invalid_address", reason))?;
        Ok(Self { network, value })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn network(&self) -> Network {
        self.network
    }
}

fn parse_address(network: Network, s: &str) -> Result<String, String> {
    text::check_token(s, text::MAX_TOKEN_LEN)?;
    match network {
        Network::Bitcoin => utxo::parse_address(&utxo::BITCOIN, s),
        Network::Litecoin => utxo::parse_address(&utxo::LITECOIN, s),
        Network::Dogecoin => utxo::parse_address(&utxo::DOGECOIN, s),
        Network::Ethereum
        | Network::Bsc
        | Network::Polygon
        | Network::Arbitrum
        | Network::Optimism
        | Network::Base
        | Network::AvalancheC => evm::parse_address(s),
        Network::Tron => tron::parse_address(s),
        Network::Solana => solana::parse_address(s),
        Network::Xrp => xrp::parse_address(s),
        Network::Ton => ton::parse_address(s),
    }
}

string_value!(Address);

/// A transaction id / hash / signature, valid in form for its network.
///
/// Canonical form: hex hashes lowercase (uppercase on XRP), base58/base64 as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxHash {
    network: Network,
    value: String,
}

impl TxHash {
    pub fn parse(network: Network, s: &str) -> Result<Self, FieldError> {
        let value = tx_hash::parse(network, s)
            .map_err(|reason| FieldError::new("tx_hash", "invalid_tx_hash", reason))?;
        Ok(Self { network, value })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn network(&self) -> Network {
        self.network
    }
}

string_value!(TxHash);

/// A memo / destination tag / comment, for the networks whose transfers carry one.
///
/// XRP: a destination tag (decimal `u32`, stored without leading zeros).
/// TON and Solana: a text comment, stored as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Memo {
    network: Network,
    value: String,
}

impl Memo {
    pub fn parse(network: Network, s: &str) -> Result<Self, FieldError> {
        let value = memo::parse(network, s)?;
        Ok(Self { network, value })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn network(&self) -> Network {
        self.network
    }
}

string_value!(Memo);

/// An asset ticker symbol such as `BTC` or `USDT.E`, stored uppercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asset(String);

impl Asset {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        asset::parse(s)
            .map(Self)
            .map_err(|reason| FieldError::new("asset", "invalid_asset", reason))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_value!(Asset);

/// A non-negative exact decimal amount (never a float), held normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Amount(rust_decimal::Decimal);

impl Amount {
    /// Parses decimal notation: digits with an optional single `.`, and `,` or a space only
    /// between groups of three digits before it (`25,000.50`); no sign or exponent; at most 18
    /// decimal places and 28 significant digits. A form that would need a guess (`1.000,50`,
    /// `25,00.5`) is refused with the code `ambiguous_amount`, anything else not an amount
    /// with `invalid_amount`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        amount::parse(s)
            .map(Self)
            .map_err(|(code, reason)| FieldError::new("amount", code, reason))
    }

    /// The normalized decimal string: `"1.50"` -> `"1.5"`, `"0.000"` -> `"0"`.
    pub fn to_canonical_string(&self) -> String {
        self.0.normalize().to_string()
    }

    /// The value as a decimal.
    pub fn as_decimal(&self) -> rust_decimal::Decimal {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical_string())
    }
}
