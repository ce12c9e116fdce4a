//! `node-<id>.json`: one networked machine's part of a run's summary, which
//! the launcher merges into `params.json` ([`crate::merge`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{MachineSummary, RunDirError, read, write_json};

/// The name of machine `id`'s part of the summary, written by `scalemodel
/// node` (`id` as a number or a machine id).
pub fn node_name(id: impl std::fmt::Display) -> String {
    format!("node-{id}.json")
}

/// One peer's side of a link, as a networked machine saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSummary {
    /// The peer's id.
    pub peer: u8,
    /// Messages this machine sent to the peer.
    pub sent: u64,
    /// Of those, never to reach the peer: its link was gone or had ended
    /// when they were sent, or broke while they waited.
    pub undeliverable: u64,
    /// Of those, still waiting in this machine at the end.
    pub unsent: u64,
    /// What the peer's `Bye` said it sent, if it said.
    pub peer_sent: Option<u64>,
    /// Messages from the peer taken off the inbox.
    pub received: u64,
    /// Messages from the peer left in the inbox at the end.
    pub queued: u64,
    /// Messages from the peer that arrived after this machine's end.
    pub after_end: u64,
    /// Messages from the peer still on the connection when this machine
    /// closed it: read before the close and counted lost (0 in older files).
    #[serde(default)]
    pub dropped: u64,
    /// Protocol errors on the link.
    pub protocol_errors: u64,
    /// Why the link broke (or the peer ended early), if it did.
    pub lost: Option<String>,
    /// Model ns when the link broke, if it did (0 before the start).
    pub lost_at_ns: Option<u64>,
}

/// The parameters of a networked run, as each of its machines knows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetRun {
    /// The run's seed.
    pub seed: u64,
    /// The run's id, naming it (`--run-id`; `run` draws one per trial).
    pub run_id: u64,
    /// The run's length in model seconds.
    pub duration_s: f64,
    /// Model time runs this many times faster than wall time.
    pub speed: u32,
    /// Faces of the die.
    pub sides: u8,
    /// The range the rates were drawn from, or `null` when they were given.
    pub rate_range: Option<[u32; 2]>,
    /// Every machine's rate, by id: one per machine of the run.
    pub rates: Vec<u32>,
    /// Which machines talk to which; absent means `all`.
    #[serde(
        default,
        with = "crate::topology_name",
        skip_serializing_if = "crate::is_all"
    )]
    pub topology: scalemodel_core::Topology,
    /// Messages an inbox holds.
    pub inbox_capacity: usize,
    /// The clock carried beside Lamport's (`--clock`), as in `params.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
}

/// `node-<id>.json`: one networked machine's part of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSummary {
    /// The run's parameters.
    pub run: NetRun,
    /// The address it listened on.
    pub listen: String,
    /// Unix time in ns of model time 0.
    pub start_ns: u64,
    /// Its summary, as in `params.json`.
    pub machine: MachineSummary,
    /// Each peer's side of the links.
    pub peers: Vec<PeerSummary>,
    /// Ticks that ran after the next tick was already due (the machine's
    /// `max_behind` says how far; see the README's "When a machine cannot
    /// keep up").
    pub behind_ticks: u64,
    /// The latest a tick ran after its due time, in wall ns.
    pub max_late_ns: u64,
    /// Connections turned away because they never joined the run.
    pub rejected: u64,
    /// Protocol errors by kind (only kinds that happened), from peers and strangers.
    pub protocol_errors: BTreeMap<String, u64>,
    /// Wall ms from the process's start to its first tick.
    pub first_tick_ms: Option<f64>,
    /// The process's peak resident memory in KiB.
    pub peak_rss_kib: Option<u64>,
    /// The process's CPU time (user + system) in ms.
    pub cpu_ms: Option<f64>,
    /// The process's CPU time in ms from its first tick to the end of its
    /// loop: the steady state, without the set-up, the links and the start
    /// barrier (absent in older files and when the node never ticked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticking_cpu_ms: Option<f64>,
    /// What went wrong on the way, in words.
    pub notes: Vec<String>,
    /// Where the machine's node ran when not in this process: the board
    /// (`--board`), whose bridge this process was. Absent: here, on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How the process died, when it did: written by the launcher, which
    /// rebuilds a dead node's summary from its log (see `salvage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub died: Option<String>,
}

impl NodeSummary {
    /// Writes `dir/node-<id>.json`.
    pub fn write(&self, dir: &Path, id: u8) -> Result<(), RunDirError> {
        write_json(&dir.join(node_name(id)), self)
    }

    /// Reads `dir/node-<id>.json`.
    pub fn read(dir: &Path, id: u8) -> Result<Self, RunDirError> {
        read::read_json(&dir.join(node_name(id)))
    }
}
