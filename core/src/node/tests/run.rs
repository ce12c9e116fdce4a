//! The run and its end: ticks, messages, accounting, lost peers, `Bye`.

use super::*;

#[test]
fn three_nodes_run_to_a_clean_end_and_account_for_every_message() {
    let mut t = Trio::new([2, 5, 6], |_| {});
    t.run(u64::MAX);
    for n in 0..N {
        assert_eq!(
            t.nodes[n].status(),
            Some(Status::Completed),
            "{:?}",
            t.events[n]
        );
        assert_eq!(t.nodes[n].dropped_events(), 0);
        let r = t.nodes[n].report();
        assert_eq!(r.tally.ticks, 2 * [2u64, 5, 6][n]);
        assert_eq!(r.errors.total(), 0);
        // Ticks ran exactly on time in virtual time.
        assert_eq!(r.max_late_ns, 0);
        for rec in t.records(n) {
            let due = 1_000_000_000_000 + rec.model_ns;
            assert_eq!(rec.system_ns, due);
        }
    }
    // Conservation on every directed link, from both ends' reports.
    let mut moved = 0;
    for from in MachineId::ALL {
        for to in [from.plus(1, 3), from.plus(2, 3)] {
            let s = t.nodes[from.index()].report().peers[to.index()];
            let r = t.nodes[to.index()].report().peers[from.index()];
            assert_eq!(s.unsent + s.undeliverable, 0);
            assert_eq!(s.sent, r.received + r.queued + r.after_end, "{from}->{to}");
            assert_eq!(r.peer_sent, Some(s.sent));
            moved += s.sent;
        }
    }
    assert!(moved > 5, "only {moved} messages moved");
}

#[test]
fn a_full_inbox_holds_reading_and_nothing_is_lost() {
    // A slow machine 0 (inbox 8) with fast peers that mostly send.
    let mut t = Trio::new([1, 6, 6], |c| c.duration_ns = 4_000 * MS);
    t.run(u64::MAX);
    let slow = t.nodes[0].report();
    assert!(slow.holds > 0, "{slow:?}");
    assert_eq!(slow.tally.max_queue, 7);
    for from in [MachineId::ONE, MachineId::TWO] {
        let s = t.nodes[from.index()].report().peers[0];
        let r = slow.peers[from.index()];
        assert_eq!(
            s.sent,
            r.received + r.queued + r.after_end + s.unsent + s.undeliverable
        );
    }
}

#[test]
fn a_protocol_error_that_ends_the_run_closes_its_connection_once_and_before_ended() {
    // Found by the fuzz target node_protocol.
    let (mut b, one) = stalled_and_stopped_with_one_link_left();
    // Losing machine 1 too ends the waiting send, then the run.
    b.send_bytes(one, &[0x55, 0x00]);
    let closes = b.events.iter().filter(|e| **e == Event::Close(one)).count();
    assert_eq!(closes, 1, "{:?}", b.events.last_chunk::<4>());
    assert_eq!(b.events.last(), Some(&Event::Ended(Status::Interrupted)));
}

#[test]
fn a_connection_closed_by_the_host_is_not_asked_to_close_when_its_loss_ends_the_run() {
    // Found by the fuzz target node_protocol.
    let (mut b, one) = stalled_and_stopped_with_one_link_left();
    let before = b.events.len();
    b.node.handle_closed(one, b.now);
    b.drain();
    let after = &b.events[before..];
    assert!(!after.contains(&Event::Close(one)), "{after:?}");
    assert_eq!(after.last(), Some(&Event::Ended(Status::Interrupted)));
}

#[test]
fn a_duplicate_clock_frame_is_a_seq_error() {
    let mut t = Trio::new([3, 6, 3], |_| {});
    t.run(1_000 * MS);
    let conn = conn_to_one(&t);
    let came = came_from_one(&t);
    assert!(came > 0, "machine 1 sent nothing yet");
    // The last frame that came, once more: a duplicate.
    let dup = Frame::Clock {
        from: 1,
        clock: 1,
        seq: came - 1,
    };
    let mut buf = [0; MAX_FRAME_LEN];
    let bytes = wire::encode(&dup, &mut buf).unwrap().to_vec();
    t.nodes[0].handle_bytes(conn, &bytes, t.now);
    t.run(u64::MAX);
    let r = t.nodes[0].report();
    let seq = ProtocolError::Seq {
        expected: came,
        got: came - 1,
    };
    assert_eq!(r.peers[1].lost, Some(CloseReason::Protocol(seq)));
    assert_eq!(r.errors.0[seq.kind()], 1);
    assert_eq!(t.nodes[0].status(), Some(Status::PeerLost));
}

#[test]
fn what_a_peer_had_sent_when_its_link_closed_is_counted_lost_not_delivered() {
    let mut t = Trio::new([3, 6, 3], |_| {});
    t.run(1_000 * MS);
    let conn = conn_to_one(&t);
    let came = came_from_one(&t);
    let encode = |frames: &[Frame]| {
        let mut bytes = std::vec::Vec::new();
        for f in frames {
            let mut buf = [0; MAX_FRAME_LEN];
            bytes.extend_from_slice(wire::encode(f, &mut buf).unwrap());
        }
        bytes
    };
    // A Bye that miscounts: machine 0 closes the link (the Close waits in
    // its events, the connection is closing).
    let bye = encode(&[Frame::Bye { sent: came + 10 }]);
    t.nodes[0].handle_bytes(conn, &bye, t.now);
    // The host drains what machine 1 had already sent: the next two in
    // sequence count, a frame out of sequence and another sender do not.
    let clock = |from, seq| Frame::Clock {
        from,
        clock: 99,
        seq,
    };
    let rest = encode(&[
        clock(1, came),
        clock(1, came + 1),
        clock(1, came + 5),
        clock(2, came + 2),
    ]);
    assert_eq!(t.nodes[0].handle_bytes(conn, &rest, t.now), rest.len());
    let p = t.nodes[0].report().peers[1];
    assert_eq!(p.dropped, 2);
    assert_eq!(p.received + p.queued + p.after_end, came, "none delivered");
    t.run(u64::MAX);
    assert_eq!(t.nodes[0].report().peers[1].dropped, 2);
    assert_eq!(t.nodes[0].status(), Some(Status::PeerLost));
}

/// A running trio, then one link's frames forged by the test.
#[test]
fn seq_gaps_duplicates_wrong_senders_and_wrong_byes_are_caught() {
    let forged = [
        (
            Frame::Clock {
                from: 1,
                clock: 5,
                seq: 7,
            },
            ProtocolError::Seq {
                expected: 0,
                got: 7,
            },
        ),
        (
            Frame::Clock {
                from: 2,
                clock: 5,
                seq: 0,
            },
            ProtocolError::WrongSender(2),
        ),
        (
            Frame::Bye { sent: 3 },
            ProtocolError::ByeCount { said: 3, came: 0 },
        ),
        (
            Frame::Ready,
            ProtocolError::Unexpected(wire::FrameKind::Ready),
        ),
    ];
    for (frame, error) in forged {
        let mut t = Trio::new([3, 3, 3], |_| {});
        t.forge_on_link_one(&frame);
        let r = t.nodes[0].report();
        assert_eq!(r.errors.0[error.kind()], 1, "{frame:?}");
        let Some(CloseReason::Protocol(seen)) = r.peers[1].lost else {
            panic!("{frame:?}: {r:?}");
        };
        assert_eq!(seen.kind(), error.kind());
        assert_eq!(r.peers[1].protocol_errors, 1);
        for n in 0..2 {
            assert_eq!(t.nodes[n].status(), Some(Status::PeerLost), "{frame:?}");
        }
        // The link to the untouched machine 2 still ends cleanly.
        assert_eq!(r.peers[2].lost, None);
    }
}

#[test]
fn a_peer_that_ends_early_is_lost_and_nothing_sent_to_it_vanishes() {
    let mut t = Trio::new([4, 4, 4], |_| {});
    t.run(500 * MS);
    t.nodes[1].handle_stop(t.now);
    t.run(u64::MAX);
    assert_eq!(t.nodes[1].status(), Some(Status::Interrupted));
    for n in [0, 2] {
        assert_eq!(t.nodes[n].status(), Some(Status::PeerLost));
        let r = t.nodes[n].report();
        assert_eq!(r.peers[1].lost, Some(CloseReason::EndedEarly));
        let got = t.nodes[1].report().peers[n];
        let s = r.peers[1];
        assert_eq!(
            s.sent,
            got.received + got.queued + got.after_end + s.undeliverable
        );
        assert!(s.undeliverable > 0 || s.sent == got.received + got.queued);
    }
}

#[test]
fn a_peer_that_closes_without_bye_is_lost_with_its_time() {
    let mut t = Trio::new([4, 4, 4], |_| {});
    t.run(800 * MS);
    // Machine 2 vanishes: its connections close with no Bye.
    for w in t.wires.clone().into_iter().flatten() {
        for (me, other) in [(w.0, w.1), (w.1, w.0)] {
            if me.node == 2 {
                t.nodes[other.node].handle_closed(other.conn, t.now);
            }
        }
    }
    t.wires
        .retain(|w| w.is_none_or(|(a, b)| a.node != 2 && b.node != 2));
    t.nodes.truncate(3);
    let lost_at = t.now - 10 * MS;
    t.run(u64::MAX);
    for n in [0, 1] {
        let r = t.nodes[n].report();
        assert_eq!(r.peers[2].lost, Some(CloseReason::Closed));
        assert_eq!(r.peers[2].lost_at_model_ns, Some(lost_at));
        assert_eq!(t.nodes[n].status(), Some(Status::PeerLost));
    }
}

#[test]
fn a_node_behind_schedule_runs_one_tick_per_call_and_says_overloaded() {
    let mut t = Trio::new([5, 5, 5], |_| {});
    t.run(100 * MS);
    // Machine 0's host freezes for 0.7 s: when it wakes, ticks 1 to 3 are
    // due, two beyond the one it runs.
    let late = t.now + 700 * MS;
    t.paused[0] = late;
    t.run(late);
    let before = t.nodes[0].report().tally.ticks;
    t.nodes[0].handle_timeout(late);
    assert_eq!(t.nodes[0].report().tally.ticks, before + 1);
    t.run(u64::MAX);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert!(r.behind_ticks > 0 && r.max_late_ns >= 300 * MS, "{r:?}");
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    assert_eq!(t.nodes[1].status(), Some(Status::Completed));
}

#[test]
fn records_come_out_with_the_model_rules() {
    let mut t = Trio::new([3, 3, 3], |_| {});
    t.run(u64::MAX);
    for n in 0..N {
        let recs = t.records(n);
        let mut last = 0;
        for r in &recs {
            assert!(r.clock > last);
            last = r.clock;
            if let Kind::Receive(m) = r.event {
                assert!(r.clock > m.clock);
            }
        }
    }
}

/// The tie-break: a tick that runs late (here, its host frozen for two
/// seconds) takes only what had arrived by its due time; what came while
/// it was late waits for the next tick. Over 20 seeds, so that many messages
/// come while the machine is frozen.
#[test]
fn a_late_tick_takes_only_what_arrived_by_its_due_time() {
    let (mut came_while_frozen, mut late_ticks) = (0, 0);
    for seed in 0..20 {
        let (came, late) = late_ticks_take_nothing_that_came_late(seed);
        came_while_frozen += came;
        late_ticks += late;
    }
    assert!(late_ticks >= 200, "only {late_ticks} ticks ran late");
    assert!(
        came_while_frozen >= 20,
        "{came_while_frozen} messages came while frozen"
    );
}

/// Review (issue 16): a peer's early `Bye` was answered once, when it came,
/// and never again while the run went on: when a send to that peer still
/// waited behind a full outbox, the stopped peer gave up on the link without
/// our `Bye`.
#[test]
fn an_early_bye_is_answered_once_the_sends_before_it_left() {
    let (mut b, one, two) = fast_zero_at_the_barrier();
    b.recv(one);
    b.recv(two);
    b.node.handle_start(b.now, 0, b.now).unwrap();
    // Machine 2 reads everything, machine 1 a frame per stall, until a send
    // to both waits for machine 1's room: one to machine 2 waits behind it.
    let (mut clocks_to_two, mut stalls_freed) = (0, 0);
    // Machine 1's frames are not decoded: a frame may wrap the outbox's end.
    let discard_one_frame = |b: &mut Bench| {
        while let Some(front) = b.node.poll_transmit(one) {
            let end = front.iter().position(|&x| x == 0);
            let n = end.map_or(front.len(), |i| i + 1);
            b.node.transmitted(one, n, b.now);
            if end.is_some() {
                return;
            }
        }
    };
    loop {
        b.now = b.node.poll_timeout().unwrap();
        b.node.handle_timeout(b.now);
        b.drain();
        clocks_to_two += b.recv(two).len() as u64;
        let r = b.node.report();
        if r.peers[2].unsent > 0 {
            break;
        }
        while stalls_freed < r.stalls {
            discard_one_frame(&mut b);
            stalls_freed += 1;
        }
        assert!(b.node.status().is_none(), "no stall: {r:?}");
    }
    // Machine 2 was stopped: its Bye comes early, while our send to it waits.
    b.send(two, &Frame::Bye { sent: 0 });
    assert_eq!(b.node.report().peers[2].lost, Some(CloseReason::EndedEarly));
    assert_eq!(b.recv(two), []);
    // Machine 1 reads: the waiting send to machine 2 is undeliverable now,
    // and our Bye goes, long before our end.
    while b.node.poll_transmit(one).is_some() {
        discard_one_frame(&mut b);
    }
    assert_eq!(b.node.report().peers[2].undeliverable, 1);
    assert_eq!(
        b.recv(two),
        [Frame::Bye {
            sent: clocks_to_two
        }]
    );
    assert!(b.node.status().is_none());
}

/// Bytes waiting on several connections at once are offered lowest sender
/// first, as the simulator queues arrivals at one instant; every slot once.
#[test]
fn bytes_that_wait_together_are_read_lowest_sender_first() {
    let mut t = Trio::new([2, 2, 2], |_| {});
    t.run(50 * MS);
    assert!(t.started);
    for n in 0..N {
        let node = &t.nodes[n];
        let order = node.read_order();
        let mut peers: Vec<(MachineId, ConnId)> = node
            .link_order()
            .map(|i| (node.peer_of(i), node.links[i].conn.expect("a link is up")))
            .collect();
        peers.sort();
        assert_eq!(order[..2], [peers[0].1, peers[1].1], "machine {n}");
        let mut seen: Vec<usize> = order.iter().map(|c| c.index()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..CONNS).collect::<Vec<_>>(), "machine {n}");
    }
    // Machine 1 dials machine 2 (slot 0) but reads machine 0 first.
    let one = &t.nodes[1];
    assert_eq!(one.read_order()[0], one.links[0].conn.expect("up"));
    assert_ne!(one.read_order()[0], ConnId(0));
}

/// The frames machine 0 has taken or queued from machine 1 so far.
fn came_from_one(t: &Trio) -> u64 {
    let p = t.nodes[0].report().peers[1];
    p.received + p.queued
}

/// A run's messages are all of its clock's kind: a node that keeps
/// Lamport's clock alone refuses an `HlcClock` and a `VectorClock`, one
/// that carries an HLC a plain `Clock` and a `VectorClock`, and one that
/// carries a vector clock a plain `Clock`, an `HlcClock` and a vector of
/// another run's length, as frames it does not expect.
#[test]
fn a_message_of_the_other_clock_is_a_protocol_error() {
    fn forge<H: Stamp>(frame: Frame) {
        let mut t = Trio::<H>::build([3, 3, 3], |_| {});
        t.forge_on_link_one(&frame);
        let r = t.nodes[0].report();
        let error = ProtocolError::Unexpected(frame.kind());
        assert_eq!(r.errors.0[error.kind()], 1, "{}: {frame:?}", H::NAME);
        assert_eq!(r.peers[1].lost, Some(CloseReason::Protocol(error)));
        // The link to the untouched machine 2 still ends cleanly.
        assert_eq!(r.peers[2].lost, None, "{}", H::NAME);
    }
    forge::<()>(Frame::HlcClock {
        from: 1,
        clock: 5,
        seq: 0,
        l: 9,
        c: 0,
    });
    let vector = |n: usize| Frame::VectorClock {
        from: 1,
        clock: 5,
        seq: 0,
        vector: crate::VectorClock::from_entries(&[0, 5, 0, 0][..n]).unwrap(),
    };
    forge::<()>(vector(3));
    forge::<crate::Hlc>(Frame::Clock {
        from: 1,
        clock: 5,
        seq: 0,
    });
    forge::<crate::Hlc>(vector(3));
    type Vector = crate::VectorClock<3>;
    forge::<Vector>(Frame::Clock {
        from: 1,
        clock: 5,
        seq: 0,
    });
    forge::<Vector>(Frame::HlcClock {
        from: 1,
        clock: 5,
        seq: 0,
        l: 9,
        c: 0,
    });
    forge::<Vector>(vector(2));
    forge::<Vector>(vector(4));
}

/// Three nodes carrying the clock `H` run the Lamport run event for event;
/// each record's stamp follows the clock's rule (`next`) from the
/// machine's last, each receive took the stamp its send made, and `also`
/// holds of each record.
fn a_carried_trio_is_the_lamport_trio<H: Stamp>(
    next: fn(H, &Record<3, H>) -> H,
    also: fn(&Record<3, H>) -> bool,
) {
    let mut lamport = Trio::new([2, 5, 6], |_| {});
    lamport.run(u64::MAX);
    let mut carried = Trio::<H>::build([2, 5, 6], |_| {});
    carried.run(u64::MAX);
    let mut sent = std::collections::HashMap::new();
    for n in 0..N {
        for r in carried.records(n) {
            for (to, msg) in r.outgoing() {
                sent.insert((r.machine, to, msg.seq), msg.stamp);
            }
        }
    }
    let mut receives = 0;
    for n in 0..N {
        let (a, b) = (lamport.records(n), carried.records(n));
        assert_eq!(a.len(), b.len());
        let mut last = H::start(3);
        for (a, b) in a.iter().zip(&b) {
            if let Kind::Receive(m) = b.event {
                assert_eq!(sent.get(&(m.from, b.machine, m.seq)), Some(&m.stamp));
                receives += 1;
            }
            assert_eq!(b.stamp, next(last, b), "{b:?}");
            assert!(also(b), "{b:?}");
            assert_eq!(*a, b.without_stamp());
            last = b.stamp;
        }
    }
    assert!(receives > 10, "{receives} receives");
}

/// Vector clocks: own entry one on, a receive's after the maximum with
/// its send's vector, which it then dominates (and not the other way).
#[test]
fn a_vector_trio_is_the_lamport_trio_stamped_by_the_vector_rules() {
    a_carried_trio_is_the_lamport_trio::<crate::VectorClock<3>>(crate::stamp::next_vector, |r| {
        match r.event {
            Kind::Receive(m) => r.stamp.dominates(&m.stamp) && !m.stamp.dominates(&r.stamp),
            _ => r.stamp.entries().len() == 3,
        }
    });
}

/// An HLC: the paper's rules at each record's `system_ns`, `l` never
/// behind it.
#[test]
fn an_hlc_trio_is_the_lamport_trio_stamped_by_the_papers_rules() {
    a_carried_trio_is_the_lamport_trio::<crate::Hlc>(crate::stamp::next_hlc, |r| {
        r.stamp.l() >= r.system_ns
    });
}
