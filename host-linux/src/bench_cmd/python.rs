//! The Python solution beside scalemodel: `benches/python/exercise.py`,
//! built into the binary so that the bench runs the same script wherever it
//! is installed, started with `python3` and read back from its JSON.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::child::{self, Started};

/// The script, as in the repository.
const SCRIPT: &str = include_str!("../../../benches/python/exercise.py");

/// How long after its duration the script may take: its start-up, and its
/// own 30-s wait for a machine that does not finish, with room.
const PYTHON_GRACE: Duration = Duration::from_secs(60);

/// One machine's figures, as the script prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Its id.
    pub machine: u8,
    /// Ticks per second.
    pub rate: u32,
    /// Ticks run.
    pub ticks: u64,
    /// The measured rate against the nominal one, percent.
    pub rate_error_pct: f64,
    /// Median lateness, µs.
    pub late_p50_us: f64,
    /// 99th percentile lateness, µs.
    pub late_p99_us: f64,
    /// Largest lateness, µs.
    pub late_max_us: f64,
    /// The process's CPU time per tick, µs.
    pub cpu_us_per_tick: f64,
    /// The process's peak RSS, KiB.
    pub peak_rss_kib: u64,
    /// Unix ns when the machine's process began its work.
    pub started_unix_ns: u64,
    /// Unix ns of its first tick.
    pub first_tick_unix_ns: u64,
}

/// The script's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The three machines.
    pub machines: Vec<Machine>,
}

/// Whether `python3` runs here; the Python version when it does.
pub fn found() -> Option<String> {
    let out = Command::new("python3")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if text.is_empty() {
            String::from_utf8_lossy(&out.stderr).trim().to_owned()
        } else {
            text
        }
    })
}

/// The command a user types to run the script alone.
pub fn command(duration_s: f64, rates: &str, seed: u64) -> String {
    format!(
        "python3 benches/python/exercise.py --duration {duration_s} --rates {rates} --seed {seed} --out DIR"
    )
}

/// Writes the script into `dir` and starts it for `duration_s` seconds,
/// its logs in `dir/python`, its output in `dir/python.out`.
pub fn start(dir: &Path, duration_s: f64, rates: &str, seed: u64) -> Result<Started> {
    let script = dir.join("exercise.py");
    std::fs::write(&script, SCRIPT)
        .with_context(|| format!("cannot write {}", script.display()))?;
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args(["--duration", &duration_s.to_string(), "--rates", rates])
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(dir.join("python"));
    // Its three machines are processes of its own: ended with it.
    child::start_group(
        &mut cmd,
        &command(duration_s, rates, seed),
        &dir.join("python.out"),
        Duration::from_secs_f64(duration_s) + PYTHON_GRACE,
    )
}

/// Waits for the script and reads its figures.
pub fn finish(started: Started) -> Result<Figures> {
    let log = started.log().to_owned();
    let status = started.wait()?;
    let text =
        std::fs::read_to_string(&log).with_context(|| format!("cannot read {}", log.display()))?;
    if !status.success() {
        bail!(
            "the Python solution failed ({status}); its output is in {}",
            log.display()
        );
    }
    parse(&text).with_context(|| {
        format!(
            "the Python solution printed no figures (its output: {})",
            log.display()
        )
    })
}

/// The figures from the script's output: its last line that is a JSON object.
pub fn parse(text: &str) -> Result<Figures> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("no line of JSON")?;
    let f: Figures = serde_json::from_str(line).context("the JSON line")?;
    if f.machines.len() != 3 {
        bail!("figures for {} machines, not 3", f.machines.len());
    }
    Ok(f)
}

impl Figures {
    /// The worst of the machines' values of `f`, by size.
    pub fn worst(&self, f: impl Fn(&Machine) -> f64) -> Option<f64> {
        self.machines
            .iter()
            .map(f)
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_json_is_read() {
        let m = r#"{"machine": 0, "rate": 2, "ticks": 6, "rate_error_pct": -0.0056, "late_p50_us": 164.0, "late_p99_us": 614.9, "late_max_us": 614.9, "cpu_us_per_tick": 1213.1, "peak_rss_kib": 13824, "started_unix_ns": 1, "first_tick_unix_ns": 2}"#;
        let text = format!("noise\n{{\"machines\": [{m}, {m}, {m}]}}\n");
        let f = parse(&text).unwrap();
        assert_eq!(f.machines[0].peak_rss_kib, 13_824);
        assert_eq!(f.worst(|m| m.late_p99_us), Some(614.9));
        let e = parse(&format!("{{\"machines\": [{m}]}}")).unwrap_err();
        assert!(format!("{e:#}").contains("1 machines"), "{e:#}");
        assert!(parse("Traceback").is_err());
    }
}
