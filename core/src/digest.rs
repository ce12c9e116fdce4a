//! A digest of a run's log: FNV-1a 64 over the CSV lines, in simulation order.
//!
//! Two hosts that run the same seed must write the same log; comparing one
//! `u64` is how a microcontroller with no file system proves it did. The digest
//! is taken over `"{record}\n"` for every record in the order the simulator
//! hands them out (machines interleaved, no header), each line written by
//! [`Record::write_line`] into a [`LINE_MAX`]-byte stack buffer and hashed:
//! no `core::fmt` and nothing allocated.

use core::convert::Infallible;
use core::fmt;

use crate::sim::Sink;
use crate::{LINE_MAX, Record, STAMPED_LINE_MAX, Stamp};

/// FNV-1a 64-bit: a byte-at-a-time hash, enough to tell two logs apart.
///
/// It implements [`fmt::Write`], so anything `Display` can be hashed with
/// `write!` and no buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Fnv1a {
    /// The FNV-1a 64-bit offset basis: the hash of no bytes.
    pub const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    /// The FNV-1a 64-bit prime.
    pub const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// The hash of no bytes.
    pub const fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    /// Hashes `bytes` after whatever was hashed before.
    pub const fn update(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(Self::PRIME);
            i += 1;
        }
        self.0 = hash;
    }

    /// The hash of every byte written so far.
    pub const fn value(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.update(s.as_bytes());
        Ok(())
    }
}

/// A [`Sink`] that keeps only the digest of the log text: each record's CSV
/// line and a `\n`, in the order the records arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DigestSink {
    hash: Fnv1a,
    records: u64,
}

impl DigestSink {
    /// The digest of an empty log.
    pub const fn new() -> Self {
        Self {
            hash: Fnv1a::new(),
            records: 0,
        }
    }

    /// The FNV-1a 64 digest of the log so far.
    pub const fn value(&self) -> u64 {
        self.hash.value()
    }

    /// Records hashed so far.
    pub const fn records(&self) -> u64 {
        self.records
    }
}

impl<const M: usize, H: Stamp> Sink<M, H> for DigestSink {
    type Error = Infallible;

    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error> {
        // The same bytes as the log file's line.
        if H::COLUMNS.is_empty() {
            let mut buf = [0; LINE_MAX];
            self.hash.update(record.write_line(&mut buf));
        } else {
            let mut buf = [0; STAMPED_LINE_MAX];
            self.hash.update(record.write_stamped(&mut buf));
        }
        self.records += 1;
        Ok(())
    }
}

/// A [`Sink`] that hands every record to two sinks, `A` first; e.g. a CSV
/// writer and a [`DigestSink`] in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tee<A, B>(pub A, pub B);

/// Why a [`Tee`] could not take a record: which of its sinks refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeeError<A, B> {
    /// The first sink refused the record; the second never saw it.
    First(A),
    /// The second sink refused the record; the first had taken it.
    Second(B),
}

impl<A: fmt::Display, B: fmt::Display> fmt::Display for TeeError<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::First(e) => e.fmt(f),
            Self::Second(e) => e.fmt(f),
        }
    }
}

impl<A, B> core::error::Error for TeeError<A, B>
where
    A: core::error::Error + 'static,
    B: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::First(e) => e.source(),
            Self::Second(e) => e.source(),
        }
    }
}

impl<const M: usize, H, A: Sink<M, H>, B: Sink<M, H>> Sink<M, H> for Tee<A, B> {
    type Error = TeeError<A::Error, B::Error>;

    fn record(&mut self, record: &Record<M, H>) -> Result<(), Self::Error> {
        self.0.record(record).map_err(TeeError::First)?;
        self.1.record(record).map_err(TeeError::Second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Faults;
    use crate::sim::{Config, Sim};
    use std::string::String;

    fn fnv(bytes: &[u8]) -> u64 {
        let mut h = Fnv1a::new();
        h.update(bytes);
        h.value()
    }

    #[test]
    fn known_vectors() {
        // The reference vectors of the FNV specification (draft-eastlake-fnv).
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv1a::new();
        fmt::Write::write_str(&mut h, "foo").unwrap();
        fmt::Write::write_fmt(&mut h, format_args!("{}", "bar")).unwrap();
        assert_eq!(h.value(), fnv(b"foobar"));
    }

    /// Keeps each record's line, as the host's CSV writer would.
    #[derive(Default)]
    struct Lines(String);

    impl Sink for Lines {
        type Error = Infallible;
        fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
            use fmt::Write;
            let _ = writeln!(self.0, "{record}");
            Ok(())
        }
    }

    /// Refuses the n-th record, to see which side of a tee reports it.
    struct RefuseAt(u64, u64);

    impl Sink for RefuseAt {
        type Error = u64;
        fn record(&mut self, _: &Record) -> Result<(), u64> {
            self.1 += 1;
            if self.1 == self.0 {
                Err(self.1)
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn the_digest_is_fnv_of_the_log_text_in_order() {
        let mut config = Config::new(7, [1, 6, 6]);
        config.sides = 4;
        config.duration_ns = 20_000_000_000;
        let mut sim = Sim::<4, 2>::new(config, Faults::none()).unwrap();
        let mut tee = Tee(Lines::default(), DigestSink::new());
        let report = sim.run(&mut tee).unwrap();
        let Tee(Lines(text), digest) = tee;
        let ticks: u64 = report.machines().iter().map(|m| m.tally.ticks).sum();
        assert_eq!(digest.records(), ticks);
        assert_eq!(text.lines().count() as u64, ticks);
        assert_eq!(digest.value(), fnv(text.as_bytes()));
        // Another seed, another log, another digest.
        config.seed = 8;
        let mut other = DigestSink::new();
        Sim::<4, 2>::new(config, Faults::none())
            .unwrap()
            .run(&mut other)
            .unwrap();
        assert_ne!(other.value(), digest.value());
    }

    #[test]
    fn an_empty_log_digests_to_the_offset_basis() {
        assert_eq!(DigestSink::new().value(), Fnv1a::OFFSET_BASIS);
        assert_eq!(DigestSink::default(), DigestSink::new());
    }

    #[test]
    fn a_tee_stops_at_the_first_refusal() {
        let mut config = Config::new(1, [3, 3, 3]);
        config.duration_ns = 2_000_000_000;
        let mut tee = Tee(RefuseAt(u64::MAX, 0), RefuseAt(5, 0));
        let err = Sim::<4, 4>::new(config, Faults::none())
            .unwrap()
            .run(&mut tee)
            .unwrap_err();
        assert_eq!(err, crate::sim::SimError::Sink(TeeError::Second(5)));
        assert_eq!(
            tee.0.1, 5,
            "the first sink took the record the second refused"
        );
        let mut tee = Tee(RefuseAt(3, 0), RefuseAt(u64::MAX, 0));
        let err = Sim::<4, 4>::new(config, Faults::none())
            .unwrap()
            .run(&mut tee)
            .unwrap_err();
        assert_eq!(err, crate::sim::SimError::Sink(TeeError::First(3)));
        assert_eq!(tee.1.1, 2, "the second sink never saw the refused record");
    }
}
