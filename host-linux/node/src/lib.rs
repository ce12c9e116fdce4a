//! `scalemodel-node`: one machine of a networked run, as `scalemodel node`
//! and as the lean `scalemodel-node` binary that `scalemodel run` starts
//! (see `main.rs`), or on a board behind its bridge ([`board`], the
//! `scalemodel-board` binary); with the run's [`key`], the handshake's
//! [`entropy`] and this process's figures ([`procinfo`]).
//!
//! Depends on `scalemodel-core`, `scalemodel-mio`, `scalemodel-timerfd`,
//! `scalemodel-rundir` (the log and `node-<id>.json`) and `scalemodel-cli`
//! (the flags), and on none of the checker, analysis or report crates.
//!
//! With `--launcher` it talks to `scalemodel run` over stdin and stdout, one
//! line each way at a time:
//!
//! | node → launcher | launcher → node |
//! | --- | --- |
//! | | `key HEX` (first: the run's key, 64 hex digits; never on the command line, where `ps` shows it) |
//! | `listening ADDR` | `peers A0 A1 ...` (one per machine) |
//! | `ready` (the start barrier passed) | `start UNIX_NS` |
//! | | `stop`, or stdin closing: end the run now |
//!
//! Started by hand, a node reads the key from `--key-file` (see [`crate::key`]).

use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, FromArgMatches};
use scalemodel_core::node::{self, CONNS, CONNS_MAX, Missing, NodeReport, Status, Timeouts};
use scalemodel_core::{Hlc, MACHINES_MAX, MachineId, Record, Stamp, Topology, VectorClock};
use scalemodel_mio::{Capacity, Config, Core, Handle, Host, Node, Note, Start};

use procinfo::{BOARD_BIN, NODE_BIN};
use scalemodel_cli::{ClockArg, NodeArgs, Peers};
use scalemodel_rundir::{
    self as rundir, End, LogWriter, MachineSummary, NetRun, NodeSummary, PeerSummary, RunDirError,
};
use scalemodel_timerfd::TimerFd;

pub mod board;
pub mod entropy;
pub mod key;
pub mod procinfo;

/// How long a new connection may take to finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for the peers' `Bye` after the end.
const BYE_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait between two dials of a next machine that refuses.
const RETRY: Duration = Duration::from_millis(100);
/// Notes kept in the node's summary; more are counted.
const NOTES_MAX: usize = 100;
/// How long a record may wait in the log's buffer when the loop goes idle,
/// at most: a record that logs a send is flushed before its frame is
/// written, the others when the oldest waiting one is this old (checked
/// each time the loop is about to wait, so at most a tick period later),
/// when the buffer fills, and at the end. One `write` per second instead of
/// one per tick: the write, which dirties the file's inode each time, was
/// a sixth of a node's CPU.
const LOG_LAG_MAX: Duration = Duration::from_secs(1);

/// The `main` of a lean binary (`scalemodel-node`, `scalemodel-board`):
/// parses the flags of `scalemodel node` as the command `name`, described
/// by `about`, and runs them with `run`. Help and version go to stdout and
/// exit 0; a bad flag exits 2, a failed run 1.
pub fn lean_main(
    name: &'static str,
    about: &'static str,
    run: fn(&NodeArgs) -> Result<()>,
) -> ExitCode {
    let argv = scalemodel_cli::negative_values_joined(std::env::args_os());
    // After the flags, which would describe the command as theirs.
    let mut command = NodeArgs::augment_args(clap::Command::new(name))
        .version(env!("CARGO_PKG_VERSION"))
        .about(about)
        .long_about(None);
    let args = command
        .try_get_matches_from_mut(&argv)
        .and_then(|mut m| NodeArgs::from_arg_matches_mut(&mut m))
        .map_err(|e| e.format(&mut command));
    let args = match args {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("Error: {text}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `scalemodel node`: a machine in this process ([`run_node`]) or, with
/// `--board`, on a board behind its bridge ([`run_board`]).
pub fn run(args: &NodeArgs) -> Result<()> {
    if args.board.is_some() {
        run_board(args)
    } else {
        run_node(args)
    }
}

/// Runs the machine in this process: a node of capacity three for three
/// machines (today's code and speed), of capacity sixteen for four to
/// sixteen. The lean `scalemodel-node` binary calls this alone, so that it
/// links no bridge (whose code would add to every node's resident pages).
pub fn run_node(args: &NodeArgs) -> Result<()> {
    if let Some(firmware) = &args.board {
        bail!(
            "--board {}: a board's bridge is `{BOARD_BIN}` (or `scalemodel node --board`), not `{NODE_BIN}`",
            firmware.display()
        );
    }
    match args.model.clock {
        ClockArg::Lamport => run_clocked::<()>(args),
        ClockArg::Hlc => run_clocked::<Hlc>(args),
        // A vector of the node's width.
        ClockArg::Vector if args.model.machines == 3 => {
            run_sized::<3, CONNS, VectorClock<3>>(args, drive_here::<3, CONNS, VectorClock<3>>)
        }
        ClockArg::Vector => run_sized::<WIDE, CONNS_MAX, VectorClock<WIDE>>(
            args,
            drive_here::<WIDE, CONNS_MAX, VectorClock<WIDE>>,
        ),
    }
}

/// Runs the machine on the board whose firmware `--board` names, as its
/// bridge (the `scalemodel-board` binary, and `scalemodel node --board`).
pub fn run_board(args: &NodeArgs) -> Result<()> {
    let Some(firmware) = &args.board else {
        bail!("{BOARD_BIN} needs --board PATH: the board's firmware (docs/MCU.md)");
    };
    // The board's firmware holds a node of three machines and Lamport's
    // clock alone.
    if args.model.machines != 3 || args.model.clock != ClockArg::Lamport {
        bail!("--board runs a machine of three, with --clock lamport: the firmware's node");
    }
    run_sized::<3, CONNS, ()>(args, |launch, host| drive_board(firmware, launch, host))
}

/// [`run_node`] with the machine carrying `S` beside Lamport's clock.
fn run_clocked<S: Stamp>(args: &NodeArgs) -> Result<()>
where
    Core<3, CONNS, S>: Capacity,
    Core<{ MACHINES_MAX as usize }, CONNS_MAX, S>: Capacity,
{
    if args.model.machines == 3 {
        run_sized::<3, CONNS, S>(args, drive_here::<3, CONNS, S>)
    } else {
        // Under `all`, sixteen machines give a node fifteen links; the
        // slots left over take strangers.
        run_sized::<WIDE, CONNS_MAX, S>(args, drive_here::<WIDE, CONNS_MAX, S>)
    }
}

/// The capacity of a node of four to sixteen machines.
const WIDE: usize = MACHINES_MAX as usize;

/// Runs a machine of a node of at most `M` machines and `C` connection
/// slots: reads the set-up, has `drive` run the node, writes the summary.
fn run_sized<const M: usize, const C: usize, S: Stamp>(
    args: &NodeArgs,
    drive: impl FnOnce(Launch<'_>, &mut NodeHost) -> Result<NodeReport<M>>,
) -> Result<()>
where
    Core<M, C, S>: Capacity,
{
    let process_start = Instant::now();
    let model = &args.model;
    model.check().map_err(anyhow::Error::msg)?;
    let n = model.machines;
    let id = MachineId::new(args.id, n)
        .with_context(|| format!("--id {} must be below --machines {n}", args.id))?;
    let topology = model.topology;
    let Some(seed) = model.seed else {
        bail!("node needs --seed: every machine of a run must share it");
    };
    let Some(out) = &model.out else {
        bail!("node needs --out: the run directory its log goes to");
    };
    let rate = model.rates.resolve(seed, n)[id.index()];
    if let Some(Peers(peers)) = &args.peers
        && peers.len() != usize::from(n)
    {
        bail!(
            "--peers gives {} addresses, but --machines is {n}: give one per machine, in id order",
            peers.len()
        );
    }
    if let Some(start) = args.start_at {
        check_start(start)?;
    }
    let key = match &args.key_file {
        Some(path) => crate::key::read_file(path).context("--key-file")?,
        None if args.launcher => read_key()?,
        None => bail!(
            "node needs --key-file: the file with the run's secret, the same on every machine"
        ),
    };
    if args.launcher {
        // Never outlive the launcher: its death stops this machine cleanly.
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
            .context("cannot tie this node to its launcher")?;
    }
    // Best effort: without it ticks are only later.
    let _ = scalemodel_timerfd::tighten_timer_slack();

    let listen = match (args.listen, &args.peers) {
        (Some(addr), _) => addr,
        (None, Some(Peers(peers))) => peers[id.index()],
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let peers = match &args.peers {
        Some(Peers(peers)) => peers.clone(),
        None => {
            say(&format!("listening {local}"))?;
            read_peers(n)?
        }
    };
    // The machines it dials, by address: `node` connects to these and is
    // connected to by the rest of its links.
    let dials: Vec<(MachineId, SocketAddr)> = links_of(id, n, topology)
        .filter(|&p| topology.dials(id, p, n))
        .map(|p| (p, peers[p.index()]))
        .collect();

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
    let run_id = args.run_id.unwrap_or(seed);
    // `as` saturates: a duration beyond u64 ns is as good as forever.
    let duration_ns = (model.duration * 1e9).round() as u64;
    let config = Config {
        node: node::Config {
            id,
            rate,
            sides: model.sides(),
            machines: n,
            topology,
            seed,
            speed: model.speed,
            duration_ns,
            key,
            nonce: entropy::challenge_seed()
                .with_context(|| format!("machine {id}: cannot start the node"))?,
            timeouts: timeouts(args.connect_timeout),
            skew: scalemodel_core::ClockSkew::NONE,
        },
        peers,
        wait: args.spin,
    };
    let setup_before_node = process_start.elapsed();
    let start = match args.start_at {
        Some(t) => Start::At(t),
        None => Start::Handed,
    };
    let mut host = NodeHost {
        id,
        log: LogWriter::create(out, id, S::COLUMNS)?,
        launcher: args.launcher,
        notes: Vec::new(),
        notes_left_out: 0,
        duration_ns,
        first_tick_cpu_ms: None,
        unflushed_since: None,
    };
    let launch = Launch {
        args,
        config,
        listener,
        start,
        started: &|| say_started(args, id, rate, local, &dials),
    };
    let result = drive(launch, &mut host);
    // The steady state's CPU: from the first tick to the loop's end.
    let ticking_cpu_ms = host
        .first_tick_cpu_ms
        .flatten()
        .zip(procinfo::cpu_ms())
        .map(|(first, end)| end - first);
    let NodeHost {
        log,
        mut notes,
        notes_left_out,
        ..
    } = host;
    if notes_left_out > 0 {
        notes.push(format!("… and {notes_left_out} more notes (on stderr)"));
    }
    let flushed = log.finish();
    let report = result.with_context(|| format!("machine {id}"))?;
    flushed?;
    let status = report
        .status
        .with_context(|| format!("machine {id}: the node stopped before it ended"))?;
    let secs = args.connect_timeout.as_secs_f64();
    match status {
        Status::SetupFailed(missing) => {
            bail!(
                "machine {id}: {}",
                why_missing(id, n, topology, missing, &dials, local, secs)
            )
        }
        Status::NoStart => {
            bail!("machine {id}: no start time came within {secs} s of the start barrier")
        }
        Status::Interrupted if report.start_unix_ns.is_none() => {
            bail!("machine {id}: interrupted before the run started")
        }
        // Ended before its first tick: the start time had not come.
        Status::PeerLost if report.first_tick_ns.is_none() => {
            bail!(
                "machine {id}: {} after the start barrier; the run did not start",
                lost_before_start(id, n, topology, &report)
            )
        }
        _ => {}
    }
    if report.dropped_events > 0 {
        // A bound in the core is wrong: say so where the run is read.
        let what = format!(
            "{} of the node's events did not fit its queue: this summary is incomplete (a bug in scalemodel)",
            report.dropped_events
        );
        eprintln!("machine {id}: {what}");
        notes.push(what);
    }
    let run = model.net_run(seed, run_id);
    let summary = NodeSummary {
        ticking_cpu_ms,
        host: args.board.as_ref().map(|_| board::HOST.to_owned()),
        ..summarise(run, id, local, &report, status, notes, setup_before_node)
    };
    summary.write(out, id.get())?;
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

/// What a machine's loop is handed, in this process or on a board.
struct Launch<'a> {
    args: &'a NodeArgs,
    config: Config,
    listener: TcpListener,
    start: Start,
    /// Says, when started by hand, that the loop is about to run.
    started: &'a dyn Fn(),
}

/// Runs the node in this process, on its sockets and timer.
fn drive_here<const M: usize, const C: usize, S: Stamp>(
    launch: Launch<'_>,
    host: &mut NodeHost,
) -> Result<NodeReport<M>>
where
    Core<M, C, S>: Capacity,
{
    let Launch {
        args,
        config,
        listener,
        start,
        started,
    } = launch;
    let id = config.node.id;
    let node = Node::<_, M, C, S>::new(config, listener, TimerFd::new()?)
        .with_context(|| format!("machine {id}: cannot start the node"))?;
    steer_by(node.handle(), args, started)?;
    node.run(host, start).map_err(anyhow::Error::from)
}

/// Runs the node on the board whose firmware is at `firmware`, this
/// process its bridge.
fn drive_board(firmware: &Path, launch: Launch<'_>, host: &mut NodeHost) -> Result<NodeReport<3>> {
    let Launch {
        args,
        config,
        listener,
        start,
        started,
    } = launch;
    let id = config.node.id;
    let bridge = board::Bridge::<3>::start(firmware, &config.node, config.peers, listener)
        .with_context(|| format!("machine {id}: cannot start the board"))?;
    steer_by(bridge.handle(), args, started)?;
    // The node's own bounds, and a margin for QEMU.
    let model = &args.model;
    let wall = Duration::from_secs_f64(model.duration / f64::from(model.speed));
    let bound = args.connect_timeout * 2 + wall + end_bound() + Duration::from_secs(10);
    bridge.run(host, start, bound)
}

/// Hands the loop's `handle` to the signals and, under `run`, to the
/// launcher; then calls `started` (which speaks only when started by hand).
fn steer_by(handle: impl Steer, args: &NodeArgs, started: &dyn Fn()) -> Result<()> {
    watch_signals(handle.clone())?;
    if args.launcher {
        watch_launcher(handle);
    }
    started();
    Ok(())
}

/// Says, when started by hand, what the node is and where it connects.
fn say_started(
    args: &NodeArgs,
    id: MachineId,
    rate: u32,
    local: SocketAddr,
    dials: &[(MachineId, SocketAddr)],
) {
    if !args.launcher {
        let to: Vec<String> = dials.iter().map(|(_, addr)| addr.to_string()).collect();
        let board = if args.board.is_some() {
            " on the board"
        } else {
            ""
        };
        eprintln!(
            "machine {id}{board}: rate {rate}, listening on {local}, connecting to {}",
            to.join(", ")
        );
    }
}

/// The node's time bounds: `--connect-timeout` for the set-up, the rest fixed.
fn timeouts(connect_timeout: Duration) -> Timeouts {
    // Saturating: a bound past u64 ns (584 years) is as good as none.
    let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    Timeouts {
        setup_ns: ns(connect_timeout),
        handshake_ns: ns(HANDSHAKE_TIMEOUT),
        bye_ns: ns(BYE_TIMEOUT),
        retry_ns: ns(RETRY),
        ..Timeouts::DEFAULT
    }
}

/// The longest a node runs after the run's end, however far behind its
/// schedule it fell: it stops ticking after the core's catch-up grace and
/// then waits at most the `Bye` bound for its peers (2.5 s + 5 s).
pub fn end_bound() -> Duration {
    let t = timeouts(Duration::ZERO);
    Duration::from_nanos(t.catch_up_ns().saturating_add(t.bye_ns))
}

/// The machines `id` has a link with in a run of `n` under `topology`,
/// from the next id on: the peers of its summary.
fn links_of(id: MachineId, n: u8, topology: Topology) -> impl Iterator<Item = MachineId> {
    (1..n)
        .filter(move |&k| topology.link(id, k, n).0)
        .map(move |k| id.plus(k, n))
}

/// Which peers a node lost between the barrier and the start, and why.
fn lost_before_start<const M: usize>(
    id: MachineId,
    n: u8,
    topology: Topology,
    report: &NodeReport<M>,
) -> String {
    let mut ids: Vec<MachineId> = links_of(id, n, topology).collect();
    ids.sort_by_key(|m| m.get());
    let lost: Vec<String> = ids
        .iter()
        .filter_map(|m| {
            let why = report.peers.get(m.index())?.lost?;
            Some(format!("lost machine {m} ({why})"))
        })
        .collect();
    if lost.is_empty() {
        "lost a peer".to_owned()
    } else {
        lost.join(", ")
    }
}

/// Names what the set-up was missing at its deadline: the machines it
/// dials (`dials`) or those that dial it.
fn why_missing(
    id: MachineId,
    n: u8,
    topology: Topology,
    missing: Missing,
    dials: &[(MachineId, SocketAddr)],
    local: SocketAddr,
    secs: f64,
) -> String {
    let mut why = Vec::new();
    if missing.next {
        let them: Vec<String> = dials
            .iter()
            .map(|(peer, addr)| format!("machine {peer} at {addr}"))
            .collect();
        why.push(format!(
            "{} did not answer within {secs} s",
            them.join(" or ")
        ));
    }
    if missing.other {
        let them: Vec<String> = links_of(id, n, topology)
            .filter(|&p| !topology.dials(id, p, n))
            .map(|p| format!("machine {p}"))
            .collect();
        why.push(format!(
            "{} did not connect to {local} within {secs} s",
            them.join(" or ")
        ));
    }
    if why.is_empty() {
        why.push(format!("the start barrier did not pass within {secs} s"));
    }
    why.join("; ")
}

/// A start in the past would make the node rush through every tick it
/// missed, and one far ahead looks like a unit mistake: both are refused.
fn check_start(start_ns: u64) -> Result<()> {
    const AHEAD_NS: i128 = 24 * 3_600 * 1_000_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    let ahead = i128::from(start_ns) - now;
    if ahead < 0 {
        bail!(
            "--start-at {start_ns} is {:.3} s in the past; give a Unix time in ns ahead of now (and at most a day ahead), the same on every machine",
            -ahead as f64 / 1e9
        );
    }
    if ahead > AHEAD_NS {
        bail!(
            "--start-at {start_ns} is {:.1} s from now; give a Unix time in ns at most a day ahead",
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

/// Reads `key HEX` from the launcher: its first line.
fn read_key() -> Result<node::Key> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the run's key from the launcher")?;
    let Some(hex) = line.trim().strip_prefix("key ") else {
        bail!("expected `key HEX` from the launcher first");
    };
    Ok(crate::key::from_hex(hex)?)
}

/// Reads `peers A0 A1 ...` from the launcher: `n` addresses.
fn read_peers(n: u8) -> Result<Vec<SocketAddr>> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the peers from the launcher")?;
    let Some(rest) = line.trim().strip_prefix("peers ") else {
        bail!(
            "expected `peers A0 A1 ...` from the launcher, got `{}`",
            line.trim()
        );
    };
    let peers = rest
        .split_whitespace()
        .map(|a| a.parse().with_context(|| format!("bad peer address `{a}`")))
        .collect::<Result<Vec<SocketAddr>>>()?;
    if peers.len() != usize::from(n) {
        bail!(
            "expected {n} peer addresses from the launcher, got {}",
            peers.len()
        );
    }
    Ok(peers)
}

/// What the launcher and the signals ask of a node, or of a board's bridge.
trait Steer: Clone + Send + 'static {
    /// Model time 0 is Unix time `t` in ns.
    fn start_at(&self, t: u64);
    /// End the run now, cleanly.
    fn stop(&self);
}

impl Steer for Handle {
    fn start_at(&self, t: u64) {
        Handle::start_at(self, t);
    }

    fn stop(&self) {
        Handle::stop(self);
    }
}

impl Steer for board::Handle {
    fn start_at(&self, t: u64) {
        self.send(board::Control::Start(t));
    }

    fn stop(&self) {
        self.send(board::Control::Stop);
    }
}

/// Turns `start` and `stop` lines (and stdin closing) into calls on `handle`.
fn watch_launcher(handle: impl Steer) {
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
fn watch_signals(handle: impl Steer) -> Result<()> {
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
    /// The run's length in model ns, to say when a peer was lost after it.
    duration_ns: u64,
    /// The process's CPU time in ms when the first tick's record came (read
    /// once: the outer `Some` says it was read).
    first_tick_cpu_ms: Option<Option<f64>>,
    /// When the oldest record not yet flushed was kept.
    unflushed_since: Option<Instant>,
}

impl Host for NodeHost {
    type Error = RunDirError;

    fn record<const M: usize, S: Stamp>(
        &mut self,
        record: &Record<M, S>,
    ) -> Result<(), RunDirError> {
        if self.first_tick_cpu_ms.is_none() {
            self.first_tick_cpu_ms = Some(procinfo::cpu_ms());
        }
        self.unflushed_since.get_or_insert_with(Instant::now);
        self.log.write(record)
    }

    fn flush(&mut self) -> Result<(), RunDirError> {
        self.unflushed_since = None;
        self.log.flush()
    }

    /// Flushes only records that waited [`LOG_LAG_MAX`]: sends are flushed
    /// before their frames (`flush`), so what waits here logs no frame a
    /// peer could hold, and a process killed now leaves a log that is a
    /// whole prefix of its events, as before, only shorter by what waited.
    fn idle(&mut self) -> Result<(), RunDirError> {
        if flush_due(self.unflushed_since, Instant::now()) {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn ready(&mut self) {
        if self.launcher && say("ready").is_err() {
            eprintln!("machine {}: the launcher is gone", self.id);
        }
    }

    fn note(&mut self, note: &Note) {
        if let Note::Joined(_) | Note::ClockMapped { .. } = note {
            // Good news, not trouble: said when started by hand, and kept
            // out of the summary's notes (and out of `run`'s progress).
            if !self.launcher {
                eprintln!("machine {}: {}", self.id, describe(note, self.duration_ns));
            }
            return;
        }
        let text = describe(note, self.duration_ns);
        eprintln!("machine {}: {text}", self.id);
        // Every note goes to stderr; the summary keeps the first NOTES_MAX
        // and counts the rest, so a flood of strangers cannot grow it.
        if self.notes.len() < NOTES_MAX {
            self.notes.push(text);
        } else {
            self.notes_left_out += 1;
        }
    }
}

impl NodeHost {
    /// Logs one line of the board's log, as `record` logs a record.
    fn record_line(&mut self, line: &[u8]) -> Result<(), RunDirError> {
        if self.first_tick_cpu_ms.is_none() {
            self.first_tick_cpu_ms = Some(procinfo::cpu_ms());
        }
        self.unflushed_since.get_or_insert_with(Instant::now);
        self.log.write_line(line)?;
        self.idle()
    }
}

/// True when the oldest record kept since `since` has waited
/// [`LOG_LAG_MAX`] by `now`.
fn flush_due(since: Option<Instant>, now: Instant) -> bool {
    since.is_some_and(|t| now.saturating_duration_since(t) >= LOG_LAG_MAX)
}

/// A note in words; `duration_ns` is the run's length in model ns.
fn describe(note: &Note, duration_ns: u64) -> String {
    match note {
        Note::Joined(peer) => format!("machine {peer} joined"),
        Note::ClockMapped { error_ns } => {
            format!("the start's Unix time is mapped to the monotonic clock within ±{error_ns} ns")
        }
        Note::Rejected {
            addr: Some(addr),
            reason,
        } => format!("rejected a connection from {addr}: {reason}"),
        Note::Rejected { addr: None, reason } => format!("rejected a connection: {reason}"),
        Note::AcceptFailed {
            os_error,
            kind,
            count,
        } => {
            let why = os_error.map_or_else(|| io::Error::from(*kind), io::Error::from_raw_os_error);
            let ms = scalemodel_mio::ACCEPT_BACKOFF_NS / 1_000_000;
            format!(
                "could not accept a connection ({why}; {count} so far): it waits in the backlog, tried again in {ms} ms"
            )
        }
        // Model time runs on while a node waits for its peers' `Bye`: a link
        // lost then was lost after the run's end, not at a time it never had.
        Note::PeerLost {
            peer,
            at_model_ns: Some(at),
            reason,
        } if *at > duration_ns => format!("lost machine {peer} after the run's end: {reason}"),
        Note::PeerLost {
            peer,
            at_model_ns: Some(at),
            reason,
        } => format!(
            "lost machine {peer} at model time {:.3} s: {reason}",
            *at as f64 / 1e9
        ),
        Note::PeerLost {
            peer,
            at_model_ns: None,
            reason,
        } => format!("lost machine {peer} before the start: {reason}"),
    }
}

fn summarise<const M: usize>(
    run: NetRun,
    id: MachineId,
    listen: SocketAddr,
    report: &NodeReport<M>,
    status: Status,
    notes: Vec<String>,
    setup_before_node: Duration,
) -> NodeSummary {
    // `rates` holds one rate per machine, at most sixteen.
    let n = run.rates.len() as u8;
    let peers: Vec<PeerSummary> = links_of(id, n, run.topology)
        .map(|peer| {
            let p = &report.peers[peer.index()];
            PeerSummary {
                peer: peer.get(),
                sent: p.sent,
                undeliverable: p.undeliverable,
                unsent: p.unsent,
                peer_sent: p.peer_sent,
                received: p.received,
                queued: p.queued,
                after_end: p.after_end,
                dropped: p.dropped,
                protocol_errors: p.protocol_errors,
                lost: p.lost.map(|reason| reason.to_string()),
                lost_at_ns: p.lost_at_model_ns,
            }
        })
        .collect();
    // The node counts from its creation; the process started a little earlier.
    let first_tick_ms = report
        .first_tick_ns
        .map(|ns| (setup_before_node.as_nanos() as f64 + ns as f64) / 1e6);
    let rate = run.rates[id.index()];
    let protocol_errors = rundir::error_kinds(&report.errors);
    NodeSummary {
        run,
        listen: listen.to_string(),
        start_ns: report.start_unix_ns.unwrap_or(0),
        machine: MachineSummary {
            stalls: report.stalls,
            stalled_ns: report.stalled_model_ns,
            held: report.holds,
            inbox_left: report.inbox_left,
            behind_ticks: Some(report.behind_ticks),
            max_behind: Some(report.max_behind),
            late_ticks: Some(report.late_ticks),
            max_late_ns: Some(report.max_late_ns),
            protocol_errors: Some(protocol_errors.clone()),
            ..MachineSummary::from_tally(id, rate, &report.tally, End::from(status))
        },
        peers,
        behind_ticks: report.behind_ticks,
        max_late_ns: report.max_late_ns,
        rejected: report.rejected,
        protocol_errors,
        first_tick_ms,
        peak_rss_kib: procinfo::peak_rss_kib(),
        cpu_ms: procinfo::cpu_ms(),
        ticking_cpu_ms: None,
        notes,
        host: None,
        died: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_core::node::CloseReason;

    #[test]
    fn a_peer_lost_after_the_end_is_not_given_a_time_past_it() {
        let lost = |at| Note::PeerLost {
            peer: MachineId::ONE,
            at_model_ns: Some(at),
            reason: CloseReason::Closed,
        };
        let during = describe(&lost(5_000_000_000), 20_000_000_000);
        assert!(
            during.starts_with("lost machine 1 at model time 5.000 s"),
            "{during}"
        );
        let after = describe(&lost(99_000_000_000), 20_000_000_000);
        assert!(
            after.starts_with("lost machine 1 after the run's end"),
            "{after}"
        );
    }

    #[test]
    fn records_wait_for_the_log_at_most_their_bound() {
        let t = Instant::now();
        assert!(!flush_due(None, t + LOG_LAG_MAX * 10), "nothing waits");
        assert!(!flush_due(Some(t), t));
        assert!(!flush_due(Some(t), t + LOG_LAG_MAX / 2));
        assert!(flush_due(Some(t), t + LOG_LAG_MAX));
        // A clock read before the record's (another thread's) is no wait.
        assert!(!flush_due(Some(t + LOG_LAG_MAX), t));
    }

    #[test]
    fn a_start_in_the_past_is_refused_with_its_bound() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let e = check_start(now - 1_000_000_000).unwrap_err().to_string();
        assert!(
            e.contains("in the past") && e.contains("ahead of now"),
            "{e}"
        );
        assert!(check_start(now + 5_000_000_000).is_ok());
        assert!(check_start(now + 2 * 24 * 3_600 * 1_000_000_000).is_err());
    }
}
