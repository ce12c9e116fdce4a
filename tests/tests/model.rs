//! The exercise's observations, reproduced by the simulator.

use scalemodel_core::sim::Config;
use scalemodel_tests::simulate;

/// By the model's arithmetic, with rates 1,6,6 and a die of 4 each fast
/// machine has 6 - f/2 = f free ticks per second, so f = 4, and sends half of
/// them to the slow machine: 4 arrivals per second against 1 served, so the
/// slow inbox grows by about 3 messages per second.
const GROWTH_PER_S: f64 = 3.0;

#[test]
fn the_slow_machine_inbox_grows_without_bound() {
    for seed in 0..5 {
        let mut queues = Vec::new();
        for secs in [60, 120] {
            let mut config = Config::new(seed, [1, 6, 6]);
            config.sides = 4;
            config.duration_ns = secs * 1_000_000_000;
            let (_, _, report) = simulate::<1024, 256>(config);
            let slow = report.machines()[0];
            let expect = GROWTH_PER_S * secs as f64;
            let got = f64::from(slow.tally.max_queue);
            assert!(
                (got - expect).abs() < 0.2 * expect,
                "seed {seed}, {secs} s: max queue {got}, expected about {expect}"
            );
            assert_eq!(slow.held, 0, "the inbox bound was not reached");
            queues.push(slow.tally.max_queue);
        }
        assert!(queues[1] > 300, "seed {seed}: {queues:?}");
    }
}

#[test]
fn with_the_defaults_the_slow_clock_jumps_and_the_fast_ones_barely_do() {
    for seed in 0..5 {
        let (_, _, report) = simulate::<1024, 256>(Config::new(seed, [1, 6, 6]));
        let [slow, fast1, fast2] = [0, 1, 2].map(|i| report.machines()[i].tally.max_jump);
        assert!(
            slow > 2 * fast1.max(fast2),
            "seed {seed}: jumps {slow} vs {fast1}, {fast2}"
        );
    }
}
