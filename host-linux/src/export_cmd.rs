//! `scalemodel export shiviz DIR`: a run's events as a ShiViz log, each
//! with the vector clock rebuilt from the logs ([`Causal`]).
//!
//! ShiViz's "upload a log" reads a file whose first line is the parser
//! expression and whose second is the delimiter of several executions
//! (empty: one); the log follows, an event per two lines: what happened,
//! then the host and its vector clock as JSON, entries of 0 left out. The
//! events come in an order causality allows, each after everything that
//! happened before it.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result};

use crate::analysis::causality::Causal;
use crate::cli::Export;
use crate::rundir::{self, Kind, Row};

/// The expression that parses the export: ShiViz's default, with the
/// clock's braces escaped, as JavaScript and Rust's regex both read them.
pub const SHIVIZ_REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>\{.*\})";

/// Runs `scalemodel export`.
pub fn run(format: &Export) -> Result<()> {
    let Export::Shiviz { dir, out } = format;
    let run = rundir::read_run(dir)?;
    for (id, bad) in run.bad_lines.iter().enumerate() {
        if bad.total() > 0 {
            eprintln!(
                "warning: {}: {} lines did not parse and are left out (`scalemodel analyze {}` lists them)",
                rundir::log_name(id),
                bad.total(),
                dir.display()
            );
        }
    }
    let causal = Causal::of(&run.logs);
    if causal.unmatched() > 0 {
        eprintln!(
            "warning: {} receives match no logged send: each is exported as a local event",
            causal.unmatched()
        );
    }
    match out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = BufWriter::new(file);
            shiviz(&run.logs, &causal, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "{}: {} events of {} machines, for ShiViz's \"upload a log\"",
                path.display(),
                causal.order().len(),
                causal.n()
            );
            Ok(())
        }
        None => {
            // Buffered: stdout alone flushes at every line.
            let mut w = BufWriter::new(io::stdout().lock());
            match shiviz(&run.logs, &causal, &mut w).and_then(|()| w.flush()) {
                // A reader that has gone (`| head`) wanted no more.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                written => written.context("cannot write to standard output"),
            }
        }
    }
}

/// Writes `logs` as a ShiViz log, with the vector clocks of `causal`.
pub fn shiviz(logs: &[Vec<Row>], causal: &Causal, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{SHIVIZ_REGEX}")?;
    writeln!(w)?;
    let mut line = String::new();
    for &(i, k) in causal.order() {
        let row = &logs[usize::from(i)][k as usize];
        line.clear();
        describe(row, causal.source((i, k)).is_some(), &mut line);
        let _ = write!(line, "\n{} {{", host(i));
        let mut first = true;
        for (j, &c) in causal.clock((i, k)).iter().enumerate() {
            if c > 0 {
                let comma = if first { "" } else { ", " };
                let _ = write!(line, "{comma}\"{}\": {c}", host(j as u8));
                first = false;
            }
        }
        line.push_str("}\n");
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A machine's host name in the export.
fn host(id: u8) -> String {
    rundir::log_name(id).trim_end_matches(".csv").to_owned()
}

/// What `row` did, on one line (`matched`: a receive whose send is logged).
fn describe(row: &Row, matched: bool, line: &mut String) {
    let seqs = |line: &mut String| {
        for (n, s) in row.seqs.iter().enumerate() {
            let _ = write!(line, "{}{s}", if n == 0 { "" } else { ", " });
        }
    };
    match row.kind {
        Kind::Send => {
            line.push_str("send to ");
            for (n, &to) in row.peers.iter().enumerate() {
                let _ = write!(line, "{}{}", if n == 0 { "" } else { ", " }, host(to));
            }
            line.push_str(" (seq ");
            seqs(line);
            line.push(')');
        }
        Kind::Receive => {
            for &from in &row.peers {
                let _ = write!(line, "receive from {}", host(from));
            }
            line.push_str(" (seq ");
            seqs(line);
            if let Some(c) = row.msg_clock {
                let _ = write!(line, ", msg_clock {c}");
            }
            line.push(')');
            if !matched {
                line.push_str(", its send in no log");
            }
        }
        Kind::Internal => line.push_str("internal"),
    }
    let _ = write!(
        line,
        "; clock {}, inbox {}; tick {} at {:.6} s",
        row.clock,
        row.queue_len,
        row.tick,
        row.model_ns as f64 / 1e9
    );
}
