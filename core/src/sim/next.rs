//! The next step, found from kept answers: each node's deadline and each
//! link's head arrival are worked out again only after a step changed what
//! they depend on, and the search is a scan of nine kept times.
//!
//! Why a kept time stays right while nothing it depends on changes: each
//! candidate's time is `f(max(t, now))`, where `t` is fixed (a deadline, an
//! arrival, a fault's time) and `f` is "the first time from here on outside
//! some spans" (the pauses and partitions, fixed once the run started; the
//! identity without them). Such an `f` gives the same answer `v` for every
//! start between `x` and `f(x) = v`, and the clock never passes a kept
//! time (the next step is the earliest of them), so `f(max(t, now))` stays
//! `v` as `now` moves on.
//!
//! On 64-bit hosts only; the firmware, whose flash the kept times' code
//! would cost, searches from scratch (`Sim::scan_step`), which is also the
//! debug builds' check of every answer found here.

#[cfg(target_pointer_width = "64")]
use super::{LINKS_MAX, Links};
use crate::Stamp;

/// The search's answer "nothing" before it finds a candidate.
#[cfg(target_pointer_width = "64")]
const NONE: Step = Step::Fault(usize::MAX);
use super::{Network, Sim, Step};

/// The kept candidates of the next-step search: arrivals by link (indexed
/// `from * M + to`), then the nodes' timeouts.
#[cfg(target_pointer_width = "64")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Next<const M: usize> {
    /// Each link's time, where `present` has it.
    at: [u64; LINKS_MAX],
    /// Each node's time, where `timed` has its bit.
    timeout_at: [u64; M],
    /// Links with a candidate.
    present: Links<M>,
    /// Nodes with a candidate, one bit each.
    timed: u32,
    /// Links to work out again before the next search.
    dirty: Links<M>,
    /// Nodes to work out again before the next search, one bit each.
    dirty_nodes: u32,
    /// The earliest fault not yet begun and its index, once the run started.
    fault: Option<(u64, usize)>,
    /// `fault` is to be worked out again.
    fault_dirty: bool,
    /// Neither a kept fault nor one to work out: the search's one test in
    /// a run without faults, or once every fault began.
    fault_none: bool,
}

/// Nothing kept on the firmware.
#[cfg(not(target_pointer_width = "64"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Next<const M: usize>;

#[cfg(target_pointer_width = "64")]
impl<const M: usize> Next<M> {
    /// Nothing known: every slot is worked out at the first search.
    pub(super) const NEW: Self = {
        let mut dirty = Links::EMPTY;
        let mut from = 0;
        while from < M {
            let mut to = 0;
            while to < M {
                if from != to {
                    dirty.insert_const(from * M + to);
                }
                to += 1;
            }
            from += 1;
        }
        assert!(M <= 32, "a node's bit must fit a u32");
        Self {
            at: [0; LINKS_MAX],
            timeout_at: [0; M],
            present: Links::EMPTY,
            timed: 0,
            dirty,
            dirty_nodes: u32::MAX >> (32 - M),
            fault: None,
            fault_dirty: true,
            fault_none: false,
        }
    };

    /// Link `l` changed: its head, its close or its ends.
    #[inline(always)]
    pub(super) fn link_changed(&mut self, l: usize) {
        self.dirty.insert(l);
    }

    /// Node `m` crashed: its deadline and its incoming links are no
    /// longer candidates. (A node called is marked `stale`, which the
    /// search turns into the same.)
    pub(super) fn node_changed(&mut self, m: usize) {
        self.dirty_nodes |= 1 << m;
        let into = Links::into(m);
        self.dirty.insert_common(&into, &into);
    }

    /// A fault began, or the run started.
    #[inline(always)]
    pub(super) fn faults_changed(&mut self) {
        self.fault_dirty = true;
        self.fault_none = false;
    }

    /// Everything may have changed (the run started).
    pub(super) fn all_changed(&mut self) {
        *self = Self::NEW;
    }
}

#[cfg(not(target_pointer_width = "64"))]
impl<const M: usize> Next<M> {
    pub(super) const NEW: Self = Self;
    #[inline(always)]
    pub(super) fn link_changed(&mut self, _: usize) {}
    #[inline(always)]
    pub(super) fn node_changed(&mut self, _: usize) {}
    #[inline(always)]
    pub(super) fn faults_changed(&mut self) {}
    #[inline(always)]
    pub(super) fn all_changed(&mut self) {}
}

impl<const INBOX: usize, const LINK: usize, W: Network, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, W, M, C, H>
{
    /// The earliest step, by the documented order.
    #[inline(always)]
    pub(super) fn next_step(&mut self) -> Option<(u64, Step)> {
        #[cfg(target_pointer_width = "64")]
        {
            let best = self.kept_step();
            debug_assert_eq!(
                best,
                self.scan_step(),
                "a kept candidate differs from the search from scratch"
            );
            best
        }
        #[cfg(not(target_pointer_width = "64"))]
        self.scan_step()
    }

    /// [`Sim::next_step`] from the kept candidates, after working out again
    /// those a step changed.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn kept_step(&mut self) -> Option<(u64, Step)> {
        // A node called since the last search: its deadline, and its
        // incoming links that carry something (an empty link has no
        // candidate whatever its receiver does).
        for m in 0..self.n() {
            if self.stale[m] {
                self.timeouts[m] = self.nodes[m].poll_timeout();
                self.stale[m] = false;
                self.next.dirty_nodes |= 1 << m;
                self.next
                    .dirty
                    .insert_common(&self.carrying, &Self::INTO[m]);
            }
        }
        while let Some(l) = self.next.dirty.pop_first() {
            let link = self.link(l);
            let at = if link.queue.is_empty() && link.fin_ns.is_none() {
                self.carrying.remove(l);
                None
            } else {
                self.arrival_at(l)
            };
            match at {
                Some(at) => {
                    self.next.at[l] = at;
                    self.next.present.insert(l);
                }
                None => self.next.present.remove(l),
            }
        }
        let mut dirty = core::mem::take(&mut self.next.dirty_nodes);
        while dirty != 0 {
            let m = dirty.trailing_zeros() as usize;
            dirty &= dirty - 1;
            match self.timeout_at(m) {
                Some(at) => {
                    self.next.timeout_at[m] = at;
                    self.next.timed |= 1 << m;
                }
                None => self.next.timed &= !(1 << m),
            }
        }
        // Faults first, then arrivals by link, then timeouts by node: in
        // that order a strict `<` keeps the first of equal times.
        let fault = self.fault_candidate();
        let (mut best_at, mut best) = match fault {
            Some((at, k)) => (at, Step::Fault(k)),
            None => (u64::MAX, NONE),
        };
        let mut present = self.next.present;
        while let Some(l) = present.pop_first() {
            let at = self.next.at[l];
            if at < best_at {
                (best_at, best) = (at, Step::Arrive(l));
            }
        }
        let mut timed = self.next.timed;
        while timed != 0 {
            let m = timed.trailing_zeros() as usize;
            timed &= timed - 1;
            let at = self.next.timeout_at[m];
            if at < best_at {
                (best_at, best) = (at, Step::Timeout(m));
            }
        }
        if best == NONE {
            // Nothing, or every candidate at the end of time: the first.
            best = match (self.next.present.first(), self.next.timed) {
                (Some(l), _) => Step::Arrive(l),
                (None, 0) => return None,
                (None, timed) => Step::Timeout(timed.trailing_zeros() as usize),
            };
        }
        Some((best_at, best))
    }

    /// Each machine's incoming links.
    #[cfg(target_pointer_width = "64")]
    const INTO: [Links<M>; M] = {
        let mut into = [Links::EMPTY; M];
        let mut to = 0;
        while to < M {
            into[to] = Links::into(to);
            to += 1;
        }
        into
    };

    /// The earliest fault not yet begun, while one can still act.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn fault_candidate(&mut self) -> Option<(u64, usize)> {
        if self.next.fault_none {
            return None; // every fault began, or there are none
        }
        self.start_ns?;
        if self.next.fault_dirty {
            self.next.fault_dirty = false;
            let mut best: Option<(u64, usize)> = None;
            for (k, fault) in self.faults.as_slice().iter().enumerate() {
                if !self.begun[k] {
                    let at = self.fault_acts_at(fault, self.host_faults[k].0.max(self.now_ns));
                    if best.is_none_or(|(b, _)| at < b) {
                        best = Some((at, k));
                    }
                }
            }
            self.next.fault = best;
            self.next.fault_none = best.is_none();
        }
        self.next.fault?;
        if (0..self.n()).any(|m| self.crashed[m].is_none() && self.nodes[m].status().is_none()) {
            self.next.fault
        } else {
            // No machine is left to act on (for good): work it out again
            // should it be asked, since time moves past it from here.
            self.next.fault_dirty = true;
            None
        }
    }

    /// When node `m`'s timeout can run, if it has one: not while paused.
    #[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))] // 64-bit paths
    fn timeout_at(&self, m: usize) -> Option<u64> {
        if self.crashed[m].is_some() {
            return None;
        }
        let t = self.timeouts[m]?;
        Some(self.awake_at(m, t.max(self.now_ns)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Sim};
    use crate::digest::DigestSink;

    /// At every step of these runs a debug build compares the kept answer
    /// with the search from scratch (the assertion in `next_step`):
    /// overlapping pauses and partitions, a stop inside a pause, crashes,
    /// garbage, jitter, full inboxes and full links, several speeds.
    #[test]
    fn the_kept_search_agrees_with_the_search_from_scratch() {
        let schedules = [
            "",
            "pause 0@2s..5s, partition 0-1@3s..9s, pause 1@4s..6s",
            "pause 2@1s..8s, stop 2@3s, partition 1-2@2s..12s",
            "crash 1@4s, garbage 2>0@2s, partition 0-2@5s..7s",
            "partition 0-1@1s..3s, partition 0-1@2s..6s, pause 0@5s..5500ms, stop 0@15s",
            "garbage 0>1@1s, garbage 1>0@1s, crash 2@6s, pause 0@6s..9s",
        ];
        for seed in 0..36u64 {
            let k = usize::try_from(seed).unwrap();
            let mut config = Config::new(seed, [1 + (seed % 6) as u32, 6, 3]);
            config.duration_ns = 20_000_000_000;
            config.jitter_ns = [0, 300_000, 5_000_000][k % 3];
            config.speed = [1, 10, 1000][(k / 3) % 3];
            let faults = schedules[k % schedules.len()].parse().unwrap();
            let mut sim = Sim::<4, 2>::new(config, faults).unwrap();
            let mut sink = DigestSink::new();
            sim.run(&mut sink).unwrap();
            assert!(sink.records() > 0, "seed {seed}");
        }
    }
}
