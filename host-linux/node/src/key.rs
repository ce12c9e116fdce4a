//! The run's key: drawn by `run` for each trial and handed to its nodes over
//! their stdin, or read by a hand-started node from `--key-file`.
//!
//! A key file holds any secret of [`SECRET_MIN`]..=[`SECRET_MAX`] bytes (one
//! trailing newline is not part of it); the key is its SHA-256, so a file of
//! random bytes, base64 or a passphrase all work. Like ssh with its private
//! keys, a node refuses a key file that its group or others may read.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use scalemodel_core::node::Key;
use sha2::{Digest, Sha256};

use scalemodel_rundir::infile::{InFile, InFileError};

/// The shortest secret a key file may hold, in bytes.
pub const SECRET_MIN: usize = 16;
/// The longest secret a key file may hold, in bytes.
pub const SECRET_MAX: usize = 4096;

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The operating system gave no randomness: a key from anything weaker
    /// (the time, say) would be guessable, so there is none.
    #[error("the operating system gave no randomness for the run's key")]
    NoRandomness(#[source] getrandom::Error),
    /// The key file could not be read.
    #[error("cannot read the key file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file is no regular file (a FIFO, a device, a folder), which
    /// might block or never end: refused unread.
    #[error("the key file {path} is {what}, not a regular file")]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// Others than its owner may read the key file.
    #[error(
        "the key file {path} may be read by others (mode {mode:03o}); make it private with `chmod 600 {path}`"
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The secret is too short or too long (a file too large to hold one
    /// is refused unread, with its size).
    #[error(
        "the key file {path} holds {len} bytes; a secret of {SECRET_MIN} to {SECRET_MAX} bytes is needed (e.g. `head -c 32 /dev/urandom | base64 > {path}`)"
    )]
    Length {
        /// The file.
        path: PathBuf,
        /// The secret's length (after the trailing newline), or the
        /// file's size when it is too large to read.
        len: u64,
    },
    /// The launcher's `key` line is not 64 hex digits.
    #[error("the key from the launcher is not 64 hex digits")]
    Hex,
}

/// A fresh random key from the operating system.
pub fn random() -> Result<Key, KeyError> {
    let mut key = [0; 32];
    getrandom::fill(&mut key).map_err(KeyError::NoRandomness)?;
    Ok(Key(key))
}

/// The largest key file read: the longest secret and a `\r\n`.
const FILE_BYTES_MAX: u64 = SECRET_MAX as u64 + 2;

/// Reads a key file: refused when group or others may read it, when it is
/// no regular file (a FIFO would block the node for ever), and unread when
/// it is larger than a secret can be.
pub fn read_file(path: &Path) -> Result<Key, KeyError> {
    let read = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    // Follows links, as the open does: the mode of what is read counts.
    let meta = fs::metadata(path).map_err(read)?;
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_file() && mode & 0o077 != 0 {
        return Err(KeyError::Open {
            path: path.to_owned(),
            mode,
        });
    }
    let file = InFile::open(path, FILE_BYTES_MAX).map_err(|e| match e {
        InFileError::Io(source) => read(source),
        InFileError::NotRegular(what) => KeyError::NotRegular {
            path: path.to_owned(),
            what,
        },
        InFileError::TooLarge { len, .. } => KeyError::Length {
            path: path.to_owned(),
            len,
        },
    })?;
    let bytes = file.read_all().map_err(read)?;
    from_secret(&bytes).ok_or_else(|| KeyError::Length {
        path: path.to_owned(),
        len: trim_newline(&bytes).len() as u64,
    })
}

/// The key for a key file's contents, if the secret's length is allowed.
pub fn from_secret(bytes: &[u8]) -> Option<Key> {
    let secret = trim_newline(bytes);
    (SECRET_MIN..=SECRET_MAX)
        .contains(&secret.len())
        .then(|| Key(Sha256::digest(secret).into()))
}

/// `bytes` without one trailing `\n` or `\r\n`.
fn trim_newline(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// The key as 64 lowercase hex digits, for the launcher's `key` line.
pub fn to_hex(key: &Key) -> String {
    key.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key from 64 hex digits.
pub fn from_hex(hex: &str) -> Result<Key, KeyError> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return Err(KeyError::Hex);
    }
    let mut key = [0; 32];
    // Digit by digit: `from_str_radix` would take a sign.
    let digit = |b: u8| char::from(b).to_digit(16).ok_or(KeyError::Hex);
    for (byte, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (digit(pair[0])?, digit(pair[1])?);
        *byte = u8::try_from(hi << 4 | lo).map_err(|_| KeyError::Hex)?;
    }
    Ok(Key(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        let key = Key(std::array::from_fn(|i| (i * 37) as u8));
        let hex = to_hex(&key);
        assert_eq!(hex.len(), 64);
        assert_eq!(from_hex(&hex).map(|k| k.0).ok(), Some(key.0));
        assert!(from_hex(&hex[1..]).is_err());
        assert!(from_hex(&format!("g{}", &hex[1..])).is_err());
        assert!(from_hex(&format!("+{}", &hex[1..])).is_err());
    }

    #[test]
    fn a_secret_is_hashed_without_its_newline_and_bounded() {
        let a = from_secret(b"0123456789abcdef\n").map(|k| k.0);
        assert_eq!(a, from_secret(b"0123456789abcdef").map(|k| k.0));
        assert_eq!(a, from_secret(b"0123456789abcdef\r\n").map(|k| k.0));
        assert_ne!(a, from_secret(b"0123456789abcdeg").map(|k| k.0));
        assert!(from_secret(b"short\n").is_none());
        assert!(from_secret(&[7; SECRET_MAX + 1]).is_none());
        assert!(from_secret(&[7; SECRET_MAX]).is_some());
    }

    #[test]
    fn a_key_file_others_may_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.key");
        fs::write(&path, "a secret of some length\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_file(&path).unwrap_err().to_string();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_file(&path).is_ok());
        fs::write(&path, "short").unwrap();
        let e = read_file(&path).unwrap_err().to_string();
        assert!(e.contains("holds 5 bytes"), "{e}");
    }

    #[test]
    fn a_key_file_that_is_a_fifo_or_a_device_is_refused_without_blocking() {
        // A FIFO used to block the node for ever in its read.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("run.key");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = read_file(&fifo).unwrap_err().to_string();
        assert!(
            e.contains("run.key is a FIFO (named pipe), not a regular file"),
            "{e}"
        );
        let zero = dir.path().join("zero.key");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_file(&zero).unwrap_err().to_string();
        assert!(e.contains("zero.key is a character device"), "{e}");
    }

    #[test]
    fn a_huge_key_file_is_refused_unread() {
        // 2 GiB (sparse): it used to be read whole, 2.1 GB of memory and
        // seconds, before its length was refused.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.key");
        let file = fs::File::create(&path).unwrap();
        file.set_len(2 << 30).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let e = read_file(&path).unwrap_err().to_string();
        assert!(e.contains("holds 2147483648 bytes"), "{e}");
        // A secret of the longest length, with its newline, is still read.
        let mut secret = vec![b'k'; SECRET_MAX];
        secret.extend(b"\r\n");
        fs::write(&path, &secret).unwrap();
        assert!(read_file(&path).is_ok());
    }
}
