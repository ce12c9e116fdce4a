//! Per-machine figures tallied from the records, the same on every host.

use crate::{Event, MachineId, Record};

/// What one machine did, counted from its records, in a run of at most `M`
/// machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally<const M: usize = 3> {
    /// Ticks (= events) logged.
    pub ticks: u64,
    /// Receive events.
    pub receives: u64,
    /// Send events (a send to several peers counts once).
    pub sends: u64,
    /// Internal events.
    pub internals: u64,
    /// The longest inbox seen after an event.
    pub max_queue: u32,
    /// The clock after the last event.
    pub clock: u64,
    /// The largest change of the clock in one event.
    pub max_jump: u64,
    /// Messages sent to each machine, by id.
    #[serde(with = "crate::arrays")]
    pub sent: [u64; M],
    /// Messages received from each machine, by id.
    #[serde(with = "crate::arrays")]
    pub received: [u64; M],
}

impl<const M: usize> Default for Tally<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const M: usize> Tally<M> {
    /// A tally of nothing.
    pub const fn new() -> Self {
        Self {
            ticks: 0,
            receives: 0,
            sends: 0,
            internals: 0,
            max_queue: 0,
            clock: 0,
            max_jump: 0,
            sent: [0; M],
            received: [0; M],
        }
    }

    /// Counts one record of this machine.
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub fn observe<H>(&mut self, record: &Record<M, H>) {
        self.ticks += 1;
        match &record.event {
            Event::Receive(msg) => {
                self.receives += 1;
                if let Some(n) = self.received.get_mut(msg.from.index()) {
                    *n += 1;
                }
            }
            Event::Send(sends) => {
                self.sends += 1;
                for to in sends.ids() {
                    if let Some(n) = self.sent.get_mut(to.index()) {
                        *n += 1;
                    }
                }
            }
            Event::Internal => self.internals += 1,
        }
        self.max_queue = self.max_queue.max(record.queue_len);
        self.max_jump = self.max_jump.max(record.clock.saturating_sub(self.clock));
        self.clock = record.clock;
    }

    /// Messages sent to `to` (0 for an id beyond `M`).
    pub const fn sent_to(&self, to: MachineId) -> u64 {
        if to.index() < M {
            self.sent[to.index()]
        } else {
            0
        }
    }

    /// Messages received from `from` (0 for an id beyond `M`).
    pub const fn received_from(&self, from: MachineId) -> u64 {
        if from.index() < M {
            self.received[from.index()]
        } else {
            0
        }
    }
}
