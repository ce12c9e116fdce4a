//! Faults from outside the model, on real processes: a node killed or
//! stopped mid-run, a full disk, wrong keys, numbers out of range. Every wait
//! is bounded; every process a test starts is ended by its pid, also when the
//! test fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scalemodel::check::check_dir;
use scalemodel::merge::merge_nodes;
use scalemodel::rundir::{End, FaultSummary, Params};
use scalemodel_tests::{
    Children, children_of, free_ports, hand_node, key_file, lines_in, scalemodel, scalemodel_bin,
    signal, wait_until,
};

/// How far ahead hand-started nodes get their start (see net.rs).
const START_LEAD: Duration = Duration::from_secs(4);

fn unix_ns_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
}

/// Everything `child` wrote on the pipe `pipe` took from it (after its exit).
fn read_all(pipe: Option<impl Read>) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_string(&mut text).expect("the pipe reads");
    }
    text
}

#[test]
fn a_node_killed_under_run_is_named_and_its_trial_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("killed");
    let mut launcher = Children::default();
    launcher.0.push(
        Command::new(scalemodel_bin())
            .args(["run", "--trials", "2", "--duration", "20", "--speed", "4"])
            .args(["--rates", "3,4,5", "--seed", "61", "--out"])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log = out.join("trial-1").join("machine-1.csv");
    assert!(
        wait_until(Duration::from_secs(30), || lines_in(&log) > 10),
        "trial 1 never started"
    );
    let nodes = children_of(launcher.0[0].id());
    let (pid, _) = nodes
        .iter()
        .find(|(_, args)| args.contains(" --id 1 "))
        .unwrap_or_else(|| panic!("machine 1 among the launcher's children: {nodes:?}"));
    assert!(signal(*pid, "KILL"));
    // Trial 1 goes on to its end (5 s of wall time), then trial 2 runs.
    let statuses = launcher.wait_all(Duration::from_secs(90));
    let stdout = read_all(launcher.0[0].stdout.take());
    let stderr = read_all(launcher.0[0].stderr.take());
    eprintln!("--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(statuses[0].code(), Some(3), "a machine died: exit status 3");
    let named = "trial 1: machine 1 died: killed by signal 9 (SIGKILL)";
    assert!(stdout.contains(named), "{stdout}");
    assert!(stderr.contains(&format!("Error: {named}")), "{stderr}");
    assert!(
        stderr.contains("trial 1, machine 0: machine 0: lost machine 1 at model time"),
        "the survivors' notes reach the user: {stderr}"
    );
    assert!(stdout.contains("wrote "), "{stdout}");

    let dir = out.join("trial-1");
    let violations = check_dir(&dir).expect("the trial reads");
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).unwrap();
    let dead = &params.machines[1];
    assert_eq!(dead.end, End::Crashed, "{dead:?}");
    // Killed after its 10th tick was logged, long before its 80th.
    assert!(dead.ticks >= 10 && dead.ticks < 80, "{dead:?}");
    assert_eq!(
        params.processes[1].died.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    // The launcher records the death as the fault that acted, so that the
    // checker can tell the survivors' `peer lost` from an unexplained one.
    assert_eq!(
        params.faults,
        Some(vec![FaultSummary::Crash {
            machine: 1,
            at_ns: None
        }])
    );
    for m in [&params.machines[0], &params.machines[2]] {
        assert_eq!(m.end, End::PeerLost, "{m:?}");
        assert_eq!(m.ticks, 20 * u64::from(m.rate), "it kept its rate: {m:?}");
    }
    for l in &params.links {
        assert_eq!(l.balance(), Ok(()), "{l:?}");
        eprintln!(
            "link {}->{}: sent {} = received {} + queued {} + in flight {} + lost {} + inferred {}",
            l.from, l.to, l.sent, l.received, l.queued, l.in_flight, l.lost, l.inferred
        );
        if l.from != 1 && l.to != 1 {
            assert_eq!(
                (l.lost, l.inferred),
                (0, 0),
                "only machine 1's links lose: {l:?}"
            );
        }
    }
    let analyzed = scalemodel().arg("analyze").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&analyzed.stdout);
    assert!(analyzed.status.success(), "{text}");
    assert!(
        text.contains("not completed: machine 0 peer lost, machine 1 crashed, machine 2 peer lost"),
        "{text}"
    );
    // The next trial ran, whole.
    let next = Params::read(&out.join("trial-2")).unwrap();
    assert_eq!(next.faults, Some(Vec::new()), "nothing acted on trial 2");
    assert!(
        next.machines.iter().all(|m| m.end == End::Completed),
        "{:?}",
        next.machines
    );
}

#[test]
fn a_node_stopped_by_sigterm_leaves_every_link_balanced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let key = key_file(tmp.path(), "run.key", "sigterm test secret");
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let mut children = Children::default();
    for id in 0..3 {
        children
            .0
            .push(hand_node(id, &peers, start_at, &dir, &key, 20, "10s"));
    }
    // Stop machine 2 (rate 5) a few model seconds in, of 20.
    let log = dir.join("machine-2.csv");
    assert!(wait_until(Duration::from_secs(30), || lines_in(&log) > 15));
    assert!(signal(children.0[2].id(), "TERM"));
    let statuses = children.wait_all(Duration::from_secs(40));
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    let params = merge_nodes(&dir).expect("the summaries merge");
    params.write(&dir).unwrap();
    let violations = check_dir(&dir).unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    let ends: Vec<End> = params.machines.iter().map(|m| m.end).collect();
    assert_eq!(ends, [End::PeerLost, End::PeerLost, End::Interrupted]);
    assert!(params.machines[2].ticks < 100, "{:?}", params.machines[2]);
    for l in &params.links {
        eprintln!(
            "link {}->{}: sent {} = received {} + queued {} + in flight {} + lost {}",
            l.from, l.to, l.sent, l.received, l.queued, l.in_flight, l.lost
        );
        assert_eq!(l.balance(), Ok(()), "{l:?}");
        assert_eq!(l.inferred, 0, "nobody crashed: {l:?}");
        match (l.from, l.to) {
            // Machine 2 said `Bye` with its count: all it sent arrived.
            (2, _) => assert_eq!(l.lost, 0, "{l:?}"),
            // Sends to machine 2 after its end never leave their sender.
            (_, 2) => assert!(l.lost > 0, "15 model s of sends to an ended machine: {l:?}"),
            // Machines 0 and 1 ended together with `Bye`: nothing in between.
            _ => assert_eq!((l.in_flight, l.lost), (0, 0), "{l:?}"),
        }
    }
}

/// Runs `sh -c` on `args` in a private mount namespace with a 64 KiB tmpfs
/// mounted on `mnt`; `None` (and a note) where this host cannot do that.
fn on_full_disk(mnt: &Path, args: &[&std::ffi::OsStr]) -> Option<Child> {
    let probe = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$1\""])
        .arg("sh")
        .arg(mnt)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: cannot mount a tmpfs in a private mount namespace here (unshare -rm)");
        return None;
    }
    Some(
        Command::new("unshare")
            .args([
                "-rm",
                "sh",
                "-c",
                "mount -t tmpfs -o size=64k tmpfs \"$1\" && shift && exec \"$@\"",
            ])
            .arg("sh")
            .arg(mnt)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare starts"),
    )
}

#[test]
fn a_full_disk_is_named_with_the_file_and_nothing_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let out: PathBuf = mnt.join("run");
    let bin = scalemodel_bin().as_os_str();
    let fast = [
        "--rates",
        "1000,1000,1000",
        "--seed",
        "3",
        "--duration",
        "5",
    ];
    let mut cases = vec![(
        "sim",
        vec![bin, "sim".as_ref(), "--out".as_ref(), out.as_os_str()],
    )];
    cases.push((
        "run",
        vec![
            bin,
            "run".as_ref(),
            "--trials".as_ref(),
            "1".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
    ));
    for (what, mut args) in cases {
        args.extend(fast.iter().map(std::ffi::OsStr::new));
        let Some(child) = on_full_disk(&mnt, &args) else {
            return;
        };
        let mut children = Children(vec![child]);
        let statuses = children.wait_all(Duration::from_secs(60));
        let stderr = read_all(children.0[0].stderr.take());
        eprintln!("--- {what}\n{stderr}");
        assert!(!statuses[0].success(), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        let file = format!("cannot write {}/", out.display());
        assert!(
            stderr.contains(&file) && stderr.contains("No space left on device"),
            "{what}: {stderr}"
        );
        if what == "run" {
            assert_eq!(statuses[0].code(), Some(3), "{stderr}");
            assert!(stderr.contains("Error: trial 1: machine "), "{stderr}");
        }
    }
}

#[test]
fn nodes_with_different_keys_never_join_and_a_node_needs_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let a = key_file(tmp.path(), "a.key", "the secret of run a");
    let b = key_file(tmp.path(), "b.key", "the secret of run b");
    let peers = free_ports(3);
    let start_at = unix_ns_in(START_LEAD);
    let mut children = Children::default();
    for (id, key) in [(0, &a), (1, &b), (2, &b)] {
        children
            .0
            .push(hand_node(id, &peers, start_at, &dir, key, 2, "2s"));
    }
    let statuses = children.wait_all(Duration::from_secs(30));
    assert!(statuses.iter().all(|s| !s.success()), "{statuses:?}");
    // Machine 0 dials machine 1, which proves a key that is not machine 0's.
    let stderr = read_all(children.0[0].stderr.take());
    let named = format!("machine 1 at {} did not answer within 2 s", peers[1]);
    assert!(stderr.contains(&named), "{stderr}");
    assert!(
        stderr.contains("its proof of the run's key is wrong"),
        "{stderr}"
    );
    let stderr = read_all(children.0[1].stderr.take());
    let named = format!("machine 0 did not connect to {} within 2 s", peers[1]);
    assert!(stderr.contains(&named), "{stderr}");
    assert!(!dir.join("params.json").exists());

    // No key file: refused by name, before anything starts.
    let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
    let start = unix_ns_in(START_LEAD).to_string();
    let base = ["node", "--id", "0", "--seed", "1", "--start-at", &start];
    let no_key = scalemodel()
        .args(base)
        .args(["--peers", &peers.join(",")])
        .arg("--out")
        .arg(tmp.path().join("nokey"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&no_key.stderr);
    assert_eq!(no_key.status.code(), Some(2), "{text}");
    assert!(text.contains("--key-file"), "{text}");

    // A key file others may read: refused, with the fix.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = scalemodel()
        .args(base)
        .args(["--peers", &peers.join(",")])
        .arg("--key-file")
        .arg(&a)
        .arg("--out")
        .arg(tmp.path().join("open"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&open.stderr);
    assert!(!open.status.success(), "{text}");
    assert!(
        text.contains("--key-file") && text.contains(&format!("chmod 600 {}", a.display())),
        "{text}"
    );
}

#[test]
fn numbers_out_of_range_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let key = key_file(tmp.path(), "run.key", "numbers test secret");
    for huge in ["1000000000000s", "18446744073709551615s"] {
        let run = scalemodel()
            .args([
                "run",
                "--trials",
                "1",
                "--duration",
                "1",
                "--connect-timeout",
                huge,
            ])
            .arg("--out")
            .arg(tmp.path().join("huge"))
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{text}");
        assert!(
            text.contains("--connect-timeout") && text.contains("at most 1day"),
            "{text}"
        );
        assert!(!text.contains("panicked"), "{text}");
    }
    let peers = free_ports(3);
    let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
    let node = |start_at: u64, patience: &str| {
        scalemodel()
            .args([
                "node",
                "--id",
                "0",
                "--seed",
                "1",
                "--peers",
                &peers.join(","),
            ])
            .arg("--key-file")
            .arg(&key)
            .args(["--start-at", &start_at.to_string()])
            .args(["--connect-timeout", patience])
            .arg("--out")
            .arg(tmp.path().join("node"))
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap()
    };
    let huge = node(unix_ns_in(START_LEAD), "1000000000000s");
    let text = String::from_utf8_lossy(&huge.stderr);
    assert_eq!(huge.status.code(), Some(2), "{text}");
    assert!(text.contains("--connect-timeout"), "{text}");
    // Two seconds ago: not a minute of ticks to race through, an error.
    let past = unix_ns_in(Duration::ZERO) - 2_000_000_000;
    let late = node(past, "1s");
    let text = String::from_utf8_lossy(&late.stderr);
    assert_eq!(late.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with(&format!("Error: --start-at {past} is 2."))
            && text.contains("in the past"),
        "{text}"
    );
}
