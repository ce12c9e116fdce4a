//! What a simulated run reports: each machine's figures and end, each link's accounting.

use super::{LINKS, Network, Sim, link_ends};
use crate::balance::{Imbalance, Parts, balance};
use crate::node::{ErrorCounts, Status};
use crate::{End, MachineId, N, Tally};

/// How one machine's run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineReport {
    /// Ticks per model second.
    pub rate: u32,
    /// Counts from its records.
    pub tally: Tally,
    /// Times it stalled on a full link.
    pub stalls: u64,
    /// Model ns it spent stalled.
    pub stalled_ns: u64,
    /// Times its reading stopped because its inbox was full.
    pub held: u64,
    /// Still stalled when the run ended.
    pub stalled_at_end: bool,
    /// Messages left in its inbox at the end (0 after a crash: they are lost).
    pub inbox_left: u32,
    /// Ticks that ran after the next tick was already due.
    pub behind_ticks: u64,
    /// The most ticks ever overdue beyond the one that ran.
    pub max_behind: u64,
    /// Ticks that ran more than a tenth of a period late.
    pub late_ticks: u64,
    /// The latest a tick ran after its due time, in ns of the simulator's clock.
    pub max_late_ns: u64,
    /// Protocol errors it saw, by kind.
    pub errors: ErrorCounts,
    /// Its node's status, once the node ended.
    pub status: Option<Status>,
    /// When it crashed (a fault), in model ns.
    pub crashed_at_model_ns: Option<u64>,
}

impl MachineReport {
    /// How it ended: crashed, or its node's status; `None` if the run's
    /// events ran out before it did (a bug, never a result).
    // Worked out on demand rather than stored: the firmware, which never
    // asks, then carries no code for it within its flash budget.
    pub fn end(&self) -> Option<End> {
        match self.crashed_at_model_ns {
            Some(_) => Some(End::Crashed),
            None => self.status.map(End::from),
        }
    }
}

/// One directed link's accounting at the end:
/// `sent = received + queued + in_flight + lost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkReport {
    /// The sender.
    pub from: MachineId,
    /// The receiver.
    pub to: MachineId,
    /// Messages the sender logged as sent.
    pub sent: u64,
    /// Messages the receiver logged as received.
    pub received: u64,
    /// Messages left in the receiver's inbox at its end.
    pub queued: u64,
    /// Messages on the link, in the sender's outbox or waiting to enter it
    /// when the model ended (also those that reached the receiver after its end).
    pub in_flight: u64,
    /// Messages that will never arrive: destroyed by a crash or a broken
    /// link, or not sent because the receiver had ended.
    pub lost: u64,
}

impl LinkReport {
    /// The balance rule on this link; the simulator counts every loss
    /// where it happens, so it infers none.
    pub const fn balance(&self) -> Result<(), Imbalance> {
        balance(
            self.sent,
            &Parts {
                received: self.received,
                queued: self.queued,
                in_flight: self.in_flight,
                lost: self.lost,
                inferred: 0,
            },
        )
    }

    /// Every message is accounted for (no sum can wrap).
    pub const fn balanced(&self) -> bool {
        self.balance().is_ok()
    }
}

/// The result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Each machine, by id.
    pub machines: [MachineReport; N],
    /// Each link, in the order 0→1, 0→2, 1→0, 1→2, 2→0, 2→1.
    pub links: [LinkReport; LINKS],
}

impl<const INBOX: usize, const LINK: usize, W: Network> Sim<INBOX, LINK, W> {
    /// The accounting as it stands.
    pub fn report(&self) -> Report {
        let nodes = self.nodes.each_ref().map(|n| n.report());
        let crashed = *self.crashed();
        let machines = MachineId::ALL.map(|id| {
            let r = &nodes[id.index()];
            MachineReport {
                rate: self.config.rates[id.index()],
                tally: r.tally,
                stalls: r.stalls,
                stalled_ns: r.stalled_model_ns,
                held: r.holds,
                stalled_at_end: r.stalled_at_end,
                inbox_left: if crashed[id.index()].is_some() {
                    0
                } else {
                    r.inbox_left
                },
                behind_ticks: r.behind_ticks,
                max_behind: r.max_behind,
                late_ticks: r.late_ticks,
                max_late_ns: r.max_late_ns,
                errors: r.errors,
                status: r.status,
                crashed_at_model_ns: crashed[id.index()],
            }
        });
        let links = core::array::from_fn(|l| {
            let (from, to) = link_ends(l);
            let s = nodes[from.index()].peers[to.index()];
            let r = nodes[to.index()].peers[from.index()];
            let link = self.link(l);
            // What reached the receiver after its end was in flight when
            // the model ended; a crash destroyed both.
            let (queued, after_end) = match crashed[to.index()] {
                Some(_) => (0, 0),
                None => (r.queued, r.after_end),
            };
            let unsent = match crashed[from.index()] {
                Some(_) => 0,
                None => s.unsent,
            };
            LinkReport {
                from,
                to,
                sent: s.sent,
                received: r.received,
                queued,
                in_flight: link.clocks() + unsent + after_end,
                lost: link.lost + s.undeliverable + r.dropped,
            }
        });
        Report { machines, links }
    }
}
