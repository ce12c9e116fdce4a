//! `scalemodel run`: the standard experiment, three `node` processes over TCP
//! on loopback, trial after trial.
//!
//! Each node binds a free port and tells the launcher (see [`crate::node_cmd`]
//! for the protocol); the launcher hands every node the three addresses, waits
//! for the start barrier, hands them one start time, and merges their summaries
//! into `params.json`. Children never outlive the launcher: each gets a
//! parent-death signal, sees its stdin close when the launcher goes, and is
//! killed by its pid if it is still there when its trial is given up.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use scalemodel_core::{MachineId, N};

use crate::check::{self, Run};
use crate::cli::RunArgs;
use crate::merge;
use crate::outln;
use crate::rundir;
use crate::timing::{Timing, timing};

/// The lead time between handing out the start and model time 0: the nodes
/// refuse a start already past, so it covers a loaded machine's slow reads.
const START_MARGIN: Duration = Duration::from_millis(250);
/// Lines from the nodes waiting for the launcher, at most.
const LINES_MAX: usize = 1024;
/// How long after a trial's end its nodes may take to say goodbye and exit.
const EXIT_GRACE: Duration = Duration::from_secs(15);

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
    let mut trials = Vec::new();
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
                trials.push(trial);
            }
            Err(e) => failures.push(format!("trial {k}: {e:#}")),
        }
        if interrupted.load(Ordering::SeqCst) {
            failures.push(format!("interrupted during trial {k}"));
            break;
        }
    }
    print_overall(&trials);
    outln!("wrote {}", out.display());
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(())
}

/// One trial's results.
struct Trial {
    k: u32,
    dir: PathBuf,
    run: Run,
    timings: [Option<Timing>; N],
    violations: Vec<check::Violation>,
}

/// A line from a child, or its end.
enum Line {
    Out(usize, String),
    Err(usize, String),
}

/// The trial's node processes; any still running when this is dropped are
/// killed by their pid and reaped.
struct Nodes {
    children: Vec<Child>,
    stdins: Vec<Option<ChildStdin>>,
}

impl Nodes {
    fn spawn(args: &RunArgs, seed: u64, dir: &Path, tx: &SyncSender<Line>) -> Result<Self> {
        let run_id = crate::cli::random_u64();
        let model = &args.model;
        let mut nodes = Self {
            children: Vec::new(),
            stdins: Vec::new(),
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
            forward(child.stdout.take(), tx.clone(), move |l| Line::Out(i, l));
            forward(child.stderr.take(), tx.clone(), move |l| Line::Err(i, l));
            nodes.stdins.push(child.stdin.take());
            nodes.children.push(child);
        }
        Ok(nodes)
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

    /// Closes every node's stdin: they end their run cleanly.
    fn stop(&mut self) {
        for stdin in &mut self.stdins {
            stdin.take();
        }
    }

    /// True when every node has exited; fails on the first that failed.
    fn all_exited(&mut self) -> Result<bool> {
        let mut done = true;
        for (i, child) in self.children.iter_mut().enumerate() {
            match child.try_wait()? {
                Some(status) if !status.success() => bail!("machine {i} failed ({status})"),
                Some(_) => {}
                None => done = false,
            }
        }
        Ok(done)
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

/// A command running this very binary, through the kernel's link to it: it
/// still works if the file was replaced (say, rebuilt) while a run goes.
pub(crate) fn scalemodel_command() -> Command {
    let mut c = Command::new("/proc/self/exe");
    c.arg0("scalemodel");
    c
}

/// Forwards a child's output, line by line, to the launcher's channel.
fn forward<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
    tx: SyncSender<Line>,
    wrap: impl Fn(String) -> Line + Send + 'static,
) {
    let Some(pipe) = pipe else { return };
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(wrap(line)).is_err() {
                break;
            }
        }
    });
}

/// Waits for a `word ...` line from every node; stderr lines go to `note`.
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
            Ok(Line::Out(i, line)) => {
                let rest = line.strip_prefix(word).map(str::trim);
                match rest {
                    Some(rest) => got[i] = Some(rest.to_owned()),
                    None => note(i, &format!("unexpected `{line}`")),
                }
            }
            Ok(Line::Err(i, line)) => note(i, &line),
            Err(RecvTimeoutError::Timeout) => {
                if nodes.all_exited()? {
                    bail!("the nodes exited before saying `{word}`");
                }
            }
            Err(RecvTimeoutError::Disconnected) => bail!("lost the nodes' output"),
        }
    }
    Ok(got.map(Option::unwrap_or_default))
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
    let mut nodes = Nodes::spawn(args, seed, dir, &tx)?;
    drop(tx);
    let note = |i: usize, line: &str| eprintln!("  trial {k}, machine {i}: {line}");
    let setup_deadline = Instant::now() + args.connect_timeout + Duration::from_secs(5);
    let addrs = gather(
        &rx,
        &mut nodes,
        "listening",
        setup_deadline,
        interrupted,
        &note,
    )?;
    nodes.tell(&format!("peers {}", addrs.join(" ")))?;
    gather(&rx, &mut nodes, "ready", setup_deadline, interrupted, &note)?;
    let start = SystemTime::now() + START_MARGIN;
    let start_ns = u64::try_from(start.duration_since(UNIX_EPOCH)?.as_nanos())?;
    nodes.tell(&format!("start {start_ns}"))?;

    let wall = Duration::from_secs_f64(model.duration / f64::from(model.speed));
    let bar = ProgressBar::new(wall.as_millis() as u64).with_style(
        ProgressStyle::with_template("trial {prefix} [{bar:40}] {elapsed_precise} / {msg}")?
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{k}/{}", args.trials));
    bar.set_message(format!("{:.1} s", wall.as_secs_f64()));
    let began = Instant::now();
    let deadline = began + START_MARGIN + wall + EXIT_GRACE;
    let mut stopping = false;
    while !nodes.all_exited()? {
        if Instant::now() >= deadline {
            bar.abandon();
            bail!(
                "the nodes did not finish within {:?} of the end",
                EXIT_GRACE
            );
        }
        if interrupted.load(Ordering::SeqCst) && !stopping {
            bar.println(format!("trial {k}: interrupted; stopping the nodes"));
            nodes.stop();
            stopping = true;
        }
        // Wait for one line, then take all that are there, so that a chatty
        // node never waits on its pipe for long.
        let first = rx.recv_timeout(Duration::from_millis(100)).ok();
        for line in first.into_iter().chain(rx.try_iter()) {
            if let Line::Err(i, line) = line {
                bar.println(format!("  machine {i}: {line}"));
            }
        }
        bar.set_position(began.elapsed().as_millis() as u64);
    }
    bar.finish_and_clear();
    drop(nodes);

    let params = merge::merge_nodes(dir)?;
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
    })
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
