//! Causality, rebuilt from a run's logs: each event's vector clock, from
//! its machine's order and the sends its receives match, and the figures
//! that hold Lamport's clocks and the timestamps against it.
//!
//! Any run has them, whatever clock it kept: a receive names its link and
//! `seq`, which names the send it took, and that is all happened-before
//! needs. Event `e` of machine `i` (its `k`-th, from 1) happened before
//! event `f` exactly when `V(f)[i] ≥ k`.
//!
//! Counting pairs needs no pass over pairs. For an event `f` of machine
//! `j` and another machine `i`, the events of `i` that happened before `f`
//! are its first `V(f)[i]`, and those that `f` happened before are a suffix
//! (the events whose `V[j]` reaches `f`'s): the concurrent ones lie between.
//! So every figure is exact, in `O(events × n × log events)`.

use std::collections::HashMap;

use serde::Serialize;

use scalemodel_rundir::{Kind, Row};

/// An event: its machine and its index in that machine's log (from 0).
pub type EventId = (u8, u32);

/// Every event's vector clock, and an order of the events that causality
/// allows (each receive after the send it took).
#[derive(Debug, Clone, Default)]
pub struct Causal {
    n: usize,
    /// Per machine, its events' clocks, `n` entries each, one after another.
    clocks: Vec<Vec<u64>>,
    order: Vec<EventId>,
    /// Per machine, per event: the send its receive took, if one did.
    sources: Vec<Vec<Option<EventId>>>,
    unmatched: u64,
}

impl Causal {
    /// Rebuilds the vector clocks of `logs`, a run of `logs.len()`
    /// machines (at most 256).
    ///
    /// A receive whose send is in no log (the sender's log lost its last
    /// lines, or a log is not honest) is taken as a local event and counted
    /// in [`unmatched`](Self::unmatched); so is one whose send its own
    /// machine logs later, or that would close a causal cycle, which only a
    /// log that breaks the model's rules can hold.
    pub fn of<L: AsRef<[Row]>>(logs: &[L]) -> Self {
        let n = logs.len().min(usize::from(u8::MAX) + 1);
        let logs: Vec<&[Row]> = logs[..n].iter().map(AsRef::as_ref).collect();
        let logs = &logs[..];
        let sends = Sends::of(logs);
        let mut c = Self {
            n,
            clocks: logs
                .iter()
                .map(|l| Vec::with_capacity(l.len() * n))
                .collect(),
            order: Vec::with_capacity(logs.iter().map(|l| l.len()).sum()),
            sources: logs.iter().map(|l| Vec::with_capacity(l.len())).collect(),
            unmatched: 0,
        };
        let mut next = vec![0usize; n];
        let mut vector = vec![0u64; n];
        loop {
            let mut advanced = false;
            for i in 0..n {
                while let Some(row) = logs[i].get(next[i]) {
                    let source = match receive_key(row, i).map(|k| sends.get(k)) {
                        // A send not yet taken in: wait for it.
                        Some(Some((from, at))) if at as usize >= next[usize::from(from)] => {
                            if usize::from(from) == i {
                                // Its own later send: no order can take it in.
                                None
                            } else {
                                break;
                            }
                        }
                        Some(Some(send)) => Some(send),
                        Some(None) | None => None,
                    };
                    c.push(i, next[i], source, row.kind == Kind::Receive, &mut vector);
                    next[i] += 1;
                    advanced = true;
                }
            }
            if !advanced {
                // Every machine left waits on a send another one waits
                // behind: a cycle. Take the first one's receive as local.
                let Some(i) = (0..n).find(|&i| next[i] < logs[i].len()) else {
                    break;
                };
                c.push(i, next[i], None, true, &mut vector);
                next[i] += 1;
            }
        }
        c
    }

    /// Appends event `index` of machine `i`, merging the clock of `source`.
    fn push(
        &mut self,
        i: usize,
        index: usize,
        source: Option<EventId>,
        receive: bool,
        vector: &mut [u64],
    ) {
        let n = self.n;
        let own = &self.clocks[i];
        match index.checked_sub(1) {
            Some(prev) => vector.copy_from_slice(&own[prev * n..index * n]),
            None => vector.fill(0),
        }
        if let Some((from, at)) = source {
            let theirs = self.clock((from, at));
            for (v, t) in vector.iter_mut().zip(theirs) {
                *v = (*v).max(*t);
            }
        } else if receive {
            self.unmatched += 1;
        }
        vector[i] += 1;
        self.clocks[i].extend_from_slice(vector);
        self.sources[i].push(source);
        // At most 256 machines and a log's rows held in memory: both fit.
        self.order.push((i as u8, index as u32));
    }

    /// Machines.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Events of machine `i`.
    pub fn len(&self, i: usize) -> usize {
        self.clocks.get(i).map_or(0, |c| c.len() / self.n.max(1))
    }

    /// The vector clock of `event`: `n` entries, its own machine's its
    /// index plus 1.
    pub fn clock(&self, (i, k): EventId) -> &[u64] {
        let start = k as usize * self.n;
        &self.clocks[usize::from(i)][start..start + self.n]
    }

    /// The send that receive `event` took, if it took a logged one.
    pub fn source(&self, (i, k): EventId) -> Option<EventId> {
        self.sources[usize::from(i)][k as usize]
    }

    /// Every event, each after everything that happened before it.
    pub fn order(&self) -> &[EventId] {
        &self.order
    }

    /// Receives taken as local events: see [`Causal::of`].
    pub fn unmatched(&self) -> u64 {
        self.unmatched
    }

    /// Whether `a` happened before `b` (never when they are one event).
    pub fn happened_before(&self, a: EventId, b: EventId) -> bool {
        a != b && self.clock(b)[usize::from(a.0)] > u64::from(a.1)
    }

    /// How many of machine `i`'s events `f` happened before: a suffix of
    /// its log, as `V[j]` never falls along it.
    fn after(&self, (j, k): EventId, i: usize) -> usize {
        let n = self.n;
        let column = usize::from(j);
        let clocks = &self.clocks[i];
        let len = self.len(i);
        let first = partition(len, |e| clocks[e * n + column] <= u64::from(k));
        len - first
    }
}

/// Every logged send, by link and `seq`. A link's seqs count from 0, one
/// per send, so each link holds its sends' indices in a vector by seq; a
/// seq beyond its sender's rows (only a bad log has one) goes to a map.
struct Sends {
    n: usize,
    /// By link `from * n + to`, then seq: the send's index in `from`'s
    /// log, or `u32::MAX`.
    dense: Vec<Vec<u32>>,
    sparse: HashMap<(u8, u8, u64), u32>,
}

impl Sends {
    fn of(logs: &[&[Row]]) -> Self {
        let n = logs.len();
        let mut sends = Self {
            n,
            dense: vec![Vec::new(); n * n],
            sparse: HashMap::new(),
        };
        for (i, log) in logs.iter().enumerate() {
            for (k, row) in log.iter().enumerate() {
                if row.kind != Kind::Send {
                    continue;
                }
                for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
                    // A log's rows held in memory: its indices fit a u32.
                    let (from, at) = (i as u8, k as u32);
                    match usize::try_from(seq) {
                        Ok(seq) if seq < log.len() && usize::from(to) < n => {
                            let link = &mut sends.dense[i * n + usize::from(to)];
                            if link.len() <= seq {
                                link.resize(seq + 1, u32::MAX);
                            }
                            link[seq] = at;
                        }
                        _ => {
                            sends.sparse.insert((from, to, seq), at);
                        }
                    }
                }
            }
        }
        sends
    }

    /// The send of `seq` on the link `from -> to`, if one was logged.
    fn get(&self, (from, to, seq): (u8, u8, u64)) -> Option<EventId> {
        let (f, t) = (usize::from(from), usize::from(to));
        let dense = usize::try_from(seq)
            .ok()
            .filter(|_| f < self.n && t < self.n)
            .and_then(|s| {
                let link = &self.dense[f * self.n + t];
                link.get(s).filter(|&&at| at != u32::MAX)
            });
        dense
            .or_else(|| self.sparse.get(&(from, to, seq)))
            .map(|&at| (from, at))
    }
}

/// The `(from, to, seq)` of a receive of machine `i`.
fn receive_key(row: &Row, i: usize) -> Option<(u8, u8, u64)> {
    if row.kind != Kind::Receive {
        return None;
    }
    Some((*row.peers.first()?, i as u8, *row.seqs.first()?))
}

/// The first index below `len` where `below` turns false (`below` true on
/// a prefix).
fn partition(len: usize, below: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The pairs of events on different machines, by how causality, Lamport's
/// clocks and the timestamps order them. Each unordered pair counts once.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pairs {
    /// Events in the logs.
    pub events: u64,
    /// Pairs of events on different machines.
    pub pairs: u64,
    /// Pairs where one happened before the other.
    pub ordered: u64,
    /// Pairs where neither did.
    pub concurrent: u64,
    /// `concurrent ÷ pairs`.
    pub concurrent_share: f64,
    /// Receives whose send no log holds, taken as local events.
    pub unmatched_receives: u64,
    /// Lamport's order against causality; absent when a machine's clock
    /// does not strictly increase (a broken rule the checker reports).
    pub lamport: Option<Order>,
    /// The order of the HLC replayed over the logs ([`crate::hlc`])
    /// against causality; absent only if its counter overflowed.
    pub hlc: Option<Order>,
    /// The timestamps' (`system_ns`) order against causality; absent when
    /// a machine's timestamps fall back.
    pub timestamps: Option<Timestamps>,
}

/// A logical clock's order (Lamport's, or the HLC's) against causality,
/// over cross-machine pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Order {
    /// Pairs whose clocks differ: the clock's order puts one first.
    pub ordered: u64,
    /// Of those, pairs that are concurrent: the order claims a cause
    /// that is not there.
    pub concurrent: u64,
    /// `concurrent ÷ ordered`: how often the clock's order disagrees with
    /// causality.
    pub disagree_share: f64,
    /// Concurrent pairs with equal clocks (only the machine id orders them).
    pub ties: u64,
    /// Causally ordered pairs whose clocks do not increase with the cause:
    /// 0 whenever the clock condition holds.
    pub inverted: u64,
}

/// The timestamps against causality, over causally ordered cross-machine
/// pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timestamps {
    /// Pairs whose effect carries an earlier timestamp than its cause.
    pub inverted: u64,
    /// Pairs whose cause and effect carry the same timestamp.
    pub ties: u64,
    /// `inverted ÷ ordered pairs`.
    pub inverted_share: f64,
}

/// The pair figures of `logs` (their vector clocks `causal`).
pub fn pairs(logs: &[Vec<Row>], causal: &Causal) -> Pairs {
    let n = causal.n();
    let logs = &logs[..n];
    let clock_rises = logs
        .iter()
        .all(|l| l.windows(2).all(|w| w[0].clock < w[1].clock));
    let time_rises = logs
        .iter()
        .all(|l| l.windows(2).all(|w| w[0].system_ns <= w[1].system_ns));
    let mut p = Pairs {
        events: logs.iter().map(|l| l.len() as u64).sum(),
        unmatched_receives: causal.unmatched(),
        ..Pairs::default()
    };
    let mut lamport = Counts::default();
    let hlc = crate::hlc::Replay::of(logs, causal).ok();
    let mut hlc_counts = Counts::default();
    let mut time = Timestamps::default();
    // Each machine's clocks and timestamps side by side, for the searches.
    let column = |get: fn(&Row) -> u64| -> Vec<Vec<u64>> {
        logs.iter().map(|l| l.iter().map(get).collect()).collect()
    };
    let (clocks, times) = (column(|r| r.clock), column(|r| r.system_ns));
    for (j, log) in logs.iter().enumerate() {
        for (k, f) in log.iter().enumerate() {
            let id = (j as u8, k as u32);
            let v = causal.clock(id);
            for i in j + 1..n {
                // Machine i's events: its first `b` are f's causes, those
                // from `a` on its effects, the ones between concurrent.
                let len = clocks[i].len();
                let b = (v[i] as usize).min(len);
                let a = len - causal.after(id, i).min(len - b);
                p.pairs += len as u64;
                p.ordered += (b + len - a) as u64;
                // On a column that rises, a search of a part of it is the
                // search of the whole, clamped to the part.
                if clock_rises {
                    lamport.count(&clocks[i], &f.clock, b, a);
                }
                if let Some(hlc) = &hlc {
                    hlc_counts.count(hlc.machine(i), &hlc.stamp(id), b, a);
                }
                if time_rises {
                    let early = times[i].partition_point(|&t| t < f.system_ns);
                    let late = times[i].partition_point(|&t| t <= f.system_ns);
                    // Causes stamped after f, effects before it.
                    time.inverted += (b - late.min(b) + early.max(a) - a) as u64;
                    time.ties += (late.min(b) - early.min(b) + late.max(a) - early.max(a)) as u64;
                }
            }
        }
    }
    p.concurrent = p.pairs - p.ordered;
    p.concurrent_share = share(p.concurrent, p.pairs);
    if clock_rises {
        p.lamport = Some(lamport.order(p.pairs));
    }
    if hlc.is_some() {
        p.hlc = Some(hlc_counts.order(p.pairs));
    }
    if time_rises {
        time.inverted_share = share(time.inverted, p.ordered);
        p.timestamps = Some(time);
    }
    p
}

/// A logical clock's [`Order`] as it is counted, with the pairs whose
/// clocks are equal.
#[derive(Default)]
struct Counts {
    order: Order,
    equal: u64,
}

impl Counts {
    /// Counts the pairs of an event stamped `key` with the events of
    /// another machine, stamped `keys` (strictly rising): its first `b`
    /// are the event's causes, those from `a` on its effects.
    fn count<K: Ord>(&mut self, keys: &[K], key: &K, b: usize, a: usize) {
        // On a column that rises, a search of a part of it is the search
        // of the whole, clamped to the part.
        let below = keys.partition_point(|c| c < key);
        let upto = keys.partition_point(|c| c <= key);
        let ties = upto.clamp(b, a) - below.clamp(b, a);
        self.equal += (upto - below) as u64;
        self.order.ties += ties as u64;
        self.order.concurrent += (a - b - ties) as u64;
        // Causes must be below the event's clock, effects above it.
        self.order.inverted += (b - below.min(b) + upto.max(a) - a) as u64;
    }

    /// The order over `pairs` pairs.
    fn order(self, pairs: u64) -> Order {
        let ordered = pairs - self.equal;
        Order {
            ordered,
            disagree_share: share(self.order.concurrent, ordered),
            ..self.order
        }
    }
}

/// `part ÷ whole`, 0 for an empty whole.
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
