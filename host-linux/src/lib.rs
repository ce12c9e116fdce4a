//! The `scalemodel` command line: one `*_cmd` module per command (the only
//! modules that use `anyhow`; `main` calls them), [`out`] (stdout that a
//! closed reader cannot crash) and [`replay`] (a network trial in the
//! simulator). A command may use another command's module (`run` prints
//! with [`analyze_cmd`], `swarm` drives [`sim_cmd`]); no other module uses
//! one.
//!
//! Its parts are crates of their own, under `host-linux/`, each depending
//! only on those listed before it (besides `scalemodel-core` and
//! `scalemodel-mio`):
//!
//! - `scalemodel-timerfd`: the precise timer ([`timerfd`]);
//! - `scalemodel-rundir`: the run-directory format ([`rundir`], with
//!   [`infile`], [`merge`] and [`salvage`]);
//! - `scalemodel-check`: the conformance checker ([`check`]);
//! - `scalemodel-analysis`: the figures ([`analysis`], [`timing`], [`stats`]);
//! - `scalemodel-report`: `report.json`, `report.md`, the plots and pages
//!   ([`report`], [`text`]), the only one that links plotters and fonts;
//! - `scalemodel-cli`: the flags and their parsers ([`cli`], [`caps`]);
//! - `scalemodel-node`: one machine of a networked run ([`node_cmd`],
//!   [`key`], [`entropy`], [`procinfo`]), and the lean `scalemodel-node`
//!   binary that `run` starts.
//!
//! This library re-exports each under the module name it had when it was
//! one crate, so that `scalemodel::rundir`, `scalemodel::check` and the
//! rest keep working for tests and tools.

pub use scalemodel_analysis as analysis;
pub use scalemodel_analysis::{stats, timing};
pub use scalemodel_check as check;
pub use scalemodel_cli as cli;
pub use scalemodel_cli::caps;
pub use scalemodel_node as node_cmd;
pub use scalemodel_node::{entropy, key, procinfo};
pub use scalemodel_report as report;
pub use scalemodel_report::text;
pub use scalemodel_rundir as rundir;
pub use scalemodel_rundir::{infile, merge, salvage};
pub use scalemodel_timerfd as timerfd;

pub mod analyze_cmd;
pub mod bench_cmd;
pub mod export_cmd;
pub mod out;
pub mod replay;
pub mod replay_cmd;
pub mod run_cmd;
pub mod sim_cmd;
pub mod study_cmd;
pub mod swarm_cmd;
