//! Hosts one [`scalemodel_core::node::Node`] in a mio event loop over
//! non-blocking TCP.
//!
//! This crate moves bytes, time and nothing else: it accepts and dials
//! sockets, reads and writes them within per-turn budgets, wakes the node on
//! time and stops it on request. Every rule of the link protocol (the
//! handshake, the start barrier, `seq`, `Bye`, the accounting, the timeouts
//! and the end status) is the core node's; this crate never looks inside a
//! frame. One thread, one `Poll`, no blocking calls.

mod clockmap;
mod host;
pub mod in_place;
mod node;
mod socket;
pub mod timer;
pub mod wake;

pub use host::{Handle, Host, Note, Start};
pub use node::{ACCEPT_BACKOFF_NS, Capacity, Config, Core, NewError, Node, NodeError};
pub use wake::Wait;
