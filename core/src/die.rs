//! The die: which faces send where, for a run's number of machines and
//! its topology.
//!
//! With `n` machines a die has `sides >= n + 1` faces (default `n + 7`,
//! 10 for three machines). Under [`Topology::All`]:
//!
//! | face | event |
//! | --- | --- |
//! | `k` in `1..=n-1` | send to machine `(id + k) mod n` |
//! | `n` | send to every other machine (one event, `n - 1` messages) |
//! | `n+1..=sides` | internal |
//!
//! For `n = 3` that is the exercise's rule: 1 the next machine, 2 the
//! other, 3 both. [`Topology::Ring`] sends on every send face (`1..=n`) one
//! message to the next machine; under [`Topology::Leader`] machine 0 sends
//! to every other machine on every send face and the others never send
//! (their send faces are internal events). A topology changes only which
//! faces send where: the rolls, the receive rule and the clocks are the
//! same, so the topologies compare on the same seeds.

use core::fmt;

use crate::id::{MACHINES_MAX, MACHINES_MIN};
use crate::{ConfigError, MachineId};

/// Which machines talk to which.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Topology {
    /// Every machine sends to every other (the exercise's rule for three).
    #[default]
    All,
    /// A machine sends only to the next, `(id + 1) mod n`.
    Ring,
    /// Machine 0 sends to every other machine; the others never send.
    Leader,
}

impl Topology {
    /// The topology's name on the command line and in `params.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Ring => "ring",
            Self::Leader => "leader",
        }
    }

    /// True when machine `from` may send to `to` in a run of `n` machines.
    pub const fn sends(self, from: MachineId, to: MachineId, n: u8) -> bool {
        if from.get() == to.get() || from.get() >= n || to.get() >= n {
            return false;
        }
        match self {
            Self::All => true,
            Self::Ring => from.plus(1, n).get() == to.get(),
            Self::Leader => from.get() == 0,
        }
    }

    /// Whether machine `id` has a connection to the machine `k` ahead of it,
    /// `(id + k) mod n` for `k` in `1..n`, and whether it is `id` that opens
    /// it (docs/MACHINES.md, "Connections"): the one rule of both.
    ///
    /// Two machines have a connection when one may send to the other.
    /// Under `all`, `id` dials `(id + k) mod n` for `k` in `1..=(n - 1) / 2`,
    /// and for even `n` a machine below `n / 2` also dials `id + n / 2`;
    /// under `ring` a machine dials the next; under `leader` every other
    /// machine dials machine 0. For three machines and `all`, each dials
    /// the next: today's ring of dials.
    pub const fn link(self, id: MachineId, k: u8, n: u8) -> (bool, bool) {
        if k == 0 || k >= n || id.get() >= n {
            return (false, false);
        }
        match self {
            Self::All => {
                let half = n.is_multiple_of(2) && k == n / 2 && id.get() < n / 2;
                (true, k <= (n - 1) / 2 || half)
            }
            Self::Ring => (k == 1 || k == n - 1, k == 1),
            Self::Leader => {
                let to_leader = id.plus(k, n).get() == 0;
                (id.get() == 0 || to_leader, to_leader)
            }
        }
    }

    /// How far machine `to` is ahead of `from`: `k` with `to = (from + k)
    /// mod n` (0 for the same machine).
    const fn distance(from: MachineId, to: MachineId, n: u8) -> u8 {
        if to.get() >= from.get() {
            to.get() - from.get()
        } else {
            to.get() + n - from.get()
        }
    }

    /// True when machine `from` opens the one connection between it and
    /// `to` in a run of `n` machines (see [`Topology::link`]).
    pub const fn dials(self, from: MachineId, to: MachineId, n: u8) -> bool {
        if to.get() >= n {
            return false;
        }
        self.link(from, Self::distance(from, to, n), n).1
    }

    /// True when `a` and `b` have a connection in a run of `n` machines: one
    /// of them may send to the other.
    pub const fn connects(self, a: MachineId, b: MachineId, n: u8) -> bool {
        if b.get() >= n {
            return false;
        }
        self.link(a, Self::distance(a, b, n), n).0
    }

    /// How many connections machine `id` has in a run of `n` machines: what
    /// its start barrier counts.
    pub fn links(self, id: MachineId, n: u8) -> u8 {
        MachineId::all(n)
            .filter(|&peer| self.connects(id, peer, n))
            .count() as u8
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a face of the die does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Send to this machine.
    One(MachineId),
    /// Send to every other machine, as one event.
    All,
    /// An internal event.
    Internal,
}

/// A run's die: its faces, the number of machines and the topology,
/// checked by [`Die::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Die {
    sides: u8,
    machines: u8,
    topology: Topology,
}

impl Die {
    /// The default number of faces for `n` machines: `n + 7` (10 for three).
    pub const fn default_sides(n: u8) -> u8 {
        n.saturating_add(7)
    }

    /// The die of `sides` faces for a run of `machines` machines in
    /// `topology`: `3 <= machines <= 16` and `sides >= machines + 1`.
    pub const fn new(sides: u8, machines: u8, topology: Topology) -> Result<Self, ConfigError> {
        if machines < MACHINES_MIN || machines > MACHINES_MAX {
            return Err(ConfigError::Machines(machines));
        }
        if sides <= machines {
            return Err(ConfigError::TooFewSides { sides, machines });
        }
        Ok(Self {
            sides,
            machines,
            topology,
        })
    }

    /// Today's die: three machines that talk to each other, 10 faces.
    pub const THREE: Self = Self {
        sides: 10,
        machines: 3,
        topology: Topology::All,
    };

    /// The die of three machines that talk to each other (today's), of
    /// `sides >= 4` faces.
    pub const fn three(sides: u8) -> Result<Self, ConfigError> {
        Self::new(sides, 3, Topology::All)
    }

    /// The number of faces.
    pub const fn sides(self) -> u8 {
        self.sides
    }

    /// The run's number of machines, `n`.
    pub const fn machines(self) -> u8 {
        self.machines
    }

    /// The topology.
    pub const fn topology(self) -> Topology {
        self.topology
    }

    /// What `face` (in `1..=sides`) does for machine `id`.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub const fn face(self, id: MachineId, face: u8) -> Face {
        let n = self.machines;
        if face == 0 || face > n {
            return Face::Internal;
        }
        match self.topology {
            Topology::All if face < n => Face::One(id.plus(face, n)),
            Topology::All => Face::All,
            Topology::Ring => Face::One(id.plus(1, n)),
            Topology::Leader if id.get() == 0 => Face::All,
            Topology::Leader => Face::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn id(n: u8) -> MachineId {
        MachineId::new(n, MACHINES_MAX).unwrap()
    }

    #[test]
    fn three_machines_roll_the_exercises_rule() {
        let die = Die::three(10).unwrap();
        for me in MachineId::ALL {
            let (next, other) = (id((me.get() + 1) % 3), id((me.get() + 2) % 3));
            assert_eq!(die.face(me, 1), Face::One(next));
            assert_eq!(die.face(me, 2), Face::One(other));
            assert_eq!(die.face(me, 3), Face::All);
            for face in 4..=10 {
                assert_eq!(die.face(me, face), Face::Internal);
            }
        }
        assert_eq!(Die::default_sides(3), 10);
        assert!(Die::three(4).is_ok());
    }

    /// Every face of every machine under `topology` for `n` machines.
    fn faces(n: u8, topology: Topology) -> Vec<(u8, u8, Face)> {
        let die = Die::new(Die::default_sides(n), n, topology).unwrap();
        let mut all = Vec::new();
        for me in MachineId::all(n) {
            for face in 1..=die.sides() {
                all.push((me.get(), face, die.face(me, face)));
            }
        }
        all
    }

    #[test]
    fn each_topology_maps_its_faces_for_every_n() {
        // 3 to 16 machines: 5 and 16 among them, and 3, whose rule the
        // test above also pins as the exercise's.
        for n in MACHINES_MIN..=MACHINES_MAX {
            for (me, face, got) in faces(n, Topology::All) {
                let want = match face {
                    f if f < n => Face::One(id((me + f) % n)),
                    f if f == n => Face::All,
                    _ => Face::Internal,
                };
                assert_eq!(got, want, "all n={n} id={me} face={face}");
            }
            for (me, face, got) in faces(n, Topology::Ring) {
                let want = if face <= n {
                    Face::One(id((me + 1) % n))
                } else {
                    Face::Internal
                };
                assert_eq!(got, want, "ring n={n} id={me} face={face}");
            }
            for (me, face, got) in faces(n, Topology::Leader) {
                let want = if me == 0 && face <= n {
                    Face::All
                } else {
                    Face::Internal
                };
                assert_eq!(got, want, "leader n={n} id={me} face={face}");
            }
        }
    }

    #[test]
    fn a_face_sends_only_where_the_topology_lets() {
        for n in [3, 5, 16] {
            for topology in TOPOLOGIES {
                for (me, _, face) in faces(n, topology) {
                    match face {
                        Face::One(to) => assert!(topology.sends(id(me), to, n)),
                        Face::All => {
                            assert!(
                                MachineId::all(n)
                                    .all(|to| to.get() == me || topology.sends(id(me), to, n))
                            );
                        }
                        Face::Internal => {}
                    }
                }
            }
        }
    }

    const TOPOLOGIES: [Topology; 3] = [Topology::All, Topology::Ring, Topology::Leader];

    #[test]
    fn machines_link_where_one_may_send_to_the_other() {
        for n in MACHINES_MIN..=MACHINES_MAX {
            for topology in TOPOLOGIES {
                for a in MachineId::all(n) {
                    for b in MachineId::all(n) {
                        let either = topology.sends(a, b, n) || topology.sends(b, a, n);
                        assert_eq!(
                            topology.connects(a, b, n),
                            either,
                            "{topology} n={n} {a}-{b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_connection_has_one_dialler() {
        for n in MACHINES_MIN..=MACHINES_MAX {
            for topology in TOPOLOGIES {
                for a in MachineId::all(n) {
                    for b in MachineId::all(n) {
                        let dialers =
                            u8::from(topology.dials(a, b, n)) + u8::from(topology.dials(b, a, n));
                        let want = u8::from(topology.connects(a, b, n));
                        assert_eq!(dialers, want, "{topology} n={n} {a}-{b}");
                    }
                }
            }
            // Under `all` each machine dials about half its peers.
            for a in MachineId::all(n) {
                let dials = MachineId::all(n)
                    .filter(|&b| Topology::All.dials(a, b, n))
                    .count();
                assert!(
                    (n as usize - 1) / 2 <= dials && dials <= n as usize / 2,
                    "n={n}"
                );
            }
        }
    }

    #[test]
    fn three_machines_dial_the_next_and_count_their_links() {
        for a in MachineId::ALL {
            for b in MachineId::ALL {
                let next = b.get() == (a.get() + 1) % 3;
                assert_eq!(Topology::All.dials(a, b, 3), next, "{a}->{b}");
            }
            assert_eq!(Topology::All.links(a, 3), 2);
        }
        for n in [5, 16] {
            for a in MachineId::all(n) {
                assert_eq!(Topology::All.links(a, n), n - 1);
                assert_eq!(Topology::Ring.links(a, n), 2);
                let leader = if a.get() == 0 { n - 1 } else { 1 };
                assert_eq!(Topology::Leader.links(a, n), leader);
            }
        }
    }

    #[test]
    fn bad_dice_are_refused() {
        for n in [0, 2, 17, 255] {
            assert_eq!(
                Die::new(30, n, Topology::All),
                Err(ConfigError::Machines(n))
            );
        }
        assert_eq!(
            Die::new(5, 5, Topology::Ring),
            Err(ConfigError::TooFewSides {
                sides: 5,
                machines: 5
            })
        );
        assert_eq!(
            Die::three(3),
            Err(ConfigError::TooFewSides {
                sides: 3,
                machines: 3
            })
        );
        assert!(Die::new(17, 16, Topology::Leader).is_ok());
        assert_eq!(Die::default_sides(255), 255);
    }
}
