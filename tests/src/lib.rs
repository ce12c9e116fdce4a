//! Helpers shared by scalemodel's cross-crate tests.

use scalemodel::check::Row;
use scalemodel::rundir::Params;
use scalemodel_core::sim::{Config, Report, Sim, Sink};
use scalemodel_core::{N, Record};

/// Keeps every record as the row it would be written as, per machine.
#[derive(Debug, Default)]
pub struct Rows(pub [Vec<Row>; N]);

impl Sink for Rows {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let rows = &mut self.0[record.machine.index()];
        // Line 1 is the header.
        let line = rows.len() + 2;
        rows.push(Row::from_record(record, line));
        Ok(())
    }
}

/// Runs the simulator in memory with inboxes of `I` and links of `L`
/// messages; returns the params a `sim` run would write and the rows.
pub fn simulate<const I: usize, const L: usize>(config: Config) -> (Params, Rows, Report) {
    let mut sim = Sim::<I, L>::new(config).expect("a valid config");
    let mut rows = Rows::default();
    let report = sim.run(&mut rows).expect("no clock overflow");
    let mut params = Params::sim(&config, None, config.duration_ns as f64 / 1e9, I, L);
    params.summarise(&report);
    (params, rows, report)
}
