//! The readers take a run of any `n` machines from 3 to 16, `n` from its
//! `params.json`: read, checked, analysed and reported (issue 19, step 2).
//! The runs are synthetic (`scalemodel_tests::synthetic`) until the
//! simulator runs `n` machines.

use std::path::Path;

use scalemodel::analysis::Analysis;
use scalemodel::check::{Rule, check, check_run};
use scalemodel::rundir::{Kind, read_run};
use scalemodel_tests::scalemodel;
use scalemodel_tests::synthetic::{self, Synthetic};

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

/// Writes a synthetic run of `n` machines into a fresh folder, reads it
/// back, and checks that it conforms.
fn written(n: usize, seed: u64) -> (tempfile::TempDir, Synthetic) {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let run = synthetic::run(n, seed, 30);
    run.write(tmp.path()).expect("the run is written");
    (tmp, run)
}

#[test]
fn runs_of_five_and_sixteen_machines_read_check_analyse_and_report() {
    for (n, seed) in [(5, 1), (16, 2)] {
        let (tmp, written) = written(n, seed);
        let dir = tmp.path();
        let run = read_run(dir).unwrap();
        assert_eq!((run.params.n(), run.logs.len()), (n, n));
        // Sends to all the others: lists of n - 1 peers read.
        let to_all = |log: &Vec<_>| {
            log.iter()
                .any(|r: &scalemodel::rundir::Row| r.kind == Kind::Send && r.peers.len() == n - 1)
        };
        assert!(run.logs.iter().any(to_all), "{n} machines");
        let violations = check_run(&run);
        assert!(violations.is_empty(), "{n} machines: {violations:#?}");
        assert_eq!(run.params.links.len(), n * (n - 1));
        let a = Analysis::of(dir, run);
        assert_eq!(a.figures.len(), n);
        for (id, m) in a.figures.iter().enumerate() {
            assert_eq!(usize::from(m.id), id);
            assert_eq!(m.rate, written.params.rates[id]);
            assert!(m.estimate.arrivals_per_s > 0.0, "{m:?}");
            assert!(m.drift.max >= 0, "{m:?}");
        }
        let (ok, text) = analyze(dir);
        assert!(ok, "{n} machines: {text}");
        assert!(text.contains("conforms"), "{text}");
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        let last = n - 1;
        assert!(
            md.contains(&format!("| {last} |")),
            "no row of machine {last}"
        );
        for png in ["clocks.png", "queues.png", "jumps.png", "drift.png"] {
            let bytes = std::fs::read(dir.join(png)).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png}");
        }
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(
            html.contains(&format!("\"id\":{last}")),
            "no lane of machine {last}"
        );
    }
}

#[test]
fn a_receive_of_a_message_machine_4_never_sent_is_found() {
    let (tmp, _) = written(5, 3);
    let run = read_run(tmp.path()).unwrap();
    let mut logs = run.logs.clone();
    let (to, i) = (0..4)
        .find_map(|to| {
            let i = logs[to]
                .iter()
                .position(|r| r.kind == Kind::Receive && r.peers == [4])?;
            Some((to, i))
        })
        .expect("a receive from machine 4");
    logs[to][i].seqs = vec![1_000_000];
    let line = logs[to][i].line;
    let v = check(&run.params, &logs);
    let want = format!("no send with seq 1000000 on link 4->{to}");
    assert!(
        v.iter().any(|v| v.rule == Rule::Match
            && v.line == Some(line)
            && v.file == format!("machine-{to}.csv")
            && v.detail == want),
        "{v:#?}"
    );
}

#[test]
fn a_send_to_some_but_not_all_of_five_machines_is_refused() {
    let (tmp, _) = written(5, 4);
    let run = read_run(tmp.path()).unwrap();
    let mut logs = run.logs.clone();
    let i = logs[2]
        .iter()
        .position(|r| r.kind == Kind::Send && r.peers.len() == 4)
        .expect("a send to all");
    logs[2][i].peers.truncate(2);
    logs[2][i].seqs.truncate(2);
    let v = check(&run.params, &logs);
    assert!(
        v.iter()
            .any(|v| v.rule == Rule::Send && v.detail.contains("goes to one or to all 4")),
        "{v:#?}"
    );
}

#[test]
fn rates_for_two_or_seventeen_machines_are_refused_naming_the_field() {
    for wrong in [2, 17] {
        let (tmp, mut written) = written(5, 5);
        written.params.rates = vec![3; wrong];
        written.params.write(tmp.path()).unwrap();
        let err = read_run(tmp.path()).unwrap_err().to_string();
        let want = format!("`rates` holds {wrong} rates, one per machine; a run has from 3 to 16");
        assert!(err.contains(&want), "{err}");
        let (ok, text) = analyze(tmp.path());
        assert!(!ok && text.contains(&want), "{text}");
    }
}

#[test]
fn a_missing_log_is_named_and_the_rest_still_checked() {
    let (tmp, _) = written(5, 6);
    let run = read_run(tmp.path()).unwrap();
    let v = check(&run.params, &run.logs[..4]);
    assert!(
        v.iter()
            .any(|v| v.detail.starts_with("4 logs for 5 machines")),
        "{v:#?}"
    );
    // Machine 4's sends are missing, so its receivers' matches fail.
    assert!(v.iter().any(|v| v.rule == Rule::Match), "{v:#?}");
}
