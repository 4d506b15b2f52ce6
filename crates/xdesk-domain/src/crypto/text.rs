//! Shared input checks for single-token fields (addresses, hashes).

/// Upper bound on the length of an address or hash, before any decoding work.
pub(super) const MAX_TOKEN_LEN: usize = 128;

/// Describes a character for an error reason: `'g'`, `space`, `U+00A0`.
pub(super) fn describe_char(c: char) -> String {
    if c == ' ' {
        "space".to_owned()
    } else if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Checks that `s` is one token: non-empty, no surrounding whitespace, printable ASCII only,
/// and at most `max_len` characters.
pub(super) fn check_token(s: &str, max_len: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.trim() != s {
        return Err("leading or trailing whitespace".to_owned());
    }
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_graphic()) {
        return Err(format!(
            "invalid character {} at position {}",
            describe_char(c),
            i + 1
        ));
    }
    if s.len() > max_len {
        return Err(format!(
            "too long: {} characters, at most {max_len}",
            s.len()
        ));
    }
    Ok(())
}

/// Checks that `digits` is hex only; positions are reported shifted by `offset` (e.g. 2
/// after a `0x` prefix).
pub(super) fn check_hex(digits: &str, offset: usize) -> Result<(), String> {
    match digits
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        Some((i, c)) => Err(format!(
            "invalid hex character {} at position {}",
            describe_char(c),
            i + 1 + offset
        )),
        None => Ok(()),
    }
}

/// Splits off a leading `0x` / `0X`, returning the rest.
pub(super) fn strip_0x(s: &str) -> Option<&str> {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
}
