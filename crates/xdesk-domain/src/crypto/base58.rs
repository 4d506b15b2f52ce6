//! Base58 / Base58Check decoding with precise error reasons.

use bs58::Alphabet;

/// Size of the double-SHA-256 checksum appended by Base58Check.
const CHECKSUM_LEN: usize = 4;

fn describe_error(err: &bs58::decode::Error) -> String {
    match err {
        bs58::decode::Error::InvalidCharacter { character, index } => {
            let hint = if matches!(character, '0' | 'O' | 'I' | 'l') {
                " (base58 never uses 0, O, I or l)"
            } else {
                ""
            };
            format!(
                "invalid base58 character {} at position {}{hint}",
                super::text::describe_char(*character),
                index + 1
            )
        }
        bs58::decode::Error::NonAsciiCharacter { index } => {
            format!("non-ASCII character at position {}", index + 1)
        }
        bs58::decode::Error::InvalidChecksum { .. } => "bad base58check checksum".to_owned(),
        _ => format!("invalid base58: {err}"),
    }
}

/// Decodes plain base58.
pub(super) fn decode(s: &str, alphabet: &Alphabet) -> Result<Vec<u8>, String> {
    bs58::decode(s)
        .with_alphabet(alphabet)
        .into_vec()
        .map_err(|e| describe_error(&e))
}

/// Decodes Base58Check whose payload (version byte included) must be `payload_len` bytes.
/// Returns the payload without the checksum. A length error is reported before a checksum
/// error, since a missing or extra character is the likelier mistake.
pub(super) fn decode_check(
    s: &str,
    alphabet: &Alphabet,
    payload_len: usize,
) -> Result<Vec<u8>, String> {
    let raw = decode(s, alphabet)?;
    let expected = payload_len + CHECKSUM_LEN;
    if raw.len() != expected {
        return Err(format!(
            "wrong length: decodes to {} bytes, expected {expected}",
            raw.len()
        ));
    }
    bs58::decode(s)
        .with_alphabet(alphabet)
        .with_check(None)
        .into_vec()
        .map_err(|e| describe_error(&e))
}
