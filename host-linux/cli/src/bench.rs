//! `scalemodel bench`'s flags.

use std::path::PathBuf;

use clap::Args;

/// `scalemodel bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The network run's length in seconds at speed 1 (the bare timer loop
    /// and the Python solution run as long, at the same time). Default: 60,
    /// or 3 with `--quick`.
    #[arg(long, value_name = "SECS", value_parser = super::parse_duration_s)]
    pub duration: Option<f64>,

    /// Short everything (the simulator a model hour, 300 swarm cases, the
    /// network 3 s, then only speed 10 probed, for 1 s): for CI and tests,
    /// where the figures only show that every row works.
    #[arg(long)]
    pub quick: bool,

    /// Skip the network rows: the run at speed 1, the Python solution beside
    /// it and the search for the highest exact speed.
    #[arg(long)]
    pub skip_network: bool,

    /// Skip the Python solution (otherwise run when `python3` is found).
    #[arg(long)]
    pub skip_python: bool,

    /// The seed of the network runs (their rates are always 2,4,6).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = super::parse_whole::<u64>)]
    pub seed: u64,

    /// Keep everything the bench ran here: the run directories, the Python
    /// logs, each command's output, and the table as `bench.md` and
    /// `bench.json`. Must be new or empty. Default: a temporary folder,
    /// removed at the end.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Also write the table as JSON to this file (for regenerating docs).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}
