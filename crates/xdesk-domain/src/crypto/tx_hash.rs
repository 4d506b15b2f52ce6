//! Transaction hashes / ids / signatures per network.

use super::Network;
use super::text::{MAX_TOKEN_LEN, check_hex, check_token, strip_0x};

const HEX_DIGITS: usize = 64;

/// Validates `s` as exactly 64 hex digits; `offset` shifts reported positions.
fn check_hex64(digits: &str, offset: usize) -> Result<(), String> {
    check_hex(digits, offset)?;
    if digits.len() != HEX_DIGITS {
        return Err(format!(
            "wrong length: {} hex digits, expected {HEX_DIGITS}",
            digits.len()
        ));
    }
    Ok(())
}

/// 64 hex digits with no `0x` prefix.
fn bare_hex64(network: Network, s: &str) -> Result<(), String> {
    if strip_0x(s).is_some() {
        return Err(format!(
            "{} transaction ids have no 0x prefix",
            network.display_name()
        ));
    }
    check_hex64(s, 0)
}

/// Validates a transaction hash and returns its canonical form.
pub(super) fn parse(network: Network, s: &str) -> Result<String, String> {
    check_token(s, MAX_TOKEN_LEN)?;
    match network {
        Network::Bitcoin | Network::Litecoin | Network::Dogecoin | Network::Tron => {
            bare_hex64(network, s)?;
            Ok(s.to_ascii_lowercase())
        }
        Network::Ethereum
        | Network::Bsc
        | Network::Polygon
        | Network::Arbitrum
        | Network::Optimism
        | Network::Base
        | Network::AvalancheC => {
            let digits = match s.strip_prefix("0x") {
                Some(digits) => digits,
                None if s.starts_with("0X") => {
                    return Err("the prefix must be a lowercase 0x".to_owned());
                }
                None => return Err("missing 0x prefix".to_owned()),
            };
            check_hex64(digits, 2)?;
            Ok(s.to_ascii_lowercase())
        }
        Network::Xrp => {
            bare_hex64(network, s)?;
            Ok(s.to_ascii_uppercase())
        }
        Network::Solana => {
            super::solana::check_base58_len(s, 64)?;
            Ok(s.to_owned())
        }
        Network::Ton => {
            if s.len() == 44 {
                let bytes = super::ton::decode_base64_either(s)?;
                if bytes.len() != 32 {
                    return Err(format!(
                        "wrong length: decodes to {} bytes, expected 32",
                        bytes.len()
                    ));
                }
                return Ok(s.to_owned());
            }
            let looks_hex = strip_0x(s).is_some() || s.bytes().all(|b| b.is_ascii_hexdigit());
            if !looks_hex && s.len() != HEX_DIGITS {
                return Err(format!(
                    "wrong length: {} characters, expected 64 hex digits or 44 base64 characters",
                    s.len()
                ));
            }
            bare_hex64(network, s)?;
            Ok(s.to_ascii_lowercase())
        }
    }
}
