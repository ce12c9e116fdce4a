//! Machine 0's node (`Node<8, 256>`) driven by an arbitrary host and peers.
//!
//! The input (`NodeInput` in `node_ops.rs`, read by `arbitrary`'s derive):
//! `rate`, `sides`, `speed` (a byte each), `duration_ms` (4 bytes LE) and
//! `seed` (8 bytes LE), each mapped onto a valid value; then the ops, each
//! after a byte with its low bit set (clear, or the end of the input, ends
//! them): a 4-byte variant selector and the op's fields. An op is one call
//! or one thing a peer does: accept, connect the dial, send bytes or a frame,
//! take the next handshake step with a correct proof (so that the fuzzer gets
//! past the key), send a numbered `Clock` or `Bye`, offer unused bytes again,
//! transmit part of what `poll_transmit` gives, close, let time pass (by a
//! `u32`, a `u64`, or to `poll_timeout`) and `handle_timeout`, start, stop.
//! Events are drained after every call.
//!
//! Checks (`node_harness.rs`, `node_peer.rs`), after every call: no panic;
//! `handle_bytes` never uses more than it was given, and leaves bytes only on
//! a connection it cannot read; no event is dropped and one call makes at
//! most `EVENTS_PER_CALL_MAX`; every protocol error is counted exactly once
//! (by a stranger's `Rejected`, or in its link's report) and closes its
//! connection; the report's rejections and ticks match the events; after
//! `handle_timeout(now)`, `poll_timeout` is after `now` unless the next tick
//! is due, and then the call ran a tick; no connection is asked to close
//! twice, or after it closed; nothing after `Ended`. Every frame the node
//! transmits decodes, comes in protocol order and proves the key; every
//! `Clock` on the wire is a logged send, in `seq` order, and `Bye` counts
//! them. Records follow the tick and receive rules, receives in `seq` order.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod node_harness;
mod node_ops;

fuzz_target!(|input: node_ops::NodeInput| {
    node_harness::Harness::run(&input);
});
