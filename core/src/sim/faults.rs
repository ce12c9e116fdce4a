//! Applying a run's faults: crashes, stops, pauses, partitions, garbage.

use crate::Stamp;
use heapless::Vec;

use super::{Carried, Link, Network, Segment, Sim, link_ends, link_index};
use crate::fault::Fault;
use crate::wire::MAX_FRAME_LEN;
use crate::{MachineId, due_ns};

/// Bytes of one burst of garbage, its delimiter included.
const GARBAGE_LEN: usize = 8;

impl<const INBOX: usize, const LINK: usize, W: Network, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, W, M, C, H>
{
    /// The model time now, once the run started.
    pub(super) fn model_now(&self) -> Option<u64> {
        let start = self.start_ns?;
        let wall = self.now_ns.saturating_sub(start);
        Some(wall.saturating_mul(u64::from(self.config.speed)))
    }

    /// Each fault's time (a span's start and end) on the simulator's clock,
    /// for a run that started at `start`: worked out once at the start, not
    /// at every question about the next step.
    pub(super) fn convert_faults(&mut self, start: u64) {
        for (host, fault) in self.host_faults.iter_mut().zip(self.faults.as_slice()) {
            let until = match *fault {
                Fault::Pause { until_ns, .. } | Fault::Partition { until_ns, .. } => until_ns,
                Fault::Crash { at_ns, .. }
                | Fault::Stop { at_ns, .. }
                | Fault::Garbage { at_ns, .. } => at_ns,
            };
            *host = (
                due_ns(start, fault.at_ns(), self.config.speed),
                due_ns(start, until, self.config.speed),
            );
        }
    }

    /// The first time from `t` on at which machine `m` is not paused.
    pub(super) fn awake_at(&self, m: usize, t: u64) -> u64 {
        if !self.has_spans {
            return t;
        }
        self.after_spans(
            t,
            |fault| matches!(*fault, Fault::Pause { machine, .. } if machine.index() == m),
        )
    }

    /// When a fault due at `t` acts: a stop reaches a paused machine only
    /// when it wakes, as a SIGTERM sent to a stopped (SIGSTOPped) process
    /// is acted on once the process runs again; the rest act at once.
    pub(super) fn fault_acts_at(&self, fault: &Fault, t: u64) -> u64 {
        match *fault {
            Fault::Stop { machine, .. } => self.awake_at(machine.index(), t),
            _ => t,
        }
    }

    /// The first time from `t` on at which link `l` delivers: no partition
    /// holds it and its receiver is awake.
    pub(super) fn deliverable_at(&self, l: usize, t: u64) -> u64 {
        if !self.has_spans {
            return t;
        }
        let (from, to) = link_ends::<M>(l);
        let mut t = t;
        // Each pass can only move t later, past one more span: bounded.
        for _ in 0..=self.faults.as_slice().len() {
            let moved = self.after_spans(t, |fault| {
                matches!(*fault, Fault::Partition { a, b, .. }
                    if (a, b) == (from, to) || (a, b) == (to, from))
            });
            let moved = self.awake_at(to.index(), moved);
            if moved == t {
                break;
            }
            t = moved;
        }
        t
    }

    /// The first time from `t` on outside every span of the faults `select`
    /// picks (on the simulator's clock, see [`Sim::convert_faults`]).
    fn after_spans(&self, t: u64, select: impl Fn(&Fault) -> bool) -> u64 {
        if self.start_ns.is_none() {
            return t;
        }
        let mut t = t;
        for _ in 0..=self.faults.as_slice().len() {
            let inside = self
                .faults
                .as_slice()
                .iter()
                .zip(&self.host_faults)
                .filter(|(fault, _)| select(fault))
                .find_map(|(_, &(a, b))| (a <= t && t < b).then_some(b));
            match inside {
                Some(end) => t = end,
                None => break,
            }
        }
        t
    }

    /// Fault `k` begins now.
    pub(super) fn apply_fault(&mut self, k: usize) {
        self.begun[k] = true;
        self.next.faults_changed();
        let Some(&fault) = self.faults.as_slice().get(k) else {
            return;
        };
        // A fault names a machine of the run (the schedule's parser and
        // the host check it); one beyond is never live.
        let live = |m: MachineId| {
            m.index() < self.n()
                && self.crashed[m.index()].is_none()
                && self.nodes[m.index()].status().is_none()
        };
        let hit = match fault {
            Fault::Crash { machine, .. } => {
                // A machine that has ended is gone already: nothing to crash.
                let hit = live(machine);
                if hit {
                    self.crash(machine);
                }
                hit
            }
            Fault::Stop { machine, .. } => {
                let hit = live(machine);
                if hit {
                    self.touched[machine.index()] = true;
                    self.stale[machine.index()] = true;
                    self.nodes[machine.index()].handle_stop(self.now_ns);
                }
                hit
            }
            Fault::Garbage { from, to, .. } => {
                let n = self.n();
                from.index() < n && to.index() < n && self.inject_garbage(link_index::<M>(from, to))
            }
            // Spans act where time is chosen: see `awake_at` and `deliverable_at`.
            Fault::Pause { machine, .. } => live(machine),
            Fault::Partition { .. } => true,
        };
        self.missed[k] = !hit;
    }

    /// Machine `id` dies: what it held is lost, its connections close after
    /// the frames already on their way, and what reaches it later is lost.
    fn crash(&mut self, id: MachineId) {
        let m = id.index();
        if self.crashed[m].is_some() {
            return;
        }
        self.crashed[m] = Some(self.model_now().unwrap_or(0));
        // Its deadline and its incoming links are no longer candidates.
        self.next.node_changed(m);
        let report = self.nodes[m].report();
        for peer in self.peers(m) {
            let p = report.peers[peer.index()];
            let out = link_index::<M>(id, peer);
            // Its outbox and its waiting sends die with it.
            self.link_mut(out).lost += p.unsent;
            if self.link(out).ends.is_some() {
                self.shut(out);
            }
            // So does its inbox, and what came after its end.
            let back = link_index::<M>(peer, id);
            self.link_mut(back).lost += p.queued + p.after_end;
        }
    }

    /// Bytes that decode to no frame (a COBS code past the end, then the
    /// delimiter) go on link `l` now, behind what is already on it.
    fn inject_garbage(&mut self, l: usize) -> bool {
        if self.link(l).ends.is_none() || self.link(l).closing {
            return false; // no connection to corrupt
        }
        let mut bytes: Vec<u8, MAX_FRAME_LEN> = Vec::new();
        let draw = rand_core::Rng::next_u64(&mut self.garbage).to_le_bytes();
        // 0xFF says 254 bytes follow; fewer do, so the frame is bad COBS.
        let body = core::iter::once(0xFF).chain(draw.iter().map(|&b| b.max(1)));
        for b in body.take(GARBAGE_LEN - 1).chain(core::iter::once(0)) {
            if bytes.push(b).is_err() {
                return false;
            }
        }
        let delay = self.delay(l, Carried::Other);
        let now_ns = self.now_ns;
        let link: &mut Link<LINK> = self.link_mut(l);
        let arrive_ns = link.arrival(now_ns, delay);
        // A full link takes no garbage either: the fault then has no effect.
        let pushed = link
            .queue
            .push_back(Segment::new(arrive_ns, bytes, false))
            .is_ok();
        self.carrying.insert_if(l, pushed);
        self.next.link_changed(l);
        pushed
    }

    /// For each fault, in order: it found nothing to act on (its machine had
    /// already ended or crashed, or its link was closed or full).
    pub fn missed_faults(&self) -> &[bool] {
        self.missed
            .get(..self.faults.as_slice().len())
            .unwrap_or_default()
    }

    /// The run's machines that crashed, with the model time of the crash.
    pub fn crashed(&self) -> &[Option<u64>] {
        self.crashed.get(..self.n()).unwrap_or_default()
    }
}
