//! `report.md` of one run.

use std::fmt::Write as _;

use crate::text::{fixed, signed};
use scalemodel_analysis::{Analysis, drift_reference};
use scalemodel_rundir::{Params, Topology, not_completed};

use super::PLOTS;

/// `report.md`: short sections, tables, the pictures by relative path, units on every number.
pub fn trial(a: &Analysis) -> String {
    let p = &a.run.params;
    let mut md = String::new();
    let name = a.dir.file_name().map_or_else(
        || a.dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let rates = crate::text::and_list(&p.rates);
    let drawn = p.rate_range.map_or_else(
        || "given".to_owned(),
        |[lo, hi]| format!("drawn from {lo}..={hi}"),
    );
    let _ = writeln!(md, "# Run `{name}`\n");
    let _ = writeln!(
        md,
        "A `{}` run with seed {}: {} s of model time at speed {}, a die of {} sides, {}rates {rates} ticks/s ({drawn}).\n",
        p.mode,
        p.seed,
        p.duration_s,
        p.speed,
        p.sides,
        machines_phrase(p)
    );
    let _ = writeln!(md, "## Conformance\n");
    if a.violations.is_empty() {
        let _ = writeln!(
            md,
            "Every rule of the model holds: the receive rule, clocks that only increase, sends and internal events only with an empty inbox, each receive matched to one earlier send on its link by `seq` with the same clock, FIFO links, conservation per link, ticks on schedule; each `completed` honest, each end explained by the faults that acted, no `Bye` miscount or `seq` gap.\n"
        );
    } else {
        let _ = writeln!(md, "**{} violations:**\n", a.violations.total());
        for v in a.violations.iter() {
            let _ = writeln!(md, "- {v}");
        }
        if a.violations.not_kept() > 0 {
            let _ = writeln!(
                md,
                "- … and {} more, counted but not listed.",
                a.violations.not_kept()
            );
        }
        md.push('\n');
    }
    if let Some(ends) = not_completed(p) {
        let _ = writeln!(
            md,
            "**Not every machine completed** ({ends}): the model did not hold to the end of this run, so its figures describe a run with faults or overload.\n"
        );
    }
    if let Some(late) = scalemodel_rundir::lateness(p) {
        let _ = writeln!(
            md,
            "**Late ticks** ({late}). A late tick still took only what had arrived by its due time; its lateness delayed the messages it sent. A machine with ticks still owed after the run's end, or more than one tick behind its schedule at once with more than one tick in a hundred late, ends `overloaded`.\n"
        );
    }
    for pr in &p.processes {
        if let Some(cause) = &pr.died {
            let _ = writeln!(
                md,
                "**Machine {}'s process died** ({cause}): its summary was rebuilt from its log, which holds what the node had written; what it held (its inbox, its outbox) is its links' inferred loss.\n",
                pr.id
            );
        }
    }
    let _ = writeln!(md, "## Machines\n");
    let _ = writeln!(
        md,
        "| machine | rate (ticks/s) | ticks | receive / send / internal | final clock | jumps > 1 | mean jump | p99 change | largest change | drift mean / max (clock units) | drift trend (units/s) | inbox mean / p99 / max (msgs) | inbox growth (msgs/s) |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---|---:|"
    );
    for m in &a.figures {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} | {} / {} | {} | {:.1} / {} / {} | {} |",
            m.id,
            m.rate,
            m.ticks,
            m.receives,
            m.sends,
            m.internals,
            m.final_clock,
            m.jumps.jumps,
            // No jump has no mean size.
            if m.jumps.jumps == 0 {
                "–".to_owned()
            } else {
                format!("{:.2}", m.jumps.mean_jump)
            },
            m.jumps.p99,
            m.jumps.max,
            fixed(m.drift.mean, 1),
            m.drift.max,
            signed(m.drift.trend_per_s, 2),
            m.queue.mean,
            m.queue.p99,
            m.queue.max,
            signed(m.queue.growth_per_s, 3)
        );
    }
    let _ = writeln!(
        md,
        "\nA jump is a change of the clock by more than 1 in one event (only a receive can jump). Drift is how far a clock trails {}, at the same model time.\n",
        drift_reference(&p.rates)
    );
    let _ = writeln!(md, "## Queueing estimate\n");
    // The faces that send to a given peer, by the die of docs/MACHINES.md.
    let faces = match p.n() {
        3 => "face 3, and face 1 or 2".to_owned(),
        n => format!(
            "face {n}, to every other machine, and the one face of 1 to {} that names it",
            n - 1
        ),
    };
    let (n, sides) = (p.n(), p.sides);
    let _ = match p.topology {
        Topology::All => writeln!(
            md,
            "Each tick without a message sends to each peer with probability 2/{sides} ({faces}), so a machine's arrivals are 2/{sides} of its peers' free ticks per second, and a machine whose arrivals exceed its rate never has a free tick.\n",
        ),
        Topology::Ring => writeln!(
            md,
            "On the ring each tick without a message sends one message to the next machine with probability {n}/{sides} (faces 1 to {n}), so a machine's arrivals are {n}/{sides} of the previous machine's free ticks per second, and a machine whose arrivals exceed its rate never has a free tick.\n",
        ),
        Topology::Leader => writeln!(
            md,
            "Machine 0, the leader, sends one message to every other machine on each of faces 1 to {n} of a tick without a message, and the others never send: each other machine's arrivals are {n}/{sides} of the leader's free ticks per second, and the leader receives nothing.\n",
        ),
    };
    let _ = writeln!(
        md,
        "| machine | arrivals (msgs/s) | service (msgs/s) | load (arrivals ÷ service) | predicted growth (msgs/s) | measured growth (msgs/s) |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
    for m in &a.figures {
        let e = &m.estimate;
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.2} | {} | {} | {} |",
            m.id,
            e.arrivals_per_s,
            e.service_per_s,
            scalemodel_analysis::load_words(e.load),
            fixed(e.predicted_growth_per_s, 2),
            signed(e.measured_growth_per_s, 2)
        );
    }
    for m in a
        .figures
        .iter()
        .filter(|m| scalemodel_analysis::critical(m.estimate.load))
    {
        let _ = writeln!(
            md,
            "\nMachine {}'s load is {:.2}, within 10 % of 1: the critical case. The estimate predicts almost no growth, but its inbox wanders up and down like a random walk, so over one run it may grow (or shrink) well away from the prediction.",
            m.id, m.estimate.load
        );
    }
    if let Some(pairs) = &a.pairs {
        let _ = writeln!(md, "\n## Causality\n");
        let _ = writeln!(md, "{}", crate::causality::paragraph(pairs));
        if let Some(skew) = crate::causality::skew(p, &a.figures) {
            let _ = writeln!(md, "\n{skew}");
        }
        if let Some(hlc) = &a.hlc {
            let _ = writeln!(md, "\n{}", crate::causality::hlc_paragraph(hlc));
        }
        if let Some(carried) = crate::causality::carried_sentence(p.clock.as_deref()) {
            let _ = writeln!(md, "\n{carried}");
        }
    }
    let _ = writeln!(md, "\n## Links\n");
    let _ = writeln!(
        md,
        "| link | sent (msgs) | received (msgs) | left in inbox (msgs) | in flight (msgs) | lost, counted (msgs) | lost, inferred (msgs) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for l in &p.links {
        let _ = writeln!(
            md,
            "| {} → {} | {} | {} | {} | {} | {} | {} |",
            l.from, l.to, l.sent, l.received, l.queued, l.in_flight, l.lost, l.inferred
        );
    }
    let _ = writeln!(
        md,
        "\n`lost, counted` is what the sender or the simulator counted where it was lost; `lost, inferred` is what only the balance can tell, on a link one of whose machines crashed (nobody who could count it survived).\n"
    );
    match p.faults.as_deref() {
        None => {}
        Some([]) => {
            let _ = writeln!(md, "Faults that acted: none.\n");
        }
        Some(faults) => {
            let _ = writeln!(md, "Faults that acted:\n");
            for f in faults {
                let _ = writeln!(md, "- {f}");
            }
        }
    }
    if a.figures.iter().any(|m| m.timing.is_some()) {
        let _ = writeln!(md, "\n## Timing\n");
        let _ = writeln!(
            md,
            "| machine | rate error (%) | lateness p50 / p99 / max (µs) |"
        );
        let _ = writeln!(md, "|---:|---:|---|");
        for m in &a.figures {
            if let Some(t) = m.timing {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.0} / {:.0} / {:.0} |",
                    m.id,
                    signed(t.rate_error_pct, 4),
                    t.late_p50_us,
                    t.late_p99_us,
                    t.late_max_us
                );
            }
        }
    }
    let _ = writeln!(md, "\n## Pictures\n");
    for (file, title) in PLOTS {
        let _ = writeln!(md, "![{title}]({file})\n");
    }
    md
}

/// `N machines under the topology T, ` for a run other than three machines
/// under `all`, whose report reads as before the topologies.
fn machines_phrase(p: &Params) -> String {
    if p.n() == 3 && p.topology == Topology::All {
        String::new()
    } else {
        format!("{} machines under the topology `{}`, ", p.n(), p.topology)
    }
}
