//! The log record: one per event, and its CSV line.

use core::fmt;

use crate::{MachineId, Message};

/// The header line of every `machine-<id>.csv`.
pub const HEADER: &str = "machine,tick,model_ns,system_ns,event,clock,queue_len,peer,msg_clock,seq";

/// One event of one machine: a line of its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a record is the event's only trace: log it and send its messages"]
pub struct Record {
    /// The machine the event happened on.
    pub machine: MachineId,
    /// The tick's index on that machine, from 0.
    pub tick: u64,
    /// The tick's scheduled model time since the run's start: `tick * 1e9 / rate`.
    pub model_ns: u64,
    /// Wall-clock Unix time in ns when the event happened, as the host gave it.
    pub system_ns: u64,
    /// The Lamport clock after the event.
    pub clock: u64,
    /// Messages left in the inbox after the event.
    pub queue_len: u32,
    /// What happened.
    pub event: Event,
}

/// What a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Took this message off the inbox and applied the receive rule.
    Receive(Message),
    /// Sent the new clock to one or both peers.
    Send(Sends),
    /// An internal event.
    Internal,
}

/// The destinations of one send event with each message's `seq`, in ascending id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sends {
    links: [(MachineId, u64); 2],
    both: bool,
}

impl Sends {
    /// A send to one peer.
    pub const fn one(to: MachineId, seq: u64) -> Self {
        Self {
            links: [(to, seq), (to, seq)],
            both: false,
        }
    }

    /// A send to both peers; the pairs are sorted by id.
    pub fn both(a: (MachineId, u64), b: (MachineId, u64)) -> Self {
        let links = if a.0 <= b.0 { [a, b] } else { [b, a] };
        Self { links, both: true }
    }

    /// Each destination with the `seq` of the message on that link.
    pub fn as_slice(&self) -> &[(MachineId, u64)] {
        if self.both {
            &self.links
        } else {
            &self.links[..1]
        }
    }
}

impl Record {
    /// The messages this event sends: destination and message.
    pub fn outgoing(&self) -> impl Iterator<Item = (MachineId, Message)> + '_ {
        let sends = match &self.event {
            Event::Send(sends) => sends.as_slice(),
            Event::Receive(_) | Event::Internal => &[],
        };
        sends.iter().map(|&(to, seq)| {
            let msg = Message {
                from: self.machine,
                clock: self.clock,
                seq,
            };
            (to, msg)
        })
    }
}

/// Writes the CSV line (without the newline) in the columns of [`HEADER`].
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.event {
            Event::Receive(_) => "receive",
            Event::Send(_) => "send",
            Event::Internal => "internal",
        };
        write!(
            f,
            "{},{},{},{},{kind},{},{},",
            self.machine, self.tick, self.model_ns, self.system_ns, self.clock, self.queue_len
        )?;
        match &self.event {
            Event::Receive(m) => write!(f, "{},{},{}", m.from, m.clock, m.seq),
            Event::Internal => f.write_str(",,"),
            Event::Send(sends) => match sends.as_slice() {
                [(a, sa), (b, sb)] => write!(f, "{a};{b},{},{sa};{sb}", self.clock),
                [(a, sa)] => write!(f, "{a},{},{sa}", self.clock),
                _ => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn record(event: Event) -> Record {
        Record {
            machine: MachineId::ZERO,
            tick: 3,
            model_ns: 500_000_000,
            system_ns: 1_700_000_000_500_000_000,
            clock: 9,
            queue_len: 2,
            event,
        }
    }

    #[test]
    fn csv_lines() {
        let rx = Event::Receive(Message {
            from: MachineId::TWO,
            clock: 8,
            seq: 4,
        });
        assert_eq!(
            record(rx).to_string(),
            "0,3,500000000,1700000000500000000,receive,9,2,2,8,4"
        );
        let one = Event::Send(Sends::one(MachineId::ONE, 0));
        assert_eq!(
            record(one).to_string(),
            "0,3,500000000,1700000000500000000,send,9,2,1,9,0"
        );
        let both = Event::Send(Sends::both((MachineId::TWO, 5), (MachineId::ONE, 7)));
        assert_eq!(
            record(both).to_string(),
            "0,3,500000000,1700000000500000000,send,9,2,1;2,9,7;5"
        );
        assert_eq!(
            record(Event::Internal).to_string(),
            "0,3,500000000,1700000000500000000,internal,9,2,,,"
        );
        assert_eq!(HEADER.split(',').count(), 10);
    }

    #[test]
    fn outgoing_carries_the_new_clock() {
        let both = record(Event::Send(Sends::both(
            (MachineId::ONE, 1),
            (MachineId::TWO, 0),
        )));
        let mut out = both.outgoing();
        let m = |seq| Message {
            from: MachineId::ZERO,
            clock: 9,
            seq,
        };
        assert_eq!(out.next(), Some((MachineId::ONE, m(1))));
        assert_eq!(out.next(), Some((MachineId::TWO, m(0))));
        assert_eq!(out.next(), None);
        assert_eq!(record(Event::Internal).outgoing().count(), 0);
    }
}
