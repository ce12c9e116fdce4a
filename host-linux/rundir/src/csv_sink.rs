//! The simulator's CSV logs, written on a thread of their own.
//!
//! The simulation thread only copies each record into a batch; a full batch
//! goes through a bounded channel to a writer thread, which formats every
//! record straight into its machine's file buffer ([`Record::write_line`],
//! no copy) and hands the kernel a whole buffer at a time. On two cores a
//! logged run then goes at the pace of the slower of the two (the
//! simulation), not of their sum. The channel holds at most
//! [`BATCHES_QUEUED_MAX`] batches: a writer that falls behind makes the
//! simulation wait, and no record is ever dropped.
//!
//! The crash-order rule of a network node (a record reaches the kernel
//! before the frame it logs) does not concern the simulator, whose frames
//! never leave the process; the node writes through [`crate::LogWriter`].

use std::fs::File;
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::{self, JoinHandle};

use scalemodel_core::sim::Sink;
use scalemodel_core::{HEADER, LINE_MAX, MachineId, Record, STAMPED_LINE_MAX, Stamp};

use crate::{RunDirError, log_name};

/// Records the simulation hands to the writer at once.
pub const BATCH_RECORDS: usize = 4096;

/// Full batches on their way to the writer at most: beyond them the
/// simulation waits for the writer.
pub const BATCHES_QUEUED_MAX: usize = 16;

/// Bytes of one log's buffer, handed to the kernel in one write when full.
const LOG_BUFFER_BYTES: usize = 256 * 1024;

/// Writes each machine's records to its CSV log in a run directory, on a
/// writer thread. Call [`CsvSink::finish`] at the end: it waits until every
/// record is written and reports the first error, naming the file.
pub struct CsvSink<const M: usize = 3, H: Stamp = ()> {
    /// The records not yet handed over.
    batch: Vec<Record<M, H>>,
    /// To the writer; `None` once the writer has stopped.
    to_writer: Option<SyncSender<Vec<Record<M, H>>>>,
    /// Batches the writer is done with, emptied, to fill again.
    spare: Receiver<Vec<Record<M, H>>>,
    /// The writer, which gives the first error it met.
    writer: Option<JoinHandle<Result<(), RunDirError>>>,
    /// The run directory, to name in an error that is no one file's.
    dir: PathBuf,
}

/// A run's logs, created, with their headers: a [`CsvSink`] once started,
/// when the records' width `M` and carried clock `H` are known (an `H`
/// with columns appends them to each header then).
pub struct CsvLogs {
    files: Vec<LogFile>,
    dir: PathBuf,
}

impl CsvLogs {
    /// Creates the logs of `machines` machines and writes their headers. A
    /// log that cannot be created is an error here, named.
    pub fn create(dir: &Path, machines: u8) -> Result<Self, RunDirError> {
        let files = MachineId::all(machines)
            .map(|id| LogFile::create(dir, id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            files,
            dir: dir.to_owned(),
        })
    }

    /// Starts the writer of these logs, for records of up to `M` machines
    /// carrying `H`.
    pub fn start<const M: usize, H: Stamp>(mut self) -> Result<CsvSink<M, H>, RunDirError> {
        for file in &mut self.files {
            file.append_to_header(H::COLUMNS.as_bytes());
        }
        CsvSink::start(self)
    }
}

impl<const M: usize, H: Stamp> CsvSink<M, H> {
    /// Creates the logs of `machines` machines, writes their headers and
    /// starts the writer. A log that cannot be created is an error here,
    /// named.
    pub fn create(dir: &Path, machines: u8) -> Result<Self, RunDirError> {
        CsvLogs::create(dir, machines)?.start()
    }

    /// Starts the writer of `logs`.
    fn start(logs: CsvLogs) -> Result<Self, RunDirError> {
        let CsvLogs { files, dir } = logs;
        let dir = dir.as_path();
        let (to_writer, batches) = mpsc::sync_channel(BATCHES_QUEUED_MAX);
        let (give_back, spare) = mpsc::channel();
        let writer = thread::Builder::new()
            .name("csv".to_owned())
            .spawn(move || write_batches(files, &batches, &give_back))
            .map_err(|e| RunDirError::Write {
                path: dir.to_owned(),
                source: io::Error::new(e.kind(), format!("cannot start the log writer: {e}")),
            })?;
        Ok(Self {
            batch: Vec::with_capacity(BATCH_RECORDS),
            to_writer: Some(to_writer),
            spare,
            writer: Some(writer),
            dir: dir.to_owned(),
        })
    }

    /// Hands the records gathered so far to the writer, waiting while its
    /// queue is full. If the writer has stopped, its error.
    fn hand_over(&mut self) -> Result<(), RunDirError> {
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_RECORDS));
        let full = mem::replace(&mut self.batch, next);
        let sent = match &self.to_writer {
            Some(to_writer) => to_writer.send(full).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The writer stopped at an error: the run stops with it.
            Err(self.stop().err().unwrap_or_else(|| self.stopped()))
        }
    }

    /// Closes the queue and waits for the writer: its result.
    fn stop(&mut self) -> Result<(), RunDirError> {
        self.to_writer = None;
        match self.writer.take() {
            Some(writer) => writer.join().unwrap_or_else(|_| {
                Err(RunDirError::Write {
                    path: self.dir.clone(),
                    source: io::Error::other("the log writer panicked"),
                })
            }),
            None => Err(self.stopped()),
        }
    }

    /// The error for records offered after the writer has stopped.
    fn stopped(&self) -> RunDirError {
        RunDirError::Write {
            path: self.dir.clone(),
            source: io::Error::other("the log writer had stopped at an earlier error"),
        }
    }

    /// Hands over the last records, waits until every record is written and
    /// the logs flushed, and gives the first error met, naming its file.
    pub fn finish(mut self) -> Result<(), RunDirError> {
        if !self.batch.is_empty() {
            self.hand_over()?;
        }
        self.stop()
    }
}

impl<const M: usize, H: Stamp> Sink<M, H> for CsvSink<M, H> {
    type Error = RunDirError;

    fn record(&mut self, record: &Record<M, H>) -> Result<(), RunDirError> {
        self.batch.push(*record);
        if self.batch.len() >= BATCH_RECORDS {
            self.hand_over()
        } else {
            Ok(())
        }
    }
}

impl<const M: usize, H: Stamp> Drop for CsvSink<M, H> {
    /// A sink dropped without [`CsvSink::finish`] (the run failed
    /// elsewhere) still writes every record it took and ends its writer:
    /// no thread outlives the sink.
    fn drop(&mut self) {
        if self.writer.is_some() {
            // The run already failed for another reason, which is the one
            // reported; a write error after it adds nothing.
            if !self.batch.is_empty() {
                self.hand_over().ok();
            }
            self.stop().ok();
        }
    }
}

/// The writer thread: formats every batch into the logs until the queue
/// closes, then flushes them. Stops at the first error, which closes the
/// queue: the simulation's next hand-over fails and fetches the error.
fn write_batches<const M: usize, H: Stamp>(
    mut files: Vec<LogFile>,
    batches: &Receiver<Vec<Record<M, H>>>,
    give_back: &Sender<Vec<Record<M, H>>>,
) -> Result<(), RunDirError> {
    for mut batch in batches {
        for record in &batch {
            match files.get_mut(record.machine.index()) {
                Some(file) => file.line(record)?,
                None => {
                    return Err(RunDirError::Write {
                        path: PathBuf::from(log_name(record.machine)),
                        source: io::Error::other("no log for this machine"),
                    });
                }
            }
        }
        batch.clear();
        // The simulation side gone (it failed elsewhere): the empty batch
        // is simply freed.
        give_back.send(batch).ok();
    }
    files.iter_mut().try_for_each(LogFile::flush)
}

/// One machine's log: the file and the buffer its lines are formatted in.
struct LogFile {
    path: PathBuf,
    file: File,
    buf: Box<[u8]>,
    /// Bytes of `buf` in use.
    len: usize,
}

impl LogFile {
    /// Creates `dir/machine-<id>.csv` and puts the header in its buffer.
    fn create(dir: &Path, id: MachineId) -> Result<Self, RunDirError> {
        let path = dir.join(log_name(id));
        let file = File::create(&path).map_err(|source| RunDirError::Write {
            path: path.clone(),
            source,
        })?;
        let mut buf = vec![0; LOG_BUFFER_BYTES].into_boxed_slice();
        let header = HEADER.as_bytes();
        let len = header.len() + 1;
        if let Some((text, newline)) = buf
            .get_mut(..len)
            .and_then(|head| head.split_last_mut())
            .map(|(newline, text)| (text, newline))
        {
            text.copy_from_slice(header);
            *newline = b'\n';
        }
        Ok(Self {
            path,
            file,
            buf,
            len,
        })
    }

    /// Formats `record`'s line at the end of the buffer, writing the
    /// buffer out first when a line might not fit.
    fn line<const M: usize, H: Stamp>(&mut self, record: &Record<M, H>) -> Result<(), RunDirError> {
        if !H::COLUMNS.is_empty() {
            return self.stamped_line(record);
        }
        if self.buf.len() - self.len < LINE_MAX {
            self.flush()?;
        }
        match self
            .buf
            .get_mut(self.len..)
            .and_then(<[u8]>::split_first_chunk_mut::<LINE_MAX>)
        {
            Some((room, _)) => {
                self.len += record.write_line(room).len();
                Ok(())
            }
            // Not taken: the buffer holds many lines and was just emptied.
            // Were it, the line would be written on its own, not lost.
            None => {
                let mut line = [0; LINE_MAX];
                let line = record.write_line(&mut line);
                self.write(line)
            }
        }
    }

    /// [`LogFile::line`] for a run carrying a clock beside Lamport's.
    fn stamped_line<const M: usize, H: Stamp>(
        &mut self,
        record: &Record<M, H>,
    ) -> Result<(), RunDirError> {
        if self.buf.len() - self.len < STAMPED_LINE_MAX {
            self.flush()?;
        }
        let mut line = [0; STAMPED_LINE_MAX];
        let line = record.write_stamped(&mut line);
        match self.buf.get_mut(self.len..self.len + line.len()) {
            Some(room) => {
                room.copy_from_slice(line);
                self.len += line.len();
                Ok(())
            }
            None => self.write(line),
        }
    }

    /// Appends `columns` to the header line in the buffer (before its
    /// `\n`), before any record is written.
    fn append_to_header(&mut self, columns: &[u8]) {
        if columns.is_empty() || self.len + columns.len() > self.buf.len() {
            return;
        }
        let at = self.len - 1;
        self.buf.copy_within(at..self.len, at + columns.len());
        self.buf[at..at + columns.len()].copy_from_slice(columns);
        self.len += columns.len();
    }

    /// Hands the buffer to the kernel and empties it.
    fn flush(&mut self) -> Result<(), RunDirError> {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        let written = self.file.write_all(bytes);
        self.len = 0;
        written.map_err(|source| RunDirError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes `bytes` after what is buffered.
    fn write(&mut self, bytes: &[u8]) -> Result<(), RunDirError> {
        self.flush()?;
        self.file
            .write_all(bytes)
            .map_err(|source| RunDirError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use scalemodel_core::{Event, Message, N, Sends};

    use super::*;
    use crate::LogWriter;

    /// Records of every kind on every machine, with numbers of every width,
    /// enough to fill many batches and each log's buffer several times.
    fn records(count: u64) -> Vec<Record> {
        (0..count)
            .map(|i| {
                let machine = MachineId::ALL[(i % N as u64) as usize];
                let big = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let event = match i % 4 {
                    0 => Event::Internal,
                    1 => Event::Receive(Message {
                        from: MachineId::ALL[((i + 1) % N as u64) as usize],
                        clock: big >> (i % 64),
                        seq: i,
                        stamp: (),
                    }),
                    2 => Event::Send(Sends::one(MachineId::ALL[((i + 2) % N as u64) as usize], i)),
                    _ => Event::Send(Sends::both(
                        (MachineId::ALL[((i + 1) % N as u64) as usize], big),
                        (MachineId::ALL[((i + 2) % N as u64) as usize], i),
                    )),
                };
                Record {
                    machine,
                    tick: i / 3,
                    model_ns: i * 1_000_000_007,
                    system_ns: big,
                    clock: i,
                    queue_len: (i % 7) as u32,
                    event,
                    stamp: (),
                }
            })
            .collect()
    }

    #[test]
    fn a_line_from_another_host_is_logged_whole_or_not_at_all() {
        let (by_record, by_line) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let id = MachineId::ONE;
        let mut a = LogWriter::create(by_record.path(), id, "").unwrap();
        let mut b = LogWriter::create(by_line.path(), id, "").unwrap();
        for r in records(400).iter().filter(|r| r.machine == id) {
            a.write(r).unwrap();
            let mut buf = [0; scalemodel_core::LINE_MAX];
            b.write_line(r.write_line(&mut buf)).unwrap();
        }
        // Not one whole line: refused, and nothing of it written.
        for bad in [&b""[..], b"\n", b"1,2,3", b"1,2\n3,4\n", b"1\n2"] {
            let e = b.write_line(bad).unwrap_err();
            let why = std::error::Error::source(&e).map(ToString::to_string);
            assert_eq!(
                why.as_deref(),
                Some("a log line that is not one whole line")
            );
        }
        a.finish().unwrap();
        b.finish().unwrap();
        let name = crate::log_name(id);
        let (a, b) = (
            std::fs::read(by_record.path().join(&name)).unwrap(),
            std::fs::read(by_line.path().join(&name)).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn the_logs_are_those_the_line_writer_writes() {
        let records = records(50_000);
        let (threaded, plain) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut sink = CsvSink::<3>::create(threaded.path(), 3).unwrap();
        let mut logs: Vec<LogWriter> = MachineId::ALL
            .iter()
            .map(|&id| LogWriter::create(plain.path(), id, "").unwrap())
            .collect();
        for r in &records {
            sink.record(r).unwrap();
            logs[r.machine.index()].write(r).unwrap();
        }
        sink.finish().unwrap();
        logs.into_iter().for_each(|log| log.finish().unwrap());
        for id in MachineId::ALL {
            let read = |dir: &Path| std::fs::read(dir.join(log_name(id))).unwrap();
            let (got, want) = (read(threaded.path()), read(plain.path()));
            assert!(want.len() > 2 * LOG_BUFFER_BYTES, "{}", want.len());
            assert!(got == want, "machine {id}: the logs differ");
        }
    }

    #[test]
    fn an_empty_run_writes_the_headers() {
        let dir = tempfile::tempdir().unwrap();
        CsvSink::<3>::create(dir.path(), 3)
            .unwrap()
            .finish()
            .unwrap();
        for id in MachineId::ALL {
            let text = std::fs::read_to_string(dir.path().join(log_name(id))).unwrap();
            assert_eq!(text, format!("{HEADER}\n"));
        }
    }

    #[test]
    fn a_full_disk_is_an_error_naming_the_file() {
        let dev_full = Path::new("/dev/full");
        if !dev_full.exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dev_full, dir.path().join("machine-1.csv")).unwrap();
        let mut sink = CsvSink::<3>::create(dir.path(), 3).unwrap();
        // The writer fails at its first write; the simulation learns it at
        // a hand-over or at the end, never later, and never loses it.
        let mut failed = None;
        for r in &records(100_000) {
            if let Err(e) = sink.record(r) {
                failed = Some(e);
                break;
            }
        }
        let err = match failed {
            Some(e) => e,
            None => sink.finish().unwrap_err(),
        };
        let RunDirError::Write { path, source } = &err else {
            panic!("{err:?}");
        };
        assert!(path.ends_with("machine-1.csv"), "{}", path.display());
        assert_eq!(source.kind(), io::ErrorKind::StorageFull, "{source}");
    }

    #[test]
    fn a_log_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-made");
        let Err(RunDirError::Write { path, .. }) = CsvSink::<3>::create(&missing, 3) else {
            panic!("created logs in a missing directory");
        };
        assert!(path.ends_with("machine-0.csv"), "{}", path.display());
    }

    #[test]
    fn a_sink_dropped_unfinished_writes_what_it_was_handed() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = CsvSink::<3>::create(dir.path(), 3).unwrap();
        let records = records(3 * BATCH_RECORDS as u64 + 5);
        for r in &records {
            sink.record(r).unwrap();
        }
        drop(sink);
        let lines: usize = MachineId::ALL
            .iter()
            .map(|&id| {
                let text = std::fs::read_to_string(dir.path().join(log_name(id))).unwrap();
                text.lines().count() - 1
            })
            .sum();
        assert_eq!(lines, records.len());
    }
}
