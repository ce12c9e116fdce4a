//! A connection slot: its state, its decoder and its handshake bytes, and
//! the rule by which an unproven slot gives way to a newer connection.
//!
//! The rule ([`Conn::eviction_rank`]) keeps a peer's way in open against
//! strangers that hold sockets: a connection that has proved nothing goes
//! before one whose `Hello` proved the key, the oldest first, and never one
//! accepted at the current `now`. A stranger cannot prove the key, so its
//! `Hello` closes it at once (`bad proof`), and a connection that proved
//! nothing never outranks a peer's. Only a `Hello` that proves the key (a
//! peer's, or one replayed by someone on the path, who could as well reset
//! the connection) keeps its slot, for [`ANSWER_GRACE_NS`] and its handshake
//! deadline at most.

use heapless::Vec;

use crate::MachineId;
use crate::wire::{self, Challenge, Decoder, Frame, MAX_FRAME_LEN};

/// Handshake bytes a slot holds: the one frame it sends before its link is
/// up, and the `Proof` that may follow a `Hello`.
const HANDSHAKE_OUT: usize = 2 * MAX_FRAME_LEN;

/// How long a connection whose `Hello` proved the key (and got our `Welcome`)
/// keeps its slot against newer connections while its `Proof` is on the way:
/// a round trip on any network the model runs over. Its handshake deadline
/// still bounds it.
pub(super) const ANSWER_GRACE_NS: u64 = 200_000_000;

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
    /// A `Hello` that proves the key came and `Welcome` went; waiting for `Proof`.
    Answering {
        /// When the `Hello` came, on the host's clock.
        since_ns: u64,
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
    Closing {
        /// The peer whose link it carried, if it carried one: what the host
        /// still finds on it is that peer's, counted lost (see
        /// [`super::Node::handle_bytes`]).
        from: Option<MachineId>,
    },
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

    /// Takes a free slot for a new connection, whose frames are at most
    /// `frame_max` bytes (its run's longest: a longer one is an error at
    /// once).
    pub(super) fn open(&mut self, state: State, now_ns: u64, frame_max: usize) {
        *self = Self::FREE;
        self.state = state;
        self.opened_ns = now_ns;
        #[cfg(target_pointer_width = "64")]
        {
            self.decoder = Decoder::with_limit(frame_max);
        }
        #[cfg(not(target_pointer_width = "64"))]
        let _ = frame_max;
    }

    /// The handshake deadline, while there is one.
    pub(super) const fn deadline_ns(&self) -> Option<u64> {
        match self.state {
            State::Calling { deadline_ns, .. }
            | State::Dialing { deadline_ns }
            | State::Accepted { deadline_ns }
            | State::Answering { deadline_ns, .. } => Some(deadline_ns),
            State::Free | State::Up(_) | State::Closing { .. } => None,
        }
    }

    /// How readily this slot gives way to a newer connection: lower goes
    /// first; `None` for a slot that never does.
    ///
    /// Only accepted connections not yet bound to a link give way. One that
    /// proved nothing (no `Hello` yet: a `Hello` that does not prove the key
    /// closes its connection) goes before one whose `Hello` proved the key,
    /// which keeps its slot for [`ANSWER_GRACE_NS`] while its `Proof` comes;
    /// the oldest goes first. A slot opened at `now_ns` never gives way: its bytes have
    /// not been offered yet, so a burst of connections cannot push out a
    /// peer before its `Hello` is read.
    pub(super) const fn eviction_rank(&self, now_ns: u64) -> Option<(u8, u64)> {
        match self.state {
            State::Accepted { .. } if self.opened_ns < now_ns => Some((0, self.opened_ns)),
            State::Answering { since_ns, .. }
                if since_ns.saturating_add(ANSWER_GRACE_NS) <= now_ns =>
            {
                Some((1, self.opened_ns))
            }
            _ => None,
        }
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
    // Asked before every `Clock` frame a host polls: inlined on 64-bit
    // hosts, where the call cost more than the test. (Not on the firmware:
    // flash.)
    #[cfg_attr(target_pointer_width = "64", inline(always))]
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
