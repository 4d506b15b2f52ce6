use super::super::Network;
use std::str::FromStr;

#[test]
fn all_lists_every_network_once() {
    assert_eq!(Network::ALL.len(), 14);
    let mut names: Vec<&str> = Network::ALL.iter().map(|n| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 14);
}

#[test]
fn as_str_round_trips_through_from_str_display_and_serde() {
    for &network in Network::ALL {
        assert_eq!(Network::from_str(network.as_str()).unwrap(), network);
        assert_eq!(network.to_string(), network.as_str());
        let json = serde_json::to_string(&network).unwrap();
        assert_eq!(json, format!("\"{}\"", network.as_str()));
        let back: Network = serde_json::from_str(&json).unwrap();
        assert_eq!(back, network);
        assert!(!network.display_name().is_empty());
    }
}

#[test]
fn serde_names_are_kebab_case() {
    assert_eq!(
        serde_json::to_string(&Network::AvalancheC).unwrap(),
        "\"avalanche-c\""
    );
    assert_eq!(serde_json::to_string(&Network::Bsc).unwrap(), "\"bsc\"");
    assert_eq!(Network::AvalancheC.as_str(), "avalanche-c");
}

#[test]
fn aliases_are_case_insensitive() {
    let cases = [
        ("btc", Network::Bitcoin),
        ("BTC", Network::Bitcoin),
        ("eth", Network::Ethereum),
        ("ERC20", Network::Ethereum),
        ("erc20", Network::Ethereum),
        ("bnb", Network::Bsc),
        ("BEP20", Network::Bsc),
        ("trx", Network::Tron),
        ("TRC20", Network::Tron),
        ("Sol", Network::Solana),
        ("LTC", Network::Litecoin),
        ("Doge", Network::Dogecoin),
        ("Bitcoin", Network::Bitcoin),
        ("AVALANCHE-C", Network::AvalancheC),
    ];
    for (s, expected) in cases {
        assert_eq!(Network::from_str(s).unwrap(), expected, "{s}");
    }
}

#[test]
fn unknown_networks_are_rejected() {
    for s in [
        "",
        "bitcoin ",
        " btc",
        "avalanche",
        "bitcoin-cash",
        "eth2",
        "solana\n",
    ] {
        let err = Network::from_str(s).unwrap_err();
        assert_eq!(err.field, "network");
        assert_eq!(err.code, "unknown_network");
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn evm_and_memo_classification() {
    let evm: Vec<Network> = Network::ALL
        .iter()
        .copied()
        .filter(|n| n.is_evm())
        .collect();
    assert_eq!(evm, super::EVM.to_vec());
    for &n in Network::ALL {
        assert_eq!(
            n.supports_memo(),
            matches!(n, Network::Xrp | Network::Ton | Network::Solana)
        );
    }
}

#[test]
fn every_network_links_to_a_block_explorer() {
    for &n in Network::ALL {
        let tx = n.explorer_tx_url("abc123").unwrap();
        assert!(tx.starts_with("https://") && tx.ends_with("abc123"), "{tx}");
        let a = n.explorer_address_url("EQabc-_1").unwrap();
        assert!(a.starts_with("https://") && a.ends_with("EQabc-_1"), "{a}");
    }
    assert_eq!(
        Network::Ethereum
            .explorer_tx_url("0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b")
            .as_deref(),
        Some(
            "https://etherscan.io/tx/0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"
        )
    );
    assert_eq!(
        Network::Tron
            .explorer_address_url("TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")
            .as_deref(),
        Some("https://tronscan.org/#/address/TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")
    );
    // Nothing but a plain hash or address ever goes into a link.
    for bad in [
        "",
        "abc/../x",
        "abc?x=1",
        "\"><script>",
        "a b",
        "javascript:alert(1)/",
    ] {
        assert_eq!(Network::Bitcoin.explorer_tx_url(bad), None, "{bad}");
        assert_eq!(Network::Bitcoin.explorer_address_url(bad), None, "{bad}");
    }
}
