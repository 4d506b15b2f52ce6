use crate::crypto::{Amount, Asset, Memo, Network};

fn memo_err(network: Network, s: &str) -> crate::FieldError {
    let err = match Memo::parse(network, s) {
        Ok(m) => panic!("{network} memo `{s:?}` accepted as `{m}`"),
        Err(e) => e,
    };
    assert_eq!(err.field, "memo");
    assert!(!err.reason.is_empty());
    err
}

fn memo_bad_because(network: Network, s: &str, needle: &str) {
    let err = memo_err(network, s);
    assert_eq!(err.code, "invalid_memo", "{err:?}");
    assert!(
        err.reason.contains(needle),
        "`{s:?}`: `{}` lacks `{needle}`",
        err.reason
    );
}

// ---------------------------------------------------------------- Memo

#[test]
fn xrp_destination_tags() {
    for (input, canonical) in [
        ("0", "0"),
        ("1", "1"),
        ("123456", "123456"),
        ("4294967295", "4294967295"),
        ("007", "7"),
    ] {
        let memo = Memo::parse(Network::Xrp, input).unwrap();
        assert_eq!(memo.as_str(), canonical);
        assert_eq!(memo.network(), Network::Xrp);
    }
    memo_bad_because(Network::Xrp, "4294967296", "too large");
    memo_bad_because(Network::Xrp, "99999999999999999999", "too large");
    memo_bad_because(Network::Xrp, "+5", "sign");
    memo_bad_because(Network::Xrp, "-5", "sign");
    memo_bad_because(Network::Xrp, "", "empty");
    memo_bad_because(Network::Xrp, " 5", "whitespace");
    memo_bad_because(Network::Xrp, "5\n", "whitespace");
    memo_bad_because(Network::Xrp, "12a", "decimal");
    memo_bad_because(Network::Xrp, "1.5", "decimal");
    memo_bad_because(Network::Xrp, "1_000", "decimal");
    memo_bad_because(Network::Xrp, "٣", "decimal"); // Arabic-Indic digit three
}

#[test]
fn ton_and_solana_comments() {
    for network in [Network::Ton, Network::Solana] {
        for s in [
            "123456789",
            "deposit for user 42",
            "Ünïcødé ✓ 😀",
            " padded ",
        ] {
            assert_eq!(Memo::parse(network, s).unwrap().as_str(), s);
        }
        let max = "x".repeat(120);
        assert_eq!(Memo::parse(network, &max).unwrap().as_str(), max);
        // 40 three-byte characters = 120 bytes: fine; one more byte is not.
        let euros = "€".repeat(40);
        assert!(Memo::parse(network, &euros).is_ok());
        memo_bad_because(network, &format!("{euros}x"), "too long: 121 bytes");
        memo_bad_because(network, &"x".repeat(121), "too long");
        memo_bad_because(network, "", "empty");
        memo_bad_because(network, "line\nbreak", "U+000A at position 5");
        memo_bad_because(network, "tab\there", "U+0009");
        memo_bad_because(network, "nul\0", "U+0000");
        memo_bad_because(network, "del\u{7f}", "U+007F");
        memo_bad_because(network, "abc\u{202E}fed", "U+202E");
    }
}

#[test]
fn other_networks_carry_no_memo() {
    for &network in Network::ALL {
        if network.supports_memo() {
            continue;
        }
        for s in ["123", "", "memo"] {
            let err = memo_err(network, s);
            assert_eq!(err.code, "memo_not_supported");
            assert_eq!(err.reason, format!("{network} transfers carry no memo/tag"));
        }
    }
}

#[test]
fn memo_display_and_serialize() {
    let memo = Memo::parse(Network::Ton, "hello").unwrap();
    assert_eq!(memo.to_string(), "hello");
    assert_eq!(serde_json::to_string(&memo).unwrap(), "\"hello\"");
}

// ---------------------------------------------------------------- Asset

#[test]
fn asset_good() {
    for (input, canonical) in [
        ("BTC", "BTC"),
        ("usdt", "USDT"),
        ("USDT.e", "USDT.E"),
        ("1INCH", "1INCH"),
        ("BTC-B", "BTC-B"),
        ("X", "X"),
        ("ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP"),
    ] {
        let asset = Asset::parse(input).unwrap();
        assert_eq!(asset.as_str(), canonical);
        assert_eq!(asset.to_string(), canonical);
        assert_eq!(
            serde_json::to_string(&asset).unwrap(),
            format!("\"{canonical}\"")
        );
    }
}

#[test]
fn asset_bad() {
    for (input, needle) in [
        ("", "empty"),
        (" BTC", "whitespace"),
        ("BTC ", "whitespace"),
        ("BT C", "space"),
        ("ABCDEFGHIJKLMNOPQ", "too long: 17"),
        (".BTC", "between"),
        ("BTC.", "between"),
        ("-BTC", "between"),
        ("USDT..E", "follow"),
        ("USDT.-E", "follow"),
        ("US$", "'$'"),
        ("ÉTH", "U+00C9"),
        ("BTC/USD", "'/'"),
    ] {
        let err = Asset::parse(input).unwrap_err();
        assert_eq!(err.field, "asset");
        assert_eq!(err.code, "invalid_asset");
        assert!(err.reason.contains(needle), "`{input}`: `{}`", err.reason);
    }
}

// ---------------------------------------------------------------- Amount

#[test]
fn amount_canonical_forms() {
    for (input, canonical) in [
        ("0", "0"),
        ("0.000", "0"),
        ("000", "0"),
        ("1.50", "1.5"),
        ("1.0", "1"),
        ("0010.0100", "10.01"),
        ("100", "100"),
        ("1000000", "1000000"),
        ("0.000000000000000001", "0.000000000000000001"),
        ("0.1000000000000000000000", "0.1"),
        (
            "9999999999999999999999999999",
            "9999999999999999999999999999",
        ),
        (
            "9999999999.999999999999999999",
            "9999999999.999999999999999999",
        ),
        ("123.456", "123.456"),
        // Thousands separators as people type them.
        ("25,000.50", "25000.5"),
        ("25,000", "25000"),
        ("25 000.50", "25000.5"),
        ("1,234,567.891", "1234567.891"),
        ("1 234 567", "1234567"),
        ("25\u{a0}000.50", "25000.5"),
        ("25\u{2009}000.50", "25000.5"),
        ("25\u{202f}000", "25000"),
        ("25，000.50", "25000.5"),
        ("２５，０００．５０", "25000.5"),
        ("999,999", "999999"),
    ] {
        let amount = Amount::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(amount.to_canonical_string(), canonical, "{input}");
        assert_eq!(amount.to_string(), canonical);
        assert_eq!(
            serde_json::to_string(&amount).unwrap(),
            format!("\"{canonical}\"")
        );
    }
    assert_eq!(
        Amount::parse("1.50").unwrap(),
        Amount::parse("1.5").unwrap()
    );
    assert!(Amount::parse("2").unwrap() > Amount::parse("1.999").unwrap());
}

#[test]
fn amount_bad() {
    for (input, needle) in [
        ("", "empty"),
        (" 1", "whitespace"),
        ("1 ", "whitespace"),
        ("-1", "negative"),
        ("-0", "negative"),
        ("+1", "sign"),
        ("1e5", "exponent"),
        ("1E-5", "exponent"),
        ("1.2.3", "more than one decimal point"),
        ("1.000.000", "1,000,000"),
        (".5", "write 0.5"),
        ("5.", "after the decimal point"),
        (".", "decimal point"),
        ("NaN", "'N'"),
        ("inf", "'i'"),
        ("0x10", "'x'"),
        ("١", "U+0661"),
        ("25000。50", "U+3002"),
        ("0.0000000000000000001", "too many decimal places: 19"),
        (
            "10000000000000000000000000000",
            "too many significant digits: 29",
        ),
        (
            "10,000,000,000,000,000,000,000,000,000",
            "too many significant digits: 29",
        ),
        ("1234567890.1234567890123456789", "decimal places"),
        (
            "12345678901.123456789012345678",
            "too many significant digits: 29",
        ),
    ] {
        let err = Amount::parse(input).unwrap_err();
        assert_eq!(err.field, "amount");
        assert_eq!(err.code, "invalid_amount", "{input}");
        assert!(err.reason.contains(needle), "`{input}`: `{}`", err.reason);
    }
    let long = format!("0.{}1", "0".repeat(120));
    assert!(
        Amount::parse(&long)
            .unwrap_err()
            .reason
            .contains("too long")
    );
}

/// Separators that would need a guess are refused, each with a reason that shows how to
/// write the amount, never read as some other number.
#[test]
fn amount_separators_that_need_a_guess() {
    for (input, needle) in [
        ("25,00.5", "groups of three digits"),
        ("2,50,000", "groups of three digits"),
        ("1,00,000.00", "groups of three digits"),
        ("25,0000", "'.' as the decimal point"),
        ("1,5", "'.' as the decimal point"),
        ("1，5", "'.' as the decimal point"),
        ("1.000,50", "',' for decimals"),
        ("1.234.567,89", "',' for decimals"),
        ("0,5", "'.' as the decimal point"),
        (",500", "groups of three digits"),
        ("1,,000", "groups of three digits"),
        ("1000,", "groups of three digits"),
        ("1, 000", "mixes"),
        ("1,000 000", "mixes"),
        ("1.000 5", "after the decimal point"),
        ("1_000", "','"),
        ("1'000", "','"),
    ] {
        let err = Amount::parse(input).unwrap_err();
        assert_eq!(err.field, "amount");
        assert_eq!(err.code, "ambiguous_amount", "{input}: {}", err.reason);
        assert!(err.reason.contains(needle), "`{input}`: `{}`", err.reason);
    }
}
