//! `scalemodel bench` end to end: the table's shape, its JSON, and its
//! refusals. Never a timing threshold: the figures only have to be numbers
//! of the right sign, since a shared machine may run at any speed.

use scalemodel_tests::scalemodel;

/// The markdown table's rows (between the header's separator and the blank
/// line after the table), each split into its cells.
fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("| figure |"));
    let header = lines.next().expect("the table's header");
    assert_eq!(
        header,
        "| figure | scalemodel | Python | goal | against the goal | command |"
    );
    assert!(lines.next().expect("a separator").starts_with("| --- |"));
    lines
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The number at the start of a cell (`2.50 M/s`, `+0.00012 %`, `0.63×`).
fn number(cell: &str) -> Option<f64> {
    let end = cell
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(cell.len());
    cell[..end].parse().ok()
}

#[test]
fn quick_bench_prints_one_table_with_a_command_per_row_and_writes_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let json = tmp.path().join("table.json");
    let output = scalemodel()
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("scalemodel runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let rows = table_rows(&stdout);
    assert_eq!(rows.len(), 23, "{stdout}");
    // The lateness goal is judged at the bare loop's rate; the worst machine's ratio stands beside it.
    let ratios = rows
        .iter()
        .filter(|r| r[0].contains("÷ the bare loop's p99"))
        .count();
    assert_eq!(ratios, 2, "{stdout}");
    let python_ran = !stdout.contains("the Python column is empty");
    for row in &rows {
        assert_eq!(row.len(), 6, "{row:?}");
        let (figure, sm, py, verdict, command) = (&row[0], &row[1], &row[2], &row[4], &row[5]);
        // Every command a row names is printed under the table.
        for n in command.split(", ") {
            let listed = format!("{n} `");
            assert!(
                stdout.lines().any(|l| l.starts_with(&listed)),
                "{n} not listed:\n{stdout}"
            );
        }
        if figure.starts_with("highest exact speed") && sm == "—" {
            // On a busy machine even speed 1 may miss exactness in 3 s.
            continue;
        }
        let v = number(sm).unwrap_or_else(|| panic!("{figure}: `{sm}` is not a number"));
        if figure.contains("rate error") {
            assert!(v.is_finite(), "{figure}: {sm}");
        } else {
            assert!(v > 0.0, "{figure}: {sm}");
        }
        assert!(
            verdict.is_empty() || verdict == "met" || verdict.starts_with("missed by ×"),
            "{verdict}"
        );
        // The steady state's CPU is the node's own measure: the Python
        // solution reports its whole process only.
        if python_ran && figure.starts_with("network") && !figure.contains("from its first tick") {
            assert!(number(py).is_some(), "{figure}: Python's `{py}`");
        }
    }

    // The JSON holds the same rows, with the commands behind them.
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let table = &v["table"];
    assert_eq!(table["rows"].as_array().unwrap().len(), rows.len());
    let commands = table["commands"].as_array().unwrap();
    assert!(
        commands
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("scalemodel sim ")),
        "{commands:?}"
    );
    assert!(v["network"]["baseline"]["ticks"].as_u64().unwrap() > 0);
    // --out keeps the table and the runs; the simulator's CSV never.
    for f in ["bench.md", "bench.json", "net/trial-1/params.json"] {
        assert!(out.join(f).is_file(), "no {f}");
    }
    assert!(!out.join("sim-csv").exists());
}

#[test]
fn bad_flag_values_are_refused_with_the_flag_named() {
    for (args, says) in [
        (&["bench", "--duration", "0"][..], "'--duration <SECS>'"),
        (&["bench", "--duration", "-3"], "more than 0"),
        (&["bench", "--seed", "x"], "'--seed <N>'"),
        (&["bench", "--quick", "--speed", "5"], "--speed"),
    ] {
        let out = scalemodel().args(args).output().expect("scalemodel runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("Error: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    // A JSON file whose folder is missing is refused before any measuring.
    let tmp = tempfile::tempdir().unwrap();
    let out = scalemodel()
        .args(["bench", "--json"])
        .arg(tmp.path().join("missing").join("table.json"))
        .output()
        .expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("missing") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it measured first");
    // A folder that holds something is never written into.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let out = scalemodel()
        .args(["bench", "--quick", "--skip-network", "--out"])
        .arg(tmp.path())
        .output()
        .expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "it wrote into the folder"
    );
}

#[test]
fn a_python_that_fails_costs_its_column_not_the_bench() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // A `python3` that says its version and fails at everything else.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("python3");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo Python 0.0; exit 0; }\necho broken >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let output = scalemodel()
        .args(["bench", "--quick"])
        .env("PATH", std::env::join_paths(paths).unwrap())
        .output()
        .expect("scalemodel runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("- the Python column is empty: the Python solution failed"),
        "{stdout}"
    );
    for row in table_rows(&stdout) {
        assert_eq!(row[2], "—", "{row:?}");
    }
}

#[test]
fn ctrl_c_ends_the_bench_and_its_children_and_removes_its_folder() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut bench = Command::new(scalemodel_tests::scalemodel_bin())
        .args(["bench", "--quick", "--skip-python"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalemodel starts");
    let mut lines = BufReader::new(bench.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let folder = first
        .split_once("writing into ")
        .map(|(_, f)| std::path::PathBuf::from(f))
        .unwrap_or_else(|| panic!("no folder named: {first}"));
    assert!(folder.is_dir());
    // Interrupted while the network run goes, its longest wait.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("bench: the network") {
            break;
        }
    }
    let pid = rustix::process::Pid::from_raw(bench.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = bench.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{rest:?}");
    assert!(
        stderr.contains("interrupted while `scalemodel run"),
        "{stderr}"
    );
    assert!(!folder.exists(), "{} is left behind", folder.display());
}
