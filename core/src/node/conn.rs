//! A connection slot: its state, its decoder and its handshake bytes.

use heapless::Vec;

use crate::MachineId;
use crate::wire::{self, Challenge, Decoder, Frame, MAX_FRAME_LEN};

/// Handshake bytes a slot holds: the one frame it sends before its link is
/// up, and the `Proof` that may follow a `Hello`.
const HANDSHAKE_OUT: usize = 2 * MAX_FRAME_LEN;

/// Where a slot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Unused.
    Free,
    /// The host is connecting to the next machine (slot 0 only).
    Dialing {
        /// When to give up this attempt (a peer that drops packets never
        /// refuses), on the host's clock.
        deadline_ns: u64,
    },
    /// Connected; `Hello` sent, waiting for `Welcome`.
    Calling {
        /// Our challenge.
        challenge: Challenge,
        /// When the handshake must be done, on the host's clock.
        deadline_ns: u64,
    },
    /// Accepted; waiting for `Hello`.
    Accepted {
        /// When the handshake must be done.
        deadline_ns: u64,
    },
    /// `Hello` came and `Welcome` went; waiting for `Proof`.
    Answering {
        /// Who the caller claims to be.
        claimed: MachineId,
        /// The caller's challenge.
        theirs: Challenge,
        /// Our challenge.
        ours: Challenge,
        /// When the handshake must be done.
        deadline_ns: u64,
    },
    /// The link to this peer.
    Up(MachineId),
    /// The host was asked to close it and has not said it did.
    Closing,
}

/// One connection slot.
#[derive(Debug, Clone)]
pub(super) struct Conn {
    pub(super) state: State,
    pub(super) decoder: Decoder,
    /// Handshake bytes not yet transmitted, from `out_off`.
    out: Vec<u8, HANDSHAKE_OUT>,
    out_off: usize,
    /// When the slot was taken, for evicting the oldest stranger.
    pub(super) opened_ns: u64,
}

impl Conn {
    pub(super) const FREE: Self = Self {
        state: State::Free,
        decoder: Decoder::new(),
        out: Vec::new(),
        out_off: 0,
        opened_ns: 0,
    };

    /// Takes a free slot for a new connection.
    pub(super) fn open(&mut self, state: State, now_ns: u64) {
        *self = Self::FREE;
        self.state = state;
        self.opened_ns = now_ns;
    }

    /// The handshake deadline, while there is one.
    pub(super) const fn deadline_ns(&self) -> Option<u64> {
        match self.state {
            State::Calling { deadline_ns, .. }
            | State::Dialing { deadline_ns }
            | State::Accepted { deadline_ns }
            | State::Answering { deadline_ns, .. } => Some(deadline_ns),
            State::Free | State::Up(_) | State::Closing => None,
        }
    }

    /// Not yet proven: a stranger until the handshake succeeds.
    pub(super) const fn is_unproven(&self) -> bool {
        matches!(
            self.state,
            State::Accepted { .. } | State::Answering { .. } | State::Calling { .. }
        )
    }

    /// Queues a handshake frame; false if it did not fit (never, by the bound).
    pub(super) fn queue(&mut self, frame: &Frame) -> bool {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let Ok(bytes) = wire::encode(frame, &mut buf) else {
            return false;
        };
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
        }
        self.out.extend_from_slice(bytes).is_ok()
    }

    /// Handshake bytes waiting.
    pub(super) fn pending(&self) -> &[u8] {
        self.out.get(self.out_off..).unwrap_or_default()
    }

    /// The host transmitted `n` of them; returns what was left of `n`.
    pub(super) fn consume(&mut self, n: usize) -> usize {
        let take = n.min(self.out.len() - self.out_off);
        self.out_off += take;
        n - take
    }
}
