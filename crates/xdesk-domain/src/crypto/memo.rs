//! Memos: XRP destination tags, TON / Solana text comments.

use super::Network;
use crate::FieldError;

/// Longest accepted comment, in UTF-8 bytes.
const MAX_COMMENT_BYTES: usize = 120;

fn invalid(reason: impl Into<String>) -> FieldError {
    FieldError::new("memo", "invalid_memo", reason)
}

/// Validates a memo for `network` and returns its canonical form.
pub(super) fn parse(network: Network, s: &str) -> Result<String, FieldError> {
    match network {
        Network::Xrp => parse_destination_tag(s).map_err(invalid),
        Network::Ton | Network::Solana => parse_comment(s).map_err(invalid),
        _ => Err(FieldError::new(
            "memo",
            "memo_not_supported",
            format!("{network} transfers carry no memo/tag"),
        )),
    }
}

/// A destination tag: a plain decimal `u32`, stored without leading zeros.
fn parse_destination_tag(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.trim() != s {
        return Err("leading or trailing whitespace".to_owned());
    }
    if s.starts_with(['+', '-']) {
        return Err("a destination tag is a plain number, without a sign".to_owned());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a destination tag is a whole decimal number from 0 to 4294967295".to_owned());
    }
    s.parse::<u32>()
        .map(|tag| tag.to_string())
        .map_err(|_| "destination tag too large: at most 4294967295".to_owned())
}

/// Bidirectional-text controls, which can make a comment display differently from its bytes.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A free-text comment, stored exactly as given.
fn parse_comment(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.len() > MAX_COMMENT_BYTES {
        return Err(format!(
            "too long: {} bytes of UTF-8, at most {MAX_COMMENT_BYTES}",
            s.len()
        ));
    }
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() || is_bidi_control(c))
    {
        return Err(format!(
            "control character U+{:04X} at position {} not allowed",
            u32::from(c),
            i + 1
        ));
    }
    Ok(s.to_owned())
}
