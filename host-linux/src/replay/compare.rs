//! The replay against its trial, row by row, and the reason the data gives
//! for each machine's first divergence.

use scalemodel_core::fault::Fault;
use scalemodel_core::{N, period_ns};

use super::{NEAR_NS, Plan, Records, default_latency, due_unix, late_ns};
use crate::rundir::{Kind, Row, Run};

/// Two rows say the same, but for `system_ns` (and the line they are on).
fn same(a: &Row, b: &Row) -> bool {
    (
        a.machine,
        a.tick,
        a.model_ns,
        a.kind,
        a.clock,
        a.queue_len,
        &a.peers,
        a.msg_clock,
        &a.seqs,
    ) == (
        b.machine,
        b.tick,
        b.model_ns,
        b.kind,
        b.clock,
        b.queue_len,
        &b.peers,
        b.msg_clock,
        &b.seqs,
    )
}

/// Why the first rows that differ on a machine differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The message one of them took arrived within [`NEAR_NS`] of the
    /// tick's due time on the network (estimated: its send's `system_ns` plus
    /// the link's delay), so the measured order is finer than the data.
    NearTick {
        /// The message's sender.
        from: u8,
        /// Its `seq`.
        seq: u64,
        /// Its estimated arrival minus the tick's due time, in wall ns.
        gap_ns: i128,
    },
    /// The replay's links are not the trial's (`--latency`, `--jitter`): a
    /// message that was in time for the tick in one is not in the other.
    Links {
        /// The message's sender.
        from: u8,
        /// Its `seq`.
        seq: u64,
        /// Its arrival minus the tick's due time with the trial's links and
        /// with the replay's, in wall ns.
        gaps_ns: (i128, i128),
    },
    /// Two messages from different peers arrived within [`NEAR_NS`] of each
    /// other, and the two runs took them in the other order.
    Crossed {
        /// The first message's sender and `seq` (the network took it).
        net: (u8, u64),
        /// The other's (the replay took it).
        replay: (u8, u64),
        /// The difference of their send times on the network, in wall ns.
        gap_ns: i128,
    },
    /// The network took a message that was sent more than [`NEAR_NS`] after
    /// the one the replay took: the earlier one was held on its way (its
    /// sender descheduled between logging the send and writing it, or its
    /// receiver between reading and taking it), which no log records.
    Overtaken {
        /// The message the network took (sent later).
        net: (u8, u64),
        /// The message the replay took (sent earlier).
        replay: (u8, u64),
        /// How much earlier the replay's was sent, in wall ns.
        gap_ns: u64,
    },
    /// The tick, or one just before it, ran more than a period late on the
    /// network (the host paused or starved the process).
    Late {
        /// The tick that ran late.
        tick: u64,
        /// How late, in wall ns.
        late_ns: u64,
    },
    /// A machine in the message's path died or stopped just then.
    Fault {
        /// The machine.
        machine: u8,
    },
    /// A message's sender had diverged first: what it sent differed.
    Upstream {
        /// The sender.
        machine: u8,
        /// Its first line that differs.
        line: usize,
    },
    /// One log ends before the other (a death or stop at another instant).
    Ended,
    /// Nothing in the data explains it.
    Unexplained,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |ns: i128| ns as f64 / 1e6;
        match self {
            Self::NearTick { from, seq, gap_ns } => write!(
                f,
                "a message near a tick: {from}'s seq {seq} reached it about {:.3} ms {} the tick was due",
                ms(gap_ns.abs()),
                if *gap_ns <= 0 { "before" } else { "after" }
            ),
            Self::Links { from, seq, gaps_ns } => write!(
                f,
                "the links: {from}'s seq {seq} reached it {:.3} ms {} the tick was due with the trial's links, {:.3} ms {} with the replay's",
                ms(gaps_ns.0.abs()),
                if gaps_ns.0 <= 0 { "before" } else { "after" },
                ms(gaps_ns.1.abs()),
                if gaps_ns.1 <= 0 { "before" } else { "after" }
            ),
            Self::Crossed {
                net,
                replay,
                gap_ns,
            } => write!(
                f,
                "two messages met: {}'s seq {} and {}'s seq {} were sent {:.3} ms apart on the network, closer than the logs order their arrivals",
                net.0,
                net.1,
                replay.0,
                replay.1,
                ms(gap_ns.abs())
            ),
            Self::Overtaken {
                net,
                replay,
                gap_ns,
            } => write!(
                f,
                "a message held on its way: {}'s seq {} was sent {:.3} ms before {}'s seq {} but reached the receiver after it (a process descheduled after it logged the send, or a slow link)",
                replay.0,
                replay.1,
                *gap_ns as f64 / 1e6,
                net.0,
                net.1
            ),
            Self::Late { tick, late_ns } => write!(
                f,
                "a stall: tick {tick} ran {:.3} ms late on the network (paused or starved)",
                *late_ns as f64 / 1e6
            ),
            Self::Fault { machine } => write!(f, "a fault: machine {machine} died or stopped then"),
            Self::Upstream { machine, line } => write!(
                f,
                "machine {machine} diverged first (line {line}), so what it sent differs"
            ),
            Self::Ended => {
                f.write_str("one log ends earlier: the death or stop came at another instant")
            }
            Self::Unexplained => f.write_str("unexplained"),
        }
    }
}

/// The first rows that differ on one machine.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The network's row, if its log goes that far.
    pub net: Option<Row>,
    /// The replay's row, if its log goes that far.
    pub replay: Option<Row>,
    /// The line both would be on (the header is line 1).
    pub line: usize,
    /// Why they differ.
    pub why: Why,
}

/// How far a network run and its replay agree, per machine.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Rows that agree, and rows in the longer of the two logs.
    pub rows: [(usize, usize); N],
    /// Each machine's first divergence.
    pub first: [Option<Divergence>; N],
}

impl Agreement {
    /// Rows that agree and rows in all, over the machines.
    pub fn total(&self) -> (usize, usize) {
        self.rows
            .iter()
            .fold((0, 0), |(a, n), &(x, y)| (a + x, n + y))
    }
}

/// Compares a network run's logs with its replay's, row by row.
pub fn compare(run: &Run, replay: &Records, plan: &Plan) -> Agreement {
    let replay: [Vec<Row>; N] = std::array::from_fn(|m| {
        let records = &replay.0[m];
        records
            .iter()
            .enumerate()
            .map(|(i, r)| Row::from_record(r, i + 2))
            .collect()
    });
    let mut rows = [(0, 0); N];
    let mut first_at: [Option<usize>; N] = [None; N];
    for m in 0..N {
        let (a, b) = (&run.logs[m], &replay[m]);
        let agree = a.iter().zip(b).filter(|(x, y)| same(x, y)).count();
        rows[m] = (agree, a.len().max(b.len()));
        first_at[m] = (0..a.len().max(b.len())).find(|&i| match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => !same(x, y),
            _ => true,
        });
    }
    let first = std::array::from_fn(|m| {
        first_at[m].map(|i| {
            let (net, rep) = (run.logs[m].get(i).cloned(), replay[m].get(i).cloned());
            let why = explain(run, plan, &first_at, &net, &rep);
            Divergence {
                net,
                replay: rep,
                line: i + 2,
                why,
            }
        })
    });
    Agreement { rows, first }
}

/// The message a receive row took: its sender and `seq`.
fn taken(row: &Row) -> Option<(u8, u64)> {
    (row.kind == Kind::Receive).then(|| Some((*row.peers.first()?, *row.seqs.first()?)))?
}

/// Where the network's log of `from` holds the send of `seq` to `to`: its
/// index in the log and its row.
fn send_of(run: &Run, from: u8, to: u8, seq: u64) -> Option<(usize, &Row)> {
    let rows = run.logs.get(usize::from(from))?;
    rows.iter().enumerate().find(|(_, r)| {
        r.kind == Kind::Send
            && r.peers
                .iter()
                .zip(&r.seqs)
                .any(|(&t, &s)| t == to && s == seq)
    })
}

/// Why the first differing rows `net` and `rep` (of one machine) differ.
fn explain(
    run: &Run,
    plan: &Plan,
    first_at: &[Option<usize>; N],
    net: &Option<Row>,
    rep: &Option<Row>,
) -> Why {
    let p = &run.params;
    let (Some(net), Some(rep)) = (net, rep) else {
        return Why::Ended;
    };
    let me = net.machine;
    // A machine that died or stopped near here.
    for fault in plan.faults.as_slice() {
        if let Fault::Crash { machine, at_ns } | Fault::Stop { machine, at_ns } = *fault {
            let period = scalemodel_core::model_ns(1, p.rates[machine.index()]);
            if at_ns.abs_diff(net.model_ns) <= 2 * period {
                return Why::Fault {
                    machine: machine.get(),
                };
            }
        }
    }
    let messages: Vec<(u8, u64)> = [taken(net), taken(rep)].into_iter().flatten().collect();
    // A sender that diverged before it sent what this tick took.
    for &(from, seq) in &messages {
        if let Some((i, _)) = send_of(run, from, me, seq)
            && let Some(d) = first_at.get(usize::from(from)).copied().flatten()
            && d <= i
        {
            return Why::Upstream {
                machine: from,
                line: d + 2,
            };
        }
    }
    // This tick, or the one before, ran more than a period late.
    let rows = &run.logs[usize::from(me)];
    let period = period_ns(p.rates[usize::from(me)], p.speed);
    let at = rows.iter().position(|r| r.line == net.line).unwrap_or(0);
    for r in rows[at.saturating_sub(1)..=at].iter().rev() {
        let late = late_ns(p, r);
        if late > period {
            return Why::Late {
                tick: r.tick,
                late_ns: late,
            };
        }
    }
    let latency = i128::from(plan.config.latency_ns);
    let sent = |(from, seq): (u8, u64)| send_of(run, from, me, seq).map(|(_, r)| r.system_ns);
    if let (Some(a), Some(b)) = (taken(net), taken(rep))
        && a.0 != b.0
        && let (Some(ta), Some(tb)) = (sent(a), sent(b))
    {
        let gap_ns = i128::from(tb) - i128::from(ta);
        if gap_ns.unsigned_abs() <= u128::from(NEAR_NS) {
            return Why::Crossed {
                net: a,
                replay: b,
                gap_ns,
            };
        }
        if ta > tb {
            return Why::Overtaken {
                net: a,
                replay: b,
                gap_ns: ta - tb,
            };
        }
    }
    let due = i128::from(due_unix(p, net));
    // Other links than the trial's: a message in time in one, late in the other.
    let trial_latency = i128::from(default_latency(p));
    let in_time = |t: u64, latency: i128| i128::from(t) + latency <= due;
    let mut to_me = run.logs.iter().flatten().filter_map(|r| {
        let i = r
            .peers
            .iter()
            .position(|&to| to == me && r.kind == Kind::Send)?;
        Some(((r.machine, *r.seqs.get(i)?), r.system_ns))
    });
    let moved = |&((from, seq), t): &((u8, u64), u64)| {
        (in_time(t, trial_latency) != in_time(t, latency)).then_some(Why::Links {
            from,
            seq,
            gaps_ns: (
                i128::from(t) + trial_latency - due,
                i128::from(t) + latency - due,
            ),
        })
    };
    if latency != trial_latency || plan.config.jitter_ns > 0 {
        let taken_sent: Vec<_> = messages
            .iter()
            .filter_map(|&m| Some((m, sent(m)?)))
            .collect();
        if let Some(why) = taken_sent
            .iter()
            .find_map(moved)
            .or_else(|| to_me.find_map(|x| moved(&x)))
        {
            return why;
        }
    }
    // A message taken, or any message to this machine (which changes the
    // queue's length), that arrived near the tick's due time.
    let near = |(from, seq): (u8, u64), t: u64| {
        let gap_ns = i128::from(t) + latency - due;
        (gap_ns.unsigned_abs() <= u128::from(NEAR_NS)).then_some(Why::NearTick {
            from,
            seq,
            gap_ns,
        })
    };
    let taken_near = messages.iter().find_map(|&m| near(m, sent(m)?));
    taken_near
        .or_else(|| {
            run.logs.iter().flatten().find_map(|r| {
                let i = r
                    .peers
                    .iter()
                    .position(|&to| to == me && r.kind == Kind::Send)?;
                near((r.machine, *r.seqs.get(i)?), r.system_ns)
            })
        })
        .unwrap_or(Why::Unexplained)
}
