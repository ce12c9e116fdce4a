//! What a node tells its host, and how the host steers it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mio::Waker;
use scalemodel_core::{MachineId, N, Record, Tally};

/// Something the host should know, e.g. to log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A connection was closed before it joined the run.
    Rejected {
        /// Who connected.
        addr: Option<SocketAddr>,
        /// Why it was closed.
        why: String,
    },
    /// A peer's connection broke before its `Bye`.
    PeerLost {
        /// The peer.
        peer: MachineId,
        /// Model ns since the start (0 before the start).
        at_model_ns: u64,
        /// How it broke.
        why: String,
    },
    /// A peer broke the protocol on an established link.
    Protocol {
        /// The peer.
        peer: MachineId,
        /// What it did.
        what: String,
    },
    /// A peer sent no `Bye` within the bound after the end.
    NoBye {
        /// The peer.
        peer: MachineId,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected { addr: Some(a), why } => {
                write!(f, "rejected a connection from {a}: {why}")
            }
            Self::Rejected { addr: None, why } => write!(f, "rejected a connection: {why}"),
            Self::PeerLost {
                peer,
                at_model_ns,
                why,
            } => write!(
                f,
                "lost machine {peer} at model time {:.3} s: {why}",
                *at_model_ns as f64 / 1e9
            ),
            Self::Protocol { peer, what } => {
                write!(f, "protocol error from machine {peer}: {what}")
            }
            Self::NoBye { peer } => write!(f, "machine {peer} sent no Bye before the bound"),
        }
    }
}

/// What the node tells its host as the run goes.
pub trait Host {
    /// Why a record could not be kept.
    type Error;
    /// One event's record, in order.
    fn record(&mut self, record: &Record) -> Result<(), Self::Error>;
    /// The barrier passed: all three links are up.
    fn ready(&mut self) {}
    /// Something worth logging.
    fn note(&mut self, note: &Note) {
        let _ = note;
    }
    /// The loop is about to wait: a good moment to flush the log, so that it
    /// is readable while the run goes and survives the process being killed.
    fn idle(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How a machine's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It ran to the end and both peers said `Bye`.
    Completed,
    /// It was told to stop.
    Interrupted,
    /// A peer was lost (or ended early, or sent no `Bye`).
    PeerLost,
}

/// One peer's side of the accounting, as this machine saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeerReport {
    /// `Clock` messages this machine logged as sent to the peer.
    pub sent: u64,
    /// Of those, never handed to the peer's socket because it was gone.
    pub undeliverable: u64,
    /// `Clock` messages the peer said it sent (its `Bye`), if it said.
    pub peer_sent: Option<u64>,
    /// Messages from the peer taken off the inbox (logged receives).
    pub received: u64,
    /// Messages from the peer left in the inbox at the end, or arrived after it.
    pub left: u64,
    /// Protocol errors on the link (bad frames, `seq` gaps or duplicates, a
    /// `Bye` that does not match).
    pub protocol_errors: u64,
    /// When the link broke, in model ns, if it did.
    pub lost_at_model_ns: Option<u64>,
}

/// How one node's run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// Counts from its records.
    pub tally: Tally,
    /// Unix time in ns of model time 0.
    pub start_unix_ns: u64,
    /// Each peer's accounting, by peer id (this machine's own entry stays empty).
    pub peers: [PeerReport; N],
    /// Times the machine stalled on a full outbox.
    pub stalls: u64,
    /// Wall ns it spent stalled.
    pub stalled_ns: u64,
    /// Times reading from a peer stopped because the inbox was full.
    pub held: u64,
    /// Wall ns from the node's creation to its first tick.
    pub first_tick_ns: Option<u64>,
    /// How it ended.
    pub end: End,
}

/// Tells a running node to start or stop, from another thread.
#[derive(Debug, Clone)]
pub struct Handle {
    pub(super) shared: Arc<Shared>,
    pub(super) waker: Arc<Waker>,
}

/// The flags a [`Handle`] sets and the node reads.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) stop: AtomicBool,
    pub(super) start_unix_ns: AtomicU64,
}

impl Handle {
    /// Ends the run cleanly as soon as possible: the machine says `Bye` and
    /// reports itself interrupted.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }

    /// Sets model time 0 to Unix time `unix_ns` (for [`Start::Handed`]).
    pub fn start_at(&self, unix_ns: u64) {
        self.shared
            .start_unix_ns
            .store(unix_ns.max(1), Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}
