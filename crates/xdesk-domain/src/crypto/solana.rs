//! Solana addresses (base58 of a 32-byte public key) and transaction signatures (64 bytes).

use super::base58;

/// Validates `s` as base58 decoding to exactly `len` bytes.
pub(super) fn check_base58_len(s: &str, len: usize) -> Result<(), String> {
    if super::text::strip_0x(s).is_some() {
        return Err("this is an EVM-style 0x value, not a Solana one".to_owned());
    }
    let bytes = base58::decode(s, bs58::Alphabet::BITCOIN)?;
    if bytes.len() != len {
        return Err(format!(
            "wrong length: decodes to {} bytes, expected {len}",
            bytes.len()
        ));
    }
    Ok(())
}

/// Validates a Solana address; the canonical form is the input.
pub(super) fn parse_address(s: &str) -> Result<String, String> {
    check_base58_len(s, 32)?;
    Ok(s.to_owned())
}
