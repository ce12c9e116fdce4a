//! This process, from `/proc/self`: its resource use, and a command that
//! starts this very binary again.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The process's peak resident memory in KiB (`VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's CPU time, user and system, in ms.
pub fn cpu_ms() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let hz = rustix::param::clock_ticks_per_second();
    Some((utime + stime) as f64 * 1000.0 / hz as f64)
}

/// A command running this very binary, through the kernel's link to it: it
/// still works if the file was replaced (say, rebuilt) while a run goes.
pub fn scalemodel_command() -> Command {
    let mut c = Command::new("/proc/self/exe");
    c.arg0("scalemodel");
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let rss = peak_rss_kib().expect("Linux has /proc/self/status");
        assert!(rss > 100, "{rss} KiB");
        let cpu = cpu_ms().expect("Linux has /proc/self/stat");
        assert!(cpu.is_finite() && cpu >= 0.0, "{cpu} ms");
    }
}
