//! The board's monotonic clock in ns, and its wake-up at the node's next
//! timeout.
//!
//! Time is CMSDK APB timer 0's count, free-running down from `u32::MAX` at
//! the 25 MHz peripheral clock and widened to 64 bits here (it wraps every
//! 171 s; the firmware reads the clock at least every [`SLEEP_MAX_CYCLES`]).
//! SysTick only wakes the firmware from `wfi`, at the node's next timeout:
//! counting its interrupts as time would lose those QEMU coalesces when its
//! vCPU thread is descheduled (0.6 % of a first run's milliseconds), while
//! the timer's count is computed from QEMU's clock whenever it is read.
//!
//! QEMU runs the guest's timers on the host's clock (without `-icount`),
//! so the board's time follows the host's, with QEMU's scheduling as its
//! noise.

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

use crate::mmio;

/// The longest sleep, in cycles of the 25 MHz core clock: SysTick's 24
/// bits (671 ms).
const SLEEP_MAX_CYCLES: u64 = 0xFF_FFFF;
/// The shortest: a wake-up sooner than 20 µs is not worth a sleep.
const SLEEP_MIN_CYCLES: u64 = 500;
/// How long before a timeout the firmware wakes, and then waits awake: a
/// guest under QEMU wakes some 0.3 to 0.6 ms after its timer fires (QEMU's
/// own timers, then the vCPU thread), so a tick slept to its due time ran
/// that late. Awake, the firmware costs the host one core for at most this
/// long per timeout.
const SPIN_NS: u64 = 1_000_000;
/// ns per cycle of the 25 MHz clocks.
const NS_PER_CYCLE: u64 = 40;
/// CMSDK APB timer 0 of the MPS2 AN385/AN386.
const TIMER0: usize = 0x4000_0000;
/// Its registers: control (bit 0 enables), value, reload.
const CTRL: usize = TIMER0;
const VALUE: usize = TIMER0 + 0x4;
const RELOAD: usize = TIMER0 + 0x8;

#[exception]
fn SysTick() {}

/// The clock: the timer's last count and how often it wrapped, and the
/// SysTick that wakes the firmware.
pub struct Clock {
    last: u32,
    wraps: u64,
    syst: SYST,
}

impl Clock {
    /// Starts the timer at 0, and SysTick's interrupt.
    pub fn start(mut syst: SYST) -> Self {
        mmio::write(CTRL, 0);
        mmio::write(RELOAD, u32::MAX);
        mmio::write(VALUE, u32::MAX);
        mmio::write(CTRL, 1);
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(SLEEP_MAX_CYCLES as u32);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Self {
            last: 0,
            wraps: 0,
            syst,
        }
    }

    /// Sleeps until [`SPIN_NS`] before `deadline_ns` (at most
    /// [`SLEEP_MAX_CYCLES`] from now; not at all when that is less than
    /// [`SLEEP_MIN_CYCLES`] away, and the caller's loop waits awake) or until
    /// `woken` holds, which the UART's receive interrupt makes
    /// true: its state is tested with interrupts masked, so that a byte
    /// that comes between the test and the sleep still wakes it.
    pub fn sleep_until(&mut self, deadline_ns: Option<u64>, woken: impl FnOnce() -> bool) {
        let now = self.now_ns();
        let cycles = deadline_ns
            .map_or(SLEEP_MAX_CYCLES, |d| {
                d.saturating_sub(now).saturating_sub(SPIN_NS) / NS_PER_CYCLE
            })
            .min(SLEEP_MAX_CYCLES);
        if cycles < SLEEP_MIN_CYCLES {
            return;
        }
        // At most 24 bits: fits.
        self.syst.set_reload(cycles as u32 - 1);
        self.syst.clear_current();
        wait::for_interrupt(woken);
    }

    /// Now, in ns since [`Clock::start`].
    pub fn now_ns(&mut self) -> u64 {
        let up = u32::MAX - mmio::read(VALUE);
        if up < self.last {
            self.wraps += 1;
        }
        self.last = up;
        ((self.wraps << 32) | u64::from(up)) * NS_PER_CYCLE
    }
}

/// `wfi` with interrupts masked around the last test, which cortex-m makes
/// `unsafe` to undo: the firmware has no critical section an interrupt
/// could break (its handlers only clear their interrupt).
#[allow(unsafe_code)]
mod wait {
    /// Sleeps until the next interrupt unless `woken` already holds.
    pub fn for_interrupt(woken: impl FnOnce() -> bool) {
        cortex_m::interrupt::disable();
        if !woken() {
            // A pending interrupt wakes `wfi` even while masked; its
            // handler runs once they are unmasked.
            cortex_m::asm::wfi();
        }
        // SAFETY: no critical section is open: interrupts were enabled
        // when this was called (the firmware never disables them
        // elsewhere), and the handlers touch no state of the main loop.
        unsafe { cortex_m::interrupt::enable() };
    }
}
