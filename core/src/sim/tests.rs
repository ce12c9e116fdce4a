//! The simulator's own tests: schedule, order, bounds, faults and accounting.

use std::vec::Vec as StdVec;

use super::*;
use crate::End;
use crate::Event as Kind;
use crate::node::CloseReason;

#[derive(Default)]
struct Keep(StdVec<Record>);

impl Sink for Keep {
    type Error = core::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        self.0.push(*record);
        Ok(())
    }
}

fn run_with<const I: usize, const L: usize>(
    config: Config,
    faults: &str,
) -> (StdVec<Record>, Report) {
    let faults = faults.parse().expect("a valid schedule");
    let mut sim = Sim::<I, L>::new(config, faults).expect("valid config");
    let mut keep = Keep::default();
    let report = sim.run(&mut keep).expect("the run ends");
    if std::env::var("SIM_DEBUG").is_ok() {
        for n in sim.nodes() {
            std::println!("{:?}", n.report().peers);
        }
    }
    (keep.0, report)
}

fn run<const I: usize, const L: usize>(config: Config) -> (StdVec<Record>, Report) {
    run_with::<I, L>(config, "")
}

fn assert_balanced(report: &Report) {
    for l in report.links() {
        assert!(l.balanced(), "{l:?}");
    }
}

#[test]
fn link_indices_round_trip_in_tie_break_order() {
    let order = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)];
    let mut last = None;
    for (f, t) in order {
        let (f, t) = (MachineId::ALL[f], MachineId::ALL[t]);
        let i = link_index::<3>(f, t);
        assert!(last < Some(i), "{f:?}→{t:?} out of order");
        last = Some(i);
        assert_eq!(link_ends::<3>(i), (f, t));
        assert_eq!(link_ends::<16>(link_index::<16>(f, t)), (f, t));
    }
    let (f, t) = (
        MachineId::new(15, 16).unwrap(),
        MachineId::new(14, 16).unwrap(),
    );
    assert_eq!(link_ends::<16>(link_index::<16>(f, t)), (f, t));
}

#[test]
fn a_run_ticks_on_schedule_and_balances_every_link() {
    let mut config = Config::new(3, [1, 3, 6]);
    config.duration_ns = 10_000_000_000;
    config.start_ns = 1_000;
    config.speed = 2;
    let (records, report) = run::<64, 64>(config);
    for (id, m) in report.machines().iter().enumerate() {
        assert_eq!(m.tally.ticks, 10 * u64::from(config.rates[id]));
        assert_eq!(m.stalls, 0);
        assert_eq!(m.end(), Some(End::Completed));
    }
    for r in &records {
        assert_eq!(
            r.model_ns,
            crate::model_ns(r.tick, config.rates[r.machine.index()])
        );
        assert_eq!(r.system_ns, 1_000 + r.model_ns / 2);
    }
    assert_balanced(&report);
    assert!(report.links().any(|l| l.received > 0));
    assert!(report.links().all(|l| l.lost == 0));
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let mut config = Config::new(9, [2, 5, 6]);
    config.jitter_ns = 50_000_000;
    let (a, _) = run::<64, 64>(config);
    let (b, _) = run::<64, 64>(config);
    assert_eq!(a, b);
    config.seed = 10;
    let (c, _) = run::<64, 64>(config);
    assert_ne!(a, c);
}

#[test]
fn jitter_never_reorders_a_link() {
    let mut config = Config::new(5, [6, 6, 6]);
    config.jitter_ns = 900_000_000;
    let (records, report) = run::<64, 64>(config);
    let mut next = [[0u64; 3]; 3];
    for r in &records {
        if let Kind::Receive(m) = r.event {
            let expect = &mut next[m.from.index()][r.machine.index()];
            assert_eq!(m.seq, *expect);
            *expect += 1;
        }
    }
    assert_balanced(&report);
}

#[test]
fn full_inboxes_hold_and_full_links_stall_without_loss() {
    let mut config = Config::new(1, [1, 6, 6]);
    config.sides = 4;
    let (records, report) = run::<2, 2>(config);
    let slow = &report.machines()[0];
    assert!(slow.held > 0, "{slow:?}");
    // Records show the inbox after the take, so a full inbox of 2 logs 1.
    assert_eq!(slow.tally.max_queue, 1);
    assert!(report.machines()[1].stalls + report.machines()[2].stalls > 0);
    assert_balanced(&report);
    assert!(report.links().all(|l| l.lost == 0));
    // A stalled machine's ticks run late, never early.
    for r in &records {
        let due = config.start_ns + r.model_ns / u64::from(config.speed);
        assert!(r.system_ns >= due, "{r:?}");
    }
    assert!(
        records
            .iter()
            .any(|r| r.system_ns > config.start_ns + r.model_ns)
    );
}

#[test]
fn a_message_arriving_at_a_tick_is_taken_by_that_tick() {
    // With no latency, a send at t from machine 0 reaches machine 1 before
    // machine 1's own tick at t: arrivals come first.
    let seed = (0..1_000)
        .find(|&seed| {
            let mut dice = rng::stream(seed, 3, Stream::Machine(MachineId::ZERO));
            rng::roll(&mut dice, 10) == 1
        })
        .expect("some seed rolls a 1 first");
    let mut config = Config::new(seed, [1, 1, 1]);
    config.latency_ns = 0;
    config.duration_ns = 1;
    let (records, _) = run::<4, 4>(config);
    assert!(matches!(records[0].event, Kind::Send(_)));
    assert_eq!(records[0].machine, MachineId::ZERO);
    assert_eq!(records[1].machine, MachineId::ONE);
    assert!(matches!(records[1].event, Kind::Receive(m) if m.from == MachineId::ZERO));
}

fn config_60s(seed: u64) -> Config {
    let mut config = Config::new(seed, [4, 5, 6]);
    config.sides = 4;
    config
}

#[test]
fn a_crash_ends_its_machine_as_crashed_and_counts_what_it_destroyed() {
    let (records, report) = run_with::<64, 64>(config_60s(5), "crash 1@20s");
    let one = &report.machines()[1];
    assert_eq!(one.end(), Some(End::Crashed));
    assert_eq!(one.crashed_at_model_ns, Some(20_000_000_000));
    // It logged nothing after its crash.
    let last = records
        .iter()
        .rfind(|r| r.machine == MachineId::ONE)
        .unwrap();
    assert!(last.model_ns <= 20_000_000_000);
    for m in [0, 2] {
        assert_eq!(report.machines()[m].end(), Some(End::PeerLost));
        assert_eq!(
            report.machines()[m].tally.ticks,
            60 * u64::from(config_60s(5).rates[m])
        );
    }
    assert_balanced(&report);
    let lost: u64 = report.links().map(|l| l.lost).sum();
    assert!(lost > 0, "{:?}", report.links().collect::<StdVec<_>>());
    // The link between the survivors lost nothing.
    for l in report.links() {
        if l.from != MachineId::ONE && l.to != MachineId::ONE {
            assert_eq!(l.lost, 0, "{l:?}");
        }
    }
}

#[test]
fn a_stop_ends_cleanly_and_its_peers_say_so() {
    let (_, report) = run_with::<64, 64>(config_60s(6), "stop 2@10s");
    assert_eq!(report.machines()[2].end(), Some(End::Interrupted));
    assert_eq!(report.machines()[2].tally.ticks, 10 * 6);
    for m in [0, 1] {
        assert_eq!(report.machines()[m].end(), Some(End::PeerLost));
    }
    assert_balanced(&report);
}

#[test]
fn a_partition_holds_bytes_then_delivers_them_all() {
    let (records, report) = run_with::<64, 64>(config_60s(7), "partition 0-2@5s..15s");
    assert_balanced(&report);
    assert!(
        report.links().all(|l| l.lost == 0),
        "{:?}",
        report.links().collect::<StdVec<_>>()
    );
    // Nothing crossed between 0 and 2 during the partition, and the backlog
    // came through after it.
    let crossed = |r: &Record| match r.event {
        Kind::Receive(m) => (m.from.index() + r.machine.index()) == 2 && m.from != MachineId::ONE,
        _ => false,
    };
    let during = records
        .iter()
        .filter(|r| crossed(r) && r.model_ns > 5_100_000_000 && r.model_ns < 15_000_000_000)
        .count();
    assert_eq!(during, 0);
    assert!(
        records
            .iter()
            .any(|r| crossed(r) && r.model_ns >= 15_000_000_000)
    );
    assert!(
        report
            .machines()
            .iter()
            .all(|m| m.end() == Some(End::Completed))
    );
}

#[test]
fn a_pause_freezes_a_machine_which_then_runs_late() {
    let (records, report) = run_with::<64, 64>(config_60s(8), "pause 2@30s..35s");
    let two = &report.machines()[2];
    assert_eq!(two.tally.ticks, 60 * 6);
    assert_eq!(two.end(), Some(End::Overloaded));
    assert!(two.behind_ticks > 0);
    // Its ticks due in the pause ran at its end, at once.
    let late: StdVec<_> = records
        .iter()
        .filter(|r| {
            r.machine == MachineId::TWO && (30_000_000_000..35_000_000_000).contains(&r.model_ns)
        })
        .collect();
    assert!(
        late.iter().skip(1).all(|r| r.system_ns == 35_000_000_000),
        "{late:?}"
    );
    assert_balanced(&report);
}

#[test]
fn garbage_breaks_the_link_and_both_ends_say_so() {
    let (_, report) = run_with::<64, 64>(config_60s(9), "garbage 0>1@3s");
    let one = &report.machines()[1];
    assert_eq!(one.errors.total(), 1);
    assert_eq!(one.end(), Some(End::PeerLost));
    assert_eq!(report.machines()[0].end(), Some(End::PeerLost));
    assert_eq!(report.machines()[2].end(), Some(End::Completed));
    assert_balanced(&report);
}

#[test]
fn the_issue_example_is_byte_identical_twice() {
    let faults = "crash 1@20s, partition 0-2@5s..15s, pause 2@30s..35s";
    let mut config = config_60s(5);
    config.jitter_ns = 2_000_000;
    let a = run_with::<64, 16>(config, faults);
    let b = run_with::<64, 16>(config, faults);
    assert_eq!(a, b);
    assert_balanced(&a.1);
}

/// Swarm case 5729 (seed 1): both ends gave up on a partitioned link in the
/// same instant; the sender's staged frame and the frames on the link were
/// counted nowhere, because the receiver's close only looked at its own
/// outgoing link.
#[test]
fn a_link_closed_from_both_ends_at_once_accounts_for_every_message() {
    let mut config = Config::new(5730, [9, 10, 5]);
    config.sides = 4;
    config.duration_ns = 14_000_000_000;
    config.latency_ns = 1_170_728;
    config.start_ns = 1_397_453_417_028_004_870;
    let faults = "pause 1@0.311s..1.845s, partition 2-1@12.785s..19.428s";
    let (_, report) = run_with::<64, 2>(config, faults);
    assert_balanced(&report);
    let l = *report.link(MachineId::ONE, MachineId::TWO).unwrap();
    assert!(l.lost > 0 && l.in_flight == 0, "{l:?}");
}

/// Review: a machine that stalled mid-run and caught up ended `completed`.
#[test]
fn a_machine_that_stalled_does_not_end_completed() {
    let mut config = Config::new(7, [4, 4, 4]);
    config.sides = 4;
    config.duration_ns = 20_000_000_000;
    let (_, report) = run_with::<4, 2>(config, "partition 0-1@2s..12s");
    assert!(report.machines().iter().any(|m| m.stalls > 0));
    for m in report.machines() {
        if m.stalls > 0 {
            assert_eq!(m.end(), Some(End::Stalled), "{m:?}");
        }
    }
    assert_balanced(&report);
}

/// Review: crashing a machine that had ended rewrote its end; faults after
/// the end were neither applied nor reported.
#[test]
fn faults_that_find_nothing_change_nothing_and_are_reported() {
    let mut config = config_60s(3);
    config.duration_ns = 20_000_000_000;
    let faults = "stop 0@5s, crash 0@10s, crash 1@100s";
    let mut sim = Sim::<64, 16>::new(config, faults.parse().unwrap()).unwrap();
    let report = sim.run(&mut Discard).unwrap();
    assert_eq!(report.machines()[0].end(), Some(End::Interrupted));
    assert_eq!(report.machines()[1].end(), Some(End::PeerLost));
    assert_eq!(sim.missed_faults(), [false, true, true]);
    assert_balanced(&report);
}

/// Review: a latency beyond the default handshake bound made every run fail
/// its set-up.
#[test]
fn slow_links_stretch_the_bounds_instead_of_failing_the_set_up() {
    let mut config = config_60s(4);
    config.duration_ns = 10_000_000_000;
    config.latency_ns = 700_000_000;
    config.jitter_ns = 2_000_000_000;
    let (records, report) = run::<64, 16>(config);
    assert!(!records.is_empty());
    for m in report.machines() {
        assert!(!matches!(m.end(), Some(End::SetupFailed)), "{m:?}");
    }
    assert_balanced(&report);
}

/// Review (issue 16): a stop during a pause started the frozen machine's
/// `Bye` bound, which ran out before it woke, so its links ended without
/// `Bye`; a SIGTERM to a stopped process acts only once it runs again.
#[test]
fn a_stop_during_a_pause_acts_when_the_machine_wakes() {
    let faults = "pause 2@10s..20s, stop 2@12s";
    let mut sim = Sim::<64, 64>::new(config_60s(6), faults.parse().unwrap()).unwrap();
    let mut keep = Keep::default();
    let report = sim.run(&mut keep).unwrap();
    let two = &report.machines()[2];
    assert_eq!(two.end(), Some(End::Interrupted));
    // Its ticks up to the pause; on waking it took its stop before any tick.
    assert_eq!(two.tally.ticks, 10 * 6);
    let nodes = sim.nodes();
    for m in [0, 1] {
        // Both Byes went both ways: each side saw the other's.
        let theirs = nodes[m].report().peers[2];
        assert_eq!(theirs.lost, Some(CloseReason::EndedEarly), "{theirs:?}");
        assert!(theirs.peer_sent.is_some());
        let mine = nodes[2].report().peers[m];
        assert_eq!(mine.lost, None, "{mine:?}");
        assert!(mine.peer_sent.is_some());
        assert_eq!(report.machines()[m].end(), Some(End::PeerLost));
    }
    assert_eq!(sim.missed_faults(), [false, false]);
    assert_balanced(&report);
}

/// Review (issue 16): machine 0, stalled on its partitioned link to machine
/// 1 with a send to both, answered machine 2's early `Bye` only at its own
/// end, long after machine 2 gave up on the link without it (seeds 4, 6, 9,
/// 10 and 17 of these twenty).
#[test]
fn a_stopped_machine_hears_bye_from_a_peer_that_was_stalled() {
    for seed in 0..20 {
        let mut config = Config::new(seed, [6, 6, 6]);
        config.sides = 4;
        config.duration_ns = 30_000_000_000;
        let faults = "partition 0-1@5s..9s, stop 2@8s".parse().unwrap();
        let mut sim = Sim::<64, 2>::new(config, faults).unwrap();
        let report = sim.run(&mut Discard).unwrap();
        assert_eq!(
            report.machines()[2].end(),
            Some(End::Interrupted),
            "seed {seed}"
        );
        for m in [0, 1] {
            let mine = sim.nodes()[2].report().peers[m];
            assert_eq!(mine.lost, None, "seed {seed}, machine {m}: {mine:?}");
            let theirs = sim.nodes()[m].report().peers[2];
            assert_eq!(theirs.lost, Some(CloseReason::EndedEarly), "seed {seed}");
        }
        assert_balanced(&report);
    }
}

/// One run of `config` with `Clock` frames as numbers (the default without
/// faults) and as bytes: every record, the report and each node's report.
fn both_paths<const I: usize, const L: usize>(config: Config) -> (StdVec<Record>, Report) {
    let mut fast = Sim::<I, L>::new(config, Faults::none()).expect("valid config");
    assert!(fast.numbers, "a run without faults carries numbers");
    let mut slow = fast.clone();
    slow.carry_clocks_as_bytes();
    let (mut a, mut b) = (Keep::default(), Keep::default());
    let fast_report = fast.run(&mut a).expect("the run ends");
    let slow_report = slow.run(&mut b).expect("the run ends");
    assert_eq!(a.0, b.0, "{config:?}");
    assert_eq!(fast_report, slow_report, "{config:?}");
    for (x, y) in fast.nodes().iter().zip(slow.nodes()) {
        assert_eq!(x.report(), y.report(), "{config:?}");
    }
    (a.0, fast_report)
}

#[test]
fn clock_frames_as_numbers_change_nothing() {
    // Over many seeds: small inboxes and links (full links stall their
    // senders, so frames wait in staging and turn into bytes), jitter,
    // speeds, fast rates; every run compared record by record.
    let mut stalls = 0;
    let mut holds = 0;
    for seed in 0..120u64 {
        let rates = [1 + seed % 6, 1 + seed / 6 % 6, 1 + seed / 36 % 6].map(|r| r as u32);
        let mut config = Config::new(seed, rates);
        config.duration_ns = 30_000_000_000;
        config.sides = [4, 5, 10][seed as usize % 3];
        config.jitter_ns = [0, 3_000_000, 400_000_000][seed as usize / 3 % 3];
        config.speed = [1, 3][seed as usize / 9 % 2];
        config.start_ns = seed * 1_000;
        let (records, report) = match seed % 4 {
            0 => both_paths::<2, 2>(config),
            1 => both_paths::<4, 1>(config),
            2 => both_paths::<16, 8>(config),
            _ => both_paths::<64, 64>(config),
        };
        assert!(!records.is_empty());
        stalls += report.machines().iter().map(|m| m.stalls).sum::<u64>();
        holds += report.machines().iter().map(|m| m.held).sum::<u64>();
    }
    // The bounds were hit: full links and full inboxes, both ways.
    assert!(stalls > 0 && holds > 0, "{stalls} {holds}");
    let mut busy = Config::new(7, [1000, 1000, 3]);
    busy.duration_ns = 2_000_000_000;
    busy.sides = 4;
    both_paths::<64, 4>(busy);
}

#[test]
fn a_sink_that_reads_no_records_changes_no_report() {
    // `Discard` turns the nodes' records off; the run must not notice:
    // every report the same as with the records kept, faults or not.
    let schedules = [
        "",
        "crash 1@4s, partition 0-2@2s..6s",
        "pause 0@1s..5s, stop 2@8s, garbage 1>0@3s",
    ];
    for seed in 0..60u64 {
        let mut config = Config::new(seed, [1 + seed as u32 % 6, 6, 3]);
        config.duration_ns = 12_000_000_000;
        config.sides = [4, 10][seed as usize % 2];
        config.jitter_ns = [0, 2_000_000][seed as usize / 2 % 2];
        let faults: Faults = schedules[seed as usize % 3]
            .parse()
            .expect("a valid schedule");
        let mut kept = Sim::<4, 2>::new(config, faults.clone()).expect("valid config");
        let mut dropped = kept.clone();
        let a = kept.run(&mut Keep::default()).expect("the run ends");
        let b = dropped.run(&mut Discard).expect("the run ends");
        assert_eq!(a, b, "{config:?}");
        for (x, y) in kept.nodes().iter().zip(dropped.nodes()) {
            assert_eq!(x.report(), y.report(), "{config:?}");
        }
    }
}

/// With a clock carried beside Lamport's the simulator decides the same:
/// every record is the Lamport run's, plus its stamp; each stamp follows
/// the clock's rule (`next`) from the machine's last one, and each receive
/// took the stamp its send made; `also` holds of each record.
fn a_carried_run_is_the_lamport_run<H: Stamp>(
    next: fn(H, &Record<3, H>) -> H,
    also: fn(&Record<3, H>) -> bool,
) {
    use std::collections::HashMap;

    struct KeepAll<H: Stamp>(StdVec<Record<3, H>>);
    impl<H: Stamp> Sink<3, H> for KeepAll<H> {
        type Error = core::convert::Infallible;
        fn record(&mut self, record: &Record<3, H>) -> Result<(), Self::Error> {
            self.0.push(*record);
            Ok(())
        }
    }

    for faults in ["", "crash 1@20s, pause 2@5s..9s", "garbage 0>1@30s"] {
        let mut config = config_60s(11);
        config.jitter_ns = 3_000_000;
        config.start_ns = 1_700_000_000_000_000_000;
        let (lamport, want_report) = run_with::<64, 64>(config, faults);
        let schedule = faults.parse().expect("a valid schedule");
        let mut sim = Sim::<64, 64, Standard, 3, CONNS, H>::new(config, schedule).unwrap();
        let mut keep = KeepAll(StdVec::new());
        let report = sim.run(&mut keep).expect("the run ends");
        let carried = keep.0;
        assert_eq!(report, want_report, "{faults}");
        assert_eq!(lamport.len(), carried.len(), "{faults}");
        let mut last = [H::start(3); 3];
        let mut sent = HashMap::new();
        for (a, b) in lamport.iter().zip(&carried) {
            if let Kind::Receive(m) = b.event {
                assert_eq!(
                    sent.get(&(m.from, b.machine, m.seq)),
                    Some(&m.stamp),
                    "{faults}: {b:?} took a stamp its send did not make"
                );
            }
            assert_eq!(b.stamp, next(last[b.machine.index()], b), "{faults}: {b:?}");
            assert!(also(b), "{faults}: {b:?}");
            assert_eq!(*a, b.without_stamp(), "{faults}");
            last[b.machine.index()] = b.stamp;
            for (to, msg) in b.outgoing() {
                sent.insert((b.machine, to, msg.seq), msg.stamp);
            }
        }
        let receives = carried
            .iter()
            .filter(|r| matches!(r.event, Kind::Receive(_)));
        assert!(receives.count() > 50, "{faults}");
        assert_balanced(&report);
    }
}

/// An HLC carried: the paper's rules at each record's `system_ns`, `l`
/// never behind it.
#[test]
fn an_hlc_run_is_the_lamport_run_stamped_by_the_papers_rules() {
    a_carried_run_is_the_lamport_run::<crate::Hlc>(crate::stamp::next_hlc, |r| {
        r.stamp.l() >= r.system_ns
    });
}

/// A vector clock carried: the vector rules, each receive's vector
/// dominating its message's.
#[test]
fn a_vector_run_is_the_lamport_run_stamped_by_the_vector_rules() {
    a_carried_run_is_the_lamport_run::<crate::VectorClock<3>>(
        crate::stamp::next_vector,
        |r| match r.event {
            Kind::Receive(m) => r.stamp.dominates(&m.stamp),
            _ => r.stamp.entries().len() == 3,
        },
    );
}
