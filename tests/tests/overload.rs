//! Overload, under one rule in the simulator and on the network: a machine
//! still owing ticks at the run's end plus the catch-up grace, or more than
//! one tick behind its schedule at once in a run with more than one tick in
//! a hundred late, ends `overloaded`; a stall the run absorbs is counted
//! (`late_ticks`, `behind_ticks`, `max_behind`) but completes.
//! Every wait is bounded; every process a test starts is ended by its pid.

use std::path::Path;
use std::time::{Duration, Instant};

use scalemodel::check::check_dir;
use scalemodel::rundir::{End, MachineSummary, Params, log_name};
use scalemodel_core::node::Timeouts;
use scalemodel_core::{MachineId, ticks_in};
use scalemodel_tests::{Children, overloaded_run, sim_into};

const S: u64 = 1_000_000_000;

/// A simulated minute at rates 2, 4, 6 with `faults`, checked clean.
fn checked_sim(dir: &Path, faults: &str) -> Params {
    sim_into(
        dir,
        &[
            "--seed",
            "8",
            "--rates",
            "2,4,6",
            "--duration",
            "60",
            "--faults",
            faults,
        ],
    );
    let violations = check_dir(dir).expect("the run directory reads");
    assert!(violations.is_empty(), "{violations:#?}");
    Params::read(dir).expect("params.json reads")
}

/// What `analyze` prints on `dir`.
fn analyzed(dir: &Path) -> String {
    let out = scalemodel_tests::scalemodel()
        .arg("analyze")
        .arg(dir)
        .output()
        .expect("analyze runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn two(p: &Params) -> &MachineSummary {
    &p.machines[2]
}

#[test]
fn a_pause_under_two_periods_is_counted_and_the_machine_completes() {
    let tmp = tempfile::tempdir().unwrap();
    // Machine 2 (rate 6, a 167-ms period) frozen for 250 ms from a due
    // time: that tick runs 250 ms late, after the next was due (one tick
    // behind), the next one at once, and then it is back on schedule.
    let p = checked_sim(tmp.path(), "pause 2@30s..30250ms");
    let m = two(&p);
    assert_eq!(m.end, End::Completed, "{m:?}");
    assert_eq!(m.ticks, 360);
    assert_eq!(
        (m.behind_ticks, m.max_behind, m.late_ticks),
        (Some(1), Some(1), Some(2)),
        "{m:?}"
    );
    assert_eq!(m.max_late_ns, Some(250_000_000));
}

#[test]
fn a_pause_of_more_than_two_periods_is_counted_and_the_machine_completes() {
    let tmp = tempfile::tempdir().unwrap();
    // 400 ms: the tick due at 30 s runs with two more due (2 behind), and
    // 3 of the run's 360 ticks are late, within one in a hundred.
    let p = checked_sim(tmp.path(), "pause 2@30s..30400ms");
    let m = two(&p);
    assert_eq!(m.end, End::Completed, "{m:?}");
    assert_eq!(m.ticks, 360);
    assert_eq!((m.max_behind, m.late_ticks), (Some(2), Some(3)), "{m:?}");
}

#[test]
fn more_than_one_tick_in_a_hundred_late_is_overload_though_every_tick_ran() {
    let tmp = tempfile::tempdir().unwrap();
    // A second: the ticks due at 30 s to 30.833 s run late, 6 of 360.
    let p = checked_sim(tmp.path(), "pause 2@30s..31s");
    let m = two(&p);
    assert_eq!(m.end, End::Overloaded, "{m:?}");
    assert_eq!(m.ticks, 360);
    assert_eq!((m.max_behind, m.late_ticks), (Some(6), Some(6)), "{m:?}");
    let text = analyzed(tmp.path());
    assert!(
        text.contains(
            "machine 2 overloaded (caught up, but was 6 ticks behind at once and 6 of its 360 ticks ran late, over 1 in a hundred)"
        ),
        "{text}"
    );
}

#[test]
fn a_machine_paused_past_the_grace_stops_short_and_its_peers_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let grace = Timeouts::DEFAULT.catch_up_ns();
    // Frozen from 58 s until past the end (60 s) plus the grace (2.5 s),
    // but before its peers stop waiting for its Bye (5 s).
    let p = checked_sim(tmp.path(), "pause 2@58s..63s");
    assert!(60 * S + grace < 63 * S && 63 * S < 65 * S);
    let m = two(&p);
    assert_eq!(m.end, End::Overloaded, "{m:?}");
    // The ticks due before the pause, and none after it.
    assert_eq!(m.ticks, 58 * 6);
    assert!(m.ticks < ticks_in(60 * S, 6));
    for peer in &p.machines[..2] {
        assert_eq!(peer.end, End::Completed, "{peer:?}");
    }
    let text = analyzed(tmp.path());
    assert!(
        text.contains("machine 2 overloaded (never caught up: ran 348 of 360 ticks)"),
        "{text}"
    );
}

/// The overload at a small scale: a million ticks a wall second
/// for a wall second, which no host keeps. The nodes stop ticking at the
/// end plus the grace, say `Bye`, and the trial is whole: `run` exits 4.
#[test]
fn an_impossible_speed_ends_within_the_bound_with_a_whole_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("impossible");
    let mut launcher = Children::default();
    let began = Instant::now();
    let mut run = overloaded_run("1000", &out);
    launcher.0.push(run.arg("--no-analyze").spawn().unwrap());
    // Set-up (at most seconds), 1 s of run, 7.5 s of the nodes' own bound,
    // 2 s to exit: the old launcher gave up after 15 s, exit 1.
    let statuses = launcher.wait_all(Duration::from_secs(60));
    let took = began.elapsed();
    assert_eq!(statuses[0].code(), Some(4), "{statuses:?} after {took:?}");
    let dir = out.join("trial-1");
    let violations = check_dir(&dir).unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    let params = Params::read(&dir).unwrap();
    let grace = Timeouts::DEFAULT.catch_up_ns();
    // 1,000 model seconds at speed 1,000: the end is a wall second after the start.
    let end_ns = params.start_ns + S;
    for m in &params.machines {
        assert_eq!(m.end, End::Overloaded, "{m:?}");
        assert!(m.ticks <= ticks_in(1_000 * S, 1_000), "{m:?}");
        assert!(m.max_behind.unwrap_or(0) > 1, "{m:?}");
        // No tick ran after the end plus the grace.
        let log = std::fs::read_to_string(dir.join(log_name(MachineId::ALL[m.id as usize])))
            .expect("the log reads");
        let last = log.lines().last().expect("a row");
        let system_ns: u64 = last.split(',').nth(3).unwrap().parse().unwrap();
        assert!(system_ns < end_ns + grace, "{last}");
    }
}
