//! Small wording helpers for what the commands print.

/// `x` with a sign and `decimals` places, never `-0.0000`: a value that
/// rounds to zero is written `0.0000`, whatever its sign.
pub fn signed(x: f64, decimals: usize) -> String {
    let text = format!("{x:+.decimals$}");
    if text[1..].bytes().all(|b| b == b'0' || b == b'.') {
        text[1..].to_owned()
    } else {
        text
    }
}

/// `x` with `decimals` places and a sign only when negative, never `-0.000`:
/// a value that rounds to zero is written `0.000`, whatever its sign.
pub fn fixed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_owned(),
        _ => text,
    }
}

/// The items joined by commas, the last by `and`: `1, 6 and 3`.
pub fn and_list(items: &[impl std::fmt::Display]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(ToString::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

/// The items joined by `sep`: a run's rates as `1, 6, 3`.
pub fn joined(items: &[impl std::fmt::Display], sep: &str) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    items.join(sep)
}

/// `n` and its noun, singular for one: `1 trial`, `2 trials`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `n` with its thousands grouped by commas: `136,800`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_has_no_sign_and_the_rest_keep_theirs() {
        assert_eq!(signed(-0.000_01, 4), "0.0000");
        assert_eq!(signed(0.0, 2), "0.00");
        assert_eq!(signed(-0.0, 2), "0.00");
        assert_eq!(signed(-0.5, 2), "-0.50");
        assert_eq!(signed(0.004, 2), "0.00");
        assert_eq!(signed(0.006, 2), "+0.01");
        assert_eq!(signed(12.0, 0), "+12");
    }

    #[test]
    fn fixed_never_writes_minus_zero() {
        assert_eq!(fixed(-0.000_1, 3), "0.000");
        assert_eq!(fixed(-0.0, 2), "0.00");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fixed(-0.006, 2), "-0.01");
        assert_eq!(fixed(0.25, 1), "0.2");
        assert_eq!(fixed(-3.0, 0), "-3");
        assert_eq!(fixed(f64::NAN, 2), "NaN");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(136_800), "136,800");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn one_is_singular() {
        assert_eq!(count(1u32, "trial"), "1 trial");
        assert_eq!(count(0u32, "trial"), "0 trials");
        assert_eq!(count(5u64, "trial"), "5 trials");
    }
}
