//! `scalemodel-cli`: the command line's flags and their parsers (clap), and
//! the simulator's capacities ([`caps`]). Flags shared by every command keep
//! one meaning everywhere.
//!
//! No command's code lives here, so that the `scalemodel-node` binary parses
//! [`NodeArgs`] from the same definition as `scalemodel node` without
//! linking the others. Depends on `scalemodel-core`, `scalemodel-mio` (the
//! `--spin` wait) and `scalemodel-rundir` (the bounds of its values).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use scalemodel_core::Topology;
use scalemodel_core::fault::{FaultError, Faults};
use scalemodel_mio::Wait;

use scalemodel_rundir::{MACHINES, MACHINES_MAX, RATE_MAX};

mod bench;
pub mod caps;
mod swarm;
mod usage;
pub use bench::BenchArgs;
pub use swarm::{Shard, SwarmArgs, SwarmCommand, SwarmMergeArgs, SwarmSubcommand};
pub use usage::{negative_values_joined, tip_for_other_commands_flag};

/// A scale model of a small asynchronous distributed system, for studying
/// Lamport logical clocks.
#[derive(Debug, Parser)]
// `about` names what the `scalemodel` binary does (its package's
// description), not this crate's.
#[command(
    name = "scalemodel",
    version,
    about = "Run, simulate and analyse the scalemodel Lamport-clock experiment.",
    long_about = None
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
// Every command takes negative numbers as values (`--duration -5`), so that
// the flag's own parser refuses them and says why, rather than clap calling
// `-5` an unknown flag.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the model in the deterministic simulator and write a run directory.
    #[command(allow_negative_numbers = true)]
    Sim(Box<SimArgs>),
    /// Run one machine of a networked run: what `run` starts one of per
    /// machine, and how a run spans several hosts.
    // Its flags' rules are `NodeArgs`'s own, shared with `scalemodel-node`.
    Node(NodeArgs),
    /// The standard experiment on this host: one `node` process per machine
    /// (three, or `--machines`) over TCP on loopback, for several trials.
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Check run directories against the model, measure them, and write
    /// `report.md`, `report.json` and the plots into each; when there is more
    /// than one run, also a report across them. Exits non-zero when a run
    /// breaks a rule.
    #[command(allow_negative_numbers = true)]
    Analyze {
        /// Runs: a run directory (`params.json` and three logs), a folder of
        /// them (the trials of `scalemodel run`), or a folder of those (a
        /// study).
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where the report across the runs goes. Default: the one folder
        /// given, or the folder that holds every run given.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Many simulated runs with random parameters, small queues and random
    /// faults, each checked against every invariant; prints the command that
    /// replays any failure. Exits non-zero when a case fails. `swarm merge`
    /// joins the `--json` results of its shards.
    #[command(allow_negative_numbers = true)]
    Swarm(SwarmCommand),
    /// Run a trial again in the simulator with what it measured (its seed,
    /// rates, die and speed, how late each send ran, the machines that died,
    /// stopped or stalled) and compare the two logs row by row: how many rows
    /// agree, and where and why they first part.
    #[command(allow_negative_numbers = true)]
    Replay(ReplayArgs),
    /// Write a run's events for another tool, each with its vector clock
    /// rebuilt from the logs (whatever clock the run kept).
    #[command(subcommand)]
    Export(Export),
    /// The exercise's whole protocol: the standard configuration, a smaller
    /// spread of rates, fewer internal events and both, side by side in one
    /// report with the exercise's observations checked against the data.
    #[command(allow_negative_numbers = true)]
    Study(StudyArgs),
    /// One table of the whole system on this machine, each figure with the
    /// command behind it and the goal beside it: the simulator, the swarm,
    /// the decoder, a network run beside a bare timer loop and a Python
    /// solution, and the highest exact speed.
    #[command(allow_negative_numbers = true)]
    Bench(BenchArgs),
}

/// `scalemodel export`: the formats.
#[derive(Debug, Clone, Subcommand)]
pub enum Export {
    /// A log for ShiViz (https://bestchai.bitbucket.io/shiviz/), which draws
    /// it as a space-time diagram: its first line is the parser expression,
    /// so that ShiViz's "upload a log" takes the file as it is.
    Shiviz {
        /// The run: a run directory (`params.json` and a log per machine).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where the log goes. Default: standard output.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `scalemodel replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The trial: a run directory of `scalemodel run` (or `node`, or `sim`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Each link's delay in the replay, e.g. `10ms`, added to how late the
    /// send ran. Default: the trial's own for a simulated trial, 50µs (a
    /// loopback link) for a network trial.
    #[arg(long, value_name = "DELAY", value_parser = parse_delay)]
    pub latency: Option<Duration>,

    /// The largest extra delay drawn per frame from the trial's seed, e.g.
    /// `2ms`. Links stay first-in first-out.
    #[arg(long, value_name = "DELAY", default_value = "0s", value_parser = parse_delay)]
    pub jitter: Duration,

    /// Also write the replay as a run directory here (logs, `params.json`)
    /// with `replay.md`, the comparison. Must be new or empty.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `scalemodel study`.
#[derive(Debug, Clone, Args)]
pub struct StudyArgs {
    /// Trials per configuration; trial k of every configuration uses seed + k - 1.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub trials: u32,

    /// Each trial's length in model seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = parse_duration_s)]
    pub duration: f64,

    /// The study's seed. Default: a random seed, printed first.
    #[arg(long, value_name = "N", value_parser = parse_whole::<u64>)]
    pub seed: Option<u64>,

    /// The rates of the "smaller spread" configurations.
    #[arg(long, value_name = "A..=B|R0,R1,R2", default_value = "3..=4")]
    pub small_rates: Rates,

    /// A fifth, custom configuration beside the exercise's four: its rates
    /// (with `--sides` alone: 1..=6).
    #[arg(long, value_name = "A..=B|R0,R1,R2")]
    pub rates: Option<Rates>,

    /// A fifth, custom configuration's die, at least 4 (with `--rates` alone: 10).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u8).range(4..))]
    pub sides: Option<u8>,

    /// Machines in every configuration's trials, 3 to 16 (the topology
    /// study compares 3, 5, 8 and 16 whatever this is). With `n` machines
    /// the standard die has `n + 7` faces and the one of fewer internal
    /// events `n + 1`: 10 and 4 for three.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_machines)]
    pub machines: u8,

    /// Who sends to whom in every configuration's trials: `all`, `ring` or
    /// `leader`.
    #[arg(long, value_name = "all|ring|leader", default_value = "all", value_parser = parse_topology)]
    pub topology: Topology,

    /// Run in the deterministic simulator (seconds) instead of on the network
    /// (configurations × trials × duration of wall time at speed 1).
    #[arg(long)]
    pub sim: bool,

    /// Beside the trials, each configuration in the simulator at scale: N
    /// seeds, the study's seed onwards, the same in every configuration
    /// (0: none). Each trial is also held against N (at most 200) simulated
    /// runs with its own rates and die.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub sim_trials: u32,

    /// The topologies compared in the simulator (the notebook's time
    /// leader against all-to-all, and a ring): 3, 5, 8 and 16 machines
    /// under `all`, `ring` and `leader`, N seeds each, the study's seed
    /// onwards, rates drawn from 1..=6 and a die of `n + 7`; trial k of
    /// every topology of one size has the same seed (0: none).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub topology_trials: u32,

    /// The clocks compared in the simulator: N trials of the standard
    /// configuration, seeds --seed onwards, each with true physical clocks
    /// and skewed by `--skew 50ms,100` and `--skew 1s,1000`, its events
    /// stamped by Lamport's clocks, vector clocks and an HLC (0: none).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub clock_trials: u32,

    /// Model time runs K times faster than wall time (network only).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_speed)]
    pub speed: u32,

    /// The study directory. Default: a new timestamped folder under `runs/`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The clock the machines of the configurations' trials carry beside
    /// Lamport's, on the network or in the simulator: `lamport` (none),
    /// `hlc` or `vector`. The runs at scale and the topology study keep
    /// Lamport's clock alone (no figure they measure reads a clock); the
    /// clock study always carries the HLC, and runs its unskewed seeds
    /// again carrying vector clocks.
    #[arg(long, value_enum, default_value_t)]
    pub clock: ClockArg,
}

/// `scalemodel run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The model's parameters. Trial k uses seed + k - 1.
    #[command(flatten)]
    pub model: ModelArgs,

    /// How many trials to run, each in `OUT/trial-K/`.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub trials: u32,

    /// How long the nodes keep trying to reach each other (at most a day).
    #[arg(long, value_name = "DELAY", default_value = "10s", value_parser = parse_connect_timeout)]
    pub connect_timeout: Duration,

    /// How long before each tick a node stops sleeping and waits awake:
    /// `auto` (learned from the machine's wake-up latency) or a fixed delay,
    /// the precise mode (see `scalemodel node --help`).
    #[arg(long, value_name = "auto|DELAY", default_value = "auto", value_parser = parse_spin)]
    pub spin: Wait,

    /// Skip writing each trial's report and plots (`scalemodel analyze` writes
    /// them later).
    #[arg(long)]
    pub no_analyze: bool,

    /// Run machine ID on a microcontroller: scalemodel-core's node on a
    /// Cortex-M4 under QEMU (board mps2-an386), its UART bridged to the
    /// run's TCP links; the others run as Linux processes. Three machines,
    /// `--clock lamport`; needs `qemu-system-arm` and the firmware
    /// (`--firmware`). See docs/MCU.md.
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u8).range(0..3))]
    pub mcu: Option<u8>,

    /// The board's firmware for `--mcu`.
    #[arg(
        long,
        value_name = "PATH",
        requires = "mcu",
        default_value = "tests/firmware/target/thumbv7em-none-eabihf/release/scalemodel-node-firmware"
    )]
    pub firmware: PathBuf,
}

/// The parameters of one run, shared by every command that runs the model.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The run's seed. Rates, die rolls and jitter all come from it. Default: a
    /// random seed, printed first so the run can be replayed.
    #[arg(long, value_name = "N", value_parser = parse_whole::<u64>)]
    pub seed: Option<u64>,

    /// The run's length in model seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = parse_duration_s)]
    pub duration: f64,

    /// How many machines the run has, 3 to 16.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_machines)]
    pub machines: u8,

    /// Which machines talk to which: `all` (every machine to every other),
    /// `ring` (each to the next, `(id + 1) mod N`) or `leader` (machine 0 to
    /// every other; the others never send).
    #[arg(long, value_name = "all|ring|leader", default_value = "all", value_parser = parse_topology)]
    pub topology: Topology,

    /// Each machine's rate in ticks per model second: a range `A..=B` to draw
    /// each rate from (`A-B` and `A..B` mean the same, both ends included),
    /// or one exact rate per machine `R0,R1,...`, machine by machine.
    #[arg(long, value_name = "A..=B|R0,R1,...", default_value = "1..=6")]
    pub rates: Rates,

    /// Faces of the die a machine rolls when its inbox is empty: with N
    /// machines, faces 1 to N send, the rest (N + 1 to S) are internal
    /// events. More than N. Default: N + 7 (10 for three machines).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u8).range(4..))]
    pub sides: Option<u8>,

    /// Model time runs K times faster than wall time. An integer, at least 1.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = parse_speed)]
    pub speed: u32,

    /// The run directory to write. Default: a new timestamped folder under `runs/`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The clocks the machines keep: `lamport`, the exercise's, alone;
    /// `hlc`, a hybrid logical clock (Kulkarni et al. 2014) carried beside
    /// it in every message, its physical time each event's `system_ns` (a
    /// machine's skewed clock under `sim --skew`), its columns appended to
    /// the logs (`hlc_l,hlc_c,msg_hlc_l,msg_hlc_c`); or `vector`, a vector
    /// clock carried beside it, its columns `vc,msg_vc`. Every machine of a
    /// run keeps the same (a message of another kind is a protocol error).
    /// In `sim`, `hlc` and `vector` are built for the default `--inbox-cap`
    /// and `--link-cap` only.
    #[arg(long, value_enum, default_value_t)]
    pub clock: ClockArg,
}

impl ModelArgs {
    /// `--sides`, or its default for `--machines`: N + 7.
    pub fn sides(&self) -> u8 {
        self.sides.unwrap_or(self.machines.saturating_add(7))
    }

    /// Checks the flags against each other: one rate per machine when the
    /// rates are given, and a die with more faces than machines.
    pub fn check(&self) -> Result<(), String> {
        let n = usize::from(self.machines);
        if let Rates::Exact(rates) = &self.rates
            && rates.len() != n
        {
            return Err(format!(
                "--rates gives {} rates, but --machines is {n}: give one rate per machine, or a range",
                rates.len()
            ));
        }
        let sides = self.sides();
        if sides <= self.machines {
            return Err(format!(
                "--sides {sides} must exceed --machines {n}: with {n} machines faces 1 to {n} send, so give at least {}",
                n + 1
            ));
        }
        Ok(())
    }

    /// `--seed`, or a seed from the operating system.
    pub fn seed_or_random(&self) -> u64 {
        self.seed.unwrap_or_else(random_u64)
    }

    /// The parameters every node of the networked run `run_id` with `seed`
    /// shares, as its summary records them.
    pub fn net_run(&self, seed: u64, run_id: u64) -> scalemodel_rundir::NetRun {
        scalemodel_rundir::NetRun {
            seed,
            run_id,
            duration_s: self.duration,
            speed: self.speed,
            sides: self.sides(),
            rate_range: match &self.rates {
                Rates::Range(r) => Some([*r.start(), *r.end()]),
                Rates::Exact(_) => None,
            },
            rates: self.rates.resolve(seed, self.machines),
            topology: self.topology,
            inbox_capacity: scalemodel_core::node::INBOX_CAP,
            clock: (self.clock != ClockArg::Lamport).then(|| self.clock.name().to_owned()),
        }
    }
}

/// Refuses a run of `machines` machines under `topology` for `command`,
/// unless it is three under `all`: the one place, and the one message, for
/// the commands that run three machines only.
pub fn only_three(command: &str, machines: usize, topology: Topology) -> Result<(), String> {
    if machines == 3 && topology == Topology::All {
        return Ok(());
    }
    Err(format!(
        "`{command}` runs three machines under the topology `all` only (this is {machines} machines, `{topology}`); `run`, `node`, `sim`, `swarm` and `study` take them"
    ))
}

/// A random `u64` from the operating system, for seeds and run ids; never
/// for what must stay unpredictable (the key, the challenges: see
/// `scalemodel_node::key` and `scalemodel_node::entropy`), since it falls back to the time.
pub fn random_u64() -> u64 {
    // A run without a seed is still replayable, since the seed is printed; if
    // the OS has no randomness to give, the time is as good a seed as any.
    getrandom::u64().unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    })
}

/// `scalemodel sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// The model's parameters.
    #[command(flatten)]
    pub model: ModelArgs,

    /// The delay of every simulated link, e.g. `100us`, `2ms`: network time,
    /// which `--speed` does not scale.
    #[arg(long, value_name = "DELAY", default_value = "100us", value_parser = parse_delay)]
    pub latency: Duration,

    /// The largest extra delay drawn per frame from the seed, e.g. `5ms`.
    /// Links stay first-in first-out.
    #[arg(long, value_name = "DELAY", default_value = "0s", value_parser = parse_delay)]
    pub jitter: Duration,

    /// Unix time in ns of model time 0, for the logs' `system_ns`. Fixed (not
    /// the real time) so that the same seed writes byte-identical logs.
    #[arg(long, value_name = "NS", value_parser = parse_whole::<u64>, default_value_t = 0)]
    pub start_ns: u64,

    /// Run and summarise without writing the CSV logs. Nothing is written
    /// unless `--out` is given, then only `params.json`.
    #[arg(long)]
    pub no_log: bool,

    /// After the run, print `digest 0x…`: the FNV-1a 64 hash of every log
    /// line (no headers) in simulation order, the same on every host. Works
    /// with and without `--no-log`.
    #[arg(long)]
    pub digest: bool,

    /// Messages each inbox holds: 4, 16, 64 or 8192, the network's (the
    /// capacities are built in). A full inbox makes arrivals wait on their link.
    #[arg(long, value_name = "N", default_value_t = crate::caps::INBOX_CAP, value_parser = crate::caps::parse_inbox_cap)]
    pub inbox_cap: usize,

    /// Frames each link holds: 2, 8, 16 or 4096 (the capacities are built
    /// in). A full link (and the sender's one-frame outbox) stalls its sender.
    #[arg(long, value_name = "N", default_value_t = crate::caps::LINK_CAP, value_parser = crate::caps::parse_link_cap)]
    pub link_cap: usize,

    /// Faults to inject, comma-separated, at model times in seconds:
    /// `crash M@T` (dies, no Bye), `stop M@T` (ends cleanly), `pause M@T1..T2`
    /// (frozen), `partition A-B@T1..T2` (both links hold their bytes, then
    /// deliver), `garbage A>B@T` (undecodable bytes on the link A to B).
    /// E.g. `crash 1@20s, partition 0-2@5s..15s`.
    #[arg(long, value_name = "SPEC", default_value = "", value_parser = parse_faults)]
    pub faults: Faults,

    /// Physical clocks that lie: each machine's clock is off by an offset
    /// drawn from ±OFFSET and runs fast or slow by a drift drawn from ±PPM
    /// parts per million, from the seed, e.g. `50ms,100`. Only the
    /// `system_ns` a machine logs reads its clock; its ticks stay on true
    /// model time. Needs `--start-ns` of at least OFFSET.
    #[arg(long, value_name = "OFFSET,PPM", value_parser = parse_skew)]
    pub skew: Option<SkewBounds>,

    /// Skip writing the run's report and plots (`scalemodel analyze` writes
    /// them later).
    #[arg(long)]
    pub no_analyze: bool,
}

/// `--clock`: the clock a run carries beside Lamport's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClockArg {
    /// Lamport's clock alone.
    #[default]
    Lamport,
    /// A hybrid logical clock beside it.
    Hlc,
    /// A vector clock beside it.
    Vector,
}

impl ClockArg {
    /// Its name on the command line and in `params.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Lamport => "lamport",
            Self::Hlc => "hlc",
            Self::Vector => "vector",
        }
    }
}

/// `--skew OFFSET,PPM`: the bounds each machine's clock skew is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkewBounds {
    /// Offsets are drawn from ±this, in ns.
    pub offset_ns: u64,
    /// Drifts are drawn from ±this, in ppm.
    pub drift_ppm: u32,
}

/// Parses `--skew`.
fn parse_skew(s: &str) -> Result<SkewBounds, String> {
    use scalemodel_rundir::skew::{DRIFT_PPM_MAX, OFFSET_NS_MAX};
    let Some((offset, ppm)) = s.split_once(',') else {
        return Err(format!(
            "--skew takes OFFSET,PPM (an offset and a drift in parts per million, e.g. `50ms,100`), got {s:?}"
        ));
    };
    let offset = parse_delay(offset.trim()).map_err(|e| format!("--skew's offset: {e}"))?;
    let offset_ns = u64::try_from(offset.as_nanos())
        .ok()
        .filter(|&ns| ns <= OFFSET_NS_MAX)
        .ok_or_else(|| {
            format!(
                "--skew's offset must be at most 1h, got {}",
                humantime::format_duration(offset)
            )
        })?;
    let drift_ppm: u32 = ppm
        .trim()
        .parse()
        .ok()
        .filter(|&p| p <= DRIFT_PPM_MAX)
        .ok_or_else(|| {
            format!("--skew's drift must be a whole number of ppm from 0 to {DRIFT_PPM_MAX}, got {ppm:?}")
        })?;
    Ok(SkewBounds {
        offset_ns,
        drift_ppm,
    })
}

/// Parses `--faults`.
fn parse_faults(s: &str) -> Result<Faults, String> {
    s.parse().map_err(|e: FaultError| format!("{e}"))
}

/// `scalemodel node`, and `scalemodel-node`.
// Every machine of a run must share the seed, and each writes its own log.
// Set here rather than on the `node` command, so that the `scalemodel-node`
// binary parses exactly as `scalemodel node` without building every command.
#[derive(Debug, Clone, Args)]
#[command(
    allow_negative_numbers = true,
    mut_arg("seed", |a| a.required(true).help("The run's seed, the same on every machine of the run")),
    mut_arg("out", |a| a.required(true).help("The run directory this machine writes its log and summary into"))
)]
pub struct NodeArgs {
    /// The model's parameters; every machine of a run must be given the same.
    #[command(flatten)]
    pub model: ModelArgs,

    /// This machine's id: 0 to N - 1, for `--machines N`.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..16))]
    pub id: u8,

    /// The address to listen on. Default: this machine's entry in `--peers`,
    /// or 127.0.0.1 on a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Every machine's address in id order, `A0,A1,...`, one per machine.
    /// This machine connects to the peers its topology has it dial (for
    /// three machines under `all`, machine (id + 1) mod 3) and is connected
    /// to by the others it has a link with.
    #[arg(long, value_name = "A0,A1,...", value_parser = parse_peers, required_unless_present = "launcher")]
    pub peers: Option<Peers>,

    /// The run's id, written to `params.json` to name the run. Default: the seed.
    #[arg(long, value_name = "N", value_parser = parse_whole::<u64>)]
    pub run_id: Option<u64>,

    /// The file holding the run's secret, the same on every machine: 16 to
    /// 4096 bytes (one trailing newline is not part of it), readable by its
    /// owner only (`chmod 600`). Make one with
    /// `head -c 32 /dev/urandom | base64 > run.key && chmod 600 run.key`.
    /// Peers prove they hold it before they join; it never crosses the wire.
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "launcher",
        conflicts_with = "launcher"
    )]
    pub key_file: Option<PathBuf>,

    /// Unix time in ns of model time 0, the same on every machine (e.g.
    /// `$(( $(date +%s%N) + 5000000000 ))` for five seconds from now). No
    /// machine ticks before all its links are up, whatever the time.
    #[arg(long, value_name = "NS", value_parser = parse_whole::<u64>, required_unless_present = "launcher")]
    pub start_at: Option<u64>,

    /// How long to keep trying to reach the peers (at most a day).
    #[arg(long, value_name = "DELAY", default_value = "10s", value_parser = parse_connect_timeout)]
    pub connect_timeout: Duration,

    /// How long before each tick to stop sleeping and wait awake, because a
    /// sleeping thread wakes late (the timer's overshoot: tens of µs on an
    /// idle machine, milliseconds on a busy one). `auto`, the default,
    /// measures the overshoot at every wake-up and wakes early by its 10th
    /// percentile over the last 64 wake-ups (at most 300 µs): a tick is late
    /// by the overshoot less that margin, never more than after a plain
    /// sleep, and costs about a plain sleep's CPU. A delay (`300us`) is the
    /// precise mode: always awake that long before each tick, for the lowest
    /// lateness, at the cost of a core busy for most of that delay per tick
    /// (twice `auto`'s CPU per tick or more; see the README's benchmarks).
    /// `0s` always sleeps. Always at most a quarter of a tick period.
    #[arg(long, value_name = "auto|DELAY", default_value = "auto", value_parser = parse_spin)]
    pub spin: Wait,

    /// Talk to the `run` launcher over stdin and stdout (its addresses, the
    /// start time, stop); stdin closing ends the run.
    #[arg(long, hide = true, conflicts_with = "peers")]
    pub launcher: bool,

    /// Run this machine's node on a microcontroller: the Cortex-M4 firmware
    /// at PATH (tests/firmware's `scalemodel-node-firmware`) under QEMU
    /// (`qemu-system-arm`, board mps2-an386), this process the bridge
    /// between its UART and the network. Three machines, `--clock lamport`.
    /// See docs/MCU.md.
    #[arg(long, value_name = "PATH")]
    pub board: Option<PathBuf>,
}

/// How the machines' rates are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rates {
    /// Each rate drawn uniformly from the range.
    Range(RangeInclusive<u32>),
    /// The rates, machine by machine.
    Exact(Vec<u32>),
}

impl Rates {
    /// The rates of a run of `n` machines with `seed`: drawn from the range,
    /// or the given ones (as many as [`ModelArgs::check`] lets).
    pub fn resolve(&self, seed: u64, n: u8) -> Vec<u32> {
        match self {
            Self::Range(range) => {
                scalemodel_core::rng::draw_rates::<MACHINES_MAX>(seed, n, range.clone())
                    [..usize::from(n)]
                    .to_vec()
            }
            Self::Exact(rates) => rates.clone(),
        }
    }
}

impl std::fmt::Display for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Range(r) => write!(f, "{}..={}", r.start(), r.end()),
            Self::Exact(rates) => {
                let text: Vec<String> = rates.iter().map(u32::to_string).collect();
                f.write_str(&text.join(","))
            }
        }
    }
}

impl FromStr for Rates {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let rate = |t: &str| -> Result<u32, String> {
            if t.trim_start().starts_with('-') {
                return Err(format!(
                    "a rate must be between 1 and {RATE_MAX} ticks per second, got {}",
                    t.trim()
                ));
            }
            let r: u32 = t
                .trim()
                .parse()
                .map_err(|_| format!("`{t}` is not a whole number of ticks per second"))?;
            if (1..=RATE_MAX).contains(&r) {
                Ok(r)
            } else {
                Err(format!(
                    "a rate must be between 1 and {RATE_MAX} ticks per second, got {r}"
                ))
            }
        };
        // `A..=B`, and the ways people write it from other tools: `A..B`
        // and `A-B`, both inclusive here (`1..6` is the die's 1 to 6).
        let range = s
            .split_once("..=")
            .or_else(|| s.split_once(".."))
            .or_else(|| s.split_once('-').filter(|_| !s.contains(',')));
        if let Some((lo, hi)) = range {
            let (lo, hi) = (rate(lo)?, rate(hi)?);
            if lo > hi {
                return Err(format!("the range {lo}..={hi} is empty"));
            }
            return Ok(Self::Range(lo..=hi));
        }
        let parts: Vec<&str> = s.split(',').collect();
        if !MACHINES.contains(&parts.len()) {
            return Err(format!(
                "expected a range `A..=B` (also `A-B` or `A..B`, inclusive) or one rate per machine `R0,R1,R2,...` (3 to 16), got `{s}`"
            ));
        }
        parts
            .into_iter()
            .map(rate)
            .collect::<Result<_, _>>()
            .map(Self::Exact)
    }
}

/// Parses a whole number that cannot be negative (a seed, a count, a time in
/// ns), saying so when it is.
fn parse_whole<T: FromStr>(s: &str) -> Result<T, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!("must not be negative, got {s}"));
    }
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number (or too large)"))
}

/// Parses a delay such as `5ms`, saying so when it is negative.
fn parse_delay(s: &str) -> Result<Duration, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!("a delay cannot be negative, got {s}"));
    }
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Parses `--spin`: `auto`, or a delay (the precise mode).
fn parse_spin(s: &str) -> Result<Wait, String> {
    if s.trim() == "auto" {
        return Ok(Wait::DEFAULT);
    }
    parse_delay(s)
        .map(Wait::Fixed)
        .map_err(|e| format!("{e} (give `auto` or a delay such as `300us`)"))
}

/// `--spin`'s text for `wait`, as [`parse_spin`] reads it.
pub fn spin_arg(wait: Wait) -> String {
    match wait {
        Wait::Fixed(delay) => humantime::format_duration(delay).to_string(),
        Wait::Learned { .. } => "auto".to_owned(),
    }
}

/// Parses `--speed`: a whole number, at least 1.
fn parse_speed(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(k) if k >= 1 => Ok(k),
        Ok(_) => Err("the speed must be at least 1".to_owned()),
        Err(_) if s.trim().parse::<i64>().is_ok() => {
            Err(format!("the speed must be at least 1, got {s}"))
        }
        Err(_) => Err(format!(
            "`{s}` is not a whole number: the speed is an integer factor, at least 1 (model time runs K times faster than wall time)"
        )),
    }
}

/// Parses `--machines`: 3 to 16.
pub(crate) fn parse_machines(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(n) if MACHINES.contains(&usize::from(n)) => Ok(n),
        _ => Err(format!(
            "the number of machines must be a whole number from 3 to 16, got {s}"
        )),
    }
}

/// Parses `--topology`: `all`, `ring` or `leader`.
pub(crate) fn parse_topology(s: &str) -> Result<Topology, String> {
    scalemodel_rundir::parse_topology(s.trim())
        .ok_or_else(|| format!("unknown topology `{s}`: give all, ring or leader"))
}

/// Every machine's address, in id order (`--peers`): one value to clap,
/// which reads a bare `Vec` as a flag given many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers(pub Vec<SocketAddr>);

/// Parses one socket address per machine, `A0,A1,...`: 3 to 16 of them
/// (that they are one per machine is the node's check).
fn parse_peers(s: &str) -> Result<Peers, String> {
    let addrs = s
        .split(',')
        .map(|a| {
            a.trim()
                .parse()
                .map_err(|_| format!("`{a}` is not an address like 127.0.0.1:4000"))
        })
        .collect::<Result<Vec<SocketAddr>, String>>()?;
    if !MACHINES.contains(&addrs.len()) {
        return Err(format!(
            "expected one address per machine, 3 to 16 of them, got {}",
            addrs.len()
        ));
    }
    Ok(Peers(addrs))
}

/// The longest `--connect-timeout`: a day is longer than anyone waits for a
/// peer, and keeps every deadline far from any clock's end.
pub const CONNECT_TIMEOUT_MAX: Duration = Duration::from_secs(24 * 3_600);

/// Parses `--connect-timeout`: a delay of at most [`CONNECT_TIMEOUT_MAX`].
fn parse_connect_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_delay(s)?;
    if d > CONNECT_TIMEOUT_MAX {
        return Err(format!(
            "at most {} (a day), got {s}",
            humantime::format_duration(CONNECT_TIMEOUT_MAX)
        ));
    }
    Ok(d)
}

/// Parses a positive, finite number of seconds.
fn parse_duration_s(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    use scalemodel_rundir::DURATION_S_MAX;
    if secs > 0.0 && secs <= DURATION_S_MAX {
        Ok(secs)
    } else {
        Err(format!(
            "the duration must be more than 0 and at most {DURATION_S_MAX} seconds, got {s}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_ranges_and_lists() {
        assert_eq!("1..=6".parse(), Ok(Rates::Range(1..=6)));
        assert_eq!("1,6,6".parse(), Ok(Rates::Exact(vec![1, 6, 6])));
        assert_eq!("1,2,3,4,5".parse(), Ok(Rates::Exact(vec![1, 2, 3, 4, 5])));
        assert!(
            "0..=3"
                .parse::<Rates>()
                .unwrap_err()
                .contains("between 1 and")
        );
        assert!("6..=1".parse::<Rates>().unwrap_err().contains("empty"));
        assert!(
            "1,2"
                .parse::<Rates>()
                .unwrap_err()
                .contains("one rate per machine")
        );
        assert!(
            "a..=3"
                .parse::<Rates>()
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(Rates::Exact(vec![1, 6, 6]).resolve(5, 3), [1, 6, 6]);
        assert_eq!(Rates::Range(3..=3).resolve(5, 3), [3, 3, 3]);
        assert_eq!(Rates::Range(3..=3).resolve(5, 16), [3; 16]);
    }

    #[test]
    fn connect_timeouts_are_at_most_a_day() {
        assert_eq!(parse_connect_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_connect_timeout("1day"), Ok(CONNECT_TIMEOUT_MAX));
        let e = parse_connect_timeout("1000000000000s").unwrap_err();
        assert!(e.contains("at most 1day"), "{e}");
        assert!(parse_connect_timeout("18446744073709551615s").is_err());
        assert!(parse_connect_timeout("soon").is_err());
    }

    #[test]
    fn negative_numbers_are_named_as_values() {
        assert!(parse_whole::<u64>("-1").unwrap_err().contains("negative"));
        assert_eq!(parse_whole::<u64>(" 7"), Ok(7));
        assert!(parse_delay("-5ms").unwrap_err().contains("negative"));
        assert!(
            parse_speed("-2")
                .unwrap_err()
                .contains("at least 1, got -2")
        );
        let e = "-1..=3".parse::<Rates>().unwrap_err();
        assert!(e.contains("between 1 and"), "{e}");
    }

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(parse_duration_s("0.5"), Ok(0.5));
        assert!(parse_duration_s("0").is_err());
        assert!(parse_duration_s("-1").is_err());
        assert!(parse_duration_s("NaN").is_err());
        assert!(parse_duration_s("1e9").is_err());
    }
}
