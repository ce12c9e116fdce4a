//! A peer that holds the key and says `Bye` between the start barrier and
//! the start: machine 0 is played by this test (with the run's key), machines
//! 1 and 2 are real `node` processes on loopback. Every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use scalemodel_core::MachineId;
use scalemodel_core::node::handshake::{self, Key, NO_CHALLENGE, Role};
use scalemodel_core::wire::{Decoder, Frame, PROTOCOL};
use scalemodel_tests::{Children, free_ports, scalemodel_bin, wait_until};
use support::hostile::{self, RunSpec, frames, listening, node, unix_ns_in};

/// The key `support::hostile::node` writes for its nodes.
fn key() -> Key {
    scalemodel::key::from_secret(b"a secret for the hostile tests\n").expect("a valid secret")
}

/// The next frame on `s`; panics on a close, an error or 10 s of silence.
fn next_frame(s: &mut TcpStream, dec: &mut Decoder) -> Frame {
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut byte = [0u8; 1];
    loop {
        let n = s.read(&mut byte).expect("the node answers");
        assert_eq!(n, 1, "the node closed the connection");
        if let Some(frame) = dec.feed(&byte).event {
            return frame.expect("the node sends valid frames");
        }
    }
}

fn send(s: &mut TcpStream, fs: &[Frame]) {
    s.write_all(&frames(fs)).expect("the node reads");
}

/// Machine 0's dial of machine 1 at `addr`, through the handshake.
fn call_one(addr: SocketAddr, key: &Key) -> (TcpStream, Decoder) {
    let (zero, one) = (MachineId::ZERO, MachineId::ONE);
    assert!(wait_until(Duration::from_secs(10), || listening(addr)));
    let mut s = TcpStream::connect(addr).expect("machine 1 listens");
    let mut dec = Decoder::new();
    let ours = [3; 16];
    let proof = handshake::prove(key, Role::Hello, (zero, &ours), (one, &NO_CHALLENGE));
    send(
        &mut s,
        &[Frame::Hello {
            protocol: PROTOCOL,
            from: 0,
            challenge: ours,
            proof,
        }],
    );
    let Frame::Welcome { challenge, .. } = next_frame(&mut s, &mut dec) else {
        panic!("no Welcome from machine 1");
    };
    let proof = handshake::prove(key, Role::Caller, (zero, &ours), (one, &challenge));
    send(&mut s, &[Frame::Proof { proof }]);
    (s, dec)
}

/// Machine 2's dial of machine 0, answered through the handshake.
fn answer_two(listener: &TcpListener, key: &Key) -> (TcpStream, Decoder) {
    let (zero, two) = (MachineId::ZERO, MachineId::TWO);
    let (mut s, _) = listener.accept().expect("machine 2 dials");
    let mut dec = Decoder::new();
    let Frame::Hello { challenge, .. } = next_frame(&mut s, &mut dec) else {
        panic!("no Hello from machine 2");
    };
    let ours = [4; 16];
    let proof = handshake::prove(key, Role::Answerer, (two, &challenge), (zero, &ours));
    send(
        &mut s,
        &[Frame::Welcome {
            protocol: PROTOCOL,
            from: 0,
            challenge: ours,
            proof,
        }],
    );
    assert!(matches!(next_frame(&mut s, &mut dec), Frame::Proof { .. }));
    (s, dec)
}

#[test]
fn a_bye_after_the_barrier_and_before_the_start_ends_the_others_unstarted() {
    // Machine 0 passes the barrier with both, then says Bye before the
    // start. Machine 1, which had both Readys, used to start and run
    // without machine 0; now machines 1 and 2 end at once, unstarted, and
    // exit 1 naming the machine they lost. Machine 2's Ready may still be on
    // its way to machine 1 when our Bye comes (a loaded host): machine 1
    // sent its Ready, so it ends the same way rather than wait for us.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let spec = RunSpec {
        seed: 3,
        rates: "3,4,4".into(),
        speed: 2,
        duration_s: 4,
        patience: "10s".into(),
    };
    scalemodel_bin();
    let peers = free_ports(3);
    let listener = TcpListener::bind(peers[0]).unwrap();
    let start_at = unix_ns_in(Duration::from_secs(8));
    let mut children = Children::default();
    children.0.push(node(1, &spec, &peers, start_at, &dir));
    children.0.push(node(2, &spec, &peers, start_at, &dir));
    let key = key();
    let (mut one, mut one_dec) = call_one(peers[1], &key);
    let (mut two, mut two_dec) = answer_two(&listener, &key);
    send(&mut one, &[Frame::Ready]);
    send(&mut two, &[Frame::Ready]);
    // Each sends its Ready once both its links are up; machine 2's to
    // machine 1 went with the one we read.
    assert_eq!(next_frame(&mut one, &mut one_dec), Frame::Ready);
    assert_eq!(next_frame(&mut two, &mut two_dec), Frame::Ready);
    send(&mut one, &[Frame::Bye { sent: 0 }]);
    let statuses = children.wait_all(Duration::from_secs(30));
    let (e1, e2) = (hostile::stderr_of(&dir, 1), hostile::stderr_of(&dir, 2));
    let both = format!("{e1}\n{e2}");
    assert_eq!(statuses[0].code(), Some(1), "{both}");
    assert_eq!(statuses[1].code(), Some(1), "{both}");
    assert!(
        e1.contains("lost machine 0 (it said Bye before the run's end) after the start barrier; the run did not start"),
        "{both}"
    );
    assert!(
        e2.contains("lost machine 1 (the connection closed) after the start barrier"),
        "{both}"
    );
    // Neither ran a tick.
    for id in [1, 2] {
        let log = dir.join(format!("machine-{id}.csv"));
        assert!(scalemodel_tests::lines_in(&log) <= 1, "machine {id} ticked");
    }
}
