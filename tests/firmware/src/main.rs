//! scalemodel-core's simulator on a Cortex-M4, under QEMU (`mps2-an386`).
//!
//! Runs the simulator for a few fixed seeds with small queues, hashes every
//! run's whole log with [`DigestSink`] (no buffer, no allocator), prints each
//! machine's summary and one `run ...` line per run, then the peak stack, and
//! exits 0 through semihosting. `check.sh` parses the `run` lines and replays
//! each run with `scalemodel sim ... --digest` on the host: the digests must
//! be equal. A panic prints where it happened and exits 1.
//!
//! One simulator (about 20 KB) lives in a static and is reset in place for
//! each run ([`Sim::reset`]), so the stack holds no copy of it. Output goes
//! through semihosting without `core::fmt`, whose machinery alone took a few
//! KB of flash.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::ops::RangeInclusive;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use scalemodel_core::digest::DigestSink;
use scalemodel_core::fault::Faults;
use scalemodel_core::sim::{Config, Sim, SimError};
use scalemodel_core::{MachineId, N, rng};

/// Messages each inbox holds: `scalemodel sim --inbox-cap 16`.
const INBOX: usize = 16;
/// Messages each link holds: `scalemodel sim --link-cap 8`.
const LINK: usize = 8;
/// Every run's length in model seconds: `--duration 60`.
const DURATION_S: u64 = 60;

/// How a run's rates are chosen.
#[derive(Clone, Copy)]
enum Rates {
    /// Given, machine by machine.
    Exact([u32; N]),
    /// Drawn from the seed's rate stream, as `--rates A..=B` does.
    Drawn(u32, u32),
}

/// One run: the seed, the rates and the die.
struct Run {
    seed: u64,
    rates: Rates,
    sides: u8,
}

/// The runs, in order. The first fills the slow machine's inbox of 16 (the
/// README's 1,6,6 experiment with a die of 4); the last draws its rates from
/// the seed, so the host must draw the same ones.
const RUNS: [Run; 4] = [
    Run {
        seed: 1,
        rates: Rates::Exact([1, 6, 6]),
        sides: 4,
    },
    Run {
        seed: 42,
        rates: Rates::Exact([3, 4, 5]),
        sides: 10,
    },
    Run {
        seed: 7,
        rates: Rates::Exact([2, 6, 1]),
        sides: 6,
    },
    Run {
        seed: 2024,
        rates: Rates::Drawn(1, 6),
        sides: 10,
    },
];

#[entry]
fn main() -> ! {
    out::str("scalemodel firmware: ");
    out::num(RUNS.len() as u64);
    out::str(" runs of ");
    out::num(DURATION_S);
    out::str(" s, inbox ");
    out::num(INBOX as u64);
    out::str(", link ");
    out::num(LINK as u64);
    out::str("\n");
    let Some(sim) = slot::take(config(&RUNS[0]).0) else {
        fail(RUNS[0].seed, "the simulator refused the run's parameters")
    };
    for run in &RUNS {
        simulate(sim, run);
    }
    // The simulator is a static (see `slot`), so this is the runs' own
    // frames only.
    out::str("stack peak=");
    out::num(stack::peak() as u64);
    out::str(" bytes (Sim<");
    out::num(INBOX as u64);
    out::str(", ");
    out::num(LINK as u64);
    out::str("> is ");
    out::num(core::mem::size_of::<Sim<INBOX, LINK>>() as u64);
    out::str(" bytes)\n");
    debug::exit(debug::EXIT_SUCCESS);
    halt()
}

/// The simulator's parameters for `run`, and its rates.
fn config(run: &Run) -> (Config, [u32; N]) {
    let rates = match run.rates {
        Rates::Exact(rates) => rates,
        Rates::Drawn(lo, hi) => rng::draw_rates(run.seed, 3, RangeInclusive::new(lo, hi)),
    };
    let mut config = Config::new(run.seed, rates);
    config.sides = run.sides;
    config.duration_ns = DURATION_S * 1_000_000_000;
    (config, rates)
}

fn simulate(sim: &mut Sim<INBOX, LINK>, run: &Run) {
    let (config, rates) = config(run);
    if sim.reset(config, Faults::none()).is_err() {
        fail(run.seed, "the simulator refused the run's parameters")
    }
    let mut digest = DigestSink::new();
    let report = match sim.run(&mut digest) {
        Ok(report) => report,
        Err(SimError::Start(_)) => fail(run.seed, "a node refused the start (a bug)"),
        Err(SimError::Stuck { .. }) => fail(run.seed, "the run passed its step bound (a bug)"),
    };
    for (id, m) in MachineId::ALL.into_iter().zip(report.machines()) {
        let t = &m.tally;
        out::str("  machine ");
        out::num(id.get().into());
        for (name, value) in [
            (": rate ", u64::from(m.rate)),
            (" ticks ", t.ticks),
            (" receives ", t.receives),
            (" sends ", t.sends),
            (" internal ", t.internals),
            (" max_queue ", u64::from(t.max_queue)),
            (" clock ", t.clock),
            (" max_jump ", t.max_jump),
            (" stalls ", m.stalls),
            (" held ", m.held),
            (" inbox_left ", u64::from(m.inbox_left)),
        ] {
            out::str(name);
            out::num(value);
        }
        out::str("\n");
    }
    let [r0, r1, r2] = rates;
    out::str("run seed=");
    out::num(run.seed);
    out::str(" rates=");
    out::num(r0.into());
    out::str(",");
    out::num(r1.into());
    out::str(",");
    out::num(r2.into());
    if let Rates::Drawn(lo, hi) = run.rates {
        // The host is asked to draw from the same range, too.
        out::str(" range=");
        out::num(lo.into());
        out::str("..=");
        out::num(hi.into());
    }
    for (name, value) in [
        (" sides=", u64::from(run.sides)),
        (" duration=", DURATION_S),
        (" inbox=", INBOX as u64),
        (" link=", LINK as u64),
        (" records=", digest.records()),
    ] {
        out::str(name);
        out::num(value);
    }
    out::str(" digest=");
    out::hex(digest.value());
    out::str("\n");
}

/// Says which run failed and why, and exits 1.
fn fail(seed: u64, why: &str) -> ! {
    out::str("seed ");
    out::num(seed);
    out::str(": ");
    out::str(why);
    out::str("\n");
    debug::exit(debug::EXIT_FAILURE);
    halt()
}

/// Only reached if the debugger ignores the exit request.
fn halt() -> ! {
    loop {
        cortex_m::asm::bkpt();
    }
}

mod out;

#[allow(unsafe_code)]
mod stack;

/// The one simulator, in a static: built by value, a `Sim` would sit on the
/// stack (20 KB, and `Sim::new`'s temporaries held four times that at the
/// peak; safe Rust cannot construct in place, and its random generators
/// have no `const` constructor, so no `const` initialiser exists either).
///
/// The static starts as zero bytes and [`Sim::reset`], safe code in the
/// core, overwrites every field before anything reads one. That needs
/// `unsafe` twice, and both are sound:
/// - All-zero bytes are a valid `Sim<INBOX, LINK>`: rustc checks it at compile
///   time, twice (`mem::zeroed` refuses types that cannot be zero, and the
///   value of every static is validated against its type, so an enum whose
///   tags exclude 0, a reference or a `NonZero` inside would not compile).
///   They are also a safe one to reset: zero is the empty state of heapless'
///   `Vec` (`len` 0) and `Deque` (`front` = `back` = 0, not `full`), the only
///   containers in it, so the drops and `clear`s that `reset` does touch
///   nothing.
/// - The `&'static mut` is handed out once, guarded by `TAKEN`.
#[allow(unsafe_code)]
mod slot {
    use core::sync::atomic::{AtomicBool, Ordering};

    use scalemodel_core::fault::Faults;
    use scalemodel_core::sim::Config;

    use super::{INBOX, LINK, Sim};

    // SAFETY: see the module's doc: all-zero bytes are a valid `Sim`, which
    // rustc checks when it evaluates this initialiser.
    static mut SIM: Sim<INBOX, LINK> = unsafe { core::mem::zeroed() };
    static TAKEN: AtomicBool = AtomicBool::new(false);

    /// The simulator, reset for `config`; `None` when its parameters are
    /// refused or it was already taken.
    pub fn take(config: Config) -> Option<&'static mut Sim<INBOX, LINK>> {
        if TAKEN.swap(true, Ordering::Relaxed) {
            return None;
        }
        let ptr = &raw mut SIM;
        // SAFETY: the only reference to `SIM` ever made (`TAKEN` was false),
        // so it aliases nothing; the value is a valid `Sim` (see above).
        let sim = unsafe { &mut *ptr };
        sim.reset(config, Faults::none()).ok()?;
        Some(sim)
    }
}

#[allow(unsafe_code)]
mod mem;

/// Prints where the panic happened (its message would pull in `core::fmt`)
/// and exits 1.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    out::panicked(info)
}
