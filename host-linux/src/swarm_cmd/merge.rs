//! `scalemodel swarm merge`: the shards of one swarm, each exactly once,
//! joined into the whole swarm's result.
//!
//! A partial merge would print a summary that looks like the swarm's and is
//! not: a missing or repeated shard is an error that names it, and nothing
//! is printed or written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::Tally;
use super::summary::{FAILURES_KEPT, Summary};
use crate::cli::{Shard, SwarmMergeArgs};
use crate::outln;

/// Missing shards named in an error; the rest are counted.
const MISSING_NAMED: usize = 10;

/// Runs `scalemodel swarm merge`.
pub fn run(args: &SwarmMergeArgs) -> Result<()> {
    if let Some(path) = &args.json {
        super::check_folder(path)?;
    }
    let mut parts = Vec::with_capacity(args.files.len());
    for path in &args.files {
        parts.push((path.clone(), Summary::read(path)?));
    }
    let merged = merge(parts)?;
    outln!(
        "swarm: seed {}, cases {} of {}, merged from {} shards",
        merged.seed,
        merged.cases,
        merged.seeds,
        args.files.len()
    );
    merged.print();
    if let Some(path) = &args.json {
        merged.write(path)?;
        outln!("wrote {}", path.display());
    }
    merged.verdict()
}

/// The whole swarm's result from its shards' (`parts`, with the files they
/// came from): the same as the unsharded run's, but for `wall`, which lists
/// every shard's.
pub fn merge(parts: Vec<(PathBuf, Summary)>) -> Result<Summary> {
    let Some((first_path, first)) = parts.first() else {
        bail!("no shards to merge");
    };
    let mut by_index: BTreeMap<u64, &Path> = BTreeMap::new();
    for (path, part) in &parts {
        let differs = |what: &str, mine: &dyn std::fmt::Display, theirs: &dyn std::fmt::Display| {
            anyhow!(
                "{} is of another swarm than {}: {what} {mine}, not {theirs}",
                path.display(),
                first_path.display()
            )
        };
        if part.scalemodel != first.scalemodel {
            return Err(differs("scalemodel", &part.scalemodel, &first.scalemodel));
        }
        if part.seed != first.seed {
            return Err(differs("seed", &part.seed, &first.seed));
        }
        if part.seeds != first.seeds {
            return Err(differs("seeds", &part.seeds, &first.seeds));
        }
        if part.shard.count != first.shard.count {
            return Err(differs(
                "shard count",
                &part.shard.count,
                &first.shard.count,
            ));
        }
        if let Some(other) = by_index.insert(part.shard.index, path) {
            bail!(
                "shard {}/{} is given twice: {} and {}",
                part.shard.index,
                part.shard.count,
                other.display(),
                path.display()
            );
        }
    }
    let count = first.shard.count;
    // Each index was given once, so `count` is at most how many: the loop
    // that names the missing ones is bounded by the files given.
    if by_index.len() as u64 != count {
        let mut missing = Vec::new();
        let mut index = 1;
        while missing.len() < MISSING_NAMED && index <= count {
            if !by_index.contains_key(&index) {
                missing.push(format!("{index}/{count}"));
            }
            index += 1;
        }
        let absent = count - by_index.len() as u64;
        let more = absent - missing.len() as u64;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        bail!(
            "{absent} of the swarm's {count} shards {} missing: {}{more} (seed {}, {} seeds; {} given)",
            if absent == 1 { "is" } else { "are" },
            missing.join(", "),
            first.seed,
            first.seeds,
            by_index.len()
        );
    }
    let (seed, seeds) = (first.seed, first.seeds);
    let version = first.scalemodel.clone();
    let overflow = || anyhow!("the shards' tallies add up to more than 2^64");
    let mut tally = Tally::default();
    let mut failure_count = 0u64;
    let mut failures = Vec::new();
    let mut wall = Vec::new();
    for (_, part) in parts {
        tally = tally.checked_add(&part.tally()).ok_or_else(overflow)?;
        failure_count = failure_count
            .checked_add(part.failure_count)
            .ok_or_else(overflow)?;
        failures.extend(part.failures);
        wall.extend(part.wall);
    }
    // Each shard kept its own lowest case numbers, so the lowest of them
    // all are the unsharded run's.
    failures.sort_by_key(|f| f.case);
    failures.truncate(FAILURES_KEPT);
    wall.sort_by_key(|w| (w.shard.count, w.shard.index));
    let mut merged = Summary::new(
        seed,
        seeds,
        Shard::WHOLE,
        &tally,
        failure_count,
        failures,
        wall,
    );
    merged.scalemodel = version;
    Ok(merged)
}
