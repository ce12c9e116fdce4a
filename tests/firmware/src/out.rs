//! Text to the host's stdout through semihosting, without `core::fmt`: its
//! formatting machinery alone was a few KB of the firmware's flash.

use scalemodel_core::Decimal;

/// Writes `bytes`; output that cannot be written is dropped (there is
/// nowhere else to say so, and the check then misses the lines it needs).
fn write(bytes: &[u8]) {
    host::write(bytes);
}

/// Semihosting's `SYS_OPEN` and `SYS_WRITE`, with a bounded retry:
/// cortex-m-semihosting's `write_all` retries for as long as the host
/// writes nothing, and a host whose stdout is a closed pipe (a board whose
/// bridge was killed) writes nothing for ever, so the board never reached
/// its exit.
#[allow(unsafe_code)]
mod host {
    use cortex_m_semihosting::{nr, syscall};

    /// Attempts at one write before it is dropped.
    const TRIES: usize = 4;

    pub fn write(mut bytes: &[u8]) {
        let tt = b":tt\0";
        // SAFETY: `tt` is a NUL-terminated name that outlives the call, of
        // length 3 without its NUL, as SYS_OPEN takes it.
        let fd = unsafe { syscall!(OPEN, tt.as_ptr(), nr::open::W_TRUNC, 3) };
        if fd == usize::MAX {
            return;
        }
        for _ in 0..TRIES {
            // SAFETY: `bytes` is valid for its length for the call; the host
            // only reads it.
            let unwritten = unsafe { syscall!(WRITE, fd, bytes.as_ptr(), bytes.len()) };
            match bytes.get(bytes.len().saturating_sub(unwritten)..) {
                Some(rest) if !rest.is_empty() && unwritten <= bytes.len() => bytes = rest,
                _ => return,
            }
        }
    }
}

/// Writes `s`.
pub fn str(s: &str) {
    write(s.as_bytes());
}

/// Writes `n` in decimal.
pub fn num(n: u64) {
    write(Decimal::new(n).as_bytes());
}

/// Writes `n` as `{:#018x}` does: `0x` and 16 lower-case hex digits.
#[allow(dead_code)] // the node's firmware prints no digest
pub fn hex(n: u64) {
    let mut text = *b"0x0000000000000000";
    for (i, digit) in text.iter_mut().skip(2).rev().enumerate() {
        // A nibble is below 16, so the index is in bounds.
        let nibble = ((n >> (4 * i)) & 0xf) as usize;
        *digit = b"0123456789abcdef".get(nibble).copied().unwrap_or(b'?');
    }
    write(&text);
}

/// Prints where a panic happened (its message would pull in `core::fmt`)
/// and exits 1: each firmware's panic handler.
pub fn panicked(info: &core::panic::PanicInfo) -> ! {
    str("panic");
    if let Some(at) = info.location() {
        str(" at ");
        str(at.file());
        str(":");
        num(at.line().into());
    }
    str("\n");
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
