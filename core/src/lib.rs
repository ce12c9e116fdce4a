//! The `no_std` core of scalemodel: a scale model of a small asynchronous
//! distributed system, for studying Lamport logical clocks.
//!
//! This crate holds all of the model's logic: the [`Clock`] (and the
//! hybrid logical clock [`Hlc`] beside it), the bounded
//! [`Inbox`], the [`Machine`] and its tick rule, the [`Die`] (which faces
//! send where, for a run's `n` machines and its [`Topology`]), the
//! per-machine random streams,
//! the wire codec ([`wire`]), the log [`Record`], the [`node`] (one machine
//! plus its link protocol: handshake, start barrier, numbered messages, clean
//! end, accounting and timeouts) and the deterministic simulator ([`sim`]).
//!
//! **Machines.** A run has `n` machines, `3 <= n <= 16`, a run-time count
//! ([`Die::machines`]); the types sized per machine ([`Machine`], [`Record`],
//! [`Sends`], [`Tally`]) take a capacity `M` (default 3) and hold arrays
//! `[T; M]` indexed by [`MachineId`]. With three machines and
//! [`Topology::All`] the model is the exercise's, byte for byte. The
//! [`node`] and the [`sim`] still run three machines (docs/MACHINES.md,
//! step 1).
//!
//! It never reads a clock, never touches a socket or a file and never
//! allocates: time, randomness and bytes are passed in, and what the model
//! decides comes back as plain data for the host to act on. The same code runs
//! in the simulator, behind real TCP sockets and on a microcontroller.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "arbitrary"))]
extern crate std;

mod arrays;
pub mod balance;
mod clock;
mod decimal;
mod die;
pub mod digest;
mod end;
pub mod fault;
mod hlc;
mod id;
mod inbox;
mod machine;
pub mod node;
mod record;
pub mod rng;
pub mod serial;
pub mod sim;
#[cfg(target_pointer_width = "64")]
mod skew;
mod stamp;
mod summary;
mod vector;
pub mod wire;

pub use clock::{Clock, ClockOverflow};
pub use decimal::Decimal;
pub use die::{Die, Face, Topology};
pub use end::End;
pub use hlc::{Hlc, HlcOverflow};
pub use id::{MACHINES_MAX, MACHINES_MIN, MachineId, N};
pub use inbox::Inbox;
pub use machine::{ConfigError, Machine, Message, due_ns, model_ns, period_ns, ticks_in};
pub use record::{Event, HEADER, LINE_MAX, Record, STAMP_MAX, STAMPED_LINE_MAX, Sends};
#[cfg(target_pointer_width = "64")]
pub use skew::ClockSkew;
pub use stamp::Stamp;
pub use summary::Tally;
pub use vector::{VectorClock, VectorError};
