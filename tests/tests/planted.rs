//! `analyze` holds what the swarm holds: bugs planted one at a time in a
//! valid run's `params.json`, each of which the swarm caught and `analyze`
//! once passed ("conforms", exit 0), each caught by its named rule.

use std::path::Path;

use serde_json::{Value, json};

use scalemodel_tests::{scalemodel, sim_into};

/// A simulated run of 60 s at rate 6 everywhere, with `faults`, in `dir`.
fn run_into(dir: &Path, faults: &str) {
    let mut args = vec!["--seed", "16", "--rates", "6,6,6", "--duration", "60"];
    if !faults.is_empty() {
        args.extend(["--faults", faults]);
    }
    sim_into(dir, &args);
}

/// Applies `edit` to `dir/params.json`.
fn plant(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("params.json");
    let text = std::fs::read_to_string(&path).expect("the run wrote params.json");
    let mut params: Value = serde_json::from_str(&text).expect("params.json is JSON");
    edit(&mut params);
    std::fs::write(&path, params.to_string()).expect("params.json is writable");
}

/// `analyze` on `dir`: whether it passed, and what it printed.
fn analyze(dir: &Path) -> (bool, String) {
    let out = scalemodel()
        .arg("analyze")
        .arg(dir)
        .output()
        .expect("analyze runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// `analyze` fails on `dir`, naming each of `lines`.
fn flags(dir: &Path, lines: &[&str]) {
    let (ok, text) = analyze(dir);
    assert!(!ok, "a planted bug passed: {text}");
    assert!(!text.contains("conforms"), "{text}");
    for line in lines {
        assert!(text.contains(line), "no `{line}` in: {text}");
    }
}

#[test]
fn the_faulted_runs_the_bugs_are_planted_in_conform_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, faults) in [
        ("none", ""),
        ("stop", "stop 1@20s"),
        ("crash", "crash 1@20s"),
    ] {
        let dir = tmp.path().join(name);
        run_into(&dir, faults);
        let (ok, text) = analyze(&dir);
        assert!(ok && text.contains("conforms"), "{name}: {text}");
    }
}

#[test]
fn a_stopped_machine_that_says_completed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "stop 1@20s");
    plant(&dir, |p| p["machines"][1]["end"] = json!("completed"));
    flags(
        &dir,
        &["params.json: end: machine 1 ended completed but ran 120 of 360 ticks"],
    );
}

#[test]
fn a_crashed_machine_that_says_completed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "crash 1@20s");
    plant(&dir, |p| p["machines"][1]["end"] = json!("completed"));
    flags(
        &dir,
        &[
            "params.json: end: machine 1 ended completed but ran 120 of 360 ticks",
            "params.json: faults: machine 1 ended completed, but a crash hit it",
        ],
    );
}

#[test]
fn a_bye_that_miscounts_in_a_run_without_faults_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "");
    // What a `Bye` off by one leaves: each machine refuses its peers' `Bye`s
    // and ends `peer lost`.
    plant(&dir, |p| {
        for m in p["machines"].as_array_mut().unwrap() {
            m["end"] = json!("peer lost");
            m["protocol_errors"] = json!({ "Bye count": 2 });
        }
    });
    flags(
        &dir,
        &[
            "params.json: protocol: machine 0 saw 2 `Bye count` protocol errors",
            "params.json: faults: no fault acted, yet machine 2 ended peer lost",
        ],
    );
}

#[test]
fn a_seq_error_is_caught_whatever_the_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "crash 1@20s");
    plant(&dir, |p| {
        p["machines"][0]["protocol_errors"] = json!({ "seq out of order": 1 });
    });
    flags(
        &dir,
        &["params.json: protocol: machine 0 saw 1 `seq out of order` protocol errors"],
    );
}

#[test]
fn a_late_or_stalled_machine_that_says_completed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "");
    plant(&dir, |p| {
        // Two ticks behind once, and 4 late ticks of 360: over one in a hundred.
        p["machines"][0]["max_behind"] = json!(2);
        p["machines"][0]["late_ticks"] = json!(4);
        // A stall the host absorbed: 5 ticks behind once, 3 late ticks of
        // 360, so completed.
        p["machines"][1]["behind_ticks"] = json!(3);
        p["machines"][1]["max_behind"] = json!(5);
        p["machines"][1]["late_ticks"] = json!(3);
        p["machines"][2]["stalls"] = json!(1);
    });
    flags(
        &dir,
        &[
            "params.json: end: machine 0 ended completed but it was 2 ticks behind its schedule at once and 4 of its 360 ticks ran late (more than 1 in a hundred)",
            "params.json: end: machine 2 ended completed but it stalled 1 times",
        ],
    );
    let (_, text) = analyze(&dir);
    assert!(!text.contains("machine 1 ended completed"), "{text}");
}

/// A file of version 0.1 keeps the rule it was written under: more than one
/// tick behind at once was overload, however few ticks ran late.
#[test]
fn an_older_file_two_ticks_behind_that_says_completed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "");
    plant(&dir, |p| {
        p["version"] = json!("0.1.0");
        p["machines"][0]["max_behind"] = json!(2);
        p["machines"][0]["late_ticks"] = json!(2);
        // Under that rule, many late ticks never more than one behind completed.
        p["machines"][1]["max_behind"] = json!(1);
        p["machines"][1]["late_ticks"] = json!(50);
    });
    flags(
        &dir,
        &[
            "params.json: end: machine 0 ended completed but it was 2 ticks behind its schedule at once",
        ],
    );
    let (_, text) = analyze(&dir);
    assert!(!text.contains("machine 1 ended completed"), "{text}");
}

/// A file written before `max_behind` keeps the rule it was written under:
/// any tick a period late was overload.
#[test]
fn an_older_file_with_a_tick_a_period_late_that_says_completed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "");
    plant(&dir, |p| {
        p["version"] = json!("0.1.0");
        let m = p["machines"][0].as_object_mut().unwrap();
        m.remove("max_behind");
        m.insert("behind_ticks".into(), json!(3));
    });
    flags(
        &dir,
        &["params.json: end: machine 0 ended completed but 3 ticks ran a period late"],
    );
}

#[test]
fn an_inferred_loss_without_a_crash_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "stop 1@20s");
    // A remainder that balances the link by construction, where every
    // machine lived to count its own losses.
    plant(&dir, |p| {
        let l = &mut p["links"][0];
        let sent = l["sent"].as_u64().unwrap();
        l["sent"] = json!(sent + 4);
        l["inferred"] = json!(4);
    });
    flags(
        &dir,
        &["params.json: faults: link 0->1: 4 messages inferred lost, but neither end crashed"],
    );
}

#[test]
fn a_params_json_without_the_new_fields_still_conforms() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    run_into(&dir, "crash 1@20s");
    plant(&dir, |p| {
        let p = p.as_object_mut().unwrap();
        p.remove("faults");
        for m in p["machines"].as_array_mut().unwrap() {
            let m = m.as_object_mut().unwrap();
            for field in [
                "behind_ticks",
                "max_behind",
                "late_ticks",
                "max_late_ns",
                "protocol_errors",
            ] {
                m.remove(field);
            }
        }
        for l in p["links"].as_array_mut().unwrap() {
            l.as_object_mut().unwrap().remove("inferred");
        }
    });
    let (ok, text) = analyze(&dir);
    assert!(ok && text.contains("conforms"), "{text}");
}
