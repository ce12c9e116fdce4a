//! Overload: a stall the host absorbs, one too long for the run, and a
//! machine that never catches up, on three nodes in virtual time (rate 5: a 200-ms period).

use super::*;

/// Machine 0's host runs ticks 0 and 1 on time, then freezes until
/// `late_ms` after tick 2's due time; the run, `seconds` long, goes on to
/// its end.
fn frozen_after_two_ticks(late_ms: u64, seconds: u64) -> Trio {
    let mut t = Trio::new([5, 5, 5], |c| c.duration_ns = seconds * 1_000 * MS);
    t.run(20 * MS);
    let at = t.nodes[0].start.expect("started").at_ns;
    t.run(at + 250 * MS);
    t.paused[0] = at + (400 + late_ms) * MS;
    t.run(u64::MAX);
    t
}

#[test]
fn a_stall_under_two_periods_is_counted_and_the_machine_completes() {
    // Tick 2 runs 300 ms late, after tick 3 was due (one tick behind), and
    // tick 3 at once, 100 ms late; then the machine is back on schedule. In
    // a run of 10 ticks that is 2 late.
    let t = frozen_after_two_ticks(300, 2);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert_eq!((r.behind_ticks, r.max_behind), (1, 1), "{r:?}");
    assert_eq!(r.late_ticks, 2);
    assert_eq!(r.max_late_ns, 300 * MS);
    assert_eq!(t.nodes[0].status(), Some(Status::Completed));
}

#[test]
fn a_longer_stall_a_long_run_absorbed_is_counted_and_the_machine_completes() {
    // Tick 2 runs a second late, with ticks 3 to 7 already due (five
    // behind); they run at once, 800 to 0 ms late, and the machine is back
    // on schedule: 5 late ticks of 1,000, within one in a hundred.
    let t = frozen_after_two_ticks(1_000, 200);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 1_000);
    assert_eq!((r.behind_ticks, r.max_behind), (5, 5), "{r:?}");
    assert_eq!(r.late_ticks, 5);
    assert_eq!(r.max_late_ns, 1_000 * MS);
    assert_eq!(t.nodes[0].status(), Some(Status::Completed));
}

#[test]
fn more_than_one_tick_in_a_hundred_late_is_overload_though_every_tick_ran() {
    // 2.2 s late: ticks 2 to 12 run over a tenth of a period late, 11 of
    // 1,000.
    let t = frozen_after_two_ticks(2_200, 200);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 1_000);
    assert_eq!(r.late_ticks, 11, "{r:?}");
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    assert_eq!(t.nodes[1].status(), Some(Status::Completed));
}

#[test]
fn two_ticks_overdue_at_once_in_a_short_run_is_overload_though_every_tick_ran() {
    // 450 ms late: ticks 3 and 4 were due when tick 2 ran; 3 late of 10.
    let t = frozen_after_two_ticks(450, 2);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert_eq!((r.max_behind, r.late_ticks), (2, 3), "{r:?}");
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    assert_eq!(t.nodes[1].status(), Some(Status::Completed));
}

#[test]
fn the_late_bound_is_one_tick_in_a_hundred() {
    assert!(late_within_bound(0, 0));
    assert!(late_within_bound(1, 100));
    assert!(!late_within_bound(2, 199));
    assert!(late_within_bound(2, 200));
    assert!(!late_within_bound(1, 99));
    assert!(late_within_bound(u64::MAX / 100, u64::MAX));
}

#[test]
fn a_machine_that_never_catches_up_stops_at_the_grace_and_ends_within_the_bound() {
    let mut t = Trio::new([5, 5, 5], |_| {});
    t.run(20 * MS);
    let start = t.nodes[0].start.expect("started");
    let grace = Timeouts::DEFAULT.catch_up_ns();
    assert_eq!(grace, 2_500 * MS);
    t.run(start.at_ns + 250 * MS);
    // Frozen from tick 2 until past the end plus the grace: it owes 8 ticks.
    let woke = start.end_ns + grace + 100 * MS;
    t.paused[0] = woke;
    t.run(woke - 1);
    assert_eq!(t.nodes[0].status(), None);
    // It wakes, runs no tick (the grace is over), says Bye and ends: at once.
    t.run(woke);
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 2);
    // Its peers, which ended on time and wait 5 s for its Bye, got it.
    for n in [1, 2] {
        assert_eq!(t.nodes[n].status(), Some(Status::Completed), "{n}");
        assert_eq!(
            t.nodes[n].report().peers[0].peer_sent,
            Some(r.peers[n].sent)
        );
    }
}

#[test]
fn the_overdue_count_follows_the_schedule_rule() {
    let mut t = Trio::new([3, 3, 3], |c| {
        c.speed = 7;
        c.duration_ns = 60_000 * MS;
    });
    t.run(20 * MS);
    let node = &t.nodes[0];
    let start = node.start.expect("started");
    // Brute force over a span: ticks beyond the next one with `due_ns <= now`.
    let due = |k: u64| due_ns(start.at_ns, crate::model_ns(k, 3), 7);
    let next = node.machine.ticks();
    for now in (due(next)..due(next + 9)).step_by(1_234_567) {
        let by_rule = (next + 1..next + 20).filter(|&k| due(k) <= now).count() as u64;
        assert_eq!(node.overdue(start, now), by_rule, "at {now}");
    }
}
