//! Exact decimal amounts in plain notation, as people type them: `25000.50`, `25,000.50`,
//! `25 000.50`, with full-width digits and commas from a Chinese input method.
//!
//! `.` is always the decimal point. A comma (ASCII or full-width) or a space (also no-break
//! and thin spaces) may only separate groups of three digits before it. Anything that would
//! need a guess is refused with a reason that shows the way to write it: European notation
//! (`1.000,50`), a comma used as the decimal point (`1,5`), groups of other sizes (`25,00.5`,
//! the Indian `1,00,000`), separators mixed or after the decimal point.

use rust_decimal::Decimal;

const MAX_FRACTION_DIGITS: usize = 18;
const MAX_SIGNIFICANT_DIGITS: usize = 28;
/// Bound on the raw input, leading and trailing zeros included.
const MAX_INPUT_LEN: usize = 100;

/// Error codes: the value is not an amount at all, or it is written in a way that would need
/// a guess (a page says how to write it).
pub(super) const INVALID: &str = "invalid_amount";
pub(super) const AMBIGUOUS: &str = "ambiguous_amount";

/// Why an input is refused: its code and a precise reason.
pub(super) type Refusal = (&'static str, String);

fn invalid(reason: impl Into<String>) -> Refusal {
    (INVALID, reason.into())
}

fn ambiguous(reason: impl Into<String>) -> Refusal {
    (AMBIGUOUS, reason.into())
}

/// A separator between digit groups: a comma, or a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    Comma,
    Space,
}

fn separator(c: char) -> Option<Separator> {
    match c {
        ',' | '\u{ff0c}' => Some(Separator::Comma),
        ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}' => Some(Separator::Space),
        _ => None,
    }
}

/// Full-width digits and point (a Chinese input method's) as ASCII.
fn half_width(c: char) -> char {
    match c {
        '\u{ff10}'..='\u{ff19}' => {
            char::from_u32(u32::from(c) - 0xff10 + u32::from('0')).unwrap_or(c)
        }
        '\u{ff0e}' => '.',
        c => c,
    }
}

/// The digits of an integer part written with separators between groups of three;
/// `fraction` tells whether a decimal point follows.
fn ungroup(int_part: &str, fraction: bool) -> Result<String, Refusal> {
    let kinds: Vec<Separator> = int_part.chars().filter_map(separator).collect();
    let Some(&kind) = kinds.first() else {
        return Ok(int_part.to_owned());
    };
    if kinds.iter().any(|k| *k != kind) {
        return Err(ambiguous(
            "mixes commas and spaces between digit groups; use one kind, like 25,000.50",
        ));
    }
    let groups: Vec<&str> = int_part.split(|c| separator(c).is_some()).collect();
    let first_ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()));
    if first_ok && groups.iter().skip(1).all(|g| g.len() == 3) {
        return Ok(groups.concat());
    }
    if kind == Separator::Comma && groups.len() == 2 && first_ok && !fraction {
        return Err(ambiguous(
            "use '.' as the decimal point: ',' only separates groups of three digits (write 1.5 or 1,500)",
        ));
    }
    Err(ambiguous(
        "a separator must stand between groups of three digits, like 25,000.50",
    ))
}

/// Parses a non-negative decimal (`123`, `0.5`, `1.50`, `25,000.50`) into a normalized
/// `Decimal`.
///
/// Leading zeros of the integer part and trailing zeros of the fraction are not counted
/// against the digit limits.
pub(super) fn parse(s: &str) -> Result<Decimal, Refusal> {
    if s.is_empty() {
        return Err(invalid("empty"));
    }
    if s.trim() != s {
        return Err(invalid("leading or trailing whitespace"));
    }
    let chars = s.chars().count();
    if chars > MAX_INPUT_LEN {
        return Err(invalid(format!(
            "too long: {chars} characters, at most {MAX_INPUT_LEN}"
        )));
    }
    let s: String = s.chars().map(half_width).collect();
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || separator(c).is_some()))
    {
        return Err(match c {
            '-' if i == 0 => invalid("must not be negative"),
            '+' | '-' => invalid("no sign allowed; write the plain number"),
            'e' | 'E' => invalid("exponent notation not allowed; write the plain number"),
            '_' | '\'' | '\u{2019}' => ambiguous(format!(
                "{} does not separate thousands here; use ',' like 25,000.50",
                super::text::describe_char(c)
            )),
            _ => invalid(format!(
                "invalid character {} at position {}: only digits, one '.' and ',' between thousands",
                super::text::describe_char(c),
                i + 1
            )),
        });
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((_, frac)) if frac.contains('.') => {
            return Err(
                if frac.contains(|c| separator(c) == Some(Separator::Comma)) {
                    ambiguous(EUROPEAN)
                } else {
                    invalid(
                        "more than one decimal point (thousands are separated with ',': 1,000,000)",
                    )
                },
            );
        }
        Some((_, frac)) if frac.contains(|c| separator(c) == Some(Separator::Comma)) => {
            return Err(ambiguous(EUROPEAN));
        }
        Some((_, frac)) if frac.contains(|c| separator(c).is_some()) => {
            return Err(ambiguous("no separators after the decimal point"));
        }
        Some(("", _)) => {
            return Err(invalid(
                "missing digits before the decimal point (write 0.5, not .5)",
            ));
        }
        Some((_, "")) => return Err(invalid("missing digits after the decimal point")),
        Some((int, frac)) => (int, frac),
        None => (s.as_str(), ""),
    };
    let int_part = ungroup(int_part, s.contains('.'))?;
    let int_digits = int_part.trim_start_matches('0');
    let frac_digits = frac_part.trim_end_matches('0');
    if frac_digits.len() > MAX_FRACTION_DIGITS {
        return Err(invalid(format!(
            "too many decimal places: {}, at most {MAX_FRACTION_DIGITS}",
            frac_digits.len()
        )));
    }
    let significant = int_digits.len() + frac_digits.len();
    if significant > MAX_SIGNIFICANT_DIGITS {
        return Err(invalid(format!(
            "too many significant digits: {significant}, at most {MAX_SIGNIFICANT_DIGITS}"
        )));
    }
    // At most 28 digits: fits in i128 and in Decimal's 96-bit mantissa.
    let mut mantissa: i128 = 0;
    for b in int_digits.bytes().chain(frac_digits.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or_else(|| invalid("number too large"))?;
    }
    let scale = u32::try_from(frac_digits.len()).map_err(|_| invalid("too many decimal places"))?;
    Decimal::try_from_i128_with_scale(mantissa, scale)
        .map(|d| d.normalize())
        .map_err(|e| invalid(format!("number out of range: {e}")))
}

/// `1.000,50`: which mark is the decimal point cannot be told for sure, so it is refused.
const EUROPEAN: &str = "looks like '.' for thousands and ',' for decimals; write '.' as the decimal point, like 1000.50 or 1,000.50";
