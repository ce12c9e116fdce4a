//! `scalemodel analyze` and `scalemodel study` end to end.

use scalemodel::report::clocks::ClockPoint;
use std::path::Path;

use scalemodel_tests::{scalemodel, sim_into};

/// Runs `analyze` on `dir`: its exit status and what it printed.
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

const FILES: [&str; 6] = [
    "report.md",
    "report.json",
    "clocks.png",
    "queues.png",
    "jumps.png",
    "drift.png",
];

#[test]
fn a_valid_run_gets_its_report_and_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    sim_into(&dir, &["--seed", "3", "--rates", "1,6,6", "--sides", "4"]);
    let (ok, text) = analyze(&dir);
    assert!(ok, "{text}");
    assert!(text.contains("conforms"), "{text}");
    for f in FILES {
        let len = std::fs::metadata(dir.join(f)).map_or(0, |m| m.len());
        assert!(len > 500, "{f} is missing or tiny ({len} bytes)");
    }
    let png = std::fs::read(dir.join("clocks.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for section in [
        "## Conformance",
        "## Machines",
        "## Queueing estimate",
        "## Causality",
        "## Links",
        "![Logical clocks](clocks.png)",
    ] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    assert!(
        md.contains("the clock condition holds"),
        "a conforming run's Lamport clocks never invert a causal pair: {md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let slow = &json["machines"][0];
    let (predicted, measured) = (
        slow["estimate"]["predicted_growth_per_s"].as_f64().unwrap(),
        slow["estimate"]["measured_growth_per_s"].as_f64().unwrap(),
    );
    assert!((predicted - 3.0).abs() < 1e-6, "{predicted}");
    assert!(
        (measured - predicted).abs() < 0.1 * predicted,
        "measured {measured}, predicted {predicted}"
    );
}

/// Copies the run in `from` to `to`, changing machine `m`'s log with `edit`.
fn corrupt(from: &Path, to: &Path, m: usize, edit: impl FnOnce(&mut Vec<String>)) {
    std::fs::create_dir_all(to).expect("the copy is writable");
    for f in [
        "machine-0.csv",
        "machine-1.csv",
        "machine-2.csv",
        "params.json",
    ] {
        std::fs::copy(from.join(f), to.join(f)).expect("the copy is writable");
    }
    let path = to.join(format!("machine-{m}.csv"));
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .expect("the copy is writable")
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").expect("the copy is writable");
}

/// The 0-based index of the first line of kind `event` (and with `peer`, if given).
fn find(lines: &[String], event: &str, peer: Option<&str>) -> usize {
    lines
        .iter()
        .position(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f.get(4) == Some(&event) && peer.is_none_or(|p| f.get(7) == Some(&p))
        })
        .expect("the run has such a line")
}

#[test]
fn corrupted_runs_fail_naming_the_line_and_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    sim_into(
        &good,
        &["--seed", "8", "--rates", "2,5,6", "--duration", "30"],
    );

    // A wrong clock on a receive.
    let dir = tmp.path().join("wrong-clock");
    let mut line = 0;
    corrupt(&good, &dir, 1, |lines| {
        let i = find(lines, "receive", None);
        let mut f: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        f[5] = (f[5].parse::<u64>().unwrap() + 7).to_string();
        lines[i] = f.join(",");
        line = i + 1;
    });
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("machine-1.csv line {line} (tick")) && text.contains("clock rule"),
        "{text}"
    );

    // A missing send: its receive has no match.
    let dir = tmp.path().join("missing-send");
    corrupt(&good, &dir, 2, |lines| {
        let i = find(lines, "send", Some("0"));
        lines.remove(i);
    });
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains("machine-0.csv line") && text.contains("match: no send with seq"),
        "{text}"
    );

    // A duplicated receive.
    let dir = tmp.path().join("duplicate");
    corrupt(&good, &dir, 0, |lines| {
        let i = find(lines, "receive", None);
        let copy = lines[i].clone();
        lines.insert(i + 1, copy);
        line = i + 2;
    });
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("machine-0.csv line {line} (tick"))
            && text.contains("match: received seq"),
        "{text}"
    );
}

#[test]
fn an_impossible_params_file_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    sim_into(&good, &["--seed", "9", "--duration", "5"]);
    let dir = tmp.path().join("zero-rate");
    corrupt(&good, &dir, 0, |_| {});
    let path = dir.join("params.json");
    let mut params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    params["rates"][1] = serde_json::json!(0);
    std::fs::write(&path, params.to_string()).unwrap();
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains("every rate must be at least 1") && !text.contains("panicked"),
        "{text}"
    );
}

/// `scalemodel study --sim` with `args` into `out`, which must succeed: its
/// standard output.
fn study(args: &[&str], out: &Path) -> String {
    let run = scalemodel()
        .args(["study", "--sim"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("scalemodel runs");
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    text
}

#[test]
fn the_study_runs_every_configuration_and_checks_the_observations() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let text = study(
        &[
            "--trials",
            "2",
            "--duration",
            "60",
            "--seed",
            "5",
            "--sim-trials",
            "30",
            "--topology-trials",
            "6",
            "--clock-trials",
            "8",
        ],
        &out,
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for folder in ["standard", "smaller-spread", "fewer-internal", "both"] {
        assert!(
            out.join(folder).join("trial-2").join("report.md").exists(),
            "{folder}"
        );
        assert!(
            md.contains(&format!("[trial-1]({folder}/trial-1/report.md)")),
            "{folder}"
        );
    }
    let verdicts = md.lines().filter(|l| l.starts_with("- **")).count();
    assert!(verdicts >= 5, "{md}");
    // The terminal gets the verdicts as plain text, without markdown.
    assert!(
        text.contains("the slowest machine has the largest clock jumps: holds in"),
        "{text}"
    );
    assert!(!text.contains("**"), "{text}");
    let printed = text.clone();
    // Each configuration's figures as a median and range over its trials.
    assert!(
        md.contains("| standard (rates 1..=6, die of 10) | 2 |"),
        "{md}"
    );
    // Each trial's causality figures, across trials: every configuration
    // has concurrent pairs, and Lamport's order orders most of them.
    let row = md
        .lines()
        .find(|l| l.starts_with("| standard (rates 1..=6, die of 10) | 2 |"))
        .expect("the standard configuration's row");
    let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
    let [.., concurrent, lamport] = cells[..] else {
        panic!("{row}")
    };
    let median = |cell: &str| -> f64 {
        cell.split(' ')
            .next()
            .and_then(|m| m.parse().ok())
            .expect(cell)
    };
    assert!(median(concurrent) > 0.0 && median(lamport) > 0.0, "{row}");
    assert!(median(lamport) <= median(concurrent) + 0.05, "{row}");
    let spread = "a smaller spread of rates (3..=4) means less drift than 1..=6 (die of 10)";
    assert!(md.contains(spread), "{md}");
    // Analysed again from its folder, the study keeps the verdicts that
    // compare configurations trial by trial.
    // The topologies: 3, 5, 8 and 16 machines, each topology, 6 seeds each,
    // compared seed by seed, with a verdict on the notebook's idea.
    let csv = std::fs::read_to_string(out.join("topologies.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 3 * 6, "{csv}");
    for n in [3, 5, 8, 16] {
        for t in ["all", "ring", "leader"] {
            let row = format!("| {n} | {t} | 6 |");
            assert!(md.contains(&row), "no `{row}` in {md}");
        }
        let pairs = format!("With {n} machines (every trial, 6 pairs), a time leader");
        assert!(md.contains(&pairs), "{md}");
    }
    let idea = "**Does one time leader broadcasting its clock keep the machines more up to date than everyone messaging everyone (the notebook's idea)?** The notebook's idea";
    assert!(md.contains(idea), "{md}");
    assert!(text.contains("topologies: 72 runs"), "{text}");
    let topologies = md
        .split("## The topologies in the simulator")
        .nth(1)
        .unwrap();
    // The clocks: 8 seeds under each of three physical clocks, the same
    // events stamped three ways, with the answer.
    let points: Vec<ClockPoint> = csv::Reader::from_path(out.join("clocks.csv"))
        .expect("clocks.csv opens")
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("clocks.csv reads back");
    assert_eq!(points.len(), 3 * 8);
    for (row, skew) in [
        ("| true | 8 |", "none"),
        ("| --skew 50ms,100 | 8 |", "50ms,100"),
        ("| --skew 1s,1000 | 8 |", "1s,1000"),
    ] {
        assert!(md.contains(row), "no `{row}` in {md}");
        let seeds: Vec<u64> = points
            .iter()
            .filter(|p| p.skew == skew)
            .map(|p| p.seed)
            .collect();
        assert_eq!(seeds, (5..13).collect::<Vec<_>>(), "{skew}");
    }
    // The same events under every skew, the HLC within its bound in every
    // trial; under a skew of a second the timestamps put some causes after
    // their effects, and the HLC's l runs ahead of some machine's clock.
    for p in &points {
        let same = &points[(p.seed - 5) as usize];
        assert_eq!(
            (p.pairs, p.concurrent_pct),
            (same.pairs, same.concurrent_pct)
        );
        assert!(p.hlc_within_bound && p.hlc_inverted == 0, "{p:?}");
    }
    let skewed: Vec<&ClockPoint> = points.iter().filter(|p| p.skew == "1s,1000").collect();
    assert!(
        skewed.iter().any(|p| p.timestamps_inverted_pct > 0.0),
        "{skewed:?}"
    );
    assert!(skewed.iter().any(|p| p.hlc_ahead_pct > 0.0), "{skewed:?}");
    let question = "**Which clock tells a cause from a coincidence: Lamport's, a vector clock or a hybrid logical clock (HLC)?** Only the vector clocks";
    assert!(md.contains(question), "{md}");
    assert!(text.contains("clocks: 24 runs"), "{text}");
    let clocks = md
        .split("## The clocks compared in the simulator")
        .nth(1)
        .expect("the clock study's section");
    let (ok, text) = analyze(&out);
    assert!(ok, "{text}");
    let again = std::fs::read_to_string(out.join("report.md")).unwrap();
    // Analysed again, the study keeps its clock study (report.json).
    assert_eq!(
        again
            .split("## The clocks compared in the simulator")
            .nth(1),
        Some(clocks)
    );
    assert!(again.contains(spread), "{again}");
    // Analysed again, the study keeps its topology study (report.json).
    assert!(again.contains(idea), "{again}");
    assert_eq!(
        again.split("## The topologies in the simulator").nth(1),
        Some(topologies)
    );
    assert!(again.contains("(die of 4)**"), "{again}");
    // Verdicts count where they held: "holds in all 2 trials", "holds in 1 of 2 trials".
    assert!(
        md.contains("holds in all 2 trials") || md.contains(" of 2 trials"),
        "{md}"
    );
    // The same observations over 30 seeds in the simulator, with effects,
    // and each trial against the simulator's band for its rates.
    assert!(
        md.contains("## The same observations in the simulator at scale"),
        "{md}"
    );
    assert!(md.contains("median paired difference"), "{md}");
    assert!(md.contains("sign test p"), "{md}");
    assert!(
        md.contains("- **each simulated trial's largest drift lies within the simulator's 5–95 % band for its rates and die**: holds in"),
        "{md}"
    );
    assert!(
        printed.contains("simulator: 30 trials per configuration"),
        "{printed}"
    );
    // The flat files beside the report: a row per trial and machine, and a
    // row per simulated trial.
    let trials = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    let mut lines = trials.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("configuration,trial,seed,sides,duration_s,machine,rate,"),
        "{header}"
    );
    assert!(header.contains(",load,predicted_growth_per_s,"), "{header}");
    assert_eq!(lines.count(), 4 * 2 * 3, "{trials}");
    assert!(
        trials.contains("\nstandard,standard/trial-1,5,10,60.0,0,"),
        "{trials}"
    );
    // The page opens with the answers and shows the effect-size views.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let answers = page.find("<h2>Answers</h2>").expect("the page answers");
    assert!(answers < page.find("<h2>Verdicts</h2>").unwrap());
    for view in [
        "jumps-vs-ratio.png",
        "drift-vs-ratio.png",
        "growth-vs-load.png",
    ] {
        assert!(
            page.contains(&format!("<figure class=\"effect\" id=\"{view}\">")),
            "{view}"
        );
        assert!(out.join(view).exists(), "{view}");
    }
    assert!(
        md.contains("## Answers\n\n**How large are the jumps"),
        "{md}"
    );
    let scale = std::fs::read_to_string(out.join("scale.csv")).unwrap();
    assert_eq!(scale.lines().count(), 1 + 4 * 30, "{scale}");
    assert!(scale.starts_with("configuration,seed,rate_0,rate_1,rate_2,sides,ratio,"));
}

/// The most `analyze` may print, or write into a report, about one bad line.
const SMALL_BYTES: usize = 16 << 10;

/// Runs `analyze` on `dir` and checks that it failed without a panic, that it
/// printed little and that any report it wrote is small; returns what it printed.
fn analyze_fails_briefly(dir: &Path) -> String {
    let (ok, text) = analyze(dir);
    assert!(!ok, "{}", &text[..text.len().min(2000)]);
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.len() < SMALL_BYTES, "printed {} bytes", text.len());
    for f in ["report.md", "report.json"] {
        let len = std::fs::metadata(dir.join(f)).map_or(0, |m| m.len());
        assert!(len < SMALL_BYTES as u64 * 4, "{f} is {len} bytes");
    }
    text
}

/// A small valid run in `tmp/good`.
fn good_run(tmp: &Path) -> std::path::PathBuf {
    let good = tmp.join("good");
    sim_into(
        &good,
        &["--seed", "12", "--rates", "2,3,4", "--duration", "5"],
    );
    good
}

#[test]
fn a_huge_header_is_quoted_by_a_short_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    let dir = tmp.path().join("huge-header");
    corrupt(&good, &dir, 0, |_| {});
    let path = dir.join("machine-0.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let rest = text.split_once('\n').unwrap().1;
    let header = "h".repeat(8 << 20);
    std::fs::write(&path, format!("{header}\n{rest}")).unwrap();
    let text = analyze_fails_briefly(&dir);
    assert!(
        text.contains("machine-0.csv line 1: format: a line longer than the 4096 bytes"),
        "{text}"
    );
    assert!(
        text.contains("`hhhh") && text.contains("…` (8388609 bytes)"),
        "{text}"
    );
}

#[test]
fn a_line_of_commas_is_refused_naming_its_line_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    let dir = tmp.path().join("commas");
    corrupt(&good, &dir, 1, |lines| lines.insert(4, ",".repeat(8 << 20)));
    let text = analyze_fails_briefly(&dir);
    assert!(
        text.contains("machine-1.csv line 5: format: a line longer than the 4096 bytes")
            && text.contains("…` (8388609 bytes)"),
        "{text}"
    );
    // Only that line is lost: every other line still reads and checks out.
    assert!(text.contains(": 1 violation;"), "{text}");
}

#[test]
fn out_of_range_params_are_errors_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    let cases = [
        ("speed", serde_json::json!(0)),
        ("speed", serde_json::json!(-1)),
        ("speed", serde_json::json!("NaN")),
        ("sides", serde_json::json!(0)),
        ("sides", serde_json::json!(3)),
        ("sides", serde_json::json!(100_000)),
        ("duration_s", serde_json::json!(-5.0)),
        ("duration_s", serde_json::json!(0.0)),
        ("duration_s", serde_json::json!(1e300)),
        ("duration_s", serde_json::json!("NaN")),
        ("rate_range", serde_json::json!([5, 2])),
        ("rate_range", serde_json::json!([0, 2])),
        ("rate_range", serde_json::json!([5, 6])),
        ("mode", serde_json::json!("x".repeat(1000))),
    ];
    for (i, (field, value)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("params-{i}"));
        corrupt(&good, &dir, 0, |_| {});
        let path = dir.join("params.json");
        let mut params: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        params[field] = value.clone();
        std::fs::write(&path, params.to_string()).unwrap();
        let text = analyze_fails_briefly(&dir);
        // One line of error: the field, its range and at most a short quote.
        assert!(text.len() < 700, "{text}");
        assert!(
            text.contains("params.json") && text.contains(field),
            "{field} = {}: {text}",
            &value.to_string()[..value.to_string().len().min(60)]
        );
    }
}

#[test]
fn oversized_params_are_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    let dir = tmp.path().join("big-params");
    corrupt(&good, &dir, 0, |_| {});
    let path = dir.join("params.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text + &" ".repeat(2 << 20)).unwrap();
    let text = analyze_fails_briefly(&dir);
    assert!(
        text.contains("params.json is more than 1048576 bytes"),
        "{text}"
    );
}

#[test]
fn forged_counts_near_u64_max_do_not_conform() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 3] = [
        // sent = received + queued + in flight + lost, if the sum wraps in u64.
        ("wrapping link", |p| {
            let l = &mut p["links"][0];
            l["in_flight"] = serde_json::json!(l["in_flight"].as_u64().unwrap() + (1 << 63));
            l["lost"] = serde_json::json!(l["lost"].as_u64().unwrap() + (1 << 63));
        }),
        // One link summarised twice, another not at all.
        ("twice", |p| {
            let links = p["links"].as_array_mut().unwrap();
            links[1] = links[0].clone();
        }),
        // The inbox of machine 0 from two links' queues that wrap.
        ("wrapping inbox", |p| {
            for l in p["links"].as_array_mut().unwrap() {
                if l["to"] == 0 {
                    l["queued"] = serde_json::json!(u64::MAX / 2 + 1);
                }
            }
        }),
    ];
    for (name, edit) in edits {
        let dir = tmp.path().join(name);
        corrupt(&good, &dir, 0, |_| {});
        let path = dir.join("params.json");
        let mut params: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut params);
        std::fs::write(&path, params.to_string()).unwrap();
        let text = analyze_fails_briefly(&dir);
        assert!(
            text.contains("params.json: conservation: link"),
            "{name}: {text}"
        );
    }
}

#[test]
fn forged_clocks_and_queues_near_u64_max_are_violations_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run(tmp.path());
    let dir = tmp.path().join("huge-clocks");
    corrupt(&good, &dir, 2, |lines| {
        for (i, line) in lines.iter_mut().enumerate().skip(3).take(4) {
            let mut f: Vec<String> = line.split(',').map(str::to_owned).collect();
            f[5] = (u64::MAX - i as u64).to_string();
            f[6] = (u64::MAX - 1).to_string();
            *line = f.join(",");
        }
    });
    let text = analyze_fails_briefly(&dir);
    assert!(
        text.contains("machine-2.csv line 4 (tick 2): clock rule"),
        "{text}"
    );
}

#[test]
fn a_folder_of_trials_is_analysed_trial_by_trial_and_an_empty_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    for k in [1, 2, 10] {
        sim_into(
            &run.join(format!("trial-{k}")),
            &["--seed", &k.to_string(), "--duration", "5"],
        );
    }
    let (ok, text) = analyze(&run);
    assert!(ok, "{text}");
    let order: Vec<usize> = ["trial-1:", "trial-2:", "trial-10:"]
        .iter()
        .map(|t| {
            text.find(t)
                .unwrap_or_else(|| panic!("{t} missing: {text}"))
        })
        .collect();
    assert!(order.is_sorted(), "trials in number order: {text}");
    let across = std::fs::read_to_string(run.join("report.md")).unwrap();
    for k in [1, 2, 10] {
        assert!(run.join(format!("trial-{k}/report.md")).exists());
        assert!(
            across.contains(&format!("[trial-{k}](trial-{k}/report.md)")),
            "{across}"
        );
    }
    assert!(
        text.contains(&format!(
            "across the runs: {}",
            run.join("report.md").display()
        )),
        "{text}"
    );

    // Several runs from different folders: grouped by folder, the report in
    // the folder that holds them all, or in --out.
    let other = tmp.path().join("other");
    sim_into(&other.join("trial-1"), &["--seed", "7", "--duration", "5"]);
    let out = tmp.path().join("both");
    let analysed = scalemodel()
        .arg("analyze")
        .arg(run.join("trial-2"))
        .arg(&other)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(analysed.status.success());
    let across = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        across.starts_with("# 2 runs in 2 folders, side by side"),
        "{across}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, text) = analyze(&empty);
    assert!(!ok);
    assert!(text.contains("no run here"), "{text}");
    let (ok, text) = analyze(&tmp.path().join("missing"));
    assert!(!ok);
    assert!(text.contains("missing: no such folder"), "{text}");
    let (ok, text) = analyze(&run.join("trial-1").join("machine-0.csv"));
    assert!(!ok);
    assert!(text.contains("a file, not a run directory"), "{text}");
}

#[test]
fn drift_stops_where_the_fastest_machine_crashed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("crash");
    // Machine 1 is the fastest and the reference; it dies at 20 s of 60.
    sim_into(
        &dir,
        &[
            "--seed",
            "5",
            "--duration",
            "60",
            "--rates",
            "2,4,1",
            "--faults",
            "crash 1@20s",
        ],
    );
    let (ok, text) = analyze(&dir);
    assert!(ok, "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    for m in report["machines"].as_array().unwrap() {
        // Past the crash its clock is frozen and the others would seem to
        // overtake it by tens of units; before it, a clock trails or leads by
        // a jump at most.
        let mean = m["drift"]["mean"].as_f64().unwrap();
        assert!(mean > -2.0, "machine {}: mean drift {mean}", m["id"]);
    }
    let run = scalemodel::rundir::read_run(&dir).unwrap();
    let series = scalemodel::analysis::drift_series(&run, 0);
    let last = series.last().unwrap().0;
    assert!((19.0..=20.0).contains(&last), "the series ends at {last} s");
}

/// When two machines share the highest rate, a clock trails whichever of
/// theirs is ahead, so neither tied machine reads as trailing negatively.
#[test]
fn tied_fastest_machines_never_trail_each_other_negatively() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tie");
    sim_into(
        &dir,
        &[
            "--seed",
            "4",
            "--rates",
            "6,3,6",
            "--duration",
            "10",
            "--no-analyze",
        ],
    );
    let mut run = scalemodel::rundir::read_run(&dir).unwrap();
    // Machine 2 ahead of machine 0 (its twin in rate) by 10 all run long,
    // as a network run's start-up can leave it.
    for row in &mut run.logs[2] {
        row.clock += 10;
    }
    let mean = |id| {
        let points = scalemodel::analysis::drift_series(&run, id);
        assert!(
            points.iter().all(|p| p.1 >= 0.0),
            "machine {id}: {points:?}"
        );
        points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64
    };
    assert_eq!(mean(2), 0.0, "machine 2 is the one ahead");
    assert!(mean(0) >= 9.0, "machine 0 trails machine 2 by about 10");
    assert!(mean(1) > mean(0), "the slow machine trails the one ahead");
    assert_eq!(
        scalemodel::analysis::drift_reference(&run.params.rates),
        "the clock ahead of machines 0 and 2, tied fastest at 6 ticks/s"
    );
}

#[test]
fn a_study_of_five_machines_in_a_ring_runs_every_configuration_with_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let text = study(
        &["--machines", "5", "--topology", "ring", "--trials", "1"]
            .into_iter()
            .chain(["--duration", "5", "--seed", "4", "--sim-trials", "4"])
            .chain(["--topology-trials", "0"])
            .collect::<Vec<_>>(),
        &out,
    );
    assert!(text.contains("5 machines, topology ring"), "{text}");
    // The exercise's dice for five machines: n + 7 faces, and n + 1 for
    // fewer internal events.
    for (folder, sides) in [("standard", 12), ("fewer-internal", 6)] {
        let params = std::fs::read_to_string(out.join(folder).join("trial-1/params.json")).unwrap();
        let params: serde_json::Value = serde_json::from_str(&params).unwrap();
        assert_eq!(params["rates"].as_array().unwrap().len(), 5, "{params}");
        assert_eq!(params["topology"], "ring", "{params}");
        assert_eq!(params["sides"], sides, "{params}");
    }
    // Given rates must be one per machine.
    let refused = scalemodel()
        .args(["study", "--sim", "--machines", "5", "--rates", "1,2,3"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--rates gives 3 rates, but --machines is 5"),
        "{err}"
    );
}
