//! `scalemodel sim` end to end: the real binary, its files and its errors.

use std::path::Path;

use scalemodel::check::check_dir;
use scalemodel::rundir::Params;
use scalemodel_tests::{scalemodel, scalemodel_bin};

fn sim(out: &Path, args: &[&str]) -> String {
    let output = scalemodel()
        .arg("sim")
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("scalemodel runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "scalemodel sim {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("the run wrote the file")
}

const LOGS: [&str; 3] = ["machine-0.csv", "machine-1.csv", "machine-2.csv"];

#[test]
fn the_same_seed_writes_byte_identical_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let first = sim(&a, &["--seed", "42", "--duration", "60"]);
    sim(&b, &["--seed", "42", "--duration", "60"]);
    sim(&c, &["--seed", "43", "--duration", "60"]);
    assert!(
        first.starts_with("seed 42\n"),
        "the seed comes first: {first}"
    );
    for name in LOGS.iter().chain(&["params.json"]) {
        assert_eq!(
            read(&a, name),
            read(&b, name),
            "{name} differs between equal seeds"
        );
    }
    assert!(LOGS.iter().any(|name| read(&a, name) != read(&c, name)));
}

#[test]
fn written_runs_conform_to_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let runs: [&[&str]; 4] = [
        &["--seed", "1"],
        &[
            "--seed",
            "2",
            "--rates",
            "1,6,6",
            "--sides",
            "4",
            "--duration",
            "120",
        ],
        &[
            "--seed", "3", "--rates", "3..=4", "--jitter", "300ms", "--speed", "7",
        ],
        &[
            "--seed",
            "4",
            "--latency",
            "0s",
            "--start-ns",
            "1700000000000000000",
        ],
    ];
    for (i, args) in runs.iter().enumerate() {
        let dir = tmp.path().join(format!("run-{i}"));
        sim(&dir, args);
        let violations = check_dir(&dir).expect("the run directory reads");
        assert!(violations.is_empty(), "{args:?}: {violations:#?}");
        let params = Params::read(&dir).unwrap();
        assert_eq!(params.mode, "sim");
        assert_eq!(params.machines.len(), 3);
        assert!(
            params
                .links
                .iter()
                .all(|l| l.sent == l.received + l.queued + l.in_flight)
        );
    }
}

#[test]
fn the_summary_table_names_every_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sim(
        &tmp.path().join("t"),
        &["--seed", "5", "--rates", "1,6,6", "--duration", "30"],
    );
    assert!(
        out.contains(
            "machine rate   ticks receives  sends internal max queue final clock max jump"
        ),
        "{out}"
    );
    assert!(out.contains("      0    1      30"), "{out}");
    assert!(out.contains("      1    6     180"), "{out}");
    assert!(out.contains("M machine-ticks/s"), "{out}");
}

#[test]
fn no_log_writes_only_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("quiet");
    sim(&dir, &["--seed", "6", "--no-log"]);
    assert!(dir.join("params.json").exists());
    assert!(LOGS.iter().all(|name| !dir.join(name).exists()));
}

/// Runs with bad arguments: a clear `Error:` naming the problem, a non-zero exit, no panic.
fn fails(args: &[&str], says: &str) {
    let output = scalemodel().args(args).output().expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(says),
        "{args:?} should say `{says}`: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn bad_flags_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("run");
    let under_file = under_file.to_str().unwrap();
    fails(&["sim", "--rates", "0..=3"], "--rates");
    fails(&["sim", "--rates", "6..=1"], "empty");
    fails(&["sim", "--rates", "1,2"], "one rate per machine");
    fails(
        &["sim", "--rates", "1,2,3,4"],
        "--rates gives 4 rates, but --machines is 3",
    );
    fails(&["sim", "--sides", "2"], "--sides");
    fails(&["sim", "--duration", "0"], "--duration");
    fails(&["sim", "--speed", "0"], "--speed");
    fails(&["sim", "--latency", "soon"], "--latency");
    fails(&["sim", "--seed", "nope"], "--seed");
    fails(&["sim", "--seed=-1"], "--seed");
    // The run's system times would pass u64::MAX ns, and the log would lie.
    fails(
        &[
            "sim",
            "--duration",
            "1",
            "--start-ns",
            "18446744073709551000",
        ],
        "--start-ns",
    );
    fails(
        &["sim", "--duration", "1", "--out", under_file],
        "cannot create the run directory",
    );
    let used = tmp.path().join("used");
    sim(&used, &["--seed", "1", "--duration", "1"]);
    fails(
        &["sim", "--duration", "1", "--out", used.to_str().unwrap()],
        "not empty",
    );
}

#[test]
fn faults_are_byte_identical_and_named_in_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let faults = "crash 1@20s, partition 0-2@5s..15s, pause 2@30s..35s";
    let args = ["--seed", "5", "--duration", "60", "--faults", faults];
    let out = sim(&a, &args);
    sim(&b, &args);
    for name in LOGS.iter().chain(&["params.json"]) {
        assert_eq!(read(&a, name), read(&b, name), "{name}");
    }
    assert!(out.contains(&format!("faults: {faults}")), "{out}");
    assert!(out.contains("machine 1 crashed at 20 s"), "{out}");
    assert!(
        out.contains("--faults '"),
        "the replay line carries the faults: {out}"
    );
    assert!(
        out.contains("sent lost"),
        "the summary names what was lost: {out}"
    );
    // The run directory says it too, and every link balances with `lost`.
    let params = Params::read(&a).unwrap();
    assert_eq!(params.machines[1].end.to_string(), "crashed");
    assert!(params.links.iter().any(|l| l.lost > 0));
    for l in &params.links {
        assert_eq!(l.balance(), Ok(()), "{l:?}");
    }
    assert!(check_dir(&a).unwrap().is_empty());
}

#[test]
fn a_bad_fault_schedule_is_refused_by_name() {
    let refused = |args: &[&str], says: &str| {
        let out = scalemodel().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} passed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--faults") && err.contains(says), "{err}");
    };
    refused(
        &["sim", "--no-log", "--faults", "crash 16@2s"],
        "a machine id is a number from 0 to 15",
    );
    // An id the parser takes, beyond the run's machines.
    refused(
        &["sim", "--no-log", "--faults", "partition 1-3@2s..3s"],
        "names machine 3, but the run has 3 machines (ids 0 to 2)",
    );
    refused(
        &["sim", "--no-log", "--machines", "5", "--sides", "9"]
            .into_iter()
            .chain(["--faults", "garbage 2>5@1s"])
            .collect::<Vec<_>>(),
        "names machine 5, but the run has 5 machines (ids 0 to 4)",
    );
}

/// A stdout whose reader is gone before the command starts: every write fails
/// with a broken pipe.
fn closed_stdout() -> std::process::Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer.into()
}

#[test]
fn a_closed_stdout_ends_quietly_and_the_work_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let sim = std::process::Command::new(scalemodel_bin())
        .args(["sim", "--seed", "3", "--duration", "5", "--out"])
        .arg(&dir)
        .stdout(closed_stdout())
        .output()
        .expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&sim.stderr);
    assert!(sim.status.success(), "sim: {:?}\n{stderr}", sim.status);
    assert!(stderr.is_empty(), "sim complained: {stderr}");
    assert!(check_dir(&dir).unwrap().is_empty(), "the run is whole");

    let analyze = std::process::Command::new(scalemodel_bin())
        .arg("analyze")
        .arg(&dir)
        .stdout(closed_stdout())
        .output()
        .expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&analyze.stderr);
    assert!(
        analyze.status.success(),
        "analyze: {:?}\n{stderr}",
        analyze.status
    );
    assert!(stderr.is_empty(), "analyze complained: {stderr}");
    assert!(dir.join("report.md").exists(), "analyze wrote its report");

    let out = tmp.path().join("net");
    let run = std::process::Command::new(scalemodel_bin())
        .args(["run", "--trials", "1", "--duration", "2", "--speed", "4"])
        .args(["--rates", "3,4,5", "--out"])
        .arg(&out)
        .stdout(closed_stdout())
        .output()
        .expect("scalemodel runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "run: {:?}\n{stderr}", run.status);
    assert!(!stderr.contains("panicked"), "run: {stderr}");
    assert!(
        check_dir(&out.join("trial-1")).unwrap().is_empty(),
        "the trial is whole"
    );
}

#[test]
fn the_command_line_takes_what_people_write() {
    let tmp = tempfile::tempdir().unwrap();
    // Ranges as other tools write them, both ends included.
    for (rates, dir) in [("1-6", "dash"), ("1..6", "dots"), ("2..=3", "rust")] {
        let out = sim(
            &tmp.path().join(dir),
            &["--seed", "9", "--rates", rates, "--duration", "1"],
        );
        let expected = if rates == "2..=3" {
            "drawn from 2..=3"
        } else {
            "drawn from 1..=6"
        };
        assert!(out.contains(expected), "{rates}: {out}");
    }
    fails(&["sim", "--speed", "2.5"], "`2.5` is not a whole number");
    fails(&["sim", "--rates", "6-1"], "empty");

    // A run directory that cannot be written fails before anything is printed.
    let used = tmp.path().join("dash");
    let output = scalemodel()
        .args(["sim", "--duration", "1", "--out"])
        .arg(&used)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // `scalemodel` alone shows the help, not an error, and exits 2.
    let bare = scalemodel().output().unwrap();
    let stderr = String::from_utf8_lossy(&bare.stderr);
    assert_eq!(bare.status.code(), Some(2));
    assert!(stderr.starts_with("Run, simulate and analyse"), "{stderr}");

    // `node --help` says what a node cannot do without.
    let help = scalemodel().args(["node", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--id <ID> --seed <N> --out <DIR>"), "{help}");
}

#[test]
fn a_simulated_run_ends_in_its_report_unless_told_not_to() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out = sim(
        &dir,
        &["--seed", "3", "--duration", "20", "--rates", "1,3,6"],
    );
    assert!(
        out.contains("final clock") && out.contains("largest jump"),
        "{out}"
    );
    assert!(
        out.ends_with(&format!(
            "  report: {}\n",
            dir.join("report.html").display()
        )),
        "{out}"
    );
    for f in ["report.md", "report.html", "report.json", "clocks.png"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let bare = tmp.path().join("bare");
    let out = sim(&bare, &["--seed", "3", "--duration", "20", "--no-analyze"]);
    assert!(!out.contains("trails machine"), "{out}");
    assert!(!bare.join("report.md").exists());
    assert!(bare.join("machine-0.csv").exists());
}

/// `sim --clock hlc` carries an HLC in its messages and logs it: the
/// logged stamps are the ones the HLC replayed over the same logs gives
/// (the reference, which knows nothing of the carried clock), every receive
/// logs its send's stamp, the checker finds the run conforming and the
/// Lamport columns are the Lamport run's (under `--skew` too, where the
/// nodes read their skewed clocks as the HLC's physical time); a stamp
/// changed by one breaks the clock rule.
#[test]
fn an_hlc_run_logs_the_stamps_the_replay_gives_and_the_checker_holds_them() {
    use scalemodel::analysis::causality::Causal;
    use scalemodel::analysis::hlc::Replay;
    use scalemodel::rundir::{Kind, read_run};
    let cases = [
        ("3", "", "0ms,0"),
        ("4", "crash 1@20s, partition 0-2@5s..15s", "0ms,0"),
        ("4", "", "1s,1000"),
    ];
    for (seed, faults, skew) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (hlc, lamport) = (tmp.path().join("hlc"), tmp.path().join("lamport"));
        let common = [
            "--seed",
            seed,
            "--faults",
            faults,
            "--jitter",
            "3ms",
            "--start-ns",
            "1700000000000000000",
            "--skew",
            skew,
            "--no-analyze",
        ];
        sim(&hlc, &[&common[..], &["--clock", "hlc"]].concat());
        sim(&lamport, &common);
        let params = Params::read(&hlc).unwrap();
        assert_eq!(params.clock.as_deref(), Some("hlc"));
        assert_eq!(check_dir(&hlc).unwrap().total(), 0, "seed {seed}");
        let run = read_run(&hlc).unwrap();
        let replay = Replay::of(&run.logs, &Causal::of(&run.logs)).unwrap();
        let mut receives = 0;
        for (i, log) in run.logs.iter().enumerate() {
            assert_eq!(log.len(), replay.machine(i).len());
            for (row, want) in log.iter().zip(replay.machine(i)) {
                let (own, msg) = row.hlc.expect("every row has its HLC columns");
                assert_eq!(own, *want, "seed {seed}, machine {i}, line {}", row.line);
                if row.kind == Kind::Receive {
                    receives += 1;
                    assert!(msg.is_some_and(|m| m <= own));
                }
            }
        }
        assert!(receives > 50, "seed {seed}: {receives} receives");
        let ahead = run.logs.iter().flatten();
        let ahead = ahead.filter(|r| r.hlc.is_some_and(|(own, _)| own.l() > r.system_ns));
        // Only a skewed clock falls behind what another machine heard.
        assert_eq!(
            ahead.count() > 0,
            skew != "0ms,0",
            "seed {seed}, skew {skew}"
        );
        // The Lamport columns are the Lamport run's, line for line.
        for log in LOGS {
            let text = String::from_utf8(read(&hlc, log)).unwrap();
            let trimmed: Vec<String> = text
                .lines()
                .map(|l| l.rsplitn(5, ',').last().unwrap().to_owned())
                .collect();
            let want = String::from_utf8(read(&lamport, log)).unwrap();
            assert_eq!(trimmed, want.lines().collect::<Vec<_>>(), "{log}");
        }
        // One counter changed by one: the clock rule breaks, on that line.
        let path = hlc.join("machine-1.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text.lines().position(|l| l.contains(",receive,")).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut fields: Vec<String> = lines[line].split(',').map(str::to_owned).collect();
        let c = fields.len() - 3;
        fields[c] = (fields[c].parse::<u32>().unwrap() + 1).to_string();
        lines[line] = fields.join(",");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let violations = check_dir(&hlc).unwrap();
        assert!(violations.total() >= 1, "seed {seed}");
        let first = violations.iter().next().unwrap().to_string();
        assert!(first.contains("HLC"), "{first}");
    }
}

/// `sim --clock vector` carries vector clocks in its messages and logs
/// them: the logged vectors are the ones rebuilt from the logs' sends and
/// receives (happened-before, which knows nothing of the carried clock),
/// every receive logs its send's vector and dominates it, the checker
/// finds the run conforming and the Lamport columns are the Lamport run's
/// (with faults, skew, five machines in a ring and sixteen); a vector
/// entry changed by one breaks the clock rule, and a message vector no
/// send carried, its line keeping the rules on its own, is caught by
/// `analyze`.
#[test]
fn a_vector_run_logs_happened_before_and_the_checker_holds_it() {
    use scalemodel::analysis::causality::Causal;
    use scalemodel::rundir::{Kind, read_run};
    let cases: [&[&str]; 4] = [
        &[
            "--seed",
            "4",
            "--faults",
            "crash 1@20s, partition 0-2@5s..15s",
        ],
        &["--seed", "3", "--jitter", "3ms", "--skew", "1s,1000"],
        &["--seed", "6", "--machines", "5", "--topology", "ring"],
        &[
            "--seed",
            "7",
            "--machines",
            "16",
            "--sides",
            "20",
            "--duration",
            "20",
        ],
    ];
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (vector, lamport) = (tmp.path().join("vector"), tmp.path().join("lamport"));
        let common = [case, &["--start-ns", "1700000000000000000", "--no-analyze"]].concat();
        sim(&vector, &[&common[..], &["--clock", "vector"]].concat());
        sim(&lamport, &common);
        let params = Params::read(&vector).unwrap();
        assert_eq!(params.clock.as_deref(), Some("vector"));
        assert_eq!(check_dir(&vector).unwrap().total(), 0, "{case:?}");
        let run = read_run(&vector).unwrap();
        let causal = Causal::of(&run.logs);
        let mut receives = 0;
        for (i, log) in run.logs.iter().enumerate() {
            for (k, row) in log.iter().enumerate() {
                let (own, msg) = row.vc.as_ref().expect("every row has its vector columns");
                let event = (i as u8, k as u32);
                let want: Vec<u32> = causal.clock(event).iter().map(|&e| e as u32).collect();
                assert_eq!(*own, want, "{case:?}, machine {i}, line {}", row.line);
                if row.kind == Kind::Receive {
                    receives += 1;
                    let sent = causal.source(event).expect("a receive took a logged send");
                    let sent: Vec<u32> = causal.clock(sent).iter().map(|&e| e as u32).collect();
                    let msg = msg.as_ref().expect("a receive logs its message's vector");
                    assert_eq!(*msg, sent, "{case:?}, machine {i}, line {}", row.line);
                    assert!(own.iter().zip(msg).all(|(a, b)| a >= b));
                }
            }
        }
        assert!(receives > 30, "{case:?}: {receives} receives");
        // The Lamport columns are the Lamport run's, line for line.
        for i in 0..params.n() {
            let log = format!("machine-{i}.csv");
            let text = String::from_utf8(read(&vector, &log)).unwrap();
            let trimmed: Vec<String> = text
                .lines()
                .map(|l| l.rsplitn(3, ',').last().unwrap().to_owned())
                .collect();
            let want = String::from_utf8(read(&lamport, &log)).unwrap();
            assert_eq!(trimmed, want.lines().collect::<Vec<_>>(), "{log}");
        }
    }
    // One entry changed by one: the clock rule breaks, on that line.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vector");
    sim(&dir, &["--seed", "4", "--clock", "vector", "--no-analyze"]);
    let path = dir.join("machine-1.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edit = |line: &str, column: usize, entry: usize, by: i64| {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        let mut v: Vec<i64> = fields[column]
            .split(' ')
            .map(|e| e.parse().unwrap())
            .collect();
        v[entry] += by;
        fields[column] = v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
        fields.join(",")
    };
    let internal = lines.iter().position(|l| l.contains(",internal,")).unwrap();
    let original = lines[internal].clone();
    lines[internal] = edit(&original, 10, 0, 1);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let violations = check_dir(&dir).unwrap();
    let first = violations.iter().next().expect("a violation").to_string();
    assert!(
        first.contains("clock rule") && first.contains("vector"),
        "{first}"
    );
    // A receive's message vector lowered where the machine's own vector
    // was already higher: its own vector still follows by the rules, so no
    // line is wrong on its own, but no send carried that vector.
    lines[internal] = original;
    let forged = (1..lines.len())
        .find_map(|i| {
            let f: Vec<&str> = lines[i].split(',').collect();
            if f[4] != "receive" {
                return None;
            }
            let prev: Vec<u32> = lines[i - 1]
                .split(',')
                .nth(10)?
                .split(' ')
                .map(|e| e.parse().unwrap())
                .collect();
            let msg: Vec<u32> = f[11].split(' ').map(|e| e.parse().unwrap()).collect();
            // Not machine 1's own entry; one the machine already knew.
            (0..3)
                .find(|&e| e != 1 && msg[e] > 0 && prev[e] >= msg[e])
                .map(|e| (i, e))
        })
        .expect("a receive whose vector some entry of the message does not raise");
    lines[forged.0] = edit(&lines[forged.0], 11, forged.1, -1);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    assert_eq!(
        check_dir(&dir).unwrap().total(),
        0,
        "each line holds on its own"
    );
    let out = scalemodel().arg("analyze").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let line = format!("machine-1.csv line {}", forged.0 + 1);
    assert!(
        report.contains(&line) && report.contains("its send carried"),
        "{report}"
    );
    // The report says where its vectors came from.
    assert!(
        report.contains("The machines carried vector clocks"),
        "{report}"
    );
}

/// A clock other than Lamport's is refused, by name, at capacities it is
/// not built for.
#[test]
fn a_carried_clock_refuses_other_capacities() {
    for (args, says, clock) in [
        (&["--inbox-cap", "4"][..], "--inbox-cap", "hlc"),
        (&["--link-cap", "2"][..], "--link-cap", "hlc"),
        (&["--inbox-cap", "16"][..], "--inbox-cap", "vector"),
        (&["--link-cap", "8"][..], "--link-cap", "vector"),
    ] {
        let out = scalemodel()
            .args(["sim", "--clock", clock, "--no-log"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says) && stderr.contains(clock), "{stderr}");
    }
}

/// A receive that logs a message stamp its send did not carry, its own
/// stamp still following from it by the rules (so no line is wrong on its
/// own), is caught by `analyze`, which holds a carried HLC to the replay.
#[test]
fn analyze_catches_a_message_stamp_no_send_carried() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hlc");
    sim(&dir, &["--seed", "4", "--clock", "hlc", "--no-analyze"]);
    let path = dir.join("machine-1.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // A receive whose stamp is its own clock's (`l` = `system_ns`, `c` 0),
    // from a message stamped earlier: one ns less leaves it the same.
    let forged = lines
        .iter()
        .position(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let number = |i: usize| f[i].parse::<u64>().unwrap_or(0);
            f[4] == "receive" && f[10] == f[3] && f[11] == "0" && number(12) < number(3)
        })
        .expect("a receive stamped by its own clock");
    let mut fields: Vec<String> = lines[forged].split(',').map(str::to_owned).collect();
    fields[12] = (fields[12].parse::<u64>().unwrap() - 1).to_string();
    lines[forged] = fields.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    assert_eq!(
        check_dir(&dir).unwrap().total(),
        0,
        "each line holds on its own"
    );
    let out = scalemodel().arg("analyze").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let line = format!("machine-1.csv line {}", forged + 1);
    assert!(
        report.contains(&line) && report.contains("its send carried"),
        "{report}"
    );
}

/// `study --clock hlc` carries the HLC in its configurations' trials: each
/// trial logs its columns, names its clock and conforms.
#[test]
fn a_study_carries_the_hlc_in_its_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let ran = scalemodel()
        .args([
            "study",
            "--sim",
            "--trials",
            "1",
            "--duration",
            "10",
            "--seed",
            "5",
        ])
        .args([
            "--sim-trials",
            "2",
            "--topology-trials",
            "0",
            "--clock-trials",
            "0",
        ])
        .args(["--clock", "hlc", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let trials: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().join("trial-1"))
        .filter(|t| t.is_dir())
        .collect();
    assert!(trials.len() >= 3, "{trials:?}");
    for trial in trials {
        assert_eq!(Params::read(&trial).unwrap().clock.as_deref(), Some("hlc"));
        let header = String::from_utf8(read(&trial, "machine-0.csv")).unwrap();
        assert!(
            header
                .lines()
                .next()
                .unwrap()
                .ends_with(",hlc_l,hlc_c,msg_hlc_l,msg_hlc_c")
        );
        assert_eq!(check_dir(&trial).unwrap().total(), 0, "{}", trial.display());
    }
}
