//! The faults a trial's page draws where they acted, and where each message
//! lost to one was lost.
//!
//! The faults are `params.json`'s (the simulator's, or what `run` saw); a
//! file that records none (hand-started nodes) still shows a crash the run
//! proves: a machine that ended `crashed`. A time the record lacks (a
//! process that died, a node told to stop by Ctrl-C) is drawn at the
//! machine's last logged event, and said to be so.
//!
//! Which messages a fault destroyed is the links' accounting: per link,
//! `lost + inferred` of the messages never received. A receiver that
//! crashed lost every message it had not taken yet, so they are the oldest
//! unreceived ones; otherwise (a sender that crashed, a receiver that
//! stopped, a link garbage broke) the loss cut off the newest, and the
//! oldest are still in the inbox or on the way at the end. A pause or a
//! partition only delays (the links hold their bytes), so no message is
//! lost to one; they are drawn as spans. Where the page
//! holds only the events before a cut-off, only the first rule can be
//! applied.

use serde::Serialize;

use super::Messages;
use scalemodel_rundir::{End, FaultSummary, Params, Row};

/// The most faults a page draws: more than any run records.
const MARKS_MAX: usize = 256;

/// One fault drawn on the space-time diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(in crate::html) struct FaultMark {
    /// `crash`, `stop`, `pause`, `partition` or `garbage`.
    pub kind: &'static str,
    /// The lanes it acted on: the machine; a partition's two machines; the
    /// garbage's link, sender first.
    pub lanes: Vec<u8>,
    /// When it acted or began, in model seconds.
    pub from_s: f64,
    /// When a span ended, in model seconds.
    pub until_s: Option<f64>,
    /// False when the record has no time for it: drawn at the machine's
    /// last logged event.
    pub timed: bool,
    /// What it was, in words.
    pub text: String,
}

/// Messages lost to a fault (sparse: most runs have none), as columns.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(in crate::html) struct Lost {
    /// The message's index in [`Messages`].
    pub k: Vec<u32>,
    /// When it was lost, in model seconds.
    pub at_s: Vec<f64>,
    /// The lane it was lost on: its receiver's (it reached a machine that
    /// was gone, or was dropped there) or its sender's (it never left).
    pub lane: Vec<u8>,
    /// The index in the marks of the fault it was lost to, -1 when none
    /// explains it.
    pub fault: Vec<i64>,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The model time of machine `id`'s last logged event, 0 without one.
fn last_event_s(logs: &[Vec<Row>], id: u8) -> f64 {
    logs.get(usize::from(id))
        .and_then(|rows| rows.last())
        .map_or(0.0, |r| secs(r.model_ns))
}

/// The faults to draw, in the order the record gives them.
pub(super) fn marks(params: &Params, logs: &[Vec<Row>]) -> Vec<FaultMark> {
    let untimed = |id: u8, at_ns: Option<u64>| match at_ns {
        Some(t) => (secs(t), true),
        None => (last_event_s(logs, id), false),
    };
    let mark = |f: &FaultSummary| {
        let text = f.to_string();
        let (kind, lanes, (from_s, timed), until_s) = match *f {
            FaultSummary::Crash { machine, at_ns } => {
                ("crash", vec![machine], untimed(machine, at_ns), None)
            }
            FaultSummary::Stop { machine, at_ns } => {
                ("stop", vec![machine], untimed(machine, at_ns), None)
            }
            FaultSummary::Pause {
                machine,
                from_ns,
                until_ns,
            } => (
                "pause",
                vec![machine],
                (secs(from_ns), true),
                Some(secs(until_ns)),
            ),
            FaultSummary::Partition {
                a,
                b,
                from_ns,
                until_ns,
            } => (
                "partition",
                vec![a, b],
                (secs(from_ns), true),
                Some(secs(until_ns)),
            ),
            FaultSummary::Garbage { from, to, at_ns } => {
                ("garbage", vec![from, to], (secs(at_ns), true), None)
            }
        };
        let text = if timed {
            text
        } else {
            format!("{text}; no time recorded: drawn at its last logged event")
        };
        FaultMark {
            kind,
            lanes,
            from_s,
            until_s,
            timed,
            text,
        }
    };
    match &params.faults {
        Some(faults) => faults.iter().take(MARKS_MAX).map(mark).collect(),
        // No record: a crashed end is the one fault the run itself proves.
        None => params
            .machines
            .iter()
            .filter(|m| m.end == End::Crashed)
            .take(MARKS_MAX)
            .map(|m| FaultMark {
                text: format!(
                    "crash: machine {} (inferred: it ended crashed); drawn at its last logged event",
                    m.id
                ),
                ..mark(&FaultSummary::Crash {
                    machine: m.id,
                    at_ns: None,
                })
            })
            .collect(),
    }
}

/// The earliest mark of `kind` on exactly `lanes`, with its index.
fn first(marks: &[FaultMark], kind: &str, lanes: &[u8]) -> Option<(usize, f64)> {
    marks
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == kind && m.lanes == lanes)
        .map(|(i, m)| (i, m.from_s))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Where link `from → to`'s losses happened, for a message sent at `sent_s`:
/// the time, the lane, and the fault, for the losses that cut off the
/// newest messages (the receiver did not crash).
fn cut_off(marks: &[FaultMark], from: u8, to: u8, sent_s: f64) -> (f64, u8, i64) {
    let mut causes: Vec<(usize, f64, u8)> = Vec::new();
    if let Some((i, t)) = first(marks, "crash", &[from]) {
        causes.push((i, t, from));
    }
    if let Some((i, t)) = first(marks, "stop", &[to]) {
        causes.push((i, t, to));
    }
    for link in [[from, to], [to, from]] {
        if let Some((i, t)) = first(marks, "garbage", &link) {
            // On the link when it broke, dropped at the receiver; later, never sent.
            causes.push((i, t, if sent_s < t { to } else { from }));
        }
    }
    match causes.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((i, t, lane)) => (t.max(sent_s), lane, i as i64),
        None => (sent_s, from, -1),
    }
}

/// The messages of `m` lost to a fault. `logs` are the embedded events,
/// `whole` false when they stop at a cut-off.
pub(super) fn lost(
    params: &Params,
    marks: &[FaultMark],
    logs: &[&[Row]],
    m: &Messages,
    whole: bool,
) -> Lost {
    let mut out = Lost::default();
    let sent_s = |k: usize| -> f64 {
        let (from, at) = (usize::from(m.from[k]), m.send[k] as usize);
        logs.get(from)
            .and_then(|rows| rows.get(at))
            .map_or(0.0, |r| secs(r.model_ns))
    };
    let mut found: Vec<(u32, f64, u8, i64)> = Vec::new();
    for l in &params.links {
        let count = usize::try_from(l.lost.saturating_add(l.inferred)).unwrap_or(usize::MAX);
        if count == 0 {
            continue;
        }
        // A link's messages are in `seq` order in `m`.
        let unreceived: Vec<usize> = (0..m.from.len())
            .filter(|&k| m.from[k] == l.from && m.to[k] == l.to && m.recv[k] < 0)
            .collect();
        let count = count.min(unreceived.len());
        if let Some((i, crash_s)) = first(marks, "crash", &[l.to]) {
            for &k in &unreceived[..count] {
                found.push((k as u32, crash_s.max(sent_s(k)), l.to, i as i64));
            }
        } else if whole {
            for &k in &unreceived[unreceived.len() - count..] {
                let (at_s, lane, fault) = cut_off(marks, l.from, l.to, sent_s(k));
                found.push((k as u32, at_s, lane, fault));
            }
        }
    }
    found.sort_by_key(|f| f.0);
    for (k, at_s, lane, fault) in found {
        out.k.push(k);
        out.at_s.push(at_s);
        out.lane.push(lane);
        out.fault.push(fault);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_rundir::Kind;

    /// A network run's `params.json` where machine 2's process died: its
    /// links' losses are inferred; `faults` as given.
    fn params(faults: &str) -> Params {
        let machine = |id: u8, end: &str| {
            format!(
                r#"{{"id": {id}, "rate": 1, "ticks": 10, "events": {{"receive": 0, "send": 0, "internal": 0}}, "max_queue": 0, "final_clock": 0, "max_jump": 1, "stalls": 0, "stalled_ns": 0, "held": 0, "inbox_left": 0, "end": "{end}"}}"#
            )
        };
        let link = |from: u8, to: u8, sent: u64, inferred: u64| {
            format!(
                r#"{{"from": {from}, "to": {to}, "sent": {sent}, "received": {}, "queued": 0, "in_flight": 0, "inferred": {inferred}}}"#,
                sent - inferred
            )
        };
        let json = format!(
            r#"{{"version": "0", "seed": 1, "mode": "net", "duration_s": 10.0, "speed": 1, "sides": 10, "rate_range": null, "rates": [1, 1, 1], "latency_ns": null, "jitter_ns": null, "addresses": [], "start_ns": 0, "inbox_capacity": 8, "link_capacity": null, "machines": [{}, {}, {}], "links": [{}, {}] {faults}}}"#,
            machine(0, "peer lost"),
            machine(1, "peer lost"),
            machine(2, "crashed"),
            link(0, 2, 3, 2),
            link(2, 0, 1, 1),
        );
        serde_json::from_str(&json).unwrap()
    }

    fn row(line: usize, kind: Kind, model_s: u64, peer: u8, seq: u64) -> Row {
        Row {
            line,
            machine: 0,
            tick: model_s,
            model_ns: model_s * 1_000_000_000,
            system_ns: 0,
            kind,
            clock: line as u64,
            queue_len: 0,
            peers: vec![peer],
            msg_clock: Some(line as u64),
            seqs: vec![seq],
            hlc: None,
            vc: None,
        }
    }

    /// Machine 0 sends to 2 at 1, 3 and 6 s, and 2 received the first; 2
    /// sent one to 0 at 2 s, lost; 2's last logged event is at 4 s.
    fn logs() -> Vec<Vec<Row>> {
        vec![
            vec![
                row(2, Kind::Send, 1, 2, 0),
                row(3, Kind::Send, 3, 2, 1),
                row(4, Kind::Send, 6, 2, 2),
            ],
            vec![],
            vec![
                row(2, Kind::Receive, 1, 0, 0),
                row(3, Kind::Send, 2, 0, 0),
                row(4, Kind::Receive, 4, 0, 9),
            ],
        ]
    }

    #[test]
    fn a_crash_without_a_time_is_drawn_at_the_last_event_and_inferred_when_unrecorded() {
        let logs = logs();
        let slices: Vec<&[Row]> = logs.iter().map(Vec::as_slice).collect();
        let (m, _) = super::super::messages(&slices);
        for faults in [r#", "faults": [{"kind": "crash", "machine": 2}]"#, ""] {
            let p = params(faults);
            let marks = marks(&p, &logs);
            assert_eq!(marks.len(), 1, "{faults}: {marks:?}");
            let crash = &marks[0];
            assert_eq!(
                (
                    crash.kind,
                    crash.lanes.as_slice(),
                    crash.from_s,
                    crash.timed
                ),
                ("crash", &[2u8][..], 4.0, false),
                "{faults}"
            );
            assert!(
                crash.text.contains("drawn at its last logged event"),
                "{crash:?}"
            );
            assert_eq!(faults.is_empty(), crash.text.contains("inferred"));
            let lost = lost(&p, &marks, &slices, &m, true);
            // Into the crashed machine: the two it never took, at the crash
            // or, sent later, when sent. Out of it: the newest, at the crash.
            assert_eq!(lost.k, [1, 2, 3], "{m:?}");
            assert_eq!(lost.at_s, [4.0, 6.0, 4.0]);
            assert_eq!(lost.lane, [2, 2, 2]);
            assert_eq!(lost.fault, [0, 0, 0]);
        }
        // Nothing recorded, nothing crashed: nothing drawn.
        let mut p = params(r#", "faults": []"#);
        p.machines[2].end = End::PeerLost;
        assert!(marks(&p, &logs).is_empty());
    }

    #[test]
    fn garbage_drops_what_was_on_the_link_and_cuts_off_what_came_after() {
        let logs = logs();
        let slices: Vec<&[Row]> = logs.iter().map(Vec::as_slice).collect();
        let (m, _) = super::super::messages(&slices);
        let mut p =
            params(r#", "faults": [{"kind": "garbage", "from": 2, "to": 0, "at_ns": 5000000000}]"#);
        p.machines[2].end = End::PeerLost;
        let marks = marks(&p, &logs);
        assert_eq!(marks[0].lanes, [2, 0]);
        let lost = lost(&p, &marks, &slices, &m, true);
        // On 0 -> 2, the newest two: sent at 3 s (on the link at 5 s:
        // dropped at 2) and 6 s (never left 0); on 2 -> 0 the one sent at
        // 2 s, dropped at 0 when the link broke.
        assert_eq!(lost.k, [1, 2, 3]);
        assert_eq!(lost.at_s, [5.0, 6.0, 5.0]);
        assert_eq!(lost.lane, [2, 0, 0]);
        // A page cut short cannot tell which were cut off: none is drawn lost.
        assert_eq!(super::lost(&p, &marks, &slices, &m, false), Lost::default());
    }
}
