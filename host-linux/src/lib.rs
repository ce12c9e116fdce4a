//! The scalemodel command line, as a library so that tests and tools can reuse
//! its parts: the run-directory format and the conformance checker.
//!
//! Its parts, each depending only on those listed before it:
//!
//! - helpers: [`text`], [`out`], [`infile`], [`key`], [`entropy`], [`procinfo`], [`timerfd`];
//! - the format: [`rundir`] reads and writes a run directory (logs, `params.json`,
//!   `node-<id>.json`); [`merge`] and [`salvage`] build `params.json` from the
//!   nodes' parts and from a dead node's log;
//! - the rules: [`check`], the conformance checker;
//! - the figures: [`timing`], [`analysis`], and [`report`] (`report.json`,
//!   `report.md`, the plots);
//! - the command line: [`caps`] and [`cli`] (the flags and their parsers), and one
//!   `*_cmd` module per command, the only modules that use `anyhow`; `main` calls
//!   them. A command may use another command's module (`run` prints with
//!   [`analyze_cmd`], `swarm` drives [`sim_cmd`]); no other module uses one.

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
pub mod out;
pub mod replay;
pub mod replay_cmd;
pub mod run_cmd;
pub mod sim_cmd;
pub mod study_cmd;
pub mod swarm_cmd;
