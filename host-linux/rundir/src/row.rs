//! A log line as a row: the event kinds, one machine's rows, and the rows a
//! simulated run would write.

use scalemodel_core::{Event, Hlc, Record, Stamp};

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

/// A row's vector clock columns: its own vector, and its message's (none
/// for an internal event).
pub type Vectors = (Vec<u32>, Option<Vec<u32>>);

/// Keeps every record of a simulated run as the row it would be written
/// as, per machine by id (a log for each id up to the highest that
/// recorded): the checker's input without the files.
#[derive(Debug, Default)]
pub struct Rows(pub Vec<Vec<Row>>);

impl<const M: usize, H: Stamp> scalemodel_core::sim::Sink<M, H> for Rows {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error> {
        let id = record.machine.index();
        if self.0.len() <= id {
            self.0.resize_with(id + 1, Vec::new);
        }
        let rows = &mut self.0[id];
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
    /// `hlc_l,hlc_c` and `msg_hlc_l,msg_hlc_c` (the latter empty for an
    /// internal event), in a run that carried an HLC (`--clock hlc`).
    pub hlc: Option<(Hlc, Option<Hlc>)>,
    /// `vc` and `msg_vc`, each a vector clock's entries (the latter
    /// empty for an internal event), in a run that carried one (`--clock
    /// vector`).
    pub vc: Option<Vectors>,
}

impl Row {
    /// The row a record is written as; `line` counts the header.
    pub fn from_record<const M: usize, H: Stamp>(record: &Record<M, H>, line: usize) -> Self {
        let mut row = Self {
            line,
            machine: 0,
            tick: 0,
            model_ns: 0,
            system_ns: 0,
            kind: Kind::Internal,
            clock: 0,
            queue_len: 0,
            peers: Vec::new(),
            msg_clock: None,
            seqs: Vec::new(),
            hlc: None,
            vc: None,
        };
        row.fill(record, line);
        row
    }

    /// Makes this row the one `record` is written as, in the buffers it
    /// already has (a reader of many runs reuses its rows).
    pub fn fill<const M: usize, H: Stamp>(&mut self, record: &Record<M, H>, line: usize) {
        self.line = line;
        self.machine = record.machine.get();
        self.tick = record.tick;
        self.model_ns = record.model_ns;
        self.system_ns = record.system_ns;
        self.clock = record.clock;
        self.queue_len = u64::from(record.queue_len);
        self.peers.clear();
        self.seqs.clear();
        match &record.event {
            Event::Receive(m) => {
                self.kind = Kind::Receive;
                self.peers.push(m.from.get());
                self.msg_clock = Some(m.clock);
                self.seqs.push(m.seq);
            }
            Event::Send(s) => {
                self.kind = Kind::Send;
                self.peers.extend(s.ids().iter().map(|to| to.get()));
                self.msg_clock = Some(record.clock);
                self.seqs.extend_from_slice(s.seqs());
            }
            Event::Internal => {
                self.kind = Kind::Internal;
                self.msg_clock = None;
            }
        }
        // The HLC columns, as the log writes them.
        self.hlc = record
            .stamp
            .as_hlc()
            .map(|own| (own, record.message_stamp().and_then(Stamp::as_hlc)));
        // The vector clock's, likewise.
        self.vc = record.stamp.as_vector().map(|own| {
            let msg = record.message_stamp();
            let msg = msg.as_ref().and_then(Stamp::as_vector).map(<[u32]>::to_vec);
            (own.to_vec(), msg)
        });
    }
}
