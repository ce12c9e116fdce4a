//! Text to the host's stdout through semihosting, without `core::fmt`: its
//! formatting machinery alone was a few KB of the firmware's flash.

use cortex_m_semihosting::hio;
use scalemodel_core::Decimal;

/// Writes `bytes`; output that cannot be written is dropped (there is
/// nowhere else to say so, and the check then misses the lines it needs).
fn write(bytes: &[u8]) {
    if let Ok(mut stdout) = hio::hstdout() {
        let _ = stdout.write_all(bytes);
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
