//! What the loop tells its host, and how the host steers the loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mio::Waker;
use scalemodel_core::node::CloseReason;
use scalemodel_core::{MachineId, Record, Stamp};

/// Something the node reported that the host may log, as typed data; the
/// host words it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A peer proved the run's key: its link is up.
    Joined(MachineId),
    /// A connection that never joined the run was closed.
    Rejected {
        /// The other end's address, when the socket knew it.
        addr: Option<SocketAddr>,
        /// Why the node closed it.
        reason: CloseReason,
    },
    /// An accept failed, for want of a resource (most often "too many open
    /// files"): the connection waits in the listener's backlog, and the
    /// loop tries again after [`crate::ACCEPT_BACKOFF_NS`].
    AcceptFailed {
        /// The error's OS code, when it has one.
        os_error: Option<i32>,
        /// Its kind, when it has no OS code.
        kind: std::io::ErrorKind,
        /// Accepts that failed so far, this one included.
        count: u64,
    },
    /// A peer's link ended before a clean end of the run.
    PeerLost {
        /// The peer.
        peer: MachineId,
        /// Model ns since the start, if the run had started.
        at_model_ns: Option<u64>,
        /// Why.
        reason: CloseReason,
    },
    /// The start's Unix time was mapped to the monotonic clock, within
    /// ±`error_ns` (half the narrowest bracket of the Unix clock's reading
    /// between two monotonic ones).
    ClockMapped {
        /// The mapping's error bound in ns.
        error_ns: u64,
    },
}

/// What the loop hands its host as the run goes.
pub trait Host {
    /// Why the host could not keep a record (or flush what it kept).
    type Error;
    /// One event's record, in order (of a run of at most `M` machines).
    fn record<const M: usize, H: Stamp>(
        &mut self,
        record: &Record<M, H>,
    ) -> Result<(), Self::Error>;
    /// The start barrier passed: both links are up and both peers ready.
    fn ready(&mut self) {}
    /// Something worth logging.
    fn note(&mut self, _note: &Note) {}
    /// Hands every record kept so far to the operating system. The loop
    /// calls it after a send's record and before the send's frame can reach
    /// a socket, so that a record reaches the kernel before the frame it
    /// logs: a process killed at any instant leaves no peer with a receive
    /// whose send is missing from the logs.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    /// The loop is about to wait: a good moment to flush the log, so that it
    /// is readable while the run goes.
    fn idle(&mut self) -> Result<(), Self::Error> {
        self.flush()
    }
}

/// When model time 0 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At this Unix time in ns (a hand-started node's `--start-at`).
    At(u64),
    /// When [`Handle::start_at`] says (the launcher's `start` line).
    Handed,
}

/// Tells a running loop to start or stop, from another thread.
#[derive(Debug, Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) waker: Arc<Waker>,
}

/// The flags a [`Handle`] sets and the loop reads once per turn.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    stop: AtomicBool,
    /// Unix ns of model time 0; 0 until handed.
    start_unix_ns: AtomicU64,
}

impl Shared {
    /// True once [`Handle::stop`] was called.
    pub(crate) fn stop_asked(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// The start time [`Handle::start_at`] handed, if it did.
    pub(crate) fn start_unix_ns(&self) -> Option<u64> {
        match self.start_unix_ns.load(Ordering::SeqCst) {
            0 => None,
            t => Some(t),
        }
    }
}

impl Handle {
    /// Ends the run cleanly as soon as possible: the node says `Bye` on its
    /// links and reports itself interrupted.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Sets model time 0 to Unix time `unix_ns` (for [`Start::Handed`]).
    pub fn start_at(&self, unix_ns: u64) {
        // 0 means "not yet"; 1 ns after 1970 is as far in the past as 0.
        self.shared
            .start_unix_ns
            .store(unix_ns.max(1), Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        // A wake-up can only fail once the loop and its poll are gone, when
        // there is nobody left to wake; the flag is set either way.
        let _ = self.waker.wake();
    }
}
