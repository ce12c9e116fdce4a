//! The networked experiment with more than three machines and each
//! topology, end to end: `scalemodel run --machines N --topology T` on
//! loopback, checked by the checker and `analyze`; a send off a ring's
//! links planted in a copy of a run and found; bad flags refused. Every
//! wait is bounded: the launcher is killed past its limit, and its nodes
//! see their parent die and stop.

use std::path::Path;
use std::time::Duration;

use scalemodel::check::check_dir;
use scalemodel::check::violation::Rule;
use scalemodel::rundir::{End, Kind, Params, Topology, model_links, read_run};
use scalemodel_tests::scalemodel;

/// Runs one short trial of `scalemodel run` with `args` into `out`, at a
/// high speed (a few model seconds), and returns its directory.
fn run_trial(out: &Path, args: &[&str], limit: Duration) -> std::path::PathBuf {
    let output = scalemodel()
        .arg("run")
        .arg("--out")
        .arg(out)
        .args(["--trials", "1", "--speed", "20", "--seed", "5"])
        .args(args)
        .timeout(limit)
        .output()
        .expect("scalemodel run starts");
    assert!(
        output.status.success(),
        "scalemodel run {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out.join("trial-1")
}

/// A valid run of `n` machines under `topology`: no violation, every
/// machine completed, every link of the topology summarised and every
/// message accounted for exactly, and every send on a link of it.
fn assert_clean(dir: &Path, n: usize, topology: Topology) -> Params {
    let violations = check_dir(dir).expect("the run directory reads");
    assert!(violations.is_empty(), "{}: {violations:#?}", dir.display());
    let run = read_run(dir).expect("the run reads");
    let params = run.params.clone();
    assert_eq!((params.rates.len(), params.topology), (n, topology));
    for m in &params.machines {
        assert_eq!(m.end, End::Completed, "machine {}: {m:?}", m.id);
    }
    let links: Vec<(u8, u8)> = params.links.iter().map(|l| (l.from, l.to)).collect();
    assert_eq!(links, model_links(n, topology).collect::<Vec<_>>());
    for l in &params.links {
        assert_eq!(l.in_flight, 0, "{l:?}");
        assert_eq!(l.sent, l.received + l.queued, "{l:?}");
    }
    for (id, log) in (0u8..).zip(&run.logs) {
        for row in log.iter().filter(|r| r.kind == Kind::Send) {
            for &to in &row.peers {
                assert!(links.contains(&(id, to)), "{id} sent to {to}: {row:?}");
            }
        }
    }
    params
}

/// `analyze` on `dir` passes and says the run conforms.
fn analyze_conforms(dir: &Path) {
    let out = scalemodel()
        .arg("analyze")
        .arg(dir)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("analyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("conforms"), "{text}");
}

#[test]
fn five_and_sixteen_machines_run_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, secs) in [(5, "4"), (16, "3")] {
        let machines = n.to_string();
        let trial = run_trial(
            &tmp.path().join(format!("n{n}")),
            &["--machines", &machines, "--duration", secs, "--no-analyze"],
            Duration::from_secs(90),
        );
        let params = assert_clean(&trial, n, Topology::All);
        assert_eq!(params.links.len(), n * (n - 1));
        // Every machine sent: every one has a link to every other.
        assert!(params.machines.iter().all(|m| m.events.send > 0));
        assert_eq!(params.processes.len(), n);
        analyze_conforms(&trial);
    }
}

#[test]
fn ring_and_leader_runs_are_held_to_their_topology() {
    let tmp = tempfile::tempdir().unwrap();
    for topology in [Topology::Ring, Topology::Leader] {
        let trial = run_trial(
            &tmp.path().join(topology.name()),
            &[
                "--machines",
                "5",
                "--topology",
                topology.name(),
                "--duration",
                "4",
                "--rates",
                "6,6,6,6,6",
                "--no-analyze",
            ],
            Duration::from_secs(60),
        );
        let params = assert_clean(&trial, 5, topology);
        let senders: Vec<u8> = params
            .machines
            .iter()
            .filter(|m| m.events.send > 0)
            .map(|m| m.id)
            .collect();
        match topology {
            Topology::Leader => assert_eq!(senders, [0]),
            _ => assert_eq!(senders, [0, 1, 2, 3, 4]),
        }
        let report = std::fs::read_to_string(trial.join("params.json")).unwrap();
        assert!(
            report.contains(&format!("\"topology\": \"{}\"", topology.name())),
            "{report}"
        );
        analyze_conforms(&trial);
        // The reports name the topology beside the number of machines.
        let md = std::fs::read_to_string(trial.join("report.md")).unwrap();
        let says = format!("5 machines under the topology `{}`", topology.name());
        assert!(md.contains(&says), "{md}");
        let page = std::fs::read_to_string(trial.join("report.html")).unwrap();
        assert!(page.contains(&format!("topology <b>{}</b>", topology.name())));
    }
}

#[test]
fn a_ring_machine_sending_to_a_non_neighbour_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let trial = run_trial(
        &tmp.path().join("ring"),
        &[
            "--machines",
            "5",
            "--topology",
            "ring",
            "--duration",
            "3",
            "--rates",
            "6,6,6,6,6",
            "--no-analyze",
        ],
        Duration::from_secs(60),
    );
    assert_clean(&trial, 5, Topology::Ring);
    // A copy of the run, machine 1's first send moved from machine 2 (its
    // next) to machine 3: a link the ring does not have.
    let copy = tmp.path().join("planted");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(&trial).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    let log = copy.join("machine-1.csv");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut planted = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(',').collect();
            if !planted && fields.get(4) == Some(&"send") {
                assert_eq!(fields[7], "2", "{line}");
                fields[7] = "3";
                planted = true;
            }
            fields.join(",")
        })
        .collect();
    assert!(planted, "machine 1 sent nothing:\n{text}");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let violations = check_dir(&copy).expect("the copy reads");
    assert!(
        violations.iter().any(|v| v.rule == Rule::Topology
            && v.detail.contains("sent to 3")
            && v.detail.contains("`ring`")),
        "{violations:#?}"
    );
    let out = scalemodel().arg("analyze").arg(&copy).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("topology"));
}

#[test]
fn bad_machine_and_topology_flags_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let cases: [(&[&str], &str); 7] = [
        (&["run", "--machines", "2"], "--machines"),
        (&["run", "--machines", "17"], "from 3 to 16"),
        (&["run", "--topology", "star"], "unknown topology `star`"),
        (
            &["run", "--machines", "5", "--rates", "1,2,3"],
            "--rates gives 3 rates, but --machines is 5",
        ),
        (
            &["run", "--machines", "5", "--sides", "5"],
            "--sides 5 must exceed --machines 5",
        ),
        (
            &["sim", "--machines", "5", "--rates", "1,2,3"],
            "--rates gives 3 rates, but --machines is 5",
        ),
        (
            &[
                "sim",
                "--machines",
                "16",
                "--topology",
                "ring",
                "--sides",
                "16",
            ],
            "--sides 16 must exceed --machines 16",
        ),
    ];
    for (args, says) in cases {
        let output = scalemodel()
            .args(args)
            .arg("--out")
            .arg(&out)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} passed");
        assert!(err.contains(says), "{args:?}: no `{says}` in {err}");
    }
    assert!(!out.exists(), "a refused run wrote {}", out.display());
    // A node's addresses must be one per machine.
    let output = scalemodel()
        .args(["node", "--machines", "4", "--id", "0", "--seed", "1"])
        .args(["--peers", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"])
        .args(["--key-file", "/nonexistent", "--start-at", "1"])
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--peers gives 3 addresses, but --machines is 4"),
        "{err}"
    );
}
