//! Reading a run's logs as any tool would, with bounds: a log line longer
//! than [`LINE_BYTES_MAX`] is reported and skipped without being held, and a
//! bad line is quoted by a short prefix only, so that a hostile file costs
//! memory in proportion to its valid lines and a report stays small.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use scalemodel_core::{Event, HEADER, MachineId, N, Record};

use super::{Rule, Violation, Violations};
use crate::rundir::{self, Params, RunDirError};

/// The longest log line read, `\n` included: a valid line is at most
/// [`scalemodel_core::LINE_MAX`] (under 200) bytes, so anything longer is
/// garbage and is skipped without being held.
pub const LINE_BYTES_MAX: usize = 4096;

/// Characters of a bad line or value shown in errors and reports.
pub const QUOTE_CHARS_MAX: usize = 60;

/// The kind of event on a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `send`.
    Send,
    /// `receive`.
    Receive,
    /// `internal`.
    Internal,
}

/// Keeps every record of a simulated run as the row it would be written
/// as, per machine: the checker's input without the files.
#[derive(Debug, Default)]
pub struct Rows(pub [Vec<Row>; N]);

impl scalemodel_core::sim::Sink for Rows {
    type Error = std::convert::Infallible;
    fn record(&mut self, record: &Record) -> Result<(), Self::Error> {
        let rows = &mut self.0[record.machine.index()];
        // Line 1 is the header.
        let line = rows.len() + 2;
        rows.push(Row::from_record(record, line));
        Ok(())
    }
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The 1-based line in the file (the header is line 1).
    pub line: usize,
    /// `machine`.
    pub machine: u8,
    /// `tick`.
    pub tick: u64,
    /// `model_ns`.
    pub model_ns: u64,
    /// `system_ns`.
    pub system_ns: u64,
    /// `event`.
    pub kind: Kind,
    /// `clock`.
    pub clock: u64,
    /// `queue_len`.
    pub queue_len: u64,
    /// `peer`: the sender of a receive, the destinations of a send.
    pub peers: Vec<u8>,
    /// `msg_clock`.
    pub msg_clock: Option<u64>,
    /// `seq`, one per peer.
    pub seqs: Vec<u64>,
}

impl Row {
    /// The row a record is written as; `line` counts the header.
    pub fn from_record(record: &Record, line: usize) -> Self {
        let (kind, peers, msg_clock, seqs) = match &record.event {
            Event::Receive(m) => (
                Kind::Receive,
                vec![m.from.get()],
                Some(m.clock),
                vec![m.seq],
            ),
            Event::Send(s) => (
                Kind::Send,
                s.as_slice().iter().map(|(to, _)| to.get()).collect(),
                Some(record.clock),
                s.as_slice().iter().map(|&(_, seq)| seq).collect(),
            ),
            Event::Internal => (Kind::Internal, vec![], None, vec![]),
        };
        Self {
            line,
            machine: record.machine.get(),
            tick: record.tick,
            model_ns: record.model_ns,
            system_ns: record.system_ns,
            kind,
            clock: record.clock,
            queue_len: u64::from(record.queue_len),
            peers,
            msg_clock,
            seqs,
        }
    }
}

/// A run directory, read.
#[derive(Debug, Clone)]
pub struct Run {
    /// `params.json`.
    pub params: Params,
    /// Each machine's log, by id.
    pub logs: [Vec<Row>; N],
    /// Lines that did not parse: the first [`super::VIOLATIONS_KEPT`].
    pub format_violations: Vec<Violation>,
    /// How many lines did not parse, kept or not.
    pub format_violations_total: u64,
}

/// Reads the run directory `dir`.
pub fn read_run(dir: &Path) -> Result<Run, RunDirError> {
    let params = Params::read(dir)?;
    let mut format = Violations::default();
    let mut logs: [Vec<Row>; N] = Default::default();
    for id in MachineId::ALL {
        let name = rundir::log_name(id);
        let path = dir.join(&name);
        let read = |source| RunDirError::Read {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(read)?;
        logs[id.index()] =
            read_log(&name, BufReader::with_capacity(1 << 16, file), &mut format).map_err(read)?;
    }
    let (format_violations, format_violations_total) = format.into_parts();
    Ok(Run {
        params,
        logs,
        format_violations,
        format_violations_total,
    })
}

/// Parses one log held in memory, adding a `format` violation for each line
/// that does not parse.
pub fn parse_log(file: &str, text: &str, violations: &mut Violations) -> Vec<Row> {
    match read_log(file, text.as_bytes(), violations) {
        Ok(rows) => rows,
        Err(e) => unreachable!("reading a byte slice cannot fail: {e}"),
    }
}

/// Reads one log line by line, adding a `format` violation for each line that
/// does not parse; only I/O errors end it early.
pub fn read_log(
    file: &str,
    mut reader: impl BufRead,
    violations: &mut Violations,
) -> io::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut buf = Vec::with_capacity(LINE_BYTES_MAX + 1);
    let mut fail = |line, detail| {
        violations.push(Violation {
            file: file.to_owned(),
            line: Some(line),
            tick: None,
            rule: Rule::Format,
            detail,
        });
    };
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
            Ok(text) => parse_row(line, text),
        };
        match parsed {
            Ok(row) => rows.push(row),
            Err(detail) => fail(line, detail),
        }
    }
    Ok(rows)
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

/// A bad line or value as errors and reports show it: in backticks, at most
/// [`QUOTE_CHARS_MAX`] characters (never split inside one), control
/// characters escaped, and when cut, `…` and the whole length in bytes.
pub fn quote(bytes: &[u8]) -> String {
    quote_prefix(bytes, bytes.len() as u64)
}

/// As [`quote`], for the first bytes of something `len` bytes long.
pub fn quote_prefix(bytes: &[u8], len: u64) -> String {
    // Enough bytes for QUOTE_CHARS_MAX characters of up to 4 bytes, and one more.
    let window = &bytes[..bytes.len().min(4 * QUOTE_CHARS_MAX + 4)];
    let text = String::from_utf8_lossy(window);
    let mut out = String::from("`");
    let mut chars = text.chars();
    for c in chars.by_ref().take(QUOTE_CHARS_MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    if chars.next().is_some() || window.len() as u64 != len {
        out.insert(out.len() - 1, '…');
        out.push_str(&format!(" ({len} bytes)"));
    }
    out
}

/// The columns of a log line, in order.
const COLUMNS: usize = 10;

fn parse_row(line: usize, text: &str) -> Result<Row, String> {
    // At most one more field than a line has: a line of commas is refused
    // after eleven, not split into as many fields as it has commas.
    let mut fields = text.splitn(COLUMNS + 1, ',');
    let mut columns = [""; COLUMNS];
    for (i, column) in columns.iter_mut().enumerate() {
        *column = fields.next().ok_or_else(|| {
            format!(
                "expected {COLUMNS} fields, found {i}: {}",
                quote(text.as_bytes())
            )
        })?;
    }
    if fields.next().is_some() {
        return Err(format!(
            "expected {COLUMNS} fields, found more: {}",
            quote(text.as_bytes())
        ));
    }
    let [
        machine,
        tick,
        model,
        system,
        event,
        clock,
        queue,
        peer,
        msg_clock,
        seq,
    ] = columns;
    fn num<T: std::str::FromStr>(name: &str, s: &str) -> Result<T, String> {
        s.parse()
            .map_err(|_| format!("`{name}` is {}, not a whole number", quote(s.as_bytes())))
    }
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
        parts.map(|p| num(name, p)).collect()
    }
    let kind = match event {
        "send" => Kind::Send,
        "receive" => Kind::Receive,
        "internal" => Kind::Internal,
        other => {
            return Err(format!(
                "`event` is {}, not send, receive or internal",
                quote(other.as_bytes())
            ));
        }
    };
    Ok(Row {
        line,
        machine: num("machine", machine)?,
        tick: num("tick", tick)?,
        model_ns: num("model_ns", model)?,
        system_ns: num("system_ns", system)?,
        kind,
        clock: num("clock", clock)?,
        queue_len: num("queue_len", queue)?,
        peers: list("peer", peer)?,
        msg_clock: if msg_clock.is_empty() {
            None
        } else {
            Some(num("msg_clock", msg_clock)?)
        },
        seqs: list("seq", seq)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_cut_between_characters() {
        assert_eq!(quote(b"abc"), "`abc`");
        assert_eq!(quote(b"a\x1b[2Jb"), "`a\\u{1b}[2Jb`");
        let long = "é".repeat(1000);
        let q = quote(long.as_bytes());
        assert_eq!(
            q,
            format!("`{}…` (2000 bytes)", "é".repeat(QUOTE_CHARS_MAX))
        );
        let q = quote(&[b'x'; 10 << 20]);
        assert!(q.len() < 100 && q.ends_with("…` (10485760 bytes)"), "{q}");
        // A 3-byte character cut by the window is not half-shown.
        let q = quote("€".repeat(200).as_bytes());
        assert!(q.starts_with("`€€") && !q.contains('\u{fffd}'), "{q}");
    }

    #[test]
    fn a_long_line_is_skipped_and_the_next_one_read() {
        let good = "0,0,0,0,internal,1,0,,,";
        let text = format!("{HEADER}\n{}\n{good}\n", ",".repeat(1 << 20));
        let mut v = Violations::default();
        let rows = parse_log("machine-0.csv", &text, &mut v);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 3);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].line, Some(2));
        assert!(v[0].detail.ends_with("…` (1048577 bytes)"), "{}", v[0]);
        assert!(v[0].to_string().len() < 300, "{}", v[0]);
    }

    #[test]
    fn commas_and_long_lists_are_refused_without_splitting_them_all() {
        let text = format!(
            "{HEADER}\n{}\n0,0,0,0,send,1,0,1;2;1,1,0;0;0\r\n",
            ",".repeat(4000)
        );
        let mut v = Violations::default();
        parse_log("machine-0.csv", &text, &mut v);
        assert!(
            v[0].detail.starts_with("expected 10 fields, found more"),
            "{}",
            v[0]
        );
        assert!(
            v[1].detail.starts_with("`peer` lists more than 2"),
            "{}",
            v[1]
        );
        assert!(v.iter().all(|v| v.to_string().len() < 300));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_format_violation_and_the_next_reads() {
        let mut text = format!("{HEADER}\n").into_bytes();
        text.extend_from_slice(b"0,0,0,0,intern\xff\xfeal,1,0,,,\n0,0,0,0,internal,1,0,,,");
        let mut v = Violations::default();
        let rows = read_log("machine-0.csv", &text[..], &mut v).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(v.len(), 1);
        assert!(
            v[0].detail
                .starts_with("not UTF-8: `0,0,0,0,intern\u{fffd}"),
            "{}",
            v[0]
        );
    }
}
