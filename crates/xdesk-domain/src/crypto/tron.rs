//! Tron addresses: Base58Check of version byte 0x41 + 20 bytes, starting with `T`.

use super::base58;

const VERSION: u8 = 0x41;

/// Validates a Tron base58 address; the canonical form is the input.
pub(super) fn parse_address(s: &str) -> Result<String, String> {
    if super::text::strip_0x(s).is_some() {
        return Err(
            "this is an EVM-style 0x address; give the Tron base58 address (T…)".to_owned(),
        );
    }
    if s.len() == 42 && s.starts_with("41") && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("hex Tron addresses are not supported; give the base58 form (T…)".to_owned());
    }
    if !s.starts_with('T') {
        return Err("a Tron address starts with T".to_owned());
    }
    // 0x41 || 20 bytes || 4 checksum bytes always encodes to 34 characters.
    if s.len() != 34 {
        return Err(format!("wrong length: {} characters, expected 34", s.len()));
    }
    let payload = base58::decode_check(s, bs58::Alphabet::BITCOIN, 21)?;
    match payload.first() {
        Some(&VERSION) => Ok(s.to_owned()),
        Some(other) => Err(format!(
            "version byte 0x{other:02x}, expected 0x{VERSION:02x}"
        )),
        None => Err("empty payload".to_owned()),
    }
}
