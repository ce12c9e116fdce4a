//! Helpers shared by scalemodel's cross-crate tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// The `scalemodel` binary, built once per test process.
///
/// Cargo builds a package's own binaries for its integration tests but not
/// another package's, so this crate asks Cargo for it (a no-op when fresh).
pub fn scalemodel_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        escargot::CargoBuild::new()
            .manifest_path(manifest)
            .package("scalemodel")
            .bin("scalemodel")
            .current_release()
            .run()
            .expect("cargo builds the scalemodel binary")
            .path()
            .to_owned()
    })
}

/// A command running the `scalemodel` binary.
pub fn scalemodel() -> assert_cmd::Command {
    assert_cmd::Command::new(scalemodel_bin())
}
