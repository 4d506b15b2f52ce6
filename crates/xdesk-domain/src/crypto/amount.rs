//! Exact decimal amounts in plain notation.

use rust_decimal::Decimal;

const MAX_FRACTION_DIGITS: usize = 18;
const MAX_SIGNIFICANT_DIGITS: usize = 28;
/// Bound on the raw input, leading and trailing zeros included.
const MAX_INPUT_LEN: usize = 100;

/// Parses a non-negative plain decimal (`123`, `0.5`, `1.50`) into a normalized `Decimal`.
///
/// Leading zeros of the integer part and trailing zeros of the fraction are not counted
/// against the digit limits.
pub(super) fn parse(s: &str) -> Result<Decimal, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    if s.trim() != s {
        return Err("leading or trailing whitespace".to_owned());
    }
    if s.len() > MAX_INPUT_LEN {
        return Err(format!(
            "too long: {} characters, at most {MAX_INPUT_LEN}",
            s.len()
        ));
    }
    if let Some((i, c)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
    {
        return Err(match c {
            '-' if i == 0 => "must not be negative".to_owned(),
            '+' | '-' => "no sign allowed; write the plain number".to_owned(),
            'e' | 'E' => "exponent notation not allowed; write the plain number".to_owned(),
            ',' | '_' | '\'' | ' ' => {
                "use '.' as the decimal point and no thousands separators".to_owned()
            }
            _ => format!(
                "invalid character {} at position {}: only digits and one '.'",
                super::text::describe_char(c),
                i + 1
            ),
        });
    }
    let (int_part, frac_part) = match s.split_once('.') {
        Some((_, frac)) if frac.contains('.') => {
            return Err("more than one decimal point".to_owned());
        }
        Some(("", _)) => {
            return Err("missing digits before the decimal point (write 0.5, not .5)".to_owned());
        }
        Some((_, "")) => return Err("missing digits after the decimal point".to_owned()),
        Some((int, frac)) => (int, frac),
        None => (s, ""),
    };
    let int_digits = int_part.trim_start_matches('0');
    let frac_digits = frac_part.trim_end_matches('0');
    if frac_digits.len() > MAX_FRACTION_DIGITS {
        return Err(format!(
            "too many decimal places: {}, at most {MAX_FRACTION_DIGITS}",
            frac_digits.len()
        ));
    }
    let significant = int_digits.len() + frac_digits.len();
    if significant > MAX_SIGNIFICANT_DIGITS {
        return Err(format!(
            "too many significant digits: {significant}, at most {MAX_SIGNIFICANT_DIGITS}"
        ));
    }
    // At most 28 digits: fits in i128 and in Decimal's 96-bit mantissa.
    let mut mantissa: i128 = 0;
    for b in int_digits.bytes().chain(frac_digits.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or_else(|| "number too large".to_owned())?;
    }
    let scale =
        u32::try_from(frac_digits.len()).map_err(|_| "too many decimal places".to_owned())?;
    Decimal::try_from_i128_with_scale(mantissa, scale)
        .map(|d| d.normalize())
        .map_err(|e| format!("number out of range: {e}"))
}
