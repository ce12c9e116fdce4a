//! A swarm worker's log rows, kept from case to case.
//!
//! A case's records become [`Row`]s for the checker. Built anew, each send
//! or receive row allocates its `peers` and `seqs` and each case frees them
//! all again: a tenth of a case's time. Here each machine's rows stay where
//! they are from case to case: the next case's records are written over
//! them in place, and only the first `len` of them are the current case's.
//! After the first few cases a worker allocates nothing per row, and no row
//! is moved (moving them to a spare pile and back was 3 % of a case).

use scalemodel_core::sim::Sink;
use scalemodel_core::{N, Record};

use crate::rundir::Row;

/// Each machine's rows of the current case, then rows of earlier cases.
#[derive(Debug, Default)]
pub struct CaseRows {
    /// By machine: the current case's rows, then spare ones to be written over.
    rows: [Vec<Row>; N],
    /// By machine: how many of `rows` are the current case's.
    len: [usize; N],
}

impl CaseRows {
    /// Empties the logs for the next case, keeping their rows' buffers.
    pub fn clear(&mut self) {
        self.len = [0; N];
    }

    /// The current case's rows, by machine, as [`crate::rundir::Rows`] holds them.
    pub fn logs(&self) -> [&[Row]; N] {
        let mut i = 0;
        self.rows.each_ref().map(|rows| {
            let log = &rows[..self.len[i]];
            i += 1;
            log
        })
    }
}

impl Sink for CaseRows {
    type Error = std::convert::Infallible;

    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let m = record.machine.index();
        let (rows, len) = (&mut self.rows[m], &mut self.len[m]);
        // Line 1 is the header.
        let line = *len + 2;
        match rows.get_mut(*len) {
            Some(row) => row.fill(record, line),
            None => rows.push(Row::from_record(record, line)),
        }
        *len += 1;
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
            assert_eq!(
                rows.logs().to_vec(),
                fresh.0.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                "seed {seed}"
            );
            if seed > 0 {
                assert!(rows.logs().iter().any(|l| !l.is_empty()));
            }
        }
        rows.clear();
        assert!(rows.logs().iter().all(|l| l.is_empty()));
        assert!(rows.rows.iter().any(|r| !r.is_empty()));
    }
}
