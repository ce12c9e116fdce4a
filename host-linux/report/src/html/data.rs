//! What a trial's page draws, as compact columns: each number stored as its
//! difference from what the model predicts, so that a well-behaved run is
//! mostly zeros and ones (`trial.js` adds the predictions back).

use std::collections::HashMap;

use serde::Serialize;

use super::EVENTS_MAX;
use scalemodel_analysis::{Analysis, drift_series, fastest};
use scalemodel_rundir::{Kind, Row};

mod faults;

pub(super) use faults::{FaultMark, Lost};

/// Everything a trial's page draws, in compact columns.
#[derive(Debug, Serialize)]
pub struct TrialData {
    /// `start_ns` as text: it does not fit a JavaScript number.
    start_ns: String,
    speed: u32,
    duration_s: f64,
    fastest: usize,
    /// What the drift is measured against, in words (a tie names every
    /// machine that shares the highest rate).
    drift_reference: String,
    pub(super) events_total: usize,
    pub(super) events_embedded: usize,
    /// The model time the embedded events stop before, when cut.
    pub(super) cutoff_s: Option<f64>,
    lanes: Vec<Lane>,
    messages: Messages,
    /// Receives whose send is not in the logs.
    unmatched_receives: usize,
    /// The faults that acted, drawn where they acted.
    pub(super) faults: Vec<FaultMark>,
    /// The messages lost to a fault: drawn ending where they were lost.
    pub(super) lost: Lost,
    drift: DriftData,
    /// Per machine, (clock change, events) for each change.
    histograms: Vec<Vec<(u64, u64)>>,
    /// Per machine, its inbox growth measured and predicted, msgs per model
    /// second, and its load (arrivals ÷ service).
    growth: Vec<(f64, f64, f64)>,
}

/// One machine's events; `*_d` columns hold differences from a prediction
/// (see `trial.js` for the inverse).
#[derive(Debug, Serialize)]
struct Lane {
    id: u8,
    rate: u32,
    end: String,
    /// One letter per event: `s`end, `r`eceive, `i`nternal.
    kinds: String,
    /// `machine` column, only when some line names another machine.
    machine: Option<Vec<u8>>,
    /// `line - (previous line + 1)`, the header being line 1.
    line_d: Vec<i64>,
    /// `tick - (previous tick + 1)`, from -1.
    tick_d: Vec<i64>,
    /// `model_ns - floor(tick * 1e9 / rate)`, in f64 as JavaScript computes it.
    model_d: Vec<i64>,
    /// `system_ns - start_ns - floor(model_ns / speed)`.
    system_d: Vec<i64>,
    /// `clock - previous clock`, from 0.
    clock_d: Vec<i64>,
    queue: Vec<u64>,
    /// The last three columns as written: `peer,msg_clock,seq`.
    tail: Vec<String>,
}

/// Every message, by its send: the sender's event index, and the
/// receiver's, -1 when it was not received in the embedded events.
#[derive(Debug, Default, Serialize)]
struct Messages {
    from: Vec<u8>,
    send: Vec<u32>,
    to: Vec<u8>,
    recv: Vec<i64>,
}

#[derive(Debug, Serialize)]
struct DriftData {
    t: Vec<f64>,
    /// Per machine, its gap behind the fastest at each `t`.
    gaps: Vec<Vec<f64>>,
}

/// `a - b` for the JSON columns, saturating at the ends of i64.
fn diff(a: i128, b: i128) -> i64 {
    i64::try_from(a.saturating_sub(b)).unwrap_or(if a > b { i64::MAX } else { i64::MIN })
}

/// `floor(x / by)` in f64, as `trial.js` computes it; 0 when `by` is 0.
fn predict(x: f64, by: f64) -> i128 {
    if by > 0.0 {
        (x / by).floor() as i128
    } else {
        0
    }
}

/// How many events of each log to embed, and the cut-off time if cut.
fn embedded(logs: &[Vec<Row>]) -> (Vec<usize>, Option<u64>) {
    let total: usize = logs.iter().map(Vec::len).sum();
    if total <= EVENTS_MAX {
        return (logs.iter().map(Vec::len).collect(), None);
    }
    let mut times: Vec<u64> = logs.iter().flatten().map(|r| r.model_ns).collect();
    let (_, &mut cut, _) = times.select_nth_unstable(EVENTS_MAX);
    // At most EVENTS_MAX events lie strictly before the cut.
    let keep = logs
        .iter()
        .map(|rows| rows.iter().take_while(|r| r.model_ns < cut).count())
        .collect();
    (keep, Some(cut))
}

impl TrialData {
    /// The page's data for the analysed trial `a`.
    pub fn of(a: &Analysis) -> Self {
        let p = &a.run.params;
        let (keep, cut) = embedded(&a.run.logs);
        let logs: Vec<&[Row]> = a
            .run
            .logs
            .iter()
            .zip(&keep)
            .map(|(l, &k)| &l[..k])
            .collect();
        let lanes = logs
            .iter()
            .enumerate()
            .map(|(i, rows)| {
                let rate = p.rates.get(i).copied().unwrap_or(0);
                let end = p
                    .machines
                    .iter()
                    .find(|m| usize::from(m.id) == i)
                    .map_or_else(|| "unknown".to_owned(), |m| m.end.to_string());
                lane(i as u8, rate, end, rows, p.start_ns, p.speed)
            })
            .collect();
        let (messages, unmatched_receives) = messages(&logs);
        let faults = faults::marks(p, &a.run.logs);
        let lost = faults::lost(p, &faults, &logs, &messages, cut.is_none());
        let fast = fastest(&p.rates);
        let series: Vec<Vec<(f64, f64)>> = (0..a.run.logs.len())
            .map(|i| drift_series(&a.run, i))
            .collect();
        Self {
            start_ns: p.start_ns.to_string(),
            speed: p.speed,
            duration_s: p.duration_s,
            fastest: fast,
            drift_reference: scalemodel_analysis::drift_reference(&p.rates),
            events_total: a.run.logs.iter().map(Vec::len).sum(),
            events_embedded: keep.iter().sum(),
            cutoff_s: cut.map(|c| c as f64 / 1e9),
            lanes,
            messages,
            unmatched_receives,
            faults,
            lost,
            drift: DriftData {
                t: series[0].iter().map(|p| p.0).collect(),
                gaps: series
                    .iter()
                    .map(|s| s.iter().map(|p| p.1).collect())
                    .collect(),
            },
            histograms: a
                .figures
                .iter()
                .map(|m| m.jumps.histogram.iter().map(|(&k, &v)| (k, v)).collect())
                .collect(),
            growth: a
                .figures
                .iter()
                .map(|m| {
                    (
                        m.queue.growth_per_s,
                        m.estimate.predicted_growth_per_s,
                        m.estimate.load,
                    )
                })
                .collect(),
        }
    }
}

fn lane(id: u8, rate: u32, end: String, rows: &[Row], start_ns: u64, speed: u32) -> Lane {
    let mut l = Lane {
        id,
        rate,
        end,
        kinds: String::with_capacity(rows.len()),
        machine: rows
            .iter()
            .any(|r| r.machine != id)
            .then(|| rows.iter().map(|r| r.machine).collect()),
        line_d: Vec::with_capacity(rows.len()),
        tick_d: Vec::with_capacity(rows.len()),
        model_d: Vec::with_capacity(rows.len()),
        system_d: Vec::with_capacity(rows.len()),
        clock_d: Vec::with_capacity(rows.len()),
        queue: Vec::with_capacity(rows.len()),
        tail: Vec::with_capacity(rows.len()),
    };
    let (mut line, mut tick, mut clock) = (1i128, -1i128, 0i128);
    for r in rows {
        l.kinds.push(match r.kind {
            Kind::Send => 's',
            Kind::Receive => 'r',
            Kind::Internal => 'i',
        });
        l.line_d.push(diff(r.line as i128, line + 1));
        l.tick_d.push(diff(i128::from(r.tick), tick + 1));
        let model = predict(r.tick as f64 * 1e9, f64::from(rate));
        l.model_d.push(diff(i128::from(r.model_ns), model));
        let late = predict(r.model_ns as f64, f64::from(speed));
        let since = i128::from(r.system_ns) - i128::from(start_ns);
        l.system_d.push(diff(since, late));
        l.clock_d.push(diff(i128::from(r.clock), clock));
        l.queue.push(r.queue_len);
        l.tail.push(tail(r));
        (line, tick, clock) = (r.line as i128, i128::from(r.tick), i128::from(r.clock));
    }
    l
}

/// `peer,msg_clock,seq` as the log writes them.
fn tail(r: &Row) -> String {
    let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(";");
    let peers: Vec<u64> = r.peers.iter().map(|&p| u64::from(p)).collect();
    format!(
        "{},{},{}",
        join(&peers),
        r.msg_clock.map(|c| c.to_string()).unwrap_or_default(),
        join(&r.seqs)
    )
}

/// Every message of the logs, matched to its receive by link and `seq`;
/// and how many receives match no send.
fn messages(logs: &[&[Row]]) -> (Messages, usize) {
    // (from, to, seq) -> the receive's index in `to`'s log; the first wins.
    let mut received: HashMap<(u8, u8, u64), usize> = HashMap::new();
    for (to, rows) in logs.iter().enumerate() {
        for (i, r) in rows.iter().enumerate() {
            if let (Kind::Receive, Some(&from), Some(&seq)) =
                (r.kind, r.peers.first(), r.seqs.first())
            {
                received.entry((from, to as u8, seq)).or_insert(i);
            }
        }
    }
    let receives = received.len();
    let mut m = Messages::default();
    let mut matched = 0;
    for (from, rows) in logs.iter().enumerate() {
        for (i, r) in rows.iter().enumerate() {
            if r.kind != Kind::Send {
                continue;
            }
            for (&to, &seq) in r.peers.iter().zip(&r.seqs) {
                let recv = received.remove(&(from as u8, to, seq));
                matched += usize::from(recv.is_some());
                m.from.push(from as u8);
                m.send.push(u32::try_from(i).unwrap_or(u32::MAX));
                m.to.push(to);
                m.recv.push(recv.map_or(-1, |j| j as i64));
            }
        }
    }
    (m, receives - matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_saturate() {
        assert_eq!(diff(5, 3), 2);
        assert_eq!(diff(i128::from(u64::MAX), -1), i64::MAX);
        assert_eq!(diff(-1, i128::from(u64::MAX)), i64::MIN);
        assert_eq!(predict(10.0, 0.0), 0);
        assert_eq!(predict(1e9 * 7.0, 6.0), 1_166_666_666);
    }

    fn row(line: usize, kind: Kind, model_ns: u64, clock: u64, peers: &[u8], seqs: &[u64]) -> Row {
        Row {
            line,
            machine: 0,
            tick: line as u64 - 2,
            model_ns,
            system_ns: model_ns,
            kind,
            clock,
            queue_len: 0,
            peers: peers.to_vec(),
            msg_clock: (kind != Kind::Internal).then_some(clock),
            seqs: seqs.to_vec(),
            hlc: None,
            vc: None,
        }
    }

    #[test]
    fn a_send_to_both_is_two_messages_matched_by_link_and_seq() {
        let m0 = vec![row(2, Kind::Send, 0, 1, &[1, 2], &[0, 0])];
        let m1 = vec![
            row(2, Kind::Receive, 10, 2, &[0], &[0]),
            // No send of seq 5 on 2 -> 1.
            row(3, Kind::Receive, 20, 3, &[2], &[5]),
        ];
        let m2 = vec![row(2, Kind::Internal, 0, 1, &[], &[])];
        let (m, unmatched) = messages(&[&m0, &m1, &m2]);
        assert_eq!(
            (m.from, m.send, m.to, m.recv),
            (vec![0, 0], vec![0, 0], vec![1, 2], vec![0, -1])
        );
        assert_eq!(unmatched, 1);
        assert_eq!(tail(&m0[0]), "1;2,1,0;0");
        assert_eq!(tail(&m2[0]), ",,");
    }

    #[test]
    fn a_long_run_is_cut_at_a_time_with_at_most_the_limit_before_it() {
        let log = |n: usize| -> Vec<Row> {
            (0..n)
                .map(|i| {
                    row(
                        i + 2,
                        Kind::Internal,
                        i as u64 * 1000,
                        i as u64 + 1,
                        &[],
                        &[],
                    )
                })
                .collect()
        };
        let logs = [log(EVENTS_MAX / 2), log(EVENTS_MAX / 2), log(10)];
        let (keep, cut) = embedded(&logs);
        assert!(keep.iter().sum::<usize>() <= EVENTS_MAX, "{keep:?}");
        assert_eq!(keep[2], 10);
        let cut = cut.expect("cut");
        assert!(logs[0][keep[0]].model_ns >= cut && logs[0][keep[0] - 1].model_ns < cut);
        let (keep, cut) = embedded(&[log(3), log(0), log(1)]);
        assert_eq!((keep, cut), (vec![3, 0, 1], None));
    }
}
