//! `scalemodel-rundir`: the run directory, a public format: `machine-<id>.csv`
//! logs and `params.json`. This crate is the one place that reads and writes it:
//!
//! - here: the names, the summaries in `params.json`, and the writers
//!   ([`LogWriter`], [`CsvSink`]); how a machine ended is the core's
//!   [`End`], whose words `params.json` uses;
//! - `node.rs`: `node-<id>.json`, one networked machine's summary;
//! - `faults.rs`: the faults that acted and the protocol errors by
//!   kind, as `params.json` records them;
//! - `log.rs`: reading the logs, bounded ([`read_run`], [`read_log`]);
//! - `line.rs`: one log line, read with csv and serde;
//! - `row.rs`: a log line as a [`Row`];
//! - `read.rs`: reading the JSON files, bounded, and checking their ranges;
//! - `quote.rs`: quoting a bad line or value in an error;
//! - [`infile`]: opening a file anyone may have put in place, bounded;
//! - [`merge`] and [`salvage`]: `params.json` built from the nodes'
//!   `node-<id>.json`, and from a dead node's log.
//!
//! Depends on `scalemodel-core` only (with csv, serde, serde_json, rustix
//! and time): the node process, the checker, the analysis and the reports
//! all read and write runs through it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use scalemodel_core::balance::{self, Imbalance, Parts};
use scalemodel_core::fault::Faults;
use scalemodel_core::node::LATE_PERCENT_MAX;
use scalemodel_core::sim::{Config, LinkReport, MachineReport, Report};
use scalemodel_core::{HEADER, LINE_MAX, MachineId, Record, STAMPED_LINE_MAX, Stamp, Tally};
use serde::{Deserialize, Serialize};

use crate::infile::{InFile, InFileError};

mod csv_sink;
mod faults;
pub mod infile;
mod line;
mod log;
pub mod merge;
mod node;
mod quote;
mod read;
mod row;
pub mod salvage;
pub mod skew;

pub use scalemodel_core::{End, Topology};

pub use csv_sink::{BATCH_RECORDS, BATCHES_QUEUED_MAX, CsvLogs, CsvSink};
pub use faults::{FaultSummary, error_kinds, never_expected};
pub use log::{
    BAD_LINES_KEPT, BadLine, BadLines, LINE_BYTES_MAX, Log, Run, parse_log, read_log, read_run,
};
pub use node::{NetRun, NodeSummary, PeerSummary, node_name};
pub use quote::{QUOTE_CHARS_MAX, quote, quote_prefix};
pub use read::{
    DURATION_S_MAX, JSON_BYTES_MAX, MACHINES, MACHINES_MAX, RATE_MAX, RATES, SIDES_MIN, SPEED_MIN,
};
pub use row::{Kind, Row, Rows, Vectors};
pub use skew::{MachineSkew, Skew, Skewed};

/// The name of machine `id`'s log (`id` as a number or a machine id).
pub fn log_name(id: impl std::fmt::Display) -> String {
    format!("machine-{id}.csv")
}

/// Whether a run of `n` machines under `topology` has the directed link
/// `from -> to`: the one place that decides which links a run's summary
/// accounts for and its logs may use (the core's [`Topology::sends`]:
/// `all` every pair, `ring` `i -> i + 1`, `leader` `0 -> i`).
pub fn is_model_link(n: usize, topology: Topology, from: u8, to: u8) -> bool {
    let Ok(n) = u8::try_from(n) else {
        return false;
    };
    match (MachineId::new(from, n), MachineId::new(to, n)) {
        (Some(from), Some(to)) => topology.sends(from, to, n),
        _ => false,
    }
}

/// Every directed link of a run of `n` machines under `topology`
/// ([`is_model_link`]), by sender, then receiver.
pub fn model_links(n: usize, topology: Topology) -> impl Iterator<Item = (u8, u8)> {
    // At most `MACHINES_MAX` machines: the ids fit a u8.
    let ids = 0..n.min(MACHINES_MAX) as u8;
    ids.clone()
        .flat_map(move |from| ids.clone().map(move |to| (from, to)))
        .filter(move |&(from, to)| is_model_link(n, topology, from, to))
}

/// A topology by its name on the command line and in `params.json`
/// (`all`, `ring`, `leader`).
pub fn parse_topology(name: &str) -> Option<Topology> {
    [Topology::All, Topology::Ring, Topology::Leader]
        .into_iter()
        .find(|t| t.name() == name)
}

/// True for `all`, which `params.json` and the node summaries leave out:
/// absent means `all`, so that runs of every machine talking to every
/// other are written as before the topologies, and older runs read as
/// `all`.
pub fn is_all(topology: &Topology) -> bool {
    *topology == Topology::All
}

/// A topology in JSON: its name.
pub mod topology_name {
    use super::{Topology, parse_topology};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the topology's name.
    pub fn serialize<S: Serializer>(t: &Topology, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }

    /// Reads a topology's name, naming the bad one.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Topology, D::Error> {
        let name = String::deserialize(d)?;
        parse_topology(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown topology `{name}`: expected all, ring or leader"
            ))
        })
    }
}

/// The name of the parameters and summary file.
pub const PARAMS: &str = "params.json";

/// A problem with a run directory, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The directory could not be made.
    #[error("cannot create the run directory {path}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The directory already holds files.
    #[error("the run directory {0} is not empty; choose a new --out or remove it")]
    NotEmpty(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file of the run parses but says something impossible.
    #[error("{path}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A JSON file of the run does not parse: where, and the text there.
    #[error("{path} line {line} does not parse, near {near}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the fault.
        line: usize,
        /// The end of the text before the fault, quoted.
        near: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A file of the run is larger than such a file can be.
    #[error("{path} is more than {max} bytes, larger than such a file can be")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most it may hold.
        max: u64,
    },
    /// A file of the run is no regular file (a FIFO, a device, a folder),
    /// which might never end: refused unread.
    #[error("{path} is {what}, not a regular file; refused unread")]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
}

/// Opens `path` of a run for reading: a regular file of at most `max`
/// bytes (see [`crate::infile`]).
pub(crate) fn open_in(path: &Path, max: u64) -> Result<InFile, RunDirError> {
    InFile::open(path, max).map_err(|e| match e {
        InFileError::Io(source) => RunDirError::Read {
            path: path.to_owned(),
            source,
        },
        InFileError::NotRegular(what) => RunDirError::NotRegular {
            path: path.to_owned(),
            what,
        },
        InFileError::TooLarge { max, .. } => RunDirError::TooLarge {
            path: path.to_owned(),
            max,
        },
    })
}

/// `runs/KIND-YYYYMMDD-HHMMSS` (UTC), with a suffix if that folder exists.
pub fn default_out(kind: &str) -> Result<PathBuf, RunDirError> {
    let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "undated".to_owned());
    let base = Path::new("runs").join(format!("{kind}-{stamp}"));
    let mut dir = base.clone();
    for n in 2..1_000 {
        if !dir.exists() {
            return Ok(dir);
        }
        dir = PathBuf::from(format!("{}-{n}", base.display()));
    }
    Err(RunDirError::NotEmpty(base))
}

/// Makes `dir` (and its parents) and checks that it holds nothing yet.
pub fn create(dir: &Path) -> Result<(), RunDirError> {
    let create = |source| RunDirError::Create {
        path: dir.to_owned(),
        source,
    };
    fs::create_dir_all(dir).map_err(create)?;
    if fs::read_dir(dir).map_err(create)?.next().is_some() {
        return Err(RunDirError::NotEmpty(dir.to_owned()));
    }
    Ok(())
}

/// Events by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Events {
    /// Receive events.
    pub receive: u64,
    /// Send events.
    pub send: u64,
    /// Internal events.
    pub internal: u64,
}

/// One machine's summary in `params.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineSummary {
    /// The machine's id.
    pub id: u8,
    /// Ticks per model second.
    pub rate: u32,
    /// Ticks done.
    pub ticks: u64,
    /// Events by kind.
    pub events: Events,
    /// The longest inbox logged after an event.
    pub max_queue: u32,
    /// The clock after the last event.
    pub final_clock: u64,
    /// The largest change of the clock in one event.
    pub max_jump: u64,
    /// Times the machine stalled on a full link.
    pub stalls: u64,
    /// Model ns it spent stalled.
    pub stalled_ns: u64,
    /// Arrivals that waited because its inbox was full.
    pub held: u64,
    /// Messages left in its inbox at the end.
    pub inbox_left: u32,
    /// How it ended.
    pub end: End,
    /// Ticks that ran after the next tick was already due; `null` when
    /// unknown (a crashed node, an older file).
    #[serde(default)]
    pub behind_ticks: Option<u64>,
    /// The most ticks ever overdue beyond the one that ran, about the
    /// longest stall in periods: more than
    /// `scalemodel_core::node::BEHIND_MAX` (one) makes it `overloaded`,
    /// unless (from version 0.2) at most one tick in a hundred ran late;
    /// `null` when unknown (a crashed node, an older file).
    #[serde(default)]
    pub max_behind: Option<u64>,
    /// Ticks that ran more than a tenth of a period after their due time;
    /// `null` when unknown.
    #[serde(default)]
    pub late_ticks: Option<u64>,
    /// The latest a tick ran after its due time, in wall ns (the
    /// simulator's: its pauses); `null` when unknown.
    #[serde(default)]
    pub max_late_ns: Option<u64>,
    /// Protocol errors it saw, by kind (only kinds that happened); `null`
    /// when unknown (a crashed node, an older file).
    #[serde(default)]
    pub protocol_errors: Option<BTreeMap<String, u64>>,
}

impl MachineSummary {
    /// The summary of the machine with `id` and `rate` from the tally of its
    /// records; the stall and inbox figures start at zero for the host to set.
    pub fn from_tally<const M: usize>(id: MachineId, rate: u32, t: &Tally<M>, end: End) -> Self {
        Self {
            id: id.get(),
            rate,
            ticks: t.ticks,
            events: Events {
                receive: t.receives,
                send: t.sends,
                internal: t.internals,
            },
            max_queue: t.max_queue,
            final_clock: t.clock,
            max_jump: t.max_jump,
            stalls: 0,
            stalled_ns: 0,
            held: 0,
            inbox_left: 0,
            end,
            behind_ticks: None,
            max_behind: None,
            late_ticks: None,
            max_late_ns: None,
            protocol_errors: None,
        }
    }

    /// The summary of machine `id` from the simulator's report.
    pub fn from_report<const M: usize>(id: MachineId, m: &MachineReport<M>) -> Self {
        // Never unfinished in a run that returned a report; say it plainly if so.
        let end = m.end().unwrap_or(End::Interrupted);
        Self {
            stalls: m.stalls,
            stalled_ns: m.stalled_ns,
            held: m.held,
            inbox_left: m.inbox_left,
            behind_ticks: Some(m.behind_ticks),
            max_behind: Some(m.max_behind),
            late_ticks: Some(m.late_ticks),
            max_late_ns: Some(m.max_late_ns),
            protocol_errors: Some(error_kinds(&m.errors)),
            ..Self::from_tally(id, m.rate, &m.tally, end)
        }
    }
}

/// One directed link's accounting in `params.json`:
/// `sent = received + queued + in_flight + lost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSummary {
    /// The sender's id.
    pub from: u8,
    /// The receiver's id.
    pub to: u8,
    /// Messages sent.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
    /// Messages left in the receiver's inbox.
    pub queued: u64,
    /// Messages still on the link or in the sender.
    pub in_flight: u64,
    /// Messages that will never arrive, counted where they were lost:
    /// destroyed by a crash or a broken link, or never sent because the
    /// receiver had ended.
    #[serde(default)]
    pub lost: u64,
    /// Messages lost where nobody could count them (on a network run, what
    /// a crashed machine's side of the link held): sent, and neither
    /// received, queued, in flight nor counted lost. Only a crash explains it.
    #[serde(default)]
    pub inferred: u64,
}

impl LinkSummary {
    /// The balance rule on this link:
    /// `sent = received + queued + in_flight + lost + inferred`.
    pub const fn balance(&self) -> Result<(), Imbalance> {
        balance::balance(self.sent, &self.parts())
    }

    /// The parts `sent` must equal.
    pub const fn parts(&self) -> Parts {
        Parts {
            received: self.received,
            queued: self.queued,
            in_flight: self.in_flight,
            lost: self.lost,
            inferred: self.inferred,
        }
    }
}

impl From<&LinkReport> for LinkSummary {
    fn from(l: &LinkReport) -> Self {
        Self {
            from: l.from.get(),
            to: l.to.get(),
            sent: l.sent,
            received: l.received,
            queued: l.queued,
            in_flight: l.in_flight,
            lost: l.lost,
            inferred: 0,
        }
    }
}

/// `params.json`: the run's parameters, then each machine's and link's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// The scalemodel version that wrote the run.
    pub version: String,
    /// The run's seed.
    pub seed: u64,
    /// `sim` or `net`.
    pub mode: String,
    /// The run's length in model seconds.
    pub duration_s: f64,
    /// Model time runs this many times faster than wall time.
    pub speed: u32,
    /// Faces of the die.
    pub sides: u8,
    /// The range the rates were drawn from, or `null` when they were given.
    pub rate_range: Option<[u32; 2]>,
    /// Each machine's rate in ticks per model second, by id: one per
    /// machine, so the run's number of machines is its length.
    pub rates: Vec<u32>,
    /// Which machines talk to which; absent means `all` ([`is_all`]).
    #[serde(default, with = "topology_name", skip_serializing_if = "is_all")]
    pub topology: Topology,
    /// The simulated link delay in ns (`sim` only).
    pub latency_ns: Option<u64>,
    /// The simulated link jitter bound in ns (`sim` only).
    pub jitter_ns: Option<u64>,
    /// Each machine's listening address (`net` only), in machine order.
    pub addresses: Vec<String>,
    /// Unix time in ns of model time 0.
    pub start_ns: u64,
    /// Messages an inbox holds.
    pub inbox_capacity: usize,
    /// Messages a link holds (`sim` only).
    pub link_capacity: Option<usize>,
    /// Each machine's summary, by id.
    pub machines: Vec<MachineSummary>,
    /// Each directed link's accounting.
    pub links: Vec<LinkSummary>,
    /// Each node process's resource use (`net` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessSummary>,
    /// The faults that acted, in the order they began: the simulator's, or
    /// what `run` saw (a node that died, nodes it stopped). `[]`: none
    /// acted; absent: unknown (hand-started nodes, older files), and then
    /// the checker's rules that need them are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<FaultSummary>>,
    /// Each machine's physical clock skew (`sim --skew` only; absent:
    /// every clock true). See [`skew`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<Skew>,
    /// The clock the machines carried beside Lamport's (`--clock`): `hlc`,
    /// whose columns the logs append; absent: Lamport's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
}

/// One node process's resource use and notes, in `params.json` of a `net` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSummary {
    /// The machine's id.
    pub id: u8,
    /// Wall ms from the process's start to its first tick.
    pub first_tick_ms: Option<f64>,
    /// Peak resident memory in KiB.
    pub peak_rss_kib: Option<u64>,
    /// CPU time, user and system, in ms.
    pub cpu_ms: Option<f64>,
    /// CPU time in ms from the first tick to the end of the node's loop:
    /// the steady state, set-up and start-up left out. Absent in older
    /// files, for a node that never ticked, and for one that died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticking_cpu_ms: Option<f64>,
    /// What went wrong on the way, in words.
    pub notes: Vec<String>,
    /// Where the machine's node ran when not in its process: the board
    /// (`run --mcu`), whose bridge the process was; then its RSS and CPU
    /// are the bridge's. Absent: in the process, on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How the process died, when it did (`killed by signal 9`, `exit
    /// status 1: …`): then its machine ended `crashed` and its summary was
    /// rebuilt from its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub died: Option<String>,
}

/// The rule under which a run's ends were decided: which figures make a
/// machine that ran every tick `overloaded` rather than `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverloadRule {
    /// Files of version 0.1: more than one tick overdue at once
    /// (`max_behind` over one), or, in files without `max_behind`, any
    /// tick run after the next was due (`behind_ticks`).
    Behind,
    /// From version 0.2: more than one tick overdue at once, unless at
    /// most `scalemodel_core::node::LATE_PERCENT_MAX` in a hundred of its
    /// ticks ran over a tenth of a period late (`late_ticks`): a long run
    /// absorbs a stall however many periods long.
    LateShare,
}

impl Params {
    /// The run's number of machines: one rate each.
    pub fn n(&self) -> usize {
        self.rates.len()
    }

    /// The overload rule the writer of this file applied, from its
    /// `version` (a version that does not read as `major.minor…` is taken
    /// as this one's).
    pub fn overload_rule(&self) -> OverloadRule {
        let mut parts = self.version.split('.').map(str::parse::<u64>);
        match (parts.next(), parts.next()) {
            (Some(Ok(0)), Some(Ok(minor))) if minor < 2 => OverloadRule::Behind,
            _ => OverloadRule::LateShare,
        }
    }

    /// The run's length in model ns, as the nodes and the simulator took
    /// it (`as` saturates: even an unchecked duration cannot wrap).
    pub fn duration_ns(&self) -> u64 {
        (self.duration_s * 1e9).round() as u64
    }

    /// The parameters of a simulator run; the summaries come from [`Params::summarise`].
    pub fn sim<const M: usize>(
        config: &Config<M>,
        rate_range: Option<[u32; 2]>,
        duration_s: f64,
        inbox_capacity: usize,
        link_capacity: usize,
    ) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            seed: config.seed,
            mode: "sim".to_owned(),
            duration_s,
            speed: config.speed,
            sides: config.sides,
            rate_range,
            rates: config
                .rates
                .iter()
                .take(usize::from(config.machines))
                .copied()
                .collect(),
            topology: config.topology,
            latency_ns: Some(config.latency_ns),
            jitter_ns: Some(config.jitter_ns),
            addresses: Vec::new(),
            start_ns: config.start_ns,
            inbox_capacity,
            link_capacity: Some(link_capacity),
            machines: Vec::new(),
            links: Vec::new(),
            processes: Vec::new(),
            faults: None,
            skew: None,
            clock: None,
        }
    }

    /// Fills in the summaries from a simulator report.
    /// Its links are the run's model links ([`is_model_link`]): the
    /// others never carry a message.
    pub fn summarise<const M: usize>(&mut self, report: &Report<M>) {
        let n = report.machines().len();
        self.machines = (MachineId::all(n as u8).zip(report.machines()))
            .map(|(id, m)| MachineSummary::from_report(id, m))
            .collect();
        self.links = report
            .links()
            .filter(|l| is_model_link(n, self.topology, l.from.get(), l.to.get()))
            .map(LinkSummary::from)
            .collect();
    }

    /// Records the faults of `faults` that acted (`missed` as the
    /// simulator's `missed_faults` says).
    pub fn record_faults(&mut self, faults: &Faults, missed: &[bool]) {
        self.faults = Some(FaultSummary::acted(faults, missed));
    }

    /// Writes `dir/params.json`.
    pub fn write(&self, dir: &Path) -> Result<(), RunDirError> {
        write_json(&dir.join(PARAMS), self)
    }
}

/// The machines that did not end `completed`, e.g. `machine 1 crashed,
/// machine 0 peer lost`; `None` when every machine completed.
pub fn not_completed(p: &Params) -> Option<String> {
    let duration_ns = p.duration_ns();
    let rule = p.overload_rule();
    let odd: Vec<String> = p
        .machines
        .iter()
        .filter(|m| m.end != End::Completed)
        .map(|m| {
            let due = scalemodel_core::ticks_in(duration_ns, m.rate);
            // Why it is overloaded: it could not keep its rate (ticks
            // short), or it caught up from a stall too long for the run.
            let why = match (m.end, m.max_behind, rule, m.late_ticks) {
                (End::Overloaded, ..) if m.ticks < due => {
                    format!(" (never caught up: ran {} of {due} ticks)", m.ticks)
                }
                (End::Overloaded, Some(b), OverloadRule::LateShare, Some(late)) if b > 0 => {
                    format!(
                        " (caught up, but was {b} ticks behind at once and {late} of its {} ticks ran late, over {LATE_PERCENT_MAX} in a hundred)",
                        m.ticks
                    )
                }
                (End::Overloaded, Some(b), ..) if b > 0 => {
                    format!(" (caught up, but was {b} ticks behind at once)")
                }
                _ => String::new(),
            };
            format!("machine {} {}{why}", m.id, m.end)
        })
        .collect();
    (!odd.is_empty()).then(|| odd.join(", "))
}

/// The machines whose ticks ran late, and how late, whatever their end:
/// `None` when every tick ran within a tenth of a period (or nobody knows).
pub fn lateness(p: &Params) -> Option<String> {
    let late: Vec<String> = p
        .machines
        .iter()
        .filter(|m| m.late_ticks.unwrap_or(0) > 0 || m.behind_ticks.unwrap_or(0) > 0)
        .map(|m| {
            let mut words = format!(
                "machine {}: {} of {} ticks over a tenth of a period late, {} after the next was due",
                m.id,
                m.late_ticks.unwrap_or(0),
                m.ticks,
                m.behind_ticks.unwrap_or(0)
            );
            if let Some(b) = m.max_behind {
                words.push_str(&format!(", at most {b} behind"));
            }
            if let Some(ns) = m.max_late_ns {
                words.push_str(&format!(", the latest {:.3} ms", ns as f64 / 1e6));
            }
            words
        })
        .collect();
    (!late.is_empty()).then(|| late.join("; "))
}

/// One machine's CSV log, header first.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    w: BufWriter<File>,
}

impl LogWriter {
    /// Creates `dir/machine-<id>.csv` and writes the header, then `columns`
    /// (a carried clock's [`Stamp::COLUMNS`]; empty for Lamport's alone).
    pub fn create(dir: &Path, id: MachineId, columns: &str) -> Result<Self, RunDirError> {
        let path = dir.join(log_name(id));
        let file = File::create(&path).map_err(|source| RunDirError::Write {
            path: path.clone(),
            source,
        })?;
        let mut log = Self {
            path,
            w: BufWriter::with_capacity(1 << 16, file),
        };
        log.put(HEADER.as_bytes())?;
        log.put(columns.as_bytes())?;
        log.put(b"\n")?;
        Ok(log)
    }

    /// Appends one record's line.
    pub fn write<const M: usize, S: Stamp>(
        &mut self,
        record: &Record<M, S>,
    ) -> Result<(), RunDirError> {
        // Bytes straight from the record, no `fmt` machinery: the hot path of
        // a long run's log.
        if S::COLUMNS.is_empty() {
            let mut buf = [0; LINE_MAX];
            self.put(record.write_line(&mut buf))
        } else {
            let mut buf = [0; STAMPED_LINE_MAX];
            self.put(record.write_stamped(&mut buf))
        }
    }

    /// Writes one line another host made with `Record::write_line` (a
    /// board's): refused, and nothing written, unless it is one whole line.
    pub fn write_line(&mut self, line: &[u8]) -> Result<(), RunDirError> {
        let whole = line.split_last().is_some_and(|(&last, rest)| {
            last == b'\n' && !rest.is_empty() && !rest.contains(&b'\n')
        });
        if !whole {
            return Err(RunDirError::Write {
                path: self.path.clone(),
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a log line that is not one whole line",
                ),
            });
        }
        self.put(line)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), RunDirError> {
        self.w
            .write_all(bytes)
            .map_err(|source| RunDirError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Hands what is buffered to the file.
    pub fn flush(&mut self) -> Result<(), RunDirError> {
        self.w.flush().map_err(|source| RunDirError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes the log and closes it.
    pub fn finish(mut self) -> Result<(), RunDirError> {
        self.flush()
    }
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunDirError> {
    let write = |source| RunDirError::Write {
        path: path.to_owned(),
        source,
    };
    let mut text = serde_json::to_string_pretty(value)
        .map_err(io::Error::from)
        .map_err(write)?;
    text.push('\n');
    fs::write(path, text).map_err(write)
}
