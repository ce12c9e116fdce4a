//! The scalemodel command line, as a library so that tests and tools can reuse
//! its parts: the run-directory format and the conformance checker.

pub mod analysis;
pub mod analyze_cmd;
pub mod caps;
pub mod check;
pub mod cli;
pub mod key;
pub mod merge;
pub mod node_cmd;
pub mod out;
pub mod procinfo;
pub mod report;
pub mod run_cmd;
pub mod rundir;
pub mod salvage;
pub mod sim_cmd;
pub mod study_cmd;
pub mod swarm_cmd;
pub mod text;
pub mod timerfd;
pub mod timing;
