//! scalemodel-core's simulator on a Cortex-M4, under QEMU (`mps2-an386`).
//!
//! Runs the simulator for a few fixed seeds with small queues, hashes every
//! run's whole log with [`DigestSink`] (no buffer, no allocator), prints each
//! machine's summary and one `run ...` line per run, then the peak stack, and
//! exits 0 through semihosting. `check.sh` parses the `run` lines and replays
//! each run with `scalemodel sim ... --digest` on the host: the digests must
//! be equal. A panic prints its message and exits 1.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::ops::RangeInclusive;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprint, hprintln};
use scalemodel_core::digest::DigestSink;
use scalemodel_core::fault::Faults;
use scalemodel_core::sim::{Config, Sim};
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
    hprintln!(
        "scalemodel firmware: {} runs of {} s, inbox {}, link {}",
        RUNS.len(),
        DURATION_S,
        INBOX,
        LINK
    );
    for run in &RUNS {
        simulate(run);
    }
    // The simulator's whole state lives on the stack (the core never
    // allocates), and `Sim::new` returns it by value, so the peak holds a
    // few copies of it.
    hprintln!(
        "stack peak={} bytes (Sim<{INBOX}, {LINK}> is {} bytes)",
        stack::peak(),
        core::mem::size_of::<Sim<INBOX, LINK>>()
    );
    debug::exit(debug::EXIT_SUCCESS);
    unreachable!("semihosting exit returned")
}

fn simulate(run: &Run) {
    let rates = match run.rates {
        Rates::Exact(rates) => rates,
        Rates::Drawn(lo, hi) => rng::draw_rates(run.seed, RangeInclusive::new(lo, hi)),
    };
    let mut config = Config::new(run.seed, rates);
    config.sides = run.sides;
    config.duration_ns = DURATION_S * 1_000_000_000;
    let mut sim = match Sim::<INBOX, LINK>::new(config, Faults::none()) {
        Ok(sim) => sim,
        Err(e) => panic!("seed {}: {e}", run.seed),
    };
    let mut digest = DigestSink::new();
    let report = match sim.run(&mut digest) {
        Ok(report) => report,
        Err(e) => panic!("seed {}: {e}", run.seed),
    };
    for id in MachineId::ALL {
        let m = &report.machines[id.index()];
        let t = &m.tally;
        hprintln!(
            "  machine {id}: rate {} ticks {} receives {} sends {} internal {} max_queue {} clock {} max_jump {} stalls {} held {} inbox_left {}",
            m.rate,
            t.ticks,
            t.receives,
            t.sends,
            t.internals,
            t.max_queue,
            t.clock,
            t.max_jump,
            m.stalls,
            m.held,
            m.inbox_left,
        );
    }
    let [r0, r1, r2] = rates;
    hprint!("run seed={} rates={r0},{r1},{r2}", run.seed);
    if let Rates::Drawn(lo, hi) = run.rates {
        // The host is asked to draw from the same range, too.
        hprint!(" range={lo}..={hi}");
    }
    hprintln!(
        " sides={} duration={DURATION_S} inbox={INBOX} link={LINK} records={} digest={:#018x}",
        run.sides,
        digest.records(),
        digest.value(),
    );
}

/// The peak stack, measured against cortex-m-rt's `paint-stack`: the start-up
/// code fills all RAM between the end of `.bss`/`.uninit` (`_stack_end`) and
/// the top of the stack (`_stack_start`) with `0xCCCC_CCCC` before `main`.
///
/// Reading RAM that no Rust object owns takes the linker's symbols and raw
/// pointers, hence `unsafe`: the only unsafe code in the firmware, none of it
/// in the core.
#[allow(unsafe_code)]
mod stack {
    use cortex_m_rt::STACK_PAINT_VALUE;

    // The linker script's symbols: only their addresses mean anything.
    unsafe extern "C" {
        static _stack_end: u32;
        static _stack_start: u32;
    }

    /// Bytes of stack ever used: from the top down to the lowest word that is
    /// no longer the paint (a frame that happened to write the paint value at
    /// its lowest word would be missed by 4 bytes; close enough).
    pub fn peak() -> usize {
        let (bottom, top) = (
            &raw const _stack_end as usize,
            &raw const _stack_start as usize,
        );
        let mut addr = bottom;
        // Bounded: at most (top - bottom) / 4 reads, all inside RAM.
        while addr < top {
            // SAFETY: `addr` is word-aligned (the linker script aligns
            // `_stack_end` to 4) and lies in `_stack_end.._stack_start`, RAM
            // that is mapped and reserved for the stack; a volatile read of a
            // u32 there has no side effect.
            let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
            if word != STACK_PAINT_VALUE {
                break;
            }
            addr += 4;
        }
        top - addr
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    // Only reached if the debugger ignores the exit request.
    loop {
        cortex_m::asm::bkpt();
    }
}
