//! A broken rule, and the bounded list of them a check collects.

use std::fmt;

/// A rule of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The file's layout and fields.
    Format,
    /// Ticks count up from 0.
    TickOrder,
    /// Ticks are on their schedule.
    Schedule,
    /// The clock rules.
    Clock,
    /// Sends and internal events only with an empty inbox.
    EmptyInbox,
    /// A send's destinations, clock and numbering.
    Send,
    /// A machine sends only on its topology's links.
    Topology,
    /// Each receive matches one earlier send, in FIFO order.
    Match,
    /// Every message is accounted for.
    Conservation,
    /// `completed` only when the model held for the machine.
    End,
    /// What went wrong is explained by the faults that acted.
    Faults,
    /// No `Bye` miscount or `seq` gap, which no fault makes.
    Protocol,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Format => "format",
            Self::TickOrder => "tick order",
            Self::Schedule => "schedule",
            Self::Clock => "clock rule",
            Self::EmptyInbox => "empty inbox",
            Self::Send => "send",
            Self::Topology => "topology",
            Self::Match => "match",
            Self::Conservation => "conservation",
            Self::End => "end",
            Self::Faults => "faults",
            Self::Protocol => "protocol",
        })
    }
}

/// One broken rule, located as precisely as the rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The file it is in (`machine-1.csv`, `params.json`).
    pub file: String,
    /// The 1-based line in that file, when it is one line's fault.
    pub line: Option<usize>,
    /// The tick of that line.
    pub tick: Option<u64>,
    /// The rule.
    pub rule: Rule,
    /// What is wrong, with the numbers.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(tick) = self.tick {
            write!(f, " (tick {tick})")?;
        }
        write!(f, ": {}: {}", self.rule, self.detail)
    }
}

/// Violations kept to show; beyond these they are only counted, so that a
/// log broken on every line costs no more memory or report than this many.
pub const VIOLATIONS_KEPT: usize = 1000;

/// The violations found: every one counted, the first [`VIOLATIONS_KEPT`]
/// of each source (reading the logs, checking the rules) kept. Derefs to the
/// kept ones.
#[derive(Debug, Clone, Default)]
pub struct Violations {
    kept: Vec<Violation>,
    total: u64,
}

impl Violations {
    /// Counts `v`, and keeps it if fewer than [`VIOLATIONS_KEPT`] are kept.
    pub fn push(&mut self, v: Violation) {
        self.total = self.total.saturating_add(1);
        if self.kept.len() < VIOLATIONS_KEPT {
            self.kept.push(v);
        }
    }

    /// Every violation found, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Found but not kept.
    pub fn not_kept(&self) -> u64 {
        self.total.saturating_sub(self.kept.len() as u64)
    }

    /// Adds the violations of `other`, keeping every one it kept: a log
    /// broken on every line must not hide the rules another source broke.
    pub fn append(&mut self, other: Self) {
        self.total = self.total.saturating_add(other.total);
        self.kept.extend(other.kept);
    }

    /// Adds the violations of `other` under this list's bound: beyond
    /// [`VIOLATIONS_KEPT`] they are only counted, as if pushed one by one.
    pub fn merge(&mut self, other: Self) {
        let not_kept = other.not_kept();
        for v in other {
            self.push(v);
        }
        self.total = self.total.saturating_add(not_kept);
    }

    /// Kept ones and the total, from [`Violations::into_parts`].
    pub fn from_parts(kept: Vec<Violation>, total: u64) -> Self {
        let total = total.max(kept.len() as u64);
        Self { kept, total }
    }

    /// The kept violations and the total.
    pub fn into_parts(self) -> (Vec<Violation>, u64) {
        (self.kept, self.total)
    }
}

impl std::ops::Deref for Violations {
    type Target = [Violation];
    fn deref(&self) -> &[Violation] {
        &self.kept
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.kept.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many(n: usize) -> Violations {
        let mut v = Violations::default();
        for line in 0..n {
            v.push(Violation {
                file: "machine-0.csv".to_owned(),
                line: Some(line),
                tick: None,
                rule: Rule::Format,
                detail: String::new(),
            });
        }
        v
    }

    #[test]
    fn a_merge_keeps_within_the_bound_and_counts_every_one() {
        let mut v = many(VIOLATIONS_KEPT - 10);
        v.merge(many(VIOLATIONS_KEPT + 5));
        assert_eq!(v.len(), VIOLATIONS_KEPT);
        assert_eq!(v.total(), 2 * VIOLATIONS_KEPT as u64 - 5);
        // An append keeps what both kept.
        v.append(many(3));
        assert_eq!(v.len(), VIOLATIONS_KEPT + 3);
    }
}
