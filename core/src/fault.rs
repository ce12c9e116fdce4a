//! Faults to inject into a simulated run: plain data, parsed from a short text.
//!
//! A schedule is a comma-separated list; times are model time since the
//! run's start, in seconds (`20s`, `1.5s`) or milliseconds (`250ms`):
//!
//! | text | fault |
//! | --- | --- |
//! | `crash M@T` | machine M dies at T: no `Bye`, its buffers are lost, its connections close |
//! | `stop M@T` | machine M ends cleanly at T, as on Ctrl-C (when paused: once it wakes) |
//! | `pause M@T1..T2` | machine M is frozen from T1 to T2: no ticks, no reading, no writing |
//! | `partition A-B@T1..T2` | the links between A and B hold their bytes from T1 to T2, then deliver |
//! | `garbage A>B@T` | bytes that decode to no frame are put on the link from A to B at T |

use core::fmt;
use core::str::FromStr;

use heapless::Vec;

use crate::MachineId;

/// The most faults one schedule holds.
pub const FAULTS_MAX: usize = 16;

/// One fault; times are model ns since the run's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The machine dies at `at_ns`.
    Crash {
        /// The machine.
        machine: MachineId,
        /// When.
        at_ns: u64,
    },
    /// The machine ends cleanly at `at_ns`.
    Stop {
        /// The machine.
        machine: MachineId,
        /// When.
        at_ns: u64,
    },
    /// The machine is frozen over `from_ns..until_ns`.
    Pause {
        /// The machine.
        machine: MachineId,
        /// From.
        from_ns: u64,
        /// Until.
        until_ns: u64,
    },
    /// Both links between `a` and `b` hold their bytes over `from_ns..until_ns`.
    Partition {
        /// One end.
        a: MachineId,
        /// The other end.
        b: MachineId,
        /// From.
        from_ns: u64,
        /// Until.
        until_ns: u64,
    },
    /// Undecodable bytes on the link `from → to` at `at_ns`.
    Garbage {
        /// The link's sender.
        from: MachineId,
        /// The link's receiver.
        to: MachineId,
        /// When.
        at_ns: u64,
    },
}

impl Fault {
    /// When the fault begins, in model ns.
    pub const fn at_ns(&self) -> u64 {
        match *self {
            Self::Crash { at_ns, .. } | Self::Stop { at_ns, .. } | Self::Garbage { at_ns, .. } => {
                at_ns
            }
            Self::Pause { from_ns, .. } | Self::Partition { from_ns, .. } => from_ns,
        }
    }
}

/// Why a fault schedule does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// More than [`FAULTS_MAX`] faults.
    TooMany,
    /// A fault of no known kind.
    UnknownKind,
    /// A fault without `@` and its time.
    MissingTime,
    /// A machine id that is not 0, 1 or 2.
    BadMachine,
    /// A link whose two ends are the same machine, or not written `A-B` / `A>B`.
    BadLink,
    /// A time that is not a number of seconds (`1.5s`) or milliseconds (`250ms`).
    BadTime,
    /// A span `T1..T2` whose end is not after its start.
    EmptySpan,
    /// A pause or partition without its span `T1..T2`, or a single time given a span.
    SpanExpected,
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooMany => "too many faults (at most 16)",
            Self::UnknownKind => "unknown fault; expected crash, stop, pause, partition or garbage",
            Self::MissingTime => "a fault needs `@` and its time, e.g. `crash 1@20s`",
            Self::BadMachine => "a machine id is a number from 0 to 15, below the run's machines",
            Self::BadLink => {
                "a link is two different machines, `A-B` (partition) or `A>B` (garbage)"
            }
            Self::BadTime => {
                "times are seconds or milliseconds of model time, e.g. `1.5s` or `250ms`"
            }
            Self::EmptySpan => "a span `T1..T2` must end after it starts",
            Self::SpanExpected => "pause and partition take a span `T1..T2`; the others one time",
        })
    }
}

impl core::error::Error for FaultError {}

/// A run's faults, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Faults(Vec<Fault, FAULTS_MAX>);

impl Faults {
    /// No faults.
    pub const fn none() -> Self {
        Self(Vec::new())
    }

    /// Adds a fault.
    pub fn push(&mut self, fault: Fault) -> Result<(), FaultError> {
        self.0.push(fault).map_err(|_| FaultError::TooMany)
    }

    /// The faults.
    pub fn as_slice(&self) -> &[Fault] {
        &self.0
    }

    /// The highest machine id any fault names, if any names one: a run of
    /// fewer machines cannot take these faults.
    pub fn highest_machine(&self) -> Option<MachineId> {
        self.0
            .iter()
            .flat_map(|f| match *f {
                Fault::Crash { machine, .. }
                | Fault::Stop { machine, .. }
                | Fault::Pause { machine, .. } => [machine, machine],
                Fault::Partition { a, b, .. } => [a, b],
                Fault::Garbage { from, to, .. } => [from, to],
            })
            .max()
    }
}

impl FromStr for Faults {
    type Err = FaultError;

    /// Parses `crash 1@20s, partition 0-2@5s..15s, …` (see the module doc).
    fn from_str(s: &str) -> Result<Self, FaultError> {
        let mut faults = Self::none();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            faults.push(parse_fault(item)?)?;
        }
        Ok(faults)
    }
}

fn parse_fault(item: &str) -> Result<Fault, FaultError> {
    let (kind, rest) = item
        .split_once(char::is_whitespace)
        .ok_or(FaultError::UnknownKind)?;
    let (who, when) = rest.split_once('@').ok_or(FaultError::MissingTime)?;
    let (who, when) = (who.trim(), when.trim());
    let span = match when.split_once("..") {
        Some((a, b)) => {
            let (from_ns, until_ns) = (parse_time(a)?, parse_time(b)?);
            if until_ns <= from_ns {
                return Err(FaultError::EmptySpan);
            }
            Some((from_ns, until_ns))
        }
        None => None,
    };
    let at = || match span {
        None => parse_time(when),
        Some(_) => Err(FaultError::SpanExpected),
    };
    let span = || span.ok_or(FaultError::SpanExpected);
    Ok(match kind {
        "crash" => Fault::Crash {
            machine: parse_machine(who)?,
            at_ns: at()?,
        },
        "stop" => Fault::Stop {
            machine: parse_machine(who)?,
            at_ns: at()?,
        },
        "pause" => {
            let (from_ns, until_ns) = span()?;
            Fault::Pause {
                machine: parse_machine(who)?,
                from_ns,
                until_ns,
            }
        }
        "partition" => {
            let (a, b) = parse_link(who, '-')?;
            let (from_ns, until_ns) = span()?;
            Fault::Partition {
                a,
                b,
                from_ns,
                until_ns,
            }
        }
        "garbage" => {
            let (from, to) = parse_link(who, '>')?;
            Fault::Garbage {
                from,
                to,
                at_ns: at()?,
            }
        }
        _ => return Err(FaultError::UnknownKind),
    })
}

fn parse_machine(s: &str) -> Result<MachineId, FaultError> {
    let n = s.trim().parse::<u8>().map_err(|_| FaultError::BadMachine)?;
    MachineId::new(n, crate::MACHINES_MAX).ok_or(FaultError::BadMachine)
}

fn parse_link(s: &str, sep: char) -> Result<(MachineId, MachineId), FaultError> {
    let (a, b) = s.split_once(sep).ok_or(FaultError::BadLink)?;
    let (a, b) = (parse_machine(a)?, parse_machine(b)?);
    if a == b {
        return Err(FaultError::BadLink);
    }
    Ok((a, b))
}

/// `1.5s` or `250ms` (model time) in ns, exactly: no floating point.
fn parse_time(s: &str) -> Result<u64, FaultError> {
    let s = s.trim();
    let (number, unit_ns) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000_000u64)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000_000)
    } else {
        return Err(FaultError::BadTime);
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) {
        return Err(FaultError::BadTime);
    }
    let whole: u64 = whole.parse().map_err(|_| FaultError::BadTime)?;
    let mut ns = whole.checked_mul(unit_ns).ok_or(FaultError::BadTime)?;
    let mut scale = unit_ns;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            return Err(FaultError::BadTime); // finer than a nanosecond
        }
        ns = ns
            .checked_add(u64::from(b - b'0') * scale)
            .ok_or(FaultError::BadTime)?;
    }
    Ok(ns)
}

/// Model ns as the shortest exact seconds, e.g. `1.5s`.
struct Secs(u64);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, mut frac) = (self.0 / 1_000_000_000, self.0 % 1_000_000_000);
        write!(f, "{whole}")?;
        if frac > 0 {
            let mut digits = 9;
            while frac % 10 == 0 {
                frac /= 10;
                digits -= 1;
            }
            write!(f, ".{frac:0digits$}")?;
        }
        f.write_str("s")
    }
}

impl fmt::Display for Fault {
    /// The text that parses back to this fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Crash { machine, at_ns } => write!(f, "crash {machine}@{}", Secs(at_ns)),
            Self::Stop { machine, at_ns } => write!(f, "stop {machine}@{}", Secs(at_ns)),
            Self::Pause {
                machine,
                from_ns,
                until_ns,
            } => write!(f, "pause {machine}@{}..{}", Secs(from_ns), Secs(until_ns)),
            Self::Partition {
                a,
                b,
                from_ns,
                until_ns,
            } => write!(f, "partition {a}-{b}@{}..{}", Secs(from_ns), Secs(until_ns)),
            Self::Garbage { from, to, at_ns } => write!(f, "garbage {from}>{to}@{}", Secs(at_ns)),
        }
    }
}

impl fmt::Display for Faults {
    /// The schedule's text, faults joined by `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn the_issue_example_parses_and_prints_back() {
        let text = "crash 1@20s, partition 0-2@5s..15s, pause 2@30s..35s";
        let faults: Faults = text.parse().unwrap();
        assert_eq!(
            faults.as_slice(),
            [
                Fault::Crash {
                    machine: MachineId::ONE,
                    at_ns: 20_000_000_000
                },
                Fault::Partition {
                    a: MachineId::ZERO,
                    b: MachineId::TWO,
                    from_ns: 5_000_000_000,
                    until_ns: 15_000_000_000
                },
                Fault::Pause {
                    machine: MachineId::TWO,
                    from_ns: 30_000_000_000,
                    until_ns: 35_000_000_000
                },
            ]
        );
        assert_eq!(faults.to_string(), text);
        let more: Faults = "stop 0@1.5s,garbage 2>1@250ms".parse().unwrap();
        assert_eq!(more.to_string(), "stop 0@1.5s, garbage 2>1@0.25s");
        assert_eq!(more.to_string().parse::<Faults>().unwrap(), more);
        assert_eq!("".parse::<Faults>().unwrap(), Faults::none());
    }

    #[test]
    fn bad_schedules_name_the_problem() {
        let cases = [
            ("explode 1@2s", FaultError::UnknownKind),
            ("crash 1", FaultError::MissingTime),
            ("crash 16@2s", FaultError::BadMachine),
            ("crash 1@2", FaultError::BadTime),
            ("crash 1@-2s", FaultError::BadTime),
            ("crash 1@1.0000000001s", FaultError::BadTime),
            ("crash 1@99999999999999999s", FaultError::BadTime),
            ("pause 1@2s", FaultError::SpanExpected),
            ("crash 1@2s..3s", FaultError::SpanExpected),
            ("pause 1@3s..2s", FaultError::EmptySpan),
            ("partition 1-1@1s..2s", FaultError::BadLink),
            ("garbage 1-2@1s", FaultError::BadLink),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<Faults>(), Err(err), "{text}");
        }
        let many = ["stop 0@1s"; FAULTS_MAX + 1].join(",");
        assert_eq!(many.parse::<Faults>(), Err(FaultError::TooMany));
    }
}
