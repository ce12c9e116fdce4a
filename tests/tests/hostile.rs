//! Hostile clients against real `node` processes on loopback: strangers that
//! stream garbage, an impostor, idle sockets held through the set-up, and an
//! overloaded run. Every wait is bounded; every process a test starts is
//! ended by its pid, also when the test fails. Timings are not asserted here
//! (the `hostile` example prints them); an end of `completed`, which a node
//! only reports when it kept its schedule, is.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use scalemodel::check::check_dir;
use scalemodel::merge::merge_nodes;
use scalemodel::rundir::{End, NodeSummary, Params};
use scalemodel_core::MachineId;
use scalemodel_tests::overloaded_run;
use scalemodel_tests::{Children, free_ports, lines_in, scalemodel, scalemodel_bin, wait_until};
use support::hostile::{self, RunSpec, listening, node, unix_ns_in};

/// How far ahead hand-started nodes get their start (see `net.rs`).
const START_LEAD: Duration = Duration::from_secs(4);

/// Slow enough that a busy two-core machine keeps every tick on time:
/// periods of 125 ms and more.
fn spec(duration_s: u32) -> RunSpec {
    RunSpec {
        seed: 61,
        rates: "3,4,4".into(),
        speed: 2,
        duration_s,
        patience: "10s".into(),
    }
}

/// Starts the three nodes of `spec` into `dir`, machine 0 first; `before`
/// runs once machine 0 listens and before 1 and 2 start. Returns what it
/// returned once every node exited successfully.
fn run_three<T>(spec: &RunSpec, dir: &Path, before: impl FnOnce(&[SocketAddr], Instant) -> T) -> T {
    // Built (or found fresh) before the start time is set.
    scalemodel_bin();
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let start = Instant::now() + START_LEAD;
    let mut children = Children::default();
    children.0.push(node(0, spec, &peers, start_at, dir));
    assert!(
        wait_until(Duration::from_secs(10), || listening(peers[0])),
        "machine 0 never listened"
    );
    let out = before(&peers, start);
    children.0.push(node(1, spec, &peers, start_at, dir));
    children.0.push(node(2, spec, &peers, start_at, dir));
    let statuses = children.wait_all(Duration::from_secs(60));
    assert!(
        statuses.iter().all(std::process::ExitStatus::success),
        "{statuses:?}\nmachine 0: {}\nmachine 1: {}\nmachine 2: {}",
        hostile::stderr_of(dir, 0),
        hostile::stderr_of(dir, 1),
        hostile::stderr_of(dir, 2)
    );
    out
}

/// Merges the nodes' summaries and checks the run: no violation, every
/// machine completed, every message accounted for exactly.
fn assert_clean(dir: &Path) -> Params {
    let merged = merge_nodes(dir).expect("the nodes' summaries merge");
    merged.write(dir).expect("params.json is written");
    let violations = check_dir(dir).expect("the run directory reads");
    assert!(violations.is_empty(), "{}: {violations:#?}", dir.display());
    let params = Params::read(dir).expect("params.json");
    for m in &params.machines {
        assert_eq!(m.end, End::Completed, "machine {}: {m:?}", m.id);
    }
    for l in &params.links {
        assert_eq!(l.in_flight, 0, "{l:?}");
        assert_eq!(l.sent, l.received + l.queued, "{l:?}");
    }
    params
}

fn summary(dir: &Path, id: u8) -> NodeSummary {
    let id = MachineId::new(id, 3).expect("an id below 3");
    NodeSummary::read(dir, id).expect("the node's summary")
}

#[test]
fn strangers_streaming_garbage_cost_bounded_memory_and_the_run_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let spec = spec(8);
    // Two strangers through set-up and run: one streams invalid frames, one
    // says a valid Hello as machine 2 first; both reconnect whenever closed.
    let attacks = run_three(&spec, &dir, |peers, start| {
        let until = start + Duration::from_secs(4);
        let hello = hostile::frames(&[hostile::hello(2)]);
        [
            hostile::stream_garbage(peers[0], Vec::new(), until),
            hostile::stream_garbage(peers[0], hello, until),
        ]
    });
    let attacks = attacks.map(|a| a.join().expect("the attacker ends"));
    assert_clean(&dir);
    let zero = summary(&dir, 0);
    let connections: u64 = attacks.iter().map(|a| a.connections).sum();
    assert!(connections > 100, "the strangers hardly ran: {attacks:?}");
    // Each connection is closed at its first error and counted.
    assert!(zero.rejected >= connections - 2, "{zero:?} vs {attacks:?}");
    let bad = zero.protocol_errors.get("bad bytes").copied().unwrap_or(0);
    let taken = zero.protocol_errors.get("id taken").copied().unwrap_or(0);
    assert!(
        bad > 0 && bad + taken >= attacks[0].connections - 1,
        "{zero:?}"
    );
    // The node's memory is its fixed slots, whatever the strangers send.
    let rss_kib = zero.peak_rss_kib.expect("Linux reports the peak RSS");
    assert!(rss_kib < 32 * 1024, "peak RSS {rss_kib} KiB");
    // A flood of strangers is a few notes, not one per connection.
    let lines = hostile::stderr_of(&dir, 0).lines().count() as u64;
    assert!(
        lines < 200,
        "{lines} lines of stderr for {connections} strangers"
    );
}

#[test]
fn an_impostor_cannot_take_a_machine_id_and_the_real_one_joins() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // Before machine 2 starts, an impostor claims its place at machine 0.
    let closed = run_three(&spec(4), &dir, |peers, _| hostile::impostor(peers[0], 2));
    assert!(closed, "machine 0 kept the impostor's connection");
    assert_clean(&dir);
    let zero = summary(&dir, 0);
    assert_eq!(zero.protocol_errors.get("bad proof"), Some(&1), "{zero:?}");
    assert!(zero.rejected >= 1, "{zero:?}");
    let stderr = hostile::stderr_of(&dir, 0);
    assert!(
        stderr.contains("its proof of the run's key is wrong"),
        "{stderr}"
    );
    assert!(stderr.contains("machine 2 joined"), "{stderr}");
}

#[test]
fn idle_sockets_held_through_set_up_never_keep_a_peer_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // Fifty sockets that say nothing, each reopened as soon as it is closed
    // or evicted, from before the peers start until the start time: the
    // peers must join before it (a start that passed fails the nodes).
    let idlers = run_three(&spec(4), &dir, |peers, start| {
        let idlers = hostile::idle_sockets(peers[0], 50, start);
        // The idlers have taken every slot before the peers come.
        std::thread::sleep(Duration::from_millis(300));
        idlers
    });
    let connections: u64 = idlers
        .into_iter()
        .map(|h| h.join().expect("an idler ends").connections)
        .sum();
    assert!(connections > 50, "{connections}");
    assert_clean(&dir);
    assert!(summary(&dir, 0).rejected > 0);
}

#[test]
fn a_flood_of_strangers_saying_hello_never_keeps_a_peer_out() {
    // Seven strangers (as many as machine 0 has accepted slots) each say
    // Hello as machine 2 and connect again within 10 ms, from before the
    // peers start until the start time: machine 2, which dials every 100 ms,
    // must join before it. Protocol 2 let every such Hello hold a slot for a
    // round trip, so the flood kept machine 2 out for good.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let flood = run_three(&spec(4), &dir, |peers, start| {
        let flood = hostile::hello_flood(peers[0], 2, 7, start);
        // The strangers have taken every slot before the peers come.
        std::thread::sleep(Duration::from_millis(300));
        flood
    });
    let connections: u64 = flood
        .into_iter()
        .map(|h| h.join().expect("a stranger ends").connections)
        .sum();
    assert!(connections > 100, "the flood hardly ran: {connections}");
    assert_clean(&dir);
    let zero = summary(&dir, 0);
    // Each stranger is closed at its Hello, whose proof is wrong.
    let bad = zero.protocol_errors.get("bad proof").copied().unwrap_or(0);
    assert!(bad >= connections / 2, "{bad} of {connections}: {zero:?}");
}

#[test]
fn a_node_out_of_file_descriptors_refuses_connections_and_goes_on() {
    // Machine 0's limit on open files is lowered to what it holds plus
    // three (its dial, machine 2's connection, one to spare), then twelve
    // strangers connect and hold: accepts fail with "Too many open files".
    // That used to end the node ("network I/O failed"); now each failure is
    // noted, the loop backs off, and once the strangers are gone the peers
    // join and the run completes.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let spec = spec(4);
    scalemodel_bin();
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let mut children = Children::default();
    children.0.push(node(0, &spec, &peers, start_at, &dir));
    // Its log is the last file it opens before its loop: from then on only
    // sockets come and go.
    let log = dir.join("machine-0.csv");
    assert!(
        wait_until(Duration::from_secs(10), || listening(peers[0])
            && log.exists()),
        "machine 0 never listened"
    );
    let pid = rustix::process::Pid::from_child(&children.0[0]);
    let fds = std::fs::read_dir(format!("/proc/{}/fd", children.0[0].id()))
        .unwrap()
        .count() as u64;
    // The hard limit stays (the child inherited ours): raising it needs a
    // privilege.
    let nofile = rustix::process::Resource::Nofile;
    let limit = rustix::process::Rlimit {
        current: Some(fds + 3),
        maximum: rustix::process::getrlimit(nofile).maximum,
    };
    rustix::process::prlimit(Some(pid), nofile, limit).unwrap();
    let strangers: Vec<std::net::TcpStream> = (0..12)
        .filter_map(|_| std::net::TcpStream::connect(peers[0]).ok())
        .collect();
    let stderr = hostile::stderr_path(&dir, 0);
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&stderr).is_ok_and(|t| t.contains("Too many open files"))
        }),
        "no accept failed: {}",
        hostile::stderr_of(&dir, 0)
    );
    drop(strangers);
    children.0.push(node(1, &spec, &peers, start_at, &dir));
    children.0.push(node(2, &spec, &peers, start_at, &dir));
    let statuses = children.wait_all(Duration::from_secs(60));
    assert!(
        statuses.iter().all(std::process::ExitStatus::success),
        "{statuses:?}\nmachine 0: {}",
        hostile::stderr_of(&dir, 0)
    );
    assert_clean(&dir);
    let zero = hostile::stderr_of(&dir, 0);
    assert!(
        zero.contains("could not accept a connection (Too many open files"),
        "{zero}"
    );
}

#[test]
fn an_overloaded_run_says_so_and_analyze_flags_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("overloaded");
    let mut launcher = Children::default();
    launcher.0.push(overloaded_run("5", &out).spawn().unwrap());
    let statuses = launcher.wait_all(Duration::from_secs(60));
    // 4: the trial ran whole and kept the rules, but not the model's pace.
    assert_eq!(statuses[0].code(), Some(4), "{statuses:?}");
    let dir = out.join("trial-1");
    let violations = check_dir(&dir).unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).unwrap();
    for m in &params.machines {
        assert_eq!(m.end, End::Overloaded, "{m:?}");
        assert_eq!(m.ticks, 5_000, "every tick ran, late: {m:?}");
    }
    let analyzed = scalemodel().arg("analyze").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&analyzed.stdout);
    assert!(
        text.contains("not completed: machine 0 overloaded"),
        "{text}"
    );
}

#[test]
fn an_overloaded_run_stops_promptly_on_sigterm_and_its_logs_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("stopped");
    let mut launcher = Children::default();
    // 600 model seconds: 600,000 ticks each, far more than a host runs in
    // the time this test waits for.
    launcher
        .0
        .push(overloaded_run("600", &out).spawn().unwrap());
    let log = out.join("trial-1").join("machine-0.csv");
    assert!(
        wait_until(Duration::from_secs(30), || lines_in(&log) > 1_000),
        "the trial never started"
    );
    let pid = launcher.0[0].id().to_string();
    let asked = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let statuses = launcher.wait_all(Duration::from_secs(30));
    let took = asked.elapsed();
    assert!(!statuses[0].success(), "a stopped run fails");
    // Generous: a node serves a stop between two ticks; the rest is the
    // end's Bye and the launcher's merge (the example prints the figure).
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    let dir = out.join("trial-1");
    let violations = check_dir(&dir).unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).unwrap();
    for m in &params.machines {
        assert_eq!(m.end, End::Interrupted, "{m:?}");
        assert!(m.ticks < 600_000, "it stopped mid-run: {m:?}");
    }
}
