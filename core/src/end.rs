//! How a machine's run ended, in one word: the one `End` of every host and
//! the simulator, and the word `params.json` records.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::node::Status;

/// How a machine's run ended: the core node's [`Status`], and `crashed`,
/// which only the simulator (or the launcher) can see from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// It ran to the end and the model held.
    Completed,
    /// It was stalled on a full link when the run ended.
    Stalled,
    /// It was told to stop (Ctrl-C, or its launcher went away).
    Interrupted,
    /// A peer was lost, ended early, said no `Bye` or broke the protocol.
    #[serde(rename = "peer lost")]
    PeerLost,
    /// It could not keep its schedule: ticks still owed at the run's end
    /// plus the catch-up grace, or more than [`crate::node::BEHIND_MAX`]
    /// ticks overdue at once in a run with more than
    /// [`crate::node::LATE_PERCENT_MAX`] in a hundred of its ticks late.
    Overloaded,
    /// Its Lamport clock would have passed `u64::MAX`.
    #[serde(rename = "clock overflow")]
    ClockOverflow,
    /// It died without a `Bye` (a fault).
    Crashed,
    /// Its links or the start barrier did not come up in time.
    #[serde(rename = "setup failed")]
    SetupFailed,
    /// No start time came after the barrier.
    #[serde(rename = "no start")]
    NoStart,
}

impl From<Status> for End {
    fn from(s: Status) -> Self {
        match s {
            Status::Completed => Self::Completed,
            Status::Interrupted => Self::Interrupted,
            Status::PeerLost => Self::PeerLost,
            Status::Stalled => Self::Stalled,
            Status::Overloaded => Self::Overloaded,
            Status::ClockOverflow => Self::ClockOverflow,
            Status::SetupFailed(_) => Self::SetupFailed,
            Status::NoStart => Self::NoStart,
        }
    }
}

impl End {
    /// The word `params.json` uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Crashed => "crashed",
            Self::Completed => Status::Completed.as_str(),
            Self::Stalled => Status::Stalled.as_str(),
            Self::Interrupted => Status::Interrupted.as_str(),
            Self::PeerLost => Status::PeerLost.as_str(),
            Self::Overloaded => Status::Overloaded.as_str(),
            Self::ClockOverflow => Status::ClockOverflow.as_str(),
            Self::SetupFailed => "setup failed",
            Self::NoStart => Status::NoStart.as_str(),
        }
    }
}

impl fmt::Display for End {
    /// The word `params.json` uses (padded to the width asked for).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Missing;

    #[test]
    fn an_end_says_its_status_word() {
        let missing = Missing {
            next: true,
            other: false,
        };
        for status in [
            Status::Completed,
            Status::Interrupted,
            Status::PeerLost,
            Status::Stalled,
            Status::Overloaded,
            Status::ClockOverflow,
            Status::SetupFailed(missing),
            Status::NoStart,
        ] {
            assert_eq!(End::from(status).as_str(), status.as_str());
        }
        assert_eq!(End::Crashed.as_str(), "crashed");
    }
}
