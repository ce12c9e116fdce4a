//! The topology study's evidence (docs/MACHINES.md, "The study of the
//! topologies"): each trial reduced to the figures the topologies are
//! compared by, and the notebook's idea, that one time leader broadcasting
//! its clock keeps the machines more up to date than all-to-all messaging,
//! judged from them for each number of machines.
//!
//! Trial `k` of every topology with `n` machines has the same seed, so the
//! same rates and dice: topologies are compared pair by pair, by seed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::evidence::Measured;
use crate::text::{and_list, fixed};
use scalemodel_analysis::staleness::staleness;
use scalemodel_analysis::stats::{self, Effect};
use scalemodel_analysis::{Analysis, fastest_all};
use scalemodel_rundir::Kind;

/// One trial, as the topology study compares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologyPoint {
    /// Its seed.
    pub seed: u64,
    /// Its number of machines.
    pub machines: usize,
    /// `all`, `ring` or `leader`.
    pub topology: String,
    /// Machine 0, the leader of `leader`, had the highest rate (shared or not).
    pub leader_fastest: bool,
    /// Messages sent ÷ machines ÷ model seconds.
    pub messages_per_machine_s: f64,
    /// The mean gap to the highest running clock, clock units.
    pub staleness: f64,
    /// The largest gap to it.
    pub staleness_max: u64,
    /// The largest clock jump of any machine.
    pub largest_jump: u64,
    /// The largest inbox growth of any machine, msgs per model second.
    pub largest_growth: f64,
}

impl TopologyPoint {
    /// The point of trial `a`, run with `topology`.
    pub fn of(a: &Analysis, topology: &str) -> Self {
        let p = &a.run.params;
        let end_ns = p.duration_ns();
        let messages: usize = a
            .run
            .logs
            .iter()
            .flatten()
            .filter(|r| r.kind == Kind::Send)
            .map(|r| r.peers.len())
            .sum();
        let machines = p.rates.len();
        let seconds = p.duration_s.max(f64::MIN_POSITIVE);
        let s = staleness(&a.run.logs, &p.rates, end_ns);
        Self {
            seed: p.seed,
            machines,
            topology: topology.to_owned(),
            leader_fastest: fastest_all(&p.rates).contains(&0),
            messages_per_machine_s: messages as f64 / machines.max(1) as f64 / seconds,
            staleness: s.mean,
            staleness_max: s.max,
            largest_jump: a.figures.iter().map(|m| m.jumps.max).max().unwrap_or(0),
            largest_growth: a
                .figures
                .iter()
                .map(|m| m.queue.growth_per_s)
                .fold(f64::NEG_INFINITY, f64::max)
                .max(0.0),
        }
    }
}

/// What the data say of a topology against all-to-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Lower staleness: the interval of the paired difference is below 0.
    Holds,
    /// Higher staleness: the interval is above 0.
    Fails,
    /// The interval holds 0, or there was nothing to compare.
    Undecided,
}

/// One comparison: a topology against all-to-all for one number of
/// machines, over the pairs of trials with the same seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Its number of machines.
    pub machines: usize,
    /// `leader` or `ring`.
    pub topology: String,
    /// Which pairs: `every trial`, or `the fastest machine leads`.
    pub trials: String,
    /// Pairs compared.
    pub pairs: usize,
    /// Its staleness against all-to-all's, by the paired difference.
    pub outcome: Outcome,
    /// The paired differences (topology minus all-to-all) and the cost ratio.
    pub effects: Vec<Measured>,
    /// The verdict in words.
    pub words: String,
}

/// The answers for every number of machines among `points`: the leader
/// against all-to-all over every trial and over those whose leader had the
/// highest rate, and the ring against all-to-all.
pub fn answers(points: &[TopologyPoint]) -> Vec<Answer> {
    let mut sizes: Vec<usize> = points.iter().map(|p| p.machines).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut out = Vec::new();
    for n in sizes {
        let of = |t: &str| -> Vec<&TopologyPoint> {
            points
                .iter()
                .filter(|p| p.machines == n && p.topology == t)
                .collect()
        };
        let all = of("all");
        let leader = of("leader");
        out.push(answer(n, "leader", "every trial", &pairs(&leader, &all)));
        let fastest: Vec<_> = leader
            .iter()
            .copied()
            .filter(|p| p.leader_fastest)
            .collect();
        out.push(answer(
            n,
            "leader",
            "the fastest machine leads",
            &pairs(&fastest, &all),
        ));
        out.push(answer(n, "ring", "every trial", &pairs(&of("ring"), &all)));
    }
    out
}

/// The trials of `a` and `b` with the same seed, in `a`'s order.
fn pairs<'a>(
    a: &[&'a TopologyPoint],
    b: &[&'a TopologyPoint],
) -> Vec<(&'a TopologyPoint, &'a TopologyPoint)> {
    let by_seed: HashMap<u64, &TopologyPoint> = b.iter().map(|p| (p.seed, *p)).collect();
    a.iter()
        .filter_map(|p| by_seed.get(&p.seed).map(|&q| (*p, q)))
        .collect()
}

fn answer(
    machines: usize,
    topology: &str,
    trials: &str,
    pairs: &[(&TopologyPoint, &TopologyPoint)],
) -> Answer {
    let diff = |f: fn(&TopologyPoint) -> f64| -> Vec<f64> {
        pairs.iter().map(|(t, a)| f(t) - f(a)).collect()
    };
    let staleness = stats::paired(&diff(|p| p.staleness));
    let cost = stats::median(
        &pairs
            .iter()
            .map(|(t, a)| t.messages_per_machine_s / a.messages_per_machine_s)
            .collect::<Vec<_>>(),
    );
    let outcome = match &staleness {
        Some(e) if e.high < 0.0 => Outcome::Holds,
        Some(e) if e.low > 0.0 => Outcome::Fails,
        _ => Outcome::Undecided,
    };
    let words = words(
        machines,
        topology,
        trials,
        pairs.len(),
        outcome,
        staleness.as_ref(),
        cost.as_ref(),
    );
    let named = |what: &str, unit: &str, decimals, effect: Option<Effect>| {
        effect.map(|effect| Measured {
            what: format!("{what}, {topology} minus all-to-all"),
            unit: unit.to_owned(),
            decimals,
            effect,
        })
    };
    let effects = [
        named("mean staleness", "clock units", 1, staleness),
        named(
            "largest staleness",
            "clock units",
            0,
            stats::paired(&diff(|p| p.staleness_max as f64)),
        ),
        named(
            "largest clock jump",
            "clock units",
            0,
            stats::paired(&diff(|p| p.largest_jump as f64)),
        ),
        named(
            "largest inbox growth",
            "msgs/s",
            2,
            stats::paired(&diff(|p| p.largest_growth)),
        ),
        cost.map(|effect| Measured {
            what: format!("messages per machine per second, {topology} ÷ all-to-all"),
            unit: "×".to_owned(),
            decimals: 2,
            effect,
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    Answer {
        machines,
        topology: topology.to_owned(),
        trials: trials.to_owned(),
        pairs: pairs.len(),
        outcome,
        effects,
        words,
    }
}

/// `With 8 machines (every trial, 1000 pairs), a time leader keeps the
/// machines more up to date than all-to-all: mean staleness 12.0 clock
/// units lower (95 % CI 10.5 to 13.1; sign test p < 0.001), at 0.52× the
/// messages.`
fn words(
    machines: usize,
    topology: &str,
    trials: &str,
    pairs: usize,
    outcome: Outcome,
    staleness: Option<&Effect>,
    cost: Option<&Effect>,
) -> String {
    let who = match topology {
        "leader" => "a time leader",
        "ring" => "a ring",
        other => other,
    };
    let head = format!("With {machines} machines ({trials}, {pairs} pairs), {who}");
    let Some(e) = staleness else {
        return format!("{head}: no pairs of trials to compare");
    };
    let verb = match outcome {
        Outcome::Holds => "keeps the machines more up to date than all-to-all",
        Outcome::Fails => "leaves the machines further behind than all-to-all",
        Outcome::Undecided => "cannot be told apart from all-to-all",
    };
    // Said as a size and a direction, the interval turned with it.
    let (size, low, high, way) = if e.median <= 0.0 {
        (-e.median, -e.high, -e.low, "lower")
    } else {
        (e.median, e.low, e.high, "higher")
    };
    let cost = cost.map_or_else(String::new, |c| {
        format!(", at {}× the messages", fixed(c.median, 2))
    });
    format!(
        "{head} {verb}: mean staleness {} clock units {way} (95 % CI {} to {}; {}sign test {}){cost}",
        fixed(size, 1),
        fixed(low, 1),
        fixed(high, 1),
        crate::evidence::split_words(e),
        crate::evidence::p_value(e.p.unwrap_or(1.0)),
    )
}

/// One row of the topology study's table: a number of machines and a
/// topology, each figure's median over its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Its number of machines.
    pub machines: usize,
    /// `all`, `ring` or `leader`.
    pub topology: String,
    /// Runs.
    pub runs: usize,
    /// Messages per machine per second.
    pub messages_per_machine_s: f64,
    /// Mean staleness, clock units.
    pub staleness: f64,
    /// Largest staleness, clock units.
    pub staleness_max: f64,
    /// Largest clock jump, clock units.
    pub largest_jump: f64,
    /// Largest inbox growth, msgs per second.
    pub largest_growth: f64,
}

/// The table's column titles, for [`Row::cells`].
pub const COLUMNS: [&str; 8] = [
    "machines",
    "topology",
    "runs",
    "messages per machine per s",
    "mean staleness",
    "largest staleness",
    "largest jump",
    "largest inbox growth (msgs/s)",
];

impl Row {
    /// Its cells under [`COLUMNS`], as text.
    pub fn cells(&self) -> [String; 8] {
        [
            self.machines.to_string(),
            self.topology.clone(),
            self.runs.to_string(),
            fixed(self.messages_per_machine_s, 2),
            fixed(self.staleness, 1),
            fixed(self.staleness_max, 0),
            fixed(self.largest_jump, 0),
            fixed(self.largest_growth, 2),
        ]
    }
}

/// The table: one row per number of machines and topology, in that order.
pub fn table(points: &[TopologyPoint]) -> Vec<Row> {
    let mut keys: Vec<(usize, usize)> = points
        .iter()
        .map(|p| (p.machines, topology_rank(&p.topology)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|(machines, rank)| {
            let of: Vec<&TopologyPoint> = points
                .iter()
                .filter(|p| p.machines == machines && topology_rank(&p.topology) == rank)
                .collect();
            let median = |f: fn(&TopologyPoint) -> f64| {
                stats::median(&of.iter().map(|p| f(p)).collect::<Vec<_>>())
                    .map_or(0.0, |e| e.median)
            };
            Row {
                machines,
                topology: of.first().map_or_else(String::new, |p| p.topology.clone()),
                runs: of.len(),
                messages_per_machine_s: median(|p| p.messages_per_machine_s),
                staleness: median(|p| p.staleness),
                staleness_max: median(|p| p.staleness_max as f64),
                largest_jump: median(|p| p.largest_jump as f64),
                largest_growth: median(|p| p.largest_growth),
            }
        })
        .collect()
}

/// `all`, `ring`, `leader`, then any other, in the table's order.
fn topology_rank(name: &str) -> usize {
    ["all", "ring", "leader"]
        .iter()
        .position(|&t| t == name)
        .unwrap_or(3)
}

/// The verdict on the notebook's idea across the sizes, from the leader's
/// comparisons over every trial, then over those whose leader had the
/// highest rate: `The notebook's idea (…) fails with 3, 5, 8 and 16
/// machines; when the leader is the fastest machine, it holds with 3
/// machines and fails with 5, 8 and 16 machines.`
pub fn verdict(answers: &[Answer]) -> String {
    let every = outcomes(answers, "every trial");
    if every.is_empty() {
        return "The notebook's idea was not tested: no pairs of trials.".to_owned();
    }
    let fastest = outcomes(answers, "the fastest machine leads");
    let when = if fastest.is_empty() {
        String::new()
    } else {
        format!("; when the leader is the fastest machine, it {fastest}")
    };
    format!(
        "The notebook's idea (one time leader broadcasting its clock keeps the machines more up to date than all-to-all) {every}{when}."
    )
}

/// `holds with 3 machines and fails with 5, 8 and 16 machines`: the
/// leader's outcomes over `trials`, by size; empty without pairs.
fn outcomes(answers: &[Answer], trials: &str) -> String {
    let of: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.topology == "leader" && a.trials == trials && a.pairs > 0)
        .collect();
    let parts: Vec<String> = [
        (Outcome::Holds, "holds"),
        (Outcome::Fails, "fails"),
        (Outcome::Undecided, "is undecided"),
    ]
    .into_iter()
    .filter_map(|(o, verb)| {
        let sizes: Vec<String> = of
            .iter()
            .filter(|a| a.outcome == o)
            .map(|a| a.machines.to_string())
            .collect();
        (!sizes.is_empty()).then(|| format!("{verb} with {} machines", and_list(&sizes)))
    })
    .collect();
    and_list(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(
        seed: u64,
        topology: &str,
        staleness: f64,
        messages: f64,
        fastest: bool,
    ) -> TopologyPoint {
        TopologyPoint {
            seed,
            machines: 8,
            topology: topology.to_owned(),
            leader_fastest: fastest,
            messages_per_machine_s: messages,
            staleness,
            staleness_max: (2.0 * staleness) as u64,
            largest_jump: 10,
            largest_growth: 0.5,
        }
    }

    /// Forty seeds: all-to-all at staleness 20 + seed % 5 and 2 msgs/s; the
    /// leader at `leader(seed)` and 1 msg/s, leading as the fastest on even seeds.
    fn study(leader: impl Fn(u64) -> f64) -> Vec<TopologyPoint> {
        (0..40)
            .flat_map(|s| {
                let base = 20.0 + (s % 5) as f64;
                [
                    point(s, "all", base, 2.0, s % 2 == 0),
                    point(s, "leader", leader(s), 1.0, s % 2 == 0),
                    point(s, "ring", base + 3.0, 1.5, s % 2 == 0),
                ]
            })
            .collect()
    }

    #[test]
    fn a_leader_that_lowers_staleness_holds_and_says_so() {
        let answers = answers(&study(|s| 10.0 + (s % 5) as f64));
        assert_eq!(answers.len(), 3);
        let every = &answers[0];
        assert_eq!((every.topology.as_str(), every.pairs), ("leader", 40));
        assert_eq!(every.outcome, Outcome::Holds);
        assert!(
            every.words.starts_with("With 8 machines (every trial, 40 pairs), a time leader keeps the machines more up to date than all-to-all: mean staleness 10.0 clock units lower"),
            "{}",
            every.words
        );
        assert!(
            every.words.ends_with("at 0.50× the messages"),
            "{}",
            every.words
        );
        assert_eq!(answers[1].trials, "the fastest machine leads");
        assert_eq!(answers[1].pairs, 20);
        // The ring trails all-to-all by 3 in every pair.
        assert_eq!(answers[2].outcome, Outcome::Fails);
        assert!(
            answers[2]
                .words
                .contains("leaves the machines further behind"),
            "{}",
            answers[2].words
        );
    }

    #[test]
    fn a_leader_that_only_helps_when_it_is_the_fastest_is_told_apart() {
        // Even seeds (the leader is the fastest): 8 lower; odd seeds: 8 higher.
        let answers = answers(&study(|s| {
            let base = 20.0 + (s % 5) as f64;
            if s % 2 == 0 { base - 8.0 } else { base + 8.0 }
        }));
        assert_eq!(
            answers[0].outcome,
            Outcome::Undecided,
            "{}",
            answers[0].words
        );
        assert!(
            answers[0].words.contains("cannot be told apart"),
            "{}",
            answers[0].words
        );
        assert_eq!(answers[1].outcome, Outcome::Holds, "{}", answers[1].words);
    }

    #[test]
    fn the_verdict_and_the_table_come_from_the_points() {
        let points = study(|s| 10.0 + (s % 5) as f64);
        let answers = answers(&points);
        assert_eq!(
            verdict(&answers),
            "The notebook's idea (one time leader broadcasting its clock keeps the machines more up to date than all-to-all) holds with 8 machines; when the leader is the fastest machine, it holds with 8 machines."
        );
        let mixed = [answers.clone(), {
            let mut five = answers.clone();
            for a in &mut five {
                a.machines = 5;
                a.outcome = Outcome::Fails;
            }
            five
        }]
        .concat();
        assert!(
            verdict(&mixed).contains("holds with 8 machines and fails with 5 machines;"),
            "{}",
            verdict(&mixed)
        );
        let rows = table(&points);
        let order: Vec<&str> = rows.iter().map(|r| r.topology.as_str()).collect();
        assert_eq!(order, ["all", "ring", "leader"]);
        assert_eq!(rows[0].runs, 40);
        // Staleness 20 + seed % 5 over 40 seeds: median 22.
        assert_eq!(rows[0].staleness, 22.0);
        assert_eq!(rows[2].messages_per_machine_s, 1.0);
    }

    #[test]
    fn no_pairs_is_said_not_guessed() {
        let only_all: Vec<_> = (0..5).map(|s| point(s, "all", 1.0, 1.0, true)).collect();
        let answers = answers(&only_all);
        assert_eq!(answers[0].outcome, Outcome::Undecided);
        assert_eq!(answers[0].pairs, 0);
        assert!(
            answers[0].words.ends_with("no pairs of trials to compare"),
            "{}",
            answers[0].words
        );
        assert!(answers[0].effects.is_empty());
    }
}
