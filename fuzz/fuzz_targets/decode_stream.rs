//! Arbitrary bytes fed to the frame decoder in arbitrary chunks.
//!
//! The input is `n`, then `1 + n % 8` chunk sizes (a byte `c` feeds `c + 1`
//! bytes), then the stream, fed in those chunk sizes over and over.
//!
//! Checks: no panic; every `feed` consumes input and, when nothing completes,
//! all of it; chunking never changes what comes out (the same events as the
//! whole stream in one go); every frame re-encodes to at most `MAX_FRAME_LEN`
//! bytes that decode back to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalemodel_core::wire::{DecodeError, Decoder, Frame, MAX_FRAME_LEN, encode};
use scalemodel_fuzz::split;

type Events = Vec<Result<Frame, DecodeError>>;

/// Feeds all of `chunk`, collecting what completes.
fn feed_all(dec: &mut Decoder, mut chunk: &[u8], out: &mut Events) {
    // Each turn consumes at least one byte (asserted), so this ends.
    while !chunk.is_empty() {
        let feed = dec.feed(chunk);
        assert!(feed.rest.len() < chunk.len(), "feed consumed nothing");
        if feed.event.is_none() {
            assert!(
                feed.rest.is_empty(),
                "feed stopped early with nothing to show"
            );
        }
        out.extend(feed.event);
        chunk = feed.rest;
    }
}

fn decode_chunked(stream: &[u8], sizes: &[usize]) -> Events {
    let mut dec = Decoder::new();
    let mut out = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        feed_all(&mut dec, chunk, &mut out);
        rest = tail;
    }
    out
}

fn reencodes(frame: &Frame) {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let bytes = encode(frame, &mut buf).expect("MAX_FRAME_LEN bytes hold any frame");
    let (&last, body) = bytes.split_last().expect("a frame is never empty");
    assert_eq!(last, 0, "a frame ends with its delimiter");
    assert!(!body.contains(&0), "a COBS body holds no zero");
    let mut dec = Decoder::new();
    let feed = dec.feed(bytes);
    assert_eq!(
        feed.event,
        Some(Ok(*frame)),
        "{frame:?} does not decode back"
    );
    assert!(feed.rest.is_empty());
    assert!(!dec.is_mid_frame());
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = split(data);
    let chunked = decode_chunked(stream, &sizes);
    let whole = decode_chunked(stream, &[stream.len().max(1)]);
    assert_eq!(chunked, whole, "chunk sizes {sizes:?} changed the events");
    // Every event needs a delimiter or MAX_FRAME_LEN bytes of its own.
    assert!(chunked.len() <= stream.len());
    for frame in chunked.iter().flatten() {
        reencodes(frame);
    }
});
