//! Large values built in their allocation, from zero bytes: a node's core,
//! and the simulator of the `sim`, `swarm` and `study` commands.
//!
//! Safe Rust cannot construct a value in place: `Box::new(Core::new(..))`
//! builds the core and then moves it, and whether the compiler writes it
//! straight into the allocation is up to its optimiser. For three machines
//! it did; with the links an array of `M`, it built the whole core on the
//! stack first (0.9 MB for `M = 3`, 2.6 MB for `M = 16`), which stayed in the
//! node's peak RSS; a simulator of sixteen machines with the default queues
//! is about 100 MB. So the allocation is asked for zeroed (fresh pages,
//! untouched until written) and the core's safe `reset`
//! ([`Node::reset`](scalemodel_core::node::Node::reset),
//! [`Sim::reset`](scalemodel_core::sim::Sim::reset)) sets every field as
//! `new` would. That needs `unsafe` once, and it is sound:
//!
//! - All-zero bytes are a valid value of each type built here: rustc checks
//!   it at compile time, since the value of every constant is validated
//!   against its type (an enum whose tags exclude 0, a reference or a
//!   `NonZero` inside would not compile). The firmware's static simulator
//!   rests on the same check. A simulator is checked at the smallest queue
//!   capacities: the capacities are array lengths, which change how many
//!   values of each type it holds and not which types, so the check holds
//!   for every capacity.
//! - They are a safe value to reset: zero is the empty state of heapless'
//!   `Vec` (`len` 0) and `Deque` (`front` = `back` = 0, not `full`), the
//!   only containers in them, so the drops and `clear`s that `reset` does
//!   touch nothing.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};

use scalemodel_core::node::{CONNS, CONNS_MAX};
use scalemodel_core::{ConfigError, Hlc, MACHINES_MAX, Stamp, VectorClock};

use scalemodel_core::sim::{Sim, Standard};

use crate::Core;

/// A type that [`zeroed`] builds: all-zero bytes are a valid value.
pub trait InPlace: sealed::Zeroable {}

/// A core capacity a [`crate::Node`] may have: three machines with
/// [`CONNS`] connection slots, or sixteen with [`CONNS_MAX`].
pub trait Capacity: InPlace {}

mod sealed {
    /// # Safety
    ///
    /// All-zero bytes are a valid `Self`.
    pub unsafe trait Zeroable {}

    /// A simulator's width whose all-zero value was checked.
    pub trait Width {}

    /// A carried clock whose all-zero simulators were checked.
    pub trait Stamp {}
}

macro_rules! capacity {
    ($($m:expr, $c:expr, $s:ty);* $(;)?) => {$(
        // SAFETY: see the module's doc; this constant is never used, only
        // evaluated and validated at compile time.
        const _: Core<{ $m }, { $c }, $s> = unsafe { std::mem::zeroed() };
        // SAFETY: checked by the constant above.
        unsafe impl sealed::Zeroable for Core<{ $m }, { $c }, $s> {}
        impl InPlace for Core<{ $m }, { $c }, $s> {}
        impl Capacity for Core<{ $m }, { $c }, $s> {}
    )*};
}

/// The vector clock of a node of `M` machines.
type Vector<const M: usize> = VectorClock<M>;
const WIDE: usize = MACHINES_MAX as usize;

capacity!(
    3, CONNS, ();
    3, CONNS, Hlc;
    3, CONNS, Vector<3>;
    WIDE, CONNS_MAX, ();
    WIDE, CONNS_MAX, Hlc;
    WIDE, CONNS_MAX, Vector<WIDE>;
);

/// The machines `M` and connection slots `C` of a simulator.
#[derive(Debug)]
pub struct Width<const M: usize, const C: usize>;

/// A [`Width`] of simulator that [`zeroed`] builds: three machines with
/// [`CONNS`] slots, or up to sixteen with sixteen (each node's fifteen links
/// and a stranger).
pub trait SimWidth: sealed::Width {}

macro_rules! simulator {
    ($($m:expr, $c:expr);* $(;)?) => {$(
        // SAFETY: see the module's doc: checked at the smallest capacities,
        // which hold the same types as every other.
        const _: Sim<1, 1, Standard, { $m }, { $c }> = unsafe { std::mem::zeroed() };
        // SAFETY: as above, for the simulator carrying an HLC.
        const _: Sim<1, 1, Standard, { $m }, { $c }, Hlc> = unsafe { std::mem::zeroed() };
        // SAFETY: as above, for the simulators carrying a vector clock.
        const _: Sim<1, 1, Standard, { $m }, { $c }, Vector<3>> = unsafe { std::mem::zeroed() };
        const _: Sim<1, 1, Standard, { $m }, { $c }, Vector<WIDE>> =
            unsafe { std::mem::zeroed() };
        impl sealed::Width for Width<{ $m }, { $c }> {}
        impl SimWidth for Width<{ $m }, { $c }> {}
    )*};
}

simulator!(3, CONNS; MACHINES_MAX as usize, MACHINES_MAX as usize);

/// The clocks a simulator may carry beside Lamport's: none, an HLC, or a
/// vector clock of three or sixteen machines.
pub trait SimStamp: Stamp + sealed::Stamp {}

impl sealed::Stamp for () {}
impl SimStamp for () {}
impl sealed::Stamp for Hlc {}
impl SimStamp for Hlc {}
impl sealed::Stamp for Vector<3> {}
impl SimStamp for Vector<3> {}
impl sealed::Stamp for Vector<WIDE> {}
impl SimStamp for Vector<WIDE> {}

// SAFETY: checked by the constants above for each `SimWidth` and
// `SimStamp`, for every capacity.
unsafe impl<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>
    sealed::Zeroable for Sim<INBOX, LINK, Standard, M, C, H>
where
    Width<M, C>: SimWidth,
{
}

impl<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp> InPlace
    for Sim<INBOX, LINK, Standard, M, C, H>
where
    Width<M, C>: SimWidth,
{
}

/// A `T` of zero bytes in its own allocation, to be reset before use; its
/// pages are not touched until they are written.
pub fn zeroed<T: InPlace>() -> Box<T> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // SAFETY: a zero-sized `T` has no bytes to be invalid (`InPlace`),
        // and a dangling, aligned pointer is `Box`'s own for it. (Not
        // `Box::new(zeroed())`: an unoptimised build reserves room for a `T`
        // on the stack for it, even when this branch is never taken.)
        return unsafe { Box::from_raw(std::ptr::NonNull::<T>::dangling().as_ptr()) };
    }
    // SAFETY: the layout is not zero-sized.
    let ptr = unsafe { alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: `ptr` is a zeroed allocation of the global allocator with
    // `Box`'s layout for the type, and zero bytes are a valid `T`
    // (`InPlace`).
    unsafe { Box::from_raw(ptr) }
}

/// A core of `config`, built in its allocation.
pub(crate) fn boxed<const M: usize, const C: usize, H: Stamp>(
    config: scalemodel_core::node::Config,
    now_ns: u64,
) -> Result<Box<Core<M, C, H>>, ConfigError>
where
    Core<M, C, H>: Capacity,
{
    let mut core = zeroed::<Core<M, C, H>>();
    core.reset(config, now_ns)?;
    Ok(core)
}
