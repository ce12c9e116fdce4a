//! `scalemodel study`: the exercise's whole protocol, side by side.
//!
//! Four configurations — the standard one, a smaller spread of rates, fewer
//! internal events, and both — and, with `--rates` or `--sides`, a fifth,
//! custom one, each run `--trials` times (on the network, or
//! in the simulator with `--sim`), every trial analysed, and one
//! `report.md` comparing them, with the exercise's observations checked
//! against the data. Every verdict is computed; none is written by hand.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::analysis::Analysis;
use crate::analyze_cmd;
use crate::cli::{ClockArg, Rates, StudyArgs};
use crate::outln;
use crate::procinfo::scalemodel_command;
use crate::report::{self, evidence::Band, set::Group, set::Set};
use crate::run_cmd;
use crate::rundir;
use crate::sim_cmd;
use crate::text::count;

mod scale;

/// One configuration of the study.
struct Setup {
    name: &'static str,
    folder: &'static str,
    rates: Rates,
    sides: u8,
}

/// A configuration's analysed trials.
struct Outcome {
    setup: Setup,
    trials: Vec<Analysis>,
}

/// The standard configuration's range of rates, the exercise's.
const STANDARD_RATES: [u32; 2] = [1, 6];

/// Refuses a `--small-rates` whose spread verdict could not be computed: the
/// report compares two configurations' drift only when one's rates lie
/// inside the other's range and span less of it (see the spread verdicts in
/// `report::set`), so anything else would silently lose that verdict.
fn check_small_rates(small: &Rates) -> Result<()> {
    let (lo, hi) = match small {
        Rates::Range(r) => (*r.start(), *r.end()),
        Rates::Exact(r) => (
            r.iter().copied().min().unwrap_or(0),
            r.iter().copied().max().unwrap_or(0),
        ),
    };
    let [slo, shi] = STANDARD_RATES;
    let why = if lo < slo || hi > shi {
        format!("its rates {lo}..={hi} do not lie inside the standard range {slo}..={shi}")
    } else if hi - lo >= shi - slo {
        format!("its spread ({lo}..={hi}) is not smaller than the standard range {slo}..={shi}")
    } else {
        return Ok(());
    };
    bail!(
        "--small-rates {small} cannot be compared with the standard configuration: {why}, so the study could not say whether a smaller spread means less drift (give a range inside {slo}..={shi}, such as the default 3..=4)"
    )
}

/// The custom configuration `--rates` and `--sides` ask for, if any; refused
/// when it is one of the exercise's four already, whose folder it would share.
fn custom(args: &StudyArgs, setups: &[Setup]) -> Result<Option<Setup>> {
    if args.rates.is_none() && args.sides.is_none() {
        return Ok(None);
    }
    let [lo, hi] = STANDARD_RATES;
    let rates = args.rates.clone().unwrap_or(Rates::Range(lo..=hi));
    let sides = args.sides.unwrap_or(args.machines + 7);
    if let Some(same) = setups
        .iter()
        .find(|s| s.rates.to_string() == rates.to_string() && s.sides == sides)
    {
        bail!(
            "--rates {rates} --sides {sides} is the study's \"{}\" configuration already: give a configuration of your own",
            same.name
        );
    }
    Ok(Some(Setup {
        name: "custom",
        folder: "custom",
        rates,
        sides,
    }))
}

/// Runs `scalemodel study`.
pub fn run(args: &StudyArgs) -> Result<()> {
    let n = args.machines;
    for (flag, rates) in [
        ("--small-rates", Some(&args.small_rates)),
        ("--rates", args.rates.as_ref()),
    ] {
        if let Some(Rates::Exact(given)) = rates
            && given.len() != usize::from(n)
        {
            bail!(
                "{flag} gives {} rates, but --machines is {n}: give one rate per machine, or a range",
                given.len()
            );
        }
    }
    check_small_rates(&args.small_rates)?;
    let seed = args.seed.unwrap_or_else(crate::cli::random_u64);
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => rundir::default_out("study")?,
    };
    let small = args.small_rates.clone();
    let mut setups = vec![
        Setup {
            name: "standard",
            folder: "standard",
            rates: Rates::Range(STANDARD_RATES[0]..=STANDARD_RATES[1]),
            sides: n + 7,
        },
        Setup {
            name: "smaller spread",
            folder: "smaller-spread",
            rates: small.clone(),
            sides: n + 7,
        },
        Setup {
            name: "fewer internal",
            folder: "fewer-internal",
            rates: Rates::Range(STANDARD_RATES[0]..=STANDARD_RATES[1]),
            sides: n + 1,
        },
        Setup {
            name: "both",
            folder: "both",
            rates: small,
            sides: n + 1,
        },
    ];
    if let Some(custom) = custom(args, &setups)? {
        setups.push(custom);
    }
    rundir::create(&out)?;
    outln!(
        "study: seed {seed}, {} of {} s per configuration{}, {}, into {}",
        count(args.trials, "trial"),
        args.duration,
        shape(args),
        if args.sim {
            "in the simulator"
        } else {
            "on the network"
        },
        out.display()
    );
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for setup in setups {
        let dir = out.join(setup.folder);
        let dirs = if args.sim {
            simulate(args, seed, &setup, &dir)?
        } else {
            network(args, seed, &setup, &dir)?
        };
        let mut trials = Vec::new();
        for d in dirs {
            let a = analyze_cmd::analyse(&d)?;
            report::write(&a)?;
            if !a.violations.is_empty() {
                bail!(
                    "{} breaks {} rules of the model; see its report.md",
                    d.display(),
                    a.violations.total()
                );
            }
            trials.push(a);
        }
        outln!(
            "  {}: {} analysed",
            setup.name,
            count(trials.len() as u64, "trial")
        );
        outcomes.push(Outcome { setup, trials });
    }
    let mut set = study_set(&outcomes);
    if args.sim_trials > 0 {
        at_scale(args, seed, &outcomes, &mut set)?;
    }
    if args.topology_trials > 0 {
        topologies(args, seed, &mut set)?;
    }
    if args.clock_trials > 0 {
        clocks(args, seed, &mut set)?;
    }
    report::write_set(&out, &set, &intro(args, seed))?;
    for (title, verdicts) in [
        ("the trials", &set.verdicts),
        ("the simulator at scale", &set.scale_verdicts),
        ("the trials against the simulator", &set.band_verdicts),
    ] {
        if !verdicts.is_empty() {
            outln!("{title}:");
        }
        for v in verdicts {
            outln!("  {}: {}", v.statement, v.result());
        }
    }
    for t in &set.topology_answers {
        outln!("  {}", t.words);
    }
    for c in &set.clock_answers {
        outln!("  {}", c.words);
    }
    outln!(
        "study took {:.1} s; open {} (report.md beside it)",
        started.elapsed().as_secs_f64(),
        out.join("report.html").display()
    );
    Ok(())
}

/// Most simulated runs a trial is held against: 200 put the ends of a
/// 5–95 % band within about two percentile points of where they belong.
const BAND_TRIALS: u32 = 200;

/// Runs every configuration `--sim-trials` times in the simulator, seeds
/// `seed` onwards, and each of the study's trials against the simulator
/// with its own rates and die, then adds both to `set`.
fn at_scale(args: &StudyArgs, seed: u64, outcomes: &[Outcome], set: &mut Set) -> Result<()> {
    let started = Instant::now();
    let n = args.sim_trials;
    let mut scale = Vec::new();
    for o in outcomes {
        let jobs: Vec<scale::Job> = (0..n)
            .map(|k| scale::Job {
                seed: seed.wrapping_add(u64::from(k)),
                rates: o.setup.rates.clone(),
                sides: o.setup.sides,
                duration: args.duration,
                machines: args.machines,
                topology: args.topology,
                skew: None,
                clock: ClockArg::Lamport,
            })
            .collect();
        scale.push(scale::points(&jobs).with_context(|| format!("{} at scale", o.setup.name))?);
    }
    let per_band = n.min(BAND_TRIALS);
    let mut bands = Vec::new();
    for o in outcomes {
        for a in &o.trials {
            let p = &a.run.params;
            // Seeds other than the trial's own, past the ones at scale.
            let jobs: Vec<scale::Job> = (0..per_band)
                .map(|k| scale::Job {
                    seed: p.seed.wrapping_add(u64::from(n) + u64::from(k)),
                    rates: Rates::Exact(p.rates.clone()),
                    sides: p.sides,
                    duration: args.duration,
                    machines: args.machines,
                    topology: args.topology,
                    skew: None,
                    clock: ClockArg::Lamport,
                })
                .collect();
            let points = scale::points(&jobs)
                .with_context(|| format!("the band of {} trial seed {}", o.setup.name, p.seed))?;
            bands.push(Band::of(&points));
        }
    }
    set.add_scale(if args.sim { "simulated" } else { "network" }, scale, bands);
    outln!(
        "  simulator: {} per configuration and {} per trial's band in {:.1} s",
        count(u64::from(n), "trial"),
        per_band,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The numbers of machines the topology study compares.
pub const TOPOLOGY_SIZES: [u8; 4] = [3, 5, 8, 16];

/// Runs the topology study in the simulator (`--topology-trials`) and adds
/// its table and its verdicts on the notebook's idea to `set`.
fn topologies(args: &StudyArgs, seed: u64, set: &mut Set) -> Result<()> {
    use rundir::Topology;
    let started = Instant::now();
    let k = args.topology_trials;
    let jobs: Vec<scale::Job> = TOPOLOGY_SIZES
        .iter()
        .flat_map(|&n| {
            [Topology::All, Topology::Ring, Topology::Leader]
                .into_iter()
                .flat_map(move |topology| {
                    (0..k).map(move |i| scale::Job {
                        seed: seed.wrapping_add(u64::from(i)),
                        rates: Rates::Range(STANDARD_RATES[0]..=STANDARD_RATES[1]),
                        sides: n + 7,
                        duration: args.duration,
                        machines: n,
                        topology,
                        skew: None,
                        clock: ClockArg::Lamport,
                    })
                })
        })
        .collect();
    let points = scale::topology_points(&jobs).context("the topology study")?;
    let took = started.elapsed().as_secs_f64();
    set.add_topologies(points);
    outln!(
        "  topologies: {} runs ({} per topology and size) in {took:.1} s",
        jobs.len(),
        k
    );
    Ok(())
}

/// The physical clocks of the clock study: true, then skewed as NTP keeps
/// clocks on a good network (tens of ms, a hundred ppm), then as a bad
/// clock drifts (a second, a thousand ppm).
pub const CLOCK_SKEWS: [Option<&str>; 3] = [None, Some("50ms,100"), Some("1s,1000")];

/// Runs the clock study in the simulator (`--clock-trials`): the standard
/// configuration's seeds under each of [`CLOCK_SKEWS`], and adds its
/// table and its answer to `set`.
fn clocks(args: &StudyArgs, seed: u64, set: &mut Set) -> Result<()> {
    let started = Instant::now();
    let k = args.clock_trials;
    let jobs: Vec<scale::Job> = CLOCK_SKEWS
        .iter()
        .flat_map(|&skew| {
            (0..k).map(move |i| scale::Job {
                seed: seed.wrapping_add(u64::from(i)),
                rates: Rates::Range(STANDARD_RATES[0]..=STANDARD_RATES[1]),
                sides: args.machines + 7,
                duration: args.duration,
                machines: args.machines,
                topology: args.topology,
                skew,
                // Carried in the machines' messages, and held to its replay.
                clock: ClockArg::Hlc,
            })
        })
        .collect();
    let points = scale::clock_points(&jobs).context("the clock study")?;
    // The unskewed seeds again, carrying a vector clock: its vectors must
    // be happened-before's, rebuilt from the logs, and its events the HLC
    // run's of the seed (a clock's value decides nothing).
    let vector: Vec<scale::Job> = jobs
        .iter()
        .filter(|j| j.skew.is_none())
        .map(|j| scale::Job {
            clock: ClockArg::Vector,
            ..j.clone()
        })
        .collect();
    let vector_points = scale::clock_points(&vector).context("the clock study's vector runs")?;
    let unskewed = points.iter().filter(|p| p.skew == "none");
    if let Some((v, h)) = vector_points.iter().zip(unskewed).find(|(v, h)| v != h) {
        bail!(
            "the clock study: seed {} carrying a vector clock ran other events than carrying an HLC ({v:?} against {h:?})",
            v.seed
        );
    }
    set.add_clocks(points);
    outln!(
        "  clocks: {} runs ({k} per skew of the physical clocks), each carrying an HLC equal to its replay, and {} carrying a vector clock equal to happened-before, in {:.1} s",
        jobs.len(),
        vector.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `, 5 machines, topology ring` for trials other than three machines
/// under `all`, whose words read as before.
fn shape(args: &StudyArgs) -> String {
    match (args.machines, args.topology) {
        (3, rundir::Topology::All) => String::new(),
        (n, topology) => format!(", {n} machines, topology {topology}"),
    }
}

/// The paragraph under the study report's title.
fn intro(args: &StudyArgs, seed: u64) -> String {
    let mut intro = format!(
        "{} of {} s of model time per configuration{}, {}, seeds {seed} to {} (trial k of every configuration uses seed {seed} + k − 1). Each trial's own report is in its folder.",
        count(args.trials, "trial"),
        args.duration,
        shape(args),
        if args.sim {
            "in the deterministic simulator"
        } else {
            "on the network (a process per machine, over TCP on loopback)"
        },
        seed.wrapping_add(u64::from(args.trials) - 1),
    );
    if args.topology_trials > 0 {
        intro.push_str(&format!(
            " The topologies were compared in the simulator with 3, 5, 8 and 16 machines, {} of each topology per size, seeds {seed} to {} (`topologies.csv` holds every run's figures).",
            count(u64::from(args.topology_trials), "run"),
            seed.wrapping_add(u64::from(args.topology_trials) - 1),
        ));
    }
    if args.clock_trials > 0 {
        intro.push_str(&format!(
            " The clocks were compared in the simulator on the standard configuration, {} with true physical clocks and under each skew, seeds {seed} to {} (`clocks.csv` holds every run's figures).",
            count(u64::from(args.clock_trials), "run"),
            seed.wrapping_add(u64::from(args.clock_trials) - 1),
        ));
    }
    let n = args.sim_trials;
    if n > 0 {
        intro.push_str(&format!(
            " Each configuration also ran {} in the simulator, seeds {seed} to {} (not written to disk: `scale.csv` holds their figures), and each trial was held against {} simulated runs with its own rates and die.",
            count(u64::from(n), "time"),
            seed.wrapping_add(u64::from(n) - 1),
            n.min(BAND_TRIALS)
        ));
    }
    intro
}

/// The study's report across configurations.
fn study_set(outcomes: &[Outcome]) -> Set {
    let groups = outcomes
        .iter()
        .map(|o| {
            let group = Group::new(o.setup.name, o.setup.rates.to_string(), o.setup.sides);
            let trials = o
                .trials
                .iter()
                .enumerate()
                .map(|(k, a)| (a, format!("{}/trial-{}", o.setup.folder, k + 1)))
                .collect();
            (group, trials)
        })
        .collect();
    Set::of(
        "Study: the exercise's experiments side by side".to_owned(),
        groups,
    )
}

/// Runs a configuration's trials in the simulator, in this process.
fn simulate(args: &StudyArgs, seed: u64, setup: &Setup, dir: &Path) -> Result<Vec<PathBuf>> {
    (1..=args.trials)
        .map(|k| {
            let trial = dir.join(format!("trial-{k}"));
            let job = scale::Job {
                seed: seed.wrapping_add(u64::from(k - 1)),
                rates: setup.rates.clone(),
                sides: setup.sides,
                duration: args.duration,
                machines: args.machines,
                topology: args.topology,
                skew: None,
                clock: args.clock,
            };
            sim_cmd::write_quietly(&job.args()?, &trial)
                .with_context(|| format!("{} trial {k}", setup.name))?;
            Ok(trial)
        })
        .collect()
}

fn network(args: &StudyArgs, seed: u64, setup: &Setup, dir: &Path) -> Result<Vec<PathBuf>> {
    outln!(
        "== {}: rates {}, die of {}",
        setup.name,
        setup.rates,
        setup.sides
    );
    let status = scalemodel_command()
        .args([
            "run",
            "--trials",
            &args.trials.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args([
            "--rates",
            &setup.rates.to_string(),
            "--sides",
            &setup.sides.to_string(),
        ])
        .args([
            "--duration",
            &args.duration.to_string(),
            "--speed",
            &args.speed.to_string(),
        ])
        .args([
            "--machines",
            &args.machines.to_string(),
            "--topology",
            args.topology.name(),
            "--clock",
            args.clock.name(),
        ])
        .arg("--out")
        .arg(dir)
        .status()?;
    // A trial whose machine died, or did not complete (a host starved of
    // CPU), is still a whole, analysable trial: its report and the study's
    // name it, and the study goes on rather than lose the others.
    let incomplete = [run_cmd::EXIT_MACHINE_DIED, run_cmd::EXIT_NOT_COMPLETED]
        .map(i32::from)
        .contains(&status.code().unwrap_or(-1));
    if incomplete {
        outln!(
            "  {}: a machine did not complete every trial (see the summary above); the study goes on, and its report names those trials",
            setup.name
        );
    } else if !status.success() {
        bail!("scalemodel run failed for {}: {status}", setup.name);
    }
    Ok((1..=args.trials)
        .map(|k| dir.join(format!("trial-{k}")))
        .collect())
}
