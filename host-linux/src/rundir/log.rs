//! Reading a run's logs as any tool would, with bounds: a log line longer
//! than [`LINE_BYTES_MAX`] is reported and skipped without being held, a bad
//! line is quoted by a short prefix only, and only the first
//! [`BAD_LINES_KEPT`] bad lines are kept, so that a hostile file costs memory
//! in proportion to its valid lines and a report stays small.
//!
//! The lines are read here, bounded, one at a time; each is split by the
//! `csv` crate's parser (no quoting: the format has none) and its fields read
//! by serde into a [`Row`]. A line the fast path refuses is explained by
//! [`explain`], which names the first field that is wrong.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::marker::PhantomData;
use std::path::Path;

use csv_core::{ReadRecordResult, Terminator};
use scalemodel_core::{HEADER, MachineId, N};
use serde::Deserialize;

use super::quote::{quote, quote_prefix};
use super::row::{Kind, Row};
use super::{Params, RunDirError, log_name};

/// The longest log line read, `\n` included: a valid line is at most
/// [`scalemodel_core::LINE_MAX`] (under 200) bytes, so anything longer is
/// garbage and is skipped without being held.
pub const LINE_BYTES_MAX: usize = 4096;

/// Bad lines kept per log; beyond these they are only counted.
pub const BAD_LINES_KEPT: usize = 1000;

/// A log line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The 1-based line in the file (the header is line 1).
    pub line: usize,
    /// What is wrong, with a short quote of the bad part.
    pub detail: String,
}

/// The bad lines of one log: every one counted, the first
/// [`BAD_LINES_KEPT`] kept. Derefs to the kept ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadLines {
    kept: Vec<BadLine>,
    total: u64,
}

impl BadLines {
    /// Counts `bad`, and keeps it if fewer than [`BAD_LINES_KEPT`] are kept.
    fn push(&mut self, bad: BadLine) {
        self.total = self.total.saturating_add(1);
        if self.kept.len() < BAD_LINES_KEPT {
            self.kept.push(bad);
        }
    }

    /// Every bad line found, kept or not.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl std::ops::Deref for BadLines {
    type Target = [BadLine];
    fn deref(&self) -> &[BadLine] {
        &self.kept
    }
}

/// One machine's log, read: the rows that parsed and the lines that did not.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// The lines that parsed, in order.
    pub rows: Vec<Row>,
    /// The lines that did not.
    pub bad: BadLines,
}

/// A run directory, read.
#[derive(Debug, Clone)]
pub struct Run {
    /// `params.json`.
    pub params: Params,
    /// Each machine's log, by id.
    pub logs: [Vec<Row>; N],
    /// Each machine's log lines that did not parse, by id.
    pub bad_lines: [BadLines; N],
}

/// Reads the run directory `dir`.
pub fn read_run(dir: &Path) -> Result<Run, RunDirError> {
    let params = Params::read(dir)?;
    let mut logs: [Vec<Row>; N] = Default::default();
    let mut bad_lines: [BadLines; N] = Default::default();
    for id in MachineId::ALL {
        let path = dir.join(log_name(id));
        let read = |source| RunDirError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read)?;
        let log = read_log(BufReader::with_capacity(1 << 16, file)).map_err(read)?;
        logs[id.index()] = log.rows;
        bad_lines[id.index()] = log.bad;
    }
    Ok(Run {
        params,
        logs,
        bad_lines,
    })
}

/// Parses one log held in memory.
pub fn parse_log(bytes: &[u8]) -> Log {
    match read_log(bytes) {
        Ok(log) => log,
        Err(e) => unreachable!("reading a byte slice cannot fail: {e}"),
    }
}

/// Reads one log line by line, noting each line that does not parse; only
/// I/O errors end it early.
pub fn read_log(mut reader: impl BufRead) -> io::Result<Log> {
    let mut log = Log::default();
    let mut lines = LineReader::new();
    let mut buf = Vec::with_capacity(LINE_BYTES_MAX + 1);
    let mut fail = |line, detail| log.bad.push(BadLine { line, detail });
    for line in 1usize.. {
        buf.clear();
        let limit = (LINE_BYTES_MAX + 1) as u64;
        if reader.by_ref().take(limit).read_until(b'\n', &mut buf)? == 0 {
            if line == 1 {
                fail(1, format!("expected the header `{HEADER}`, found nothing"));
            }
            break;
        }
        if buf.len() > LINE_BYTES_MAX {
            let len = buf.len() as u64 + skip_line(&mut reader)?;
            fail(
                line,
                format!(
                    "a line longer than the {LINE_BYTES_MAX} bytes a log line can be: {}",
                    quote_prefix(&buf, len)
                ),
            );
            continue;
        }
        let text = trim_newline(&buf);
        let parsed = match std::str::from_utf8(text) {
            Err(_) => Err(format!("not UTF-8: {}", quote(text))),
            Ok(HEADER) if line == 1 => continue,
            Ok(_) if line == 1 => Err(format!(
                "expected the header `{HEADER}`, found {}",
                quote(text)
            )),
            Ok(text) => lines.row(line, text),
        };
        match parsed {
            Ok(row) => log.rows.push(row),
            Err(detail) => fail(line, detail),
        }
    }
    Ok(log)
}

/// Consumes the rest of a line without keeping it; returns the bytes it
/// consumed, its `\n` included.
fn skip_line(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(skipped);
        }
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        reader.consume(used);
        skipped = skipped.saturating_add(used as u64);
        if done {
            return Ok(skipped);
        }
    }
}

/// The line without its `\n` or `\r\n`.
fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

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
struct LineReader {
    csv: csv_core::Reader,
    /// The fields' bytes, one after the other: never more than a line's.
    out: Vec<u8>,
    /// Where each field ends in `out`; one more field than a line has is
    /// refused, not split.
    ends: [usize; COLUMNS],
    record: csv::ByteRecord,
}

impl LineReader {
    fn new() -> Self {
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
    fn row(&mut self, line: usize, text: &str) -> Result<Row, String> {
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
    // A send names at most every other machine.
    let parts = s.split(';');
    if parts.clone().count() > N - 1 {
        return Err(format!(
            "`{name}` lists more than {} values: {}",
            N - 1,
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
    fn a_good_line_reads_into_its_row() {
        let text = format!(
            "{HEADER}\n0,0,0,5,internal,1,0,,,\n0,1,500,6,send,2,0,1;2,2,0;0\r\n2,7,9,9,receive,9,3,0,4,1\n"
        );
        let log = parse_log(text.as_bytes());
        assert!(log.bad.is_empty(), "{:?}", log.bad);
        let [internal, send, receive] = &log.rows[..] else {
            panic!("{:?}", log.rows)
        };
        assert_eq!(
            (internal.line, internal.kind, internal.msg_clock),
            (2, Kind::Internal, None)
        );
        assert_eq!(
            (send.peers.as_slice(), send.seqs.as_slice()),
            (&[1, 2][..], &[0, 0][..])
        );
        assert_eq!(send.msg_clock, Some(2));
        assert_eq!(
            (
                receive.machine,
                receive.tick,
                receive.queue_len,
                receive.msg_clock
            ),
            (2, 7, 3, Some(4))
        );
    }

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
            let log = parse_log(format!("{HEADER}\n{line}\n").as_bytes());
            assert!(log.rows.is_empty(), "{line}");
            assert_eq!(log.bad.len(), 1, "{line}");
            assert_eq!(log.bad[0].line, 2);
            assert!(
                log.bad[0].detail.starts_with(want),
                "{line}: {}",
                log.bad[0].detail
            );
        }
    }

    #[test]
    fn a_long_line_is_skipped_and_the_next_one_read() {
        let good = "0,0,0,0,internal,1,0,,,";
        let text = format!("{HEADER}\n{}\n{good}\n", ",".repeat(1 << 20));
        let log = parse_log(text.as_bytes());
        assert_eq!(log.rows.len(), 1);
        assert_eq!(log.rows[0].line, 3);
        assert_eq!(log.bad.len(), 1);
        assert_eq!(log.bad[0].line, 2);
        let detail = &log.bad[0].detail;
        assert!(detail.ends_with("…` (1048577 bytes)"), "{detail}");
        assert!(detail.len() < 300, "{detail}");
    }

    #[test]
    fn commas_and_long_lists_are_refused_without_splitting_them_all() {
        let text = format!(
            "{HEADER}\n{}\n0,0,0,0,send,1,0,1;2;1,1,0;0;0\r\n0,0,0,0,internal,1,0,,,\n",
            ",".repeat(4000)
        );
        let log = parse_log(text.as_bytes());
        let bad = &log.bad;
        assert!(
            bad[0].detail.starts_with("expected 10 fields, found more"),
            "{}",
            bad[0].detail
        );
        assert!(
            bad[1].detail.starts_with("`peer` lists more than 2"),
            "{}",
            bad[1].detail
        );
        assert!(bad.iter().all(|b| b.detail.len() < 300));
        // The parser is itself again after a line it gave up on.
        assert_eq!(log.rows.len(), 1);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_bad_and_the_next_reads() {
        let mut text = format!("{HEADER}\n").into_bytes();
        text.extend_from_slice(b"0,0,0,0,intern\xff\xfeal,1,0,,,\n0,0,0,0,internal,1,0,,,");
        let log = read_log(&text[..]).unwrap();
        assert_eq!(log.rows.len(), 1);
        assert_eq!(log.bad.len(), 1);
        assert!(
            log.bad[0]
                .detail
                .starts_with("not UTF-8: `0,0,0,0,intern\u{fffd}"),
            "{}",
            log.bad[0].detail
        );
    }

    #[test]
    fn only_the_first_bad_lines_are_kept_and_every_one_counted() {
        let mut text = format!("{HEADER}\n");
        for _ in 0..BAD_LINES_KEPT + 10 {
            text.push_str("0,x,0,0,internal,1,0,,,\n");
        }
        let log = parse_log(text.as_bytes());
        assert_eq!(log.bad.len(), BAD_LINES_KEPT);
        assert_eq!(log.bad.total(), BAD_LINES_KEPT as u64 + 10);
    }
}
