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
        if part.machines != first.machines {
            return Err(differs("machines", &part.machines, &first.machines));
        }
        if part.topology != first.topology {
            return Err(differs("topology", &part.topology, &first.topology));
        }
        if part.clock != first.clock {
            let name = |c: &Option<String>| c.clone().unwrap_or_else(|| "lamport".to_owned());
            return Err(differs("clock", &name(&part.clock), &name(&first.clock)));
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
    let swarm = first.swarm();
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
    let mut merged = Summary::new(swarm, Shard::WHOLE, &tally, failure_count, failures, wall);
    merged.scalemodel = version;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm_cmd::Shape;
    use crate::swarm_cmd::summary::{Failure, Swarm, Wall};

    /// Shard `index`/`count` of a swarm of `seeds` in which every case
    /// divisible by `fail_every` failed and each other one passed with one
    /// record and three completed machines.
    fn shard(index: u64, count: u64, seeds: u64, fail_every: u64) -> Summary {
        let shard = Shard { index, count };
        let mine: Vec<u64> = (0..seeds).filter(|&i| shard.holds(i)).collect();
        let failed: Vec<u64> = mine
            .iter()
            .copied()
            .filter(|i| i % fail_every == 0)
            .collect();
        let passed = (mine.len() - failed.len()) as u64;
        let tally = Tally {
            cases: passed,
            records: passed,
            ends: [3 * passed, 0, 0, 0, 0, 0],
            ..Tally::default()
        };
        let failures = failed
            .iter()
            .take(FAILURES_KEPT)
            .map(|&case| Failure {
                case,
                message: format!("case {case} broke"),
                replay: format!("scalemodel sim --seed {case}"),
            })
            .collect();
        let wall = Wall {
            shard: shard.into(),
            workers: 1,
            seconds: 1.0,
            slowest_case: mine[0],
            slowest_case_seconds: 0.5,
        };
        Summary::new(
            Swarm {
                seed: 7,
                seeds,
                shape: Shape::THREE,
            },
            shard,
            &tally,
            failed.len() as u64,
            failures,
            vec![wall],
        )
    }

    fn files(parts: impl IntoIterator<Item = Summary>) -> Vec<(PathBuf, Summary)> {
        parts
            .into_iter()
            .map(|s| (PathBuf::from(format!("shard-{}.json", s.shard.index)), s))
            .collect()
    }

    fn without_wall(mut s: Summary) -> Summary {
        s.wall.clear();
        s
    }

    #[test]
    fn the_merge_keeps_the_unsharded_runs_lowest_failures() {
        // 5000 seeds, every third failing: 1667 failures, more than are kept.
        let whole = shard(1, 1, 5000, 3);
        assert_eq!(whole.failure_count, 1667);
        assert_eq!(whole.failures.len(), FAILURES_KEPT);
        // Given out of order, as a shell's glob sorts `shard-10` before `shard-2`.
        let merged = merge(files((1..=4).rev().map(|k| shard(k, 4, 5000, 3)))).unwrap();
        assert_eq!(without_wall(merged.clone()), without_wall(whole));
        let order: Vec<u64> = merged.wall.iter().map(|w| w.shard.index).collect();
        assert_eq!(order, [1, 2, 3, 4]);
        // A merge is the whole swarm: merged again alone, it stays the same.
        assert_eq!(merge(files([merged.clone()])).unwrap(), merged);
        assert!(merged.verdict().is_err());
    }

    #[test]
    fn shards_of_another_swarm_are_refused_by_name() {
        let err = |parts: Vec<Summary>| merge(files(parts)).unwrap_err().to_string();
        let mut other = shard(2, 3, 90, 1000);
        other.seed = 8;
        let e = err(vec![shard(1, 3, 90, 1000), other]);
        assert!(
            e.contains("shard-2.json is of another swarm than shard-1.json: seed 8, not 7"),
            "{e}"
        );
        let e = err(vec![shard(1, 3, 90, 1000), shard(2, 4, 90, 1000)]);
        assert!(e.contains("shard count 4, not 3"), "{e}");
        let e = err(vec![shard(1, 3, 90, 1000), shard(2, 3, 91, 1000)]);
        assert!(e.contains("seeds 91, not 90"), "{e}");
        let e = err(vec![shard(3, 3, 90, 1000), shard(3, 3, 90, 1000)]);
        assert!(e.contains("shard 3/3 is given twice"), "{e}");
        let e = err(vec![shard(2, 3, 90, 1000)]);
        assert!(
            e.contains("2 of the swarm's 3 shards are missing: 1/3, 3/3"),
            "{e}"
        );
        // A shard of a swarm split in 2^64 - 1 names a few missing ones and
        // counts the rest, without looking at each.
        let mut huge = shard(1, 1, 90, 1000);
        huge.shard.count = u64::MAX;
        let e = err(vec![huge]);
        assert!(
            e.contains(", 11/18446744073709551615 and 18446744073709551604 more"),
            "{e}"
        );
    }

    #[test]
    fn tallies_that_overflow_are_an_error() {
        let mut a = shard(1, 2, 10, 1000);
        a.exercised.records = u64::MAX;
        let e = merge(files([a, shard(2, 2, 10, 1000)])).unwrap_err();
        assert!(e.to_string().contains("more than 2^64"), "{e}");
    }
}
