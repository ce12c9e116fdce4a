//! The `Clock` frame read and written without serde: the one frame of a
//! running link, handled by hand in a few instructions, with postcard's
//! meaning and bytes exactly.
//!
//! postcard writes a `Clock` as its variant index (4, one varint byte), the
//! sender's id (one plain byte) and two varint `u64`s. A varint of at most 9
//! bytes (63 bits) can neither overflow nor be refused by postcard, so this
//! path answers only for those; any other input (a longer varint, another
//! frame, trailing bytes) returns `None` and goes to postcard, which then
//! decides. So the two readings can never disagree (the tests check it).

use super::Frame;

/// postcard's variant index of [`Frame::Clock`].
pub(super) const CLOCK_TAG: u8 = 4;
/// The longest varint read here: 9 × 7 = 63 bits, below any overflow.
const VARINT_FAST_MAX: usize = 9;

/// `raw` as a `Clock` frame, if it is one that postcard would read the same
/// with no bytes left over; `None` means: ask postcard.
#[inline(always)]
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

/// Raw bytes of the longest `Clock`: tag, sender, two 10-byte varints.
const CLOCK_RAW_MAX: usize = 2 + 2 * 10;

/// The COBS body `body` (no delimiter) as a `Clock` frame, read straight
/// from its groups with no scratch buffer of the largest frame, and no
/// buffer at all for a frame of one group; `None` means: ask the general
/// path, which then decides (a longer frame, another frame, bad COBS).
///
/// Where it answers, the general path (`cobs_decode`, then [`decode`])
/// answers the same: the groups are undone by the same rule (each code
/// byte `c` is followed by `c - 1` data bytes and, unless `c` is 0xFF or the
/// body ends, stands for a zero).
#[inline(always)]
pub(super) fn decode_cobs(body: &[u8]) -> Option<Frame> {
    // Most frames are one group (no zero in the raw frame): the raw frame
    // then lies in the body as it is, and nothing is copied.
    if let Some((&code, raw)) = body.split_first()
        && usize::from(code) == body.len()
    {
        return decode(raw);
    }
    let mut raw = [0u8; CLOCK_RAW_MAX];
    let mut len = 0;
    let mut at = 0;
    while let Some(&code) = body.get(at) {
        let end = at + usize::from(code);
        let group = body.get(at + 1..end)?;
        raw.get_mut(len..len + group.len())?.copy_from_slice(group);
        len += group.len();
        at = end;
        if code != 0xFF && at < body.len() {
            *raw.get_mut(len)? = 0;
            len += 1;
        }
    }
    decode(raw.get(..len)?)
}

/// Writes the `Clock` frame `(from, clock, seq)` as [`super::encode`] does
/// (postcard, COBS, the delimiter) into `buf` and returns the written
/// prefix; `None` when `buf` is too small.
///
/// The raw frame is at most 22 bytes, so COBS makes it one run of groups
/// with no 254-byte group: a code byte in front and one in place of each
/// zero.
pub(super) fn encode(from: u8, clock: u64, seq: u64, buf: &mut [u8]) -> Option<&mut [u8]> {
    let mut raw = [0u8; CLOCK_RAW_MAX];
    raw[0] = CLOCK_TAG;
    raw[1] = from;
    let mut len = put_varint(&mut raw, 2, clock);
    len = put_varint(&mut raw, len, seq);
    let out = buf.get_mut(..len + 2)?;
    let mut code_at = 0;
    for (i, &b) in raw.iter().take(len).enumerate() {
        if b == 0 {
            out[code_at] = (i + 1 - code_at) as u8;
            code_at = i + 1;
        } else {
            out[i + 1] = b;
        }
    }
    out[code_at] = (len + 1 - code_at) as u8;
    out[len + 1] = 0;
    Some(out)
}

/// The length of what [`encode`] writes for `(_, clock, seq)`: the raw
/// frame (tag, sender, two varints), one COBS code byte ahead of it (each
/// zero inside is replaced by a code byte, so zeros add nothing) and the
/// delimiter.
#[cfg(target_pointer_width = "64")]
#[inline]
pub(super) const fn frame_len(clock: u64, seq: u64) -> usize {
    2 + varint_len(clock) + varint_len(seq) + 2
}

/// Bytes of `value` as a varint: one per 7 bits, at least one.
#[cfg(target_pointer_width = "64")]
#[inline]
const fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes `value` as a varint into `raw` at `at`; returns the end.
fn put_varint(raw: &mut [u8; CLOCK_RAW_MAX], mut at: usize, mut value: u64) -> usize {
    while value >= 0x80 {
        raw[at] = (value as u8) | 0x80;
        value >>= 7;
        at += 1;
    }
    raw[at] = value as u8;
    at + 1
}

/// A little-endian base-128 varint of at most [`VARINT_FAST_MAX`] bytes.
#[inline(always)]
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    let mut shift = 0;
    for (i, &b) in bytes.iter().enumerate().take(VARINT_FAST_MAX) {
        value |= u64::from(b & 0x7F) << shift;
        if b < 0x80 {
            return Some((value, bytes.get(i + 1..)?));
        }
        shift += 7;
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

    proptest! {
        #[test]
        fn frame_len_is_the_encoded_length(
            from in 0u8..3,
            clock in any::<u64>(),
            seq in any::<u64>(),
            shift in 0u32..64,
        ) {
            for (clock, seq) in [(clock, seq), (clock >> shift, seq >> shift), (0, 0)] {
                let mut buf = [0u8; 32];
                let n = encode(from, clock, seq, &mut buf).unwrap().len();
                prop_assert_eq!(frame_len(clock, seq), n);
            }
        }
    }

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

        /// The hand-written encoder writes postcard's COBS bytes exactly.
        #[test]
        fn writes_what_postcard_writes(from: u8, clock: u64, seq: u64, shift in 0..64u32) {
            // Small values too: their varints and zeros are the usual case.
            for (clock, seq) in [(clock, seq), (clock >> shift, seq >> shift), (0, 0)] {
                let frame = Frame::Clock { from, clock, seq };
                let mut want = [0u8; 64];
                let want = postcard::to_slice_cobs(&frame, &mut want).unwrap();
                let mut got = [0u8; 64];
                prop_assert_eq!(encode(from, clock, seq, &mut got).map(|b| &*b), Some(&*want));
                // One byte short is refused, never a partial frame.
                let mut short = [0u8; 64];
                prop_assert!(encode(from, clock, seq, &mut short[..want.len() - 1]).is_none());
            }
        }

        /// Reading straight from the COBS groups never disagrees with
        /// undoing them first, on any body.
        #[test]
        fn cobs_path_never_disagrees(body in proptest::collection::vec(any::<u8>(), 0..30)) {
            if let Some(frame) = decode_cobs(&body) {
                let mut buf = [0u8; super::super::MAX_BODY];
                let len = super::super::cobs_decode(&body, &mut buf);
                prop_assert_eq!(len.ok().and_then(|n| decode(&buf[..n])), Some(frame));
            }
        }

        /// Near a real Clock frame (one byte changed, added or cut, or the
        /// frame cut short), where the COBS path reads a frame, postcard
        /// reads the same from the undone bytes; unchanged, it reads it.
        #[test]
        fn cobs_path_agrees_near_clock_frames(
            from: u8,
            clock: u64,
            seq: u64,
            shift in 1..64u32,
            edit in 0..4u8,
            at: usize,
            byte: u8,
        ) {
            let frame = Frame::Clock { from, clock: clock >> shift, seq: seq >> shift };
            let mut cobs = [0u8; 32];
            let cobs = postcard::to_slice_cobs(&frame, &mut cobs).unwrap();
            let mut body = cobs[..cobs.len() - 1].to_vec();
            let i = at % body.len();
            match edit {
                1 => body[i] ^= byte | 1,
                2 => body.insert(i, byte),
                3 => body.truncate(i),
                _ => {}
            }
            let fast = decode_cobs(&body);
            if let Some(frame) = fast {
                let mut buf = [0u8; super::super::MAX_BODY];
                let len = super::super::cobs_decode(&body, &mut buf);
                prop_assert_eq!(len.ok().and_then(|n| postcard(&buf[..n])), Some(frame));
            }
            if edit == 0 {
                prop_assert_eq!(fast, Some(frame));
            }
        }

        /// Every Clock frame below 2^63 takes the fast path.
        #[test]
        fn every_usual_clock_is_read(from: u8, clock in 0..1u64 << 63, seq in 0..1u64 << 63) {
            let frame = Frame::Clock { from, clock, seq };
            let mut buf = [0u8; 32];
            let raw = postcard::to_slice(&frame, &mut buf).unwrap();
            prop_assert_eq!(decode(raw), Some(frame));
            let mut cobs = [0u8; 32];
            let cobs = postcard::to_slice_cobs(&frame, &mut cobs).unwrap();
            prop_assert_eq!(decode_cobs(&cobs[..cobs.len() - 1]), Some(frame));
        }
    }
}
