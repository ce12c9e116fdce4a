//! The core built in its allocation, from zero bytes.
//!
//! Safe Rust cannot construct a value in place: `Box::new(Core::new(..))`
//! builds the core and then moves it, and whether the compiler writes it
//! straight into the allocation is up to its optimiser. For three machines
//! it did; with the links an array of `M`, it built the whole core on the
//! stack first (0.9 MB for `M = 3`, 2.6 MB for `M = 16`), which stayed in the
//! node's peak RSS. So the allocation is asked for zeroed (fresh pages,
//! untouched until written) and [`Node::reset`](scalemodel_core::node::Node::reset),
//! safe code in the core, sets every field as `Node::new` would. That needs
//! `unsafe` once, and it is sound:
//!
//! - All-zero bytes are a valid core of each capacity a node may have:
//!   rustc checks it at compile time, since the value of every constant is
//!   validated against its type (an enum whose tags exclude 0, a reference
//!   or a `NonZero` inside would not compile). The firmware's static
//!   simulator rests on the same check.
//! - They are a safe value to reset: zero is the empty state of heapless'
//!   `Vec` (`len` 0) and `Deque` (`front` = `back` = 0, not `full`), the
//!   only containers in it, so the drops and `clear`s that `reset` does
//!   touch nothing.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};

use scalemodel_core::node::{CONNS, CONNS_MAX};
use scalemodel_core::{ConfigError, MACHINES_MAX};

use super::Core;

/// A core capacity a [`super::Node`] may have: three machines with
/// [`CONNS`] connection slots, or sixteen with [`CONNS_MAX`].
pub trait Capacity: sealed::Zeroable {}

mod sealed {
    /// # Safety
    ///
    /// All-zero bytes are a valid `Self`.
    pub unsafe trait Zeroable {}
}

macro_rules! capacity {
    ($($m:expr, $c:expr);* $(;)?) => {$(
        // SAFETY: see the module's doc; this constant is never used, only
        // evaluated and validated at compile time.
        const _: Core<{ $m }, { $c }> = unsafe { std::mem::zeroed() };
        // SAFETY: checked by the constant above.
        unsafe impl sealed::Zeroable for Core<{ $m }, { $c }> {}
        impl Capacity for Core<{ $m }, { $c }> {}
    )*};
}

capacity!(3, CONNS; MACHINES_MAX as usize, CONNS_MAX);

/// A core of `config`, built in its allocation.
pub(super) fn boxed<const M: usize, const C: usize>(
    config: scalemodel_core::node::Config,
    now_ns: u64,
) -> Result<Box<Core<M, C>>, ConfigError>
where
    Core<M, C>: Capacity,
{
    let layout = Layout::new::<Core<M, C>>();
    // SAFETY: the layout is not zero-sized (the core holds its inbox).
    let ptr = unsafe { alloc::alloc_zeroed(layout) }.cast::<Core<M, C>>();
    if ptr.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: `ptr` is a zeroed allocation of the global allocator with
    // `Box`'s layout for the type, and zero bytes are a valid core
    // (`Capacity`).
    let mut core = unsafe { Box::from_raw(ptr) };
    core.reset(config, now_ns)?;
    Ok(core)
}
