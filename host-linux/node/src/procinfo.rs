//! This process, from `/proc/self`: its resource use, a command that
//! starts this very binary again, and one that starts a node.

use std::fs;
use std::os::unix::process::CommandExt;
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

/// A command that starts one node, and whether it is the lean binary:
/// [`NODE_BIN`] beside this very binary when it is there (a process without
/// the analysis and report code), else this binary's own `node` command,
/// which runs the same code (`cargo run` builds only the binary it runs).
pub fn node_command() -> (Command, bool) {
    let beside = std::fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(NODE_BIN)))
        .filter(|bin| bin.is_file());
    match beside {
        Some(bin) => {
            let mut c = Command::new(bin);
            c.arg0(NODE_BIN);
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
