//! Bitcoin-family addresses: Base58Check (P2PKH / P2SH) and bech32 / bech32m segwit.

use super::base58;
use bech32::primitives::decode::{
    CharError, ChecksumError, SegwitHrpstring, SegwitHrpstringError, UncheckedHrpstring,
    UncheckedHrpstringError,
};
use bech32::primitives::segwit::WitnessLengthError;
use bech32::{Bech32, Bech32m};

/// Address rules of one Bitcoin-like chain (mainnet).
pub(super) struct UtxoChain {
    name: &'static str,
    /// Mainnet segwit human-readable part, if the chain has segwit addresses.
    hrp: Option<&'static str>,
    /// Testnet / regtest segwit human-readable parts.
    test_hrps: &'static [&'static str],
    /// Lowercase prefixes of address kinds we recognise but do not accept, with the reason.
    unsupported: &'static [(&'static str, &'static str)],
    /// Accepted mainnet Base58Check version bytes.
    versions: &'static [u8],
    /// Base58Check version bytes of testnet / regtest addresses.
    test_versions: &'static [u8],
}

pub(super) const BITCOIN: UtxoChain = UtxoChain {
    name: "Bitcoin",
    hrp: Some("bc"),
    test_hrps: &["tb", "bcrt"],
    unsupported: &[],
    versions: &[0x00, 0x05],
    test_versions: &[0x6f, 0xc4],
};

pub(super) const LITECOIN: UtxoChain = UtxoChain {
    name: "Litecoin",
    hrp: Some("ltc"),
    test_hrps: &["tltc", "rltc"],
    unsupported: &[(
        "ltcmweb1",
        "Litecoin MWEB addresses are not supported; give a regular L…, M… or ltc1… address",
    )],
    versions: &[0x30, 0x32, 0x05],
    test_versions: &[0x6f, 0xc4, 0x3a],
};

pub(super) const DOGECOIN: UtxoChain = UtxoChain {
    name: "Dogecoin",
    hrp: None,
    test_hrps: &[],
    unsupported: &[],
    versions: &[0x1e, 0x16],
    test_versions: &[0x71, 0xc4],
};

const TESTNET: &str = "testnet address on mainnet";

/// Validates `s` (already checked to be one printable-ASCII token) and returns its canonical
/// form: bech32 lowercase, Base58Check as given.
pub(super) fn parse_address(chain: &UtxoChain, s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    if let Some((_, reason)) = chain
        .unsupported
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
    {
        return Err((*reason).to_owned());
    }
    let is_segwit = chain
        .hrp
        .iter()
        .chain(chain.test_hrps.iter())
        .any(|hrp| lower.strip_prefix(hrp).is_some_and(|r| r.starts_with('1')));
    if is_segwit {
        // A Base58Check address can start the same way ("Ltc1…" for Litecoin): when the
        // bech32 reading fails, that one decides, and the bech32 error is reported otherwise.
        return parse_segwit(chain, s).or_else(|e| parse_base58(chain, s).map_err(|_| e));
    }
    parse_base58(chain, s).map_err(|reason| foreign_bech32(chain, s).unwrap_or(reason))
}

/// If `s` is a valid segwit address of some other chain, says so.
fn foreign_bech32(chain: &UtxoChain, s: &str) -> Option<String> {
    let (hrp, _, _) = bech32::segwit::decode(s).ok()?;
    let expected = match chain.hrp {
        Some(own) => format!("expected {own}1…"),
        None => format!("{} has no bech32 addresses", chain.name),
    };
    Some(format!(
        "bech32 prefix '{}' is not a {} address ({expected})",
        hrp.to_lowercase(),
        chain.name
    ))
}

fn parse_segwit(chain: &UtxoChain, s: &str) -> Result<String, String> {
    match SegwitHrpstring::new(s) {
        Ok(segwit) => {
            let hrp = segwit.hrp().to_lowercase();
            if chain.hrp == Some(hrp.as_str()) {
                Ok(s.to_ascii_lowercase())
            } else if chain.test_hrps.contains(&hrp.as_str()) {
                Err(TESTNET.to_owned())
            } else {
                Err(format!("unexpected bech32 prefix '{hrp}'"))
            }
        }
        Err(err) => Err(describe_segwit_error(s, &err)),
    }
}

fn describe_segwit_error(s: &str, err: &SegwitHrpstringError) -> String {
    match err {
        SegwitHrpstringError::Unchecked(e) => describe_unchecked_error(e),
        SegwitHrpstringError::NoData => "no data after the '1' separator".to_owned(),
        SegwitHrpstringError::TooLong(len) => {
            format!("too long: {len} characters, a segwit address has at most 90")
        }
        SegwitHrpstringError::InvalidWitnessVersion(fe) => {
            format!("invalid witness version {} (must be 0 to 16)", fe.to_u8())
        }
        SegwitHrpstringError::Padding(_) => "invalid padding in the witness program".to_owned(),
        SegwitHrpstringError::WitnessLength(e) => match e {
            WitnessLengthError::TooShort => {
                "wrong length: witness program shorter than 2 bytes".to_owned()
            }
            WitnessLengthError::TooLong => {
                "wrong length: witness program longer than 40 bytes".to_owned()
            }
            WitnessLengthError::InvalidSegwitV0 => {
                "wrong length: a version 0 witness program must be 20 or 32 bytes".to_owned()
            }
            _ => format!("wrong length: {e}"),
        },
        SegwitHrpstringError::Checksum(ChecksumError::InvalidResidue) => describe_bad_checksum(s),
        SegwitHrpstringError::Checksum(ChecksumError::CodeLength(_)) => {
            "too long for a bech32 address".to_owned()
        }
        SegwitHrpstringError::Checksum(ChecksumError::InvalidLength) => {
            "too short for a bech32 address".to_owned()
        }
        _ => format!("invalid segwit address: {err}"),
    }
}

/// The checksum did not verify for the variant BIP-350 requires; tell whether it verifies
/// for the other variant (a BIP-350 violation) or not at all (a typo).
fn describe_bad_checksum(s: &str) -> String {
    let Ok(unchecked) = UncheckedHrpstring::new(s) else {
        return "bad bech32 checksum".to_owned();
    };
    match unchecked.witness_version().map(|v| v.to_u8()) {
        Some(0) if unchecked.has_valid_checksum::<Bech32m>() => {
            "witness version 0 must use a bech32 checksum, not bech32m (BIP-350)".to_owned()
        }
        Some(v) if v > 0 && unchecked.has_valid_checksum::<Bech32>() => {
            format!("witness version {v} must use a bech32m checksum, not bech32 (BIP-350)")
        }
        _ => "bad bech32 checksum".to_owned(),
    }
}

fn describe_unchecked_error(err: &UncheckedHrpstringError) -> String {
    match err {
        UncheckedHrpstringError::Char(CharError::MixedCase) => {
            "mixed upper and lower case in a bech32 address".to_owned()
        }
        UncheckedHrpstringError::Char(CharError::InvalidChar(c)) => format!(
            "invalid bech32 character {} (bech32 never uses 1, b, i or o after the prefix)",
            super::text::describe_char(*c)
        ),
        UncheckedHrpstringError::Char(CharError::NothingAfterSeparator) => {
            "no data after the '1' separator".to_owned()
        }
        UncheckedHrpstringError::Char(CharError::MissingSeparator) => {
            "missing the '1' separator".to_owned()
        }
        _ => format!("invalid bech32: {err}"),
    }
}

fn parse_base58(chain: &UtxoChain, s: &str) -> Result<String, String> {
    let payload = base58::decode_check(s, bs58::Alphabet::BITCOIN, 21)?;
    let Some(&version) = payload.first() else {
        return Err("empty payload".to_owned());
    };
    if chain.versions.contains(&version) {
        Ok(s.to_owned())
    } else if chain.test_versions.contains(&version) {
        Err(TESTNET.to_owned())
    } else {
        let hint = match other_chain(chain, version) {
            Some(other) => format!("; it looks like {other}"),
            None => String::new(),
        };
        Err(format!(
            "version byte 0x{version:02x} is not a {} mainnet address{hint}",
            chain.name
        ))
    }
}

/// Names the chain a Base58Check version byte belongs to, for error hints.
fn other_chain(chain: &UtxoChain, version: u8) -> Option<&'static str> {
    let guess = match version {
        0x00 => "a Bitcoin P2PKH address",
        0x05 => "a Bitcoin or legacy Litecoin P2SH address",
        0x30 | 0x32 => "a Litecoin address",
        0x1e | 0x16 => "a Dogecoin address",
        0x41 => "a Tron address",
        _ => return None,
    };
    (!chain.versions.contains(&version)).then_some(guess)
}
