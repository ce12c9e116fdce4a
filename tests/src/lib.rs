//! Helpers shared by scalemodel's cross-crate tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod browser;
pub mod synthetic;

pub use scalemodel::rundir::Rows;
use scalemodel::rundir::{FaultSummary, Params};
use scalemodel_core::fault::Faults;
use scalemodel_core::sim::{Config, Report, Sim};

/// Runs the simulator in memory with inboxes of `I` and links of `L`
/// messages; returns the params a `sim` run would write and the rows.
pub fn simulate<const I: usize, const L: usize>(config: Config) -> (Params, Rows, Report) {
    simulate_with_faults::<I, L>(config, Faults::none())
}

/// As [`simulate`], with faults injected.
pub fn simulate_with_faults<const I: usize, const L: usize>(
    config: Config,
    faults: Faults,
) -> (Params, Rows, Report) {
    // The simulator keeps its queues inline (the core never allocates): at
    // large capacities more than a test thread's stack holds.
    const STACK_BYTES: usize = 64 << 20;
    let (rows, report, acted) = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let mut sim = Sim::<I, L>::new(config, faults).expect("a valid config");
            let mut rows = Rows::default();
            let report = sim.run(&mut rows).expect("the run ends");
            let acted = FaultSummary::acted(sim.faults(), sim.missed_faults());
            (rows, report, acted)
        })
        .expect("a thread for the simulator")
        .join()
        .expect("the simulator does not panic");
    let mut params = Params::sim(&config, None, config.duration_ns as f64 / 1e9, I, L);
    params.summarise(&report);
    params.faults = Some(acted);
    (params, rows, report)
}

/// The `scalemodel` binary, built once per test process, with the
/// `scalemodel-node` binary beside it (what `run` starts its nodes from)
/// and `scalemodel-board` (the board's bridge, `run --mcu`).
///
/// Cargo builds a package's own binaries for its integration tests but not
/// another package's, so this crate asks Cargo for them (a no-op when fresh).
pub fn scalemodel_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let build = |package: &str, bin: &str| {
            escargot::CargoBuild::new()
                .manifest_path(&manifest)
                .package(package)
                .bin(bin)
                .current_release()
                .run()
                .unwrap_or_else(|e| panic!("cargo builds the {bin} binary: {e}"))
                .path()
                .to_owned()
        };
        let node = build("scalemodel-node", "scalemodel-node");
        let board = build("scalemodel-node", "scalemodel-board");
        let bin = build("scalemodel", "scalemodel");
        assert!(
            node.parent() == bin.parent() && board.parent() == bin.parent(),
            "the three binaries lie side by side"
        );
        bin
    })
}

/// A command running the `scalemodel` binary.
pub fn scalemodel() -> assert_cmd::Command {
    assert_cmd::Command::new(scalemodel_bin())
}

/// Runs `scalemodel` with `args`, asserts that it fails, and returns what
/// it printed: stdout, then stderr.
pub fn scalemodel_fails<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> (String, String) {
    let out = scalemodel()
        .args(args)
        .assert()
        .failure()
        .get_output()
        .clone();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (text(&out.stdout), text(&out.stderr))
}

/// Child processes a test started; any still running when this is dropped
/// (also when the test fails) are killed by their pid and reaped.
#[derive(Debug, Default)]
pub struct Children(pub Vec<std::process::Child>);

impl Children {
    /// Waits for every child to exit, up to `limit`; returns their statuses.
    pub fn wait_all(&mut self, limit: std::time::Duration) -> Vec<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        let mut statuses = vec![None; self.0.len()];
        while statuses.iter().any(Option::is_none) && std::time::Instant::now() < deadline {
            for (child, status) in self.0.iter_mut().zip(&mut statuses) {
                if status.is_none() {
                    *status = child.try_wait().expect("try_wait works");
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        statuses
            .into_iter()
            .map(|s| s.expect("every child exited within the limit"))
            .collect()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// `scalemodel run` of an overloaded model: 1,000 ticks a second each at
/// speed 1,000, a million ticks a wall second, which no host keeps.
pub fn overloaded_run(duration: &str, out: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(scalemodel_bin());
    cmd.args(["run", "--trials", "1", "--duration", duration])
        .args([
            "--rates",
            "1000,1000,1000",
            "--speed",
            "1000",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// Runs `scalemodel sim ARGS --out OUT` and asserts that it succeeded.
pub fn sim_into(out: &Path, args: &[&str]) {
    scalemodel()
        .arg("sim")
        .args(args)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// `n` distinct free loopback addresses for nodes a test starts by hand.
///
/// They come from below Linux's ephemeral range (32768 and up), where no
/// `bind(0)` of another test or of `scalemodel run` can take them between this
/// call and the node's own bind; a process-wide counter keeps this process's
/// tests apart, and each port is checked free by binding it.
pub fn free_ports(n: usize) -> Vec<std::net::SocketAddr> {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // 30 ports per process apart: two test processes at once stay clear of each other.
    let base = (std::process::id() % 400) as u16 * 30;
    let mut ports = Vec::with_capacity(n);
    for _ in 0..SPAN {
        if ports.len() == n {
            break;
        }
        let port = FIRST + (base + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpListener::bind(addr).is_ok() {
            ports.push(addr);
        }
    }
    assert_eq!(ports.len(), n, "no {n} free loopback ports below 32768");
    ports
}

/// Polls `done` every 20 ms until it holds or `limit` passes; true if it held.
pub fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Lines in a file so far (0 if it does not exist yet).
pub fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Pids of live processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie has exited; it only waits for its parent to reap it.
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(needle)
        })
        .collect()
}

/// Writes a run's key file, `secret` with a newline, readable by its owner
/// only (a node refuses any other), as `dir/name`; returns its path.
pub fn key_file(dir: &Path, name: &str, secret: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("{secret}\n")).expect("the key file is written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .expect("the key file is made private");
    path
}

/// The pids of `parent`'s child processes (from `/proc`), with each one's
/// command line, its arguments joined by spaces.
pub fn children_of(parent: u32) -> Vec<(u32, String)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid, args)
        })
        .collect()
}

/// Sends `signal` (e.g. `KILL`, `TERM`) to `pid` with kill(1); true if sent.
pub fn signal(pid: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts node `id` of a hand-started run (the tests' shared one): seed 31, rates 3,4,5, speed 4, `duration`
/// model seconds, set-up bounded by `patience`, with the key file `key`.
pub fn hand_node(
    id: usize,
    peers: &[std::net::SocketAddr],
    start_at: u64,
    out: &Path,
    key: &Path,
    duration: u32,
    patience: &str,
) -> std::process::Child {
    let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
    std::process::Command::new(scalemodel_bin())
        .args(["node", "--id", &id.to_string(), "--peers", &peers.join(",")])
        .arg("--key-file")
        .arg(key)
        .args(["--seed", "31", "--rates", "3,4,5", "--speed", "4"])
        .args(["--duration", &duration.to_string()])
        .args(["--start-at", &start_at.to_string()])
        .args(["--connect-timeout", patience])
        .arg("--out")
        .arg(out)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("a node starts")
}
