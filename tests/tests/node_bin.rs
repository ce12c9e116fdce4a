//! `run` starts its nodes from the lean `scalemodel-node` binary beside its
//! own, and from its own `node` command when that binary is not there (as
//! after `cargo run`, which builds only the binary it runs).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use scalemodel::rundir::{End, Params};
use scalemodel_tests::{Children, children_of, scalemodel_bin, wait_until};

/// The note `run` prints once when it has no `scalemodel-node`.
const NOTE: &str = "note: no scalemodel-node beside this binary";

/// Runs one short trial with the `scalemodel` binary at `bin` into `out`;
/// returns the command lines of the nodes it started (seen while they ran),
/// its stderr, and the trial's params.
fn short_run(bin: &Path, out: &Path) -> (Vec<String>, String, Params) {
    let child = Command::new(bin)
        .args(["run", "--trials", "1", "--duration", "4", "--speed", "2"])
        .args(["--seed", "3", "--no-analyze", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scalemodel starts");
    let launcher = child.id();
    let mut children = Children(vec![child]);
    let mut nodes = Vec::new();
    wait_until(Duration::from_secs(30), || {
        nodes = children_of(launcher)
            .into_iter()
            .map(|(_, args)| args)
            .filter(|args| args.contains("--launcher"))
            .collect();
        nodes.len() == 3
    });
    let status = children.wait_all(Duration::from_secs(60));
    // Exit 4 is a machine that did not complete, which a host stall under
    // the other tests' load can make; which binary ran is the question here.
    assert!(
        status[0].success() || status[0].code() == Some(4),
        "run failed: {status:?}"
    );
    let mut stderr = String::new();
    if let Some(mut pipe) = children.0[0].stderr.take() {
        pipe.read_to_string(&mut stderr).expect("stderr reads");
    }
    let params = Params::read(&out.join("trial-1")).expect("the trial has its params.json");
    (nodes, stderr, params)
}

/// Every node ran its machine to the end: none died, none lost a peer
/// (`overloaded` from a stall of the loaded host is allowed).
fn ran_whole(params: &Params) -> bool {
    params
        .machines
        .iter()
        .all(|m| m.ticks > 0 && matches!(m.end, End::Completed | End::Overloaded))
}

#[test]
fn run_starts_its_nodes_from_scalemodel_node_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (nodes, stderr, params) = short_run(scalemodel_bin(), &tmp.path().join("run"));
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    for args in &nodes {
        assert!(args.starts_with("scalemodel-node --launcher "), "{args}");
    }
    assert!(!stderr.contains(NOTE), "{stderr}");
    assert!(ran_whole(&params), "{:?}", params.machines);
}

#[test]
fn without_scalemodel_node_run_says_so_and_runs_its_own_node_command() {
    let tmp = tempfile::tempdir().unwrap();
    // The binary alone in a folder of its own (a link: no copy of its bytes).
    let alone = tmp.path().join("scalemodel");
    std::fs::hard_link(scalemodel_bin(), &alone)
        .or_else(|_| std::fs::copy(scalemodel_bin(), &alone).map(|_| ()))
        .expect("the binary is linked or copied");
    let (nodes, stderr, params) = short_run(&alone, &tmp.path().join("run"));
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    for args in &nodes {
        assert!(args.starts_with("scalemodel node --launcher "), "{args}");
    }
    assert_eq!(stderr.matches(NOTE).count(), 1, "{stderr}");
    assert!(ran_whole(&params), "{:?}", params.machines);
}

#[test]
fn the_lean_node_runs_no_board_and_names_the_bridge_that_does() {
    let dir = scalemodel_bin()
        .parent()
        .expect("the binary lies in a folder");
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(60);
    let args = |bin: &str| {
        let mut c = assert_cmd::Command::new(dir.join(bin));
        c.args(["--id", "2", "--seed", "1", "--peers"])
            .arg("127.0.0.1:1,127.0.0.1:2,127.0.0.1:3")
            .arg("--key-file")
            .arg(&key)
            .arg("--start-at")
            .arg(start.as_nanos().to_string())
            .arg("--out")
            .arg(tmp.path().join("run"));
        c
    };
    let stderr = |c: &mut assert_cmd::Command| {
        let out = c.assert().failure().get_output().clone();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let node = stderr(args("scalemodel-node").args(["--board", "firmware.elf"]));
    assert!(
        node.contains("--board firmware.elf: a board's bridge is `scalemodel-board`"),
        "{node}"
    );
    let bridge = stderr(&mut args("scalemodel-board"));
    assert!(
        bridge.contains("scalemodel-board needs --board PATH"),
        "{bridge}"
    );
    assert!(
        !tmp.path().join("run").exists(),
        "a refused machine writes nothing"
    );
}
