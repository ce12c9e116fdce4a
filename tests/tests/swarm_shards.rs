//! The swarm's shards as separate processes, as a cluster runs them: each
//! writes its `--json` result, `swarm merge` joins them into what the
//! unsharded swarm finds, refuses shards that do not make one swarm, and the
//! Slurm script and the Kubernetes Jobs of `docs/cluster/` run as written.

use std::path::{Path, PathBuf};
use std::process::Output;

use scalemodel_tests::{scalemodel, scalemodel_bin};
use serde_json::Value;

/// What a command printed, and whether it succeeded.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Ran {
    fn from(out: Output) -> Self {
        Self {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn swarm(args: &[&str]) -> Ran {
    scalemodel()
        .arg("swarm")
        .args(args)
        .output()
        .expect("scalemodel runs")
        .into()
}

/// A result file without its wall times, the part that differs run to run.
fn deterministic(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut value: Value = serde_json::from_str(&text).expect("JSON");
    let wall = value
        .as_object_mut()
        .expect("an object")
        .remove("wall")
        .expect("wall times");
    assert!(!wall.as_array().expect("a list").is_empty());
    value
}

/// The summary's lines that the seed decides: all but the header, the
/// wall time and the file written.
fn summary_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("wrote "))
        .map(|l| {
            l.split_once(" failures in ")
                .map_or(l, |(head, _)| head)
                .to_owned()
        })
        .collect()
}

/// Runs the shards `1..=count` of the swarm `seed` with `seeds` cases, one
/// process each, writing `DIR/shard-K.json`.
fn run_shards(dir: &Path, seed: u64, seeds: u64, count: u64) -> Vec<PathBuf> {
    (1..=count)
        .map(|k| {
            let path = dir.join(format!("shard-{k}.json"));
            let ran = swarm(&[
                "--seeds",
                &seeds.to_string(),
                "--seed",
                &seed.to_string(),
                "--shard",
                &format!("{k}/{count}"),
                "--json",
                path.to_str().expect("a UTF-8 path"),
            ]);
            assert!(ran.ok, "{}{}", ran.stdout, ran.stderr);
            path
        })
        .collect()
}

fn merge(files: &[PathBuf], json: Option<&Path>) -> Ran {
    let mut cmd = scalemodel();
    cmd.args(["swarm", "merge"]).args(files);
    if let Some(json) = json {
        cmd.arg("--json").arg(json);
    }
    cmd.output().expect("scalemodel runs").into()
}

#[test]
fn four_shards_merge_into_the_unsharded_swarm() {
    let dir = tempfile::tempdir().unwrap();
    let whole_json = dir.path().join("whole.json");
    let whole = swarm(&[
        "--seeds",
        "400",
        "--seed",
        "5",
        "--json",
        whole_json.to_str().unwrap(),
    ]);
    assert!(whole.ok, "{}{}", whole.stdout, whole.stderr);
    let shards = run_shards(dir.path(), 5, 400, 4);
    for (k, shard) in shards.iter().enumerate() {
        let value = deterministic(shard);
        assert_eq!(value["shard"]["index"], k as u64 + 1);
        assert_eq!(value["cases"], 100);
    }
    // Given in another order than their numbers.
    let mut given = shards.clone();
    given.reverse();
    let merged_json = dir.path().join("merged.json");
    let merged = merge(&given, Some(&merged_json));
    assert!(merged.ok, "{}{}", merged.stdout, merged.stderr);
    assert_eq!(deterministic(&merged_json), deterministic(&whole_json));
    assert!(
        merged
            .stdout
            .starts_with("swarm: seed 5, cases 400 of 400, merged from 4 shards\n")
    );
    assert!(
        merged
            .stdout
            .contains("400 seeds, 0 failures in 4 runs of "),
        "{}",
        merged.stdout
    );
    let lines = summary_lines(&merged.stdout);
    assert_eq!(lines, summary_lines(&whole.stdout));
    assert!(lines.len() > 10, "{lines:?}");
    let records = deterministic(&whole_json)["exercised"]["records"]
        .as_u64()
        .unwrap();
    assert!(records > 10_000, "the swarm checked only {records} records");
}

#[test]
fn a_failed_case_in_a_shard_fails_the_merge_with_its_replay() {
    let dir = tempfile::tempdir().unwrap();
    let shards = run_shards(dir.path(), 3, 30, 3);
    // Shard 2 says its case 4 failed, in figures that still add up.
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&shards[1]).unwrap()).unwrap();
    let count = |v: &Value| v.as_u64().unwrap();
    value["passed"] = (count(&value["passed"]) - 1).into();
    value["failure_count"] = 1.into();
    let ends = value["machines_ended"].as_object_mut().unwrap();
    let (_, most) = ends.iter_mut().max_by_key(|(_, n)| n.as_u64()).unwrap();
    *most = (most.as_u64().unwrap() - 3).into();
    let replay = scalemodel::swarm_cmd::case(3, 4).replay();
    value["failures"] = serde_json::json!([{ "case": 4, "message": "planted", "replay": replay }]);
    std::fs::write(&shards[1], value.to_string()).unwrap();
    let merged = merge(&shards, None);
    assert!(!merged.ok, "{}", merged.stdout);
    assert!(
        merged.stdout.contains("30 seeds, 1 failures in "),
        "{}",
        merged.stdout
    );
    assert!(
        merged
            .stdout
            .contains(&format!("FAILED case 4: planted\n  replay: {replay}\n")),
        "{}",
        merged.stdout
    );
    assert!(replay.starts_with("scalemodel sim --seed 7 "), "{replay}");
    assert!(
        merged.stderr.contains("Error: 1 of 30 cases failed"),
        "{}",
        merged.stderr
    );
}

#[test]
fn shards_that_do_not_make_one_swarm_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shards = run_shards(d, 5, 30, 3);
    std::fs::create_dir(d.join("other")).unwrap();
    let other_seed = &run_shards(&d.join("other"), 6, 30, 3)[1];
    let write = |name: &str, text: &str| {
        let path = d.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let edited = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut value: Value =
            serde_json::from_str(&std::fs::read_to_string(&shards[0]).unwrap()).unwrap();
        edit(&mut value);
        write(name, &value.to_string())
    };
    let garbage = write("garbage.json", "\u{0}\u{1}not json at all");
    let bench = write("bench.json", r#"{"table": []}"#);
    let v2 = edited("v2.json", &|v| v["version"] = 2.into());
    let cases = edited("cases.json", &|v| v["cases"] = 11.into());
    let field = edited("field.json", &|v| {
        v.as_object_mut().unwrap().remove("passed");
    });
    let hlc = edited("hlc.json", &|v| v["clock"] = "hlc".into());
    let lamport = edited("lamport.json", &|v| v["clock"] = "lamport".into());
    let [s1, s2, s3] = [&shards[0], &shards[1], &shards[2]].map(PathBuf::clone);
    let cases_said = format!(
        "{}: it ran 11 cases, but shard 1/3 of 30 seeds has 10",
        cases.display()
    );
    let refusals: Vec<(Vec<PathBuf>, String)> = vec![
        (
            vec![s1.clone(), s3.clone()],
            "1 of the swarm's 3 shards is missing: 2/3 (seed 5, 30 seeds; 2 given)".into(),
        ),
        (
            vec![s1.clone(), s2.clone(), s2.clone()],
            "shard 2/3 is given twice".into(),
        ),
        (
            vec![s1.clone(), other_seed.clone(), s3.clone()],
            format!(
                "{} is of another swarm than {}: seed 6, not 5",
                other_seed.display(),
                s1.display()
            ),
        ),
        (
            vec![garbage.clone()],
            format!("{} is not JSON, so not a swarm result", garbage.display()),
        ),
        (
            vec![bench.clone()],
            "is not a swarm result: it has no \"format\": \"scalemodel-swarm\"".into(),
        ),
        (
            vec![v2],
            "is a swarm result of format version 2; this scalemodel reads version 1".into(),
        ),
        (vec![cases, s2.clone(), s3.clone()], cases_said),
        (
            vec![field],
            "a swarm result that does not parse: missing field `passed`".into(),
        ),
        (
            vec![hlc.clone(), s2.clone(), s3.clone()],
            format!(
                "{} is of another swarm than {}: clock lamport, not hlc",
                s2.display(),
                hlc.display()
            ),
        ),
        (
            vec![lamport],
            "its \"clock\" is \"lamport\"; a swarm's cases carry `hlc`, `vector` or nothing".into(),
        ),
        (vec![d.join("absent.json")], "cannot read".into()),
        (
            vec![d.to_owned()],
            "it is a directory, not a regular file".into(),
        ),
    ];
    for (files, want) in refusals {
        let ran = merge(&files, Some(&d.join("never.json")));
        assert!(!ran.ok, "{files:?}: {}", ran.stdout);
        assert!(
            ran.stderr.contains(&want),
            "{files:?}: want `{want}` in {}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{files:?}: {}", ran.stdout);
        assert!(!d.join("never.json").exists());
    }
    // The shards themselves merge.
    assert!(merge(&[s3, s1, s2], None).ok);
}

/// `docs/cluster/NAME`.
fn cluster_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/cluster")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The PATH with the `scalemodel` under test first, as a cluster's node has it.
fn path_with_scalemodel() -> std::ffi::OsString {
    let bin = scalemodel_bin().parent().expect("a folder").to_owned();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest)))
        .expect("a PATH of the folders it had")
}

/// The script of a container in a Job's YAML: its `command` must be
/// `["/bin/sh", "-c"]` and its `args` one literal block (`- |`), which is
/// returned without its indentation, with the container's `env`.
fn container_script(yaml: &str) -> (String, Vec<(String, String)>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let at = |what: &str| {
        lines
            .iter()
            .position(|l| l.trim() == what)
            .unwrap_or_else(|| panic!("no `{what}` line in:\n{yaml}"))
    };
    let command = at(r#"command: ["/bin/sh", "-c"]"#);
    let args = at("args:");
    assert_eq!(lines[args + 1].trim(), "- |", "args is one literal block");
    let block: Vec<&str> = lines[args + 2..]
        .iter()
        .take_while(|l| indent(l) > indent(lines[args + 1]))
        .copied()
        .collect();
    let margin = indent(block[0]);
    let script = block
        .iter()
        .map(|l| &l[margin..])
        .collect::<Vec<_>>()
        .join("\n");
    let env_at = at("env:");
    assert!(env_at < command);
    let mut env = Vec::new();
    let mut rest = lines[env_at + 1..command].iter().map(|l| l.trim());
    while let Some(name) = rest.next() {
        let name = name.strip_prefix("- name: ").expect("`- name: X`");
        let value = rest
            .next()
            .and_then(|v| v.strip_prefix("value: "))
            .expect("`value: \"Y\"`");
        env.push((name.to_owned(), value.trim_matches('"').to_owned()));
    }
    (script, env)
}

/// The value of `name` in `env`.
fn env_value<'e>(env: &'e [(String, String)], name: &str) -> &'e str {
    &env.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {env:?}"))
        .1
}

/// Runs `script` with `sh -c` and `env`, `scalemodel` on the PATH.
fn sh(script: &str, env: &[(&str, &str)]) -> Ran {
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .env("PATH", path_with_scalemodel());
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("sh runs").into()
}

#[test]
fn the_slurm_script_and_the_kubernetes_jobs_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let whole_json = dir.path().join("whole.json");
    let whole = swarm(&[
        "--seeds",
        "120",
        "--seed",
        "9",
        "--json",
        whole_json.to_str().unwrap(),
    ]);
    assert!(whole.ok, "{}{}", whole.stdout, whole.stderr);
    let want = deterministic(&whole_json);

    // Slurm: the script itself, as four tasks of an array of four.
    let sbatch = cluster_file("swarm.sbatch");
    let array = sbatch
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array=1-"))
        .expect("an array 1-N");
    assert!(
        sbatch.contains(&format!("SHARDS=${{SHARDS:-{array}}}")),
        "SHARDS's default is the array's size"
    );
    let slurm = dir.path().join("slurm");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cluster/swarm.sbatch");
    for task in ["1", "2", "3", "4"] {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script).env("PATH", path_with_scalemodel());
        let env = [
            ("SLURM_ARRAY_TASK_ID", task),
            ("SHARDS", "4"),
            ("SEEDS", "120"),
            ("SEED", "9"),
        ];
        cmd.envs(env).env("OUT", &slurm);
        let ran: Ran = cmd.output().expect("bash runs").into();
        assert!(ran.ok, "task {task}: {}{}", ran.stdout, ran.stderr);
    }
    // The merge step that docs/CLUSTER.md submits after the array.
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CLUSTER.md"))
            .unwrap();
    let wrap = guide
        .lines()
        .find_map(|l| l.split_once("--wrap '"))
        .expect("a `--wrap '…'` merge step")
        .1;
    let wrap = wrap.strip_suffix('\'').expect("the step ends its line");
    let merged = sh(wrap, &[("OUT", slurm.to_str().unwrap())]);
    assert!(merged.ok, "{wrap}: {}{}", merged.stdout, merged.stderr);
    assert_eq!(deterministic(&slurm.join("swarm.json")), want);
    assert_eq!(summary_lines(&merged.stdout), summary_lines(&whole.stdout));

    // Kubernetes: each indexed pod's script, with the Job's environment cut
    // down to the swarm above, then the merge Job's.
    let job = cluster_file("swarm-job.yaml");
    let (script, env) = container_script(&job);
    let completions = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .and_then(|c| c.split('#').next())
        .expect("completions");
    assert_eq!(
        completions.trim(),
        env_value(&env, "SHARDS"),
        "SHARDS is the Job's completions"
    );
    assert!(job.contains("completionMode: Indexed"));
    let k8s = dir.path().join("k8s");
    std::fs::create_dir(&k8s).unwrap();
    assert_eq!(env_value(&env, "OUT"), "/results");
    for index in ["0", "1", "2", "3"] {
        let vars = [
            ("JOB_COMPLETION_INDEX", index),
            ("SEED", "9"),
            ("SHARDS", "4"),
            ("SEEDS", "120"),
            ("OUT", k8s.to_str().unwrap()),
        ];
        let ran = sh(&script, &vars);
        assert!(ran.ok, "index {index}: {}{}", ran.stdout, ran.stderr);
    }
    let (merge_script, merge_env) = container_script(&cluster_file("swarm-merge-job.yaml"));
    assert_eq!(env_value(&merge_env, "OUT"), "/results");
    let merged = sh(&merge_script, &[("OUT", k8s.to_str().unwrap())]);
    assert!(
        merged.ok,
        "{merge_script}: {}{}",
        merged.stdout, merged.stderr
    );
    assert_eq!(deterministic(&k8s.join("swarm.json")), want);
    assert_eq!(summary_lines(&merged.stdout), summary_lines(&whole.stdout));
}
