//! What is known of a machine whose node process died: its log, cut back to
//! its last whole line, and a summary rebuilt from that log.
//!
//! A killed node writes no `node-<id>.json`. [`salvage`] writes one for it,
//! ended `crashed`, with what its log shows (ticks, events, clock, what it
//! sent and took from each peer) and nothing it cannot know (its inbox at
//! death, its timing, its process figures). [`crate::merge`] then reports what
//! the crash destroyed as the links' `inferred`: nobody who could count it
//! survived. `run` salvages the nodes it saw die; `analyze` salvages a
//! hand-started run's ([`salvage_missing`]): a machine without
//! `node-<id>.json` whose peers both finished and both lost it. Either way
//! its process's `died` and notes in `params.json` say so, and the report
//! names it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use scalemodel_core::{HEADER, MachineId};

use crate::{
    self as rundir, End, Events, Kind, MACHINES_MAX, MachineSummary, NetRun, NodeSummary,
    PeerSummary, Row, RunDirError,
};

/// Who rebuilt a dead node's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalvagedBy {
    /// `scalemodel run`, which saw the node's process die.
    Run,
    /// `scalemodel analyze`, which found its summary missing.
    Analyze,
}

impl std::fmt::Display for SalvagedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Run => "the launcher (`scalemodel run`)",
            Self::Analyze => "`scalemodel analyze`",
        })
    }
}

/// Why a hand-started run's missing summaries were not rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum SalvageError {
    /// A file could not be read or written.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// A machine without a summary was not lost by a peer that finished:
    /// it may still be running, or have ended without writing one.
    #[error(
        "{dir} has no node-{missing}.json, yet machine {peer} did not lose machine {missing}: is its node still running? (`analyze` rebuilds the summary of a node that died, which its peers lost)"
    )]
    NotLost {
        /// The run directory.
        dir: std::path::PathBuf,
        /// The machine without a summary.
        missing: u8,
        /// The peer that finished without losing it.
        peer: u8,
    },
}

/// Rebuilds the summary of machine `id` of the run in `dir`, dead of
/// `cause`: cuts its log back to its last whole line and writes its
/// `node-<id>.json` from it.
pub fn salvage(
    dir: &Path,
    id: u8,
    run: NetRun,
    listen: String,
    start_ns: u64,
    cause: &str,
    by: SalvagedBy,
) -> Result<(), RunDirError> {
    let rows = cut_log(dir, id)?;
    summary(run, id, listen, start_ns, &rows, cause, by).write(dir, id)
}

/// In a hand-started run (no `params.json`, some `node-<id>.json`): rebuilds
/// the summary of each machine that has none, as `run` does for a node it
/// saw die, once every peer that finished lost it. The run's machines are
/// as many as the first summary's `rates`. Returns those machines; none
/// when every summary is there (or none is).
pub fn salvage_missing(dir: &Path) -> Result<Vec<u8>, SalvageError> {
    if dir.join(rundir::PARAMS).exists() {
        return Ok(Vec::new());
    }
    let has = |id: u8| dir.join(rundir::node_name(id)).exists();
    let Some(first) = (0..MACHINES_MAX as u8).find(|&id| has(id)) else {
        return Ok(Vec::new());
    };
    let n = NodeSummary::read(dir, first)?.run.rates.len();
    let (present, missing): (Vec<u8>, Vec<u8>) =
        (0..n.min(MACHINES_MAX) as u8).partition(|&id| has(id));
    let summaries = present
        .iter()
        .map(|&id| Ok((id, NodeSummary::read(dir, id)?)))
        .collect::<Result<Vec<_>, RunDirError>>()?;
    for &dead in &missing {
        for (peer, s) in &summaries {
            // A machine with no link to the dead one (a ring's, a
            // leader's) has nothing to say of it.
            let kept_it = s.peers.iter().any(|p| p.peer == dead && p.lost.is_none());
            if kept_it {
                return Err(SalvageError::NotLost {
                    dir: dir.to_owned(),
                    missing: dead,
                    peer: *peer,
                });
            }
        }
    }
    let known = NodeSummary::read(dir, first)?;
    for &dead in &missing {
        let cause = format!("it wrote no {}", rundir::node_name(dead));
        salvage(
            dir,
            dead,
            known.run.clone(),
            "unknown".to_owned(),
            known.start_ns,
            &cause,
            SalvagedBy::Analyze,
        )?;
    }
    Ok(missing)
}

/// Cuts `dir/machine-<id>.csv` back to its last whole line (a node killed in
/// a write leaves half a line) and returns its rows; a missing or empty log
/// becomes a header alone.
pub fn cut_log(dir: &Path, id: u8) -> Result<Vec<Row>, RunDirError> {
    let path = dir.join(rundir::log_name(id));
    let write = |source| RunDirError::Write {
        path: path.clone(),
        source,
    };
    // A regular file only: a FIFO or a device in its place would never end.
    let bytes = match rundir::open_in(&path, u64::MAX) {
        Ok(file) => file.read_all().map_err(|source| RunDirError::Read {
            path: path.clone(),
            source,
        })?,
        Err(RunDirError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(write)?;
    file.set_len(whole as u64).map_err(write)?;
    let mut text = String::from_utf8_lossy(&bytes[..whole]).into_owned();
    if text.is_empty() {
        text = format!("{HEADER}\n");
        (&file).write_all(text.as_bytes()).map_err(write)?;
    }
    file.sync_all().map_err(write)?;
    // Lines that do not parse are left for the checker to name.
    Ok(rundir::parse_log(text.as_bytes()).rows)
}

/// The summary of machine `id`, dead of `cause`, from its log's `rows`.
pub fn summary(
    run: NetRun,
    id: u8,
    listen: String,
    start_ns: u64,
    rows: &[Row],
    cause: &str,
    by: SalvagedBy,
) -> NodeSummary {
    let count = |kind: Kind, peer: u8| {
        rows.iter()
            .filter(|r| r.kind == kind && r.peers.contains(&peer))
            .count() as u64
    };
    // Every machine it has a link with under the run's topology (`rates`
    // holds one rate each), from the next id on, as a node lists them.
    let n = run.rates.len().min(MACHINES_MAX) as u8;
    let me = MachineId::new(id, n);
    let peers = (1..n)
        .filter(|&k| me.is_some_and(|me| run.topology.link(me, k, n).0))
        .map(|k| ((u16::from(id) + u16::from(k)) % u16::from(n)) as u8)
        .map(|peer| PeerSummary {
            peer,
            sent: count(Kind::Send, peer),
            // What the crash destroyed is worked out by the merge, from
            // what the peers received.
            undeliverable: 0,
            unsent: 0,
            peer_sent: None,
            received: count(Kind::Receive, peer),
            queued: 0,
            after_end: 0,
            dropped: 0,
            protocol_errors: 0,
            lost: None,
            lost_at_ns: None,
        })
        .collect();
    let (mut clock, mut max_jump) = (0, 0);
    for r in rows {
        max_jump = r.clock.saturating_sub(clock).max(max_jump);
        clock = r.clock;
    }
    let kinds = |kind: Kind| rows.iter().filter(|r| r.kind == kind).count() as u64;
    let machine = MachineSummary {
        id,
        rate: run.rates.get(usize::from(id)).copied().unwrap_or(0),
        ticks: rows.len() as u64,
        events: Events {
            receive: kinds(Kind::Receive),
            send: kinds(Kind::Send),
            internal: kinds(Kind::Internal),
        },
        max_queue: rows
            .iter()
            .map(|r| u32::try_from(r.queue_len).unwrap_or(u32::MAX))
            .max()
            .unwrap_or(0),
        final_clock: clock,
        max_jump,
        stalls: 0,
        stalled_ns: 0,
        held: 0,
        inbox_left: 0,
        end: End::Crashed,
        // Its timing and errors died with it.
        behind_ticks: None,
        max_behind: None,
        late_ticks: None,
        max_late_ns: None,
        protocol_errors: None,
    };
    NodeSummary {
        run,
        listen,
        start_ns,
        machine,
        peers,
        behind_ticks: 0,
        max_late_ns: 0,
        rejected: 0,
        protocol_errors: Default::default(),
        first_tick_ms: None,
        peak_rss_kib: None,
        cpu_ms: None,
        ticking_cpu_ms: None,
        notes: vec![format!(
            "the node died ({cause}); its summary is rebuilt by {by} from its log, which holds what the node had written"
        )],
        host: None,
        died: Some(cause.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_half_line_is_cut_and_the_rows_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine-1.csv");
        let text = format!(
            "{HEADER}\n1,0,0,10,send,1,0,2,1,0\n1,1,500000000,20,receive,5,0,0,4,0\n1,2,1000000000,30,inter"
        );
        fs::write(&path, text).unwrap();
        let rows = cut_log(dir.path(), 1).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(fs::read_to_string(&path).unwrap().ends_with(",0,4,0\n"));
        let run = NetRun {
            seed: 1,
            run_id: 1,
            duration_s: 1.0,
            speed: 1,
            sides: 10,
            rate_range: None,
            rates: vec![1, 2, 3],
            topology: crate::Topology::All,
            inbox_capacity: 8,
            clock: None,
        };
        let s = summary(run, 1, String::new(), 0, &rows, "killed", SalvagedBy::Run);
        assert_eq!(s.machine.end, End::Crashed);
        assert_eq!((s.machine.ticks, s.machine.final_clock), (2, 5));
        assert_eq!(s.machine.max_jump, 4);
        assert_eq!(s.peers[0].peer, 2);
        assert_eq!((s.peers[0].sent, s.peers[1].received), (1, 1));
        assert_eq!(s.died.as_deref(), Some("killed"));
    }

    #[test]
    fn a_missing_summary_is_rebuilt_only_when_the_peers_lost_its_machine() {
        let dir = tempfile::tempdir().unwrap();
        let run = NetRun {
            seed: 3,
            run_id: 3,
            duration_s: 1.0,
            speed: 1,
            sides: 10,
            rate_range: None,
            rates: vec![1, 2, 3],
            topology: crate::Topology::All,
            inbox_capacity: 8,
            clock: None,
        };
        let row = "2,0,0,10,send,1,0,0,1,0";
        fs::write(
            dir.path().join("machine-2.csv"),
            format!("{HEADER}\n{row}\n2,1"),
        )
        .unwrap();
        let mut peers =
            [0, 1].map(|id| summary(run.clone(), id, String::new(), 5, &[], "-", SalvagedBy::Run));
        for (id, s) in (0..).zip(&peers) {
            s.write(dir.path(), id).unwrap();
        }
        // Nobody lost machine 2: it may still be running.
        let err = salvage_missing(dir.path()).unwrap_err();
        assert!(matches!(err, SalvageError::NotLost { .. }), "{err}");
        assert!(!dir.path().join("node-2.json").exists());
        for (id, s) in (0..).zip(&mut peers) {
            for p in &mut s.peers {
                p.lost = (p.peer == 2).then(|| "closed".to_owned());
            }
            s.write(dir.path(), id).unwrap();
        }
        assert_eq!(salvage_missing(dir.path()).unwrap(), [2]);
        let two = NodeSummary::read(dir.path(), 2).unwrap();
        assert_eq!((two.machine.end, two.machine.ticks), (End::Crashed, 1));
        assert_eq!((two.run, two.start_ns), (run, 5));
        assert!(
            two.notes[0].contains("`scalemodel analyze`"),
            "{:?}",
            two.notes
        );
        // The half line was cut.
        let log = fs::read_to_string(dir.path().join("machine-2.csv")).unwrap();
        assert!(log.ends_with(&format!("{row}\n")));
        // Every summary is there now: nothing more to rebuild.
        assert!(salvage_missing(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_missing_log_becomes_a_header() {
        let dir = tempfile::tempdir().unwrap();
        assert!(cut_log(dir.path(), 2).unwrap().is_empty());
        let text = fs::read_to_string(dir.path().join("machine-2.csv")).unwrap();
        assert_eq!(text, format!("{HEADER}\n"));
    }
}
