//! An arbitrary `Frame` encodes and decodes back to itself.
//!
//! Checks: the encoding fits `MAX_FRAME_LEN` and holds no zero but its
//! delimiter; it decodes to exactly the frame, whole or byte by byte, also
//! after a garbage prefix cut off by a delimiter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalemodel_core::wire::{Decoder, Frame, MAX_FRAME_LEN, encode};

fuzz_target!(|frame: Frame| {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let bytes = encode(&frame, &mut buf).expect("MAX_FRAME_LEN bytes hold any frame");
    assert!(bytes.len() <= MAX_FRAME_LEN);
    assert_eq!(bytes.iter().position(|&b| b == 0), Some(bytes.len() - 1));

    // Whole.
    let mut dec = Decoder::new();
    let feed = dec.feed(bytes);
    assert_eq!(feed.event, Some(Ok(frame)));
    assert!(feed.rest.is_empty() && !dec.is_mid_frame());

    // Byte by byte: nothing until the delimiter, then the frame.
    let mut dec = Decoder::new();
    let (last, body) = bytes.split_last().expect("a frame is never empty");
    for b in body {
        let feed = dec.feed(std::slice::from_ref(b));
        assert!(feed.event.is_none() && feed.rest.is_empty());
    }
    assert_eq!(dec.feed(std::slice::from_ref(last)).event, Some(Ok(frame)));

    // After garbage and a delimiter, the decoder is in step again.
    let mut stream = vec![0xFF; MAX_FRAME_LEN + 3];
    stream.push(0);
    stream.extend_from_slice(bytes);
    let mut dec = Decoder::new();
    let mut rest = &stream[..];
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let feed = dec.feed(rest);
        assert!(feed.rest.len() < rest.len());
        frames.extend(feed.event);
        rest = feed.rest;
    }
    assert_eq!(frames.last(), Some(&Ok(frame)));
});
