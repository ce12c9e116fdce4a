//! The peak stack, measured against cortex-m-rt's `paint-stack`: the start-up
//! code fills all RAM between the end of `.bss`/`.uninit` (`_stack_end`) and
//! the top of the stack (`_stack_start`) with `0xCCCC_CCCC` before `main`.
//!
//! Reading RAM that no Rust object owns takes the linker's symbols and raw
//! pointers, hence `unsafe` (none of the firmware's unsafe code is in the
//! core). Shared by both firmwares.

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
