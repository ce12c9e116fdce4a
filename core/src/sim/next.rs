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
use super::LINKS;
use super::{N, Network, Sim, Step};
#[cfg(target_pointer_width = "64")]
use crate::MachineId;

/// Kept candidates: arrivals on links `0..LINKS`, then the nodes' timeouts.
#[cfg(target_pointer_width = "64")]
const SLOTS: usize = LINKS + N;
/// The search's answer "a fault", beside the slots.
#[cfg(target_pointer_width = "64")]
const FAULT: usize = SLOTS;
/// The search's answer "nothing".
#[cfg(target_pointer_width = "64")]
const NONE: usize = SLOTS + 1;

/// Each node's incoming links, one bit each: what a change of the receiver
/// (its inbox, its connections, a crash) can change.
#[cfg(target_pointer_width = "64")]
const IN_LINKS: [u32; N] = {
    let mut masks = [0; N];
    let mut m = 0;
    while m < N {
        let me = MachineId::ALL[m];
        masks[m] = (1 << super::link_index(me.plus(1, 3), me))
            | (1 << super::link_index(me.plus(2, 3), me));
        m += 1;
    }
    masks
};

/// The kept candidates of the next-step search.
#[cfg(target_pointer_width = "64")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Next {
    /// Each slot's time, where `present` has its bit.
    at: [u64; SLOTS],
    /// Slots with a candidate, one bit each.
    present: u32,
    /// Slots to work out again before the next search, one bit each.
    dirty: u32,
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
pub(super) struct Next;

#[cfg(target_pointer_width = "64")]
impl Next {
    /// Nothing known: every slot is worked out at the first search.
    pub(super) const NEW: Self = Self {
        at: [0; SLOTS],
        present: 0,
        dirty: (1 << SLOTS) - 1,
        fault: None,
        fault_dirty: true,
        fault_none: false,
    };

    /// Link `l` changed: its head, its close or its ends.
    #[inline(always)]
    pub(super) fn link_changed(&mut self, l: usize) {
        self.dirty |= 1 << l;
    }

    /// Node `m` crashed: its deadline and its incoming links are no
    /// longer candidates. (A node called is marked `stale`, which the
    /// search turns into the same.)
    #[inline(always)]
    pub(super) fn node_changed(&mut self, m: usize) {
        self.dirty |= (1 << (LINKS + m)) | IN_LINKS[m];
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
impl Next {
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

impl<const INBOX: usize, const LINK: usize, W: Network> Sim<INBOX, LINK, W> {
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
        let mut dirty = self.next.dirty;
        for (m, in_links) in IN_LINKS.iter().enumerate() {
            if self.stale[m] {
                self.timeouts[m] = self.nodes[m].poll_timeout();
                self.stale[m] = false;
                dirty |= (1 << (LINKS + m)) | (in_links & u32::from(self.carrying));
            }
        }
        self.next.dirty = 0;
        while dirty != 0 {
            let i = dirty.trailing_zeros() as usize;
            dirty &= dirty - 1;
            let at = if i < LINKS {
                let link = &self.links[i];
                if link.queue.is_empty() && link.fin_ns.is_none() {
                    self.carrying &= !(1 << i);
                    None
                } else {
                    self.arrival_at(i)
                }
            } else {
                self.timeout_at(i - LINKS)
            };
            match at {
                Some(at) => {
                    self.next.at[i] = at;
                    self.next.present |= 1 << i;
                }
                None => self.next.present &= !(1 << i),
            }
        }
        // Faults first, then arrivals by link, then timeouts by node: in
        // that order a strict `<` keeps the first of equal times.
        let fault = self.fault_candidate();
        let (mut best_at, mut best) = match fault {
            Some((at, _)) => (at, FAULT),
            None => (u64::MAX, NONE),
        };
        let mut present = self.next.present;
        while present != 0 {
            let i = present.trailing_zeros() as usize;
            present &= present - 1;
            let at = self.next.at[i];
            if at < best_at {
                (best_at, best) = (at, i);
            }
        }
        if best == NONE && self.next.present != 0 {
            // Every candidate is at the end of time: the first.
            best = self.next.present.trailing_zeros() as usize;
        }
        let step = match best {
            NONE => return None,
            FAULT => Step::Fault(fault.map_or(0, |(_, k)| k)),
            i if i < LINKS => Step::Arrive(i),
            i => Step::Timeout(i - LINKS),
        };
        Some((best_at, step))
    }

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
        if (0..N).any(|m| self.crashed[m].is_none() && self.nodes[m].status().is_none()) {
            self.next.fault
        } else {
            // No machine is left to act on (for good): work it out again
            // should it be asked, since time moves past it from here.
            self.next.fault_dirty = true;
            None
        }
    }

    /// When node `m`'s timeout can run, if it has one: not while paused.
    fn timeout_at(&self, m: usize) -> Option<u64> {
        if self.crashed[m].is_some() {
            return None;
        }
        let t = self.timeouts[m]?;
        Some(self.awake_at(m, t.max(self.now_ns)))
    }
}

// The slots fit their masks.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(SLOTS + 2 <= 32);

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
