//! A swarm worker's log rows, kept from case to case.
//!
//! A case's records become [`Row`]s for the checker. Built anew, each send
//! or receive row allocates its `peers` and `seqs` and each case frees them
//! all again: a tenth of a case's time. Here a finished case's rows go to a
//! spare pile and the next case's records are written into them in place,
//! so that after the first few cases a worker allocates nothing per row.

use scalemodel_core::sim::Sink;
use scalemodel_core::{N, Record};

use crate::rundir::Row;

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
                row.fill(record, line);
                row
            }
            None => Row::from_record(record, line),
        };
        rows.push(row);
        Ok(())
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
