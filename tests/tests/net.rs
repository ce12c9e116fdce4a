//! The networked experiment end to end: real `node` processes over TCP on
//! loopback. Every wait is bounded; every process a test starts is ended by
//! its pid, also when the test fails.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scalemodel::check::check_dir;
use scalemodel::merge::merge_nodes;
use scalemodel::rundir::{End, Params};
use scalemodel::rundir::{Kind, read_run};
use scalemodel_core::wire::{CHALLENGE_LEN, Frame, MAX_FRAME_LEN, PROOF_LEN, PROTOCOL, encode};
use scalemodel_tests::{
    Children, free_ports, hand_node, key_file, lines_in, processes_mentioning, scalemodel,
    scalemodel_bin, wait_until,
};

/// Runs `scalemodel run` with `args` into `out`; the launcher is killed if it
/// takes longer than `limit` (its nodes then see their parent die and stop).
fn run(out: &Path, args: &[&str], limit: Duration) -> String {
    run_ending(out, args, limit, &[0])
}

/// As [`run`], when any exit status in `codes` is fine (4: a machine did
/// not complete, e.g. `overloaded`).
fn run_ending(out: &Path, args: &[&str], limit: Duration, codes: &[i32]) -> String {
    let output = scalemodel()
        .arg("run")
        .arg("--out")
        .arg(out)
        .args(args)
        .timeout(limit)
        .output()
        .expect("scalemodel run starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.code().is_some_and(|c| codes.contains(&c)),
        "scalemodel run {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A valid run: no violation, every machine completed, every message accounted for.
fn assert_clean(dir: &Path) -> Params {
    let violations = check_dir(dir).expect("the run directory reads");
    assert!(violations.is_empty(), "{}: {violations:#?}", dir.display());
    let params = Params::read(dir).expect("params.json");
    assert_eq!(params.mode, "net");
    for m in &params.machines {
        assert_eq!(m.end, End::Completed, "machine {}: {m:?}", m.id);
    }
    for l in &params.links {
        assert_eq!(l.in_flight, 0, "{l:?}");
        assert_eq!(l.sent, l.received + l.queued, "{l:?}");
    }
    params
}

#[test]
fn short_runs_conform_with_exact_conservation() {
    let tmp = tempfile::tempdir().unwrap();
    let fast = tmp.path().join("fast");
    let out = run(
        &fast,
        &[
            "--trials",
            "2",
            "--duration",
            "3",
            "--speed",
            "20",
            "--seed",
            "11",
        ],
        Duration::from_secs(60),
    );
    assert!(out.starts_with("seed 11\n"), "{out}");
    // Each trial leads with the clocks; the run ends with the reports to
    // open, the run's across its trials first.
    assert!(
        out.contains("final clock") && out.contains("largest jump"),
        "{out}"
    );
    let open = out
        .split("\nopen (each report.html has a report.md beside it):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        open.starts_with(&format!("  {}\n", fast.join("report.html").display())),
        "{out}"
    );
    let across = std::fs::read_to_string(fast.join("report.md")).unwrap();
    assert!(
        across.contains("## The exercise's observations, checked"),
        "{across}"
    );
    for k in 1..=2 {
        let trial = fast.join(format!("trial-{k}"));
        assert!(
            open.contains(&format!("  {}\n", trial.join("report.html").display())),
            "{out}"
        );
        assert!(
            across.contains(&format!("[trial-{k}](trial-{k}/report.md)")),
            "{across}"
        );
        for file in ["report.md", "report.json", "clocks.png"] {
            assert!(trial.join(file).exists(), "{file} in trial {k}");
        }
        let params = assert_clean(&trial);
        assert_eq!(params.seed, 10 + k);
        assert_eq!(params.addresses.len(), 3);
        assert!(params.addresses.iter().all(|a| a.starts_with("127.0.0.1:")));
        assert!(params.links.iter().map(|l| l.sent).sum::<u64>() > 0);
    }
    let slow = tmp.path().join("slow");
    run(
        &slow,
        &[
            "--trials",
            "1",
            "--duration",
            "3",
            "--rates",
            "1,6,6",
            "--sides",
            "4",
            "--seed",
            "12",
            "--no-analyze",
        ],
        Duration::from_secs(60),
    );
    assert!(!slow.join("trial-1/report.md").exists(), "--no-analyze");
    assert!(!slow.join("report.md").exists(), "--no-analyze");
    let params = assert_clean(&slow.join("trial-1"));
    assert_eq!(params.rates, [1, 6, 6]);
    assert!(
        params.machines[0].max_queue > 0,
        "the slow inbox fills: {:?}",
        params.machines[0]
    );
}

#[test]
fn a_full_inbox_holds_its_socket_and_loses_nothing() {
    // The slow machine gets about 666 messages per model second and takes
    // one: its 8,192-message inbox fills within 20 model seconds, the node
    // stops reading, TCP holds the rest, and at the end every message is
    // still accounted for.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("flood");
    let args = ["--trials", "1", "--rates", "1,1000,1000", "--sides", "4"];
    run_ending(
        &out,
        &[
            &args[..],
            &["--duration", "20", "--speed", "10", "--seed", "51"],
        ]
        .concat(),
        Duration::from_secs(90),
        // The fast machines may honestly end `overloaded` (see below).
        &[0, 4],
    );
    let dir = out.join("trial-1");
    let violations = check_dir(&dir).expect("the run directory reads");
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).expect("params.json");
    let slow = &params.machines[0];
    assert_eq!(slow.end, End::Completed, "{slow:?}");
    assert!(slow.held > 0, "the inbox never filled: {slow:?}");
    assert!(slow.inbox_left > 8_000, "{slow:?}");
    // 10,000 ticks a second each: on a shared machine the fast ones may fall
    // a tick behind, and honestly say so. Timing is not this test's subject.
    for fast in &params.machines[1..] {
        assert!(
            matches!(fast.end, End::Completed | End::Overloaded),
            "{fast:?}"
        );
    }
    for l in &params.links {
        assert_eq!(l.balance(), Ok(()), "{l:?}");
        // Only a sender behind its schedule sends after its receiver's end.
        let sender = &params.machines[usize::from(l.from)];
        assert!(l.lost == 0 || sender.end == End::Overloaded, "{l:?}");
    }
}

/// Each machine's die rolls in log order: the destination peers of each send,
/// or none for an internal event.
fn rolls(dir: &Path) -> Vec<Vec<Vec<u8>>> {
    let run = read_run(dir).expect("the run reads");
    run.logs
        .into_iter()
        .map(|rows| {
            rows.iter()
                .filter(|r| r.kind != Kind::Receive)
                .map(|r| r.peers.clone())
                .collect()
        })
        .collect()
}

#[test]
fn the_network_rolls_the_same_dice_as_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let (net, sim) = (tmp.path().join("net"), tmp.path().join("sim"));
    let model = ["--seed", "21", "--rates", "2,3,4", "--duration", "20"];
    run(
        &net,
        &[&model[..], &["--trials", "1", "--speed", "20"]].concat(),
        Duration::from_secs(60),
    );
    scalemodel()
        .arg("sim")
        .args(model)
        .arg("--out")
        .arg(&sim)
        .assert()
        .success();
    let (net, sim) = (rolls(&net.join("trial-1")), rolls(&sim));
    for id in 0..3 {
        let n = net[id].len().min(sim[id].len());
        assert!(n >= 20, "machine {id} rolled only {n} times");
        assert_eq!(net[id][..n], sim[id][..n], "machine {id}'s rolls differ");
    }
}

/// Starts node `id` of a run on `peers`, writing into `out`: `duration`
/// model seconds at speed 4, giving up on absent peers after `patience`; its
/// key file is `out.key` beside `out`, written if missing.
fn node(
    id: usize,
    peers: &[SocketAddr],
    start_at: u64,
    out: &Path,
    duration: u32,
    patience: &str,
) -> std::process::Child {
    let key = out.with_extension("key");
    if !key.exists() {
        let keys = out
            .parent()
            .expect("the run directory is in a temporary one");
        let name = key.file_name().and_then(|n| n.to_str()).expect("a name");
        key_file(keys, name, "a secret for the tests of net.rs");
    }
    hand_node(id, peers, start_at, out, &key, duration, patience)
}

/// How far ahead hand-started nodes are given their start: a node refuses a
/// start that passed before its barrier did, and a loaded machine (every test
/// of this file at once, on two cores) can take seconds to start three
/// processes.
const START_LEAD: Duration = Duration::from_secs(4);

fn unix_ns_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
}

#[test]
fn three_nodes_make_a_valid_run_whatever_order_they_start_in() {
    let tmp = tempfile::tempdir().unwrap();
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    std::thread::scope(|scope| {
        for order in orders {
            let dir = tmp
                .path()
                .join(format!("order-{}{}{}", order[0], order[1], order[2]));
            scope.spawn(move || {
                let peers = free_ports(3);
                let start_at = unix_ns_in(START_LEAD);
                let mut children = Children::default();
                for id in order {
                    children.0.push(node(id, &peers, start_at, &dir, 2, "10s"));
                    // Later nodes come up after the earlier ones have been refused.
                    std::thread::sleep(Duration::from_millis(250));
                }
                let statuses = children.wait_all(Duration::from_secs(30));
                assert!(
                    statuses.iter().all(|s| s.success()),
                    "{order:?}: {statuses:?}"
                );
                // `analyze` merges the nodes' summaries into params.json itself.
                let analyzed = scalemodel().arg("analyze").arg(&dir).output().unwrap();
                let text = String::from_utf8_lossy(&analyzed.stdout);
                assert!(analyzed.status.success(), "{order:?}: {text}");
                assert!(text.contains("merged node-0.json … node-2.json"), "{text}");
                assert_clean(&dir);
            });
        }
    });
}

/// Writes `frames`, encoded, on `stream`.
fn send_frames(stream: &mut std::net::TcpStream, frames: &[Frame]) {
    use std::io::Write;
    for frame in frames {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let bytes = encode(frame, &mut buf).expect("a frame fits MAX_FRAME_LEN");
        stream
            .write_all(bytes)
            .expect("the node takes a stranger's bytes");
    }
}

#[test]
fn strangers_are_turned_away_and_the_run_goes_on() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let mut children = Children::default();
    children.0.push(node(0, &peers, start_at, &dir, 2, "10s"));
    assert!(wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(peers[0]).is_ok()
    }));
    // Before the real peers: garbage, another protocol version, a plausible
    // machine 2 (machine 0's caller) that cannot prove the key, and silence.
    let mut garbage = std::net::TcpStream::connect(peers[0]).unwrap();
    garbage.write_all(&[0xff; 100]).unwrap();
    let mut wrong_version = std::net::TcpStream::connect(peers[0]).unwrap();
    let hello = |protocol| Frame::Hello {
        protocol,
        from: 2,
        challenge: [7; CHALLENGE_LEN],
        proof: [0; PROOF_LEN],
    };
    send_frames(&mut wrong_version, &[hello(PROTOCOL + 1)]);
    let mut impostor = std::net::TcpStream::connect(peers[0]).unwrap();
    send_frames(
        &mut impostor,
        &[
            hello(PROTOCOL),
            Frame::Proof {
                proof: [0; PROOF_LEN],
            },
        ],
    );
    let _silent = std::net::TcpStream::connect(peers[0]).unwrap();
    children.0.push(node(1, &peers, start_at, &dir, 2, "10s"));
    children.0.push(node(2, &peers, start_at, &dir, 2, "10s"));
    let statuses = children.wait_all(Duration::from_secs(30));
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut children.0[0].stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("rejected a connection from 127.0.0.1:"),
        "{stderr}"
    );
    let version = format!("protocol version {}, expected {PROTOCOL}", PROTOCOL + 1);
    assert!(stderr.contains(&version), "{stderr}");
    assert!(
        stderr.contains("its proof of the run's key is wrong"),
        "{stderr}"
    );
    let zero = scalemodel::rundir::NodeSummary::read(&dir, 0).unwrap();
    assert!(zero.rejected >= 3, "{zero:?}");
    for kind in ["bad bytes", "wrong version", "bad proof"] {
        assert_eq!(zero.protocol_errors.get(kind), Some(&1), "{kind}: {zero:?}");
    }
    merge_nodes(&dir).unwrap().write(&dir).unwrap();
    assert_clean(&dir);
}

#[test]
fn a_peer_that_never_appears_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let peers = free_ports(3);
    let start_at = unix_ns_in(Duration::from_secs(1));
    let mut children = Children::default();
    children
        .0
        .push(node(0, &peers, start_at, &tmp.path().join("run"), 2, "1s"));
    let statuses = children.wait_all(Duration::from_secs(20));
    assert!(!statuses[0].success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut children.0[0].stderr.take().unwrap(), &mut stderr).unwrap();
    let expect = format!("machine 1 at {} did not answer within 1 s", peers[1]);
    assert!(
        stderr.contains("Error: ") && stderr.contains(&expect),
        "{stderr}"
    );
}

#[test]
fn a_start_time_far_off_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let peers = free_ports(3);
    let mut children = Children::default();
    children.0.push(node(
        0,
        &peers,
        1_000_000_000,
        &tmp.path().join("run"),
        2,
        "1s",
    ));
    let statuses = children.wait_all(Duration::from_secs(20));
    assert!(!statuses[0].success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut children.0[0].stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.starts_with("Error: --start-at 1000000000 is"),
        "{stderr}"
    );
}

#[test]
fn a_peer_that_dies_is_logged_and_the_others_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let mut children = Children::default();
    for id in 0..3 {
        children.0.push(node(id, &peers, start_at, &dir, 20, "10s"));
    }
    // Kill machine 2 once it has logged a few ticks (of 100).
    let log = dir.join("machine-2.csv");
    assert!(wait_until(Duration::from_secs(20), || lines_in(&log) > 10));
    children.0[2].kill().unwrap();
    let statuses = children.wait_all(Duration::from_secs(30));
    assert!(
        statuses[0].success() && statuses[1].success(),
        "{statuses:?}"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut children.0[0].stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("lost machine 2 at model time"), "{stderr}");
    for id in 0..2 {
        let node = scalemodel::rundir::NodeSummary::read(&dir, id).unwrap();
        assert_eq!(node.machine.end, End::PeerLost);
        // It kept its rate to the end: 20 model seconds at its rate.
        assert_eq!(node.machine.ticks, 20 * u64::from(node.machine.rate));
        let lost = node.peers.iter().find(|p| p.peer == 2).unwrap();
        assert!(lost.lost_at_ns.is_some(), "{lost:?}");
    }
    // Review (issue 16): `analyze` could not read this run (no node-2.json;
    // only `run` rebuilt a dead node's summary). It does now, the same way.
    assert!(!dir.join("node-2.json").exists());
    let analyzed = scalemodel().arg("analyze").arg(&dir).output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&analyzed.stdout),
        String::from_utf8_lossy(&analyzed.stderr),
    );
    assert!(!err.contains("could not be analysed"), "{out}\n{err}");
    assert!(
        out.contains("machine 2 died without its node-2.json"),
        "{out}"
    );
    let params = Params::read(&dir).expect("analyze wrote params.json");
    assert_eq!(params.machines[2].end, End::Crashed);
    let died = params.processes[2].died.as_deref().unwrap_or_default();
    assert!(died.contains("node-2.json"), "{:?}", params.processes[2]);
    assert!(
        params.processes[2].notes[0].contains("rebuilt by `scalemodel analyze`"),
        "{:?}",
        params.processes[2]
    );
    let logged = read_run(&dir).unwrap().logs[2].len() as u64;
    assert_eq!(params.machines[2].ticks, logged);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("Machine 2's process died"), "{report}");
}

#[test]
fn an_interrupted_run_flushes_its_logs_and_leaves_no_process() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("interrupted");
    let mut launcher = Children::default();
    launcher.0.push(
        Command::new(scalemodel_bin())
            .args([
                "run",
                "--trials",
                "3",
                "--duration",
                "30",
                "--seed",
                "41",
                "--out",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let log = out.join("trial-1").join("machine-0.csv");
    assert!(
        wait_until(Duration::from_secs(20), || lines_in(&log) > 2),
        "the trial never started"
    );
    let pid = launcher.0[0].id();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let statuses = launcher.wait_all(Duration::from_secs(30));
    assert!(!statuses[0].success(), "an interrupted run fails");
    let dir = out.join("trial-1");
    let violations = check_dir(&dir).unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).unwrap();
    assert!(
        params.machines.iter().all(|m| m.end == End::Interrupted),
        "{:?}",
        params.machines
    );
    assert!(
        !out.join("trial-2").exists(),
        "no trial starts after an interrupt"
    );
    let needle = out.to_str().unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        processes_mentioning(needle).is_empty()
    }));
}

/// `run --clock hlc` carries an HLC over TCP: every machine completes,
/// the checker holds each logged stamp to the paper's rules from the
/// logged message stamps, each receive logs the stamp its send logged, and
/// `params.json` names the clock.
#[test]
fn an_hlc_run_carries_its_stamps_over_tcp() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hlc");
    let args = [
        "--trials",
        "1",
        "--duration",
        "30",
        "--speed",
        "10",
        "--seed",
        "23",
        "--clock",
        "hlc",
        "--no-analyze",
    ];
    run(&dir, &args, Duration::from_secs(60));
    let trial = dir.join("trial-1");
    let params = assert_clean(&trial);
    assert_eq!(params.clock.as_deref(), Some("hlc"));
    let run = read_run(&trial).unwrap();
    let mut sent = std::collections::HashMap::new();
    for log in &run.logs {
        for row in log.iter().filter(|r| r.kind == Kind::Send) {
            let (own, _) = row.hlc.expect("HLC columns");
            for (&to, &seq) in row.peers.iter().zip(&row.seqs) {
                sent.insert((row.machine, to, seq), own);
            }
        }
    }
    let mut receives = 0;
    for log in &run.logs {
        for row in log.iter().filter(|r| r.kind == Kind::Receive) {
            let (own, msg) = row.hlc.expect("HLC columns");
            let key = (row.peers[0], row.machine, row.seqs[0]);
            assert_eq!(msg, sent.get(&key).copied(), "line {}", row.line);
            assert!(own.l() >= row.system_ns);
            receives += 1;
        }
    }
    assert!(receives > 20, "{receives} receives");
}

/// `run --clock vector` carries vector clocks over TCP, five machines in a
/// ring: every machine completes, the checker holds each logged vector to
/// the rules from the logged message vectors, `analyze` holds each one to
/// happened-before rebuilt from the logs and each receive's message vector
/// to its send's, and `params.json` names the clock.
#[test]
fn a_vector_run_carries_its_vectors_over_tcp() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vector");
    let args = [
        "--trials",
        "1",
        "--duration",
        "30",
        "--speed",
        "10",
        "--seed",
        "23",
        "--machines",
        "5",
        "--topology",
        "ring",
        "--clock",
        "vector",
        "--no-analyze",
    ];
    run(&dir, &args, Duration::from_secs(60));
    let trial = dir.join("trial-1");
    let params = assert_clean(&trial);
    assert_eq!(params.clock.as_deref(), Some("vector"));
    let analysis = scalemodel::analysis::Analysis::of(&trial, read_run(&trial).unwrap());
    assert_eq!(analysis.violations.total(), 0, "{:?}", analysis.violations);
    let run = &analysis.run;
    let receives = run
        .logs
        .iter()
        .flatten()
        .filter(|r| r.kind == Kind::Receive);
    let mut count = 0;
    for row in receives {
        let (own, msg) = row.vc.as_ref().expect("vector columns");
        let msg = msg.as_ref().expect("a receive's message vector");
        assert_eq!((own.len(), msg.len()), (5, 5), "line {}", row.line);
        assert!(
            own.iter().zip(msg).all(|(a, b)| a >= b),
            "line {}",
            row.line
        );
        count += 1;
    }
    assert!(count > 20, "{count} receives");
}
