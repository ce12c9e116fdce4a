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
use scalemodel_core::{MACHINES_MAX, Record};

use crate::rundir::Row;

/// Each machine's rows of the current case, then rows of earlier cases.
#[derive(Debug)]
pub struct CaseRows {
    /// By machine: the current case's rows, then spare ones to be written over.
    rows: [Vec<Row>; MACHINES_MAX as usize],
    /// By machine: how many of `rows` are the current case's.
    len: [usize; MACHINES_MAX as usize],
    /// Machines of the current case.
    machines: usize,
}

impl Default for CaseRows {
    fn default() -> Self {
        Self {
            rows: Default::default(),
            len: [0; MACHINES_MAX as usize],
            machines: 0,
        }
    }
}

impl CaseRows {
    /// Empties the logs for the next case, of `machines` machines, keeping
    /// their rows' buffers.
    pub fn clear(&mut self, machines: u8) {
        self.len = [0; MACHINES_MAX as usize];
        self.machines = usize::from(machines.min(MACHINES_MAX));
    }

    /// The current case's rows, by machine, as [`crate::rundir::Rows`] holds them.
    pub fn logs(&self) -> Vec<&[Row]> {
        (self.rows.iter().zip(self.len))
            .take(self.machines)
            .map(|(rows, len)| rows.get(..len).unwrap_or_default())
            .collect()
    }
}

impl<const M: usize, H: scalemodel_core::Stamp> Sink<M, H> for CaseRows {
    type Error = std::convert::Infallible;

    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error> {
        // An id is below `MACHINES_MAX`; a higher one would widen the case.
        let m = record.machine.index().min(MACHINES_MAX as usize - 1);
        self.machines = self.machines.max(m + 1);
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
            rows.clear(3);
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
        rows.clear(3);
        assert!(rows.logs().iter().all(|l| l.is_empty()));
        assert!(rows.rows.iter().any(|r| !r.is_empty()));
    }
}
