//! The rules on how a run ended, from `params.json` alone: what the swarm
//! once checked on its own, now applied by `analyze` to every run,
//! simulated or networked.
//!
//! - **end**: a machine says `completed` only when it ran every tick, was
//!   never more than one tick behind its schedule or ran at most one tick in
//!   a hundred late (files of version 0.1: never more than one behind),
//!   never stalled, and nothing was lost on its way to it; a
//!   link that lost messages has an end that does not say `completed`;
//! - **faults**: what went wrong is explained by the faults that acted (when
//!   `params.json` records them): a machine ends `crashed` exactly when a
//!   crash hit it; without faults nothing is lost and no machine ends
//!   `peer lost`, `interrupted` or `crashed`; a loss is only *inferred*
//!   where one end of the link crashed;
//! - **protocol**: no machine saw a `Bye` that miscounts or a `seq` gap or
//!   duplicate, which no fault makes.

use scalemodel_core::node::{BEHIND_MAX, LATE_PERCENT_MAX, late_within_bound};
use scalemodel_core::ticks_in;

use super::{Rule, Violation, Violations};
use scalemodel_rundir::{
    self as rundir, End, LinkSummary, MachineSummary, OverloadRule, Params, never_expected,
};

/// Checks how each machine and link of the run ended.
pub fn check_ends(params: &Params, out: &mut Violations) {
    let mut fail = |rule, detail| {
        out.push(Violation {
            file: rundir::PARAMS.to_owned(),
            line: None,
            tick: None,
            rule,
            detail,
        });
    };
    let machine = |id: u8| params.machines.iter().find(|m| m.id == id);
    let end_of = |id: u8| machine(id).map(|m| m.end);
    let duration_ns = params.duration_ns();
    let rule = params.overload_rule();
    for m in &params.machines {
        let into_it = params.links.iter().filter(|l| l.to == m.id);
        let lost_to_it = into_it.fold(0u64, |a, l| {
            a.saturating_add(l.lost).saturating_add(l.inferred)
        });
        if m.end == End::Completed
            && let Some(why) = dishonest(m, rule, ticks_in(duration_ns, m.rate), lost_to_it)
        {
            fail(
                Rule::End,
                format!("machine {} ended completed but {why}", m.id),
            );
        }
        for (kind, &count) in m.protocol_errors.iter().flatten() {
            if count > 0 && never_expected(kind) {
                fail(
                    Rule::Protocol,
                    format!("machine {} saw {count} `{kind}` protocol errors", m.id),
                );
            }
        }
    }
    for l in &params.links {
        let lost = l.lost.saturating_add(l.inferred);
        if lost > 0
            && end_of(l.from) == Some(End::Completed)
            && end_of(l.to) == Some(End::Completed)
        {
            fail(
                Rule::End,
                format!(
                    "link {}->{} lost {lost} messages, yet both ends ended completed",
                    l.from, l.to
                ),
            );
        }
        let crashed = |id| end_of(id) == Some(End::Crashed);
        if l.inferred > 0 && !crashed(l.from) && !crashed(l.to) {
            fail(
                Rule::Faults,
                format!(
                    "link {}->{}: {} messages inferred lost, but neither end crashed",
                    l.from, l.to, l.inferred
                ),
            );
        }
    }
    if let Some(faults) = &params.faults {
        for m in &params.machines {
            let hit = faults.iter().any(|f| f.crashed(m.id));
            if (m.end == End::Crashed) != hit {
                fail(
                    Rule::Faults,
                    format!(
                        "machine {} ended {}, but a crash {} it",
                        m.id,
                        m.end,
                        if hit { "hit" } else { "never hit" }
                    ),
                );
            }
        }
        if faults.is_empty() {
            for why in unexplained(params) {
                fail(Rule::Faults, format!("no fault acted, yet {why}"));
            }
        }
    }
}

/// Why machine `m`'s `completed` is false, if it is, under the file's
/// overload `rule`: `expected` ticks were due, and `lost_to_it` messages
/// were lost on their way to it.
fn dishonest(
    m: &MachineSummary,
    rule: OverloadRule,
    expected: u64,
    lost_to_it: u64,
) -> Option<String> {
    let behind = m.behind_ticks.unwrap_or(0);
    let mut why = Vec::new();
    if m.ticks != expected {
        why.push(format!("ran {} of {expected} ticks", m.ticks));
    }
    match (m.max_behind, rule, m.late_ticks) {
        (Some(most), OverloadRule::LateShare, Some(late))
            if most > BEHIND_MAX && !late_within_bound(late, m.ticks) =>
        {
            why.push(format!(
                "it was {most} ticks behind its schedule at once and {late} of its {} ticks ran late (more than {LATE_PERCENT_MAX} in a hundred)",
                m.ticks
            ));
        }
        // Nothing says the run absorbed the stall.
        (Some(most), OverloadRule::LateShare, None) | (Some(most), OverloadRule::Behind, _)
            if most > BEHIND_MAX =>
        {
            why.push(format!("it was {most} ticks behind its schedule at once"));
        }
        // Written before `max_behind`: then any tick a period late was overload.
        (None, _, _) if behind > 0 => why.push(format!("{behind} ticks ran a period late")),
        _ => {}
    }
    if m.stalls > 0 {
        why.push(format!("it stalled {} times", m.stalls));
    }
    if lost_to_it > 0 {
        why.push(format!(
            "{lost_to_it} messages were lost on their way to it"
        ));
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// What a run without faults must not show: a machine ended otherwise than
/// by the model's own limits, or a message lost.
fn unexplained(params: &Params) -> Vec<String> {
    let net = params.mode == "net";
    let end_of = |id: u8| params.machines.iter().find(|m| m.id == id).map(|m| m.end);
    let mut why = Vec::new();
    for m in &params.machines {
        // A host may fall behind its schedule on its own; the simulator never.
        let fine =
            matches!(m.end, End::Completed | End::Stalled) || (net && m.end == End::Overloaded);
        if !fine {
            why.push(format!("machine {} ended {}", m.id, m.end));
        }
    }
    for l in &params.links {
        // On the network a sender behind its schedule may still send after
        // its receiver's clean end: those are counted lost, at the sender.
        let late_sender = net && end_of(l.from) == Some(End::Overloaded);
        if l.inferred > 0 || (l.lost > 0 && !late_sender) {
            why.push(lost_words(l));
        }
    }
    why
}

fn lost_words(l: &LinkSummary) -> String {
    format!(
        "link {}->{} has {} messages lost and {} inferred",
        l.from, l.to, l.lost, l.inferred
    )
}
