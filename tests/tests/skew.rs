//! `sim --skew`: each machine's logged `system_ns` reads its own skewed
//! clock, exactly as `params.json` records it; the run conforms, the
//! checker holds each tick to its machine's clock, and `analyze` counts
//! the causes stamped after their effects.

use std::path::Path;

use scalemodel::rundir::{self, Params};
use scalemodel_core::due_ns;
use scalemodel_tests::{scalemodel, scalemodel_fails};

const START: &str = "1700000000000000000";

fn skewed(dir: &Path, skew: &str) {
    scalemodel()
        .args([
            "sim",
            "--seed",
            "4",
            "--start-ns",
            START,
            "--skew",
            skew,
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
}

#[test]
fn each_machine_logs_its_own_clock_and_the_run_conforms() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("run");
    skewed(&dir, "1s,1000");
    let run = rundir::read_run(&dir).expect("the run reads");
    let skew = run
        .params
        .skew
        .clone()
        .expect("params.json records the skew");
    assert_eq!((skew.offset_ns, skew.drift_ppm), (1_000_000_000, 1000));
    let p = &run.params;
    for (id, log) in run.logs.iter().enumerate() {
        let clock = skew.of(id);
        assert!(
            clock.offset_ns != 0 && clock.drift_ppb != 0,
            "machine {id} drew a skew"
        );
        for row in log {
            let due = due_ns(p.start_ns, row.model_ns, p.speed);
            assert_eq!(
                row.system_ns,
                clock.read(p.start_ns, due),
                "machine {id} tick {}",
                row.tick
            );
        }
    }
    scalemodel().arg("analyze").arg(&dir).assert().success();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report.json"))
            .expect("report.json parses");
    let inverted = report["causality"]["timestamps"]["inverted"]
        .as_u64()
        .expect("the figure");
    assert!(
        inverted > 0,
        "clocks a second apart stamp some causes after their effects"
    );
    // The HLC replayed over the skewed timestamps runs ahead of a slow
    // machine's clock, within the paper's bound: the widest gap between
    // two machines' clocks.
    let hlc = &report["hlc"];
    let (ahead, max_ahead, epsilon) = (
        hlc["ahead"].as_u64().expect("the figure"),
        hlc["max_ahead_ns"].as_u64().expect("the figure"),
        hlc["epsilon_ns"].as_u64().expect("the figure"),
    );
    assert!(ahead > 0 && max_ahead > 0, "{hlc}");
    assert!(max_ahead <= epsilon && epsilon <= 2_000_000_000, "{hlc}");
    assert_eq!(hlc["within_bound"], true, "{hlc}");
    let first = report["machines"][0]["clock_error"]["first_ns"]
        .as_i64()
        .expect("the figure");
    assert_eq!(
        first,
        skew.of(0).offset_ns,
        "machine 0's first event is off by its offset"
    );
}

#[test]
fn the_checker_holds_each_tick_to_its_machines_clock() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("run");
    skewed(&dir, "1s,1000");
    // Claim that a machine whose clock was set back ran on true time: its
    // ticks then ran before they were due.
    let mut params = Params::read(&dir).expect("params.json reads");
    let skew = params.skew.as_mut().expect("a skew");
    let back = skew
        .machines
        .iter()
        .position(|m| m.offset_ns < -1_000_000)
        .expect("a clock set back");
    skew.machines[back].offset_ns = 0;
    skew.machines[back].drift_ppb = 0;
    params.write(&dir).expect("params.json writes");
    let (text, _) = scalemodel_fails(["analyze".as_ref(), dir.as_os_str()]);
    assert!(
        text.contains(&format!("machine-{back}.csv")) && text.contains("before it was due"),
        "{text}"
    );
}

#[test]
fn skew_is_refused_with_what_is_wrong() {
    for (args, says) in [
        (&["--skew", "50ms"][..], "OFFSET,PPM"),
        (&["--skew", "2h,10"], "at most 1h"),
        (&["--skew", "1s,200000"], "from 0 to 100000"),
        (&["--skew", "1s,-5"], "whole number of ppm"),
        (
            &["--skew", "1s,10", "--start-ns", "5"],
            "--start-ns of at least 1000000000",
        ),
    ] {
        let (_, err) = scalemodel_fails(["sim"].iter().chain(args).chain(&["--no-log"]));
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
