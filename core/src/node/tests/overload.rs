//! Overload: a stall the host absorbs, one it does not, and a machine that
//! never catches up, on three nodes in virtual time (rate 5: a 200-ms period).

use super::*;

/// Machine 0's host runs ticks 0 and 1 on time, then freezes until
/// `late_ms` after tick 2's due time; the run goes on to its end.
fn frozen_after_two_ticks(late_ms: u64) -> Trio {
    let mut t = Trio::new([5, 5, 5], |_| {});
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
    // tick 3 at once, 100 ms late; then the machine is back on schedule.
    let t = frozen_after_two_ticks(300);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert_eq!((r.behind_ticks, r.max_behind), (1, 1), "{r:?}");
    assert_eq!(r.late_ticks, 2);
    assert_eq!(r.max_late_ns, 300 * MS);
    assert_eq!(t.nodes[0].status(), Some(Status::Completed));
}

#[test]
fn two_ticks_overdue_at_once_is_overload_though_every_tick_ran() {
    // 450 ms late: ticks 3 and 4 were due when tick 2 ran.
    let t = frozen_after_two_ticks(450);
    let r = t.nodes[0].report();
    assert_eq!(r.tally.ticks, 10);
    assert_eq!(r.max_behind, 2, "{r:?}");
    assert_eq!(r.late_ticks, 3);
    assert_eq!(t.nodes[0].status(), Some(Status::Overloaded));
    assert_eq!(t.nodes[1].status(), Some(Status::Completed));
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
