//! The board's monotonic clock in ns, and its millisecond wake-up.
//!
//! Time is CMSDK APB timer 0's count, free-running down from `u32::MAX` at
//! the 25 MHz peripheral clock and widened to 64 bits here (it wraps every
//! 171 s; the clock is read at least every millisecond). SysTick only wakes
//! the firmware from `wfi` every millisecond: counting its interrupts as
//! time loses the milliseconds whose interrupts QEMU coalesces when its
//! vCPU thread is descheduled (0.6 % in a first run), while the timer's
//! count is computed from QEMU's clock whenever it is read.
//!
//! QEMU runs the guest's timers on the host's clock (without `-icount`),
//! so the board's time follows the host's, with QEMU's scheduling as its
//! noise.

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// Core clock cycles per millisecond: MPS2's 25 MHz.
const CYCLES_PER_MS: u32 = 25_000;
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

/// The clock: the timer's last count and how often it wrapped.
pub struct Clock {
    last: u32,
    wraps: u64,
}

impl Clock {
    /// Starts the timer at 0 and the millisecond wake-up.
    pub fn start(mut syst: SYST) -> Self {
        mmio::write(CTRL, 0);
        mmio::write(RELOAD, u32::MAX);
        mmio::write(VALUE, u32::MAX);
        mmio::write(CTRL, 1);
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CYCLES_PER_MS - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Self { last: 0, wraps: 0 }
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

/// The timer's registers: word reads and writes at fixed addresses.
#[allow(unsafe_code)]
mod mmio {
    /// Reads the register at `addr`.
    pub fn read(addr: usize) -> u32 {
        // SAFETY: `addr` is one of timer 0's registers (constants of the
        // board's memory map): word-aligned, always mapped, read without
        // side effects.
        unsafe { core::ptr::read_volatile(addr as *const u32) }
    }

    /// Writes `value` to the register at `addr`.
    pub fn write(addr: usize, value: u32) {
        // SAFETY: as `read`; the timer's registers are no Rust object's
        // memory.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
    }
}
