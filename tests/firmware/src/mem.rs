//! The compiler's copies and fills (`__aeabi_memcpy*`, `__aeabi_memset*`,
//! `__aeabi_memclr*`, which is what LLVM calls on this target) byte by byte,
//! in place of compiler_builtins' word-at-a-time versions: those are weak
//! symbols, made to be replaced, and took about 1.8 KB of flash for speed
//! this firmware does not need (newlib makes the same trade when built to
//! prefer size). Two rules keep LLVM from turning these back into calls to
//! themselves: the loops use volatile accesses (never merged into a
//! `memcpy`), and no Rust code here calls a C library name such as `memcpy`,
//! which LLVM would take for the builtin. Each entry point has the AEABI
//! contract of its name: the caller guarantees the pointers are valid for
//! `n` bytes and, for a copy, that the regions do not overlap (the 4 and 8
//! variants also promise alignment, which a byte loop does not need).

/// Copies `n` bytes from `src` to `dest`.
///
/// # Safety
/// `src` readable and `dest` writable for `n` bytes, not overlapping.
unsafe fn copy(dest: *mut u8, src: *const u8, n: usize) {
    for i in 0..n {
        // SAFETY: i < n: inside both regions, by the caller's contract.
        unsafe { dest.add(i).write_volatile(src.add(i).read_volatile()) };
    }
}

/// Sets `n` bytes at `dest` to `byte`.
///
/// # Safety
/// `dest` writable for `n` bytes.
unsafe fn fill(dest: *mut u8, byte: u8, n: usize) {
    for i in 0..n {
        // SAFETY: i < n: inside the region, by the caller's contract.
        unsafe { dest.add(i).write_volatile(byte) };
    }
}

/// Copies `n` bytes.
///
/// # Safety
/// The AEABI contract: as `copy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memcpy(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { copy(dest, src, n) };
}

/// As `__aeabi_memcpy`.
///
/// # Safety
/// The AEABI contract: as `copy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memcpy4(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { copy(dest, src, n) };
}

/// As `__aeabi_memcpy`.
///
/// # Safety
/// The AEABI contract: as `copy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memcpy8(dest: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { copy(dest, src, n) };
}

/// Sets `n` bytes to `c` (converted to a byte, as C does); `n` comes before `c`.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memset(dest: *mut u8, n: usize, c: i32) {
    // SAFETY: the same contract.
    unsafe { fill(dest, c as u8, n) };
}

/// As `__aeabi_memset`.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memset4(dest: *mut u8, n: usize, c: i32) {
    // SAFETY: the same contract.
    unsafe { fill(dest, c as u8, n) };
}

/// As `__aeabi_memset`.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memset8(dest: *mut u8, n: usize, c: i32) {
    // SAFETY: the same contract.
    unsafe { fill(dest, c as u8, n) };
}

/// Zeroes `n` bytes.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memclr(dest: *mut u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { fill(dest, 0, n) };
}

/// As `__aeabi_memclr`.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memclr4(dest: *mut u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { fill(dest, 0, n) };
}

/// As `__aeabi_memclr`.
///
/// # Safety
/// The AEABI contract: as `fill`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __aeabi_memclr8(dest: *mut u8, n: usize) {
    // SAFETY: the same contract.
    unsafe { fill(dest, 0, n) };
}
