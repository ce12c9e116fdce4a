//! The input of the `machine_ops` target, shared with the seed generator
//! (`examples/seed_corpus.rs`) so that its seeds parse as intended.

use arbitrary::Arbitrary;

/// A machine's parameters and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct Input {
    /// The machine's id; inputs with an id above 2 are skipped.
    pub id: u8,
    /// Ticks per second; 0 is refused and the input skipped.
    pub rate: u32,
    /// Faces of the die; fewer than 4 are refused and the input skipped.
    pub sides: u8,
    /// What happens, in order.
    pub ops: Vec<Op>,
}

/// One call on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Op {
    /// A message from machine `from % 3` arrives at `at_ns`.
    Deliver {
        /// The sender, modulo 3.
        from: u8,
        /// The clock it carries.
        clock: u64,
        /// Its number on its link.
        seq: u64,
        /// When it arrived, on the host's clock.
        at_ns: u64,
    },
    /// A tick due at `due_ns`, run at `system_ns`; if the die is rolled, its
    /// draw is `draw`.
    Tick {
        /// When the tick was due, on the host's clock.
        due_ns: u64,
        /// The wall-clock time handed in.
        system_ns: u64,
        /// The 64-bit word the die roll draws.
        draw: u64,
    },
}
