//! The vector clock of Fidge (1988) and Mattern (1989): one counter per
//! machine, which orders two events exactly when one happened before the
//! other, and so tells concurrent events from causally ordered ones, as
//! Lamport's clock cannot.

use core::fmt;

use crate::MachineId;

/// A vector clock over a run's `n` machines (at most `M`): entry `i` counts
/// the events of machine `i` that happened before (or are) this one. Its
/// entries are `u32`: a machine's own entry counts its events, which a run
/// of a week at the fastest rate keeps far below `u32::MAX`; past it the
/// clock stops ([`VectorClock::local`]) rather than wrap.
///
/// On the wire (postcard) it is a sequence: its length `n`, then its `n`
/// entries as varints. A sequence longer than `M` does not decode.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VectorClock<const M: usize> {
    n: u8,
    entries: [u32; M],
}

/// Why a vector clock refused an event; the clock is left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorError {
    /// The machine's own entry would pass `u32::MAX`.
    Overflow,
    /// The machine is not one of the clock's `n`, or a message's vector is
    /// not of the clock's length.
    OtherLength,
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Overflow => "vector clock overflow: an entry would pass u32::MAX",
            Self::OtherLength => "a vector clock of another length, or a machine beyond it",
        })
    }
}

impl core::error::Error for VectorError {}

impl<const M: usize> VectorClock<M> {
    /// The clock of no machines, before a run gives it its `n`.
    pub const EMPTY: Self = Self {
        n: 0,
        entries: [0; M],
    };

    /// The clock at the start of a run of `n` machines: `n` zeros (`n` is
    /// cut to `M`).
    pub const fn zeros(n: u8) -> Self {
        Self {
            n: if (n as usize) < M { n } else { M as u8 },
            entries: [0; M],
        }
    }

    /// The clock of these entries (`None` beyond `M`, or beyond 255).
    pub fn from_entries(entries: &[u32]) -> Option<Self> {
        let mut clock = Self::zeros(u8::try_from(entries.len()).ok()?);
        clock
            .entries
            .get_mut(..entries.len())?
            .copy_from_slice(entries);
        Some(clock)
    }

    /// Its entries, one per machine of the run.
    pub fn entries(&self) -> &[u32] {
        self.entries.get(..usize::from(self.n)).unwrap_or_default()
    }

    /// A send or internal event of machine `me`: its own entry counts on.
    pub fn local(&mut self, me: MachineId) -> Result<(), VectorError> {
        let own = self
            .entries()
            .get(usize::from(me.get()))
            .ok_or(VectorError::OtherLength)?;
        let next = own.checked_add(1).ok_or(VectorError::Overflow)?;
        self.entries[usize::from(me.get())] = next;
        Ok(())
    }

    /// A receive by machine `me` of a message stamped `msg`: the
    /// componentwise maximum, then `me`'s own entry counts on. A message
    /// whose vector is of another length is refused.
    pub fn receive(&mut self, me: MachineId, msg: &Self) -> Result<(), VectorError> {
        if msg.n != self.n {
            return Err(VectorError::OtherLength);
        }
        let mut next = *self;
        for (mine, theirs) in next.entries.iter_mut().zip(msg.entries()) {
            *mine = (*mine).max(*theirs);
        }
        next.local(me)?;
        *self = next;
        Ok(())
    }

    /// True when every entry is at least `other`'s (and both are of one
    /// run): `other` happened before this or is it.
    pub fn dominates(&self, other: &Self) -> bool {
        self.n == other.n
            && self
                .entries()
                .iter()
                .zip(other.entries())
                .all(|(a, b)| a >= b)
    }

    /// The same clock in another capacity (`None` when its `n` passes `N`).
    pub fn resize<const N: usize>(&self) -> Option<VectorClock<N>> {
        VectorClock::from_entries(self.entries())
    }
}

impl<const M: usize> Default for VectorClock<M> {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// `[1, 0, 4]`.
impl<const M: usize> fmt::Debug for VectorClock<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

/// `1 0 4`: the entries, space-separated (the logs' `vc` column).
impl<const M: usize> fmt::Display for VectorClock<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for e in self.entries() {
            write!(f, "{sep}{e}")?;
            sep = " ";
        }
        Ok(())
    }
}

impl<const M: usize> serde::Serialize for VectorClock<M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.entries().len()))?;
        for e in self.entries() {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

impl<'de, const M: usize> serde::Deserialize<'de> for VectorClock<M> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<const M: usize>;

        impl<'de, const M: usize> serde::de::Visitor<'de> for Entries<M> {
            type Value = VectorClock<M>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a vector clock of at most {M} entries")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut clock = VectorClock::EMPTY;
                // Bounded by `M`: one more entry is an error, not a read.
                while let Some(e) = seq.next_element::<u32>()? {
                    let slot = clock
                        .entries
                        .get_mut(usize::from(clock.n))
                        .ok_or_else(|| serde::de::Error::invalid_length(M + 1, &self))?;
                    *slot = e;
                    clock.n += 1;
                }
                Ok(clock)
            }
        }

        deserializer.deserialize_seq(Entries::<M>)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, const M: usize> arbitrary::Arbitrary<'a> for VectorClock<M> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=M.min(usize::from(u8::MAX)))?;
        let mut clock = Self::EMPTY;
        for slot in clock.entries.iter_mut().take(n) {
            *slot = u.arbitrary()?;
        }
        clock.n = n as u8;
        Ok(clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn id(i: u8) -> MachineId {
        MachineId::new(i, 16).unwrap()
    }

    #[test]
    fn an_event_counts_its_own_entry_and_a_receive_takes_the_maximum_first() {
        let mut a = VectorClock::<3>::zeros(3);
        let mut b = VectorClock::<3>::zeros(3);
        a.local(id(0)).unwrap();
        a.local(id(0)).unwrap();
        b.local(id(1)).unwrap();
        assert_eq!(a.entries(), [2, 0, 0]);
        b.receive(id(1), &a).unwrap();
        assert_eq!(b.entries(), [2, 2, 0]);
        assert!(b.dominates(&a) && !a.dominates(&b));
        assert_eq!(std::format!("{b}"), "2 2 0");
    }

    #[test]
    fn a_clock_refuses_what_would_overflow_or_mismatch_and_stays_as_it_was() {
        let mut a = VectorClock::<3>::from_entries(&[u32::MAX, 1, 2]).unwrap();
        assert_eq!(a.local(id(0)), Err(VectorError::Overflow));
        assert_eq!(
            a.receive(id(0), &VectorClock::zeros(3)),
            Err(VectorError::Overflow)
        );
        assert_eq!(a.entries(), [u32::MAX, 1, 2]);
        assert_eq!(
            a.receive(id(1), &VectorClock::zeros(2)),
            Err(VectorError::OtherLength)
        );
        assert_eq!(
            a.local(id(3)),
            Err(VectorError::OtherLength),
            "an id beyond n"
        );
        assert_eq!(a.entries(), [u32::MAX, 1, 2]);
        assert_eq!(VectorClock::<3>::from_entries(&[0; 4]), None);
        assert_eq!(VectorClock::<3>::zeros(9).entries().len(), 3);
    }

    #[test]
    fn postcard_carries_the_length_then_the_entries_and_refuses_too_many() {
        let a = VectorClock::<4>::from_entries(&[1, 300, 0]).unwrap();
        let mut buf = [0u8; 32];
        let bytes = postcard::to_slice(&a, &mut buf).unwrap();
        assert_eq!(bytes, [3, 1, 0xac, 0x02, 0]);
        assert_eq!(postcard::from_bytes::<VectorClock<4>>(bytes), Ok(a));
        assert!(postcard::from_bytes::<VectorClock<2>>(bytes).is_err());
        assert_eq!(
            postcard::from_bytes::<VectorClock<16>>(bytes)
                .unwrap()
                .resize::<4>(),
            Some(a)
        );
    }

    proptest! {
        /// Happened-before is exactly domination: in random runs of three
        /// machines, a receive dominates its send, and an event dominates
        /// another exactly when a chain of own steps and messages leads
        /// from that one to it.
        #[test]
        fn domination_is_happened_before(steps in proptest::collection::vec((0u8..3, 0u8..4), 1..60)) {
            let mut clocks = [VectorClock::<3>::zeros(3); 3];
            let mut sent: Vec<(usize, VectorClock<3>)> = Vec::new();
            // Each event: its clock, and the events it happened after (by index).
            let mut events: Vec<(VectorClock<3>, Vec<usize>)> = Vec::new();
            let mut last: [Option<usize>; 3] = [None; 3];
            for (m, action) in steps {
                let mi = usize::from(m);
                let mut before: Vec<usize> = last[mi].map_or(Vec::new(), |e| {
                    let mut v = events[e].1.clone();
                    v.push(e);
                    v
                });
                if action == 0 && !sent.is_empty() {
                    let (from, msg) = sent.remove(0);
                    clocks[mi].receive(id(m), &msg).unwrap();
                    prop_assert!(clocks[mi].dominates(&msg));
                    before.extend(events[from].1.iter().copied());
                    before.push(from);
                } else {
                    clocks[mi].local(id(m)).unwrap();
                    if action == 1 {
                        sent.push((events.len(), clocks[mi]));
                    }
                }
                before.sort_unstable();
                before.dedup();
                events.push((clocks[mi], before));
                last[mi] = Some(events.len() - 1);
            }
            for (j, (vj, before)) in events.iter().enumerate() {
                for (i, (vi, _)) in events.iter().enumerate() {
                    if i != j {
                        prop_assert_eq!(vj.dominates(vi), before.contains(&i), "{} {}", i, j);
                    }
                }
            }
        }
    }
}
