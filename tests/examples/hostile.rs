//! Figures of a node under attack, against the same run quiet:
//! `cargo run --release -p scalemodel-tests --example hostile`.
//!
//! Each scenario is a 3-node run by hand on loopback (speed 1, rates
//! 100,100,100, 12 s) with machine 0 attacked: a stranger streaming small
//! invalid frames at full speed for 10 s, reconnecting whenever it is closed;
//! a stranger that says a `Hello` (with a proof it cannot make) first; 7
//! strangers that say `Hello` as machine 2 and reconnect at once, through the
//! set-up; 50 idle sockets held through the set-up; an impostor claiming
//! machine 2 before it starts. Printed per
//! scenario: machine 0's peak RSS, its tick lateness (p50/p99/max) beside
//! machine 1's (not attacked: what the host's load alone does), every
//! machine's end and what machine 0 rejected. Then an overloaded `run`
//! (rates 1000 at speed 1000, 600 model seconds) is stopped with SIGTERM
//! mid-run, and the time it took to exit is printed; and a whole 5-second
//! one, with its ends. Timings are figures, never test assertions.

#[path = "../tests/support/hostile.rs"]
mod hostile;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hostile::{RunSpec, figures, listening, node, unix_ns_in};
use scalemodel::merge::merge_nodes;
use scalemodel_tests::{
    Children, free_ports, lines_in, overloaded_run, scalemodel_bin, wait_until,
};

/// How far ahead the start is: three processes come up well within it.
const LEAD: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Quiet,
    Garbage,
    HelloGarbage,
    HelloFlood,
    IdleSockets,
    Impostor,
}

impl Scenario {
    const fn name(self) -> &'static str {
        match self {
            Self::Quiet => "quiet",
            Self::Garbage => "garbage stream (churn)",
            Self::HelloGarbage => "Hello then garbage (churn)",
            Self::HelloFlood => "7 Hellos as machine 2 (churn)",
            Self::IdleSockets => "50 idle sockets in set-up",
            Self::Impostor => "impostor as machine 2",
        }
    }
}

fn spec() -> RunSpec {
    RunSpec {
        seed: 77,
        rates: "100,100,100".into(),
        speed: 1,
        duration_s: 12,
        patience: "10s".into(),
    }
}

fn scenario(s: Scenario, dir: &Path) {
    let spec = spec();
    // Built (or found fresh) before the start time is set.
    let _ = scalemodel_bin();
    let peers: Vec<SocketAddr> = free_ports(3);
    let start_at = unix_ns_in(LEAD);
    let start = Instant::now() + LEAD;
    let mut children = Children::default();
    children.0.push(node(0, &spec, &peers, start_at, dir));
    assert!(wait_until(Duration::from_secs(5), || listening(peers[0])));
    let mut attackers = Vec::new();
    let mut impostor_closed = None;
    match s {
        Scenario::Quiet => {}
        Scenario::Garbage | Scenario::HelloGarbage => {
            let first = if s == Scenario::Garbage {
                Vec::new()
            } else {
                hostile::frames(&[hostile::hello(2)])
            };
            let until = start + Duration::from_secs(10);
            attackers.push(hostile::stream_garbage(peers[0], first, until));
        }
        Scenario::HelloFlood => {
            attackers.extend(hostile::hello_flood(peers[0], 2, 7, start));
            std::thread::sleep(Duration::from_millis(300));
        }
        Scenario::IdleSockets => {
            attackers.extend(hostile::idle_sockets(peers[0], 50, start));
            std::thread::sleep(Duration::from_millis(300));
        }
        Scenario::Impostor => impostor_closed = Some(hostile::impostor(peers[0], 2)),
    }
    let up = Instant::now();
    children.0.push(node(1, &spec, &peers, start_at, dir));
    children.0.push(node(2, &spec, &peers, start_at, dir));
    let statuses = children.wait_all(Duration::from_secs(60));
    let joined = up.elapsed();
    let attack = attackers
        .into_iter()
        .map(|a| a.join().expect("the attacker ends"))
        .fold((0, 0), |(c, b), a| (c + a.connections, b + a.bytes));
    if !statuses.iter().all(std::process::ExitStatus::success) {
        println!(
            "{:<28} nodes failed: {statuses:?}\n{}",
            s.name(),
            hostile::stderr_of(dir, 0)
        );
        return;
    }
    let params = merge_nodes(dir).expect("the run merges");
    params.write(dir).expect("params.json is written");
    let f = figures(dir, 0);
    let ends: Vec<String> = (0..3)
        .map(|id| figures(dir, id).summary.machine.end.to_string())
        .collect();
    let t = f.timing.expect("machine 0 ticked");
    // Machine 1, not attacked, shows what the host's load alone does.
    let control = figures(dir, 1).timing.expect("machine 1 ticked");
    let kib = f.summary.peak_rss_kib.unwrap_or(0);
    println!(
        "{:<28} rss {:>4.1} MiB  late p50 {:>5.0} us  p99 {:>5.0} us  max {:>6.0} us  (machine 1: p99 {:>5.0} us  max {:>6.0} us)  ends {}  rejected {}  errors {:?}{}{}",
        s.name(),
        kib as f64 / 1024.0,
        t.late_p50_us,
        t.late_p99_us,
        t.late_max_us,
        control.late_p99_us,
        control.late_max_us,
        ends.join("/"),
        f.summary.rejected,
        f.summary.protocol_errors,
        if attack.0 > 0 {
            format!(
                "  attack: {} connections, {} KiB",
                attack.0,
                attack.1 / 1024
            )
        } else {
            String::new()
        },
        match impostor_closed {
            Some(closed) => format!("  impostor closed: {closed}"),
            None => String::new(),
        },
    );
    if s == Scenario::IdleSockets {
        println!(
            "{:<28} all three nodes done {joined:.1?} after 1 and 2 started",
            ""
        );
    }
}

/// An overloaded `run`, stopped with SIGTERM once its log shows ticks.
fn overload(dir: &Path) {
    let mut launcher = Children::default();
    launcher
        .0
        .push(overloaded_run("600", dir).spawn().expect("run starts"));
    let log = dir.join("trial-1").join("machine-0.csv");
    assert!(wait_until(Duration::from_secs(20), || lines_in(&log) > 1000));
    let pid = launcher.0[0].id().to_string();
    let asked = Instant::now();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()));
    launcher.wait_all(Duration::from_secs(60));
    let took = asked.elapsed();
    let params = scalemodel::rundir::Params::read(&dir.join("trial-1"));
    let ends: Vec<String> = params
        .map(|p| {
            p.machines
                .iter()
                .map(|m| format!("{} after {} of 600000 ticks", m.end, m.ticks))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "{:<28} stopped {took:.2?} after SIGTERM; ends {}",
        "overloaded run + SIGTERM",
        ends.join(", ")
    );
    let whole = dir.join("whole");
    let started = Instant::now();
    let out = overloaded_run("5", &whole).output().expect("run starts");
    let params = scalemodel::rundir::Params::read(&whole.join("trial-1"));
    let ends: Vec<String> = params
        .map(|p| p.machines.iter().map(|m| m.end.to_string()).collect())
        .unwrap_or_default();
    println!(
        "{:<28} took {:.1?} (5 model s = 5 ms of wall time); exit {}; ends {}",
        "overloaded run, whole",
        started.elapsed(),
        out.status,
        ends.join("/")
    );
}

fn main() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    for (i, s) in [
        Scenario::Quiet,
        Scenario::Garbage,
        Scenario::HelloGarbage,
        Scenario::HelloFlood,
        Scenario::IdleSockets,
        Scenario::Impostor,
    ]
    .into_iter()
    .enumerate()
    {
        if wanted(s.name()) {
            scenario(s, &tmp.path().join(format!("s{i}")));
        }
    }
    if wanted("overloaded") {
        overload(&tmp.path().join("overload"));
    }
}
