//! XRP Ledger classic addresses: Base58Check (Ripple alphabet) of 0x00 + 20-byte account id.

use super::base58;

/// Validates a classic XRP address; the canonical form is the input.
pub(super) fn parse_address(s: &str) -> Result<String, String> {
    // X-addresses (XLS-5) pack the account and tag: 47 characters, X… mainnet, T… testnet.
    if s.len() == 47 && (s.starts_with('X') || s.starts_with('T')) {
        return Err(
            "X-address not supported; give the classic address and the destination tag".to_owned(),
        );
    }
    if !s.starts_with('r') {
        return Err("a classic XRP address starts with r".to_owned());
    }
    let payload = base58::decode_check(s, bs58::Alphabet::RIPPLE, 21)?;
    match payload.first() {
        Some(0x00) => Ok(s.to_owned()),
        Some(other) => Err(format!("version byte 0x{other:02x}, expected 0x00")),
        None => Err("empty payload".to_owned()),
    }
}
