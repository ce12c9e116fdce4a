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

pub mod analysis;
pub mod analyze_cmd;
pub mod bench_cmd;
pub mod caps;
pub mod check;
pub mod cli;
pub mod entropy;
pub mod infile;
pub mod key;
pub mod merge;
pub mod node_cmd;
pub mod out;
pub mod procinfo;
pub mod replay;
pub mod replay_cmd;
pub mod report;
pub mod run_cmd;
pub mod rundir;
pub mod salvage;
pub mod sim_cmd;
pub mod stats;
pub mod study_cmd;
pub mod swarm_cmd;
pub mod text;
pub mod timerfd;
pub mod timing;
