//! Drives one [`scalemodel_core`] machine from a mio event loop over
//! non-blocking TCP: ring set-up, handshake, framing, backpressure, tick
//! deadlines and a clean end. One thread, one `Poll`, no blocking calls.

mod conn;
pub mod node;
pub mod timer;

pub use node::{Config, End, Handle, Host, Node, NodeError, NodeReport, Note, PeerReport, Start};
