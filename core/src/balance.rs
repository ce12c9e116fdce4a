//! The link balance, written once: every message sent on a directed link is
//! received, still queued, in flight or lost (counted where it was lost, or
//! inferred where nobody could count it).
//!
//! The simulator's report, `run`'s summary, the network merge and the checker
//! all ask [`balance`]; its sums are in `u128`, so that forged or huge counts
//! near `u64::MAX` can never wrap into a match.

use core::fmt;

/// The parts a link's `sent` must equal, each in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts {
    /// Taken off the receiver's inbox (logged receives).
    pub received: u64,
    /// Left in the receiver's inbox at its end.
    pub queued: u64,
    /// On the way when the model ended.
    pub in_flight: u64,
    /// Lost, and counted where it happened.
    pub lost: u64,
    /// Lost, but only inferred: nobody who could count it survived.
    pub inferred: u64,
}

impl Parts {
    /// The parts' sum, which cannot wrap.
    pub const fn total(&self) -> u128 {
        self.received as u128
            + self.queued as u128
            + self.in_flight as u128
            + self.lost as u128
            + self.inferred as u128
    }
}

/// A link that does not balance: which side is larger, and by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imbalance {
    /// More were sent than the parts account for.
    Missing {
        /// Messages sent and found nowhere.
        by: u128,
    },
    /// The parts account for more than were sent.
    Extra {
        /// Messages accounted for that were never sent.
        by: u128,
    },
}

impl fmt::Display for Imbalance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { by } => write!(f, "{by} sent but not accounted for"),
            Self::Extra { by } => write!(f, "{by} accounted for but never sent"),
        }
    }
}

impl core::error::Error for Imbalance {}

/// Checks `sent = received + queued + in_flight + lost + inferred`.
pub const fn balance(sent: u64, parts: &Parts) -> Result<(), Imbalance> {
    let total = parts.total();
    let sent = sent as u128;
    if sent > total {
        Err(Imbalance::Missing { by: sent - total })
    } else if total > sent {
        Err(Imbalance::Extra { by: total - sent })
    } else {
        Ok(())
    }
}

/// What remains of `sent` once the counted parts are taken away: the losses
/// nobody could count, or `None` when the counted parts already exceed it
/// (an overcount, which [`balance`] then reports).
pub const fn remainder(sent: u64, counted: &Parts) -> Option<u64> {
    let known = Parts {
        inferred: 0,
        ..*counted
    }
    .total();
    let sent = sent as u128;
    if known > sent {
        None
    } else {
        // sent - known <= sent <= u64::MAX.
        Some((sent - known) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn parts(received: u64, queued: u64, in_flight: u64, lost: u64, inferred: u64) -> Parts {
        Parts {
            received,
            queued,
            in_flight,
            lost,
            inferred,
        }
    }

    #[test]
    fn a_balanced_link_passes() {
        assert_eq!(balance(10, &parts(4, 3, 2, 1, 0)), Ok(()));
        assert_eq!(balance(0, &Parts::default()), Ok(()));
        assert_eq!(balance(10, &parts(4, 3, 2, 0, 1)), Ok(()));
    }

    #[test]
    fn the_larger_side_and_the_gap_are_named() {
        assert_eq!(
            balance(10, &parts(4, 3, 2, 0, 0)),
            Err(Imbalance::Missing { by: 1 })
        );
        assert_eq!(
            balance(10, &parts(4, 3, 2, 1, 5)),
            Err(Imbalance::Extra { by: 5 })
        );
    }

    #[test]
    fn huge_counts_never_wrap_into_a_match() {
        let max = u64::MAX;
        // In u64, MAX + 1 wraps to 0 and would "balance" a link that sent 0.
        assert_eq!(
            balance(0, &parts(max, 1, 0, 0, 0)),
            Err(Imbalance::Extra {
                by: u128::from(max) + 1
            })
        );
        assert_eq!(
            balance(max, &parts(max, max, max, max, max)),
            Err(Imbalance::Extra {
                by: 4 * u128::from(max)
            })
        );
        assert_eq!(balance(max, &parts(max - 3, 1, 1, 1, 0)), Ok(()));
        assert_eq!(
            balance(max, &Parts::default()),
            Err(Imbalance::Missing {
                by: u128::from(max)
            })
        );
    }

    #[test]
    fn the_remainder_is_what_the_counts_leave() {
        assert_eq!(remainder(10, &parts(4, 3, 2, 0, 99)), Some(1));
        assert_eq!(remainder(10, &parts(4, 3, 2, 2, 0)), None);
        let max = u64::MAX;
        assert_eq!(remainder(max, &parts(max, max, 0, 0, 0)), None);
        assert_eq!(remainder(max, &Parts::default()), Some(max));
    }
}
