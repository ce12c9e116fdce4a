//! The `Clock` frame read without serde: the one frame of a running link,
//! read by hand in a few instructions, with postcard's meaning exactly.
//!
//! postcard writes a `Clock` as its variant index (4, one varint byte), the
//! sender's id (one plain byte) and two varint `u64`s. A varint of at most 9
//! bytes (63 bits) can neither overflow nor be refused by postcard, so this
//! path answers only for those; any other input (a longer varint, another
//! frame, trailing bytes) returns `None` and goes to postcard, which then
//! decides. So the two readings can never disagree (the tests check it).

use super::Frame;

/// postcard's variant index of [`Frame::Clock`].
const CLOCK_TAG: u8 = 4;
/// The longest varint read here: 9 × 7 = 63 bits, below any overflow.
const VARINT_FAST_MAX: usize = 9;

/// `raw` as a `Clock` frame, if it is one that postcard would read the same
/// with no bytes left over; `None` means: ask postcard.
pub(super) fn decode(raw: &[u8]) -> Option<Frame> {
    let (&tag, rest) = raw.split_first()?;
    if tag != CLOCK_TAG {
        return None;
    }
    let (&from, rest) = rest.split_first()?;
    let (clock, rest) = varint(rest)?;
    let (seq, rest) = varint(rest)?;
    rest.is_empty().then_some(Frame::Clock { from, clock, seq })
}

/// A little-endian base-128 varint of at most [`VARINT_FAST_MAX`] bytes.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(VARINT_FAST_MAX).enumerate() {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn postcard(raw: &[u8]) -> Option<Frame> {
        match postcard::take_from_bytes::<Frame>(raw) {
            Ok((frame, [])) => Some(frame),
            _ => None,
        }
    }

    #[test]
    fn reads_what_postcard_writes() {
        for (clock, seq) in [(0, 0), (1, 127), (128, 1 << 62), ((1 << 63) - 1, 5)] {
            let frame = Frame::Clock {
                from: 2,
                clock,
                seq,
            };
            let mut buf = [0u8; 32];
            let raw = postcard::to_slice(&frame, &mut buf).unwrap();
            assert_eq!(decode(raw), Some(frame));
        }
        // A 10-byte varint is postcard's to judge.
        let big = Frame::Clock {
            from: 0,
            clock: u64::MAX,
            seq: 0,
        };
        let mut buf = [0u8; 32];
        let raw = postcard::to_slice(&big, &mut buf).unwrap();
        assert_eq!(decode(raw), None);
        assert_eq!(postcard(raw), Some(big));
        // Not a Clock; a Clock with a byte left over; one cut short.
        assert_eq!(decode(&[3]), None);
        assert_eq!(decode(&[4, 1, 5, 6, 7]), None);
        assert_eq!(decode(&[4, 1, 0x85]), None);
    }

    proptest! {
        /// Wherever the fast path answers, postcard answers the same.
        #[test]
        fn never_disagrees_with_postcard(tail in proptest::collection::vec(any::<u8>(), 0..24)) {
            let mut raw = Vec::from([CLOCK_TAG]);
            raw.extend_from_slice(&tail);
            if let Some(frame) = decode(&raw) {
                prop_assert_eq!(Some(frame), postcard(&raw));
            }
        }

        /// Every Clock frame below 2^63 takes the fast path.
        #[test]
        fn every_usual_clock_is_read(from: u8, clock in 0..1u64 << 63, seq in 0..1u64 << 63) {
            let frame = Frame::Clock { from, clock, seq };
            let mut buf = [0u8; 32];
            let raw = postcard::to_slice(&frame, &mut buf).unwrap();
            prop_assert_eq!(decode(raw), Some(frame));
        }
    }
}
