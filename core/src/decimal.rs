//! Integers in decimal without `core::fmt`: the log's digit writer, shared
//! with hosts that have no formatter (the firmware prints with it).

/// The most decimal digits a `u64` has (`u64::MAX` has 20).
pub(crate) const U64_DIGITS: usize = u64::MAX.ilog10() as usize + 1;

/// Writes `n` in decimal at the end of `buf`, least significant digit last,
/// and returns the index of its first digit: `buf[start..]` is the number.
/// The bytes before `start` are left as they were.
pub(crate) fn write_right(mut n: u64, buf: &mut [u8; U64_DIGITS]) -> usize {
    let mut start = U64_DIGITS - 1;
    for (i, d) in buf.iter_mut().enumerate().rev() {
        // `n % 10 < 10`, so the cast keeps every bit.
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            start = i;
            break;
        }
    }
    start
}

/// "00" to "99": the digits of every number below 100, two at a time.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// How many decimal digits `n` has (1 for 0).
pub(crate) const fn len(n: u64) -> usize {
    match n.checked_ilog10() {
        Some(d) => d as usize + 1,
        None => 1,
    }
}

/// Writes the last `out.len()` decimal digits of `n` into `out`, two at a
/// time from the right: with `out` of [`len`]`(n)` bytes, `n` in decimal.
/// The log's hot path: digits go straight where they belong, with no
/// scratch buffer to copy from.
pub(crate) fn write_exact(mut n: u64, out: &mut [u8]) {
    let mut end = out.len();
    while end >= 2 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        if let (Some([hi, lo]), Some([a, b])) =
            (out.get_mut(end - 2..end), PAIRS.get(pair..pair + 2))
        {
            (*hi, *lo) = (*a, *b);
        }
        end -= 2;
    }
    if let Some(first) = out.first_mut()
        && end == 1
    {
        *first = b'0' + (n % 10) as u8;
    }
}

/// A `u64` in decimal, written without `core::fmt` (as the `itoa` crate does):
/// `Decimal::new(42).as_bytes() == b"42"`.
///
/// ```
/// use scalemodel_core::Decimal;
/// assert_eq!(Decimal::new(0).as_bytes(), b"0");
/// assert_eq!(Decimal::new(u64::MAX).as_str(), "18446744073709551615");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: [u8; U64_DIGITS],
    start: usize,
}

impl Decimal {
    /// The decimal digits of `n`.
    pub fn new(n: u64) -> Self {
        let mut digits = [b'0'; U64_DIGITS];
        let start = write_right(n, &mut digits);
        Self { digits, start }
    }

    /// The digits, most significant first, with no sign and no padding.
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }

    /// The digits as text (ASCII, so never empty and never invalid).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    #[test]
    fn edges() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(Decimal::new(n).as_str(), n.to_string());
        }
        let mut buf = [b'x'; U64_DIGITS];
        assert_eq!(write_right(305, &mut buf), U64_DIGITS - 3);
        assert_eq!(&buf[U64_DIGITS - 4..], b"x305");
    }

    proptest! {
        #[test]
        fn write_exact_matches_display(n in any::<u64>(), shift in 0u32..64) {
            let n = n >> shift;
            let mut out = [b'x'; U64_DIGITS + 1];
            let digits = len(n);
            write_exact(n, &mut out[1..=digits]);
            let want = n.to_string();
            prop_assert_eq!(&out[1..=digits], want.as_bytes());
            prop_assert_eq!(out[0], b'x');
            prop_assert!(out[digits + 1..].iter().all(|&b| b == b'x'));
        }

        #[test]
        fn matches_display(n in any::<u64>(), shift in 0u32..64) {
            let n = n >> shift;
            let d = Decimal::new(n);
            prop_assert_eq!(d.as_str(), n.to_string());
        }
    }
}
