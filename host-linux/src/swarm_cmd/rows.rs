//! A swarm worker's log rows, kept from case to case.
//!
//! A case's records become [`Row`]s for the checker. Built anew, each send
//! or receive row allocates its `peers` and `seqs` and each case frees them
//! all again: a tenth of a case's time. Here a finished case's rows go to a
//! spare pile and the next case's records are written into them in place,
//! so that after the first few cases a worker allocates nothing per row.

use scalemodel_core::sim::Sink;
use scalemodel_core::{Event, N, Record};

use crate::rundir::{Kind, Row};

/// Each machine's rows of the current case, and the spare rows.
#[derive(Debug, Default)]
pub struct CaseRows {
    /// The current case's rows, by machine, as [`crate::rundir::Rows`] holds them.
    pub logs: [Vec<Row>; N],
    /// Rows of earlier cases, to be written over.
    spare: Vec<Row>,
}

impl CaseRows {
    /// Empties the logs for the next case, keeping their rows' buffers.
    pub fn clear(&mut self) {
        for log in &mut self.logs {
            self.spare.append(log);
        }
    }
}

impl Sink for CaseRows {
    type Error = std::convert::Infallible;

    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let rows = &mut self.logs[record.machine.index()];
        // Line 1 is the header.
        let line = rows.len() + 2;
        let row = match self.spare.pop() {
            Some(mut row) => {
                refill(&mut row, record, line);
                row
            }
            None => Row::from_record(record, line),
        };
        debug_assert_eq!(row, Row::from_record(record, line));
        rows.push(row);
        Ok(())
    }
}

/// Writes `record` into `row` as [`Row::from_record`] makes it, in the
/// buffers `row` already has.
fn refill(row: &mut Row, record: &Record, line: usize) {
    row.line = line;
    row.machine = record.machine.get();
    row.tick = record.tick;
    row.model_ns = record.model_ns;
    row.system_ns = record.system_ns;
    row.clock = record.clock;
    row.queue_len = u64::from(record.queue_len);
    row.peers.clear();
    row.seqs.clear();
    match &record.event {
        Event::Receive(m) => {
            row.kind = Kind::Receive;
            row.peers.push(m.from.get());
            row.msg_clock = Some(m.clock);
            row.seqs.push(m.seq);
        }
        Event::Send(s) => {
            row.kind = Kind::Send;
            row.peers
                .extend(s.as_slice().iter().map(|(to, _)| to.get()));
            row.msg_clock = Some(record.clock);
            row.seqs.extend(s.as_slice().iter().map(|&(_, seq)| seq));
        }
        Event::Internal => {
            row.kind = Kind::Internal;
            row.msg_clock = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_core::sim::{Config, Sim};

    /// Rows written over spare ones equal fresh ones, case after case.
    #[test]
    fn reused_rows_equal_fresh_rows() {
        let mut rows = CaseRows::default();
        for seed in 0..6 {
            let mut config = Config::new(seed, [3, 5, 2]);
            config.duration_ns = 4_000_000_000;
            let faults = scalemodel_core::fault::Faults::none();
            let mut fresh = crate::rundir::Rows::default();
            Sim::<16, 8>::new(config, faults.clone())
                .unwrap()
                .run(&mut fresh)
                .unwrap();
            rows.clear();
            Sim::<16, 8>::new(config, faults)
                .unwrap()
                .run(&mut rows)
                .unwrap();
            assert_eq!(rows.logs, fresh.0, "seed {seed}");
            if seed > 0 {
                assert!(rows.logs.iter().any(|l| !l.is_empty()));
            }
        }
        rows.clear();
        assert!(rows.logs.iter().all(Vec::is_empty) && !rows.spare.is_empty());
    }
}
