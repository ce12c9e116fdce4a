//! `run`'s node processes: starting them, talking to them over their stdin
//! and stdout, following their stderr, and telling how each one ended.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scalemodel_core::MachineId;
use scalemodel_core::node;

use crate::cli::RunArgs;
use crate::key;
use crate::procinfo::{BOARD_BIN, NODE_BIN, board_command, node_command};

/// Set once `run` has said that its nodes are not the lean binary.
static SAID_NOT_LEAN: AtomicBool = AtomicBool::new(false);

/// How long to wait for a node's last stderr lines once it has exited.
const DRAIN: Duration = Duration::from_secs(2);

/// A node process that died: its machine and how.
#[derive(Debug, Clone, thiserror::Error)]
#[error("machine {id} died{when}: {cause}")]
pub struct Death {
    /// The machine.
    pub id: MachineId,
    /// ` before the start`, or empty.
    pub(super) when: &'static str,
    /// `killed by signal 9 (SIGKILL)`, `exit status 1: <its last stderr line>`.
    pub cause: String,
}

/// A line from a child, or the end of its stderr.
pub(super) enum Line {
    Out(usize, String),
    Err(usize, String),
    ErrClosed(usize),
}

/// The trial's node processes; any still running when this is dropped are
/// killed by their pid and reaped.
pub(super) struct Nodes {
    children: Vec<Child>,
    stdins: Vec<Option<ChildStdin>>,
    /// How each exited, once it has.
    pub(super) exits: Vec<Option<ExitStatus>>,
    /// Each one's last stderr line, for the cause of its death.
    pub(super) last_err: Vec<Option<String>>,
    /// Whose stderr is still open.
    pub(super) err_open: Vec<bool>,
    /// The trial's run id, handed to every node.
    pub(super) run_id: u64,
}

impl Nodes {
    /// Starts the run's nodes (`--machines`); returns them and the key to hand
    /// them first.
    pub(super) fn spawn(
        args: &RunArgs,
        seed: u64,
        dir: &Path,
        tx: &SyncSender<Line>,
    ) -> Result<(Self, node::Key)> {
        let run_id = crate::cli::random_u64();
        // Fresh for every trial, from the OS only; never on a command line.
        let key = key::random().context("cannot draw the run's key")?;
        let model = &args.model;
        let n = model.machines;
        let mut nodes = Self {
            children: Vec::new(),
            stdins: Vec::new(),
            exits: vec![None; usize::from(n)],
            last_err: vec![None; usize::from(n)],
            err_open: vec![true; usize::from(n)],
            run_id,
        };
        for id in (0..n).filter_map(|i| MachineId::new(i, n)) {
            let on_board = args.mcu == Some(id.get());
            let ((mut command, lean), bin) = if on_board {
                (board_command(), BOARD_BIN)
            } else {
                (node_command(), NODE_BIN)
            };
            if !lean && !SAID_NOT_LEAN.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "note: no {bin} beside this binary (`cargo build --release` builds it): \
                     the nodes run as `scalemodel node`, with the report code loaded"
                );
            }
            if on_board {
                command.arg("--board").arg(&args.firmware);
            }
            let mut child = command
                .arg("--launcher")
                .args(["--id", &id.to_string()])
                .args(["--seed", &seed.to_string()])
                .args(["--rates", &model.rates.to_string()])
                .args(["--sides", &model.sides().to_string()])
                .args(["--machines", &n.to_string()])
                .args(["--topology", model.topology.name()])
                .args(["--clock", model.clock.name()])
                .args(["--speed", &model.speed.to_string()])
                .args(["--duration", &model.duration.to_string()])
                .args(["--run-id", &run_id.to_string()])
                .arg("--connect-timeout")
                .arg(humantime::format_duration(args.connect_timeout).to_string())
                .arg("--spin")
                .arg(crate::cli::spin_arg(args.spin))
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
    pub(super) fn tell(&mut self, line: &str) -> Result<()> {
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
    pub(super) fn why_gone(
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
        (0..self.exits.len())
            .find_map(|i| self.death(i, " before the start"))
            .map_or(e, anyhow::Error::from)
    }

    /// Closes every node's stdin: they end their run cleanly.
    pub(super) fn stop(&mut self) {
        for stdin in &mut self.stdins {
            stdin.take();
        }
    }

    /// Notes which nodes have exited since the last call; returns them.
    pub(super) fn reap(&mut self) -> Result<Vec<usize>> {
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
    pub(super) fn all_exited(&self) -> bool {
        self.exits.iter().all(Option::is_some)
    }

    /// Keeps track of a line; returns a stdout line, and prints a stderr
    /// line with `note`.
    pub(super) fn take(
        &mut self,
        line: Line,
        note: &dyn Fn(usize, &str),
    ) -> Option<(usize, String)> {
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
    pub(super) fn drain(&mut self, rx: &Receiver<Line>, note: &dyn Fn(usize, &str)) {
        let deadline = Instant::now() + DRAIN;
        while (0..self.exits.len()).any(|i| self.exits[i].is_some() && self.err_open[i]) {
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
    pub(super) fn death(&self, i: usize, when: &'static str) -> Option<Death> {
        let status = self.exits[i]?;
        if status.success() {
            return None;
        }
        Some(Death {
            // At most sixteen nodes: `i` fits a u8.
            id: MachineId::new(i as u8, self.exits.len() as u8)?,
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

/// The lead time between handing out the start and model time 0, as a
/// multiple of how long the nodes just took to answer (from `peers` to their
/// last `ready`: two pipes, the node's set-up, its dial and handshakes): the
/// start line takes one pipe and one turn of each node's loop, far less. A
/// node takes a start already past as a stall (its first ticks late,
/// counted) and refuses one more than the catch-up grace past. Measured, so
/// that a quiet machine starts within tens of ms and a loaded one waits as
/// long as it needs.
const START_MARGIN_PER_ANSWER: u32 = 4;
/// The least lead time: a node's start line may meet a scheduling stall
/// that its set-up did not.
const START_MARGIN_MIN: Duration = Duration::from_millis(20);
/// The most lead time: beyond it a machine this slow fails its start
/// loudly rather than being waited for.
const START_MARGIN_MAX: Duration = Duration::from_secs(2);

/// The lead time before model time 0, given how long the nodes took to
/// answer `peers` with `ready`.
pub(super) fn start_margin(answer: Duration) -> Duration {
    answer
        .saturating_mul(START_MARGIN_PER_ANSWER)
        .clamp(START_MARGIN_MIN, START_MARGIN_MAX)
}

/// Waits for a `word ...` line from every node; stderr lines go to `note`.
/// A node that exits first is a death before the start, with its cause.
pub(super) fn gather(
    rx: &Receiver<Line>,
    nodes: &mut Nodes,
    word: &str,
    deadline: Instant,
    interrupted: &AtomicBool,
    note: &dyn Fn(usize, &str),
) -> Result<Vec<String>> {
    let mut got: Vec<Option<String>> = vec![None; nodes.exits.len()];
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
            let missing: Vec<String> = (0..got.len())
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
    Ok(got.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_cause_names_the_signal_or_the_status_and_the_last_error() {
        // Raw wait statuses: a signal in the low bits, an exit code above.
        let killed = ExitStatus::from_raw(9);
        assert_eq!(cause(killed, Some("x")), "killed by signal 9 (SIGKILL)");
        let failed = ExitStatus::from_raw(1 << 8);
        assert_eq!(
            cause(failed, Some("Error: machine 2: cannot write f: disk full")),
            "exit status 1: machine 2: cannot write f: disk full"
        );
        assert_eq!(cause(failed, None), "exit status 1, with nothing on stderr");
    }

    #[test]
    fn the_start_margin_follows_the_nodes_answer_within_its_bounds() {
        let ms = Duration::from_millis;
        // A quiet machine: the least margin, not a fixed quarter second.
        assert_eq!(start_margin(ms(1)), START_MARGIN_MIN);
        assert!(START_MARGIN_MIN <= ms(50));
        // A loaded one gets what its answers suggest.
        assert_eq!(start_margin(ms(30)), ms(120));
        // A machine too slow is not waited for without end.
        assert_eq!(start_margin(Duration::from_secs(60)), START_MARGIN_MAX);
        assert_eq!(start_margin(Duration::MAX), START_MARGIN_MAX);
    }
}
