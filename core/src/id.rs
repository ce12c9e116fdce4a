//! Machine ids.

use core::fmt;

/// The number of machines in a run.
pub const N: usize = 3;

/// A machine's id: 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MachineId(u8);

impl MachineId {
    /// Machine 0.
    pub const ZERO: Self = Self(0);
    /// Machine 1.
    pub const ONE: Self = Self(1);
    /// Machine 2.
    pub const TWO: Self = Self(2);
    /// All ids in order.
    pub const ALL: [Self; N] = [Self::ZERO, Self::ONE, Self::TWO];

    /// The id `n`, if `n < N`.
    pub const fn new(n: u8) -> Option<Self> {
        if (n as usize) < N {
            Some(Self(n))
        } else {
            None
        }
    }

    /// The id as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The id as an array index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The next peer in the ring, `(id + 1) mod 3` (die face 1).
    pub const fn next(self) -> Self {
        Self::wrap(self.0 + 1)
    }

    /// The other peer, `(id + 2) mod 3` (die face 2).
    pub const fn other(self) -> Self {
        Self::wrap(self.0 + 2)
    }

    /// `n mod N` for `n < 2N`: a compare on 64-bit hosts, where the
    /// simulator asks at every step; the `%` on the firmware, whose flash
    /// the compare would cost.
    const fn wrap(n: u8) -> Self {
        if cfg!(target_pointer_width = "64") {
            Self(if n >= N as u8 { n - N as u8 } else { n })
        } else {
            Self(n % N as u8)
        }
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_form_the_ring() {
        for id in MachineId::ALL {
            assert_ne!(id.next(), id);
            assert_ne!(id.other(), id);
            assert_ne!(id.next(), id.other());
            assert_eq!(id.next().other(), id);
        }
        assert_eq!(MachineId::new(3), None);
        assert_eq!(MachineId::new(2), Some(MachineId::TWO));
    }
}
