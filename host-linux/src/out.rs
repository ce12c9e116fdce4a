//! Standard output that a closed reader cannot crash.
//!
//! `println!` panics when stdout fails, as it does when the reader of a pipe
//! has gone (`scalemodel sim … | head -1`). The commands print through
//! [`outln!`](crate::outln) instead: the first failure ends all further
//! output quietly (a broken pipe) or with one warning on stderr (any other
//! error), and the command goes on to finish its work, so a run directory is
//! never left half-written because nobody read the terminal.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout has failed: nothing more is written to it.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to stdout, unless stdout has failed before.
pub fn line(args: fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to stdout ({e}); the rest of the output is dropped");
        }
    }
}

/// `println!` that never panics: see [the module](crate::out).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
