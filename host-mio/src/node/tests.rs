//! The loop on real loopback sockets, in-process: each node in its own
//! thread with the portable [`PollTimer`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scalemodel_core::node::{self, CloseReason, Key, Missing, NodeReport, Status, Timeouts};
use scalemodel_core::{MachineId, N, Record};

use super::{Config, Node};
use crate::host::{Handle, Host, Note, Start};
use crate::timer::{PollTimer, Timer};
use crate::wake::Wait;

/// What a test host heard, sent to the test as it happens.
#[derive(Debug)]
enum Heard {
    Ready,
    Note(Note),
}

struct TestHost(mpsc::Sender<Heard>);

impl Host for TestHost {
    type Error = std::convert::Infallible;

    fn record<const M: usize, S: scalemodel_core::Stamp>(
        &mut self,
        _: &Record<M, S>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    fn ready(&mut self) {
        self.0.send(Heard::Ready).unwrap();
    }

    fn note(&mut self, note: &Note) {
        self.0.send(Heard::Note(*note)).unwrap();
    }
}

fn config(id: MachineId, next: SocketAddr, setup_ns: u64) -> Config {
    Config {
        node: node::Config {
            id,
            rate: [3, 4, 5][id.index()],
            sides: 4,
            machines: 3,
            topology: scalemodel_core::Topology::All,
            seed: 7,
            speed: 10,
            duration_ns: 2_000_000_000,
            key: Key([9; 32]),
            nonce: u64::from(id.get()),
            timeouts: Timeouts {
                setup_ns,
                ..Timeouts::DEFAULT
            },
            skew: scalemodel_core::ClockSkew::NONE,
        },
        // Three machines under `all` dial only the next.
        peers: vec![next; 3],
        wait: Wait::DEFAULT,
    }
}

/// A running node's handle, address, what its host hears, and its end.
struct Running {
    handle: Handle,
    addr: SocketAddr,
    heard: mpsc::Receiver<Heard>,
    done: std::thread::JoinHandle<NodeReport>,
}

/// Starts a node on `listener` in its own thread (with room for the boxed
/// node's construction in a debug build).
fn spawn(config: Config, listener: TcpListener, start: Start) -> Running {
    spawn_with(config, listener, start, PollTimer::new())
}

/// [`spawn`] with the given timer.
fn spawn_with<T: Timer + Send + 'static>(
    config: Config,
    listener: TcpListener,
    start: Start,
    timer: T,
) -> Running {
    let (tx, heard) = mpsc::channel();
    let (started, ready) = mpsc::channel();
    let done = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || {
            let node = Node::<_, 3>::new(config, listener, timer).unwrap();
            started
                .send((node.handle(), node.local_addr().unwrap()))
                .unwrap();
            node.run(&mut TestHost(tx), start).unwrap()
        })
        .unwrap();
    let (handle, addr) = ready.recv().unwrap();
    Running {
        handle,
        addr,
        heard,
        done,
    }
}

fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// A loopback address where nothing listens.
fn nobody() -> SocketAddr {
    loopback().local_addr().unwrap()
}

#[test]
fn garbage_on_a_socket_closes_it_with_a_counted_note() {
    let node = spawn(
        config(MachineId::ZERO, nobody(), 10_000_000_000),
        loopback(),
        Start::Handed,
    );
    let mut stranger = TcpStream::connect(node.addr).unwrap();
    stranger.write_all(&[0x55; 20]).unwrap();
    stranger.write_all(&[0x00; 1]).unwrap();
    stranger
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // The node sends nothing to a stranger and closes it: end of stream (or
    // a reset, if the close raced our bytes).
    let mut buf = [0; 64];
    match stranger.read(&mut buf) {
        Ok(n) => assert_eq!(n, 0, "the node sent {:?}", &buf[..n]),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    let Heard::Note(Note::Rejected { addr, reason }) = node.heard.recv().unwrap() else {
        panic!("no rejection");
    };
    assert_eq!(addr, Some(stranger.local_addr().unwrap()));
    assert!(matches!(reason, CloseReason::Protocol(_)), "{reason:?}");
    node.handle.stop();
    let report = node.done.join().unwrap();
    assert_eq!(report.status, Some(Status::Interrupted));
    assert_eq!(report.errors.total(), 1);
    assert_eq!(report.rejected, 1);
}

#[test]
fn a_next_machine_that_never_answers_is_named_at_the_set_up_deadline() {
    let began = Instant::now();
    let node = spawn(
        config(MachineId::ONE, nobody(), 300_000_000),
        loopback(),
        Start::Handed,
    );
    let report = node.done.join().unwrap();
    let missing = Missing {
        next: true,
        other: true,
    };
    assert_eq!(report.status, Some(Status::SetupFailed(missing)));
    assert!(began.elapsed() >= Duration::from_millis(300));
}

#[test]
fn three_nodes_on_loopback_run_to_a_clean_end() {
    let listeners: Vec<TcpListener> = (0..N).map(|_| loopback()).collect();
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let nodes: Vec<Running> = MachineId::ALL
        .iter()
        .zip(listeners)
        .map(|(&id, listener)| {
            let next = addrs[id.plus(1, 3).index()];
            spawn(config(id, next, 10_000_000_000), listener, Start::Handed)
        })
        .collect();
    for n in &nodes {
        // Joins come first; the barrier after both.
        while !matches!(n.heard.recv().unwrap(), Heard::Ready) {}
    }
    // Well ahead: a node refuses a start that passed before its barrier did,
    // and a loaded machine may be slow to bring three nodes up.
    let start = SystemTime::now() + Duration::from_secs(2);
    let start_ns = start.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    for n in &nodes {
        n.handle.start_at(start_ns);
    }
    let reports: Vec<NodeReport> = nodes.into_iter().map(|n| n.done.join().unwrap()).collect();
    for (id, r) in MachineId::ALL.iter().zip(&reports) {
        // Timing is not this test's subject: a loaded machine may fall behind.
        assert!(
            matches!(r.status, Some(Status::Completed | Status::Overloaded)),
            "machine {id}: {r:?}"
        );
        assert_eq!(r.tally.ticks, 2 * [3, 4, 5][id.index()]);
        assert_eq!(r.start_unix_ns, Some(start_ns));
        assert_eq!(r.errors.total(), 0);
        for to in [id.plus(1, 3), id.plus(2, 3)] {
            let (s, got) = (r.peers[to.index()], reports[to.index()].peers[id.index()]);
            assert_eq!(
                s.sent,
                got.received + got.queued + got.after_end,
                "{id}->{to}"
            );
            assert_eq!(got.peer_sent, Some(s.sent));
        }
    }
}

#[test]
fn rejected_notes_are_kept_to_a_rate() {
    let mut budget = super::NoteBudget::new(0);
    let burst = (0..100).filter(|_| budget.take(5)).count();
    assert_eq!(burst, super::REJECTED_NOTES_PER_S as usize);
    // A second later the bucket is full again, and no fuller.
    let later = (0..100).filter(|_| budget.take(5_000_000_000)).count();
    assert_eq!(later, super::REJECTED_NOTES_PER_S as usize);
    assert!(budget.take(5_100_000_000));
    assert!(!budget.take(5_100_000_000));
}

/// A [`PollTimer`] that counts its armings, the armings with the deadline
/// it already held, and the waits that asked it for a timeout.
struct CountingTimer {
    inner: PollTimer,
    armed_ns: Option<u64>,
    arms: Arc<AtomicUsize>,
    repeats: Arc<AtomicUsize>,
    waits: Arc<AtomicUsize>,
}

impl Timer for CountingTimer {
    fn now_ns(&self) -> u64 {
        self.inner.now_ns()
    }
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> std::io::Result<()> {
        self.inner.register(registry, token)
    }
    fn arm(&mut self, deadline_ns: u64) -> std::io::Result<()> {
        self.arms.fetch_add(1, Ordering::SeqCst);
        if self.armed_ns.replace(deadline_ns) == Some(deadline_ns) {
            self.repeats.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.arm(deadline_ns)
    }
    fn poll_timeout(&self, now_ns: u64) -> Option<Duration> {
        self.waits.fetch_add(1, Ordering::SeqCst);
        self.inner.poll_timeout(now_ns)
    }
    fn fired(&mut self) -> std::io::Result<()> {
        self.inner.fired()
    }
}

#[test]
fn an_unchanged_deadline_is_not_armed_again() {
    let counter = || Arc::new(AtomicUsize::new(0));
    let (arms, repeats, waits) = (counter(), counter(), counter());
    let timer = CountingTimer {
        inner: PollTimer::new(),
        armed_ns: None,
        arms: Arc::clone(&arms),
        repeats: Arc::clone(&repeats),
        waits: Arc::clone(&waits),
    };
    // Its next machine answers nobody: its deadline is the next dial, every
    // 100 ms, while each wake-up of its handle is one more turn.
    let node = spawn_with(
        config(MachineId::ZERO, nobody(), 10_000_000_000),
        loopback(),
        Start::Handed,
        timer,
    );
    let began = Instant::now();
    while waits.load(Ordering::SeqCst) < 200 && began.elapsed() < Duration::from_secs(20) {
        // Before the barrier a start time only wakes the loop.
        node.handle.start_at(1);
        std::thread::yield_now();
    }
    node.handle.stop();
    node.done.join().unwrap();
    let (arms, repeats, waits) = (
        arms.load(Ordering::SeqCst),
        repeats.load(Ordering::SeqCst),
        waits.load(Ordering::SeqCst),
    );
    assert!(waits >= 200, "only {waits} turns waited on the timer");
    assert!(arms >= 1, "the timer was never armed");
    // However many dials the host's pace let happen (each moves the
    // deadline), a turn whose deadline did not move arms nothing.
    assert_eq!(
        repeats, 0,
        "{repeats} of {arms} armings repeated the deadline already armed ({waits} waits)"
    );
}
