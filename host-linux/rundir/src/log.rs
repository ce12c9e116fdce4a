//! Reading a run's logs as any tool would, with bounds: a log line longer
//! than [`LINE_BYTES_MAX`] is reported and skipped without being held, a bad
//! line is quoted by a short prefix only, and only the first
//! [`BAD_LINES_KEPT`] bad lines are kept, so that a hostile file costs memory
//! in proportion to its valid lines and a report stays small.
//!
//! The lines are read here, bounded, one at a time, and handed to
//! `rundir/line.rs`, which reads each with csv and serde.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use scalemodel_core::{HEADER, Hlc, Stamp, VectorClock};

use super::line::LineReader;
use super::quote::{quote, quote_prefix};
use super::row::{Row, Vectors};
use super::{Params, RunDirError, log_name};

/// The longest log line read, `\n` included: a valid line is at most
/// [`scalemodel_core::LINE_MAX`] (under 500: a send to all of sixteen machines) bytes, so anything longer is
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
    /// Each machine's log, by id: one per rate in `params.json`.
    pub logs: Vec<Vec<Row>>,
    /// Each machine's log lines that did not parse, by id (none kept when
    /// the rows never were lines: a simulation in memory).
    pub bad_lines: Vec<BadLines>,
}

/// Reads the run directory `dir`: `params.json`, then `machine-<id>.csv`
/// for each of its machines.
pub fn read_run(dir: &Path) -> Result<Run, RunDirError> {
    let params = Params::read(dir)?;
    // Checked: from 3 to 16 machines.
    let n = params.n();
    let mut logs = Vec::with_capacity(n);
    let mut bad_lines = Vec::with_capacity(n);
    for id in 0..n {
        let path = dir.join(log_name(id));
        let read = |source| RunDirError::Read {
            path: path.clone(),
            source,
        };
        // Any size, but a regular file, read up to its size when opened.
        let file = super::open_in(&path, u64::MAX)?.reader();
        let log = read_log(BufReader::with_capacity(1 << 16, file)).map_err(read)?;
        logs.push(log.rows);
        bad_lines.push(log.bad);
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
    // A run that carried a clock beside Lamport's appends its columns to
    // every line.
    let hlc_header = format!("{HEADER}{}", <Hlc as Stamp>::COLUMNS);
    let vector_header = format!("{HEADER}{}", <VectorClock<0> as Stamp>::COLUMNS);
    let mut carried = Carried::Lamport;
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
            Ok(text) if line == 1 && text == hlc_header => {
                carried = Carried::Hlc;
                continue;
            }
            Ok(text) if line == 1 && text == vector_header => {
                carried = Carried::Vector;
                continue;
            }
            Ok(_) if line == 1 => Err(format!(
                "expected the header `{HEADER}`, found {}",
                quote(text)
            )),
            Ok(text) => match carried {
                Carried::Lamport => lines.row(line, text),
                Carried::Hlc => split_hlc(text).and_then(|(text, hlc)| {
                    let mut row = lines.row(line, text)?;
                    row.hlc = Some(hlc);
                    Ok(row)
                }),
                Carried::Vector => split_vector(text).and_then(|(text, vc)| {
                    let mut row = lines.row(line, text)?;
                    row.vc = Some(vc);
                    Ok(row)
                }),
            },
        };
        match parsed {
            Ok(row) => log.rows.push(row),
            Err(detail) => fail(line, detail),
        }
    }
    Ok(log)
}

/// A stamped line's Lamport columns and its HLC columns
/// (`hlc_l,hlc_c,msg_hlc_l,msg_hlc_c`, the message's empty on an internal
/// event, present on every other).
fn split_hlc(text: &str) -> Result<(&str, (Hlc, Option<Hlc>)), String> {
    let mut fields = text.rsplitn(5, ',');
    let (Some(msg_c), Some(msg_l), Some(c), Some(l), Some(rest)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(format!(
            "expected the four HLC columns at the end of {}",
            quote(text.as_bytes())
        ));
    };
    let number = |name: &str, v: &str| {
        v.parse::<u64>()
            .map_err(|_| format!("`{name}` is not a number: {}", quote(v.as_bytes())))
    };
    let counter = |name: &str, v: &str| {
        v.parse::<u32>()
            .map_err(|_| format!("`{name}` is not a 32-bit number: {}", quote(v.as_bytes())))
    };
    let own = Hlc::from_parts(number("hlc_l", l)?, counter("hlc_c", c)?);
    let internal = rest.split(',').nth(4) == Some("internal");
    let msg = match (msg_l, msg_c) {
        ("", "") if internal => None,
        _ if internal => return Err("an internal event's message HLC columns must be empty".into()),
        (l, c) => Some(Hlc::from_parts(
            number("msg_hlc_l", l)?,
            counter("msg_hlc_c", c)?,
        )),
    };
    Ok((rest, (own, msg)))
}

/// A stamped line's Lamport columns and its vector clock's (`vc,msg_vc`,
/// each its entries separated by spaces; the message's empty on an
/// internal event, present on every other).
fn split_vector(text: &str) -> Result<(&str, Vectors), String> {
    let mut fields = text.rsplitn(3, ',');
    let (Some(msg), Some(own), Some(rest)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(format!(
            "expected the two vector clock columns at the end of {}",
            quote(text.as_bytes())
        ));
    };
    let entries = |name: &str, v: &str| {
        v.split(' ')
            .map(|e| e.parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                format!(
                    "`{name}` is not a vector of 32-bit numbers separated by spaces: {}",
                    quote(v.as_bytes())
                )
            })
    };
    let own = entries("vc", own)?;
    let internal = rest.split(',').nth(4) == Some("internal");
    let msg = match msg {
        "" if internal => None,
        _ if internal => return Err("an internal event's `msg_vc` must be empty".into()),
        v => Some(entries("msg_vc", v)?),
    };
    Ok((rest, (own, msg)))
}

/// The clock a log's header says its run carried beside Lamport's.
#[derive(Clone, Copy)]
enum Carried {
    Lamport,
    Hlc,
    Vector,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    /// A run that carried an HLC: each record's stamped line reads back as
    /// the row the record is, its HLC columns too; a line whose columns
    /// are not numbers, or an internal event with a message stamp, is a
    /// bad line, named.
    #[test]
    fn stamped_lines_read_back_as_their_records() {
        use scalemodel_core::{Event, MachineId, Message, Record, STAMPED_LINE_MAX, Sends};
        let stamp = Hlc::from_parts(u64::MAX, u32::MAX);
        let msg = Message {
            from: MachineId::TWO,
            clock: 7,
            seq: 3,
            stamp: Hlc::from_parts(1_700_000_000_000_000_000, 4),
        };
        let events = [
            Event::Receive(msg),
            Event::Send(Sends::both((MachineId::ONE, 5), (MachineId::TWO, 6))),
            Event::Internal,
        ];
        let mut text = format!("{HEADER}{}\n", <Hlc as Stamp>::COLUMNS);
        let mut want = Vec::new();
        for (k, event) in events.into_iter().enumerate() {
            let record: Record<3, Hlc> = Record {
                machine: MachineId::ZERO,
                tick: k as u64,
                model_ns: k as u64 * 250_000_000,
                system_ns: 1_700_000_000_000_000_000,
                clock: 9 + k as u64,
                queue_len: 1,
                event,
                stamp,
            };
            let mut buf = [0; STAMPED_LINE_MAX];
            text.push_str(std::str::from_utf8(record.write_stamped(&mut buf)).unwrap());
            want.push(crate::Row::from_record(&record, k + 2));
        }
        let log = parse_log(text.as_bytes());
        assert!(log.bad.is_empty(), "{:?}", log.bad);
        assert_eq!(log.rows, want);
        assert_eq!(log.rows[0].hlc, Some((stamp, Some(msg.stamp))));
        assert_eq!(log.rows[2].hlc, Some((stamp, None)));
        let bad = format!(
            "{HEADER}{}\n0,0,0,0,internal,1,0,,,,5,0,5,0\n0,1,0,0,internal,2,0,,,,x,0,,\n",
            <Hlc as Stamp>::COLUMNS
        );
        let log = parse_log(bad.as_bytes());
        assert_eq!(log.bad.len(), 2, "{:?}", log.bad);
        assert!(log.bad[1].detail.contains("hlc_l"), "{:?}", log.bad);
    }

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
            "{HEADER}\n{}\n0,0,0,0,send,1,0,{},1,0\r\n0,0,0,0,internal,1,0,,,\n",
            ",".repeat(4000),
            ["1"; 16].join(";")
        );
        let log = parse_log(text.as_bytes());
        let bad = &log.bad;
        assert!(
            bad[0].detail.starts_with("expected 10 fields, found more"),
            "{}",
            bad[0].detail
        );
        assert!(
            bad[1].detail.starts_with("`peer` lists more than 15"),
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
