//! The causality figures of a run in words, for `report.md`, the page and
//! the terminal.

use scalemodel_analysis::MachineFigures;
use scalemodel_analysis::causality::Pairs;
use scalemodel_analysis::hlc::HlcFigures;
use scalemodel_rundir::Params;

use crate::text::grouped;

/// `part` of `whole` as a percentage with one decimal, `–` of nothing.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        let pct = 100.0 * part as f64 / whole as f64;
        // A few in a hundred thousand still show.
        let places = if pct > 0.0 && pct < 1.0 { 3 } else { 1 };
        format!("{pct:.places$} %")
    }
}

/// One line: the concurrent share, and Lamport's and the timestamps'
/// disagreement with causality.
pub fn line(p: &Pairs) -> String {
    let mut s = format!(
        "{} of {} cross-machine event pairs concurrent",
        percent(p.concurrent, p.pairs),
        grouped(p.pairs)
    );
    if let Some(l) = &p.lamport {
        s += &format!(
            "; Lamport's order claims a cause in {} of the pairs it orders",
            percent(l.concurrent, l.ordered)
        );
    }
    if let Some(h) = &p.hlc {
        s += &format!(", an HLC's in {}", percent(h.concurrent, h.ordered));
    }
    if let Some(t) = &p.timestamps {
        s += &format!(
            "; timestamps put {} of {} causes after their effect",
            grouped(t.inverted),
            grouped(p.ordered)
        );
    }
    s
}

/// A paragraph of `report.md`: every figure, each with what it means.
pub fn paragraph(p: &Pairs) -> String {
    let mut s = format!(
        "Vector clocks rebuilt from the logs (each receive's link and `seq` name the send it took) order the run's {} events. Of the {} pairs of events on different machines, {} ({}) are concurrent: neither happened before the other; {} are causally ordered.",
        grouped(p.events),
        grouped(p.pairs),
        grouped(p.concurrent),
        percent(p.concurrent, p.pairs),
        grouped(p.ordered)
    );
    match &p.lamport {
        Some(l) => {
            s += &format!(
                " Lamport's clocks differ on {} pairs, and {} of those ({}) are concurrent: Lamport's order puts one first where causality puts neither. {} concurrent pairs tie (equal clocks).",
                grouped(l.ordered),
                grouped(l.concurrent),
                percent(l.concurrent, l.ordered),
                grouped(l.ties)
            );
            s += &if l.inverted == 0 {
                " Every causally ordered pair has a rising clock: the clock condition holds."
                    .to_owned()
            } else {
                format!(
                    " **{} causally ordered pairs have clocks that do not rise**: the clock condition fails.",
                    grouped(l.inverted)
                )
            };
        }
        None => {
            s += " A machine's clock does not strictly rise, so Lamport's order is not compared (the violations above say where)."
        }
    }
    if let Some(h) = &p.hlc {
        s += &format!(
            " An HLC replayed over the same events (below) orders {} pairs, and {} of those ({}) are concurrent{}.",
            grouped(h.ordered),
            grouped(h.concurrent),
            percent(h.concurrent, h.ordered),
            if h.inverted == 0 {
                "; it too puts every cause before its effect"
            } else {
                "; **it puts some causes after their effects**, which its rules forbid"
            }
        );
    }
    match &p.timestamps {
        Some(t) => {
            s += &format!(
                " The timestamps (`system_ns`) put the cause after its effect in {} of the {} causally ordered pairs ({}), and give both the same time in {}.",
                grouped(t.inverted),
                grouped(p.ordered),
                percent(t.inverted, p.ordered),
                grouped(t.ties)
            );
        }
        None => s += " A machine's timestamps fall back, so their order is not compared.",
    }
    if p.unmatched_receives > 0 {
        s += &format!(
            " {} receives match no logged send and count as local events.",
            grouped(p.unmatched_receives)
        );
    }
    s
}

/// Under `sim --skew`: how far each machine's timestamps ran from true
/// time, first and last event, and the widest spread between two clocks.
pub fn skew(p: &Params, figures: &[MachineFigures]) -> Option<String> {
    let skew = p.skew.as_ref()?;
    let ms = |ns: i64| format!("{:+.3} ms", ns as f64 / 1e6);
    let each: Vec<String> = figures
        .iter()
        .map(|m| {
            format!(
                "machine {} {} at its first event, {} at its last",
                m.id,
                ms(m.clock_error.first_ns),
                ms(m.clock_error.last_ns)
            )
        })
        .collect();
    let ends = |f: fn(&MachineFigures) -> i64| {
        let (lo, hi) = figures
            .iter()
            .map(f)
            .fold((i64::MAX, i64::MIN), |(lo, hi), e| (lo.min(e), hi.max(e)));
        hi.saturating_sub(lo)
    };
    let spread = ends(|m| m.clock_error.first_ns).max(ends(|m| m.clock_error.last_ns));
    Some(format!(
        "Its physical clocks lie (`--skew`: offsets drawn from ±{} ms, drifts from ±{} ppm): each machine's timestamps run off true time, {}; two clocks differ by up to {:.3} ms.",
        skew.offset_ns as f64 / 1e6,
        skew.drift_ppm,
        each.join("; "),
        spread as f64 / 1e6
    ))
}

/// `ns` as milliseconds with three decimals.
fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// The replayed HLC in one line: how far `l` ran ahead of physical time,
/// against the bound, and how far `c` counted.
pub fn hlc_line(h: &HlcFigures) -> String {
    let bound = if h.within_bound { "holds" } else { "BROKEN" };
    let ahead = match h.max_ahead_at {
        Some(at) => format!(
            "l ahead of its machine's clock in {} of {} events, by at most {} (machine {}, tick {})",
            grouped(h.ahead),
            grouped(h.events),
            ms(h.max_ahead_ns),
            at.machine,
            at.tick
        ),
        None => format!(
            "l never ahead of its machine's clock in {} events",
            grouped(h.events)
        ),
    };
    format!(
        "{ahead}; bound ε {} ({bound}); c up to {}, above 0 in {} events",
        ms(h.epsilon_ns),
        h.max_c,
        grouped(h.counted)
    )
}

/// Where a run's vector clocks and HLC come from, for the page's header:
/// rebuilt and replayed from the logs, or carried in the machines'
/// messages (`clock` in `params.json`) and checked against those.
pub fn sources(clock: Option<&str>) -> (&'static str, &'static str) {
    let rebuilt = "vector clocks rebuilt from the logs";
    let replayed = "replayed over the logs' timestamps";
    match clock {
        Some("vector") => (
            "vector clocks carried in the messages, checked against those rebuilt from the logs",
            replayed,
        ),
        Some("hlc") => (
            rebuilt,
            "carried in the messages, checked against its replay over the logs' timestamps",
        ),
        _ => (rebuilt, replayed),
    }
}

/// The sentence `report.md` adds after a carried clock's paragraph.
pub fn carried_sentence(clock: Option<&str>) -> Option<&'static str> {
    match clock {
        Some("vector") => Some(
            "The machines carried vector clocks in their messages (`--clock vector`): the conformance check holds every logged vector to the one rebuilt from the logs, and each receive's message vector to its send's.",
        ),
        Some("hlc") => Some(
            "The machines carried this HLC in their messages (`--clock hlc`): the conformance check holds every logged stamp to the replay's, and each receive's message stamp to its send's.",
        ),
        _ => None,
    }
}

/// A paragraph of `report.md` on the replayed HLC.
pub fn hlc_paragraph(h: &HlcFigures) -> String {
    let mut s = "A hybrid logical clock (HLC: Kulkarni et al. 2014, the clock of CockroachDB and MongoDB) replayed over the logs, each event's timestamp (`system_ns`) its machine's physical time and each receive taking its send's stamp, as the machines would have carried it. ".to_owned();
    s += &match h.max_ahead_at {
        Some(at) => format!(
            "Its `l` ran ahead of its own machine's clock in {} of the {} events ({}), by at most {}, at machine {}'s tick {}: it had heard of a later time from a clock ahead of its own.",
            grouped(h.ahead),
            grouped(h.events),
            percent(h.ahead, h.events),
            ms(h.max_ahead_ns),
            at.machine,
            at.tick
        ),
        None => format!(
            "Its `l` was its own machine's clock at each of the {} events: no message came from a clock ahead.",
            grouped(h.events)
        ),
    };
    s += &if h.within_bound {
        format!(
            " The paper's bound, `l − pt ≤ ε` with `ε` the widest gap between two machines' clocks ({} here), holds.",
            ms(h.epsilon_ns)
        )
    } else {
        format!(
            " **The paper's bound, `l − pt ≤ ε` with `ε` the widest gap between two machines' clocks ({} here), is broken**: a machine's timestamps ran back, or are not its clock's.",
            ms(h.epsilon_ns)
        )
    };
    s += &format!(
        " Its counter `c` reached {}, and was above 0 in {} events ({}): stamps that a physical time alone would have tied or put in the wrong order.",
        h.max_c,
        grouped(h.counted),
        percent(h.counted, h.events)
    );
    s
}
