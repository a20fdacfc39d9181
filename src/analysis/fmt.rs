//! Number formatting for people: narratives and chart axes.
//!
//! Deterministic and locale-free (comma thousands separators, point decimals), so the same table always yields
//! the same narrative and the same PNG bytes.

/// An integer count with thousands separators: `1234567` → `1,234,567`.
pub(crate) fn count(value: usize) -> String {
    group_digits(&value.to_string())
}

/// A number to about four significant digits, with thousands separators and no trailing zeros:
/// `12.5`, `1,235`, `0.01235`; very large or small magnitudes in scientific notation (`1.235e15`).
pub(crate) fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value == 0.0 { "0".to_owned() } else { value.to_string() };
    }
    let magnitude = value.abs();
    if !(1e-4..1e15).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 8) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    let (sign, digits) = text.strip_prefix('-').map_or(("", text), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut out = format!("{sign}{}", group_digits(whole));
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    if out == "-0" { "0".to_owned() } else { out }
}

fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn numbers_have_four_significant_digits() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-1234.5678), "-1,235");
        assert_eq!(number(0.012345), "0.01235");
        assert_eq!(number(1_000_000.0), "1,000,000");
        assert_eq!(number(0.99996), "1");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(2.5e15), "2.500e15");
        assert_eq!(number(1e-5), "1.000e-5");
    }
}
