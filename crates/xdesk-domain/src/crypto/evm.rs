//! EVM addresses: `0x` + 40 hex digits, EIP-55 mixed-case checksum.

use sha3::{Digest, Keccak256};

const HEX_DIGITS: usize = 40;

/// Validates an EVM address and returns its EIP-55 checksummed form.
///
/// All-lowercase and all-uppercase hex carry no checksum and are accepted; mixed case must
/// match EIP-55 exactly.
pub(super) fn parse_address(s: &str) -> Result<String, String> {
    let digits = match s.strip_prefix("0x") {
        Some(digits) => digits,
        None if s.starts_with("0X") => {
            return Err("the prefix must be a lowercase 0x".to_owned());
        }
        None => return Err("missing 0x prefix".to_owned()),
    };
    super::text::check_hex(digits, 2)?;
    if digits.len() != HEX_DIGITS {
        let hint = if digits.len() == 64 {
            " (this looks like a transaction hash)"
        } else {
            ""
        };
        return Err(format!(
            "wrong length: {} hex digits, expected {HEX_DIGITS}{hint}",
            digits.len()
        ));
    }
    let checksummed = to_checksum(digits);
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && checksummed.get(2..) != Some(digits) {
        return Err("EIP-55 checksum mismatch".to_owned());
    }
    Ok(checksummed)
}

/// EIP-55: renders 40 hex digits (any case) as `0x` + checksummed mixed case.
pub(super) fn to_checksum(digits: &str) -> String {
    let lower = digits.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(lower.len() + 2);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let byte = hash.get(i / 2).copied().unwrap_or(0);
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}
