//! Re-initialising a simulator in place: a host with little stack (the
//! firmware) keeps one `Sim` in a static and resets it for each run.

use super::{Config, Links, Network, Sim};
use crate::ConfigError;
use crate::Stamp;
use crate::fault::{FAULTS_MAX, Faults};
use crate::rng::{Stream, Streams};

impl<const INBOX: usize, const LINK: usize, W: Network, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, W, M, C, H>
{
    /// Makes this simulator what [`Sim::new`]`(config, faults)` would, in
    /// place: field by field and node by node ([`crate::node::Node::reset`]),
    /// so that no second `Sim` (about 20 KB even with small queues) is built
    /// on the stack. On an error nothing changed.
    pub fn reset(&mut self, config: Config<M>, faults: Faults) -> Result<(), ConfigError> {
        self.reset_with(config, faults, &Streams::new(config.seed, config.machines))
    }

    /// [`Sim::reset`] with the seed's streams already made (`streams` must
    /// be `Streams::new(config.seed)`): a host that drew the run from one of
    /// them (the swarm) spares the jumps that make them again.
    pub fn reset_with(
        &mut self,
        config: Config<M>,
        faults: Faults,
        streams: &Streams,
    ) -> Result<(), ConfigError> {
        // Every node first, so that a refusal leaves every node as it was.
        Self::check(&config, streams)?;
        // Every field by name: a new one does not compile until it is reset
        // here as `new` sets it (the tests compare the two).
        let Self {
            config: my_config,
            faults: my_faults,
            begun,
            missed,
            host_faults,
            has_spans,
            nodes,
            links,
            crashed,
            barrier,
            touched,
            timeouts,
            stale,
            flushing,
            carrying,
            next,
            jitter,
            garbage,
            now_ns,
            start_ns,
            steps,
            #[cfg(target_pointer_width = "64")]
            numbers,
            // The network is the caller's: a reset keeps it.
            net: _,
        } = self;
        for (i, node) in nodes.iter_mut().enumerate() {
            let id = Self::machine(&config, i);
            node.reset_with_dice(
                config.node(id, streams),
                0,
                streams.get(Stream::Machine(id)),
            )?;
        }
        for link in links.iter_mut().flatten() {
            link.reset();
        }
        *begun = [false; FAULTS_MAX];
        *missed = [false; FAULTS_MAX];
        *host_faults = [(0, 0); FAULTS_MAX];
        *has_spans = super::has_spans(&faults);
        *crashed = [None; M];
        *barrier = [false; M];
        *touched = [true; M];
        *timeouts = [None; M];
        *stale = [true; M];
        *flushing = Links::EMPTY;
        *carrying = Links::EMPTY;
        *next = super::next::Next::NEW;
        *jitter = streams.get(Stream::Network);
        *garbage = streams.get(Stream::Faults);
        *now_ns = 0;
        *start_ns = None;
        *steps = 0;
        #[cfg(target_pointer_width = "64")]
        {
            *numbers = Self::numbers_do(&faults);
            for node in nodes.iter_mut() {
                node.carry_clocks_as_numbers(*numbers);
                node.hold_one_frame();
            }
        }
        *my_config = config;
        *my_faults = faults;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::format;

    use super::*;
    use crate::digest::DigestSink;

    type Small = Sim<16, 8>;

    fn config(seed: u64, rates: [u32; 3]) -> Config {
        let mut c = Config::new(seed, rates);
        c.duration_ns = 20_000_000_000;
        c
    }

    fn faults(schedule: &str) -> Faults {
        schedule.parse().expect("a valid schedule")
    }

    /// A simulator that ran with faults, so that every part of it is used.
    fn used() -> Small {
        let schedule = "garbage 0>1@3s, partition 0-2@5s..8s, crash 1@12s";
        let mut sim = Small::new(config(5, [1, 6, 6]), faults(schedule)).unwrap();
        sim.run(&mut DigestSink::new()).unwrap();
        sim
    }

    #[test]
    fn a_reset_simulator_is_a_new_one_and_runs_the_same() {
        let (c, f) = (config(42, [3, 4, 5]), faults("pause 2@4s..6s"));
        let mut fresh = Small::new(c, f.clone()).unwrap();
        let mut reused = used();
        assert_ne!(format!("{reused:?}"), format!("{fresh:?}"));
        reused.reset(c, f).unwrap();
        assert_eq!(format!("{reused:?}"), format!("{fresh:?}"));
        let (mut a, mut b) = (DigestSink::new(), DigestSink::new());
        assert_eq!(fresh.run(&mut a).unwrap(), reused.run(&mut b).unwrap());
        assert_eq!(a, b);
        assert!(a.records() > 100);
    }

    #[test]
    fn a_refused_reset_changes_nothing() {
        let mut sim = used();
        let before = format!("{sim:?}");
        let mut speed = config(1, [1, 2, 3]);
        speed.speed = 0;
        let mut sides = config(1, [1, 2, 3]);
        sides.sides = 3;
        for bad in [config(1, [1, 2, 0]), speed, sides] {
            let want = Small::new(bad, Faults::none()).err();
            assert!(want.is_some());
            assert_eq!(sim.reset(bad, Faults::none()).err(), want);
            assert_eq!(format!("{sim:?}"), before);
        }
    }
}
