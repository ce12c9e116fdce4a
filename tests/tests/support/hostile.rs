//! Hostile clients and hand-started runs, shared by `tests/hostile.rs` and
//! the `hostile` example (which prints the figures the tests do not assert).
//!
//! Every attacker is a thread that stops by its deadline; every node a
//! [`Children`] that is killed when it drops.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scalemodel::rundir::NodeSummary;
use scalemodel::rundir::read_run;
use scalemodel::timing::{Timing, timing};
use scalemodel_core::MachineId;
use scalemodel_core::wire::{CHALLENGE_LEN, Frame, MAX_FRAME_LEN, PROOF_LEN, PROTOCOL, encode};
use scalemodel_tests::{key_file, scalemodel_bin};

/// A run's parameters as the hand-started nodes get them.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// `--seed`.
    pub seed: u64,
    /// `--rates`.
    pub rates: String,
    /// `--speed`.
    pub speed: u32,
    /// `--duration`, model seconds.
    pub duration_s: u32,
    /// `--connect-timeout`.
    pub patience: String,
}

/// Starts node `id` of `spec` on `peers`, writing into `out`, with its start
/// at Unix time `start_at`. Its stderr goes to `out/stderr-ID.txt`, so that
/// a flood of notes never fills a pipe nobody reads.
///
/// The one place these tests start a node by hand. The run's key file is
/// `out.key` beside `out`, written if missing: the strangers never see it.
pub fn node(id: usize, spec: &RunSpec, peers: &[SocketAddr], start_at: u64, out: &Path) -> Child {
    std::fs::create_dir_all(out).expect("the run directory can be made");
    let key = out.with_extension("key");
    if !key.exists() {
        let dir = key.parent().expect("the run directory has a parent");
        let name = key.file_name().and_then(|n| n.to_str()).expect("a name");
        key_file(dir, name, "a secret for the hostile tests");
    }
    let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
    let stderr = std::fs::File::create(stderr_path(out, id)).expect("a stderr file");
    Command::new(scalemodel_bin())
        .args(["node", "--id", &id.to_string(), "--peers", &peers.join(",")])
        .args(["--seed", &spec.seed.to_string(), "--rates", &spec.rates])
        .args(["--speed", &spec.speed.to_string()])
        .args(["--duration", &spec.duration_s.to_string()])
        .args(["--start-at", &start_at.to_string()])
        .args(["--connect-timeout", &spec.patience])
        .arg("--key-file")
        .arg(&key)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("a node starts")
}

/// Where [`node`] writes node `id`'s stderr.
pub fn stderr_path(out: &Path, id: usize) -> PathBuf {
    out.join(format!("stderr-{id}.txt"))
}

/// Node `id`'s stderr so far.
pub fn stderr_of(out: &Path, id: usize) -> String {
    std::fs::read_to_string(stderr_path(out, id)).unwrap_or_default()
}

/// Unix time `d` from now, in ns.
pub fn unix_ns_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos() as u64
}

/// True once something listens on `addr`.
pub fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Frames, encoded back to back.
pub fn frames(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        let mut buf = [0u8; MAX_FRAME_LEN];
        out.extend_from_slice(encode(frame, &mut buf).expect("a frame fits MAX_FRAME_LEN"));
    }
    out
}

/// A `Hello` claiming machine `from`, as a stranger can make it: the right
/// version and id, and a proof of a key it does not hold.
pub fn hello(from: u8) -> Frame {
    Frame::Hello {
        protocol: PROTOCOL,
        from,
        challenge: [7; CHALLENGE_LEN],
        proof: [0; PROOF_LEN],
    }
}

/// Small invalid frames, back to back: one byte of payload that is no
/// frame's tag, then the delimiter.
pub fn garbage(len: usize) -> Vec<u8> {
    [0x02, 0xff, 0x00]
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// What an attacker did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Attack {
    /// Connections it made.
    pub connections: u64,
    /// Bytes the node took from it.
    pub bytes: u64,
}

/// A stranger that connects to `addr`, sends `first` and then small invalid
/// frames as fast as the node takes them, and connects again whenever the
/// node closes it, until `until`.
pub fn stream_garbage(addr: SocketAddr, first: Vec<u8>, until: Instant) -> JoinHandle<Attack> {
    std::thread::spawn(move || {
        let junk = garbage(4 * 1024);
        let mut attack = Attack::default();
        while Instant::now() < until {
            let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            attack.connections += 1;
            let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
            if s.write_all(&first).is_err() {
                continue;
            }
            while Instant::now() < until {
                match s.write(&junk) {
                    Ok(n) if n > 0 => attack.bytes += n as u64,
                    // Closed by the node (or stuck): connect again.
                    _ => break,
                }
            }
        }
        attack
    })
}

/// `n` strangers that connect to `addr` and say nothing; each connects again
/// as soon as the node closes it, until `until`.
pub fn idle_sockets(addr: SocketAddr, n: usize, until: Instant) -> Vec<JoinHandle<Attack>> {
    (0..n)
        .map(|_| {
            std::thread::spawn(move || {
                let mut attack = Attack::default();
                let mut buf = [0u8; 256];
                while Instant::now() < until {
                    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                    else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    attack.connections += 1;
                    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                    // Hold it until the node closes it (EOF or reset).
                    while Instant::now() < until {
                        match s.read(&mut buf) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        }
                    }
                }
                attack
            })
        })
        .collect()
}

/// `n` strangers that each connect to `addr`, say a [`hello`] claiming
/// machine `claim`, hold the connection until the node closes it, and
/// connect again at once, until `until`.
pub fn hello_flood(
    addr: SocketAddr,
    claim: u8,
    n: usize,
    until: Instant,
) -> Vec<JoinHandle<Attack>> {
    let hello = frames(&[hello(claim)]);
    (0..n)
        .map(|_| {
            let hello = hello.clone();
            std::thread::spawn(move || {
                let mut attack = Attack::default();
                let mut buf = [0u8; 256];
                while Instant::now() < until {
                    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                    else {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    attack.connections += 1;
                    if s.write_all(&hello).is_err() {
                        continue;
                    }
                    attack.bytes += hello.len() as u64;
                    // Held (whatever the node answers) until the node
                    // closes it (EOF or reset); a fresh one follows at once.
                    let _ = s.set_read_timeout(Some(Duration::from_millis(10)));
                    while Instant::now() < until {
                        match s.read(&mut buf) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => break,
                        }
                    }
                }
                attack
            })
        })
        .collect()
}

/// An impostor: claims machine `claim` to `addr` with a `Hello`, answers the
/// `Welcome` with a proof it cannot have, and reports whether the node
/// closed it (rather than letting it in).
pub fn impostor(addr: SocketAddr, claim: u8) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let proof = Frame::Proof {
        proof: [0; PROOF_LEN],
    };
    if s.write_all(&frames(&[hello(claim), proof])).is_err() {
        return true;
    }
    // The node sends its Welcome, then closes at the wrong proof: EOF (or a
    // reset); a read that times out means it kept the impostor.
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// A machine's figures from a finished hand-started run in `dir`.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The node's summary (`node-ID.json`).
    pub summary: NodeSummary,
    /// Its ticks' timing, from its log.
    pub timing: Option<Timing>,
}

/// Reads machine `id`'s summary and log timing; the run must be merged
/// (`params.json` written) first.
pub fn figures(dir: &Path, id: usize) -> Figures {
    let mid = MachineId::new(id as u8, 3).expect("an id below 3");
    let summary = NodeSummary::read(dir, mid.get()).expect("the node's summary");
    let run = read_run(dir).expect("the run reads");
    let timing = timing(
        &run.logs[id],
        summary.machine.rate,
        summary.start_ns,
        summary.run.speed,
    );
    Figures { summary, timing }
}
