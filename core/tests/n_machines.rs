//! `n` machines of capacity 16 running the model on an ideal network: every
//! message arrives a fixed delay after its send, and the inboxes hold all
//! of them. The machines, the die for `n` and the topologies, without the
//! node's link protocol (the simulator still runs three machines: step 1 of
//! docs/MACHINES.md is not finished there).
//!
//! Checked for 4, 5, 8 and 16 machines and each topology: every message
//! sent is received or still queued or in flight (conservation), each
//! receive applies the rule `max(clock, msg) + 1` to a message sent with a
//! smaller clock, sends go only where the topology lets, and each link's
//! `seq`s arrive in order from 0.

use std::collections::VecDeque;

use scalemodel_core::rng::{self, Stream};
use scalemodel_core::{Die, Event, Machine, MachineId, Message, Tally, Topology};

/// The capacity: the host's size for four to sixteen machines.
const M: usize = 16;
/// Inbox capacity: more than a run below can queue.
const INBOX: usize = 1 << 12;
/// Every message's delay from send to arrival, in ns.
const DELAY_NS: u64 = 1_000_000;
/// The run's length in model ns: 30 s.
const DURATION_NS: u64 = 30_000_000_000;

/// What a run left behind, for the checks.
struct Run {
    n: u8,
    topology: Topology,
    machines: Vec<Machine<INBOX, M>>,
    tallies: Vec<Tally<M>>,
    /// Messages sent and not yet delivered: (arrival ns, to, message).
    in_flight: VecDeque<(u64, MachineId, Message)>,
}

/// Runs `n` machines in `topology` from `seed` with rates drawn from 1..=6.
fn run(seed: u64, n: u8, topology: Topology) -> Run {
    let die = Die::new(Die::default_sides(n), n, topology).expect("a valid die");
    let rates: [u32; M] = rng::draw_rates(seed, n, 1..=6);
    let mut machines: Vec<Machine<INBOX, M>> = MachineId::all(n)
        .map(|id| Machine::new(id, rates[id.index()], die).expect("a valid machine"))
        .collect();
    let mut dice: Vec<_> = MachineId::all(n)
        .map(|id| rng::stream(seed, n, Stream::Machine(id)))
        .collect();
    let mut tallies = vec![Tally::<M>::new(); usize::from(n)];
    let mut in_flight: VecDeque<(u64, MachineId, Message)> = VecDeque::new();
    // Ticks in due order, ties by id; an arrival at or before a due time
    // is delivered first. The delay is fixed, so arrivals stay in order.
    let ticks_max = 6 * 30 * u64::from(n) + 1;
    for _ in 0..ticks_max {
        let Some((due_ns, m)) = machines
            .iter()
            .enumerate()
            .map(|(m, machine)| (machine.next_tick_ns(), m))
            .filter(|&(due, _)| due < DURATION_NS)
            .min()
        else {
            break;
        };
        while let Some(&(at_ns, to, msg)) = in_flight.front() {
            if at_ns > due_ns {
                break;
            }
            in_flight.pop_front();
            machines[to.index()]
                .deliver(msg, at_ns)
                .expect("the inbox holds every message of the run");
        }
        let before = machines[m].clock();
        let record = machines[m]
            .tick(due_ns, due_ns, &mut dice[m])
            .expect("no clock overflow");
        match record.event {
            Event::Receive(msg) => {
                assert!(
                    msg.clock < record.clock,
                    "a message's clock is below its receive's"
                );
                assert_eq!(record.clock, before.max(msg.clock) + 1, "the receive rule");
            }
            Event::Send(_) | Event::Internal => assert_eq!(record.clock, before + 1),
        }
        for (to, msg) in record.outgoing() {
            assert!(
                topology.sends(record.machine, to, n),
                "{topology}: {} may not send to {to}",
                record.machine
            );
            in_flight.push_back((due_ns + DELAY_NS, to, msg));
        }
        tallies[m].observe(&record);
    }
    assert!(
        machines.iter().all(|m| m.next_tick_ns() >= DURATION_NS),
        "the run ended by its duration, not by its tick bound"
    );
    Run {
        n,
        topology,
        machines,
        tallies,
        in_flight,
    }
}

/// Conservation, link by link, and each link's `seq`s in order.
fn check_conservation(run: &Run) {
    let label = format!("{} machines, {}", run.n, run.topology);
    let mut sent_total = 0;
    for from in MachineId::all(run.n) {
        for to in MachineId::all(run.n) {
            let sent = run.machines[from.index()].sent_to(to);
            assert_eq!(sent, run.tallies[from.index()].sent_to(to), "{label}");
            let received = run.tallies[to.index()].received_from(from);
            let mut queued = 0;
            let mut inbox = run.machines[to.index()].inbox().clone();
            let mut next_seq = received;
            while let Some(msg) = inbox.pop() {
                if msg.from == from {
                    assert_eq!(msg.seq, next_seq, "{label}: {from}->{to} in order");
                    next_seq += 1;
                    queued += 1;
                }
            }
            let flying = run
                .in_flight
                .iter()
                .filter(|(_, t, msg)| *t == to && msg.from == from)
                .count() as u64;
            assert_eq!(
                sent,
                received + queued + flying,
                "{label}: {from}->{to} sent {sent}, received {received}, \
                 queued {queued}, in flight {flying}"
            );
            sent_total += sent;
        }
    }
    assert!(sent_total > 0, "{label}: the run sent messages");
}

#[test]
fn n_machines_conserve_messages_and_keep_the_receive_rule() {
    for n in [4, 5, 8, 16] {
        for topology in [Topology::All, Topology::Ring, Topology::Leader] {
            for seed in [1, 42] {
                check_conservation(&run(seed, n, topology));
            }
        }
    }
}

#[test]
fn the_topologies_send_where_they_say() {
    let n = 8;
    let ring = run(5, n, Topology::Ring);
    let leader = run(5, n, Topology::Leader);
    for id in MachineId::all(n) {
        let (r, l) = (&ring.tallies[id.index()], &leader.tallies[id.index()]);
        let next = id.plus(1, n);
        assert!(r.sent_to(next) > 0, "ring: {id} sends to {next}");
        assert_eq!(r.sent.iter().sum::<u64>(), r.sent_to(next));
        if id == MachineId::ZERO {
            assert!(l.sends > 0);
            // Every send of the leader goes to all the others.
            for to in MachineId::all(n).skip(1) {
                assert_eq!(l.sent_to(to), l.sends, "leader to {to}");
            }
        } else {
            assert_eq!(l.sends, 0, "{id} never sends under leader");
        }
    }
}
