//! This process, from `/proc/self`: its resource use, a command that
//! starts this very binary again, and ones that start a node or a board's
//! bridge.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// The process's peak resident memory in KiB (`VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's CPU time, user and system, in ms, to the ns: the kernel's
/// per-process clock (`/proc/self/stat` counts in 10-ms clock ticks, too
/// coarse for a node that spends a few ms in a whole run).
pub fn cpu_ms() -> Option<f64> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let ns = u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?;
    Some(ns as f64 / 1e6)
}

/// A command running this very binary, through the kernel's link to it: it
/// still works if the file was replaced (say, rebuilt) while a run goes.
pub fn scalemodel_command() -> Command {
    let mut c = Command::new("/proc/self/exe");
    c.arg0("scalemodel");
    c
}

/// The binary `run` starts its nodes from, looked for beside its own.
pub const NODE_BIN: &str = "scalemodel-node";

/// The board's bridge, a binary of its own beside [`NODE_BIN`]: a node's
/// process then maps no bridge code.
pub const BOARD_BIN: &str = "scalemodel-board";

/// A command that starts one node, and whether it is the lean binary:
/// [`NODE_BIN`] beside this very binary when it is there (a process without
/// the analysis and report code), else this binary's own `node` command,
/// which runs the same code (`cargo run` builds only the binary it runs).
pub fn node_command() -> (Command, bool) {
    lean_command(NODE_BIN)
}

/// A command that starts a board's bridge (given `--board`), and whether it
/// is the lean binary: [`BOARD_BIN`] beside this one, else this binary's
/// `node` command, as [`node_command`].
pub fn board_command() -> (Command, bool) {
    lean_command(BOARD_BIN)
}

/// The path of `bin` beside this binary, if it is there.
fn beside(bin: &str) -> Option<PathBuf> {
    std::fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(bin)))
        .filter(|path| path.is_file())
}

/// `bin` beside this binary, or this binary's `node` command.
fn lean_command(bin: &str) -> (Command, bool) {
    match beside(bin) {
        Some(path) => {
            let mut c = Command::new(path);
            c.arg0(bin);
            (c, true)
        }
        None => {
            let mut c = scalemodel_command();
            c.arg("node");
            (c, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let rss = peak_rss_kib().expect("Linux has /proc/self/status");
        assert!(rss > 100, "{rss} KiB");
        let cpu = cpu_ms().expect("Linux has a per-process CPU clock");
        // Precise, unlike the 10-ms ticks of /proc/self/stat: some work
        // shows as more time, never as none.
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = cpu_ms().expect("Linux has a per-process CPU clock");
        assert!(cpu.is_finite() && after > cpu, "{cpu} ms, then {after} ms");
    }
}
