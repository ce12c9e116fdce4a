//! One log line, read: split into fields by the `csv` crate's parser (no
//! quoting: the format has none; `\n` alone ends a line; one field more than a
//! line has is refused, not split), the fields read by serde, and the row
//! checked. A line the fast path refuses is explained by [`explain`], which
//! names the first field that is wrong, with a short quote.

use std::marker::PhantomData;

use csv_core::{ReadRecordResult, Terminator};
use serde::Deserialize;

use super::LINE_BYTES_MAX;
use super::quote::quote;
use super::row::{Kind, Row};
use crate::MACHINES_MAX;

/// The columns of a log line, in order.
const COLUMNS: usize = 10;

/// A log line's fields as serde reads them: the numbers in decimal, the
/// event and the `;` lists as text for [`Line::into_row`] to check.
#[derive(Deserialize)]
struct Line<'a> {
    machine: Decimal<u8>,
    tick: Decimal<u64>,
    model_ns: Decimal<u64>,
    system_ns: Decimal<u64>,
    event: &'a str,
    clock: Decimal<u64>,
    queue_len: Decimal<u64>,
    peer: &'a str,
    /// Empty for an internal event.
    msg_clock: Option<Decimal<u64>>,
    seq: &'a str,
}

impl Line<'_> {
    /// The row, once the event and the lists check out.
    fn into_row(self, line: usize) -> Result<Row, String> {
        Ok(Row {
            line,
            kind: kind(self.event)?,
            machine: self.machine.0,
            tick: self.tick.0,
            model_ns: self.model_ns.0,
            system_ns: self.system_ns.0,
            clock: self.clock.0,
            queue_len: self.queue_len.0,
            peers: list("peer", self.peer)?,
            msg_clock: self.msg_clock.map(|m| m.0),
            seqs: list("seq", self.seq)?,
            hlc: None,
            vc: None,
        })
    }
}

/// A whole number written in decimal, as [`str::parse`] reads it: the csv
/// crate's own integers also take `0x` hexadecimal, which a log never holds.
struct Decimal<T>(T);

impl<'de, T: std::str::FromStr> Deserialize<'de> for Decimal<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(PhantomData<T>);
        impl<T: std::str::FromStr> serde::de::Visitor<'_> for Visitor<T> {
            type Value = Decimal<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                s.parse()
                    .map(Decimal)
                    .map_err(|_| E::custom("not a whole number"))
            }
        }
        d.deserialize_str(Visitor(PhantomData))
    }
}

/// Splits log lines into fields with the csv parser and reads them with
/// serde, reusing its buffers from line to line.
pub(super) struct LineReader {
    csv: csv_core::Reader,
    /// The fields' bytes, one after the other: never more than a line's.
    out: Vec<u8>,
    /// Where each field ends in `out`; one more field than a line has is
    /// refused, not split.
    ends: [usize; COLUMNS],
    record: csv::ByteRecord,
}

impl LineReader {
    pub(super) fn new() -> Self {
        let csv = csv_core::ReaderBuilder::new()
            .quoting(false)
            .terminator(Terminator::Any(b'\n'))
            .build();
        let mut reader = Self {
            csv,
            out: vec![0; LINE_BYTES_MAX],
            ends: [0; COLUMNS],
            record: csv::ByteRecord::with_capacity(LINE_BYTES_MAX, COLUMNS),
        };
        reader.restart();
        reader
    }

    /// A fresh parser that has read an (empty) line already: the csv parser
    /// drops a byte-order mark at the start of its first line, which a log
    /// line must not get away with.
    fn restart(&mut self) {
        self.csv.reset();
        self.csv.read_record(b"\n", &mut self.out, &mut self.ends);
    }

    /// How many fields `text` (one line, without `\n`) has; `None` when it
    /// has more than [`COLUMNS`].
    fn split(&mut self, text: &[u8]) -> Option<usize> {
        if text.is_empty() {
            // The csv parser skips empty lines; a log has none.
            self.ends[0] = 0;
            return Some(1);
        }
        let (mut input, mut ended) = (text, false);
        let (mut out, mut ends) = (0, 0);
        loop {
            // `InputEmpty` means all of `input` was used.
            let (result, _, used_out, used_ends) =
                self.csv
                    .read_record(input, &mut self.out[out..], &mut self.ends[ends..]);
            out += used_out;
            ends += used_ends;
            match result {
                ReadRecordResult::Record => return Some(ends),
                ReadRecordResult::InputEmpty if !ended => (input, ended) = (b"\n", true),
                // More fields than a line has: the parser stopped mid-line.
                _ => {
                    self.restart();
                    return None;
                }
            }
        }
    }

    /// The row on `line`, or what is wrong with it.
    pub(super) fn row(&mut self, line: usize, text: &str) -> Result<Row, String> {
        let bytes = text.as_bytes();
        match self.split(bytes) {
            None => {
                return Err(format!(
                    "expected {COLUMNS} fields, found more: {}",
                    quote(bytes)
                ));
            }
            Some(n) if n < COLUMNS => {
                return Err(format!(
                    "expected {COLUMNS} fields, found {n}: {}",
                    quote(bytes)
                ));
            }
            Some(_) => {}
        }
        self.record.clear();
        let mut start = 0;
        for &end in &self.ends {
            self.record.push_field(&self.out[start..end]);
            start = end;
        }
        match self.record.deserialize::<Line>(None) {
            Ok(fields) => fields.into_row(line),
            Err(_) => Err(explain(&self.record)),
        }
    }
}

/// Why serde refused a line's fields: the first one, event first, then in
/// column order, that is not what its column holds.
fn explain(record: &csv::ByteRecord) -> String {
    let field = |i| std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or_default();
    fn number<T: std::str::FromStr>(name: &str, s: &str) -> Result<(), String> {
        match s.parse::<T>() {
            Ok(_) => Ok(()),
            Err(_) => Err(not_a_number(name, s)),
        }
    }
    let checks = kind(field(4))
        .map(drop)
        .and_then(|()| number::<u8>("machine", field(0)))
        .and_then(|()| number::<u64>("tick", field(1)))
        .and_then(|()| number::<u64>("model_ns", field(2)))
        .and_then(|()| number::<u64>("system_ns", field(3)))
        .and_then(|()| number::<u64>("clock", field(5)))
        .and_then(|()| number::<u64>("queue_len", field(6)))
        .and_then(|()| list::<u8>("peer", field(7)).map(drop))
        .and_then(|()| match field(8) {
            "" => Ok(()),
            s => number::<u64>("msg_clock", s),
        })
        .and_then(|()| list::<u64>("seq", field(9)).map(drop));
    match checks {
        Err(detail) => detail,
        // Never: serde takes what the checks above take.
        Ok(()) => format!("does not parse: {}", quote(record.as_slice())),
    }
}

fn not_a_number(name: &str, s: &str) -> String {
    format!("`{name}` is {}, not a whole number", quote(s.as_bytes()))
}

/// The `event` column.
fn kind(event: &str) -> Result<Kind, String> {
    match event {
        "send" => Ok(Kind::Send),
        "receive" => Ok(Kind::Receive),
        "internal" => Ok(Kind::Internal),
        other => Err(format!(
            "`event` is {}, not send, receive or internal",
            quote(other.as_bytes())
        )),
    }
}

/// A `;`-joined column (`peer`, `seq`): empty, or one value per peer.
fn list<T: std::str::FromStr>(name: &str, s: &str) -> Result<Vec<T>, String> {
    if s.is_empty() {
        return Ok(vec![]);
    }
    // A send names at most every other machine of the largest run; the
    // checker holds a line to its own run's number.
    let parts = s.split(';');
    if parts.clone().count() > MACHINES_MAX - 1 {
        return Err(format!(
            "`{name}` lists more than {} values: {}",
            MACHINES_MAX - 1,
            quote(s.as_bytes())
        ));
    }
    parts
        .map(|p| p.parse().map_err(|_| not_a_number(name, p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_field_is_named_and_quoted() {
        let cases = [
            ("", "expected 10 fields, found 1: ``"),
            ("0,3,0", "expected 10 fields, found 3: `0,3,0`"),
            (
                "0x1,0,0,0,internal,1,0,,,",
                "`machine` is `0x1`, not a whole number",
            ),
            (
                "300,0,0,0,internal,1,0,,,",
                "`machine` is `300`, not a whole number",
            ),
            (
                "0,0,0,0,jump,1,x,,,",
                "`event` is `jump`, not send, receive",
            ),
            (
                "0,0,0,0,send,1,0,1;x,1,0",
                "`peer` is `x`, not a whole number",
            ),
            (
                "0,0,0,0,send,1,0,1;x,y,0",
                "`peer` is `x`, not a whole number",
            ),
            (
                "0,0,0,0,receive,1,0,1,y,0",
                "`msg_clock` is `y`, not a whole number",
            ),
            (
                "0,0,0,0,receive,1,0,1,2, 0",
                "`seq` is ` 0`, not a whole number",
            ),
            (
                "\u{feff}0,0,0,0,internal,1,0,,,",
                "`machine` is `\u{feff}0`",
            ),
            ("0,0,0,\"5\",internal,1,0,,,", "`system_ns` is `\"5\"`"),
            ("0,0,0,0\r,internal,1,0,,,", "`system_ns` is `0\\r`"),
        ];
        for (line, want) in cases {
            let detail = LineReader::new().row(2, line).unwrap_err();
            assert!(detail.starts_with(want), "{line}: {detail}");
        }
    }
}
