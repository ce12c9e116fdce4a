//! Work across runs: `analyze` on a folder of mixed runs at any depth, and
//! the study's refusal of a configuration it cannot compare.

use std::path::Path;

use scalemodel_tests::{scalemodel, sim_into};

/// Runs `scalemodel ARGS`: its exit status and what it printed.
fn run(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = scalemodel().args(args).output().expect("scalemodel runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// `study --sim` with `args`, 20 seeds at scale, into `out`.
fn study_sim(args: &[&str], out: &Path) -> (bool, String) {
    let mut all: Vec<&std::ffi::OsStr> = [
        "study",
        "--sim",
        "--sim-trials",
        "20",
        "--topology-trials",
        "0",
    ]
    .iter()
    .chain(args)
    .map(|a| a.as_ref())
    .collect();
    all.extend(["--out".as_ref(), out.as_os_str()]);
    run(&all)
}

/// A study in the simulator, 1 trial of 5 s per configuration, into `out`.
fn small_study(out: &Path) {
    let (ok, text) = study_sim(&["--trials", "1", "--duration", "5", "--seed", "3"], out);
    assert!(ok, "{text}");
}

#[test]
fn analyze_finds_every_run_below_a_folder_and_says_what_it_skipped() {
    // It used to analyse only `sim-a` here: with one run on the first level
    // it never looked below `run-b` or `study-c`.
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    sim_into(&runs.join("sim-a"), &["--seed", "1", "--duration", "5"]);
    for k in [1, 2] {
        sim_into(
            &runs.join(format!("run-b/trial-{k}")),
            &["--seed", &k.to_string(), "--duration", "5"],
        );
    }
    small_study(&runs.join("study-c"));
    std::fs::create_dir_all(runs.join("notes")).unwrap();
    std::os::unix::fs::symlink(&runs, runs.join("run-b").join("loop")).unwrap();

    let (ok, text) = run(&["analyze".as_ref(), runs.as_os_str()]);
    assert!(ok, "{text}");
    assert!(
        text.contains("found 7 runs: 2 in run-b, 1 in runs, 1 in study-c/both"),
        "{text}"
    );
    for run in [
        "sim-a",
        "run-b/trial-1",
        "run-b/trial-2",
        "study-c/standard/trial-1",
        "study-c/smaller-spread/trial-1",
        "study-c/fewer-internal/trial-1",
        "study-c/both/trial-1",
    ] {
        let line = format!("{}: conforms", runs.join(run).display());
        assert!(text.contains(&line), "{line} missing: {text}");
    }
    let skipped = format!(
        "{}: skipped: no params.json, and no run below it",
        runs.join("notes").display()
    );
    assert!(text.contains(&skipped), "{text}");
    let link = format!(
        "{}: skipped: a symbolic link to a folder, not followed",
        runs.join("run-b/loop").display()
    );
    assert!(text.contains(&link), "{text}");
    // The report across them groups the runs by the folder they are in.
    let across = std::fs::read_to_string(runs.join("report.md")).unwrap();
    assert!(
        across.starts_with("# 7 runs in 6 folders, side by side"),
        "{across}"
    );
    for link in [
        "[trial-2](run-b/trial-2/report.md)",
        "[sim-a](sim-a/report.md)",
        "[trial-1](study-c/standard/trial-1/report.md)",
    ] {
        assert!(across.contains(link), "{link} missing: {across}");
    }
}

#[test]
fn runs_deeper_than_the_bound_are_named_not_sought() {
    let tmp = tempfile::tempdir().unwrap();
    let mut deep = tmp.path().join("top");
    for k in 0..12 {
        deep.push(format!("level-{k}"));
    }
    sim_into(&deep, &["--seed", "1", "--duration", "2"]);
    let (ok, text) = run(&["analyze".as_ref(), tmp.path().join("top").as_os_str()]);
    assert!(!ok, "{text}");
    assert!(text.contains("skipped: more than 8 levels below"), "{text}");
    assert!(text.contains("no run here"), "{text}");
}

#[test]
fn a_small_rates_that_cannot_be_compared_is_refused_with_the_reason() {
    // `--small-rates 7..=8` used to run, and its spread verdict vanished.
    let tmp = tempfile::tempdir().unwrap();
    for (small, why) in [
        ("7..=8", "do not lie inside the standard range 1..=6"),
        ("0..=2", "a rate must be between 1 and"),
        ("2,3,9", "do not lie inside the standard range 1..=6"),
        ("1..=6", "is not smaller than the standard range 1..=6"),
    ] {
        let out = tmp.path().join(format!("study-{small}"));
        let (ok, text) = study_sim(&["--small-rates", small], &out);
        assert!(!ok, "{small}: {text}");
        assert!(
            text.contains("--small-rates") && text.contains(why),
            "{small}: {text}"
        );
        assert!(!out.exists(), "{small}: nothing is written");
    }
    // Equal rates inside the range span nothing: comparable, and accepted.
    let out = tmp.path().join("equal");
    let (ok, text) = study_sim(
        &["--trials", "1", "--duration", "2", "--small-rates", "4,4,4"],
        &out,
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("a smaller spread of rates (4,4,4) means less drift than 1..=6"),
        "{text}"
    );
}

#[test]
fn a_study_runs_a_custom_configuration_beside_the_exercises() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let (ok, text) = study_sim(
        &[
            "--trials",
            "2",
            "--duration",
            "5",
            "--seed",
            "9",
            "--rates",
            "2..=5",
            "--sides",
            "6",
        ],
        &out,
    );
    assert!(ok, "{text}");
    assert!(text.contains("  custom: 2 trials analysed"), "{text}");
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("custom/trial-2/params.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(params["sides"], 6, "{params}");
    assert_eq!(params["seed"], 10, "trial 2 has the study's second seed");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| custom (rates 2..=5, die of 6) | 2 |"),
        "{md}"
    );
    assert!(md.contains("[trial-1](custom/trial-1/report.md)"), "{md}");

    // One of the exercise's own configurations is not a custom one.
    let again = tmp.path().join("again");
    let (ok, text) = study_sim(&["--rates", "3..=4", "--sides", "4"], &again);
    assert!(!ok, "{text}");
    assert!(
        text.contains("is the study's \"both\" configuration already"),
        "{text}"
    );
    assert!(!again.exists());
}

/// The title, and each configuration's name and trials, of `dir`'s `report.json`.
fn titles_and_order(dir: &Path) -> (String, Vec<(String, Vec<String>)>) {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json parses");
    let groups = json["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let trials = g["trials"].as_array().expect("trials");
            let paths = trials.iter().map(|t| t["path"].to_string()).collect();
            (g["name"].as_str().expect("name").to_owned(), paths)
        })
        .collect();
    (json["title"].as_str().expect("title").to_owned(), groups)
}

#[test]
fn analyze_keeps_the_title_and_order_of_the_command_that_wrote_the_folder() {
    // It used to retitle a study "8 runs in 4 folders, side by side" and
    // list its configurations by folder name, "standard" last.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let (ok, text) = study_sim(&["--trials", "2", "--duration", "5", "--seed", "4"], &out);
    assert!(ok, "{text}");
    let written = std::fs::read_to_string(out.join("report.json")).unwrap();
    let by_study = titles_and_order(&out);
    assert_eq!(by_study.1[0].0, "standard", "{by_study:?}");

    let (ok, text) = run(&["analyze".as_ref(), out.as_os_str()]);
    assert!(ok, "{text}");
    assert!(
        text.contains("report.json: kept its title and its 4 configurations in order"),
        "{text}"
    );
    assert_eq!(titles_and_order(&out), by_study);
    // Same runs, same groups: the very figures and verdicts too.
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        written
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with(&format!("# {}\n", by_study.0)), "{md}");
    // The simulator at scale, which the folder does not hold, is kept.
    assert!(
        md.contains("## The same observations in the simulator at scale"),
        "{md}"
    );
    assert!(md.contains("## Answers"), "{md}");

    // A folder that no longer holds what its record lists is grouped by
    // folder again, and the terminal says why.
    std::fs::remove_dir_all(out.join("both/trial-2")).unwrap();
    let (ok, text) = run(&["analyze".as_ref(), out.as_os_str()]);
    assert!(ok, "{text}");
    assert!(
        text.contains(
            "report.json: not kept (it lists 8 runs, 1 of which are not among the 7 found)"
        ),
        "{text}"
    );
    let (title, groups) = titles_and_order(&out);
    assert_eq!(title, "7 runs in 4 folders, side by side");
    assert_eq!(groups.len(), 4, "{groups:?}");
}
