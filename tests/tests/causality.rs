//! The vector clocks and pair figures rebuilt from the logs, held against a
//! reference that knows nothing of vector clocks: happened-before as
//! reachability in the graph of events (each event to the next of its
//! machine, each send to the receives that took it), and every pair of
//! events on different machines counted one by one; and the HLC replayed
//! over the logs, held against the paper's rules written out case by case.

use scalemodel::analysis::causality::{Causal, EventId, Pairs, pairs};
use scalemodel::analysis::hlc::Replay;
use scalemodel::rundir::skew::Skew;
use scalemodel::rundir::{Kind, Row, Rows};
use scalemodel_core::sim::{Config, Sim, Standard};
use scalemodel_core::{Topology, fault::Faults};

/// A simulator of up to eight machines with small queues.
type Sim8 = Sim<64, 16, Standard, 8, 8>;

/// The logs of a simulated run of `n` machines under `topology`.
fn logs(seed: u64, n: u8, topology: Topology, seconds: u64, faults: &str) -> Vec<Vec<Row>> {
    let faults: Faults = faults.parse().expect("faults parse");
    std::thread::Builder::new()
        // Eight nodes inline: more than a test thread's stack holds.
        .stack_size(64 << 20)
        .spawn(move || {
            let mut config = Config::<8>::new(
                seed,
                core::array::from_fn(|i| 1 + (i as u32 * 5 + seed as u32) % 6),
            );
            config.machines = n;
            config.topology = topology;
            config.sides = n + 3;
            config.duration_ns = seconds * 1_000_000_000;
            config.jitter_ns = 30_000_000;
            let mut sim = Box::new(Sim8::new(config, faults).expect("a valid config"));
            let mut rows = Rows::default();
            sim.run(&mut rows).expect("the run ends");
            let mut logs = rows.0;
            logs.resize_with(usize::from(n), Vec::new);
            logs
        })
        .expect("a thread")
        .join()
        .expect("the simulator does not panic")
}

/// Happened-before by brute force: `reach[a][b]` when `b` is reachable
/// from `a` by one or more steps.
struct Reference {
    /// Each event's global number, by machine and index.
    number: Vec<Vec<usize>>,
    reach: Vec<Vec<bool>>,
}

impl Reference {
    fn of(logs: &[Vec<Row>]) -> Self {
        let mut number = Vec::new();
        let mut total = 0;
        for log in logs {
            number.push((total..total + log.len()).collect::<Vec<_>>());
            total += log.len();
        }
        let mut next = vec![Vec::new(); total];
        for (i, log) in logs.iter().enumerate() {
            for (k, row) in log.iter().enumerate() {
                if k + 1 < log.len() {
                    next[number[i][k]].push(number[i][k + 1]);
                }
                if row.kind == Kind::Send {
                    for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
                        let to = usize::from(to);
                        let taken = logs[to].iter().position(|r| {
                            r.kind == Kind::Receive && r.peers[0] as usize == i && r.seqs[0] == seq
                        });
                        if let Some(at) = taken {
                            next[number[i][k]].push(number[to][at]);
                        }
                    }
                }
            }
        }
        let reach = (0..total)
            .map(|start| {
                let mut seen = vec![false; total];
                let mut stack = next[start].clone();
                while let Some(e) = stack.pop() {
                    if !seen[e] {
                        seen[e] = true;
                        stack.extend(&next[e]);
                    }
                }
                seen
            })
            .collect();
        Self { number, reach }
    }

    fn before(&self, (i, k): EventId, (j, l): EventId) -> bool {
        self.reach[self.number[usize::from(i)][k as usize]][self.number[usize::from(j)][l as usize]]
    }
}

/// The HLC stamps of `logs` by the paper's rules, case by case, in the
/// order of `order` (one that causality allows), each receive's send found
/// by a search of the sender's log.
fn paper_hlc(logs: &[Vec<Row>], order: &[EventId]) -> Vec<Vec<(u64, u32)>> {
    let mut stamps: Vec<Vec<(u64, u32)>> = vec![Vec::new(); logs.len()];
    for &(i, k) in order {
        let (i, k) = (usize::from(i), k as usize);
        let row = &logs[i][k];
        let (l, c) = stamps[i].last().copied().unwrap_or((0, 0));
        let pt = row.system_ns;
        let sent = (row.kind == Kind::Receive).then(|| {
            let from = usize::from(row.peers[0]);
            let at = logs[from]
                .iter()
                .position(|r| {
                    r.kind == Kind::Send
                        && r.peers
                            .iter()
                            .zip(&r.seqs)
                            .any(|(&to, &seq)| usize::from(to) == i && seq == row.seqs[0])
                })
                .expect("every receive has its send");
            stamps[from][at]
        });
        let stamp = match sent {
            None if pt > l => (pt, 0),
            None => (l, c + 1),
            Some((lm, cm)) => {
                let l2 = l.max(lm).max(pt);
                let c2 = if l2 == l && l2 == lm {
                    c.max(cm) + 1
                } else if l2 == l {
                    c + 1
                } else if l2 == lm {
                    cm + 1
                } else {
                    0
                };
                (l2, c2)
            }
        };
        stamps[i].push(stamp);
    }
    stamps
}

/// The pair figures counted pair by pair.
fn counted(logs: &[Vec<Row>], r: &Reference) -> Pairs {
    let mut p = Pairs::default();
    let (mut l_ordered, mut l_concurrent, mut l_ties, mut l_inverted) = (0, 0, 0, 0);
    let (mut h_ordered, mut h_concurrent, mut h_ties, mut h_inverted) = (0, 0, 0, 0);
    let hlc = paper_hlc(logs, Causal::of(logs).order());
    let (mut t_inverted, mut t_ties) = (0, 0);
    for j in 0..logs.len() {
        for i in j + 1..logs.len() {
            for (k, f) in logs[j].iter().enumerate() {
                for (m, e) in logs[i].iter().enumerate() {
                    let (a, b) = ((j as u8, k as u32), (i as u8, m as u32));
                    p.pairs += 1;
                    l_ordered += u64::from(e.clock != f.clock);
                    let (hf, he) = (hlc[j][k], hlc[i][m]);
                    h_ordered += u64::from(he != hf);
                    let (cause, effect) = if r.before(a, b) {
                        h_inverted += u64::from(hf >= he);
                        (f, e)
                    } else if r.before(b, a) {
                        h_inverted += u64::from(he >= hf);
                        (e, f)
                    } else {
                        p.concurrent += 1;
                        l_ties += u64::from(e.clock == f.clock);
                        l_concurrent += u64::from(e.clock != f.clock);
                        h_ties += u64::from(he == hf);
                        h_concurrent += u64::from(he != hf);
                        continue;
                    };
                    p.ordered += 1;
                    l_inverted += u64::from(cause.clock >= effect.clock);
                    t_inverted += u64::from(cause.system_ns > effect.system_ns);
                    t_ties += u64::from(cause.system_ns == effect.system_ns);
                }
            }
        }
    }
    let l = p.lamport.get_or_insert_default();
    (l.ordered, l.concurrent, l.ties, l.inverted) = (l_ordered, l_concurrent, l_ties, l_inverted);
    let h = p.hlc.get_or_insert_default();
    (h.ordered, h.concurrent, h.ties, h.inverted) = (h_ordered, h_concurrent, h_ties, h_inverted);
    let t = p.timestamps.get_or_insert_default();
    (t.inverted, t.ties) = (t_inverted, t_ties);
    p
}

/// Checks the vector clocks and the figures of `logs` against the reference.
fn agrees(logs: &[Vec<Row>], what: &str) -> Pairs {
    let causal = Causal::of(logs);
    let r = Reference::of(logs);
    assert_eq!(causal.unmatched(), 0, "{what}: every receive has its send");
    assert_eq!(
        causal.order().len(),
        logs.iter().map(Vec::len).sum::<usize>(),
        "{what}"
    );
    // The order puts every event after everything that happened before it.
    let mut place = vec![Vec::new(); logs.len()];
    for (at, &(i, k)) in causal.order().iter().enumerate() {
        assert_eq!(
            place[usize::from(i)].len(),
            k as usize,
            "{what}: each machine in its order"
        );
        place[usize::from(i)].push(at);
    }
    let events: Vec<EventId> = causal.order().to_vec();
    for &f in &events {
        let v = causal.clock(f);
        for (i, log) in logs.iter().enumerate() {
            let reaching = (0..log.len())
                .filter(|&m| {
                    let e = (i as u8, m as u32);
                    e == f || r.before(e, f)
                })
                .count();
            assert_eq!(v[i], reaching as u64, "{what}: {f:?}'s entry {i}");
        }
        for &e in &events {
            assert_eq!(
                causal.happened_before(e, f),
                r.before(e, f),
                "{what}: {e:?} → {f:?}"
            );
            if r.before(e, f) {
                let (pe, pf) = (
                    place[usize::from(e.0)][e.1 as usize],
                    place[usize::from(f.0)][f.1 as usize],
                );
                assert!(pe < pf, "{what}: {e:?} is ordered before {f:?}");
            }
        }
    }
    let got = pairs(logs, &causal);
    let want = counted(logs, &r);
    let l = got.lamport.clone().expect("Lamport's clocks rise");
    let t = got.timestamps.clone().expect("the timestamps rise");
    let (wl, wt) = (
        want.lamport.expect("counted"),
        want.timestamps.expect("counted"),
    );
    assert_eq!(
        (got.pairs, got.ordered, got.concurrent),
        (want.pairs, want.ordered, want.concurrent),
        "{what}"
    );
    assert_eq!(
        (l.ordered, l.concurrent, l.ties, l.inverted),
        (wl.ordered, wl.concurrent, wl.ties, wl.inverted),
        "{what}"
    );
    assert_eq!((t.inverted, t.ties), (wt.inverted, wt.ties), "{what}");
    assert_eq!(l.inverted, 0, "{what}: the clock condition holds");
    let (h, wh) = (
        got.hlc.clone().expect("the HLC replays"),
        want.hlc.clone().expect("counted"),
    );
    assert_eq!(
        (h.ordered, h.concurrent, h.ties, h.inverted),
        (wh.ordered, wh.concurrent, wh.ties, wh.inverted),
        "{what}: the HLC's order"
    );
    assert_eq!(h.inverted, 0, "{what}: the HLC's clock condition holds");
    // The replay's stamps are the paper's, event by event.
    let replay = Replay::of(logs, &causal).expect("no counter overflows");
    let paper = paper_hlc(logs, causal.order());
    for (i, stamps) in paper.iter().enumerate() {
        let got: Vec<(u64, u32)> = replay.machine(i).iter().map(|h| (h.l(), h.c())).collect();
        assert_eq!(&got, stamps, "{what}: machine {i}'s HLC stamps");
    }
    got
}

#[test]
fn vector_clocks_and_pairs_agree_with_reachability() {
    let mut concurrent = 0;
    for seed in 0..4 {
        for (n, topology) in [
            (3, Topology::All),
            (4, Topology::Ring),
            (5, Topology::Leader),
            (6, Topology::All),
        ] {
            let what = format!("seed {seed}, {n} machines, {topology:?}");
            let p = agrees(&logs(seed, n, topology, 20, ""), &what);
            assert!(p.pairs > 0, "{what}");
            concurrent += p.concurrent;
        }
    }
    assert!(concurrent > 0, "some pairs are concurrent");
}

#[test]
fn the_hlc_and_the_timestamps_under_skewed_clocks_agree_with_the_reference() {
    // Clocks up to 300 ms apart: messages from a clock ahead push `l` past
    // the receiver's clock and the counter counts, so every case of the
    // paper's receive rule is met.
    const START: u64 = 1_700_000_000_000_000_000;
    let (mut ahead, mut counted) = (0, 0);
    for seed in 0..4 {
        let mut logs = logs(seed, 4, Topology::All, 20, "");
        let skew = Skew::draw(seed, 4, 300_000_000, 2_000);
        for (id, log) in logs.iter_mut().enumerate() {
            for row in log {
                row.system_ns = skew.of(id).read(START, START + row.system_ns);
            }
        }
        let what = format!("seed {seed}, skewed");
        agrees(&logs, &what);
        let causal = Causal::of(&logs);
        let replay = Replay::of(&logs, &causal).expect("no counter overflows");
        for (i, log) in logs.iter().enumerate() {
            for (row, h) in log.iter().zip(replay.machine(i)) {
                ahead += u64::from(h.l() > row.system_ns);
                counted += u64::from(h.c() > 0);
            }
        }
    }
    assert!(ahead > 0 && counted > 0, "ahead {ahead}, counted {counted}");
}

#[test]
fn a_receive_whose_send_was_lost_with_its_log_is_a_local_event() {
    // A crash and a partition: messages in flight are lost, which leaves no
    // receive without its send; cutting the sender's log does.
    let mut logs = logs(7, 3, Topology::All, 20, "crash 1@5s, partition 0-2@8s..12s");
    agrees(&logs, "with faults");
    let cut = logs[2]
        .iter()
        .position(|r| r.kind == Kind::Send)
        .expect("machine 2 sends");
    let sent: Vec<(u8, u64)> = logs[2][cut..]
        .iter()
        .filter(|r| r.kind == Kind::Send)
        .flat_map(|r| r.peers.iter().copied().zip(r.seqs.iter().copied()))
        .collect();
    logs[2].truncate(cut);
    let orphans = logs
        .iter()
        .enumerate()
        .flat_map(|(i, log)| log.iter().map(move |r| (i, r)))
        .filter(|(i, r)| {
            r.kind == Kind::Receive && r.peers[0] == 2 && sent.contains(&(*i as u8, r.seqs[0]))
        })
        .count();
    assert!(orphans > 0, "machine 2's lost sends were received");
    let causal = Causal::of(&logs);
    assert_eq!(causal.unmatched(), orphans as u64);
    assert_eq!(
        causal.order().len(),
        logs.iter().map(Vec::len).sum::<usize>()
    );
}

#[test]
fn receives_that_wait_on_each_other_break_the_cycle_and_are_counted() {
    // Two machines whose first events each receive the other's later
    // send: no order has both sends first; a forged log.
    let row = |machine: u8, kind: Kind, peer: u8, seq: u64, clock: u64| Row {
        line: 0,
        machine,
        tick: 0,
        model_ns: 0,
        system_ns: 0,
        kind,
        clock,
        queue_len: 0,
        peers: vec![peer],
        msg_clock: Some(clock),
        seqs: vec![seq],
        hlc: None,
        vc: None,
    };
    let logs = vec![
        vec![row(0, Kind::Receive, 1, 0, 2), row(0, Kind::Send, 1, 0, 3)],
        vec![row(1, Kind::Receive, 0, 0, 2), row(1, Kind::Send, 0, 0, 3)],
        vec![],
    ];
    let causal = Causal::of(&logs);
    assert_eq!(causal.order().len(), 4);
    assert_eq!(causal.unmatched(), 1, "one receive is taken as local");
    let p = pairs(&logs, &causal);
    assert_eq!(p.pairs, 4);
    assert_eq!(p.ordered + p.concurrent, 4);
}
