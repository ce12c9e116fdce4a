//! Files that never end, or that may not be read, where `analyze` and
//! `node` expect a run's files: each is refused promptly with an error that
//! names the file and what is wrong, never read for ever.
//!
//! Every command runs with a bound: on a hang the test fails and the process
//! is killed.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use scalemodel_tests::{Children, scalemodel_bin, sim_into};

/// Longer than any of these commands takes; far shorter than "for ever".
const LIMIT: Duration = Duration::from_secs(20);

/// Runs `scalemodel ARGS` within [`LIMIT`]: its success and its stderr.
fn bounded(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let err = tempfile::NamedTempFile::new().expect("a file for stderr");
    let child = Command::new(scalemodel_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err.reopen().expect("the file reopens"))
        .spawn()
        .expect("scalemodel starts");
    let mut children = Children(vec![child]);
    let status = children.wait_all(LIMIT)[0];
    (
        status.success(),
        std::fs::read_to_string(err.path()).expect("stderr reads"),
    )
}

/// Runs `scalemodel analyze DIR` within [`LIMIT`].
fn analyze(dir: &Path) -> (bool, String) {
    bounded(&["analyze".as_ref(), dir.as_os_str()])
}

/// A FIFO at `path`: its open waits for a writer, its reads for data.
fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("a FIFO can be made");
}

/// A small valid run in `tmp/run`.
fn run_in(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("run");
    sim_into(&dir, &["--seed", "5", "--duration", "3"]);
    dir
}

#[test]
fn a_log_that_is_a_device_or_a_fifo_is_refused_not_read_for_ever() {
    // A log linked to /dev/zero or /dev/urandom, or a FIFO nobody writes:
    // analyze used to read (or wait) for ever.
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_in(tmp.path());
    let log = dir.join("machine-0.csv");
    for (what, make) in [
        ("a character device", "/dev/zero"),
        ("a character device", "/dev/urandom"),
        ("a FIFO", ""),
    ] {
        std::fs::remove_file(&log).unwrap();
        if make.is_empty() {
            mkfifo(&log);
        } else {
            symlink(make, &log).unwrap();
        }
        let (ok, text) = analyze(&dir);
        assert!(!ok, "{make}: {text}");
        assert!(
            text.contains("machine-0.csv is ") && text.contains(what),
            "{make}: {text}"
        );
    }
}

#[test]
fn a_params_file_that_is_a_fifo_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_in(tmp.path());
    let params = dir.join("params.json");
    std::fs::remove_file(&params).unwrap();
    mkfifo(&params);
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains("params.json is a FIFO (named pipe), not a regular file"),
        "{text}"
    );
}

#[test]
fn a_folder_that_cannot_be_read_is_named_with_its_error_not_called_empty() {
    // It used to say "no run here: no params.json" for any of these.
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_in(tmp.path());
    // A params.json that links to itself: reading it fails, for any user.
    let params = dir.join("params.json");
    std::fs::remove_file(&params).unwrap();
    symlink("params.json", &params).unwrap();
    let (ok, text) = analyze(&dir);
    assert!(!ok, "{text}");
    assert!(
        text.contains("cannot read its params.json") && text.contains("symbolic links"),
        "{text}"
    );
    assert!(!text.contains("no run here"), "{text}");
    // A folder its user may not read: root reads it anyway, so that half
    // is checked only when permissions hold.
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        eprintln!("permissions do not bind this user (root?): the mode-000 case is skipped");
    } else {
        let (ok, text) = analyze(&locked);
        assert!(!ok, "{text}");
        assert!(
            text.contains("locked: cannot list it: Permission denied"),
            "{text}"
        );
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_key_file_that_is_a_fifo_or_huge_is_refused_at_once() {
    // A FIFO used to block the node for ever; a 2 GiB key file was read
    // whole (2.1 GB of memory) before it was refused.
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.key");
    mkfifo(&fifo);
    let huge = tmp.path().join("huge.key");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(2 << 30).unwrap();
    std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (key, what) in [
        (&fifo, "is a FIFO (named pipe), not a regular file"),
        (&huge, "holds 2147483648 bytes"),
    ] {
        let out = tmp.path().join("out");
        // A start a minute ahead: the key is refused long before it.
        let start = std::time::SystemTime::now() + Duration::from_secs(60);
        let start = start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            .to_string();
        let (ok, text) = bounded(&[
            "node".as_ref(),
            "--id".as_ref(),
            "0".as_ref(),
            "--peers".as_ref(),
            "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3".as_ref(),
            "--seed".as_ref(),
            "1".as_ref(),
            "--start-at".as_ref(),
            start.as_ref(),
            "--key-file".as_ref(),
            key.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert!(!ok, "{text}");
        assert!(text.contains(what), "{text}");
    }
}
