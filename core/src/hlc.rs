//! The hybrid logical clock (HLC) of Kulkarni, Demirbas, Madappa, Avva and
//! Leone, "Logical Physical Clocks" (OPODIS 2014), the clock of
//! CockroachDB and MongoDB: Lamport's order, kept within the skew of the
//! physical clocks from physical time.

use core::fmt;

/// A hybrid logical clock: `l`, the largest physical time this machine has
/// heard of (its own clock's or one a message carried), and `c`, the events
/// since `l` last changed. Timestamps order by `l`, then `c` (the derived
/// `Ord`), and that order holds the clock condition: if `e` happened
/// before `f`, `e`'s timestamp is the smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc {
    l: u64,
    c: u32,
}

/// The counter `c` would pass `u32::MAX`; the clock stops rather than wrap.
/// (It counts events within one value of `l`: at most the events a machine
/// runs while another's clock is ahead of its own.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HlcOverflow;

impl fmt::Display for HlcOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HLC counter overflow: c would pass u32::MAX")
    }
}

impl core::error::Error for HlcOverflow {}

impl Hlc {
    /// A clock at `(0, 0)`: behind every physical time.
    pub const fn new() -> Self {
        Self { l: 0, c: 0 }
    }

    /// The timestamp `(l, c)`.
    pub const fn from_parts(l: u64, c: u32) -> Self {
        Self { l, c }
    }

    /// `l`: the largest physical time heard of.
    pub const fn l(self) -> u64 {
        self.l
    }

    /// `c`: the events since `l` last changed.
    pub const fn c(self) -> u32 {
        self.c
    }

    /// A send or local event at physical time `pt`: `l' = max(l, pt)`, and
    /// `c` counts on if `l` stayed, else starts at 0. Returns the new
    /// timestamp; on [`HlcOverflow`] the clock is left as it was.
    pub fn local(&mut self, pt: u64) -> Result<Self, HlcOverflow> {
        let next = if pt > self.l {
            Self { l: pt, c: 0 }
        } else {
            Self {
                l: self.l,
                c: self.c.checked_add(1).ok_or(HlcOverflow)?,
            }
        };
        *self = next;
        Ok(next)
    }

    /// A receive at physical time `pt` of a message stamped `msg`:
    /// `l' = max(l, l_m, pt)`, and `c` counts on from the larger `c` of
    /// those whose `l` is `l'` (the clock's, the message's, or both), or
    /// starts at 0 when `pt` alone is `l'`. Returns the new timestamp; on
    /// [`HlcOverflow`] the clock is left as it was.
    pub fn receive(&mut self, msg: Self, pt: u64) -> Result<Self, HlcOverflow> {
        let l = self.l.max(msg.l).max(pt);
        let next = if l == self.l || l == msg.l {
            // The larger timestamp's counter, one on: the larger `c` where
            // both `l`s are `l'`, the one whose `l` is `l'` where one is.
            let from = if msg > *self { msg } else { *self };
            Self {
                l,
                c: from.c.checked_add(1).ok_or(HlcOverflow)?,
            }
        } else {
            Self { l, c: 0 }
        };
        *self = next;
        Ok(next)
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.l, self.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The paper's receive rule, case by case (Figure 5 of Kulkarni et al.).
    fn paper_receive(j: Hlc, m: Hlc, pt: u64) -> Hlc {
        let l = j.l.max(m.l).max(pt);
        let c = if l == j.l && l == m.l {
            j.c.max(m.c) + 1
        } else if l == j.l {
            j.c + 1
        } else if l == m.l {
            m.c + 1
        } else {
            0
        };
        Hlc { l, c }
    }

    #[test]
    fn a_clock_behind_physical_time_takes_it_and_starts_counting_at_zero() {
        let mut h = Hlc::new();
        assert_eq!(h.local(100), Ok(Hlc::from_parts(100, 0)));
        assert_eq!(h.local(100), Ok(Hlc::from_parts(100, 1)));
        // Physical time fell back (or stood): l stays, c counts.
        assert_eq!(h.local(90), Ok(Hlc::from_parts(100, 2)));
        assert_eq!(h.local(101), Ok(Hlc::from_parts(101, 0)));
    }

    #[test]
    fn a_receive_follows_the_paper_in_each_case() {
        let j = Hlc::from_parts(100, 3);
        let cases = [
            (Hlc::from_parts(100, 7), 50, Hlc::from_parts(100, 8)), // both l', the larger c
            (Hlc::from_parts(100, 1), 50, Hlc::from_parts(100, 4)),
            (Hlc::from_parts(90, 9), 50, Hlc::from_parts(100, 4)), // the clock's l
            (Hlc::from_parts(120, 9), 50, Hlc::from_parts(120, 10)), // the message's l
            (Hlc::from_parts(90, 9), 130, Hlc::from_parts(130, 0)), // physical time
            (Hlc::from_parts(130, 2), 130, Hlc::from_parts(130, 3)), // the message's, tied with pt
        ];
        for (m, pt, want) in cases {
            let mut h = j;
            assert_eq!(h.receive(m, pt), Ok(want), "{m} at {pt}");
            assert_eq!(h, want);
        }
    }

    #[test]
    fn an_overflowing_counter_stops_the_clock_where_it_was() {
        let full = Hlc::from_parts(5, u32::MAX);
        let mut h = full;
        assert_eq!(h.local(5), Err(HlcOverflow));
        assert_eq!(h, full);
        assert_eq!(h.receive(Hlc::from_parts(5, 1), 4), Err(HlcOverflow));
        assert_eq!(h, full);
        let mut h = Hlc::from_parts(5, 1);
        assert_eq!(h.receive(full, 4), Err(HlcOverflow));
        assert_eq!(h, Hlc::from_parts(5, 1));
        // A new l resets the counter: no overflow.
        let mut h = full;
        assert_eq!(h.local(6), Ok(Hlc::from_parts(6, 0)));
    }

    /// A random run of `n` machines: each step an event on one machine at
    /// its own (skewed, non-decreasing) physical time, a receive taking the
    /// oldest message sent to it.
    #[derive(Debug, Clone)]
    struct Step {
        machine: usize,
        /// How far the machine's physical clock moves on.
        advance: u64,
        /// Take a message (if one waits) or send to `to`.
        receive: bool,
        to: usize,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            (0..3usize, 0..40u64, any::<bool>(), 0..3usize).prop_map(
                |(machine, advance, receive, to)| Step {
                    machine,
                    advance,
                    receive,
                    to,
                },
            ),
            1..200,
        )
    }

    proptest! {
        #[test]
        fn receives_agree_with_the_paper(
            (jl, jc, ml, mc, pt) in (0..50u64, 0..5u32, 0..50u64, 0..5u32, 0..50u64)
        ) {
            let (j, m) = (Hlc::from_parts(jl, jc), Hlc::from_parts(ml, mc));
            let mut h = j;
            prop_assert_eq!(h.receive(m, pt), Ok(paper_receive(j, m, pt)));
        }

        /// The paper's theorems on a random run: every event's timestamp
        /// rises on its machine and past the message it took (the clock
        /// condition); `l` is never behind the machine's physical time and
        /// is some machine's physical time, never ahead of the largest
        /// read so far; `c` never exceeds the events since `l` was read.
        #[test]
        fn the_clock_condition_and_the_bounds_hold(
            offsets in proptest::collection::vec(0..200u64, 3),
            steps in steps(),
        ) {
            let mut pt: Vec<u64> = offsets.clone();
            let mut clocks = [Hlc::new(); 3];
            let mut inboxes: [Vec<Hlc>; 3] = Default::default();
            let mut seen_pts = Vec::new();
            let mut events = 0u64;
            for s in steps {
                let i = s.machine;
                pt[i] += s.advance;
                seen_pts.push(pt[i]);
                let before = clocks[i];
                let after = if s.receive && !inboxes[i].is_empty() {
                    let m = inboxes[i].remove(0);
                    let after = clocks[i].receive(m, pt[i]).unwrap();
                    prop_assert!(after > m, "{} after the message {}", after, m);
                    after
                } else {
                    let after = clocks[i].local(pt[i]).unwrap();
                    if s.to != i {
                        inboxes[s.to].push(after);
                    }
                    after
                };
                events += 1;
                prop_assert!(after > before);
                prop_assert!(after.l >= pt[i]);
                prop_assert!(seen_pts.contains(&after.l), "l {} was never a physical time", after.l);
                prop_assert!(after.l <= *pt.iter().max().unwrap());
                prop_assert!(u64::from(after.c) <= events);
            }
        }
    }
}
