use super::{EVM, addr_bad, addr_bad_because, addr_ok, base58check, replace_at};
use crate::crypto::{Address, Network};

/// Inputs every network must reject, whatever its format.
#[test]
fn every_network_rejects_empty_and_whitespace() {
    let genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    for &network in Network::ALL {
        addr_bad_because(network, "", "empty");
        addr_bad_because(network, " ", "whitespace");
        addr_bad_because(network, &format!(" {genesis}"), "whitespace");
        addr_bad_because(network, &format!("{genesis}\n"), "whitespace");
        addr_bad_because(network, &format!("{genesis}\t"), "whitespace");
        addr_bad_because(network, "1A1zP1eP5QGefi2D MPTfTL5SLmv7DivfNa", "space");
        addr_bad_because(network, "1A1zP1eP5QGefi2D\u{a0}MPTfTL5SLmv7Divf", "U+00A0");
        addr_bad_because(network, &"1".repeat(500), "too long");
    }
}

// ---------------------------------------------------------------- Bitcoin

#[test]
fn bitcoin_base58_good() {
    for s in [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", // genesis coinbase (Satoshi)
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", // P2SH
    ] {
        assert_eq!(addr_ok(Network::Bitcoin, s), s);
    }
}

#[test]
fn bitcoin_bech32_good_bip173_bip350() {
    let cases = [
        (
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        ),
        (
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        ),
        (
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        ),
        ("BC1SW50QGDZ25J", "bc1sw50qgdz25j"),
        (
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        ),
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ),
    ];
    for (input, canonical) in cases {
        assert_eq!(addr_ok(Network::Bitcoin, input), canonical);
    }
}

#[test]
fn bitcoin_testnet_rejected() {
    for s in [
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
        "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc",
    ] {
        addr_bad_because(Network::Bitcoin, s, "testnet address on mainnet");
    }
    // Regtest, and testnet versions built from the genesis hash160.
    let regtest =
        bech32::segwit::encode_v0(bech32::Hrp::parse("bcrt").unwrap(), &[7u8; 20]).unwrap();
    addr_bad_because(Network::Bitcoin, &regtest, "testnet address on mainnet");
    let hash160 = [0x62u8; 20];
    for version in [0x6f, 0xc4] {
        addr_bad_because(
            Network::Bitcoin,
            &base58check(version, &hash160),
            "testnet address on mainnet",
        );
    }
}

#[test]
fn bitcoin_bip350_invalid_vectors() {
    let cases = [
        // invalid human-readable part
        (
            "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
            "",
        ),
        // bech32 instead of bech32m
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            "must use a bech32m checksum",
        ),
        (
            "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
            "must use a bech32m checksum",
        ),
        (
            "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
            "must use a bech32m checksum",
        ),
        // bech32m instead of bech32
        (
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            "must use a bech32 checksum",
        ),
        (
            "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
            "must use a bech32 checksum",
        ),
        // invalid character in checksum
        (
            "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
            "invalid bech32 character 'o'",
        ),
        // invalid witness version
        (
            "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
            "witness version 17",
        ),
        // invalid program lengths
        ("bc1pw5dgrnzv", "shorter than 2 bytes"),
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
            "longer than 40 bytes",
        ),
        ("BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "20 or 32 bytes"),
        // mixed case
        (
            "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
            "mixed upper and lower case",
        ),
        // padding
        (
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
            "padding",
        ),
        (
            "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
            "padding",
        ),
        // empty data section
        ("bc1gmk9yu", ""),
    ];
    for (s, needle) in cases {
        addr_bad_because(Network::Bitcoin, s, needle);
    }
}

#[test]
fn bitcoin_bad() {
    let good = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    // One character changed: checksum fails.
    addr_bad_because(Network::Bitcoin, &replace_at(good, 10, 'R'), "checksum");
    // One character dropped may keep the byte length (checksum fails) or not.
    addr_bad(Network::Bitcoin, &good[..good.len() - 1]);
    addr_bad_because(
        Network::Bitcoin,
        &good[..20],
        "wrong length: decodes to 15 bytes",
    );
    addr_bad_because(Network::Bitcoin, &format!("{good}a"), "wrong length");
    // Characters base58 does not use.
    addr_bad_because(
        Network::Bitcoin,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na",
        "base58",
    );
    addr_bad_because(
        Network::Bitcoin,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivlNa",
        "never uses",
    );
    // Bech32 typo.
    addr_bad_because(
        Network::Bitcoin,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
        "bad bech32 checksum",
    );
    addr_bad_because(
        Network::Bitcoin,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3",
        "bech32",
    );
    // Other chains.
    addr_bad_because(
        Network::Bitcoin,
        "LW6HjAU6GL9fK2LZWUA6VZCzomTdrpx3nr",
        "Litecoin",
    );
    addr_bad_because(
        Network::Bitcoin,
        "ltc1q3m3ujh350qrqdl33pv7pjw0d0m9qnm6qjcjpga",
        "bech32 prefix 'ltc' is not a Bitcoin address",
    );
    addr_bad_because(
        Network::Bitcoin,
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "Tron",
    );
    addr_bad(
        Network::Bitcoin,
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    );
    addr_bad(Network::Bitcoin, "bc1");
}

// ---------------------------------------------------------------- Litecoin

#[test]
fn litecoin_good() {
    for s in [
        "LW6HjAU6GL9fK2LZWUA6VZCzomTdrpx3nr",
        "MGxNPPB7eBoWPUaprtX9v9CXJZoD2465zN",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", // legacy P2SH version 0x05
        "ltc1q3m3ujh350qrqdl33pv7pjw0d0m9qnm6qjcjpga",
    ] {
        assert_eq!(addr_ok(Network::Litecoin, s), s);
    }
    assert_eq!(
        addr_ok(
            Network::Litecoin,
            "LTC1Q3M3UJH350QRQDL33PV7PJW0D0M9QNM6QJCJPGA"
        ),
        "ltc1q3m3ujh350qrqdl33pv7pjw0d0m9qnm6qjcjpga"
    );
    let taproot =
        bech32::segwit::encode_v1(bech32::Hrp::parse("ltc").unwrap(), &[9u8; 32]).unwrap();
    assert_eq!(addr_ok(Network::Litecoin, &taproot), taproot);
}

#[test]
fn litecoin_bad() {
    let good = "LW6HjAU6GL9fK2LZWUA6VZCzomTdrpx3nr";
    addr_bad_because(Network::Litecoin, &replace_at(good, 5, 'X'), "checksum");
    addr_bad_because(Network::Litecoin, &good[1..], "");
    addr_bad_because(
        Network::Litecoin,
        "ltc1q3m3ujh350qrqdl33pv7pjw0d0m9qnm6qjcjpgc",
        "bad bech32 checksum",
    );
    addr_bad_because(
        Network::Litecoin,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "Bitcoin",
    );
    addr_bad_because(
        Network::Litecoin,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "bech32 prefix 'bc'",
    );
    let hrp = bech32::Hrp::parse("tltc").unwrap();
    let testnet = bech32::segwit::encode_v0(hrp, &[1u8; 20]).unwrap();
    addr_bad_because(Network::Litecoin, &testnet, "testnet address on mainnet");
    for version in [0x6f, 0xc4, 0x3a] {
        addr_bad_because(
            Network::Litecoin,
            &base58check(version, &[3u8; 20]),
            "testnet address on mainnet",
        );
    }
    // MWEB addresses are recognised by their prefix alone.
    addr_bad_because(Network::Litecoin, "ltcmweb1qqxyz", "MWEB");
}

// ---------------------------------------------------------------- Dogecoin

#[test]
fn dogecoin_good() {
    for s in [
        "DLSSSUS3ex7YNDACJDxMER1ZMW579Vy8Zy",
        "DMvC38mMGgXKJ1QVEBRCo9Kf8U32ApNN2B",
        "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L",
        "AETZJzedcmLM2rxCM6VqCGF3YEMUjA3jMw", // P2SH 0x16
        "9u2VokzEL1s756PzNoUntcyjzrdgdaHgs7", // P2SH 0x16
    ] {
        assert_eq!(addr_ok(Network::Dogecoin, s), s);
    }
}

#[test]
fn dogecoin_bad() {
    let good = "DLSSSUS3ex7YNDACJDxMER1ZMW579Vy8Zy";
    addr_bad_because(Network::Dogecoin, &replace_at(good, 20, 'A'), "checksum");
    addr_bad_because(Network::Dogecoin, &good[..30], "wrong length");
    addr_bad_because(
        Network::Dogecoin,
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "not a Dogecoin",
    );
    addr_bad_because(
        Network::Dogecoin,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "Dogecoin has no bech32 addresses",
    );
    for version in [0x71, 0xc4] {
        addr_bad_because(
            Network::Dogecoin,
            &base58check(version, &[5u8; 20]),
            "testnet address on mainnet",
        );
    }
}

// ---------------------------------------------------------------- EVM

/// The test vectors of EIP-55 itself.
const EIP55_VECTORS: [&str; 8] = [
    // all caps
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    // all lower
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    // normal
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];

#[test]
fn evm_eip55_vectors_are_canonical() {
    for network in EVM {
        for s in EIP55_VECTORS {
            assert_eq!(addr_ok(network, s), s, "{network}");
            // Lowercase and uppercase forms are accepted and checksummed.
            let lower = s.to_ascii_lowercase();
            assert_eq!(addr_ok(network, &lower), s);
            let upper = format!("0x{}", s[2..].to_ascii_uppercase());
            assert_eq!(addr_ok(network, &upper), s);
        }
    }
}

#[test]
fn evm_well_known_addresses() {
    let cases = [
        // USDT on Ethereum
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        // WETH
        "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        // zero address
        "0x0000000000000000000000000000000000000000",
    ];
    for s in cases {
        assert_eq!(addr_ok(Network::Ethereum, s), s);
    }
}

#[test]
fn evm_bad() {
    for network in EVM {
        // One letter's case flipped.
        addr_bad_because(
            network,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            "EIP-55 checksum mismatch",
        );
        addr_bad_because(
            network,
            "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "EIP-55 checksum mismatch",
        );
        addr_bad_because(
            network,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "wrong length: 39 hex digits, expected 40",
        );
        addr_bad_because(
            network,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0",
            "wrong length: 41 hex digits, expected 40",
        );
        addr_bad_because(
            network,
            "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            "transaction hash",
        );
        addr_bad_because(
            network,
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "missing 0x",
        );
        addr_bad_because(
            network,
            "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
            "lowercase 0x",
        );
        addr_bad_because(
            network,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
            "invalid hex character 'g' at position 42",
        );
        addr_bad_because(network, "0x", "wrong length: 0 hex digits");
        addr_bad(network, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    }
}

// ---------------------------------------------------------------- Tron

#[test]
fn tron_good() {
    for s in [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", // USDT (TRC-20) contract
        "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8", // USDC (TRC-20) contract
        "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC",
        "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb", // 0x41 + zero account (black hole)
    ] {
        assert_eq!(addr_ok(Network::Tron, s), s);
    }
}

#[test]
fn tron_bad() {
    let good = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
    addr_bad_because(Network::Tron, &replace_at(good, 12, 'U'), "checksum");
    addr_bad_because(
        Network::Tron,
        &good[..33],
        "wrong length: 33 characters, expected 34",
    );
    addr_bad_because(Network::Tron, &format!("{good}1"), "wrong length");
    addr_bad_because(
        Network::Tron,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "starts with T",
    );
    addr_bad_because(
        Network::Tron,
        "0xa614f803B6FD780986A42c78Ec9c7f77e6DeD13C",
        "EVM-style",
    );
    addr_bad_because(
        Network::Tron,
        "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
        "hex Tron addresses",
    );
    // Valid Base58Check, T-prefix impossible for another version: build 0x42.
    let wrong_version = base58check(0x42, &[0u8; 20]);
    if wrong_version.starts_with('T') {
        addr_bad_because(Network::Tron, &wrong_version, "version byte 0x42");
    } else {
        addr_bad_because(Network::Tron, &wrong_version, "starts with T");
    }
}

// ---------------------------------------------------------------- Solana

#[test]
fn solana_good() {
    for s in [
        "11111111111111111111111111111111",             // system program
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",  // SPL token program
        "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL", // associated token account program
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", // USDC mint
        "So11111111111111111111111111111111111111112",  // wrapped SOL mint
    ] {
        assert_eq!(addr_ok(Network::Solana, s), s);
    }
}

#[test]
fn solana_bad() {
    addr_bad_because(
        Network::Solana,
        "1111111111111111111111111111111",
        "decodes to 31 bytes, expected 32",
    );
    addr_bad_because(
        Network::Solana,
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DAA",
        "expected 32",
    );
    addr_bad_because(
        Network::Solana,
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D0",
        "invalid base58 character '0' at position 43",
    );
    addr_bad_because(
        Network::Solana,
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "EVM-style",
    );
    addr_bad(
        Network::Solana,
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    );
}

// ---------------------------------------------------------------- XRP

#[test]
fn xrp_good() {
    for s in [
        "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", // genesis account
        "rrrrrrrrrrrrrrrrrrrrrhoLvTp",        // ACCOUNT_ZERO
        "rrrrrrrrrrrrrrrrrrrrBZbvji",         // ACCOUNT_ONE
        "rvYAfWj5gh67oV6fW32ZzP3Aw4Eubs59B",  // Bitstamp
    ] {
        assert_eq!(addr_ok(Network::Xrp, s), s);
    }
}

#[test]
fn xrp_bad() {
    let good = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";
    addr_bad_because(Network::Xrp, &replace_at(good, 8, 'x'), "checksum");
    addr_bad(Network::Xrp, &good[..good.len() - 1]);
    addr_bad_because(Network::Xrp, &good[..25], "wrong length");
    addr_bad_because(
        Network::Xrp,
        "XV5sbjUmgPpvXv4ixFWZ5ptAYZ6PD28Sq49uo34VyjnmK5H",
        "X-address not supported; give the classic address and the destination tag",
    );
    addr_bad_because(
        Network::Xrp,
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "starts with r",
    );
    // Bitcoin-alphabet encoding of an XRP account: checksum fails under the Ripple alphabet.
    addr_bad(Network::Xrp, "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyT0");
}

// ---------------------------------------------------------------- TON

#[test]
fn ton_good() {
    for s in [
        // Trust Wallet Core vectors (base64url and base64).
        "EQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorkdl",
        "UQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorhqg",
        "EQBGqFmKe3oY8PChYN9g92ZEV2ybkzVB-hCiesQRn5mFnrNv",
        "Ef8JfFPRpHBV_tZpCurvxMJW69nt2js3SuGEWojGnOpCVPRe",
        "EQAN6Dr3vziti1Kp9D3aEFqJX4bBVfCaV57Z+9jwKTBXICv8",
        "EQCmGW+z+UL00FmnhWaMvJq/i86YY5GlJP3uJW19KC5Tzq4C",
        // USDT jetton master; elector contract (masterchain).
        "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs",
        "Ef8zMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM0vF",
        // Raw forms.
        "0:8a8627861a5dd96c9db3ce0807b122da5ed473934ce7568a5b4b1c361cbb28ae",
        "-1:8a8627861a5dd96c9db3ce0807b122da5ed473934ce7568a5b4b1c361cbb28ae",
        "0:8A8627861A5DD96C9DB3CE0807B122DA5ED473934CE7568A5B4B1C361CBB28AE",
    ] {
        assert_eq!(addr_ok(Network::Ton, s), s);
    }
}

#[test]
fn ton_bad() {
    for s in [
        "kQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorvzv",
        "0QCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorqEq",
    ] {
        addr_bad_because(Network::Ton, s, "testnet address on mainnet");
    }
    // Swapped / wrong CRC bytes.
    addr_bad_because(
        Network::Ton,
        "EQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsormVH",
        "bad CRC16 checksum",
    );
    addr_bad_because(
        Network::Ton,
        "EQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorpcF",
        "bad CRC16 checksum",
    );
    // One character changed in the hash.
    addr_bad_because(
        Network::Ton,
        "EQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsprkdl",
        "bad CRC16 checksum",
    );
    // Invalid tags (0x33, 0xb3) and workchain (1).
    addr_bad_because(
        Network::Ton,
        "MwCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorsn8",
        "unknown address tag 0x33",
    );
    addr_bad_because(
        Network::Ton,
        "swCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsornJ2",
        "unknown address tag 0xb3",
    );
    addr_bad_because(
        Network::Ton,
        "EQEMzVEZ8n9_5GFEdsNPfl6Tx64Jjld88gEvi4BDFly4CSyl",
        "workchain must be 0 or -1, got 1",
    );
    // Lengths.
    addr_bad_because(
        Network::Ton,
        "EQIcIZpPoMnWXd8FbC1KaLtcyIgVUlwsbFK_3P6f5uf_YyzoE",
        "wrong length: 49 characters",
    );
    addr_bad_because(
        Network::Ton,
        "EQIcIZpPoMnWXd8FbC1KaLtcyIgVUlwsbFK_3P6f5uf_YyE",
        "wrong length: 47 characters",
    );
    addr_bad_because(
        Network::Ton,
        "EQIcIZpPoMnWXd8FbC1KaLtcyIgVUlwsbFK_3P6f5uf_Yyw=",
        "decodes to 35 bytes, expected 36",
    );
    // Mixed alphabets.
    addr_bad_because(
        Network::Ton,
        "EQAN6Dr3vziti1Kp9D3aEFqJX4bBVfCaV57Z+9jwKTBX_Cv8",
        "mixes",
    );
    // Raw form problems.
    addr_bad_because(
        Network::Ton,
        "1:0ccd5119f27f7fe4614476c34f7e5e93c7ae098e577cf2012f8b8043165cb809",
        "workchain must be 0 or -1",
    );
    addr_bad_because(
        Network::Ton,
        "-2:e0e98cfcf743292298ad9e379a3c2e6401797b9cbfc0fe98b4e14fd0ce07ecdf",
        "workchain must be 0 or -1",
    );
    addr_bad_because(
        Network::Ton,
        "0:8a8627861a5dd96c9db3ce0807b122da5ed473934ce7568a5b4b1c361cbb28a",
        "wrong length: 63 hex digits",
    );
    addr_bad_because(
        Network::Ton,
        "0:8a8627861a5dd96c9db3ce0807b122da5ed473934ce7568a5b4b1c361cbb28ag",
        "invalid hex character 'g' at position 66",
    );
    addr_bad_because(
        Network::Ton,
        ":8a86",
        "workchain must be 0 or -1, got nothing",
    );
    addr_bad(Network::Ton, "random-string");
}

#[test]
fn ton_crc16_xmodem_check_value() {
    // The standard CRC-16/XMODEM check value.
    assert_eq!(crate::crypto::ton::crc16_xmodem(b"123456789"), 0x31c3);
    assert_eq!(crate::crypto::ton::crc16_xmodem(b""), 0);
}

// ---------------------------------------------------------------- Serialization

#[test]
fn address_display_and_serialize_use_the_canonical_string() {
    let a = Address::parse(
        Network::Bitcoin,
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    )
    .unwrap();
    assert_eq!(a.to_string(), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        "\"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\""
    );
    let e = Address::parse(
        Network::Ethereum,
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::json!("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    );
}
