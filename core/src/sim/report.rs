//! What a simulated run reports: each machine's figures and end, each link's accounting.

use super::{Network, Sim};
use crate::Stamp;
use crate::balance::{Imbalance, Parts, balance};
use crate::node::{ErrorCounts, Status};
use crate::{End, MachineId, Tally};

/// How one machine's run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineReport<const M: usize = 3> {
    /// Ticks per model second.
    pub rate: u32,
    /// Counts from its records.
    pub tally: Tally<M>,
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

impl<const M: usize> MachineReport<M> {
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

/// The result of a run of `n` machines, in a simulator of at most `M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report<const M: usize = 3> {
    /// The run's number of machines `n`.
    n: u8,
    /// Each machine, by id; those from `n` on were never called.
    machines: [MachineReport<M>; M],
    /// Link `from → to` at `[from][to]`.
    links: [[LinkReport; M]; M],
}

impl<const M: usize> Report<M> {
    /// The run's machines, by id.
    pub fn machines(&self) -> &[MachineReport<M>] {
        self.machines.get(..usize::from(self.n)).unwrap_or_default()
    }

    /// The run's `n (n - 1)` links, in the tie-break order: 0→1, 0→2, …,
    /// 1→0, 1→2, …
    pub fn links(&self) -> impl Iterator<Item = &LinkReport> + Clone {
        let n = usize::from(self.n);
        self.links
            .iter()
            .take(n)
            .flat_map(move |row| row.iter().take(n))
            .filter(|l| l.from != l.to)
    }

    /// Link `from → to`, if both are machines of the run.
    pub fn link(&self, from: MachineId, to: MachineId) -> Option<&LinkReport> {
        let n = usize::from(self.n);
        (from != to && from.index() < n && to.index() < n)
            .then(|| self.links.get(from.index())?.get(to.index()))
            .flatten()
    }
}

impl<const INBOX: usize, const LINK: usize, W: Network, const M: usize, const C: usize, H: Stamp>
    Sim<INBOX, LINK, W, M, C, H>
{
    /// The accounting as it stands.
    pub fn report(&self) -> Report<M> {
        let nodes = self.nodes.each_ref().map(|n| n.report());
        let crashed = self.crashed;
        let machines = core::array::from_fn(|m| {
            let r = &nodes[m];
            MachineReport {
                rate: self.config.rates[m],
                tally: r.tally,
                stalls: r.stalls,
                stalled_ns: r.stalled_model_ns,
                held: r.holds,
                stalled_at_end: r.stalled_at_end,
                inbox_left: if crashed[m].is_some() {
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
                crashed_at_model_ns: crashed[m],
            }
        });
        let links = core::array::from_fn(|f| {
            core::array::from_fn(|t| {
                let (from, to) = (MachineId::from_index(f), MachineId::from_index(t));
                let s = nodes[f].peers[t];
                let r = nodes[t].peers[f];
                let link = &self.links[f][t];
                // What reached the receiver after its end was in flight when
                // the model ended; a crash destroyed both.
                let (queued, after_end) = match crashed[t] {
                    Some(_) => (0, 0),
                    None => (r.queued, r.after_end),
                };
                let unsent = match crashed[f] {
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
            })
        });
        Report {
            n: self.config.machines,
            machines,
            links,
        }
    }
}
