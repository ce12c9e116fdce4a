//! Per-machine figures tallied from the records, the same on every host.

use crate::{Event, MachineId, N, Record};

/// What one machine did, counted from its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Ticks (= events) logged.
    pub ticks: u64,
    /// Receive events.
    pub receives: u64,
    /// Send events (a send to both peers counts once).
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
    pub sent: [u64; N],
    /// Messages received from each machine, by id.
    pub received: [u64; N],
}

impl Tally {
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
            sent: [0; N],
            received: [0; N],
        }
    }

    /// Counts one record of this machine.
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub fn observe(&mut self, record: &Record) {
        self.ticks += 1;
        match &record.event {
            Event::Receive(msg) => {
                self.receives += 1;
                self.received[msg.from.index()] += 1;
            }
            Event::Send(sends) => {
                self.sends += 1;
                for (to, _) in sends.as_slice() {
                    self.sent[to.index()] += 1;
                }
            }
            Event::Internal => self.internals += 1,
        }
        self.max_queue = self.max_queue.max(record.queue_len);
        self.max_jump = self.max_jump.max(record.clock.saturating_sub(self.clock));
        self.clock = record.clock;
    }

    /// Messages sent to `to`.
    pub const fn sent_to(&self, to: MachineId) -> u64 {
        self.sent[to.index()]
    }

    /// Messages received from `from`.
    pub const fn received_from(&self, from: MachineId) -> u64 {
        self.received[from.index()]
    }
}
