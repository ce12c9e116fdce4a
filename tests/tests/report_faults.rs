//! A faulted run's `report.html` draws its faults where they acted, and
//! ends each message lost to one where it was lost: checked here in the
//! data the page embeds (its drawing, in `report_html.rs`).

use std::path::Path;

use scalemodel_tests::sim_into;
use serde_json::Value;

/// The data `report.html` in `dir` embeds for its scripts.
fn page_data(dir: &Path) -> Value {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("sim wrote report.html");
    let start = r#"<script type="application/json" id="data">"#;
    let at = html.find(start).expect("the page embeds its data") + start.len();
    let len = html[at..].find("</script>").expect("the data ends");
    serde_json::from_str(&html[at..at + len]).expect("the data is JSON")
}

/// `params.json` of the run in `dir`.
fn params(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("params.json")).expect("params.json");
    serde_json::from_str(&text).expect("params.json parses")
}

/// Every message of the logs, in the page's order (by sender, then log
/// line, then destination): its sender, receiver and send time in s.
fn messages(dir: &Path) -> Vec<(u64, u64, f64)> {
    let mut out = Vec::new();
    for from in 0..3u64 {
        let text = std::fs::read_to_string(dir.join(format!("machine-{from}.csv"))).expect("log");
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f[4] == "send" {
                let sent_s = f[2].parse::<f64>().expect("model_ns") / 1e9;
                for to in f[7].split(';') {
                    out.push((from, to.parse().expect("peer"), sent_s));
                }
            }
        }
    }
    out
}

/// A fault as the page draws it: kind, lanes, from, until, timed.
type Mark = (String, Vec<f64>, f64, Option<f64>, bool);

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|n| n.as_f64().expect("a number"))
        .collect()
}

/// The lost messages of `data`: (message, at_s, lane, fault).
fn lost(data: &Value) -> Vec<(usize, f64, u64, i64)> {
    let l = &data["lost"];
    let (k, at, lane, fault) = (
        numbers(&l["k"]),
        numbers(&l["at_s"]),
        numbers(&l["lane"]),
        numbers(&l["fault"]),
    );
    (0..k.len())
        .map(|i| (k[i] as usize, at[i], lane[i] as u64, fault[i] as i64))
        .collect()
}

/// Each link's count of messages drawn lost equals its `lost + inferred`.
fn assert_every_loss_drawn(dir: &Path, data: &Value) {
    let msgs = messages(dir);
    let drawn = lost(data);
    for l in params(dir)["links"].as_array().expect("links") {
        let (from, to) = (
            l["from"].as_u64().expect("from"),
            l["to"].as_u64().expect("to"),
        );
        let counted = l["lost"].as_u64().unwrap_or(0) + l["inferred"].as_u64().unwrap_or(0);
        let on_link = drawn
            .iter()
            .filter(|d| msgs[d.0].0 == from && msgs[d.0].1 == to)
            .count();
        assert_eq!(
            on_link as u64,
            counted,
            "link {from}->{to} in {}",
            dir.display()
        );
    }
}

#[test]
fn each_fault_is_named_with_its_time_and_lanes_and_lost_messages_end_at_the_crash() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("f");
    let faults = "crash 1@20s, partition 0-2@5s..15s, pause 2@30s..35s";
    sim_into(
        &dir,
        &["--seed", "5", "--duration", "60", "--faults", faults],
    );
    let data = page_data(&dir);
    let marks: Vec<Mark> = data["faults"]
        .as_array()
        .expect("the page data names the faults")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().expect("kind").to_owned(),
                numbers(&f["lanes"]),
                f["from_s"].as_f64().expect("from_s"),
                f["until_s"].as_f64(),
                f["timed"].as_bool().expect("timed"),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("crash".to_owned(), vec![1.0], 20.0, None, true),
            (
                "partition".to_owned(),
                vec![0.0, 2.0],
                5.0,
                Some(15.0),
                true
            ),
            ("pause".to_owned(), vec![2.0], 30.0, Some(35.0), true),
        ]
    );
    // Every message lost here went to the crashed machine 1: each ends on
    // its lane, at the crash or (sent after it) when it reached the dead
    // machine; they used to run dashed to the end of the run at 60 s.
    let msgs = messages(&dir);
    let drawn = lost(&data);
    assert_eq!(drawn.len(), 15, "{drawn:?}");
    for &(k, at_s, lane, fault) in &drawn {
        assert_eq!((msgs[k].1, lane, fault), (1, 1, 0), "message {k}");
        assert_eq!(at_s, msgs[k].2.max(20.0), "message {k}");
    }
    assert_every_loss_drawn(&dir, &data);
    let html = std::fs::read_to_string(dir.join("report.html")).expect("page");
    assert!(
        html.contains("crash: machine 1 at 20.000 s; partition: machines 0 and 2 from 5.000 s to 15.000 s; pause: machine 2 from 30.000 s to 35.000 s. Messages lost to them: 15."),
        "the header names the faults"
    );
}

#[test]
fn a_crashed_machines_inbox_is_lost_at_the_crash() {
    // Machine 0 at 1 tick/s falls behind: its inbox holds a backlog when it
    // crashes, every message of which ends at the crash, at 20 s.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("backlog");
    let args = [
        "--seed",
        "3",
        "--rates",
        "1,6,6",
        "--sides",
        "4",
        "--duration",
        "30",
    ];
    sim_into(&dir, &[&args[..], &["--faults", "crash 0@20s"]].concat());
    let data = page_data(&dir);
    let msgs = messages(&dir);
    let drawn = lost(&data);
    let at_crash = drawn
        .iter()
        .filter(|d| msgs[d.0].2 < 20.0 && d.1 == 20.0 && d.2 == 0)
        .count();
    assert!(at_crash > 5, "a backlog lost at the crash: {drawn:?}");
    assert!(
        drawn
            .iter()
            .all(|d| msgs[d.0].1 == 0 && d.1 == msgs[d.0].2.max(20.0))
    );
    assert_every_loss_drawn(&dir, &data);
}

#[test]
fn stops_and_garbage_are_drawn_and_account_for_every_loss() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (name, faults, kind, lanes, at_s) in [
        ("stop", "stop 1@20s", "stop", vec![1.0], 20.0),
        (
            "garbage",
            "garbage 0>1@10s",
            "garbage",
            vec![0.0, 1.0],
            10.0,
        ),
    ] {
        let dir = tmp.path().join(name);
        sim_into(
            &dir,
            &["--seed", "5", "--duration", "60", "--faults", faults],
        );
        let data = page_data(&dir);
        let f = &data["faults"][0];
        assert_eq!(f["kind"], kind);
        assert_eq!(numbers(&f["lanes"]), lanes);
        assert_eq!(f["from_s"].as_f64(), Some(at_s));
        let drawn = lost(&data);
        assert!(!drawn.is_empty(), "{name}");
        assert!(
            drawn.iter().all(|d| d.3 == 0 && d.1 >= at_s),
            "{name}: {drawn:?}"
        );
        assert_every_loss_drawn(&dir, &data);
    }
}

#[test]
fn a_run_without_faults_draws_none_and_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("clean");
    sim_into(
        &dir,
        &[
            "--seed",
            "3",
            "--rates",
            "1,6,6",
            "--sides",
            "4",
            "--duration",
            "20",
        ],
    );
    let data = page_data(&dir);
    assert_eq!(data["faults"], serde_json::json!([]));
    assert!(lost(&data).is_empty());
    let html = std::fs::read_to_string(dir.join("report.html")).expect("page");
    assert!(!html.contains("Faults, drawn"));
}
