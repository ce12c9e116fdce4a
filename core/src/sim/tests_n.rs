//! The simulator of `n` machines: every size and topology balances and
//! ends; the width `M` of the simulator does not change a run.

use std::boxed::Box;
use std::vec::Vec as StdVec;

use super::*;
use crate::End;
use crate::Event as Kind;
use crate::digest::DigestSink;

/// A simulator of up to sixteen machines with small queues.
type Wide = Sim<64, 16, Standard, 16, 16>;

/// Records of a run of up to sixteen machines.
#[derive(Default)]
struct Keep(StdVec<Record<16>>);

impl Sink<16> for Keep {
    type Error = core::convert::Infallible;
    fn record(&mut self, record: &Record<16>) -> Result<(), Self::Error> {
        self.0.push(*record);
        Ok(())
    }
}

/// A run of `n` machines under `topology`, rates 1 to 6 in turn.
fn config(seed: u64, n: u8, topology: Topology, seconds: u64) -> Config<16> {
    let mut config = Config::new(seed, core::array::from_fn(|i| 1 + (i as u32 * 5 + 2) % 6));
    config.machines = n;
    config.topology = topology;
    config.sides = n + 4;
    config.duration_ns = seconds * 1_000_000_000;
    config
}

/// Runs `test` on a thread with room for sixteen nodes on its stack (a
/// debug build keeps several copies of a simulator there while building it).
fn roomy(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(test)
        .unwrap()
        .join()
        .unwrap();
}

fn run(config: Config<16>, faults: &str) -> (StdVec<Record<16>>, Report<16>) {
    // Boxed: sixteen nodes are too large for a test thread's stack.
    let mut sim = Box::new(Wide::new(config, faults.parse().unwrap()).unwrap());
    let mut keep = Keep::default();
    let report = sim.run(&mut keep).unwrap();
    (keep.0, report)
}

#[test]
fn every_size_and_topology_completes_and_balances() {
    roomy(|| {
        for n in [3, 4, 5, 8, 16] {
            for topology in [Topology::All, Topology::Ring, Topology::Leader] {
                let (records, report) = run(config(u64::from(n), n, topology, 20), "");
                let what = std::format!("{n} machines, {topology}");
                assert_eq!(report.machines().len(), usize::from(n), "{what}");
                assert_eq!(report.links().count(), usize::from(n) * usize::from(n - 1));
                for m in report.machines() {
                    assert_eq!(m.end(), Some(End::Completed), "{what}: {m:?}");
                    assert_eq!(m.tally.ticks, ticks_in(20_000_000_000, m.rate), "{what}");
                }
                for l in report.links() {
                    assert!(l.balanced(), "{what}: {l:?}");
                    assert_eq!(l.lost, 0, "{what}: {l:?}");
                    // Only the topology's links carry messages.
                    if !topology.sends(l.from, l.to, n) {
                        assert_eq!(l.sent, 0, "{what}: {l:?}");
                    }
                }
                assert!(
                    report.links().map(|l| l.received).sum::<u64>() > 10,
                    "{what}"
                );
                // Each receive names a sender the topology lets send to it.
                for r in &records {
                    if let Kind::Receive(m) = r.event {
                        assert!(topology.sends(m.from, r.machine, n), "{what}: {r:?}");
                    }
                }
            }
        }
    });
}

#[test]
fn a_run_of_three_is_the_same_in_a_simulator_of_sixteen() {
    roomy(|| {
        let schedules = [
            "",
            "crash 1@4s, garbage 2>0@2s",
            "pause 0@2s..5s, partition 1-2@3s..9s",
        ];
        for (seed, faults) in schedules.into_iter().enumerate() {
            let seed = seed as u64;
            let mut three = Config::new(seed, [1, 6, 3]);
            three.duration_ns = 15_000_000_000;
            three.jitter_ns = 2_000_000;
            let mut narrow = Sim::<64, 16>::new(three, faults.parse().unwrap()).unwrap();
            let mut a = DigestSink::new();
            let report = narrow.run(&mut a).unwrap();

            let mut wide =
                Box::new(Wide::new(three.to_width().unwrap(), faults.parse().unwrap()).unwrap());
            let mut b = DigestSink::new();
            let wide_report = wide.run(&mut b).unwrap();
            assert_eq!(a, b, "seed {seed}, `{faults}`");
            assert!(a.records() > 50);
            let sent = |r: &mut dyn Iterator<Item = &LinkReport>| r.map(|l| l.sent).sum::<u64>();
            assert_eq!(sent(&mut report.links()), sent(&mut wide_report.links()));
            assert_eq!(narrow.missed_faults(), wide.missed_faults());
        }
    });
}

#[test]
fn faults_act_on_any_machine_of_the_run_and_every_link_balances() {
    roomy(|| {
        // The debug build checks the kept next step against the search from
        // scratch at every step, over links of machines beyond the third.
        let schedule =
            "crash 7@3s, partition 2-6@1s..6s, pause 4@2s..4s, garbage 5>0@1s, stop 6@8s";
        let (_, report) = run(config(9, 8, Topology::All, 12), schedule);
        let ends: StdVec<_> = report.machines().iter().map(|m| m.end()).collect();
        assert_eq!(ends[7], Some(End::Crashed));
        assert!(ends.iter().all(Option::is_some));
        for l in report.links() {
            assert!(l.balanced(), "{l:?}");
        }
        assert!(report.links().any(|l| l.lost > 0));
    });
}

#[test]
fn a_run_refuses_a_size_its_simulator_cannot_hold() {
    roomy(|| {
        let mut c = Config::new(1, [1, 2, 3]);
        c.machines = 4;
        assert_eq!(
            Sim::<4, 2>::new(c, Faults::none()).err(),
            Some(ConfigError::Capacity {
                machines: 4,
                capacity: 3
            })
        );
        for n in [0, 2, 17] {
            let mut c = config(1, 3, Topology::All, 1);
            c.machines = n;
            assert_eq!(
                Box::new(Wide::new(c, Faults::none())).err(),
                Some(ConfigError::Machines(n))
            );
        }
        assert!(Config::new(1, [1, 2, 3, 4]).to_width::<3>().is_err());
    });
}

#[test]
fn a_reset_simulator_of_sixteen_is_a_new_one() {
    roomy(|| {
        let c = config(4, 5, Topology::Ring, 5);
        let mut used = Box::new(
            Wide::new(
                config(2, 16, Topology::All, 3),
                "crash 9@1s".parse().unwrap(),
            )
            .unwrap(),
        );
        used.run(&mut DigestSink::new()).unwrap();
        used.reset(c, Faults::none()).unwrap();
        let fresh = Box::new(Wide::new(c, Faults::none()).unwrap());
        assert_eq!(std::format!("{used:?}"), std::format!("{fresh:?}"));
    });
}
