//! `scalemodel run`: the standard experiment, three `node` processes over TCP
//! on loopback, trial after trial.
//!
//! The launcher draws a fresh key for each trial and hands it to the nodes on
//! their stdin. Each node binds a free port and tells the launcher (see
//! [`crate::node_cmd`] for the protocol); the launcher hands every node the
//! three addresses, waits for the start barrier, hands them one start time,
//! and merges their summaries into `params.json`. Children never outlive the
//! launcher: each gets a parent-death signal, sees its stdin close when the
//! launcher goes, and is killed by its pid if it is still there when its
//! trial is given up.
//!
//! A node that dies during the run (killed, or exiting with an error) leaves
//! the others to finish at their rates (they end `peer lost`); the launcher
//! waits for them, cuts the dead machine's log back to its last whole line,
//! writes its summary from that log (ended `crashed`, with the cause), and the
//! trial's directory is complete. Its stderr reaches the user line by line,
//! and its last line is part of the cause. `run` then goes on with the next
//! trial and at the end exits with [`EXIT_MACHINE_DIED`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use scalemodel_core::node;
use scalemodel_core::{MachineId, N};

use crate::check::{self, Run};
use crate::cli::{Rates, RunArgs};
use crate::merge;
use crate::outln;
use crate::rundir::{self, NetRun};
use crate::timing::{Timing, timing};
use crate::{key, salvage};

/// The lead time between handing out the start and model time 0: the nodes
/// refuse a start already past, so it covers a loaded machine's slow reads.
const START_MARGIN: Duration = Duration::from_millis(250);
/// Lines from the nodes waiting for the launcher, at most.
const LINES_MAX: usize = 1024;
/// How long after a trial's end its nodes may take to say goodbye and exit.
const EXIT_GRACE: Duration = Duration::from_secs(15);
/// How long to wait for a node's last stderr lines once it has exited.
const DRAIN: Duration = Duration::from_secs(2);

/// `run`'s exit status when a machine died in a trial (its process was
/// killed, or exited with an error); 1 is any other failure, 2 a usage error.
pub const EXIT_MACHINE_DIED: u8 = 3;

/// `run` failed, and at least one machine died: `main` exits with
/// [`EXIT_MACHINE_DIED`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MachineDied(String);

/// A node process that died: its machine and how.
#[derive(Debug, Clone, thiserror::Error)]
#[error("machine {id} died{when}: {cause}")]
pub struct Death {
    /// The machine.
    pub id: MachineId,
    /// ` before the start`, or empty.
    when: &'static str,
    /// `killed by signal 9 (SIGKILL)`, `exit status 1: <its last stderr line>`.
    pub cause: String,
}

/// Runs `scalemodel run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let model = &args.model;
    let seed = model.seed_or_random();
    outln!("seed {seed}");
    let out = match &model.out {
        Some(dir) => dir.clone(),
        None => rundir::default_out("run")?,
    };
    rundir::create(&out)?;
    outln!(
        "run: {} trials of {} s at speed {}, rates {}, die of {}, into {}",
        args.trials,
        model.duration,
        model.speed,
        model.rates,
        model.sides,
        out.display()
    );
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let mut failures = Vec::new();
    let mut died = false;
    let mut trials = Vec::new();
    // Each trial's directory, and whether it is complete.
    let mut written: Vec<(u32, bool)> = Vec::new();
    for k in 1..=args.trials {
        let trial_seed = seed.wrapping_add(u64::from(k - 1));
        let dir = out.join(format!("trial-{k}"));
        rundir::create(&dir)?;
        match run_trial(args, k, trial_seed, &dir, &interrupted) {
            Ok(trial) => {
                print_trial(&trial);
                if !trial.violations.is_empty() {
                    failures.push(format!(
                        "trial {k} broke {} rules of the model",
                        trial.violations.len()
                    ));
                }
                for death in &trial.deaths {
                    died = true;
                    failures.push(format!("trial {k}: {death}"));
                }
                written.push((k, true));
                trials.push(trial);
            }
            Err(e) => {
                died |= e.downcast_ref::<Death>().is_some() || e.downcast_ref::<Deaths>().is_some();
                failures.push(format!("trial {k}: {e:#}"));
                written.push((k, false));
            }
        }
        if interrupted.load(Ordering::SeqCst) {
            failures.push(format!("interrupted during trial {k}"));
            break;
        }
    }
    print_overall(&trials);
    print_written(&out, &written);
    if failures.is_empty() {
        return Ok(());
    }
    let failures = failures.join("; ");
    if died {
        return Err(MachineDied(failures).into());
    }
    bail!("{failures}")
}

/// Says what was written: every trial's directory, or which are complete
/// and which are not (a trial that failed before its end has no `params.json`).
fn print_written(out: &Path, written: &[(u32, bool)]) {
    let names = |complete: bool| {
        written
            .iter()
            .filter(|&&(_, c)| c == complete)
            .map(|(k, _)| format!("trial-{k}"))
            .collect::<Vec<_>>()
    };
    let (complete, incomplete) = (names(true), names(false));
    if incomplete.is_empty() {
        outln!("wrote {}", out.display());
    } else if complete.is_empty() {
        outln!(
            "no trial completed in {}: {} failed before their summary was written",
            out.display(),
            incomplete.join(", ")
        );
    } else {
        outln!(
            "wrote {} ({}); {} failed before their summary was written",
            out.display(),
            complete.join(", "),
            incomplete.join(", ")
        );
    }
}

/// One trial's results.
struct Trial {
    k: u32,
    dir: PathBuf,
    run: Run,
    timings: [Option<Timing>; N],
    violations: Vec<check::Violation>,
    /// The machines whose process died (their summaries rebuilt from their logs).
    deaths: Vec<Death>,
}

/// A line from a child, or the end of its stderr.
enum Line {
    Out(usize, String),
    Err(usize, String),
    ErrClosed(usize),
}

/// The trial's node processes; any still running when this is dropped are
/// killed by their pid and reaped.
struct Nodes {
    children: Vec<Child>,
    stdins: Vec<Option<ChildStdin>>,
    /// How each exited, once it has.
    exits: [Option<ExitStatus>; N],
    /// Each one's last stderr line, for the cause of its death.
    last_err: [Option<String>; N],
    /// Whose stderr is still open.
    err_open: [bool; N],
    /// The trial's run id, handed to every node.
    run_id: u64,
}

impl Nodes {
    /// Starts the three nodes; returns them and the key to hand them first.
    fn spawn(
        args: &RunArgs,
        seed: u64,
        dir: &Path,
        tx: &SyncSender<Line>,
    ) -> Result<(Self, node::Key)> {
        let run_id = crate::cli::random_u64();
        // Fresh for every trial, from the OS only; never on a command line.
        let key = key::random().context("cannot draw the run's key")?;
        let model = &args.model;
        let mut nodes = Self {
            children: Vec::new(),
            stdins: Vec::new(),
            exits: [None; N],
            last_err: Default::default(),
            err_open: [true; N],
            run_id,
        };
        for id in MachineId::ALL {
            let mut child = scalemodel_command()
                .arg("node")
                .arg("--launcher")
                .args(["--id", &id.to_string()])
                .args(["--seed", &seed.to_string()])
                .args(["--rates", &model.rates.to_string()])
                .args(["--sides", &model.sides.to_string()])
                .args(["--speed", &model.speed.to_string()])
                .args(["--duration", &model.duration.to_string()])
                .args(["--run-id", &run_id.to_string()])
                .arg("--connect-timeout")
                .arg(humantime::format_duration(args.connect_timeout).to_string())
                .arg("--spin")
                .arg(humantime::format_duration(args.spin).to_string())
                .arg("--out")
                .arg(dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start machine {id}"))?;
            let i = id.index();
            forward(
                child.stdout.take(),
                tx.clone(),
                move |l| Line::Out(i, l),
                None,
            );
            let closed = Line::ErrClosed(i);
            forward(
                child.stderr.take(),
                tx.clone(),
                move |l| Line::Err(i, l),
                Some(closed),
            );
            nodes.stdins.push(child.stdin.take());
            nodes.children.push(child);
        }
        Ok((nodes, key))
    }

    /// Sends one line to every node.
    fn tell(&mut self, line: &str) -> Result<()> {
        for (i, stdin) in self.stdins.iter_mut().enumerate() {
            let stdin = stdin.as_mut().context("stdin already closed")?;
            writeln!(stdin, "{line}")
                .and_then(|()| stdin.flush())
                .with_context(|| format!("machine {i} is gone"))?;
        }
        Ok(())
    }

    /// `e`, a line that could not be told because a node is gone, as that
    /// node's death with its cause when it died (waiting for its exit up
    /// to [`DRAIN`]).
    fn why_gone(
        &mut self,
        e: anyhow::Error,
        rx: &Receiver<Line>,
        note: &dyn Fn(usize, &str),
    ) -> anyhow::Error {
        let deadline = Instant::now() + DRAIN;
        while !self.exits.iter().any(|s| s.is_some_and(|s| !s.success())) {
            if self.reap().is_err() || Instant::now() >= deadline {
                return e;
            }
            // Lines meanwhile are kept: they may hold the cause.
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(20)) {
                self.take(line, note);
            }
        }
        self.drain(rx, note);
        (0..N)
            .find_map(|i| self.death(i, " before the start"))
            .map_or(e, anyhow::Error::from)
    }

    /// Closes every node's stdin: they end their run cleanly.
    fn stop(&mut self) {
        for stdin in &mut self.stdins {
            stdin.take();
        }
    }

    /// Notes which nodes have exited since the last call; returns them.
    fn reap(&mut self) -> Result<Vec<usize>> {
        let mut new = Vec::new();
        for (i, child) in self.children.iter_mut().enumerate() {
            if self.exits[i].is_none() {
                self.exits[i] = child.try_wait().context("cannot wait for a node")?;
                if self.exits[i].is_some() {
                    new.push(i);
                }
            }
        }
        Ok(new)
    }

    /// True when every node has exited.
    fn all_exited(&self) -> bool {
        self.exits.iter().all(Option::is_some)
    }

    /// Keeps track of a line; returns a stdout line, and prints a stderr
    /// line with `note`.
    fn take(&mut self, line: Line, note: &dyn Fn(usize, &str)) -> Option<(usize, String)> {
        match line {
            Line::Out(i, text) => return Some((i, text)),
            Line::Err(i, text) => {
                note(i, &text);
                self.last_err[i] = Some(text);
            }
            Line::ErrClosed(i) => self.err_open[i] = false,
        }
        None
    }

    /// Takes the lines still coming from the nodes that exited, until their
    /// stderr closes (or [`DRAIN`] passes), so that their last words are known.
    fn drain(&mut self, rx: &Receiver<Line>, note: &dyn Fn(usize, &str)) {
        let deadline = Instant::now() + DRAIN;
        while (0..N).any(|i| self.exits[i].is_some() && self.err_open[i]) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    self.take(line, note);
                }
                Err(_) => break,
            }
        }
    }

    /// Machine `i`'s death, if it exited with anything but success.
    fn death(&self, i: usize, when: &'static str) -> Option<Death> {
        let status = self.exits[i]?;
        if status.success() {
            return None;
        }
        Some(Death {
            id: MachineId::ALL[i],
            when,
            cause: cause(status, self.last_err[i].as_deref()),
        })
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.children {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// How a node's process ended, in words: the signal that killed it, or its
/// exit status and its last line on stderr (its `Error: …`).
fn cause(status: ExitStatus, last_err: Option<&str>) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = status.signal() {
        let name = match signal {
            1 => " (SIGHUP)",
            2 => " (SIGINT)",
            6 => " (SIGABRT)",
            9 => " (SIGKILL)",
            11 => " (SIGSEGV)",
            15 => " (SIGTERM)",
            _ => "",
        };
        return format!("killed by signal {signal}{name}");
    }
    let status = status
        .code()
        .map_or_else(|| status.to_string(), |c| format!("exit status {c}"));
    match last_err {
        Some(line) => format!("{status}: {}", line.strip_prefix("Error: ").unwrap_or(line)),
        None => format!("{status}, with nothing on stderr"),
    }
}

/// A command running this very binary, through the kernel's link to it: it
/// still works if the file was replaced (say, rebuilt) while a run goes.
pub(crate) fn scalemodel_command() -> Command {
    let mut c = Command::new("/proc/self/exe");
    c.arg0("scalemodel");
    c
}

/// Forwards a child's output, line by line, to the launcher's channel, then
/// `last` when the pipe closes.
fn forward<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
    tx: SyncSender<Line>,
    wrap: impl Fn(String) -> Line + Send + 'static,
    last: Option<Line>,
) {
    let Some(pipe) = pipe else { return };
    std::thread::spawn(move || {
        // Lossy: a line that is not UTF-8 still reaches the user.
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let line = text.trim_end_matches(['\n', '\r']).to_owned();
                    if tx.send(wrap(line)).is_err() {
                        return;
                    }
                }
            }
        }
        if let Some(last) = last {
            let _ = tx.send(last);
        }
    });
}

/// Waits for a `word ...` line from every node; stderr lines go to `note`.
/// A node that exits first is a death before the start, with its cause.
fn gather(
    rx: &Receiver<Line>,
    nodes: &mut Nodes,
    word: &str,
    deadline: Instant,
    interrupted: &AtomicBool,
    note: &dyn Fn(usize, &str),
) -> Result<[String; N]> {
    let mut got: [Option<String>; N] = Default::default();
    while got.iter().any(Option::is_none) {
        if interrupted.load(Ordering::SeqCst) {
            bail!("interrupted before the start");
        }
        let exited = nodes.reap()?;
        if let Some(&i) = exited.first() {
            nodes.drain(rx, note);
            if let Some(death) = nodes.death(i, " before the start") {
                return Err(death.into());
            }
            bail!("machine {i} exited before saying `{word}`");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let missing: Vec<String> = (0..N)
                .filter(|&i| got[i].is_none())
                .map(|i| i.to_string())
                .collect();
            bail!(
                "machines {} did not say `{word}` in time",
                missing.join(", ")
            );
        }
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(line) => {
                if let Some((i, line)) = nodes.take(line, note) {
                    match line.strip_prefix(word).map(str::trim) {
                        Some(rest) => got[i] = Some(rest.to_owned()),
                        None => note(i, &format!("unexpected `{line}`")),
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => bail!("lost the nodes' output"),
        }
    }
    Ok(got.map(Option::unwrap_or_default))
}

/// The run's parameters as every node of trial `seed` knows them.
fn net_run(args: &RunArgs, seed: u64, run_id: u64) -> NetRun {
    let model = &args.model;
    NetRun {
        seed,
        run_id,
        duration_s: model.duration,
        speed: model.speed,
        sides: model.sides,
        rate_range: match &model.rates {
            Rates::Range(r) => Some([*r.start(), *r.end()]),
            Rates::Exact(_) => None,
        },
        rates: model.rates.resolve(seed),
        inbox_capacity: scalemodel_core::node::INBOX_CAP,
    }
}

fn run_trial(
    args: &RunArgs,
    k: u32,
    seed: u64,
    dir: &Path,
    interrupted: &AtomicBool,
) -> Result<Trial> {
    let model = &args.model;
    // Bounded: a node that talks faster than the launcher reads waits on its pipe.
    let (tx, rx) = mpsc::sync_channel(LINES_MAX);
    let (mut nodes, key) = Nodes::spawn(args, seed, dir, &tx)?;
    drop(tx);
    let note = |i: usize, line: &str| eprintln!("  trial {k}, machine {i}: {line}");
    nodes
        .tell(&format!("key {}", key::to_hex(&key)))
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;
    // `--connect-timeout` is at most a day: no overflow.
    let setup_deadline = Instant::now() + args.connect_timeout + Duration::from_secs(5);
    let addrs = gather(
        &rx,
        &mut nodes,
        "listening",
        setup_deadline,
        interrupted,
        &note,
    )?;
    let peers = format!("peers {}", addrs.join(" "));
    nodes
        .tell(&peers)
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;
    gather(&rx, &mut nodes, "ready", setup_deadline, interrupted, &note)?;
    let start = SystemTime::now() + START_MARGIN;
    let start_ns = u64::try_from(start.duration_since(UNIX_EPOCH)?.as_nanos())?;
    let start_line = format!("start {start_ns}");
    nodes
        .tell(&start_line)
        .map_err(|e| nodes.why_gone(e, &rx, &note))?;

    let wall = Duration::from_secs_f64(model.duration / f64::from(model.speed));
    let bar = ProgressBar::new(wall.as_millis() as u64).with_style(
        ProgressStyle::with_template("trial {prefix} [{bar:40}] {elapsed_precise} / {msg}")?
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{k}/{}", args.trials));
    bar.set_message(format!("{:.1} s", wall.as_secs_f64()));
    let say = |i: usize, line: &str| above(&bar, format!("  trial {k}, machine {i}: {line}"));
    let began = Instant::now();
    let deadline = began + START_MARGIN + wall + EXIT_GRACE;
    let mut stopping = false;
    loop {
        for i in nodes.reap()? {
            if nodes.exits[i].is_some_and(|s| !s.success()) {
                above(
                    &bar,
                    format!("  trial {k}: machine {i} died; the others go on to the end"),
                );
            }
        }
        if nodes.all_exited() {
            break;
        }
        if Instant::now() >= deadline {
            bar.abandon();
            bail!(
                "the nodes did not finish within {:?} of the end",
                EXIT_GRACE
            );
        }
        if interrupted.load(Ordering::SeqCst) && !stopping {
            above(&bar, format!("trial {k}: interrupted; stopping the nodes"));
            nodes.stop();
            stopping = true;
        }
        // Wait for one line, then take all that are there, so that a chatty
        // node never waits on its pipe for long.
        let first = rx.recv_timeout(Duration::from_millis(100)).ok();
        for line in first.into_iter().chain(rx.try_iter()) {
            nodes.take(line, &say);
        }
        bar.set_position(began.elapsed().as_millis() as u64);
    }
    nodes.drain(&rx, &say);
    bar.finish_and_clear();
    let deaths: Vec<Death> = (0..N).filter_map(|i| nodes.death(i, "")).collect();
    for death in &deaths {
        outln!("trial {k}: {death}");
    }
    let run_id = nodes.run_id;
    drop(nodes);
    let dead = Deaths(deaths);
    let (run, violations) = match finish_trial(args, seed, run_id, start_ns, &addrs, dir, &dead) {
        Ok(done) => done,
        // Say who died first: it is what made the rest fail.
        Err(e) if !dead.0.is_empty() => return Err(e.context(dead)),
        Err(e) => return Err(e),
    };
    let timings = MachineId::ALL.map(|id| {
        timing(
            &run.logs[id.index()],
            run.params.rates[id.index()],
            start_ns,
            model.speed,
        )
    });
    Ok(Trial {
        k,
        dir: dir.to_owned(),
        run,
        timings,
        violations,
        deaths: dead.0,
    })
}

/// The machines that died in a trial.
#[derive(Debug)]
struct Deaths(Vec<Death>);

impl std::fmt::Display for Deaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let deaths: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&deaths.join("; "))
    }
}

/// Writes the dead machines' summaries from their logs, merges every
/// summary into `params.json` and checks the trial.
#[allow(clippy::too_many_arguments)]
fn finish_trial(
    args: &RunArgs,
    seed: u64,
    run_id: u64,
    start_ns: u64,
    addrs: &[String; N],
    dir: &Path,
    deaths: &Deaths,
) -> Result<(Run, Vec<check::Violation>)> {
    for death in &deaths.0 {
        let id = death.id;
        let rows = salvage::cut_log(dir, id)?;
        let run = net_run(args, seed, run_id);
        salvage::summary(
            run,
            id,
            addrs[id.index()].clone(),
            start_ns,
            &rows,
            &death.cause,
        )
        .write(dir, id)?;
    }
    let params = merge::merge_nodes(dir)
        .with_context(|| format!("cannot merge the nodes' summaries in {}", dir.display()))?;
    if params.seed != seed || params.start_ns != start_ns {
        bail!("the nodes' summaries do not match the trial (seed {seed}, start {start_ns})");
    }
    params.write(dir)?;
    for id in MachineId::ALL {
        let _ = std::fs::remove_file(dir.join(rundir::node_name(id)));
    }
    let run = check::read_run(dir)?;
    let mut violations = run.format_violations.clone();
    violations.extend(check::check(&run.params, &run.logs));
    Ok((run, violations))
}

/// Prints a line on stderr above the progress bar; a hidden bar (stderr is
/// not a terminal) would swallow it, so then it goes straight to stderr.
fn above(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn print_trial(t: &Trial) {
    let p = &t.run.params;
    let [r0, r1, r2] = p.rates;
    outln!(
        "trial {} (seed {}, rates {r0},{r1},{r2}): {}",
        t.k,
        p.seed,
        t.dir.display()
    );
    outln!(
        "{:>7} {:>4} {:>6} {:>11} {:>30} {:>9} {:>8} {:>8} {:>10}",
        "machine",
        "rate",
        "ticks",
        "rate err %",
        "late p50 / p99 / max (µs)",
        "max queue",
        "RSS MiB",
        "CPU ms",
        "end"
    );
    for (i, m) in p.machines.iter().enumerate() {
        let timing = t.timings.get(i).copied().flatten();
        let proc = p.processes.get(i);
        let late = timing.map_or_else(
            || "-".to_owned(),
            |t| {
                format!(
                    "{:.0} / {:.0} / {:.0}",
                    t.late_p50_us, t.late_p99_us, t.late_max_us
                )
            },
        );
        outln!(
            "{:>7} {:>4} {:>6} {:>11} {:>30} {:>9} {:>8} {:>8} {:>10}",
            m.id,
            m.rate,
            m.ticks,
            timing.map_or_else(|| "-".to_owned(), |t| format!("{:+.4}", t.rate_error_pct)),
            late,
            m.max_queue,
            proc.and_then(|p| p.peak_rss_kib)
                .map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
            proc.and_then(|p| p.cpu_ms)
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            m.end,
        );
    }
    let balanced = p
        .links
        .iter()
        .filter(|l| l.sent == l.received + l.queued + l.in_flight + l.lost)
        .count();
    let sent: u64 = p.links.iter().map(|l| l.sent).sum();
    let lost: u64 = p.links.iter().map(|l| l.in_flight + l.lost).sum();
    outln!(
        "  conservation: {balanced} of {} links balanced, {sent} messages sent, {lost} undelivered; conformance: {} violations",
        p.links.len(),
        t.violations.len()
    );
    for v in t.violations.iter().take(10) {
        outln!("    {v}");
    }
}

fn print_overall(trials: &[Trial]) {
    if trials.is_empty() {
        return;
    }
    let timings: Vec<Timing> = trials
        .iter()
        .flat_map(|t| t.timings.iter().flatten().copied())
        .collect();
    let worst = |f: fn(&Timing) -> f64| timings.iter().map(f).fold(0.0_f64, |a, b| a.max(b.abs()));
    let rss = trials
        .iter()
        .flat_map(|t| t.run.params.processes.iter().filter_map(|p| p.peak_rss_kib))
        .max()
        .unwrap_or(0);
    let first_tick = trials
        .iter()
        .flat_map(|t| {
            t.run
                .params
                .processes
                .iter()
                .filter_map(|p| p.first_tick_ms)
        })
        .fold(0.0_f64, f64::max);
    let violations: usize = trials.iter().map(|t| t.violations.len()).sum();
    outln!(
        "overall: {} trials; worst rate error {:.4} %, worst lateness p99 {:.0} µs, max {:.0} µs; peak RSS {:.1} MiB; slowest start-up to first tick {:.1} ms; {violations} violations",
        trials.len(),
        worst(|t| t.rate_error_pct),
        worst(|t| t.late_p99_us),
        worst(|t| t.late_max_us),
        rss as f64 / 1024.0,
        first_tick,
    );
}
