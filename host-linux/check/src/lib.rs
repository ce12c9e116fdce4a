//! `scalemodel-check`, the conformance checker: does a run obey the model's rules?
//!
//! Depends on `scalemodel-core` and `scalemodel-rundir`; the analysis and
//! the commands use it, and it uses none of them.
//!
//! It takes the logs as [`scalemodel_rundir`] reads them (the public CSV format) and reports
//! every violation with the file, line, tick and rule. Rules:
//!
//! - **format**: the header and every field parse; the `machine` column names the file's machine;
//! - **tick order**: ticks count 0, 1, 2, … in each log;
//! - **schedule**: `model_ns = tick * 1e9 / rate`, and no tick runs before it is due
//!   (`system_ns >= start_ns + model_ns / speed`);
//! - **clock**: each machine's clock strictly increases; a send or internal event adds
//!   exactly 1; a receive sets `max(clock, msg_clock) + 1`;
//! - **empty inbox**: sends and internal events happen only when the inbox is empty;
//! - **send**: a send carries its own clock, goes to one of the machine's
//!   peers or to every one (the die of a run of `n` machines), and numbers
//!   each link's messages 0, 1, 2, …;
//! - **topology**: a machine sends only on its topology's links (`params.json`'s
//!   `topology`: `all` every pair, `ring` to the next, `leader` machine 0 to
//!   every other, each of its sends to all);
//! - **match**: each receive matches exactly one earlier send on its link by `seq`,
//!   with the same clock, in FIFO order;
//! - **conservation**: per link (every link of the run, as
//!   [`scalemodel_rundir::model_links`] lists them), the logs agree with `params.json`, and
//!   `sent = received + queued + in_flight + lost + inferred` (the core's
//!   [`scalemodel_core::balance`]);
//! - **end**, **faults**, **protocol**: how each machine and link ended, from
//!   `params.json` (see [`ends`]).
//!
//! A run has `n` machines, as many as `params.json`'s `rates`: every rule
//! holds for any `n` from 3 to 16.

use std::path::Path;

use scalemodel_core::{Hlc, model_ns};

use scalemodel_rundir::{
    self as rundir, BadLines, Kind, MACHINES, MACHINES_MAX, Params, Row, Run, RunDirError,
    Topology, is_model_link, model_links,
};

pub mod ends;
mod sent;
pub mod violation;

use sent::{PerLink, SentLink, SentMsg};

pub use violation::{Rule, VIOLATIONS_KEPT, Violation, Violations};

/// Checks the run directory `dir`: the violations found, or why it could not be read.
pub fn check_dir(dir: &Path) -> Result<Violations, RunDirError> {
    Ok(check_run(&rundir::read_run(dir)?))
}

/// Every violation of a run that was read: its format's, then its rules'.
pub fn check_run(run: &Run) -> Violations {
    let mut violations = Violations::default();
    for (id, bad) in run.bad_lines.iter().enumerate() {
        violations.merge(format_violations(&rundir::log_name(id), bad));
    }
    violations.append(check(&run.params, &run.logs));
    violations
}

/// The lines of the log `file` that did not parse, as `format` violations.
pub fn format_violations(file: &str, bad: &BadLines) -> Violations {
    let kept = bad
        .iter()
        .map(|b| Violation {
            file: file.to_owned(),
            line: Some(b.line),
            tick: None,
            rule: Rule::Format,
            detail: b.detail.clone(),
        })
        .take(VIOLATIONS_KEPT)
        .collect();
    Violations::from_parts(kept, bad.total())
}

/// Checks the machines' logs (by id, one per rate in `params.json`)
/// against the model and the run's summary.
pub fn check(params: &Params, logs: &[Vec<Row>]) -> Violations {
    let slices: Vec<&[Row]> = logs.iter().map(Vec::as_slice).collect();
    check_slices(params, &slices)
}

/// [`check`] of logs held as slices (the swarm keeps spare rows past each
/// log's end, to be written over by the next case).
pub fn check_slices(params: &Params, logs: &[&[Row]]) -> Violations {
    Checker::default().check_slices(params, logs)
}

/// The checker with its room kept from run to run: a caller that checks
/// many runs of one size (the swarm) allocates nothing per run once the
/// room has grown, where a fresh check grows `n(n - 1)` vectors of sends
/// each time.
#[derive(Default)]
pub struct Checker {
    /// (from, to) -> the sends on that link, by seq.
    sent: PerLink<SentLink>,
    /// (from, to) -> the receives logged on that link.
    received: PerLink<u64>,
}

impl Checker {
    /// [`check_slices`] in this checker's room.
    pub fn check_slices(&mut self, params: &Params, logs: &[&[Row]]) -> Violations {
        let mut out = Violations::default();
        // A run read from a directory has from 3 to 16 machines; one built
        // in memory is held to the same bound.
        let n = params.n().min(MACHINES_MAX);
        if !MACHINES.contains(&params.n()) || logs.len() != n {
            out.push(summary_violation(format!(
                "{} logs for {} machines (`rates`), where a run has one log per machine and from {} to {MACHINES_MAX} machines",
                logs.len(),
                params.n(),
                MACHINES.start()
            )));
        }
        let log = |id: u8| logs.get(usize::from(id)).copied().unwrap_or_default();
        let (sent, received) = (&mut self.sent, &mut self.received);
        sent.reset(n, SentLink::clear);
        received.reset(n, |r| *r = 0);
        // At most `MACHINES_MAX` machines: the ids fit a u8.
        for id in 0..n as u8 {
            check_machine(params, n, id, log(id), sent, &mut out);
        }
        for id in 0..n as u8 {
            check_receives(params, n, id, log(id), sent, received, &mut out);
        }
        check_conservation(params, n, sent, received, &mut out);
        check_summary(params, n, logs, &mut out);
        ends::check_ends(params, &mut out);
        out
    }
}

/// A broken accounting rule in `params.json`.
fn summary_violation(detail: String) -> Violation {
    Violation {
        file: rundir::PARAMS.to_owned(),
        line: None,
        tick: None,
        rule: Rule::Conservation,
        detail,
    }
}

/// The machines' summaries agree with their logs.
fn check_summary(params: &Params, n: usize, logs: &[&[Row]], out: &mut Violations) {
    let mut fail = |detail| out.push(summary_violation(detail));
    if params.machines.len() != n {
        fail(format!(
            "{} machines summarised, expected {n}",
            params.machines.len()
        ));
    }
    let mut seen = [false; MACHINES_MAX];
    for m in &params.machines {
        let rows = logs.get(usize::from(m.id)).copied().unwrap_or_default();
        if usize::from(m.id) >= n {
            fail(format!(
                "a summary for machine {}, which does not exist",
                m.id
            ));
            continue;
        }
        // A second summary must not stand in for a missing one.
        if std::mem::replace(&mut seen[usize::from(m.id)], true) {
            fail(format!("machine {} summarised twice", m.id));
        }
        if m.rate != params.rates[usize::from(m.id)] {
            fail(format!(
                "machine {}: rate {} summarised, but `rates` says {}",
                m.id,
                m.rate,
                params.rates[usize::from(m.id)]
            ));
        }
        if m.ticks != rows.len() as u64 {
            fail(format!(
                "machine {}: {} ticks summarised, {} logged",
                m.id,
                m.ticks,
                rows.len()
            ));
        }
        // In u128: forged counts near u64::MAX must not wrap into a match.
        let queued: u128 = params
            .links
            .iter()
            .filter(|l| l.to == m.id)
            .map(|l| u128::from(l.queued))
            .sum();
        if queued != u128::from(m.inbox_left) {
            fail(format!(
                "machine {}: {} messages left in its inbox, but its links account for {queued}",
                m.id, m.inbox_left
            ));
        }
    }
    for (id, seen) in seen.iter().enumerate().take(n) {
        if !seen {
            fail(format!("machine {id} is not summarised"));
        }
    }
}

fn violation(id: u8, row: &Row, rule: Rule, detail: String) -> Violation {
    Violation {
        file: rundir::log_name(id),
        line: Some(row.line),
        tick: Some(row.tick),
        rule,
        detail,
    }
}

/// The HLC's rules (Kulkarni et al. 2014) on one row of a run that carried
/// one, `hlc` the machine's stamp before it: the stamp follows from it at
/// the row's `system_ns` (a receive's from the message's stamp too), so
/// `l` is never behind the machine's clock, and a send's message carries
/// the stamp it made.
fn check_hlc(row: &Row, hlc: &mut Hlc, fail: &mut impl FnMut(Rule, String)) {
    let Some((own, msg)) = row.hlc else {
        return fail(
            Rule::Format,
            "no HLC columns in a run that carried an HLC".to_owned(),
        );
    };
    let mut want = *hlc;
    let stepped = match (row.kind, msg) {
        (Kind::Receive, Some(m)) => want.receive(m, row.system_ns),
        (Kind::Send, Some(m)) if m != own => {
            fail(
                Rule::Clock,
                format!("a send's message HLC {m} differs from its HLC {own}"),
            );
            want.local(row.system_ns)
        }
        (Kind::Send | Kind::Internal, _) => want.local(row.system_ns),
        (Kind::Receive, None) => {
            return fail(
                Rule::Format,
                "a receive without its message's HLC".to_owned(),
            );
        }
    };
    if stepped.is_err() || own != want {
        fail(
            Rule::Clock,
            format!(
                "HLC {own} after a {:?} at system_ns {}, expected {want} from {hlc}",
                row.kind, row.system_ns
            ),
        );
    }
    *hlc = own;
}

/// The vector clock's rules on one row of machine `id`'s log in a run of
/// `n` machines that carried one, `vc` the machine's vector before it: a
/// send or internal event counts its own entry on; a receive takes the
/// componentwise maximum with the message's vector first (so it dominates
/// its send); a send's message carries the vector it made.
fn check_vector(
    row: &Row,
    id: u8,
    n: usize,
    vc: &mut Vec<u32>,
    fail: &mut impl FnMut(Rule, String),
) {
    let Some((own, msg)) = &row.vc else {
        return fail(
            Rule::Format,
            "no vector clock columns in a run that carried one".to_owned(),
        );
    };
    let fits = |v: &[u32]| v.len() == n;
    if !fits(own) || !msg.as_deref().is_none_or(fits) {
        return fail(
            Rule::Format,
            format!(
                "a vector clock of other than the run's {n} machines: vc {own:?}, msg_vc {msg:?}"
            ),
        );
    }
    let mut want = vc.clone();
    match (row.kind, msg) {
        (Kind::Receive, Some(m)) => {
            for (w, m) in want.iter_mut().zip(m) {
                *w = (*w).max(*m);
            }
        }
        (Kind::Receive, None) => {
            return fail(
                Rule::Format,
                "a receive without its message's vector clock".to_owned(),
            );
        }
        (Kind::Send, Some(m)) if m != own => fail(
            Rule::Clock,
            format!("a send's message vector {m:?} differs from its vector {own:?}"),
        ),
        (Kind::Send | Kind::Internal, _) => {}
    }
    // `id` is below `n`, the vector's length.
    let stepped = want[usize::from(id)].checked_add(1);
    if let Some(e) = stepped {
        want[usize::from(id)] = e;
    }
    if stepped.is_none() || *own != want {
        fail(
            Rule::Clock,
            format!(
                "vector {own:?} where the rule gives {want:?} (from {vc:?}, at a {} event)",
                format!("{:?}", row.kind).to_lowercase()
            ),
        );
    }
    vc.clone_from(own);
}

/// The rules one machine's log must obey on its own; collects its sends.
fn check_machine(
    params: &Params,
    n: usize,
    id: u8,
    rows: &[Row],
    sent: &mut PerLink<SentLink>,
    out: &mut Violations,
) {
    // `id` is below `n`, at most the number of rates.
    let rate = params.rates[usize::from(id)];
    let topology = params.topology;
    let is_sender = |from: u8| is_model_link(n, topology, from, id);
    let mut clock = 0u64;
    // The clock a run carried (`--clock hlc` from `(0, 0)`, `--clock
    // vector` from `n` zeros).
    let carried = params.clock.as_deref();
    let mut hlc = Hlc::new();
    let mut vc = vec![0u32; n];
    let mut expect_tick = 0u64;
    for row in rows {
        let mut fail = |rule, detail| out.push(violation(id, row, rule, detail));
        if row.machine != id {
            fail(
                Rule::Format,
                format!("`machine` is {} in machine {id}'s log", row.machine),
            );
        }
        if row.tick != expect_tick {
            fail(
                Rule::TickOrder,
                format!("tick {} where tick {expect_tick} was due", row.tick),
            );
        }
        // Go on from this row's tick, so that one gap is reported once.
        expect_tick = row.tick.saturating_add(1);
        let due = model_ns(row.tick, rate);
        if row.model_ns != due {
            fail(
                Rule::Schedule,
                format!(
                    "model_ns {} but tick {} at rate {rate} is due at {due}",
                    row.model_ns, row.tick
                ),
            );
        }
        let due = scalemodel_core::due_ns(params.start_ns, row.model_ns, params.speed);
        // Under `sim --skew`, due by the machine's own clock.
        let earliest = params
            .skew
            .as_ref()
            .map_or(due, |s| s.of(usize::from(id)).read(params.start_ns, due));
        if row.system_ns < earliest {
            fail(
                Rule::Schedule,
                format!(
                    "ran at system_ns {}, before it was due at {earliest}",
                    row.system_ns
                ),
            );
        }
        match carried {
            Some("hlc") => check_hlc(row, &mut hlc, &mut fail),
            Some("vector") => check_vector(row, id, n, &mut vc, &mut fail),
            _ => {}
        }
        if row.hlc.is_some() && carried != Some("hlc") {
            fail(
                Rule::Format,
                "HLC columns in a run whose params.json names no `clock` hlc".to_owned(),
            );
        }
        if row.vc.is_some() && carried != Some("vector") {
            fail(
                Rule::Format,
                "vector clock columns in a run whose params.json names no `clock` vector"
                    .to_owned(),
            );
        }
        let expect_clock = match (row.kind, row.msg_clock) {
            (Kind::Receive, Some(m)) => clock.max(m).saturating_add(1),
            (Kind::Receive, None) => {
                fail(Rule::Format, "a receive without `msg_clock`".to_owned());
                row.clock
            }
            (Kind::Send | Kind::Internal, _) => clock.saturating_add(1),
        };
        if row.clock != expect_clock || row.clock <= clock {
            let rule = match row.kind {
                Kind::Receive => format!(
                    "max({clock}, {}) + 1 = {expect_clock}",
                    row.msg_clock.unwrap_or(0)
                ),
                Kind::Send | Kind::Internal => format!("{clock} + 1 = {expect_clock}"),
            };
            fail(
                Rule::Clock,
                format!(
                    "clock {} after a {:?}, expected {rule}",
                    row.clock, row.kind
                ),
            );
        }
        clock = row.clock;
        if row.kind != Kind::Receive && row.queue_len != 0 {
            fail(
                Rule::EmptyInbox,
                format!(
                    "a {:?} with {} messages in the inbox",
                    row.kind, row.queue_len
                ),
            );
        }
        match row.kind {
            Kind::Send => check_send(n, topology, id, row, rows.len(), sent, &mut fail),
            Kind::Receive => {
                if row.peers.len() != 1 || row.seqs.len() != 1 || !is_sender(row.peers[0]) {
                    fail(
                        Rule::Format,
                        format!(
                            "a receive needs one peer of {:?} and one seq, found {:?} and {:?}",
                            senders_to(n, topology, id),
                            row.peers,
                            row.seqs
                        ),
                    );
                }
            }
            Kind::Internal => {
                if !row.peers.is_empty() || row.msg_clock.is_some() || !row.seqs.is_empty() {
                    fail(
                        Rule::Format,
                        "an internal event with a peer, msg_clock or seq".to_owned(),
                    );
                }
            }
        }
    }
}

/// The machines that may send to `id` under `topology`, in id order.
fn senders_to(n: usize, topology: Topology, id: u8) -> Vec<u8> {
    model_links(n, topology)
        .filter(|&(_, to)| to == id)
        .map(|(from, _)| from)
        .collect()
}

/// Whether a send may name `count` machines in a run of `n`: the die of
/// docs/MACHINES.md with the topology `all` sends to one machine (faces 1
/// to `n - 1`) or to every other (face `n`); `ring` to the next alone;
/// `leader` to every other.
fn fan_out_fits(n: usize, topology: Topology, count: usize) -> bool {
    match topology {
        Topology::All => count == 1 || count + 1 == n,
        Topology::Ring => count == 1,
        Topology::Leader => count + 1 == n,
    }
}

fn check_send(
    n: usize,
    topology: Topology,
    id: u8,
    row: &Row,
    rows: usize,
    sent: &mut PerLink<SentLink>,
    fail: &mut impl FnMut(Rule, String),
) {
    if row.msg_clock != Some(row.clock) {
        fail(
            Rule::Send,
            format!(
                "msg_clock {:?} differs from the clock {}",
                row.msg_clock, row.clock
            ),
        );
    }
    let distinct = (1..row.peers.len()).all(|i| !row.peers[..i].contains(&row.peers[i]));
    if row.peers.is_empty() || row.peers.len() != row.seqs.len() || !distinct {
        fail(
            Rule::Send,
            format!(
                "peers {:?} and seqs {:?} do not pair up",
                row.peers, row.seqs
            ),
        );
        return;
    }
    if !fan_out_fits(n, topology, row.peers.len()) {
        fail(
            Rule::Send,
            format!(
                "sent to {} machines {:?}; a send of {n} machines goes to one or to all {}",
                row.peers.len(),
                row.peers,
                n - 1
            ),
        );
    }
    for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
        if !is_model_link(n, Topology::All, id, to) {
            fail(
                Rule::Send,
                format!("sent to {to}, not a peer of machine {id}"),
            );
            continue;
        }
        if !is_model_link(n, topology, id, to) {
            fail(
                Rule::Topology,
                format!(
                    "sent to {to}, which the topology `{topology}` gives machine {id} no link to"
                ),
            );
            continue;
        }
        // A model link: both ends below `n`.
        let link = &mut sent[(usize::from(id), usize::from(to))];
        if seq != link.next {
            fail(
                Rule::Send,
                format!("seq {seq} on link {id}->{to} where {} was next", link.next),
            );
        }
        link.next = seq.saturating_add(1);
        let msg = SentMsg {
            clock: row.clock,
            system_ns: row.system_ns,
        };
        if !link.insert(seq, msg, rows) {
            fail(
                Rule::Send,
                format!("seq {seq} sent twice on link {id}->{to}"),
            );
        }
    }
}

/// Each receive matches the next send on its link.
fn check_receives(
    params: &Params,
    n: usize,
    id: u8,
    rows: &[Row],
    sent: &PerLink<SentLink>,
    received: &mut PerLink<u64>,
    out: &mut Violations,
) {
    // The seq due next on each link into `id`, by sender (any byte a bad
    // log names): FIFO without gaps or duplicates.
    let mut next_seq = [0u64; 1 << u8::BITS];
    for row in rows.iter().filter(|r| r.kind == Kind::Receive) {
        let (Some(&from), Some(&seq), Some(msg_clock)) =
            (row.peers.first(), row.seqs.first(), row.msg_clock)
        else {
            continue; // a format violation, reported already
        };
        // Only a model link's sends and receives exist; another `from` (a
        // format violation) finds no send.
        let link = is_model_link(n, params.topology, from, id)
            .then(|| (usize::from(from), usize::from(id)));
        if let Some(link) = link {
            received[link] += 1;
        }
        let next = &mut next_seq[usize::from(from)];
        let mut fail = |detail| out.push(violation(id, row, Rule::Match, detail));
        if seq != *next {
            fail(format!(
                "received seq {seq} on link {from}->{id} where seq {} was next (a gap, a duplicate or out of order)",
                *next
            ));
        }
        *next = (*next).max(seq.saturating_add(1));
        match link.and_then(|link| sent[link].get(seq)) {
            None => fail(format!("no send with seq {seq} on link {from}->{id}")),
            Some(s) => {
                if s.clock != msg_clock {
                    fail(format!(
                        "msg_clock {msg_clock} but the send with seq {seq} carried {}",
                        s.clock
                    ));
                }
                // Under `sim --skew` each timestamp reads its own
                // machine's clock, and a cause may be stamped after its
                // effect: `analyze` counts those, as figures.
                if params.skew.is_none() && s.system_ns > row.system_ns {
                    fail(format!(
                        "received at system_ns {} before it was sent at {}",
                        row.system_ns, s.system_ns
                    ));
                }
            }
        }
    }
}

fn check_conservation(
    params: &Params,
    n: usize,
    sent: &PerLink<SentLink>,
    received: &PerLink<u64>,
    out: &mut Violations,
) {
    let mut fail = |detail| out.push(summary_violation(detail));
    let expected = model_links(n, params.topology).count();
    if params.links.len() != expected {
        fail(format!(
            "{} links summarised, expected {expected}",
            params.links.len(),
        ));
    }
    // By (from, to); a model link's ends are below n.
    let mut seen = [[false; MACHINES_MAX]; MACHINES_MAX];
    for l in &params.links {
        if !is_model_link(n, params.topology, l.from, l.to) {
            fail(format!(
                "a summary for link {}->{}, which does not exist",
                l.from, l.to
            ));
            continue;
        }
        // A second summary must not stand in for a missing one.
        // A model link: both ends below n.
        let (f, t) = (usize::from(l.from), usize::from(l.to));
        if std::mem::replace(&mut seen[f][t], true) {
            fail(format!("link {}->{} summarised twice", l.from, l.to));
        }
        let logged_sent = sent[(f, t)].count as u64;
        let logged_received = received[(f, t)];
        // Named only in a failure: formatting it for every link cost more
        // than checking the link.
        let name = || format!("link {}->{}", l.from, l.to);
        if logged_sent != l.sent {
            fail(format!(
                "{}: the logs show {logged_sent} sent, the summary {}",
                name(),
                l.sent
            ));
        }
        if logged_received != l.received {
            fail(format!(
                "{}: the logs show {logged_received} received, the summary {}",
                name(),
                l.received
            ));
        }
        if let Err(gap) = l.balance() {
            fail(format!(
                "{}: sent {} != received {} + queued {} + in flight {} + lost {} + inferred {} ({gap})",
                name(),
                l.sent,
                l.received,
                l.queued,
                l.in_flight,
                l.lost,
                l.inferred
            ));
        }
    }
    for (from, to) in model_links(n, params.topology) {
        if !seen[usize::from(from)][usize::from(to)] {
            fail(format!("link {from}->{to} is not summarised"));
        }
    }
}
