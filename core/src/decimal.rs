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
        fn matches_display(n in any::<u64>(), shift in 0u32..64) {
            let n = n >> shift;
            let d = Decimal::new(n);
            prop_assert_eq!(d.as_str(), n.to_string());
        }
    }
}
