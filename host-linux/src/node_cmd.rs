//! `scalemodel node`: one machine of a networked run.
//!
//! With `--launcher` it talks to `scalemodel run` over stdin and stdout, one
//! line each way at a time:
//!
//! | node → launcher | launcher → node |
//! | --- | --- |
//! | `listening ADDR` | `peers A0 A1 A2` |
//! | `ready` (the start barrier passed) | `start UNIX_NS` |
//! | | `stop`, or stdin closing: end the run now |

use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scalemodel_core::{MachineId, Record};
use scalemodel_mio::node::INBOX_CAP;
use scalemodel_mio::{Config, End, Handle, Host, Node, NodeReport, Note, Start};

use crate::cli::{NodeArgs, Rates};
use crate::rundir::{
    self, LogWriter, MachineSummary, NetRun, NodeSummary, PeerSummary, RunDirError,
};
use crate::timerfd::TimerFd;
use crate::{procinfo, rundir::End as RunEnd};

/// How long a new connection may take to say `Hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(2);
/// Notes kept in the node's summary; more are counted.
const NOTES_MAX: usize = 100;
/// How long to wait for the peers' `Bye` after the end.
const BYE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `scalemodel node`.
pub fn run(args: &NodeArgs) -> Result<()> {
    let process_start = Instant::now();
    let id = MachineId::new(args.id).context("--id must be 0, 1 or 2")?;
    let model = &args.model;
    let Some(seed) = model.seed else {
        bail!("node needs --seed: every machine of a run must share it");
    };
    let Some(out) = &model.out else {
        bail!("node needs --out: the run directory its log goes to");
    };
    let rate = model.rates.resolve(seed)[id.index()];
    if let Some(start) = args.start_at {
        check_start(start)?;
    }
    if args.launcher {
        // Never outlive the launcher: its death stops this machine cleanly.
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
            .context("cannot tie this node to its launcher")?;
    }
    // Best effort: without it ticks are only later.
    let _ = crate::timerfd::tighten_timer_slack();

    let listen = match (args.listen, args.peers) {
        (Some(addr), _) => addr,
        (None, Some(peers)) => peers[id.index()],
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let peers = match args.peers {
        Some(peers) => peers,
        None => {
            say(&format!("listening {local}"))?;
            read_peers()?
        }
    };
    let next = peers[id.next().index()];

    std::fs::create_dir_all(out).map_err(|source| RunDirError::Create {
        path: out.clone(),
        source,
    })?;
    let log_path = out.join(rundir::log_name(id));
    if log_path.exists() {
        bail!(
            "{} exists already: a run never overwrites another",
            log_path.display()
        );
    }
    let config = Config {
        id,
        rate,
        sides: model.sides,
        seed,
        run: args.run_id.unwrap_or(seed),
        speed: model.speed,
        duration_ns: (model.duration * 1e9).round() as u64,
        next,
        connect_timeout: args.connect_timeout,
        hello_timeout: HELLO_TIMEOUT,
        bye_timeout: BYE_TIMEOUT,
        spin: args.spin,
    };
    let setup_before_node = process_start.elapsed();
    let node = Node::new(config, listener, TimerFd::new()?)?;
    let handle = node.handle();
    watch_signals(handle.clone())?;
    if args.launcher {
        watch_launcher(handle);
    }
    let start = match args.start_at {
        Some(t) => Start::At(t),
        None => Start::Handed,
    };
    if !args.launcher {
        eprintln!("machine {id}: rate {rate}, listening on {local}, connecting to {next}");
    }
    let mut host = NodeHost {
        id,
        log: LogWriter::create(out, id)?,
        launcher: args.launcher,
        notes: Vec::new(),
        notes_left_out: 0,
        failed: None,
    };
    let result = node.run(&mut host, start);
    let NodeHost {
        log,
        mut notes,
        notes_left_out,
        failed,
        ..
    } = host;
    if notes_left_out > 0 {
        notes.push(format!("… and {notes_left_out} more notes (on stderr)"));
    }
    log.finish()?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let report = result.map_err(|e| anyhow::anyhow!("machine {id}: {e}"))?;
    let run = NetRun {
        seed,
        run_id: args.run_id.unwrap_or(seed),
        duration_s: model.duration,
        speed: model.speed,
        sides: model.sides,
        rate_range: match &model.rates {
            Rates::Range(r) => Some([*r.start(), *r.end()]),
            Rates::Exact(_) => None,
        },
        rates: model.rates.resolve(seed),
        inbox_capacity: INBOX_CAP,
    };
    let summary = summarise(run, id, local, &report, notes, setup_before_node);
    summary.write(out, id)?;
    if args.launcher {
        say("done")?;
    } else {
        eprintln!(
            "machine {id}: {} ticks, ended {}; wrote {}",
            report.tally.ticks,
            summary.machine.end,
            out.display()
        );
    }
    Ok(())
}

/// A start far in the past would make the node rush through every tick it
/// missed, and one far ahead looks like a unit mistake: both are refused.
fn check_start(start_ns: u64) -> Result<()> {
    const PAST_NS: i128 = 60 * 1_000_000_000;
    const AHEAD_NS: i128 = 24 * 3_600 * 1_000_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let ahead = i128::from(start_ns) - now;
    if !(-PAST_NS..=AHEAD_NS).contains(&ahead) {
        bail!(
            "--start-at {start_ns} is {:.1} s from now; give a Unix time in ns at most a minute ago and at most a day ahead",
            ahead as f64 / 1e9
        );
    }
    Ok(())
}

/// Prints one line to the launcher.
fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

/// Reads `peers A0 A1 A2` from the launcher.
fn read_peers() -> Result<[SocketAddr; 3]> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the peers from the launcher")?;
    let Some(rest) = line.trim().strip_prefix("peers ") else {
        bail!(
            "expected `peers A0 A1 A2` from the launcher, got `{}`",
            line.trim()
        );
    };
    let peers = rest
        .split_whitespace()
        .map(|a| a.parse().with_context(|| format!("bad peer address `{a}`")))
        .collect::<Result<Vec<SocketAddr>>>()?;
    let n = peers.len();
    peers
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected three peer addresses from the launcher, got {n}"))
}

/// Turns `start` and `stop` lines (and stdin closing) into calls on `handle`.
fn watch_launcher(handle: Handle) {
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.trim().split_once(' ') {
                Some(("start", t)) => match t.parse() {
                    Ok(t) => handle.start_at(t),
                    Err(_) => eprintln!("bad start time from the launcher: `{t}`"),
                },
                _ if line.trim() == "stop" => break,
                _ => eprintln!("unknown line from the launcher: `{line}`"),
            }
        }
        // stdin closed: the launcher is gone or wants us to stop.
        handle.stop();
    });
}

/// Ctrl-C and SIGTERM end the run cleanly.
fn watch_signals(handle: Handle) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            handle.stop();
        }
    });
    Ok(())
}

struct NodeHost {
    id: MachineId,
    log: LogWriter,
    launcher: bool,
    notes: Vec<String>,
    notes_left_out: u64,
    failed: Option<RunDirError>,
}

impl Host for NodeHost {
    type Error = ();

    fn record(&mut self, record: &Record) -> Result<(), ()> {
        self.log.write(record).map_err(|e| {
            self.failed = Some(e);
        })
    }

    fn idle(&mut self) -> Result<(), ()> {
        self.log.flush().map_err(|e| {
            self.failed = Some(e);
        })
    }

    fn ready(&mut self) {
        if self.launcher && say("ready").is_err() {
            eprintln!("machine {}: the launcher is gone", self.id);
        }
    }

    fn note(&mut self, note: &Note) {
        eprintln!("machine {}: {note}", self.id);
        // Every note goes to stderr; the summary keeps the first NOTES_MAX
        // and counts the rest, so a flood of strangers cannot grow it.
        if self.notes.len() < NOTES_MAX {
            self.notes.push(note.to_string());
        } else {
            self.notes_left_out += 1;
        }
    }
}

fn summarise(
    run: NetRun,
    id: MachineId,
    listen: SocketAddr,
    report: &NodeReport,
    notes: Vec<String>,
    setup_before_node: Duration,
) -> NodeSummary {
    let t = &report.tally;
    let peers: Vec<PeerSummary> = [id.next(), id.other()]
        .iter()
        .map(|&peer| {
            let p = &report.peers[peer.index()];
            PeerSummary {
                peer: peer.get(),
                sent: p.sent,
                undeliverable: p.undeliverable,
                peer_sent: p.peer_sent,
                received: p.received,
                left: p.left,
                protocol_errors: p.protocol_errors,
                lost_at_ns: p.lost_at_model_ns,
            }
        })
        .collect();
    let left: u64 = peers.iter().map(|p| p.left).sum();
    // The node counts from its creation; the process started a little earlier.
    let first_tick_ms = report
        .first_tick_ns
        .map(|ns| (setup_before_node.as_nanos() as f64 + ns as f64) / 1e6);
    let rate = run.rates[id.index()];
    let end = match report.end {
        End::Completed => RunEnd::Completed,
        End::Interrupted => RunEnd::Interrupted,
        End::PeerLost => RunEnd::PeerLost,
    };
    NodeSummary {
        run,
        listen: listen.to_string(),
        start_ns: report.start_unix_ns,
        machine: MachineSummary {
            stalls: report.stalls,
            stalled_ns: report.stalled_ns,
            held: report.held,
            inbox_left: u32::try_from(left).unwrap_or(u32::MAX),
            ..MachineSummary::from_tally(id, rate, t, end)
        },
        peers,
        first_tick_ms,
        peak_rss_kib: procinfo::peak_rss_kib(),
        cpu_ms: procinfo::cpu_ms(),
        notes,
    }
}
