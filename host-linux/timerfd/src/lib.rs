//! `scalemodel-timerfd`: a precise tick timer for Linux, a timerfd on
//! `CLOCK_MONOTONIC`, armed with absolute deadlines and registered with the
//! event loop's `mio::Poll`; it implements `scalemodel-mio`'s [`Timer`].
//!
//! A crate of its own beside `scalemodel-mio`, which stays portable: as a
//! module of that crate it also changed how the node's core was built, and
//! with it the node's peak stack (see the README's "The crates").

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use rustix::io::Errno;
use rustix::time::{
    ClockId, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, clock_gettime,
    timerfd_create, timerfd_settime,
};
use scalemodel_mio::timer::Timer;

const NS_PER_S: u64 = 1_000_000_000;

/// A [`Timer`] backed by a non-blocking, close-on-exec timerfd on
/// `CLOCK_MONOTONIC`; [`Timer::now_ns`] reads the same clock.
#[derive(Debug)]
pub struct TimerFd {
    fd: OwnedFd,
}

impl TimerFd {
    /// Creates a disarmed timerfd.
    pub fn new() -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        Ok(Self { fd })
    }
}

fn timespec_from_ns(ns: u64) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(ns / NS_PER_S).unwrap_or(i64::MAX),
        // Below 1e9, so it fits every `Nsecs`.
        tv_nsec: (ns % NS_PER_S) as _,
    }
}

impl Timer for TimerFd {
    fn now_ns(&self) -> u64 {
        let t = clock_gettime(ClockId::Monotonic);
        let secs = u64::try_from(t.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
        secs.saturating_mul(NS_PER_S).saturating_add(nanos)
    }

    fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.fd.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    fn arm(&mut self, deadline_ns: u64) -> io::Result<()> {
        // A zero `it_value` disarms the timer; 1 ns (long past) fires at once.
        let deadline_ns = if deadline_ns <= self.now_ns() {
            1
        } else {
            deadline_ns
        };
        let spec = Itimerspec {
            it_interval: timespec_from_ns(0),
            it_value: timespec_from_ns(deadline_ns),
        };
        timerfd_settime(&self.fd, TimerfdTimerFlags::ABSTIME, &spec)?;
        Ok(())
    }

    fn poll_timeout(&self, _now_ns: u64) -> Option<Duration> {
        None
    }

    /// Nothing to do: the expiry count need not be read. mio registers the
    /// timerfd edge-triggered, so an expiry is reported once whether or not
    /// it is read, and the next `timerfd_settime` clears the count (Linux's
    /// `timerfd_setup` sets it to 0), after which an event still queued for
    /// the old expiry is not reported (epoll polls the file again before it
    /// hands an event out). A `read` per tick saved.
    fn fired(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TimerFd {
    /// Reads the expiry count (the bare loop's way, kept so that its figure
    /// stays comparable with earlier runs).
    fn read_expirations(&self) -> io::Result<()> {
        let mut count = [0u8; 8];
        // One read takes every expiry so far (their count): a second would
        // only say "none" at the cost of a system call per tick.
        loop {
            match rustix::io::read(&self.fd, &mut count) {
                Err(Errno::INTR) => {}
                Ok(_) | Err(Errno::WOULDBLOCK) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Lets this thread's timers fire on time: Linux otherwise coalesces
/// wake-ups by up to 50 µs (the default timer slack).
pub fn tighten_timer_slack() -> io::Result<()> {
    rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1)).map_err(io::Error::from)
}

/// The lateness in ns of each tick of a bare loop, one mio `Poll` and one
/// [`TimerFd`] armed at absolute deadlines `start + k * 1e9 / rate` for
/// `duration`, with nothing else to do: the floor any tick loop on this
/// machine can reach, for benchmarks to compare against.
pub fn baseline_lateness(rate: f64, duration: std::time::Duration) -> io::Result<Vec<u64>> {
    baseline_lateness_with(rate, duration, |_| {})
}

/// [`baseline_lateness`], calling `woke(k)` just after the `k`th wake-up
/// (from 1) is taken: a benchmark reads its thread's CPU clock there to
/// leave the loop's set-up out.
pub fn baseline_lateness_with(
    rate: f64,
    duration: std::time::Duration,
    mut woke: impl FnMut(u64),
) -> io::Result<Vec<u64>> {
    const TIMER: mio::Token = mio::Token(0);
    tighten_timer_slack()?;
    let mut poll = mio::Poll::new()?;
    let mut events = mio::Events::with_capacity(16);
    let mut timer = TimerFd::new()?;
    timer.register(poll.registry(), TIMER)?;
    let ticks = (duration.as_secs_f64() * rate).floor() as u64;
    let start = timer.now_ns();
    let mut lateness = Vec::with_capacity(usize::try_from(ticks).unwrap_or(0));
    for k in 1..=ticks {
        let deadline = start + (k as f64 * 1e9 / rate).round() as u64;
        timer.arm(deadline)?;
        loop {
            // A signal can end the wait early (a process with handlers, as
            // the bench's for Ctrl-C): look at the time, and wait again.
            match poll.poll(&mut events, timer.poll_timeout(timer.now_ns())) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => events.clear(),
                r => r?,
            }
            if events.iter().any(|e| e.token() == TIMER) {
                timer.read_expirations()?;
            }
            let now = timer.now_ns();
            if now >= deadline {
                lateness.push(now - deadline);
                woke(k);
                break;
            }
        }
    }
    Ok(lateness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Instant;

    const TOKEN: Token = Token(7);

    fn setup() -> (Poll, TimerFd) {
        let poll = Poll::new().unwrap();
        let mut timer = TimerFd::new().unwrap();
        timer.register(poll.registry(), TOKEN).unwrap();
        (poll, timer)
    }

    /// Polls until the timer's token fires (consuming it) or `limit` passes;
    /// returns whether it fired.
    fn wait_fired(poll: &mut Poll, timer: &mut TimerFd, limit: Duration) -> bool {
        let mut events = Events::with_capacity(8);
        let start = Instant::now();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                return false;
            }
            poll.poll(&mut events, Some(left)).unwrap();
            if events.iter().any(|e| e.token() == TOKEN && e.is_readable()) {
                timer.fired().unwrap();
                return true;
            }
        }
    }

    #[test]
    fn fires_at_an_absolute_deadline() {
        let (mut poll, mut timer) = setup();
        assert_eq!(timer.poll_timeout(timer.now_ns()), None);
        let deadline = timer.now_ns() + 2_000_000;
        timer.arm(deadline).unwrap();
        assert!(wait_fired(&mut poll, &mut timer, Duration::from_secs(1)));
        let now = timer.now_ns();
        assert!(now >= deadline, "woke at {now}, before {deadline}");
        // Consumed: it does not fire again.
        assert!(!wait_fired(
            &mut poll,
            &mut timer,
            Duration::from_millis(20)
        ));
    }

    #[test]
    fn a_past_deadline_fires_at_once() {
        let (mut poll, mut timer) = setup();
        for deadline in [
            0,
            1,
            timer.now_ns().saturating_sub(1_000_000),
            timer.now_ns(),
        ] {
            timer.arm(deadline).unwrap();
            assert!(
                wait_fired(&mut poll, &mut timer, Duration::from_millis(100)),
                "deadline {deadline} did not fire"
            );
        }
    }

    /// The node never reads the expiry count: an expiry is reported once,
    /// and one that passed unseen before the timer was armed again is not
    /// reported at all.
    #[test]
    fn an_unread_expiry_is_reported_once_and_re_arming_forgets_it() {
        let (mut poll, mut timer) = setup();
        timer.arm(timer.now_ns() + 1_000_000).unwrap();
        assert!(wait_fired(&mut poll, &mut timer, Duration::from_secs(1)));
        assert!(!wait_fired(
            &mut poll,
            &mut timer,
            Duration::from_millis(20)
        ));
        // An expiry that comes while nobody polls, then a new deadline.
        timer.arm(timer.now_ns() + 1_000_000).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        timer.arm(timer.now_ns() + 10 * NS_PER_S).unwrap();
        assert!(!wait_fired(
            &mut poll,
            &mut timer,
            Duration::from_millis(20)
        ));
    }

    #[test]
    fn re_arming_replaces_the_deadline() {
        let (mut poll, mut timer) = setup();
        // Later: the earlier deadline no longer fires.
        let now = timer.now_ns();
        timer.arm(now + 1_000_000).unwrap();
        let later = now + 60_000_000;
        timer.arm(later).unwrap();
        assert!(!wait_fired(
            &mut poll,
            &mut timer,
            Duration::from_millis(20)
        ));
        assert!(wait_fired(&mut poll, &mut timer, Duration::from_secs(1)));
        assert!(timer.now_ns() >= later);
        // Sooner: a far deadline is brought forward.
        let now = timer.now_ns();
        timer.arm(now + 10 * NS_PER_S).unwrap();
        let sooner = now + 2_000_000;
        timer.arm(sooner).unwrap();
        assert!(wait_fired(&mut poll, &mut timer, Duration::from_secs(1)));
        assert!(timer.now_ns() >= sooner);
    }
}
