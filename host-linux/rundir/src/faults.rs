//! What `params.json` records of the faults that acted and of each machine's
//! protocol errors, so that the checker can tell an end a fault explains
//! from one nothing explains.

use std::collections::BTreeMap;

use scalemodel_core::fault::{Fault, Faults};
use scalemodel_core::node::{ErrorCounts, ProtocolError};
use serde::{Deserialize, Serialize};

/// One fault that acted on a run, in `params.json`'s `faults`: the
/// simulator's injected faults, or on the network what the launcher saw
/// (a node process that died, nodes it told to stop). Times are model ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultSummary {
    /// The machine died without a `Bye` (on the network: its process died;
    /// the time is then unknown).
    Crash {
        /// The machine.
        machine: u8,
        /// When, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ns: Option<u64>,
    },
    /// The machine was told to end cleanly (a `stop` fault, or Ctrl-C under
    /// `run`; the time is then unknown).
    Stop {
        /// The machine.
        machine: u8,
        /// When, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ns: Option<u64>,
    },
    /// The machine was frozen over `from_ns..until_ns`.
    Pause {
        /// The machine.
        machine: u8,
        /// From.
        from_ns: u64,
        /// Until.
        until_ns: u64,
    },
    /// The links between `a` and `b` held their bytes over `from_ns..until_ns`.
    Partition {
        /// One end.
        a: u8,
        /// The other end.
        b: u8,
        /// From.
        from_ns: u64,
        /// Until.
        until_ns: u64,
    },
    /// Undecodable bytes went on the link `from → to`.
    Garbage {
        /// The link's sender.
        from: u8,
        /// The link's receiver.
        to: u8,
        /// When.
        at_ns: u64,
    },
}

impl From<&Fault> for FaultSummary {
    fn from(f: &Fault) -> Self {
        match *f {
            Fault::Crash { machine, at_ns } => Self::Crash {
                machine: machine.get(),
                at_ns: Some(at_ns),
            },
            Fault::Stop { machine, at_ns } => Self::Stop {
                machine: machine.get(),
                at_ns: Some(at_ns),
            },
            Fault::Pause {
                machine,
                from_ns,
                until_ns,
            } => Self::Pause {
                machine: machine.get(),
                from_ns,
                until_ns,
            },
            Fault::Partition {
                a,
                b,
                from_ns,
                until_ns,
            } => Self::Partition {
                a: a.get(),
                b: b.get(),
                from_ns,
                until_ns,
            },
            Fault::Garbage { from, to, at_ns } => Self::Garbage {
                from: from.get(),
                to: to.get(),
                at_ns,
            },
        }
    }
}

impl FaultSummary {
    /// The faults of `faults` that acted (`missed[k]` says fault `k` did not).
    pub fn acted(faults: &Faults, missed: &[bool]) -> Vec<Self> {
        faults
            .as_slice()
            .iter()
            .enumerate()
            .filter(|&(k, _)| !missed.get(k).copied().unwrap_or(false))
            .map(|(_, f)| Self::from(f))
            .collect()
    }

    /// It crashed machine `id`.
    pub fn crashed(&self, id: u8) -> bool {
        matches!(*self, Self::Crash { machine, .. } if machine == id)
    }

    /// It acted on machine `id`, or on one of `id`'s links.
    pub fn touches(&self, id: u8) -> bool {
        match *self {
            Self::Crash { machine, .. }
            | Self::Stop { machine, .. }
            | Self::Pause { machine, .. } => machine == id,
            Self::Partition { a, b, .. } => a == id || b == id,
            Self::Garbage { from, to, .. } => from == id || to == id,
        }
    }
}

impl std::fmt::Display for FaultSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |ns: u64| ns as f64 / 1e9;
        match *self {
            Self::Crash {
                machine,
                at_ns: Some(t),
            } => write!(f, "crash: machine {machine} at {:.3} s", s(t)),
            Self::Crash {
                machine,
                at_ns: None,
            } => {
                write!(f, "crash: machine {machine} (its process died)")
            }
            Self::Stop {
                machine,
                at_ns: Some(t),
            } => write!(f, "stop: machine {machine} at {:.3} s", s(t)),
            Self::Stop {
                machine,
                at_ns: None,
            } => {
                write!(f, "stop: machine {machine} (told to stop)")
            }
            Self::Pause {
                machine,
                from_ns,
                until_ns,
            } => write!(
                f,
                "pause: machine {machine} from {:.3} s to {:.3} s",
                s(from_ns),
                s(until_ns)
            ),
            Self::Partition {
                a,
                b,
                from_ns,
                until_ns,
            } => write!(
                f,
                "partition: machines {a} and {b} from {:.3} s to {:.3} s",
                s(from_ns),
                s(until_ns)
            ),
            Self::Garbage { from, to, at_ns } => {
                write!(f, "garbage: on link {from}->{to} at {:.3} s", s(at_ns))
            }
        }
    }
}

/// Protocol errors by kind, as `params.json` and `node-<id>.json` spell
/// them (only the kinds that happened).
pub fn error_kinds(errors: &ErrorCounts) -> BTreeMap<String, u64> {
    (0..ProtocolError::KINDS)
        .filter_map(|k| {
            let count = *errors.0.get(k)?;
            (count > 0).then(|| (ProtocolError::kind_name(k).to_owned(), count))
        })
        .collect()
}

/// The kinds of protocol error only a broken peer makes: a `Bye` that
/// miscounts, and a `seq` gap or duplicate. No fault the model knows makes
/// them (garbage decodes to no frame), so any one is a bug.
pub fn never_expected(kind: &str) -> bool {
    let bye = ProtocolError::ByeCount { said: 0, came: 0 };
    let seq = ProtocolError::Seq {
        expected: 0,
        got: 0,
    };
    [bye, seq]
        .iter()
        .any(|e| ProtocolError::kind_name(e.kind()) == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_back_as_written_and_old_files_without_times_read() {
        let faults: Faults = "crash 1@2s, pause 0@1s..3s, garbage 2>0@500ms"
            .parse()
            .unwrap();
        let acted = FaultSummary::acted(&faults, &[false, true, false]);
        let json = serde_json::to_string(&acted).unwrap();
        assert_eq!(
            json,
            r#"[{"kind":"crash","machine":1,"at_ns":2000000000},{"kind":"garbage","from":2,"to":0,"at_ns":500000000}]"#
        );
        let back: Vec<FaultSummary> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, acted);
        let net: FaultSummary = serde_json::from_str(r#"{"kind":"crash","machine":2}"#).unwrap();
        assert_eq!(
            net,
            FaultSummary::Crash {
                machine: 2,
                at_ns: None
            }
        );
        assert!(net.crashed(2) && !net.crashed(1) && net.touches(2));
        assert_eq!(net.to_string(), "crash: machine 2 (its process died)");
        assert_eq!(acted[1].to_string(), "garbage: on link 2->0 at 0.500 s");
    }

    #[test]
    fn only_bye_and_seq_errors_are_never_expected() {
        let mut counts = ErrorCounts::default();
        counts.count(&ProtocolError::BadProof);
        counts.count(&ProtocolError::ByeCount { said: 3, came: 2 });
        let kinds = error_kinds(&counts);
        assert_eq!(kinds.len(), 2);
        let flagged: Vec<&String> = kinds.keys().filter(|k| never_expected(k)).collect();
        assert_eq!(flagged, ["Bye count"]);
        assert!(never_expected("seq out of order"));
    }
}
