//! Asset ticker symbols.

const MAX_LEN: usize = 16;

fn is_separator(c: char) -> bool {
    c == '.' || c == '-'
}

/// Validates a ticker (ASCII letters and digits, with `.` or `-` inside) and uppercases it.
pub(super) fn parse(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.trim() != s {
        return Err("leading or trailing whitespace".to_owned());
    }
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || is_separator(c)))
    {
        return Err(format!(
            "invalid character {} at position {}: only letters, digits, '.' and '-'",
            super::text::describe_char(c),
            i + 1
        ));
    }
    if s.len() > MAX_LEN {
        return Err(format!(
            "too long: {} characters, at most {MAX_LEN}",
            s.len()
        ));
    }
    if s.starts_with(is_separator) || s.ends_with(is_separator) {
        return Err("'.' and '-' are allowed only between letters or digits".to_owned());
    }
    if s.contains("..") || s.contains("--") || s.contains(".-") || s.contains("-.") {
        return Err("'.' and '-' cannot follow one another".to_owned());
    }
    Ok(s.to_ascii_uppercase())
}
