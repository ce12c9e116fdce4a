//! `report.html`: one self-contained page per trial and per set of trials.
//!
//! Every byte of script and style is embedded (`include_str!`), so a page
//! works from `file://` with no network. The charts of time use uPlot
//! 1.6.32 (MIT, © 2022 Leon Sorokin; `html/uplot/`, licence in
//! `html/uplot/LICENSE`), vendored as published on npm; the space-time
//! diagram, the histogram and the box plots are our own canvas code
//! (`html/trial.js`, `html/set.js`).
//!
//! A trial's events are embedded as columns, each number stored as its
//! difference from what the model predicts (the next tick, the tick's
//! scheduled time, a clock that adds 1), so that a well-behaved run is mostly
//! zeros and ones; the page adds the predictions back and shows each log line
//! as written. At most [`EVENTS_MAX`] events are embedded: beyond that the
//! page holds the events before a cut-off time and says so.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::{Analysis, drift_series, fastest};
use crate::analyze_cmd::not_completed;
use crate::check::{Kind, Row};

use super::{ReportError, write_file};

mod set;

pub use set::set;

/// The most events a trial's page embeds: a one-hour run at 6 ticks/s on
/// every machine has 64,800, so a few hours fit whole, and a page of this
/// many loads in about a second.
pub const EVENTS_MAX: usize = 200_000;

const PAGE: &str = include_str!("html/page.html");
const STYLE: &str = include_str!("html/style.css");
const GUARD_JS: &str = include_str!("html/guard.js");
const COMMON_JS: &str = include_str!("html/common.js");
const TRIAL_JS: &str = include_str!("html/trial.js");
const UPLOT_JS: &str = include_str!("html/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("html/uplot/uPlot.min.css");

/// Writes `report.html` of the analysed trial `a` into its directory.
pub fn trial(a: &Analysis) -> Result<(), ReportError> {
    let data = TrialData::of(a);
    let body = trial_header(a, &data);
    let page = page(&title_of(a), &body, &json(&data), TRIAL_JS);
    write_file(&a.dir.join("report.html"), page)
}

/// The run's name: its folder's.
fn title_of(a: &Analysis) -> String {
    a.dir.file_name().map_or_else(
        || a.dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A whole page: the template filled in, scripts and styles inline.
fn page(title: &str, body: &str, data: &str, script: &str) -> String {
    fill(
        PAGE,
        &[
            ("title", &escape(title)),
            ("uplot_css", UPLOT_CSS),
            ("style", STYLE),
            ("guard_js", GUARD_JS),
            ("body", body),
            ("data", data),
            ("uplot_js", UPLOT_JS),
            ("common_js", COMMON_JS),
            ("page_js", script),
        ],
    )
}

/// `template` with each `{{key}}` replaced, in one pass: a value is never
/// searched for keys itself.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = &after[..end];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, end + 2))
        });
        match value {
            Some((v, used)) => {
                out.push_str(v);
                rest = &after[used..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<` can close it.
fn json(value: &impl Serialize) -> String {
    // Plain numbers, strings and lists: serialising cannot fail.
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
}

/// The header of a trial's page: what ran, and whether it held.
fn trial_header(a: &Analysis, data: &TrialData) -> String {
    let p = &a.run.params;
    let [r0, r1, r2] = p.rates;
    let drawn = p.rate_range.map_or_else(
        || "given".to_owned(),
        |[lo, hi]| format!("drawn from {lo}..={hi}"),
    );
    let mut h = format!(
        "<header><h1>Run <code>{}</code></h1>\n<p class=\"facts\">mode <b>{}</b> · seed <b>{}</b> · rates <b>{r0}, {r1}, {r2}</b> ticks/s ({}) · die of <b>{}</b> sides · <b>{}</b> s of model time at speed {}</p>\n",
        escape(&title_of(a)),
        escape(&p.mode),
        p.seed,
        escape(&drawn),
        p.sides,
        p.duration_s,
        p.speed
    );
    let total = a.violations.total();
    if total == 0 {
        h.push_str("<p class=\"ok\">Conforms: every rule of the model holds.</p>\n");
    } else {
        h.push_str(&format!(
            "<details class=\"bad\"><summary>{total} violation{} of the model's rules</summary><ul>",
            if total == 1 { "" } else { "s" }
        ));
        for v in a.violations.iter() {
            h.push_str(&format!("<li><code>{}</code></li>", escape(&v.to_string())));
        }
        if a.violations.not_kept() > 0 {
            h.push_str(&format!(
                "<li>… and {} more, counted but not listed.</li>",
                a.violations.not_kept()
            ));
        }
        h.push_str("</ul></details>\n");
    }
    match not_completed(p) {
        Some(ends) => h.push_str(&format!(
            "<p class=\"bad\">Not every machine completed: {}.</p>\n",
            escape(&ends)
        )),
        None => h.push_str("<p class=\"ok\">Every machine completed.</p>\n"),
    }
    if data.events_embedded < data.events_total {
        h.push_str(&format!(
            "<p class=\"bad\">This page holds the first {} of the run's {} events (those before {:.3} s of model time): a page holds at most {EVENTS_MAX}. The figures in <code>report.md</code> cover the whole run.</p>\n",
            data.events_embedded,
            data.events_total,
            data.cutoff_s.unwrap_or(0.0)
        ));
    }
    h.push_str("</header>\n");
    h
}

/// Everything a trial's page draws, in compact columns.
#[derive(Debug, Serialize)]
struct TrialData {
    /// `start_ns` as text: it does not fit a JavaScript number.
    start_ns: String,
    speed: u32,
    duration_s: f64,
    fastest: usize,
    events_total: usize,
    events_embedded: usize,
    /// The model time the embedded events stop before, when cut.
    cutoff_s: Option<f64>,
    lanes: Vec<Lane>,
    messages: Messages,
    /// Receives whose send is not in the logs.
    unmatched_receives: usize,
    drift: DriftData,
    /// Per machine, (clock change, events) for each change.
    histograms: Vec<Vec<(u64, u64)>>,
    /// Per machine, its inbox growth measured and predicted, msgs per model second.
    growth: Vec<(f64, f64)>,
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
    fn of(a: &Analysis) -> Self {
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
        let fast = fastest(&p.rates);
        let end_ns = (p.duration_s * 1e9) as u64;
        let series: Vec<Vec<(f64, f64)>> = a
            .run
            .logs
            .iter()
            .map(|rows| drift_series(&a.run.logs[fast], rows, end_ns))
            .collect();
        Self {
            start_ns: p.start_ns.to_string(),
            speed: p.speed,
            duration_s: p.duration_s,
            fastest: fast,
            events_total: a.run.logs.iter().map(Vec::len).sum(),
            events_embedded: keep.iter().sum(),
            cutoff_s: cut.map(|c| c as f64 / 1e9),
            lanes,
            messages,
            unmatched_receives,
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
                .map(|m| (m.queue.growth_per_s, m.estimate.predicted_growth_per_s))
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
    fn fill_replaces_keys_once_and_leaves_strangers() {
        let out = fill("a {{x}} b {{y}} {{z}} {{", &[("x", "{{y}}"), ("y", "2")]);
        assert_eq!(out, "a {{y}} b 2 {{z}} {{");
    }

    #[test]
    fn escaping_keeps_markup_out() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(json(&"</script>"), "\"\\u003c/script>\"");
    }

    #[test]
    fn differences_saturate() {
        assert_eq!(diff(5, 3), 2);
        assert_eq!(diff(i128::from(u64::MAX), -1), i64::MAX);
        assert_eq!(diff(-1, i128::from(u64::MAX)), i64::MIN);
        assert_eq!(predict(10.0, 0.0), 0);
        assert_eq!(predict(1e9 * 7.0, 6.0), 1_166_666_666);
    }
}
