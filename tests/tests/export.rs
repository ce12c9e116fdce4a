//! `scalemodel export shiviz`: the log parses back with the expression the
//! README gives, each host's own entry counts its events, and every receive
//! dominates the send it took.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use regex::Regex;
use scalemodel::rundir::{self, Kind};
use scalemodel_tests::{scalemodel, scalemodel_fails};

/// A vector clock as the export writes it.
type Clock = BTreeMap<String, u64>;

/// The parser expression, as the README gives it: the line after the one
/// that introduces it, in a code block.
fn readme_regex() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("the README");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.contains("ShiViz's parser expression"));
    lines
        .find(|l| l.starts_with("(?<event>"))
        .expect("the README gives the expression")
        .to_owned()
}

fn export(args: &[&str], dir: &Path) -> String {
    scalemodel()
        .args(["sim", "--no-analyze", "--out"])
        .arg(dir)
        .args(args)
        .assert()
        .success();
    let file = dir.join("run.shiviz");
    scalemodel()
        .args(["export", "shiviz"])
        .arg(dir)
        .arg("-o")
        .arg(&file)
        .assert()
        .success();
    std::fs::read_to_string(&file).expect("the export")
}

fn check(args: &[&str]) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("run");
    let text = export(args, &dir);
    let expression = readme_regex();
    let (first, rest) = text.split_once('\n').expect("lines");
    assert_eq!(
        first, expression,
        "the file's first line is the README's expression"
    );
    let log = rest.strip_prefix('\n').expect("an empty delimiter line");
    // ShiViz's named groups are JavaScript's; Rust's regex reads them alike.
    let parser = Regex::new(&expression).expect("the expression compiles");
    let run = rundir::read_run(&dir).expect("the run reads");
    let n = run.logs.len();
    // Each host's events in the export, by tick: their clocks.
    let mut clocks: Vec<HashMap<u64, Clock>> = vec![HashMap::new(); n];
    let mut own = vec![0u64; n];
    let mut parsed = 0;
    let mut end = 0;
    for c in parser.captures_iter(log) {
        let whole = c.get(0).expect("a match");
        assert_eq!(
            &log[end..whole.start()],
            if end == 0 { "" } else { "\n" },
            "nothing between events"
        );
        end = whole.end();
        parsed += 1;
        let host = &c["host"];
        let id: usize = host
            .strip_prefix("machine-")
            .and_then(|i| i.parse().ok())
            .expect(host);
        let clock: Clock = serde_json::from_str(&c["clock"]).expect("the clock is JSON");
        own[id] += 1;
        assert_eq!(
            clock.get(host),
            Some(&own[id]),
            "{host}'s own entry counts its events: {}",
            &c["event"]
        );
        assert!(clock.values().all(|&v| v > 0), "entries of 0 are left out");
        let tick: u64 = c["event"]
            .rsplit_once("tick ")
            .and_then(|(_, t)| t.split(' ').next()?.parse().ok())
            .expect("the event names its tick");
        assert!(
            clocks[id].insert(tick, clock).is_none(),
            "one event per tick"
        );
    }
    assert_eq!(&log[end..], "\n", "the whole log parses");
    let rows: usize = run.logs.iter().map(Vec::len).sum();
    assert_eq!(parsed, rows, "every logged event is exported");
    // Every receive dominates its send.
    let mut sends = HashMap::new();
    for (i, log) in run.logs.iter().enumerate() {
        for r in log.iter().filter(|r| r.kind == Kind::Send) {
            for (&to, &seq) in r.peers.iter().zip(&r.seqs) {
                sends.insert((i as u8, to, seq), &clocks[i][&r.tick]);
            }
        }
    }
    let mut receives = 0;
    for (j, log) in run.logs.iter().enumerate() {
        for r in log.iter().filter(|r| r.kind == Kind::Receive) {
            let send = sends[&(r.peers[0], j as u8, r.seqs[0])];
            let got = &clocks[j][&r.tick];
            for (host, v) in send {
                assert!(
                    got.get(host).is_some_and(|g| g >= v),
                    "machine {j} tick {}: {got:?} under {send:?}",
                    r.tick
                );
            }
            receives += 1;
        }
    }
    assert!(receives > 0, "the run has receives to check");
}

#[test]
fn a_run_of_three_exports_for_shiviz() {
    check(&["--seed", "3", "--duration", "30"]);
}

#[test]
fn a_ring_of_five_with_faults_exports_for_shiviz() {
    check(&[
        "--seed",
        "4",
        "--duration",
        "30",
        "--machines",
        "5",
        "--topology",
        "ring",
        "--faults",
        "crash 2@10s",
    ]);
}

#[test]
fn an_export_of_no_run_says_what_is_missing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().as_os_str();
    let (_, err) = scalemodel_fails(["export".as_ref(), "shiviz".as_ref(), dir]);
    assert!(err.contains("params.json"), "{err}");
}
