//! Opening a file that anyone may have put in place, for reading, so that
//! no read can block or run for ever: only a regular file (after its links
//! are followed), no larger than a bound, read up to the size it had when
//! opened.
//!
//! A path may name a FIFO (whose open waits for a writer, and whose reads
//! wait for data), a device such as `/dev/zero` (which never ends), or a
//! directory. The file is opened without blocking (`O_NONBLOCK`, which a
//! regular file ignores) and its type and size are taken from the open file
//! itself, so that a path swapped between a check and the open changes
//! nothing.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InFileError {
    /// Opening or reading it failed (missing, permission denied, ...).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// It is not a regular file.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    /// It is larger than such a file can be.
    #[error("it holds {len} bytes, more than {max}")]
    TooLarge {
        /// Its size.
        len: u64,
        /// The most it may hold.
        max: u64,
    },
}

/// A regular file, open for reading, and its size when it was opened.
#[derive(Debug)]
pub struct InFile {
    file: File,
    len: u64,
}

impl InFile {
    /// Opens `path` for reading if it is a regular file (following links)
    /// of at most `max` bytes.
    pub fn open(path: &Path, max: u64) -> Result<Self, InFileError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(io::Error::from)?;
        let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
        let kind = FileType::from_raw_mode(stat.st_mode);
        if kind != FileType::RegularFile {
            return Err(InFileError::NotRegular(name(kind)));
        }
        let len = u64::try_from(stat.st_size).unwrap_or(0);
        if len > max {
            return Err(InFileError::TooLarge { len, max });
        }
        Ok(Self {
            file: File::from(fd),
            len,
        })
    }

    /// Its size when it was opened, in bytes.
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// True when it was empty when opened.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of at most its size when opened: a file that grows while it
    /// is read is read no further.
    pub fn reader(self) -> io::Take<File> {
        self.file.take(self.len)
    }

    /// Reads it whole (up to its size when opened).
    pub fn read_all(self) -> io::Result<Vec<u8>> {
        // Bounded by `max` at the open: never more than the caller allowed.
        let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.reader().read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// What a file of type `kind` is, for an error.
const fn name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "a file of unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A FIFO at `path`: opening it for reading blocks until a writer comes.
    pub(crate) fn mkfifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("a FIFO can be made");
    }

    #[test]
    fn a_fifo_a_device_and_a_directory_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let zero = dir.path().join("zero");
        symlink("/dev/zero", &zero).unwrap();
        for (path, what) in [
            (&fifo, "a FIFO"),
            (&zero, "a character device"),
            (&dir.path().to_path_buf(), "a directory"),
        ] {
            let e = InFile::open(path, 1 << 20).unwrap_err().to_string();
            assert!(e.starts_with(&format!("it is {what}")), "{e}");
        }
    }

    #[test]
    fn a_file_larger_than_its_bound_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        // Sparse: 2 GiB of size, no blocks written.
        File::create(&path).unwrap().set_len(2 << 30).unwrap();
        let e = InFile::open(&path, 4096).unwrap_err().to_string();
        assert_eq!(e, "it holds 2147483648 bytes, more than 4096");
        std::fs::write(&path, b"twelve bytes").unwrap();
        let f = InFile::open(&path, 12).unwrap();
        assert_eq!(f.len(), 12);
        assert_eq!(f.read_all().unwrap(), b"twelve bytes");
    }
}
