//! What is known of a machine whose node process died: its log, cut back to
//! its last whole line, and a summary rebuilt from that log.
//!
//! A killed node writes no `node-<id>.json`. The launcher writes one for it,
//! ended `crashed`, with what its log shows (ticks, events, clock, what it
//! sent and took from each peer) and nothing it cannot know (its inbox at
//! death, its timing, its process figures). [`crate::merge`] then reports what
//! the crash destroyed as the links' `inferred`: nobody who could count it
//! survived.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use scalemodel_core::{HEADER, MachineId};

use crate::rundir::{
    self, End, Events, Kind, MachineSummary, NetRun, NodeSummary, PeerSummary, Row, RunDirError,
};

/// Cuts `dir/machine-<id>.csv` back to its last whole line (a node killed in
/// a write leaves half a line) and returns its rows; a missing or empty log
/// becomes a header alone.
pub fn cut_log(dir: &Path, id: MachineId) -> Result<Vec<Row>, RunDirError> {
    let path = dir.join(rundir::log_name(id));
    let write = |source| RunDirError::Write {
        path: path.clone(),
        source,
    };
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(RunDirError::Read {
                path: path.clone(),
                source,
            });
        }
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
    id: MachineId,
    listen: String,
    start_ns: u64,
    rows: &[Row],
    cause: &str,
) -> NodeSummary {
    let count = |kind: Kind, peer: u8| {
        rows.iter()
            .filter(|r| r.kind == kind && r.peers.contains(&peer))
            .count() as u64
    };
    let peers = [id.next(), id.other()]
        .iter()
        .map(|peer| PeerSummary {
            peer: peer.get(),
            sent: count(Kind::Send, peer.get()),
            // What the crash destroyed is worked out by the merge, from
            // what the peers received.
            undeliverable: 0,
            unsent: 0,
            peer_sent: None,
            received: count(Kind::Receive, peer.get()),
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
        id: id.get(),
        rate: run.rates[id.index()],
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
        notes: vec![format!(
            "the node died ({cause}); its summary is rebuilt by the launcher from its log, which holds what the node had written"
        )],
        died: Some(cause.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_line_is_cut_and_the_rows_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("machine-1.csv");
        let text = format!(
            "{HEADER}\n1,0,0,10,send,1,0,2,1,0\n1,1,500000000,20,receive,5,0,0,4,0\n1,2,1000000000,30,inter"
        );
        fs::write(&path, text).unwrap();
        let rows = cut_log(dir.path(), MachineId::ONE).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(fs::read_to_string(&path).unwrap().ends_with(",0,4,0\n"));
        let run = NetRun {
            seed: 1,
            run_id: 1,
            duration_s: 1.0,
            speed: 1,
            sides: 10,
            rate_range: None,
            rates: [1, 2, 3],
            inbox_capacity: 8,
        };
        let s = summary(run, MachineId::ONE, String::new(), 0, &rows, "killed");
        assert_eq!(s.machine.end, End::Crashed);
        assert_eq!((s.machine.ticks, s.machine.final_clock), (2, 5));
        assert_eq!(s.machine.max_jump, 4);
        assert_eq!(s.peers[0].peer, 2);
        assert_eq!((s.peers[0].sent, s.peers[1].received), (1, 1));
        assert_eq!(s.died.as_deref(), Some("killed"));
    }

    #[test]
    fn a_missing_log_becomes_a_header() {
        let dir = tempfile::tempdir().unwrap();
        assert!(cut_log(dir.path(), MachineId::TWO).unwrap().is_empty());
        let text = fs::read_to_string(dir.path().join("machine-2.csv")).unwrap();
        assert_eq!(text, format!("{HEADER}\n"));
    }
}
