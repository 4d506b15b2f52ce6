use super::EVM;
use crate::crypto::{Address, Amount, Asset, Memo, Network, TxHash};
use proptest::prelude::*;
use std::str::FromStr;

fn network() -> impl Strategy<Value = Network> {
    proptest::sample::select(Network::ALL.to_vec())
}

/// Strings shaped like real inputs (known prefixes, address alphabets), to reach deep paths.
fn address_like() -> impl Strategy<Value = String> {
    let prefixes = vec![
        "", "bc1", "BC1", "bc1q", "bc1p", "tb1", "bcrt1", "ltc1", "ltcmweb1", "1", "3", "L", "M",
        "D", "9", "A", "0x", "0X", "T", "r", "X", "EQ", "UQ", "kQ", "Ef", "0:", "-1:", ":", "1:",
    ];
    (
        proptest::sample::select(prefixes),
        "[a-zA-Z0-9+/=_:.-]{0,100}",
    )
        .prop_map(|(p, rest)| format!("{p}{rest}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn eip55_round_trips_and_detects_one_flipped_letter(bytes in any::<[u8; 20]>(), pick in any::<prop::sample::Index>()) {
        let lower = format!("0x{}", hex::encode(bytes));
        for network in EVM {
            let canonical = Address::parse(network, &lower).unwrap();
            let again = Address::parse(network, canonical.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), canonical.as_str());
            prop_assert_eq!(canonical.as_str().to_ascii_lowercase(), lower.clone());
        }
        let canonical = Address::parse(Network::Ethereum, &lower).unwrap().as_str().to_owned();
        let letters: Vec<usize> = canonical
            .char_indices()
            .skip(2)
            .filter(|(_, c)| c.is_ascii_alphabetic())
            .map(|(i, _)| i)
            .collect();
        if !letters.is_empty() {
            let at = letters[pick.index(letters.len())];
            let flipped: String = canonical
                .char_indices()
                .map(|(i, c)| if i == at {
                    if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() }
                } else { c })
                .collect();
            let digits = &flipped[2..];
            let mixed = digits.bytes().any(|b| b.is_ascii_lowercase())
                && digits.bytes().any(|b| b.is_ascii_uppercase());
            let result = Address::parse(Network::Ethereum, &flipped);
            if mixed {
                let err = result.unwrap_err();
                prop_assert_eq!(err.code, "invalid_address");
                prop_assert_eq!(err.reason, "EIP-55 checksum mismatch");
            } else {
                // Flipping the only letter of one case leaves an unchecksummed form.
                prop_assert_eq!(result.unwrap().to_string(), canonical);
            }
        }
    }

    #[test]
    fn parsers_never_panic_on_any_string(s in any::<String>(), net in network()) {
        let _ = Address::parse(net, &s);
        let _ = TxHash::parse(net, &s);
        let _ = Memo::parse(net, &s);
        let _ = Asset::parse(&s);
        let _ = Amount::parse(&s);
        let _ = Network::from_str(&s);
    }

    #[test]
    fn parsers_never_panic_on_address_like_strings(s in address_like()) {
        for &net in Network::ALL {
            if let Ok(a) = Address::parse(net, &s) {
                // Canonical forms are stable.
                let again = Address::parse(net, a.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), a.as_str());
            }
            if let Ok(t) = TxHash::parse(net, &s) {
                let again = TxHash::parse(net, t.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), t.as_str());
            }
            let _ = Memo::parse(net, &s);
        }
        let _ = Amount::parse(&s);
        let _ = Asset::parse(&s);
    }

    #[test]
    fn errors_always_carry_a_reason(s in "\\PC{0,80}", net in network()) {
        if let Err(e) = Address::parse(net, &s) {
            prop_assert!(!e.reason.is_empty());
            prop_assert_eq!(e.code, "invalid_address");
        }
        if let Err(e) = TxHash::parse(net, &s) {
            prop_assert!(!e.reason.is_empty());
            prop_assert_eq!(e.code, "invalid_tx_hash");
        }
    }

    #[test]
    fn amount_parse_canonical_parse_is_identity(s in "[0-9]{1,10}(\\.[0-9]{1,18})?") {
        let amount = Amount::parse(&s).unwrap();
        let canonical = amount.to_canonical_string();
        let again = Amount::parse(&canonical).unwrap();
        prop_assert_eq!(again, amount);
        prop_assert_eq!(again.to_canonical_string(), canonical.clone());
        prop_assert_eq!(amount.as_decimal(), rust_decimal::Decimal::from_str(&s).unwrap());
        prop_assert!(!canonical.contains('e'));
    }

    #[test]
    fn amount_from_any_decimal_round_trips(mantissa in any::<u64>(), scale in 0u32..=18) {
        let d = rust_decimal::Decimal::new(i64::try_from(mantissa >> 1).unwrap(), scale);
        let text = d.to_string();
        let amount = Amount::parse(&text).unwrap();
        prop_assert_eq!(amount.as_decimal(), d);
        prop_assert_eq!(amount.to_canonical_string(), d.normalize().to_string());
    }

    #[test]
    fn an_amount_grouped_by_thousands_is_the_plain_amount(
        n in 0u64..10_000_000_000,
        frac in "(\\.[0-9]{1,18})?",
        sep in prop::sample::select(vec![",", " ", "\u{ff0c}", "\u{202f}"]),
    ) {
        let digits = n.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(sep);
            }
            grouped.push(c);
        }
        let plain = Amount::parse(&format!("{digits}{frac}")).unwrap();
        prop_assert_eq!(Amount::parse(&format!("{grouped}{frac}")).unwrap(), plain);
    }

    #[test]
    fn any_u32_is_an_xrp_tag(tag in any::<u32>()) {
        let memo = Memo::parse(Network::Xrp, &tag.to_string()).unwrap();
        prop_assert_eq!(memo.as_str(), tag.to_string());
    }

    #[test]
    fn above_u32_is_not_an_xrp_tag(tag in (u64::from(u32::MAX) + 1)..=u64::MAX) {
        let err = Memo::parse(Network::Xrp, &tag.to_string()).unwrap_err();
        prop_assert_eq!(err.code, "invalid_memo");
    }

    #[test]
    fn bitcoin_family_encodings_are_accepted(hash in any::<[u8; 20]>(), program in any::<[u8; 32]>()) {
        for (net, versions) in [
            (Network::Bitcoin, &[0x00u8, 0x05][..]),
            (Network::Litecoin, &[0x30, 0x32, 0x05][..]),
            (Network::Dogecoin, &[0x1e, 0x16][..]),
        ] {
            for &v in versions {
                let s = super::base58check(v, &hash);
                prop_assert_eq!(Address::parse(net, &s).unwrap().to_string(), s.as_str());
            }
        }
        for (net, hrp) in [(Network::Bitcoin, "bc"), (Network::Litecoin, "ltc")] {
            let hrp = bech32::Hrp::parse(hrp).unwrap();
            for s in [
                bech32::segwit::encode_v0(hrp, &hash).unwrap(),
                bech32::segwit::encode_v0(hrp, &program).unwrap(),
                bech32::segwit::encode_v1(hrp, &program).unwrap(),
            ] {
                prop_assert_eq!(Address::parse(net, &s.to_ascii_uppercase()).unwrap().to_string(), s.as_str());
            }
        }
        let tron = super::base58check(0x41, &hash);
        prop_assert_eq!(Address::parse(Network::Tron, &tron).unwrap().to_string(), tron.as_str());
        let mut xrp_data = vec![0u8];
        xrp_data.extend_from_slice(&hash);
        let xrp = bs58::encode(xrp_data).with_alphabet(bs58::Alphabet::RIPPLE).with_check().into_string();
        prop_assert_eq!(Address::parse(Network::Xrp, &xrp).unwrap().to_string(), xrp.as_str());
    }

    #[test]
    fn base58_one_character_typo_is_rejected(hash in any::<[u8; 20]>(), pos in any::<prop::sample::Index>(), with in any::<prop::sample::Index>()) {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let s = super::base58check(0x00, &hash);
        let i = pos.index(s.len());
        let replacement = ALPHABET[with.index(ALPHABET.len())];
        prop_assume!(s.as_bytes()[i] != replacement);
        let mut typo = s.clone().into_bytes();
        typo[i] = replacement;
        let typo = String::from_utf8(typo).unwrap();
        prop_assert!(Address::parse(Network::Bitcoin, &typo).is_err());
    }

    #[test]
    fn solana_any_key_and_signature(key in any::<[u8; 32]>(), sig in proptest::collection::vec(any::<u8>(), 64)) {
        let k = bs58::encode(key).into_string();
        prop_assert_eq!(Address::parse(Network::Solana, &k).unwrap().to_string(), k.as_str());
        let s = bs58::encode(&sig).into_string();
        prop_assert_eq!(TxHash::parse(Network::Solana, &s).unwrap().to_string(), s.as_str());
        prop_assert!(TxHash::parse(Network::Solana, &k).is_err());
        prop_assert!(Address::parse(Network::Solana, &s).is_err());
    }

    #[test]
    fn ton_friendly_round_trip_and_bit_flips(
        bounceable in any::<bool>(),
        masterchain in any::<bool>(),
        url_safe in any::<bool>(),
        hash in any::<[u8; 32]>(),
        flip in 0usize..(36 * 8),
    ) {
        use base64::Engine as _;
        let mut data = vec![if bounceable { 0x11 } else { 0x51 }, if masterchain { 0xff } else { 0x00 }];
        data.extend_from_slice(&hash);
        let crc = crate::crypto::ton::crc16_xmodem(&data);
        data.extend_from_slice(&crc.to_be_bytes());
        let engine = if url_safe {
            base64::engine::general_purpose::URL_SAFE
        } else {
            base64::engine::general_purpose::STANDARD
        };
        let s = engine.encode(&data);
        prop_assert_eq!(Address::parse(Network::Ton, &s).unwrap().to_string(), s.as_str());
        let raw = format!("{}:{}", if masterchain { "-1" } else { "0" }, hex::encode(hash));
        prop_assert_eq!(Address::parse(Network::Ton, &raw).unwrap().to_string(), raw.as_str());
        // CRC-16 detects every single-bit error.
        data[flip / 8] ^= 1 << (flip % 8);
        let corrupted = engine.encode(&data);
        prop_assert!(Address::parse(Network::Ton, &corrupted).is_err());
        // Testnet flag with a correct CRC.
        let mut test = data.clone();
        test[flip / 8] ^= 1 << (flip % 8);
        test[0] |= 0x80;
        let crc = crate::crypto::ton::crc16_xmodem(&test[..34]);
        test[34..].copy_from_slice(&crc.to_be_bytes());
        let err = Address::parse(Network::Ton, &engine.encode(&test)).unwrap_err();
        prop_assert_eq!(err.reason, "testnet address on mainnet");
    }

    #[test]
    fn hex_tx_hashes_of_any_bytes(bytes in any::<[u8; 32]>()) {
        let lower = hex::encode(bytes);
        let upper = lower.to_ascii_uppercase();
        for net in [Network::Bitcoin, Network::Litecoin, Network::Dogecoin, Network::Tron, Network::Ton] {
            prop_assert_eq!(TxHash::parse(net, &upper).unwrap().to_string(), lower.as_str());
        }
        prop_assert_eq!(TxHash::parse(Network::Xrp, &lower).unwrap().to_string(), upper.as_str());
        for net in EVM {
            let s = format!("0x{upper}");
            prop_assert_eq!(TxHash::parse(net, &s).unwrap().to_string(), format!("0x{lower}"));
        }
    }

    #[test]
    fn assets_are_stored_uppercase(s in "[a-zA-Z0-9]{1,4}([.-][a-zA-Z0-9]{1,4}){0,2}") {
        let asset = Asset::parse(&s).unwrap();
        prop_assert_eq!(asset.as_str(), s.to_ascii_uppercase());
    }
}

/// Found by the property above: a Litecoin Base58Check address that begins "Ltc1…", like a
/// bech32 one, must still be read as Base58Check.
#[test]
fn base58_address_starting_like_a_bech32_prefix() {
    let mut hash = [0u8; 20];
    hash[0] = 87;
    hash[1] = 99;
    for v in [0x30u8, 0x32, 0x05] {
        let s = super::base58check(v, &hash);
        assert_eq!(
            Address::parse(Network::Litecoin, &s).unwrap().to_string(),
            s
        );
    }
    assert!(
        super::base58check(0x30, &hash)
            .to_ascii_lowercase()
            .starts_with("ltc1")
    );
}
