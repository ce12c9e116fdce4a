//! The wire: a thread of the test that carries IP packets between the
//! nodes' TUN devices, for kernels without `tc netem`. It holds each packet
//! for a delay drawn from a seeded generator and drops a seeded share of
//! them; TCP in the nodes retransmits what it drops.
//!
//! Bounded: at most [`QUEUE_CAP`] packets held (one more is counted as an
//! overflow, which the test fails on, rather than dropped silently), at most
//! [`READS_PER_TURN`] packets read from a device per turn, and a turn never
//! waits longer than [`TURN_MAX`], so a stop is seen within it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use scalemodel_core::rng::{Stream, stream, uniform};

/// Packets the wire holds at once.
pub const QUEUE_CAP: usize = 4096;
/// Packets read from one device per turn.
pub const READS_PER_TURN: usize = 64;
/// The longest one turn waits for a packet.
pub const TURN_MAX: Duration = Duration::from_millis(10);
/// The largest IP packet.
const PACKET_LEN_MAX: usize = 65_535;
/// Loss is counted in parts per million.
const PPM: u64 = 1_000_000;

/// What a link does to each packet, in each direction.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// The mean one-way delay, ns.
    pub delay_ns: u64,
    /// The delay varies uniformly by up to this much either way, ns.
    pub jitter_ns: u64,
    /// The share of packets dropped, in parts per million.
    pub loss_ppm: u32,
}

impl Link {
    /// A link that delays and drops nothing.
    pub const DIRECT: Link = Link {
        delay_ns: 0,
        jitter_ns: 0,
        loss_ppm: 0,
    };

    /// The least delay a packet is held for, ns.
    pub fn delay_min_ns(&self) -> u64 {
        self.delay_ns.saturating_sub(self.jitter_ns)
    }
}

/// What the wire did, counted where it happened.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Packets read from the devices.
    pub read: u64,
    /// Packets written to their destination's device.
    pub forwarded: u64,
    /// Packets dropped by the link's loss.
    pub dropped: u64,
    /// Packets that are not IPv4 (the kernel's IPv6 chatter), dropped.
    pub not_ipv4: u64,
    /// IPv4 packets for no node's address, dropped.
    pub unroutable: u64,
    /// Packets dropped because [`QUEUE_CAP`] were held.
    pub overflowed: u64,
    /// Writes to a device that failed.
    pub write_errors: u64,
    /// The most packets held at once.
    pub held_max: usize,
}

/// The wire's thread; dropping it stops the thread and closes the devices.
#[derive(Debug)]
pub struct Wire {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<Counts>>>,
}

impl Wire {
    /// Starts carrying packets between `ends` (each node's TUN device and
    /// its address) over `link`, with draws from `seed`'s network stream.
    pub fn start(ends: Vec<(File, Ipv4Addr)>, link: Link, seed: u64) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wire".into())
            .spawn(move || carry(&ends, link, seed, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the wire and closes its devices; what it did, or why it failed.
    pub fn stop(mut self) -> io::Result<Counts> {
        self.halt()
            .unwrap_or_else(|| Err(io::Error::other("the wire was already stopped")))
    }

    fn halt(&mut self) -> Option<io::Result<Counts>> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take()?;
        Some(
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the wire's thread panicked"))),
        )
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// One held packet: when it is due, in what order it came, where it goes.
type Held = Reverse<(u64, u64, usize, Vec<u8>)>;

/// The wire's loop, until `stop`.
fn carry(
    ends: &[(File, Ipv4Addr)],
    link: Link,
    seed: u64,
    stop: &AtomicBool,
) -> io::Result<Counts> {
    let mut state = State::new(link, seed);
    let mut buf = vec![0u8; PACKET_LEN_MAX];
    while !stop.load(Ordering::Relaxed) {
        let now = state.now_ns();
        state.deliver_due(ends, now);
        let wait = state.held.peek().map_or(TURN_MAX, |Reverse((due, ..))| {
            Duration::from_nanos(due.saturating_sub(now)).min(TURN_MAX)
        });
        let ready = wait_readable(ends, wait)?;
        for (file, _) in ends.iter().zip(ready).filter(|(_, r)| *r).map(|(e, _)| e) {
            for _ in 0..READS_PER_TURN {
                match (&*file).read(&mut buf) {
                    Ok(len) => state.take(&buf[..len], ends),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(state.counts)
}

/// What the wire holds and has counted.
struct State {
    link: Link,
    rng: scalemodel_core::rng::ModelRng,
    epoch: Instant,
    held: BinaryHeap<Held>,
    /// Packets taken so far: the order of the next.
    order: u64,
    counts: Counts,
}

impl State {
    fn new(link: Link, seed: u64) -> Self {
        Self {
            link,
            rng: stream(seed, 3, Stream::Network),
            epoch: Instant::now(),
            held: BinaryHeap::new(),
            order: 0,
            counts: Counts::default(),
        }
    }

    /// Nanoseconds since the wire started.
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Writes every packet due by `now` to its destination's device.
    fn deliver_due(&mut self, ends: &[(File, Ipv4Addr)], now: u64) {
        while self
            .held
            .peek()
            .is_some_and(|Reverse((due, ..))| *due <= now)
        {
            let Some(Reverse((_, _, to, packet))) = self.held.pop() else {
                break;
            };
            // A TUN device takes one packet per write, whole or not at all.
            match (&ends[to].0).write(&packet) {
                Ok(n) if n == packet.len() => self.counts.forwarded += 1,
                _ => self.counts.write_errors += 1,
            }
        }
    }

    /// Takes a packet read from a device: drops it, or holds it for its delay.
    fn take(&mut self, packet: &[u8], ends: &[(File, Ipv4Addr)]) {
        self.counts.read += 1;
        if packet.first().is_none_or(|b| b >> 4 != 4) {
            self.counts.not_ipv4 += 1;
            return;
        }
        let Some(to) = destination(packet, ends) else {
            self.counts.unroutable += 1;
            return;
        };
        if uniform(&mut self.rng, 0..=PPM - 1) < u64::from(self.link.loss_ppm) {
            self.counts.dropped += 1;
            return;
        }
        let (delay, jitter) = (self.link.delay_ns, self.link.jitter_ns);
        let delay = uniform(
            &mut self.rng,
            self.link.delay_min_ns()..=delay.saturating_add(jitter),
        );
        if self.held.len() >= QUEUE_CAP {
            self.counts.overflowed += 1;
            return;
        }
        let due = self.now_ns().saturating_add(delay);
        self.held
            .push(Reverse((due, self.order, to, packet.to_vec())));
        self.order += 1;
        self.counts.held_max = self.counts.held_max.max(self.held.len());
    }
}

/// Waits up to `wait` for packets; which devices have some.
fn wait_readable(ends: &[(File, Ipv4Addr)], wait: Duration) -> io::Result<Vec<bool>> {
    let mut fds: Vec<PollFd<'_>> = ends
        .iter()
        .map(|(file, _)| PollFd::new(file, PollFlags::IN))
        .collect();
    let timeout = Timespec {
        tv_sec: 0,
        // Below TURN_MAX, so below a second.
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(vec![false; ends.len()]),
        Err(e) => return Err(e.into()),
    }
    // An error or hang-up shows in the read that follows.
    let wake = PollFlags::IN | PollFlags::ERR | PollFlags::HUP;
    Ok(fds.iter().map(|fd| fd.revents().intersects(wake)).collect())
}

/// The index of the end whose address an IPv4 packet is for.
fn destination(packet: &[u8], ends: &[(File, Ipv4Addr)]) -> Option<usize> {
    let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    let dst = Ipv4Addr::from(dst);
    ends.iter().position(|(_, addr)| *addr == dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20-byte IPv4 header for `dst`.
    fn ipv4_to(dst: [u8; 4]) -> Vec<u8> {
        let mut packet = vec![0u8; 20];
        packet[0] = 0x45;
        packet[16..20].copy_from_slice(&dst);
        packet
    }

    #[test]
    fn the_wire_drops_its_share_delays_the_rest_and_counts_what_overflows() {
        let tmp = tempfile::tempdir().unwrap();
        let out = File::create(tmp.path().join("end-0")).unwrap();
        let ends = [(out, Ipv4Addr::new(198, 18, 0, 1))];
        let link = Link {
            delay_ns: 20_000_000,
            jitter_ns: 5_000_000,
            loss_ppm: 10_000,
        };
        let mut state = State::new(link, 7);
        let offered = QUEUE_CAP + 100;
        let first = state.now_ns();
        for _ in 0..offered {
            state.take(&ipv4_to([198, 18, 0, 1]), &ends);
        }
        let last = state.now_ns();
        state.take(&ipv4_to([198, 18, 0, 9]), &ends);
        state.take(&[0x60; 40], &ends);
        let c = state.counts;
        assert_eq!(
            (c.read, c.unroutable, c.not_ipv4),
            (offered as u64 + 2, 1, 1)
        );
        // About 1 % of 4,196: the draws of seed 7.
        const DROPPED: u64 = 42;
        assert_eq!(c.dropped, DROPPED, "{c:?}");
        assert_eq!(c.held_max, QUEUE_CAP);
        assert_eq!(c.overflowed, offered as u64 - c.dropped - QUEUE_CAP as u64);
        // Each held for 15 to 25 ms from when it was taken.
        let dues = (first + link.delay_min_ns())..=(last + link.delay_ns + link.jitter_ns);
        assert!(
            state
                .held
                .iter()
                .all(|Reverse((due, ..))| dues.contains(due))
        );
        state.deliver_due(&ends, first);
        assert_eq!(state.counts.forwarded, 0, "nothing is due at once");
        state.deliver_due(&ends, u64::MAX);
        assert_eq!(state.counts.forwarded, QUEUE_CAP as u64);
        let written = std::fs::metadata(tmp.path().join("end-0")).unwrap().len();
        assert_eq!(written, 20 * QUEUE_CAP as u64);
    }
}
