//! `scalemodel swarm`'s flags, and `scalemodel swarm merge`'s.
//!
//! `merge` is a subcommand of `swarm` rather than a flag: it takes files
//! where the swarm takes `--seeds`, and none of the swarm's other flags, so
//! clap keeps the two apart (`swarm --seeds 9 merge a.json` is refused) and
//! each has its own `--help`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::parse_whole;

/// `scalemodel swarm`: either a swarm to run, or `merge` and its files.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SwarmCommand {
    /// `merge`, when given.
    #[command(subcommand)]
    pub subcommand: Option<SwarmSubcommand>,

    /// The swarm to run, when no subcommand is given.
    #[command(flatten)]
    pub run: Option<SwarmArgs>,
}

/// The subcommands of `scalemodel swarm`.
#[derive(Debug, Clone, Subcommand)]
pub enum SwarmSubcommand {
    /// Join the `--json` results of a swarm's shards into the whole swarm's:
    /// checks that they are the shards of one swarm, each exactly once, and
    /// prints the summary the unsharded swarm prints, with each failure's
    /// replay command. Exits non-zero when a case failed.
    Merge(SwarmMergeArgs),
}

/// `scalemodel swarm`.
#[derive(Debug, Clone, Args)]
pub struct SwarmArgs {
    /// How many cases to run (all shards together).
    #[arg(long, value_name = "N", value_parser = parse_whole::<u64>)]
    pub seeds: u64,

    /// The swarm's seed: case i runs with seed S + i. Default: a random seed,
    /// printed first.
    #[arg(long, value_name = "S", value_parser = parse_whole::<u64>)]
    pub seed: Option<u64>,

    /// Run only the K-th of N disjoint slices of the cases (case i belongs to
    /// slice i mod N + 1), e.g. one per job of a Slurm array or GNU parallel;
    /// the slices' results add up to the whole swarm's (`swarm merge`).
    #[arg(long, value_name = "K/N", default_value = "1/1", value_parser = parse_shard)]
    pub shard: Shard,

    /// Worker threads. Default: one per core.
    #[arg(long, value_name = "N", value_parser = parse_whole::<usize>)]
    pub jobs: Option<usize>,

    /// Also write the result as JSON to this file (replaced whole at the
    /// end, failures or not), for `swarm merge`. Its folder must exist.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Machines in every case, 3 to 16.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = super::parse_machines)]
    pub machines: u8,

    /// Who sends to whom in every case: `all`, `ring` or `leader`.
    #[arg(long, value_name = "all|ring|leader", default_value = "all", value_parser = super::parse_topology)]
    pub topology: scalemodel_rundir::Topology,

    /// The clock every case's machines carry beside Lamport's: `lamport`
    /// (none), `hlc` or `vector`, whose cases run at the default
    /// capacities (the only ones they are built for) and are checked
    /// against its rules too (a vector's also against the vectors rebuilt
    /// from the logs).
    #[arg(long, value_enum, default_value_t)]
    pub clock: super::ClockArg,
}

/// `scalemodel swarm merge`.
#[derive(Debug, Clone, Args)]
pub struct SwarmMergeArgs {
    /// The shards' results, as `swarm --shard K/N --json FILE` wrote them:
    /// every K from 1 to N once.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Also write the merged result as JSON to this file: the same as an
    /// unsharded swarm's `--json` but for the wall times, which it lists by
    /// shard.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// A slice of a swarm: the `index`-th (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// The whole swarm, as one slice.
    pub const WHOLE: Self = Self { index: 1, count: 1 };

    /// Whether case `case` belongs to this slice.
    pub const fn holds(self, case: u64) -> bool {
        case % self.count == self.index - 1
    }

    /// How many of the cases `0..seeds` belong to this slice.
    pub const fn cases_of(self, seeds: u64) -> u64 {
        seeds / self.count + (seeds % self.count > self.index - 1) as u64
    }
}

/// Parses `--shard K/N` with `1 <= K <= N`.
fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("expected K/N with 1 <= K <= N, e.g. 3/8; got `{s}`");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shards_cases_are_counted_as_they_are_dealt() {
        for count in 1..=7 {
            for seeds in 0..30 {
                let mut sum = 0;
                for index in 1..=count {
                    let shard = Shard { index, count };
                    let dealt = (0..seeds).filter(|&i| shard.holds(i)).count() as u64;
                    assert_eq!(shard.cases_of(seeds), dealt, "{index}/{count} of {seeds}");
                    sum += dealt;
                }
                assert_eq!(sum, seeds);
            }
        }
        assert_eq!(Shard::WHOLE.cases_of(u64::MAX), u64::MAX);
    }
}
