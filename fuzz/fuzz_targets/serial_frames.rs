//! Arbitrary bytes read as a board's serial line, both ways: the board's
//! reader (`Down` frames) and the bridge's (`Up` frames of three machines),
//! fed in chunks whose sizes the input gives, through postcard's COBS
//! accumulator of `serial::FRAME_MAX` bytes, as both ends read them.
//!
//! The input is `n`, then `1 + n % 8` chunk sizes (a byte `c` feeds `c + 1`
//! bytes), then the stream.
//!
//! Checks: no panic; every frame that decodes re-encodes within
//! `FRAME_MAX` to bytes that decode back to the same frame; chunking never
//! changes which frames come out before the first bad one, nor where that
//! is. (Both ends stop at a frame they cannot read. After one, postcard's
//! accumulator resynchronises at the next `0x00` only when it sees it in
//! the same chunk as the overflow, so what follows may differ.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use postcard::accumulator::{CobsAccumulator, FeedResult};
use scalemodel_core::serial::{Down, FRAME_MAX, Up, encode};
use scalemodel_fuzz::split;

/// Reads `stream` in chunks of `sizes` as frames of `$frame`, as the two
/// ends do (`feed_ref`: a frame borrows the accumulator's buffer); gives
/// each frame's re-encoding, or `None` where bytes did not decode.
macro_rules! reader {
    ($name:ident, $frame:ty) => {
        fn $name(stream: &[u8], sizes: &[usize]) -> Vec<Option<Vec<u8>>> {
            let mut acc = CobsAccumulator::<FRAME_MAX>::new();
            let mut out = Vec::new();
            let mut rest = stream;
            for &size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at(size.min(rest.len()));
                rest = tail;
                let mut window = chunk;
                while !window.is_empty() {
                    window = match acc.feed_ref::<$frame>(window) {
                        FeedResult::Consumed => break,
                        FeedResult::Success { data, remaining } => {
                            let mut buf = [0; FRAME_MAX];
                            let bytes = encode(&data, &mut buf)
                                .expect("a decoded frame re-encodes within FRAME_MAX")
                                .to_vec();
                            let mut again = CobsAccumulator::<FRAME_MAX>::new();
                            match again.feed_ref::<$frame>(&bytes) {
                                FeedResult::Success {
                                    data: back,
                                    remaining,
                                } => {
                                    assert_eq!(back, data);
                                    assert!(remaining.is_empty());
                                }
                                _ => panic!("a re-encoded frame does not decode"),
                            }
                            out.push(Some(bytes));
                            remaining
                        }
                        FeedResult::OverFull(remaining) | FeedResult::DeserError(remaining) => {
                            out.push(None);
                            remaining
                        }
                    };
                }
            }
            out
        }
    };
}
reader!(read_down, Down<'_>);
reader!(read_up, Up<'_, 3>);

/// The frames up to and including the first that did not decode: what an
/// end acts on before it stops.
fn until_bad(mut frames: Vec<Option<Vec<u8>>>) -> Vec<Option<Vec<u8>>> {
    if let Some(bad) = frames.iter().position(Option::is_none) {
        frames.truncate(bad + 1);
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = split(data);
    let whole = [stream.len().max(1)];
    assert_eq!(
        until_bad(read_down(stream, &sizes)),
        until_bad(read_down(stream, &whole))
    );
    assert_eq!(
        until_bad(read_up(stream, &sizes)),
        until_bad(read_up(stream, &whole))
    );
});
