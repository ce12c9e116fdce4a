//! Re-initialising a node in place, for hosts that cannot afford a second
//! node on the stack (the firmware keeps its simulator in a static).

use crate::Stamp;
use rand_core::SeedableRng;

use super::{CONNS_MAX, Config, Conn, Keyed, Node, Phase, Plan, Stats};
use crate::rng::{self, ModelRng, Stream};
use crate::{ConfigError, Machine};

impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    /// Why [`Node::new`] would refuse `config`, if it would: besides the
    /// machine's reasons, its links and a stranger must fit in the `C`
    /// connection slots.
    pub(crate) fn check(config: &Config) -> Result<(), ConfigError> {
        if config.speed == 0 {
            return Err(ConfigError::ZeroSpeed);
        }
        Machine::<INBOX, M>::check(config.id, config.rate, config.die()?)?;
        let links = usize::from(Plan::<M>::new(config).links);
        if C > CONNS_MAX || links + 1 > C {
            return Err(ConfigError::Conns {
                links: links as u8,
                slots: C.min(usize::from(u8::MAX)) as u8,
            });
        }
        Ok(())
    }

    /// Makes this node what [`Node::new`]`(config, now_ns)` would, in place:
    /// field by field, so that no second node is built on the stack. On an
    /// error nothing changed.
    pub fn reset(&mut self, config: Config, now_ns: u64) -> Result<(), ConfigError> {
        let dice = rng::stream(config.seed, config.machines, Stream::Machine(config.id));
        self.reset_with_dice(config, now_ns, dice)
    }

    /// [`Node::reset`] with the machine's die stream already made (`dice`
    /// must be `config`'s, as [`crate::rng::Streams`] gives it): a host that
    /// resets many nodes (the swarm) spares the jumps that make it.
    pub fn reset_with_dice(
        &mut self,
        config: Config,
        now_ns: u64,
        dice: ModelRng,
    ) -> Result<(), ConfigError> {
        Self::check(&config)?;
        // Every field by name: a new one does not compile until it is reset
        // here as `new` sets it (the tests compare the two).
        let Self {
            config: my_config,
            keyed,
            machine,
            dice: my_dice,
            nonce,
            phase,
            start,
            conns,
            #[cfg(target_pointer_width = "64")]
            deadlines,
            #[cfg(target_pointer_width = "64")]
            handshake_out,
            #[cfg(target_pointer_width = "64")]
            records,
            links,
            plan,
            pending,
            events,
            created_ns,
            setup_deadline_ns,
            retry_at_ns,
            now_ns: my_now_ns,
            stats,
        } = self;
        machine.reset(config.id, config.rate, config.die()?)?;
        *keyed = Keyed::new(&config.key);
        *my_dice = dice;
        *nonce = ModelRng::seed_from_u64(config.nonce);
        *phase = Phase::SetUp;
        *start = None;
        for conn in conns.iter_mut() {
            *conn = Conn::FREE;
        }
        #[cfg(target_pointer_width = "64")]
        {
            *deadlines = 0;
            *handshake_out = 0;
            *records = true;
        }
        for link in links.iter_mut() {
            link.reset();
            // Off, as `new` makes it (a link's own reset, at set-up, keeps it).
            #[cfg(target_pointer_width = "64")]
            {
                link.outbox.carry_clocks_as_numbers(false);
                link.outbox.set_limit(usize::MAX);
            }
        }
        *plan = Plan::new(&config);
        *pending = None;
        events.clear();
        *created_ns = now_ns;
        *setup_deadline_ns = now_ns.saturating_add(config.timeouts.setup_ns);
        *retry_at_ns = Some(now_ns);
        *my_now_ns = now_ns;
        *stats = Stats::default();
        *my_config = config;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::format;

    use super::*;
    use crate::MachineId;
    use crate::node::{Key, Timeouts};

    type Small = Node<4, 128>;

    fn config(id: MachineId, rate: u32) -> Config {
        Config {
            id,
            rate,
            sides: 6,
            machines: 3,
            topology: crate::Topology::All,
            seed: 9,
            speed: 2,
            duration_ns: 1_000_000_000,
            key: Key([3; 32]),
            nonce: 77,
            timeouts: Timeouts::DEFAULT,
            skew: crate::ClockSkew::NONE,
        }
    }

    #[test]
    fn a_reset_node_is_a_new_one() {
        let mut node = Small::new(config(MachineId::ONE, 2), 5).unwrap();
        // Dial, take a stranger, feed it garbage: slots, events and counts move.
        node.handle_timeout(5);
        let stranger = node.handle_accepted(6).unwrap();
        let _ = node.handle_bytes(stranger, &[0xFF, 1, 2, 0], 7);
        assert!(node.poll_event().is_some());
        let fresh = Small::new(config(MachineId::TWO, 3), 11).unwrap();
        assert_ne!(format!("{node:?}"), format!("{fresh:?}"));
        node.reset(config(MachineId::TWO, 3), 11).unwrap();
        assert_eq!(format!("{node:?}"), format!("{fresh:?}"));
        assert_eq!(node.poll_event(), None);
    }

    #[test]
    fn a_refused_reset_changes_nothing() {
        let mut node = Small::new(config(MachineId::ONE, 2), 5).unwrap();
        node.handle_timeout(5);
        let before = format!("{node:?}");
        let mut speed = config(MachineId::ZERO, 1);
        speed.speed = 0;
        let mut sides = config(MachineId::ZERO, 1);
        sides.sides = 2;
        for bad in [config(MachineId::ZERO, 0), speed, sides] {
            let want = Small::new(bad.clone(), 0).err();
            assert!(want.is_some());
            assert_eq!(node.reset(bad, 0).err(), want);
            assert_eq!(format!("{node:?}"), before);
        }
    }

    #[test]
    fn a_node_built_from_checked_parameters_is_a_new_one() {
        let fresh = Small::new(config(MachineId::TWO, 3), 11).unwrap();
        let checked = Small::checked(config(MachineId::TWO, 3)).unwrap();
        let built = Small::from_checked(checked, 11);
        assert_eq!(format!("{built:?}"), format!("{fresh:?}"));
        let mut speed = config(MachineId::ZERO, 1);
        speed.speed = 0;
        for bad in [config(MachineId::ZERO, 0), speed] {
            assert_eq!(Small::checked(bad.clone()).err(), Small::new(bad, 0).err());
        }
    }
}
