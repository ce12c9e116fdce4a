//! The peers' side of the `node_protocol` harness: what they send, and the
//! checks on every frame the node transmits.

use scalemodel_core::MachineId;
use scalemodel_core::node::handshake::{self, Role};
use scalemodel_core::wire::{self, Challenge, Frame, MAX_FRAME_LEN, PROTOCOL};

use super::{Harness, KEY, ME, peer};

impl Harness {
    pub(super) fn send_bytes(&mut self, s: usize, bytes: &[u8]) {
        if self.slots[s].id.is_some() {
            self.slots[s].backlog.extend_from_slice(bytes);
            self.offer(s);
        }
    }

    pub(super) fn send(&mut self, s: usize, frame: &Frame) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let bytes = wire::encode(frame, &mut buf).expect("MAX_FRAME_LEN bytes hold any frame");
        self.send_bytes(s, bytes);
    }

    /// The peer's next handshake step, with a correct proof; `Ready` after it.
    pub(super) fn handshake(&mut self, s: usize, challenge: Challenge) {
        if self.slots[s].id.is_none() {
            return;
        }
        self.flush(s);
        let slot = &mut self.slots[s];
        let frame = match (slot.said_hello, slot.said_welcome) {
            (Some(ours), _) if !slot.sent_welcome => {
                slot.sent_welcome = true;
                let proof = handshake::prove(
                    &KEY,
                    Role::Answerer,
                    (ME, &ours),
                    (ME.plus(1, 3), &challenge),
                );
                Frame::Welcome {
                    protocol: PROTOCOL,
                    from: ME.plus(1, 3).get(),
                    challenge,
                    proof,
                }
            }
            (_, Some(ours)) if !slot.sent_proof => {
                slot.sent_proof = true;
                // A Welcome answers only a Hello (checked in `said`).
                let Some(Ok(Frame::Hello {
                    from,
                    challenge: theirs,
                    ..
                })) = slot.first_heard
                else {
                    unreachable!("a Welcome without a Hello");
                };
                let claimed = MachineId::new(from, 3).expect("a Welcome answers a valid id");
                let proof = handshake::prove(&KEY, Role::Caller, (claimed, &theirs), (ME, &ours));
                Frame::Proof { proof }
            }
            (None, None) if !slot.sent_hello => {
                slot.sent_hello = true;
                let none = handshake::NO_CHALLENGE;
                let proof =
                    handshake::prove(&KEY, Role::Hello, (ME.plus(2, 3), &challenge), (ME, &none));
                Frame::Hello {
                    protocol: PROTOCOL,
                    from: ME.plus(2, 3).get(),
                    challenge,
                    proof,
                }
            }
            _ => Frame::Ready,
        };
        self.send(s, &frame);
    }

    /// Checks a frame the node transmitted on slot `s` against all it said
    /// and heard there, and against its records.
    pub(super) fn said(&mut self, s: usize, frame: Frame) {
        let slot = &mut self.slots[s];
        assert!(!slot.said_bye, "{frame:?} after Bye on slot {s}");
        match frame {
            Frame::Hello {
                protocol,
                from,
                challenge,
                proof,
            } => {
                assert_eq!(s, 0, "Hello on an accepted slot");
                assert!(slot.said_hello.is_none(), "a second Hello");
                assert_eq!((protocol, from), (PROTOCOL, ME.get()));
                let none = handshake::NO_CHALLENGE;
                let valid = handshake::verify(
                    &KEY,
                    Role::Hello,
                    (ME, &challenge),
                    (ME.plus(1, 3), &none),
                    &proof,
                );
                assert!(valid, "the node's Hello does not prove the key");
                slot.said_hello = Some(challenge);
            }
            Frame::Welcome {
                protocol,
                from,
                challenge,
                proof,
            } => {
                assert_ne!(s, 0, "Welcome on the dialled slot");
                assert!(slot.said_welcome.is_none(), "a second Welcome");
                assert_eq!((protocol, from), (PROTOCOL, ME.get()));
                let Some(Ok(Frame::Hello {
                    from: claimed,
                    challenge: theirs,
                    ..
                })) = slot.first_heard
                else {
                    panic!("a Welcome after {:?}", slot.first_heard);
                };
                assert_eq!(
                    claimed,
                    ME.plus(2, 3).get(),
                    "a Welcome to machine {claimed}"
                );
                let caller = (ME.plus(2, 3), &theirs);
                let valid =
                    handshake::verify(&KEY, Role::Answerer, caller, (ME, &challenge), &proof);
                assert!(valid, "the node's Welcome does not prove the key");
                slot.said_welcome = Some(challenge);
            }
            Frame::Proof { proof } => {
                assert_eq!(s, 0, "Proof on an accepted slot");
                assert!(!slot.said_proof, "a second Proof");
                let ours = slot.said_hello.expect("a Proof before the Hello");
                let Some(Ok(Frame::Welcome {
                    challenge: theirs, ..
                })) = slot.first_heard
                else {
                    panic!("a Proof after {:?}", slot.first_heard);
                };
                let answerer = (ME.plus(1, 3), &theirs);
                let valid = handshake::verify(&KEY, Role::Caller, (ME, &ours), answerer, &proof);
                assert!(valid, "the node's Proof does not prove the key");
                slot.said_proof = true;
            }
            Frame::Ready => {
                let proven = if s == 0 {
                    slot.said_proof
                } else {
                    slot.said_welcome.is_some()
                };
                assert!(proven, "Ready on slot {s} before the handshake");
                assert!(!slot.said_ready, "a second Ready");
                slot.said_ready = true;
            }
            Frame::Clock { from, clock, seq } => {
                assert!(slot.said_ready, "Clock before Ready");
                assert_eq!(from, ME.get());
                assert_eq!(seq, slot.said_clocks, "Clock frames out of order");
                let logged = self.sends[peer(s).index()].get(slot.said_clocks as usize);
                assert_eq!(
                    logged,
                    Some(&clock),
                    "Clock seq {seq} is not the logged send"
                );
                slot.said_clocks += 1;
                self.summary.clocks_said += 1;
            }
            // The fuzzed node keeps Lamport's clock alone.
            Frame::HlcClock { .. } | Frame::VectorClock { .. } => {
                panic!("a Lamport node said {frame:?}")
            }
            Frame::Bye { sent } => {
                assert!(slot.said_ready, "Bye before Ready");
                assert_eq!(sent, slot.said_clocks, "Bye miscounts the Clock frames");
                slot.said_bye = true;
            }
        }
    }
}
