use super::{EVM, tx_bad_because, tx_ok};
use crate::crypto::{Network, TxHash};

/// Bitcoin genesis coinbase and the 10,000 BTC pizza transaction.
const BTC_GENESIS_TX: &str = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
const BTC_PIZZA_TX: &str = "a1075db55d416d3ca199f55b6084e2115b9345e16c5cf302fc80e9d5fbf5d48d";
/// The first Ether transfer (block 46147).
const ETH_FIRST_TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

#[test]
fn every_network_rejects_empty_and_whitespace() {
    for &network in Network::ALL {
        tx_bad_because(network, "", "empty");
        tx_bad_because(network, &format!(" {BTC_GENESIS_TX}"), "whitespace");
        tx_bad_because(network, &format!("{BTC_GENESIS_TX}\n"), "whitespace");
        tx_bad_because(network, &"a".repeat(300), "too long");
    }
}

#[test]
fn utxo_chains_good() {
    for network in [Network::Bitcoin, Network::Litecoin, Network::Dogecoin] {
        assert_eq!(tx_ok(network, BTC_GENESIS_TX), BTC_GENESIS_TX);
        assert_eq!(tx_ok(network, BTC_PIZZA_TX), BTC_PIZZA_TX);
        assert_eq!(
            tx_ok(network, &BTC_GENESIS_TX.to_ascii_uppercase()),
            BTC_GENESIS_TX
        );
    }
}

#[test]
fn utxo_chains_bad() {
    for network in [Network::Bitcoin, Network::Litecoin, Network::Dogecoin] {
        tx_bad_because(network, &format!("0x{BTC_GENESIS_TX}"), "no 0x prefix");
        tx_bad_because(
            network,
            &BTC_GENESIS_TX[1..],
            "wrong length: 63 hex digits, expected 64",
        );
        tx_bad_because(network, &format!("{BTC_GENESIS_TX}0"), "wrong length: 65");
        tx_bad_because(
            network,
            &BTC_GENESIS_TX.replacen('a', "z", 1),
            "invalid hex character 'z' at position 2",
        );
    }
}

#[test]
fn evm_good_and_bad() {
    for network in EVM {
        assert_eq!(tx_ok(network, ETH_FIRST_TX), ETH_FIRST_TX);
        let upper = format!("0x{}", ETH_FIRST_TX[2..].to_ascii_uppercase());
        assert_eq!(tx_ok(network, &upper), ETH_FIRST_TX);
        tx_bad_because(network, &ETH_FIRST_TX[2..], "missing 0x prefix");
        tx_bad_because(
            network,
            &ETH_FIRST_TX.replacen("0x", "0X", 1),
            "lowercase 0x",
        );
        tx_bad_because(network, &ETH_FIRST_TX[..65], "wrong length: 63 hex digits");
        tx_bad_because(
            network,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "wrong length: 40 hex digits, expected 64",
        );
        tx_bad_because(
            network,
            &format!("{ETH_FIRST_TX}h"),
            "invalid hex character 'h'",
        );
    }
}

#[test]
fn tron_good_and_bad() {
    let tx = "b0cc8d5c1a5ab0d8a8b7d6a5bbf1e0d1b9a2b4c1d0e9f8a7b6c5d4e3f2a1b0c9";
    assert_eq!(tx_ok(Network::Tron, tx), tx);
    assert_eq!(tx_ok(Network::Tron, &tx.to_ascii_uppercase()), tx);
    tx_bad_because(Network::Tron, &format!("0x{tx}"), "no 0x prefix");
    tx_bad_because(Network::Tron, &tx[..62], "wrong length: 62");
}

#[test]
fn solana_good_and_bad() {
    // A real mainnet transaction signature.
    let sig =
        "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
    assert_eq!(tx_ok(Network::Solana, sig), sig);
    let zeros = bs58::encode([0u8; 64]).into_string();
    assert_eq!(tx_ok(Network::Solana, &zeros), zeros);
    tx_bad_because(Network::Solana, &sig[..80], "expected 64");
    tx_bad_because(
        Network::Solana,
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "decodes to 32 bytes, expected 64",
    );
    tx_bad_because(Network::Solana, BTC_GENESIS_TX, "expected 64");
    tx_bad_because(
        Network::Solana,
        BTC_PIZZA_TX,
        "invalid base58 character '0' at position 3",
    );
    tx_bad_because(Network::Solana, ETH_FIRST_TX, "EVM-style");
}

#[test]
fn xrp_good_and_bad() {
    let tx = "E08D6E9754025BA2534A78707605E0601F03ACE063687A0CA1BDDACFCD1698C7";
    assert_eq!(tx_ok(Network::Xrp, tx), tx);
    assert_eq!(tx_ok(Network::Xrp, &tx.to_ascii_lowercase()), tx);
    tx_bad_because(Network::Xrp, &format!("0x{tx}"), "no 0x prefix");
    tx_bad_because(Network::Xrp, &tx[..63], "wrong length: 63");
}

#[test]
fn ton_good_and_bad() {
    let hex = "3f0e56fa2d7fd6c5f5df0d0b6b3ea5e8b6d8af3c6b5d0c9a8b7e6f5d4c3b2a19";
    assert_eq!(tx_ok(Network::Ton, hex), hex);
    assert_eq!(tx_ok(Network::Ton, &hex.to_ascii_uppercase()), hex);
    // 32 bytes as base64 and base64url (44 characters with padding).
    let b64 = "Pw5W+i1/1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk=";
    let b64url = "Pw5W-i1_1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk=";
    assert_eq!(tx_ok(Network::Ton, b64), b64);
    assert_eq!(tx_ok(Network::Ton, b64url), b64url);
    tx_bad_because(
        Network::Ton,
        "Pw5W+i1/1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk",
        "wrong length: 43 characters, expected 64 hex digits or 44 base64 characters",
    );
    tx_bad_because(
        Network::Ton,
        "Pw5W+i1/1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Kh==",
        "",
    );
    tx_bad_because(
        Network::Ton,
        "Pw5W+i1_1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk=",
        "mixes",
    );
    tx_bad_because(Network::Ton, &format!("0x{hex}"), "no 0x prefix");
    tx_bad_because(Network::Ton, &hex[..60], "wrong length: 60");
}

#[test]
fn display_and_serialize() {
    let tx = TxHash::parse(
        Network::Xrp,
        "e08d6e9754025ba2534a78707605e0601f03ace063687a0ca1bddacfcd1698c7",
    )
    .unwrap();
    assert_eq!(
        tx.to_string(),
        "E08D6E9754025BA2534A78707605E0601F03ACE063687A0CA1BDDACFCD1698C7"
    );
    assert_eq!(
        serde_json::to_string(&tx).unwrap(),
        "\"E08D6E9754025BA2534A78707605E0601F03ACE063687A0CA1BDDACFCD1698C7\""
    );
}
