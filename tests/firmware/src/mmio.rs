//! The board's peripheral registers: word reads and writes at the fixed
//! addresses of the MPS2 AN385/AN386 memory map.
//!
//! Callers pass only register addresses of that map (timer 0's and
//! UART 0's, built from their modules' constants).

/// Reads the register at `addr`.
pub fn read(addr: usize) -> u32 {
    // SAFETY: `addr` is a peripheral register of the board's memory map
    // (see the module's note): word-aligned, always mapped, no Rust
    // object's memory; a read has no side effect but the peripheral's own
    // (a UART's data register hands over the byte received).
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Writes `value` to the register at `addr`.
pub fn write(addr: usize, value: u32) {
    // SAFETY: as `read`.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}
