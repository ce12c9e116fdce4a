//! The processes the bench starts: each one's output kept in a file, each
//! given a time bound, and each ended by its own id if it outlives the bound
//! or the bench stops early.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// How often a waiting bench looks at its children: the bound's resolution.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Set in every child's environment: a program started by a bench that
/// would start bench runs itself refuses to ([`refuse_nested`]), so that a
/// wrong binary can never start itself again and again.
pub const NESTED_ENV: &str = "SCALEMODEL_BENCH_CHILD";

/// An error when this process was started by a bench.
pub fn refuse_nested() -> Result<()> {
    if std::env::var_os(NESTED_ENV).is_some() {
        bail!(
            "this process was started by a bench ({NESTED_ENV} is set) and starts no bench runs itself"
        );
    }
    Ok(())
}

/// Set by Ctrl-C (or SIGTERM) once [`stop_on_signals`] is called: every
/// wait ends its child and returns an error, so the bench unwinds and
/// removes its temporary folder.
static STOP: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();

/// Makes Ctrl-C and SIGTERM end the bench's children and the bench cleanly.
pub fn stop_on_signals() -> Result<()> {
    let flag = STOP.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(flag)).context("cannot handle Ctrl-C")?;
    }
    Ok(())
}

fn stopped() -> bool {
    STOP.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The bench was stopped (Ctrl-C or SIGTERM): an error no stage may take
/// for a figure, so that the bench ends at once and says so.
#[derive(Debug, thiserror::Error)]
#[error("interrupted while `{0}` ran")]
pub struct Interrupted(pub String);

/// Whether `e` is (or wraps) an [`Interrupted`].
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Interrupted>().is_some()
}

/// A started child process; dropping it ends the process if it still runs.
#[derive(Debug)]
pub struct Started {
    child: Child,
    what: String,
    log: PathBuf,
    limit: Duration,
    deadline: Instant,
    /// Unix time in ns just before the process was started.
    pub launched_unix_ns: u64,
    /// The child leads a process group of its own, ended as a whole.
    group: bool,
}

/// The wall-clock time as Unix ns, the clock the logs' `system_ns` use.
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Starts `cmd` (described as `what` in errors) with its stdout and stderr
/// in the file `log`, to be waited for within `limit`.
pub fn start(cmd: &mut Command, what: &str, log: &Path, limit: Duration) -> Result<Started> {
    spawn(cmd, what, log, limit, false)
}

/// As [`start`], with the child leading a process group of its own that is
/// ended as a whole: for a program (the Python solution) whose own children
/// would outlive it.
pub fn start_group(cmd: &mut Command, what: &str, log: &Path, limit: Duration) -> Result<Started> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    spawn(cmd, what, log, limit, true)
}

fn spawn(
    cmd: &mut Command,
    what: &str,
    log: &Path,
    limit: Duration,
    group: bool,
) -> Result<Started> {
    let out = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("cannot share {}", log.display()))?;
    refuse_nested()?;
    if stopped() {
        return Err(Interrupted(what.to_owned()).into());
    }
    let launched_unix_ns = unix_ns();
    let child = cmd
        .env(NESTED_ENV, "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start `{what}`"))?;
    Ok(Started {
        child,
        what: what.to_owned(),
        log: log.to_owned(),
        limit,
        deadline: Instant::now() + limit,
        launched_unix_ns,
        group,
    })
}

impl Started {
    /// Waits for the process to exit; past its bound, ends it and says so.
    pub fn wait(mut self) -> Result<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if stopped() {
                self.end();
                return Err(Interrupted(self.what.clone()).into());
            }
            if Instant::now() >= self.deadline {
                self.end();
                bail!(
                    "`{}` did not finish within {:.0} s, so it was ended (its output: {})",
                    self.what,
                    self.limit.as_secs_f64(),
                    self.log.display()
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The file holding the process's output.
    pub fn log(&self) -> &Path {
        &self.log
    }

    fn end(&mut self) {
        let running = matches!(self.child.try_wait(), Ok(None));
        if self.group {
            // The group the child leads, by its id (the child's): its own
            // children too, whether the child still runs or not.
            if let Ok(id) = i32::try_from(self.child.id())
                && let Some(pid) = rustix::process::Pid::from_raw(id)
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
        // Only this child, by its id; `wait` reaps it so no zombie is left.
        if running {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.end();
    }
}

/// Runs `cmd` to its end within `limit` and returns its output (stdout and
/// stderr, as kept in `log`); an error if it fails.
pub fn run(cmd: &mut Command, what: &str, log: &Path, limit: Duration) -> Result<String> {
    let status = start(cmd, what, log, limit)?.wait()?;
    let text =
        std::fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
    if !status.success() {
        bail!(
            "`{what}` failed ({status}); its output is in {}:\n{}",
            log.display(),
            text.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_past_its_bound_is_ended_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let started = start(&mut cmd, "sleep 30", &log, Duration::from_millis(100)).unwrap();
        let t = Instant::now();
        let e = started.wait().unwrap_err().to_string();
        assert!(e.contains("`sleep 30` did not finish within"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(20), "it was not ended");
    }

    #[test]
    fn a_group_child_is_ended_with_the_children_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("group.log");
        // The shell starts a sleeper of its own and prints its id.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo $!; wait"]);
        let started = start_group(&mut cmd, "sh", &log, Duration::from_millis(300)).unwrap();
        let e = started.wait().unwrap_err().to_string();
        assert!(e.contains("did not finish within"), "{e}");
        let text = std::fs::read_to_string(&log).unwrap();
        let sleeper: i32 = text.trim().parse().expect("the sleeper's id");
        // Ended by SIGKILL: once reaped by init it is gone; poll a bounded while.
        let gone = (0..250).any(|_| {
            let state = std::fs::read_to_string(format!("/proc/{sleeper}/stat"));
            let alive = state.is_ok_and(|s| !s.contains(") Z "));
            if alive {
                std::thread::sleep(Duration::from_millis(20));
            }
            !alive
        });
        assert!(gone, "the grandchild {sleeper} outlived its group");
    }

    #[test]
    fn a_child_is_told_it_was_started_by_a_bench() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("env.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("echo ${NESTED_ENV}")]);
        let out = run(&mut cmd, "sh", &log, Duration::from_secs(60)).unwrap();
        assert_eq!(out.trim(), "1");
    }

    #[test]
    fn a_failing_child_is_an_error_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("false.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo nope; exit 3"]);
        let e = run(&mut cmd, "sh", &log, Duration::from_secs(60))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`sh` failed") && e.contains("nope"), "{e}");
    }
}
