//! A swarm's result as data: what `swarm --json FILE` writes, what `swarm
//! merge` reads and joins, and the summary both print from it.
//!
//! Every field but `wall` is decided by the seed, the seed count and the
//! shard alone, so the merge of a swarm's shards equals the unsharded run's
//! result but for `wall`. `docs/CLUSTER.md` documents each field.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{INVARIANTS, Shape, Tally};
use crate::cli::{ClockArg, Shard};
use crate::infile::InFile;
use crate::outln;
use crate::rundir::{Topology, is_all, topology_name};

/// What the file's `format` says: a swarm's result.
pub const FORMAT: &str = "scalemodel-swarm";
/// The version of the format this code writes and reads.
pub const VERSION: u32 = 1;
/// Failures kept in a result, the lowest case numbers first; the rest are
/// counted. A shard keeps its own lowest, so the merge keeps the same ones
/// as the unsharded run.
pub const FAILURES_KEPT: usize = 1000;
/// Failures printed in full; the rest are counted.
pub const FAILURES_SHOWN: usize = 20;
/// The largest result file read: a thousand failures take under 1 MiB.
const FILE_BYTES_MAX: u64 = 16 << 20;

/// A swarm's result, or one shard's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The version of the `scalemodel` that ran the cases: another version
    /// may draw other cases from the same seed.
    pub scalemodel: String,
    /// The swarm's seed: case i ran with seed `seed + i`.
    pub seed: u64,
    /// The swarm's cases, all shards together.
    pub seeds: u64,
    /// Machines in every case (absent: 3, as before the swarm took others).
    #[serde(default = "three", skip_serializing_if = "is_three")]
    pub machines: u8,
    /// Who sends to whom in every case (absent: `all`).
    #[serde(default, with = "topology_name", skip_serializing_if = "is_all")]
    pub topology: Topology,
    /// The clock every case carried beside Lamport's (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The slice of the cases this result holds (a merge: 1/1).
    pub shard: ShardId,
    /// Cases run: those of `0..seeds` in the shard.
    pub cases: u64,
    /// Cases that kept every invariant.
    pub passed: u64,
    /// What the cases that passed exercised.
    pub exercised: Exercised,
    /// Faults that acted in the cases that passed, by kind.
    pub faults_acted: FaultsActed,
    /// How the machines of the cases that passed ended.
    pub machines_ended: MachinesEnded,
    /// Cases that failed: `cases - passed`.
    pub failure_count: u64,
    /// The failures with the lowest case numbers, at most [`FAILURES_KEPT`],
    /// in order.
    pub failures: Vec<Failure>,
    /// The wall time of each run whose cases this result holds: the only
    /// field that differs from run to run.
    pub wall: Vec<Wall>,
}

/// A shard, `index` of `count`, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardId {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

/// What the cases exercised, so that a passing swarm shows it tested something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercised {
    /// Log records checked.
    pub records: u64,
    /// Messages sent.
    pub messages: u64,
    /// Messages lost to faults.
    pub lost: u64,
    /// Of those, messages a receiver found waiting as it closed the link.
    pub lost_counted_at_close: u64,
    /// Times an inbox filled.
    pub inboxes_filled: u64,
    /// Times a sender stalled on a full link.
    pub senders_stalled: u64,
}

/// Faults that acted, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsActed {
    /// `crash M@T`.
    pub crash: u64,
    /// `stop M@T`.
    pub stop: u64,
    /// `pause M@T1..T2`.
    pub pause: u64,
    /// `partition A-B@T1..T2`.
    pub partition: u64,
    /// `garbage A>B@T`.
    pub garbage: u64,
}

/// Machines by how they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachinesEnded {
    /// The model held to the end.
    pub completed: u64,
    /// Stalled on a full link when the run ended.
    pub stalled: u64,
    /// Could not keep its schedule.
    pub overloaded: u64,
    /// A peer was lost, ended early, said no `Bye` or broke the protocol.
    pub peer_lost: u64,
    /// Told to stop (`stop`).
    pub interrupted: u64,
    /// Crashed (`crash`), or ended any other way (none has yet).
    pub crashed: u64,
}

/// A case that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// The case's number: it ran with seed `seed + case`.
    pub case: u64,
    /// What broke.
    pub message: String,
    /// The `scalemodel sim` command that replays it.
    pub replay: String,
}

/// How long one run (one `swarm` process) took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wall {
    /// The shard it ran.
    pub shard: ShardId,
    /// Its worker threads.
    pub workers: u64,
    /// Seconds from its first case to its last.
    pub seconds: f64,
    /// Its slowest case.
    pub slowest_case: u64,
    /// That case's seconds.
    pub slowest_case_seconds: f64,
}

impl From<Shard> for ShardId {
    fn from(s: Shard) -> Self {
        Self {
            index: s.index,
            count: s.count,
        }
    }
}

/// Which swarm a result is of: its seed, its cases (all shards together)
/// and their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swarm {
    /// Case i runs with seed `seed + i`.
    pub seed: u64,
    /// Cases, all shards together.
    pub seeds: u64,
    /// Machines and topology of every case.
    pub shape: Shape,
}

/// Three machines, a result's default.
fn three() -> u8 {
    3
}

/// Three machines, left out of a result.
fn is_three(n: &u8) -> bool {
    *n == 3
}

impl Summary {
    /// Which swarm this is a result of.
    pub fn swarm(&self) -> Swarm {
        Swarm {
            seed: self.seed,
            seeds: self.seeds,
            shape: Shape {
                machines: self.machines,
                topology: self.topology,
                clock: match self.clock.as_deref() {
                    Some("hlc") => ClockArg::Hlc,
                    Some("vector") => ClockArg::Vector,
                    _ => ClockArg::Lamport,
                },
            },
        }
    }

    /// The result of the cases of `shard` of the swarm `swarm`: `tally` of
    /// those that passed, `failures` (sorted, the first [`FAILURES_KEPT`])
    /// of `failure_count` that failed, and the `wall` times of the runs.
    pub fn new(
        swarm: Swarm,
        shard: Shard,
        tally: &Tally,
        failure_count: u64,
        failures: Vec<Failure>,
        wall: Vec<Wall>,
    ) -> Self {
        let [crash, stop, pause, partition, garbage] = tally.faults;
        let [
            completed,
            stalled,
            overloaded,
            peer_lost,
            interrupted,
            crashed,
        ] = tally.ends;
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            scalemodel: env!("CARGO_PKG_VERSION").to_owned(),
            seed: swarm.seed,
            seeds: swarm.seeds,
            machines: swarm.shape.machines,
            topology: swarm.shape.topology,
            clock: (swarm.shape.clock != ClockArg::Lamport)
                .then(|| swarm.shape.clock.name().to_owned()),
            shard: shard.into(),
            cases: tally.cases.saturating_add(failure_count),
            passed: tally.cases,
            exercised: Exercised {
                records: tally.records,
                messages: tally.messages,
                lost: tally.lost,
                lost_counted_at_close: tally.dropped,
                inboxes_filled: tally.held,
                senders_stalled: tally.stalls,
            },
            faults_acted: FaultsActed {
                crash,
                stop,
                pause,
                partition,
                garbage,
            },
            machines_ended: MachinesEnded {
                completed,
                stalled,
                overloaded,
                peer_lost,
                interrupted,
                crashed,
            },
            failure_count,
            failures,
            wall,
        }
    }

    /// The tallies of the cases that passed.
    pub fn tally(&self) -> Tally {
        let (e, f, m) = (&self.exercised, &self.faults_acted, &self.machines_ended);
        Tally {
            cases: self.passed,
            records: e.records,
            messages: e.messages,
            lost: e.lost,
            dropped: e.lost_counted_at_close,
            faults: [f.crash, f.stop, f.pause, f.partition, f.garbage],
            held: e.inboxes_filled,
            stalls: e.senders_stalled,
            ends: [
                m.completed,
                m.stalled,
                m.overloaded,
                m.peer_lost,
                m.interrupted,
                m.crashed,
            ],
        }
    }

    /// Prints the summary `scalemodel swarm` prints after its cases.
    pub fn print(&self) {
        outln!(
            "{} seeds, {} failures in {}",
            self.cases,
            self.failure_count,
            self.time()
        );
        let (e, f, m) = (&self.exercised, &self.faults_acted, &self.machines_ended);
        outln!(
            "exercised: {} records, {} messages ({} lost to faults, {} of them counted by a receiver as it closed); inboxes filled {} times, senders stalled {} times",
            e.records,
            e.messages,
            e.lost,
            e.lost_counted_at_close,
            e.inboxes_filled,
            e.senders_stalled
        );
        outln!(
            "faults that acted: {} crash, {} stop, {} pause, {} partition, {} garbage",
            f.crash,
            f.stop,
            f.pause,
            f.partition,
            f.garbage
        );
        outln!(
            "machines ended: {} completed, {} stalled, {} overloaded, {} peer lost, {} interrupted, {} crashed",
            m.completed,
            m.stalled,
            m.overloaded,
            m.peer_lost,
            m.interrupted,
            m.crashed
        );
        outln!("invariants checked:");
        for inv in INVARIANTS {
            outln!("  - {inv}");
        }
        for failure in self.failures.iter().take(FAILURES_SHOWN) {
            outln!("FAILED case {}: {}", failure.case, failure.message);
            outln!("  replay: {}", failure.replay);
        }
        if self.failure_count > FAILURES_SHOWN as u64 {
            outln!(
                "… and {} more failures",
                self.failure_count - FAILURES_SHOWN as u64
            );
        }
    }

    /// The wall time, as the summary's first line says it: one run's with
    /// its speed, or the shards' added up.
    fn time(&self) -> String {
        let slowest = self
            .wall
            .iter()
            .max_by(|a, b| a.slowest_case_seconds.total_cmp(&b.slowest_case_seconds));
        let slowest = slowest.map_or_else(String::new, |w| {
            // In ms: a case takes well under one, and `0.000 s` says nothing.
            format!(
                "slowest case {}: {:.3} ms",
                w.slowest_case,
                w.slowest_case_seconds * 1e3
            )
        });
        match self.wall.as_slice() {
            [one] => format!(
                "{:.1} s ({:.0} cases/s; {slowest})",
                one.seconds,
                self.cases as f64 / one.seconds.max(1e-9)
            ),
            all => {
                let seconds: f64 = all.iter().map(|w| w.seconds).sum();
                format!("{} runs of {seconds:.1} s in all ({slowest})", all.len())
            }
        }
    }

    /// The error that ends the command when a case failed.
    pub fn verdict(&self) -> Result<()> {
        if self.failure_count > 0 {
            bail!("{} of {} cases failed", self.failure_count, self.cases);
        }
        Ok(())
    }

    /// Writes the result as JSON to `path`, replacing it whole: a process
    /// killed while writing leaves the old file or none, never half of one.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self).context("the swarm's JSON")?;
        json.push(b'\n');
        let cannot = || format!("cannot write {}", path.display());
        // Readable as a file written in place would be (the umask applies),
        // for a merge run by another account on shared storage.
        let mut file = tempfile::Builder::new()
            .prefix(".swarm-")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(folder_of(path))
            .with_context(cannot)?;
        file.write_all(&json).with_context(cannot)?;
        file.as_file().sync_all().with_context(cannot)?;
        file.persist(path)
            .map_err(|e| e.error)
            .with_context(cannot)?;
        Ok(())
    }

    /// Reads a result that `write` wrote, and checks it holds together.
    pub fn read(path: &Path) -> Result<Self> {
        let shown = path.display();
        let bytes = InFile::open(path, FILE_BYTES_MAX)
            .map_err(anyhow::Error::from)
            .and_then(|f| Ok(f.read_all()?))
            .with_context(|| format!("cannot read {shown}"))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{shown} is not JSON, so not a swarm result"))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            bail!("{shown} is not a swarm result: it has no \"format\": \"{FORMAT}\"");
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => bail!(
                "{shown} is a swarm result of format version {v}; this scalemodel reads version {VERSION}"
            ),
            None => bail!("{shown}: its \"version\" is missing or not a whole number"),
        }
        let summary: Self = serde_json::from_value(value)
            .with_context(|| format!("{shown}: a swarm result that does not parse"))?;
        summary
            .check()
            .map_err(|why| anyhow::anyhow!("{shown}: {why}"))?;
        Ok(summary)
    }

    /// Why the figures of a result do not hold together, if they do not.
    fn check(&self) -> Result<(), String> {
        if self.wall.is_empty() {
            return Err("it lists no wall time".to_owned());
        }
        if let Some(clock) = self
            .clock
            .as_deref()
            .filter(|c| !["hlc", "vector"].contains(c))
        {
            return Err(format!(
                "its \"clock\" is {clock:?}; a swarm's cases carry `hlc`, `vector` or nothing"
            ));
        }
        let ShardId { index, count } = self.shard;
        if index == 0 || index > count {
            return Err(format!(
                "its shard {index}/{count} is not K/N with 1 <= K <= N"
            ));
        }
        let shard = Shard { index, count };
        let want = shard.cases_of(self.seeds);
        if self.cases != want {
            return Err(format!(
                "it ran {} cases, but shard {index}/{count} of {} seeds has {want}",
                self.cases, self.seeds
            ));
        }
        if self.passed.checked_add(self.failure_count) != Some(self.cases) {
            return Err(format!(
                "{} passed and {} failed do not make its {} cases",
                self.passed, self.failure_count, self.cases
            ));
        }
        let ended = self
            .tally()
            .ends
            .iter()
            .try_fold(0u64, |a, &b| a.checked_add(b));
        if ended != self.passed.checked_mul(scalemodel_core::N as u64) {
            return Err(format!(
                "its machines_ended do not add up to {} machines for each of its {} cases that passed",
                scalemodel_core::N,
                self.passed
            ));
        }
        let kept =
            usize::try_from(self.failure_count).map_or(FAILURES_KEPT, |n| n.min(FAILURES_KEPT));
        if self.failures.len() != kept {
            return Err(format!(
                "it lists {} failures of {}, not the first {kept}",
                self.failures.len(),
                self.failure_count
            ));
        }
        let mut last = None;
        for f in &self.failures {
            if f.case >= self.seeds || !shard.holds(f.case) {
                return Err(format!(
                    "its failed case {} is not a case of shard {index}/{count} of {} seeds",
                    f.case, self.seeds
                ));
            }
            if last.is_some_and(|l| l >= f.case) {
                return Err(format!(
                    "its failures are not in order of case (at case {})",
                    f.case
                ));
            }
            last = Some(f.case);
        }
        Ok(())
    }
}

/// The folder `path` lies in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}
