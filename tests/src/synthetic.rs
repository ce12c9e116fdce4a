//! A run of `n` machines written by hand, for the readers' tests while the
//! simulator runs three: the model of docs/MACHINES.md (the die for `n`,
//! the topology `all`) over links that deliver at once, every machine
//! ending `completed`. Its logs and `params.json` are what a simulated run
//! of `n` machines would write, so a reader that takes them reads `n`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;

use scalemodel::rundir::{
    End, Events, LinkSummary, MachineSummary, PARAMS, Params, Topology, log_name, model_links,
};
use scalemodel_core::{HEADER, model_ns, ticks_in};

/// Unix ns of the synthetic runs' model time 0.
const START_NS: u64 = 1_700_000_000_000_000_000;

/// A message in an inbox: its sender, clock and seq.
type Message = (usize, u64, u64);

/// One machine as the run goes.
#[derive(Default)]
struct Machine {
    tick: u64,
    clock: u64,
    inbox: VecDeque<Message>,
    /// The next seq on the link to each machine, by id.
    next_seq: Vec<u64>,
    /// The log, header first.
    log: String,
    events: [u64; 3],
    max_queue: u32,
    max_jump: u64,
}

/// A synthetic run of `n` machines: its parameters and summaries, and each
/// machine's log, by id.
pub struct Synthetic {
    /// `params.json`.
    pub params: Params,
    /// Each `machine-<id>.csv`, header first.
    pub logs: Vec<String>,
}

/// The next draw of a splitmix64 generator.
fn draw(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `n` machines for `duration_s` model seconds from `seed`: rates
/// drawn from 1..=6, a die of `n + 7` sides.
pub fn run(n: usize, seed: u64, duration_s: u32) -> Synthetic {
    let mut rng = seed;
    let rates: Vec<u32> = (0..n).map(|_| 1 + (draw(&mut rng) % 6) as u32).collect();
    let sides = n as u64 + 7;
    let duration_ns = u64::from(duration_s) * 1_000_000_000;
    let mut m: Vec<Machine> = (0..n)
        .map(|_| Machine {
            next_seq: vec![0; n],
            log: format!("{HEADER}\n"),
            ..Machine::default()
        })
        .collect();
    let (mut sent, mut received) = (vec![vec![0u64; n]; n], vec![vec![0u64; n]; n]);
    // Each tick in model time order, ties by id.
    while let Some(id) = (0..n)
        .filter(|&i| m[i].tick < ticks_in(duration_ns, rates[i]))
        .min_by_key(|&i| (model_ns(m[i].tick, rates[i]), i))
    {
        let t = model_ns(m[id].tick, rates[id]);
        let (clock_before, tick) = (m[id].clock, m[id].tick);
        let tail = if let Some((from, clock, seq)) = m[id].inbox.pop_front() {
            m[id].clock = m[id].clock.max(clock) + 1;
            received[from][id] += 1;
            m[id].events[0] += 1;
            format!(
                "receive,{},{},{from},{clock},{seq}",
                m[id].clock,
                m[id].inbox.len()
            )
        } else {
            m[id].clock += 1;
            let face = 1 + draw(&mut rng) % sides;
            let to: Vec<usize> = match face as usize {
                k if k < n => vec![(id + k) % n],
                k if k == n => (0..n).filter(|&to| to != id).collect(),
                _ => vec![],
            };
            let clock = m[id].clock;
            if to.is_empty() {
                m[id].events[2] += 1;
                format!("internal,{clock},0,,,")
            } else {
                m[id].events[1] += 1;
                let seqs: Vec<u64> = to
                    .iter()
                    .map(|&to| {
                        let seq = m[id].next_seq[to];
                        m[id].next_seq[to] += 1;
                        m[to].inbox.push_back((id, clock, seq));
                        sent[id][to] += 1;
                        seq
                    })
                    .collect();
                let join = |v: Vec<String>| v.join(";");
                let peers = join(to.iter().map(ToString::to_string).collect());
                let seqs = join(seqs.iter().map(ToString::to_string).collect());
                format!("send,{clock},0,{peers},{clock},{seqs}")
            }
        };
        let me = &mut m[id];
        me.max_jump = me.max_jump.max(me.clock - clock_before);
        me.max_queue = me.max_queue.max(me.inbox.len() as u32);
        let _ = writeln!(me.log, "{id},{tick},{t},{},{tail}", START_NS + t);
        me.tick += 1;
    }
    let queued = |from: usize, to: usize| m[to].inbox.iter().filter(|q| q.0 == from).count();
    let links = model_links(n, Topology::All)
        .map(|(from, to)| {
            let (f, t) = (usize::from(from), usize::from(to));
            LinkSummary {
                from,
                to,
                sent: sent[f][t],
                received: received[f][t],
                queued: queued(f, t) as u64,
                in_flight: 0,
                lost: 0,
                inferred: 0,
            }
        })
        .collect();
    let machines = m
        .iter()
        .enumerate()
        .map(|(id, me)| MachineSummary {
            id: id as u8,
            rate: rates[id],
            ticks: me.tick,
            events: Events {
                receive: me.events[0],
                send: me.events[1],
                internal: me.events[2],
            },
            max_queue: me.max_queue,
            final_clock: me.clock,
            max_jump: me.max_jump,
            stalls: 0,
            stalled_ns: 0,
            held: 0,
            inbox_left: me.inbox.len() as u32,
            end: End::Completed,
            behind_ticks: Some(0),
            max_behind: Some(0),
            late_ticks: Some(0),
            max_late_ns: Some(0),
            protocol_errors: Some(BTreeMap::new()),
        })
        .collect();
    let params = Params {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        seed,
        mode: "sim".to_owned(),
        duration_s: f64::from(duration_s),
        speed: 1,
        sides: sides as u8,
        rate_range: Some([1, 6]),
        rates,
        topology: Topology::All,
        latency_ns: Some(0),
        jitter_ns: Some(0),
        addresses: Vec::new(),
        start_ns: START_NS,
        inbox_capacity: 1 << 16,
        link_capacity: Some(1 << 16),
        machines,
        links,
        processes: Vec::new(),
        faults: Some(Vec::new()),
        skew: None,
        clock: None,
    };
    let logs = m.into_iter().map(|me| me.log).collect();
    Synthetic { params, logs }
}

impl Synthetic {
    /// Writes the run into the empty or new folder `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (id, log) in self.logs.iter().enumerate() {
            std::fs::write(dir.join(log_name(id)), log)?;
        }
        self.params.write(dir).map_err(std::io::Error::other)?;
        debug_assert!(dir.join(PARAMS).exists());
        Ok(())
    }
}
