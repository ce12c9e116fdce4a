//! The causality figures of a run in words, for `report.md`, the page and
//! the terminal.

use scalemodel_analysis::causality::Pairs;

/// `part` of `whole` as a percentage with one decimal, `–` of nothing.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".to_owned()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

/// One line: the concurrent share, and Lamport's and the timestamps'
/// disagreement with causality.
pub fn line(p: &Pairs) -> String {
    let mut s = format!(
        "{} of {} cross-machine event pairs concurrent",
        percent(p.concurrent, p.pairs),
        p.pairs
    );
    if let Some(l) = &p.lamport {
        s += &format!(
            "; Lamport's order claims a cause in {} of the pairs it orders",
            percent(l.concurrent, l.ordered)
        );
    }
    if let Some(t) = &p.timestamps {
        s += &format!(
            "; timestamps put {} of {} causes after their effect",
            t.inverted, p.ordered
        );
    }
    s
}

/// A paragraph of `report.md`: every figure, each with what it means.
pub fn paragraph(p: &Pairs) -> String {
    let mut s = format!(
        "Vector clocks rebuilt from the logs (each receive's link and `seq` name the send it took) order the run's {} events. Of the {} pairs of events on different machines, {} ({}) are concurrent: neither happened before the other; {} are causally ordered.",
        p.events,
        p.pairs,
        p.concurrent,
        percent(p.concurrent, p.pairs),
        p.ordered
    );
    match &p.lamport {
        Some(l) => {
            s += &format!(
                " Lamport's clocks differ on {} pairs, and {} of those ({}) are concurrent: Lamport's order puts one first where causality puts neither. {} concurrent pairs tie (equal clocks).",
                l.ordered,
                l.concurrent,
                percent(l.concurrent, l.ordered),
                l.ties
            );
            s += &if l.inverted == 0 {
                " Every causally ordered pair has a rising clock: the clock condition holds."
                    .to_owned()
            } else {
                format!(
                    " **{} causally ordered pairs have clocks that do not rise**: the clock condition fails.",
                    l.inverted
                )
            };
        }
        None => {
            s += " A machine's clock does not strictly rise, so Lamport's order is not compared (the violations above say where)."
        }
    }
    match &p.timestamps {
        Some(t) => {
            s += &format!(
                " The timestamps (`system_ns`) put the cause after its effect in {} of the {} causally ordered pairs ({}), and give both the same time in {}.",
                t.inverted,
                p.ordered,
                percent(t.inverted, p.ordered),
                t.ties
            );
        }
        None => s += " A machine's timestamps fall back, so their order is not compared.",
    }
    if p.unmatched_receives > 0 {
        s += &format!(
            " {} receives match no logged send and count as local events.",
            p.unmatched_receives
        );
    }
    s
}
