//! Machine ids, and the number of machines in a run.

use core::fmt;

/// The fewest machines a run has.
pub const MACHINES_MIN: u8 = 3;
/// The most machines a run has: a bit set over a machine's links is a `u16`.
pub const MACHINES_MAX: u8 = 16;

/// The number of machines of today's hosts, which build three-machine runs
/// until they take `--machines` (step 2 of docs/MACHINES.md). The core
/// itself sizes by a capacity `M` and counts a run's `n`.
pub const N: usize = 3;

/// A machine's id: below the run's number of machines `n`, which is at most
/// [`MACHINES_MAX`]. An id does not carry `n`: whoever holds the run's `n`
/// checks an id against it ([`MachineId::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MachineId(u8);

impl MachineId {
    /// Machine 0.
    pub const ZERO: Self = Self(0);
    /// Machine 1.
    pub const ONE: Self = Self(1);
    /// Machine 2.
    pub const TWO: Self = Self(2);
    /// The ids of a three-machine run in order (today's hosts').
    pub const ALL: [Self; N] = [Self::ZERO, Self::ONE, Self::TWO];

    /// The id `id` of a run of `n` machines, if `id < n` and `n` is at most
    /// [`MACHINES_MAX`].
    pub const fn new(id: u8, n: u8) -> Option<Self> {
        if id < n && n <= MACHINES_MAX {
            Some(Self(id))
        } else {
            None
        }
    }

    /// The ids of a run of `n` machines, in order (at most [`MACHINES_MAX`]).
    pub fn all(n: u8) -> impl DoubleEndedIterator<Item = Self> + Clone {
        (0..n.min(MACHINES_MAX)).map(Self)
    }

    /// The id of array index `i` (below [`MACHINES_MAX`] where it matters:
    /// the core's arrays by id are at most that long).
    pub(crate) const fn from_index(i: usize) -> Self {
        Self(if i > u8::MAX as usize {
            u8::MAX
        } else {
            i as u8
        })
    }

    /// The id as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The id as an array index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// `(id + k) mod n` in a run of `n` machines, for `k < n` (die face `k`
    /// sends there): a compare on 64-bit hosts, where the simulator asks at
    /// every step; the `%` on the firmware, whose flash the compare would
    /// cost. Both are exact for an id below `n` and `k < n`.
    pub const fn plus(self, k: u8, n: u8) -> Self {
        // id + k < 2n <= 32: no overflow.
        let sum = self.0.wrapping_add(k);
        if cfg!(target_pointer_width = "64") {
            Self(if sum >= n { sum - n } else { sum })
        } else if n == 0 {
            Self(sum)
        } else {
            Self(sum % n)
        }
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// As its number, one byte.
impl serde::Serialize for MachineId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

/// A number below [`MACHINES_MAX`]; any other is an error, never an id.
impl<'de> serde::Deserialize<'de> for MachineId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = u8::deserialize(deserializer)?;
        Self::new(id, MACHINES_MAX).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Unsigned(id.into()),
                &"a machine id below 16",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_machines_form_the_ring() {
        for id in MachineId::ALL {
            let (next, other) = (id.plus(1, 3), id.plus(2, 3));
            assert_ne!(next, id);
            assert_ne!(other, id);
            assert_ne!(next, other);
            assert_eq!(next.plus(2, 3), id);
        }
        assert_eq!(MachineId::new(3, 3), None);
        assert_eq!(MachineId::new(2, 3), Some(MachineId::TWO));
        assert_eq!(MachineId::new(15, 16).map(MachineId::get), Some(15));
        assert_eq!(MachineId::new(16, 17), None);
        assert!(MachineId::all(3).eq(MachineId::ALL));
    }

    #[test]
    fn plus_is_mod_n() {
        for n in MACHINES_MIN..=MACHINES_MAX {
            for id in MachineId::all(n) {
                for k in 0..n {
                    assert_eq!(id.plus(k, n).get(), (id.get() + k) % n, "{id}+{k} mod {n}");
                }
            }
        }
    }
}
