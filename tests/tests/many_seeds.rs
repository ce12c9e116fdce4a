//! The simulator over many seeds and shapes: every run obeys every rule.

use scalemodel::check::check;
use scalemodel::sim_cmd::replay;
use scalemodel_core::fault::Faults;
use scalemodel_core::rng::{self, Stream};
use scalemodel_core::sim::Config;
use scalemodel_tests::simulate;

const SEEDS: u64 = 1_000;

/// The run for `seed`: rates, die, latency and jitter all drawn from it.
fn config(seed: u64) -> Config {
    let mut draw = rng::stream(seed, 3, Stream::Network);
    let mut pick = |lo: u64, hi: u64| rng::uniform(&mut draw, lo..=hi);
    let mut config = Config::new(seed, rng::draw_rates(seed, 3, 1..=6));
    config.sides = pick(4, 12) as u8;
    config.duration_ns = pick(1, 60) * 1_000_000_000;
    config.latency_ns = pick(0, 2_000_000);
    config.jitter_ns = [0, pick(0, 500_000_000)][pick(0, 1) as usize];
    config.speed = pick(1, 4) as u32;
    config.start_ns = pick(0, 1 << 62);
    config
}

#[test]
fn every_seed_obeys_every_rule() {
    let mut checked = 0;
    for seed in 0..SEEDS {
        let config = config(seed);
        // Every fourth run gets tiny queues, so that full inboxes and stalled
        // senders are checked too.
        let (params, rows, report) = if seed % 4 == 0 {
            simulate::<4, 2>(config)
        } else {
            simulate::<64, 16>(config)
        };
        let violations = check(&params, &rows.0);
        let (inbox, link) = if seed % 4 == 0 { (4, 2) } else { (64, 16) };
        assert!(
            violations.is_empty(),
            "seed {seed} breaks the model; replay with `{}`:\n{}",
            replay(&config, inbox, link, &Faults::none()),
            violations
                .iter()
                .map(|v| format!("  {v}\n"))
                .collect::<String>()
        );
        assert!(report.links().all(|l| l.balanced()));
        checked += rows.0.iter().map(Vec::len).sum::<usize>();
    }
    assert!(checked > 100_000, "only {checked} events checked");
}

#[test]
fn tiny_queues_do_fill_and_stall() {
    // The bounds must actually be reached in the runs above, or the many-seed
    // test proves nothing about them.
    let (mut held, mut stalls) = (0, 0);
    for seed in (0..SEEDS).step_by(4) {
        let (_, _, report) = simulate::<4, 2>(config(seed));
        held += report.machines().iter().map(|m| m.held).sum::<u64>();
        stalls += report.machines().iter().map(|m| m.stalls).sum::<u64>();
    }
    assert!(held > 100 && stalls > 100, "held {held}, stalls {stalls}");
}
