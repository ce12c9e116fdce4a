//! A log line as a row: the event kinds, one machine's rows, and the rows a
//! simulated run would write.

use scalemodel_core::{Event, N, Record};

/// The kind of event on a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `send`.
    Send,
    /// `receive`.
    Receive,
    /// `internal`.
    Internal,
}

/// Keeps every record of a simulated run as the row it would be written
/// as, per machine: the checker's input without the files.
#[derive(Debug, Default)]
pub struct Rows(pub [Vec<Row>; N]);

impl scalemodel_core::sim::Sink for Rows {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let rows = &mut self.0[record.machine.index()];
        // Line 1 is the header.
        let line = rows.len() + 2;
        rows.push(Row::from_record(record, line));
        Ok(())
    }
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The 1-based line in the file (the header is line 1).
    pub line: usize,
    /// `machine`.
    pub machine: u8,
    /// `tick`.
    pub tick: u64,
    /// `model_ns`.
    pub model_ns: u64,
    /// `system_ns`.
    pub system_ns: u64,
    /// `event`.
    pub kind: Kind,
    /// `clock`.
    pub clock: u64,
    /// `queue_len`.
    pub queue_len: u64,
    /// `peer`: the sender of a receive, the destinations of a send.
    pub peers: Vec<u8>,
    /// `msg_clock`.
    pub msg_clock: Option<u64>,
    /// `seq`, one per peer.
    pub seqs: Vec<u64>,
}

impl Row {
    /// The row a record is written as; `line` counts the header.
    pub fn from_record(record: &Record, line: usize) -> Self {
        let (kind, peers, msg_clock, seqs) = match &record.event {
            Event::Receive(m) => (
                Kind::Receive,
                vec![m.from.get()],
                Some(m.clock),
                vec![m.seq],
            ),
            Event::Send(s) => (
                Kind::Send,
                s.as_slice().iter().map(|(to, _)| to.get()).collect(),
                Some(record.clock),
                s.as_slice().iter().map(|&(_, seq)| seq).collect(),
            ),
            Event::Internal => (Kind::Internal, vec![], None, vec![]),
        };
        Self {
            line,
            machine: record.machine.get(),
            tick: record.tick,
            model_ns: record.model_ns,
            system_ns: record.system_ns,
            kind,
            clock: record.clock,
            queue_len: u64::from(record.queue_len),
            peers,
            msg_clock,
            seqs,
        }
    }
}
