//! Ticks, sends and the stall of a machine whose outbox is full.

use super::*;
use crate::Stamp;

/// Ticks, sends and the stall.
impl<const INBOX: usize, const OUT: usize, const M: usize, const C: usize, H: Stamp>
    Node<INBOX, OUT, M, C, H>
{
    pub(super) fn ticks_left(&self) -> bool {
        self.machine.next_tick_ns() < self.config.duration_ns
    }

    /// Runs the next tick if it is due and the machine is not stalled.
    pub(super) fn run_tick(&mut self) {
        let Some(start) = self.start else { return };
        if self.pending.is_some() || !self.ticks_left() || self.stats.overflow {
            return;
        }
        let speed = self.config.speed;
        let due = due_ns(start.at_ns, self.machine.next_tick_ns(), speed);
        let now = self.now_ns;
        if now < due {
            return;
        }
        if now >= start.ticks_until_ns {
            return; // past the catch-up grace: the node ends, its ticks short
        }
        let after = self.machine.after_next_tick_ns();
        if now < due_ns(start.at_ns, after, speed) {
            self.stats.catching_up = false;
        } else if !self.stats.catching_up {
            self.stats.behind_ticks += 1;
            self.stats.max_behind = self.stats.max_behind.max(self.overdue(start, now));
        }
        let late = now - due;
        if late > start.late_ns {
            self.stats.late_ticks += 1;
        }
        self.stats.max_late_ns = self.stats.max_late_ns.max(late);
        let system_ns = start.unix_ns.saturating_add(now - start.at_ns);
        // Read through the machine's physical clock by a node whose clock
        // reads time (for Lamport's alone, not at all: folded away).
        #[cfg(target_pointer_width = "64")]
        let system_ns = if H::READS_TIME {
            self.config.skew.read(start.unix_ns, system_ns)
        } else {
            system_ns
        };
        let Ok(record) = self.machine.tick(due, system_ns, &mut self.dice) else {
            // A clock at its bound (Lamport's at u64::MAX, or a carried
            // clock's): the model cannot go on. End, and say so.
            self.stats.overflow = true;
            return self.begin_end();
        };
        if self.stats.first_tick_ns.is_none() {
            self.stats.first_tick_ns = Some(now.saturating_sub(self.created_ns));
        }
        self.stats.tally.observe(&record);
        #[cfg(target_pointer_width = "64")]
        let queue = self.records;
        #[cfg(not(target_pointer_width = "64"))]
        let queue = true;
        if queue {
            self.emit(Event::Record(record));
        }
        if let Kind::Send(sends) = record.event {
            #[cfg(target_pointer_width = "64")]
            self.send_now(sends, record.clock, record.stamp);
            #[cfg(not(target_pointer_width = "64"))]
            {
                self.pending = Some(Pending {
                    sends,
                    clock: record.clock,
                    stamp: record.stamp,
                    next: 0,
                    since_ns: now,
                });
                self.unstall();
                if self.pending.is_some() {
                    self.stats.stalls += 1;
                }
            }
        }
    }

    /// Queues a tick's sends at once; only what does not fit waits as
    /// [`Pending`], the stall. The same as storing them all as pending and
    /// calling [`Node::unstall`], without the round trip through `pending`:
    /// most sends fit. (64-bit hosts; the firmware keeps one path: flash.)
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn send_now(&mut self, sends: Sends<M>, clock: u64, stamp: H) {
        let from = self.config.id;
        for (next, (to, seq)) in sends.iter().enumerate() {
            let msg = Message {
                from,
                clock,
                seq,
                stamp,
            };
            if !self.offer(to, msg) {
                self.pending = Some(Pending {
                    sends,
                    clock,
                    stamp,
                    next,
                    since_ns: self.now_ns,
                });
                self.stats.stalls += 1;
                return;
            }
        }
        self.progress_end();
    }

    /// Whether ticks queue their records as [`Event::Record`]: on unless
    /// the host turns it off. A host that reads no record (the simulator
    /// with a sink that keeps nothing) turns it off and saves queueing and
    /// draining one event per tick; the ticks, their tallies and the report
    /// are the same. Every other event is queued as before. (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    pub fn queue_records(&mut self, on: bool) {
        self.records = on;
    }

    /// How many ticks after the next one to run were already due at `now`:
    /// how far the machine is behind its schedule, in ticks. Worked out
    /// only when it is behind at all, so an on-time tick pays no division.
    pub(super) fn overdue(&self, start: Start, now: u64) -> u64 {
        let speed = u64::from(self.config.speed.max(1));
        // Tick j is due by `now` exactly when its model time is below
        // `(now - start + 1) * speed` (`due_ns` rounds down), and exists
        // when below the duration; `ticks_in` is monotonic, so counting
        // below the lower bound gives the lower count in one call, not two.
        let wall = now.saturating_sub(start.at_ns).saturating_add(1);
        let model_ns = wall.saturating_mul(speed).min(self.config.duration_ns);
        let due = ticks_in(model_ns, self.machine.rate());
        due.saturating_sub(self.machine.ticks().saturating_add(1))
    }

    /// Queues the waiting sends while they fit; the stall ends when all did.
    /// Called after every tick and transmission, mostly with nothing
    /// waiting: on 64-bit hosts that test is inlined where it is called, so
    /// that the common case pays no call (the firmware keeps one body: flash).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    pub(super) fn unstall(&mut self) {
        if self.pending.is_some() {
            self.unstall_pending();
        }
    }

    #[cfg(not(target_pointer_width = "64"))]
    pub(super) fn unstall(&mut self) {
        self.unstall_pending();
    }

    /// [`Node::unstall`] with sends waiting.
    #[cfg_attr(not(target_pointer_width = "64"), inline(always))]
    fn unstall_pending(&mut self) {
        let Some(mut p) = self.pending else { return };
        let from = self.config.id;
        while let Some((to, seq)) = p.sends.get(p.next) {
            let msg = Message {
                from,
                clock: p.clock,
                seq,
                stamp: p.stamp,
            };
            if !self.offer(to, msg) {
                self.pending = Some(p);
                return;
            }
            p.next += 1;
        }
        self.pending = None;
        let waited = self.now_ns.saturating_sub(p.since_ns);
        if waited > 0 {
            self.stats.stalled_ns = self.stats.stalled_ns.saturating_add(waited);
            self.stats.catching_up = true;
        }
        self.progress_end();
    }

    /// Queues one message on its link; false when the outbox is full. A link
    /// that is gone or ended takes it as undeliverable.
    pub(super) fn offer(&mut self, to: MachineId, msg: Message<H>) -> bool {
        let Some(i) = self.link_index(to) else {
            return true;
        };
        let link = &mut self.links[i];
        if !link.takes_clocks() {
            link.report.undeliverable += 1;
            return true;
        }
        // A run's messages are all of its clock's kind: `Clock` frames
        // (the outbox's fast path) for Lamport's alone.
        #[cfg(target_pointer_width = "64")]
        let pushed = if H::CLOCK_FRAMES {
            link.outbox.push_clock(ClockFrame {
                from: msg.from.get(),
                clock: msg.clock,
                seq: msg.seq,
            })
        } else {
            push_frame(&mut link.outbox, msg)
        };
        // The firmware's outbox takes frames only (less flash).
        #[cfg(not(target_pointer_width = "64"))]
        let pushed = link
            .outbox
            .push(&H::frame(msg.from.get(), msg.clock, msg.seq, msg.stamp));
        if pushed.is_err() {
            return false;
        }
        link.clocks_unsent += 1;
        link.clocks_queued += 1;
        true
    }

    /// The stall ends with the run: its time is counted, and what still
    /// waited is undeliverable.
    pub(super) fn end_stall(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let waited = self.now_ns.saturating_sub(p.since_ns);
        self.stats.stalled_ns = self.stats.stalled_ns.saturating_add(waited);
        for &to in p.sends.ids().get(p.next..).unwrap_or_default() {
            if let Some(i) = self.link_index(to) {
                self.links[i].report.undeliverable += 1;
            }
        }
    }
}

/// Queues `msg` in the frame its clock carries it in: out of line, so that
/// a Lamport run's send path, inlined into the tick, stays its size.
/// (64-bit hosts.)
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn push_frame<const OUT: usize, H: Stamp>(
    outbox: &mut Outbox<OUT>,
    msg: Message<H>,
) -> Result<(), outbox::Full> {
    outbox.push(&H::frame(msg.from.get(), msg.clock, msg.seq, msg.stamp))
}
