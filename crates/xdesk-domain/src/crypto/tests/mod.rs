//! Tests for the crypto case fields: real-world vectors and property tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod address;
mod network;
mod props;
mod tx_hash;
mod values;

use super::{Address, Network, TxHash};
use crate::FieldError;

const EVM: [Network; 7] = [
    Network::Ethereum,
    Network::Bsc,
    Network::Polygon,
    Network::Arbitrum,
    Network::Optimism,
    Network::Base,
    Network::AvalancheC,
];

/// Parses an address that must be valid and returns its canonical form.
fn addr_ok(network: Network, s: &str) -> String {
    let address =
        Address::parse(network, s).unwrap_or_else(|e| panic!("{network} `{s}` rejected: {e}"));
    assert_eq!(address.network(), network);
    address.as_str().to_owned()
}

/// Parses an address that must be invalid, checks the error shape, and returns it.
fn addr_bad(network: Network, s: &str) -> FieldError {
    let err = match Address::parse(network, s) {
        Ok(a) => panic!("{network} `{s}` accepted as `{a}`"),
        Err(e) => e,
    };
    assert_eq!(err.field, "address", "{err:?}");
    assert_eq!(err.code, "invalid_address", "{err:?}");
    assert!(!err.reason.is_empty(), "{err:?}");
    err
}

/// Like [`addr_bad`], and the reason must contain `needle`.
fn addr_bad_because(network: Network, s: &str, needle: &str) {
    let err = addr_bad(network, s);
    assert!(
        err.reason.contains(needle),
        "{network} `{s}`: reason `{}` lacks `{needle}`",
        err.reason
    );
}

fn tx_ok(network: Network, s: &str) -> String {
    let tx = TxHash::parse(network, s).unwrap_or_else(|e| panic!("{network} `{s}` rejected: {e}"));
    assert_eq!(tx.network(), network);
    tx.as_str().to_owned()
}

fn tx_bad_because(network: Network, s: &str, needle: &str) {
    let err = match TxHash::parse(network, s) {
        Ok(t) => panic!("{network} tx `{s}` accepted as `{t}`"),
        Err(e) => e,
    };
    assert_eq!(err.field, "tx_hash", "{err:?}");
    assert_eq!(err.code, "invalid_tx_hash", "{err:?}");
    assert!(
        err.reason.contains(needle),
        "{network} tx `{s}`: reason `{}` lacks `{needle}`",
        err.reason
    );
}

/// Replaces the character at byte `index` (ASCII input) with `with`.
fn replace_at(s: &str, index: usize, with: char) -> String {
    let mut out: Vec<char> = s.chars().collect();
    assert_ne!(out[index], with, "replacement must change the string");
    out[index] = with;
    out.into_iter().collect()
}

/// Base58Check-encodes `version || payload` with the Bitcoin alphabet.
fn base58check(version: u8, payload: &[u8]) -> String {
    let mut data = vec![version];
    data.extend_from_slice(payload);
    bs58::encode(data).with_check().into_string()
}
