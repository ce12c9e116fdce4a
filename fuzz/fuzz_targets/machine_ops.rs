//! An arbitrary sequence of `deliver` and `tick` on a `Machine<4>`.
//!
//! The machine's id, rate and die come from the input (invalid ones are
//! skipped), and so do the arrival and due times; each tick's die draw is a
//! word from the input, so the fuzzer picks the faces. Checks: no panic; the
//! inbox never holds more than 4; a push into a full inbox hands the same
//! message back; a successful tick takes the oldest message only if it had
//! arrived by the tick's due time, follows the tick rule and strictly
//! increases the clock; a `ClockOverflow` leaves the clock, the inbox and the
//! tick count as they were.
#![no_main]

use core::convert::Infallible;

use libfuzzer_sys::fuzz_target;
use rand_core::TryRng;
use scalemodel_core::{Die, Event, Machine, MachineId, Message, model_ns};

mod ops;
use ops::{Input, Op};

/// The inbox capacity under test.
const CAP: usize = 4;

/// Hands out one given word, then fails the test if asked again: a tick
/// rolls the die at most once.
struct OneWord(Option<u64>);

impl TryRng for OneWord {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.take().expect("a tick rolls the die at most once"))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let word = self.try_next_u64()?.to_le_bytes();
        for (d, w) in dst.iter_mut().zip(word.iter().cycle()) {
            *d = *w;
        }
        Ok(())
    }
}

fn deliver(m: &mut Machine<CAP>, msg: Message, at_ns: u64) {
    let before = m.inbox().len();
    match m.deliver(msg, at_ns) {
        Ok(()) => {
            assert!(before < CAP);
            assert_eq!(m.inbox().len(), before + 1);
        }
        Err(back) => {
            assert_eq!(before, CAP, "refused with room left");
            assert_eq!(back, msg, "a full inbox hands back the same message");
            assert_eq!(m.inbox().len(), CAP);
        }
    }
}

fn tick(m: &mut Machine<CAP>, due_ns: u64, system_ns: u64, draw: u64) {
    let (clock, ticks, len) = (m.clock(), m.ticks(), m.inbox().len());
    let (front, due) = (m.inbox().front_by(due_ns), m.inbox().len_by(due_ns));
    assert!(due <= len);
    assert_eq!(front.is_some(), due > 0);
    let sent = MachineId::ALL.map(|id| m.sent_to(id));
    let mut rng = OneWord(Some(draw));
    let Ok(record) = m.tick(due_ns, system_ns, &mut rng) else {
        // ClockOverflow: nothing changed.
        assert_eq!((m.clock(), m.ticks(), m.inbox().len()), (clock, ticks, len));
        assert_eq!(m.inbox().front_by(due_ns), front);
        return;
    };
    assert!(
        m.clock() > clock,
        "the clock went from {clock} to {}",
        m.clock()
    );
    assert_eq!(record.clock, m.clock());
    assert_eq!(
        (record.machine, record.tick, record.system_ns),
        (m.id(), ticks, system_ns)
    );
    assert_eq!(record.model_ns, model_ns(ticks, m.rate()));
    assert_eq!(m.ticks(), ticks + 1);
    assert_eq!(record.queue_len as usize, m.inbox().len_by(due_ns));
    match (front, record.event) {
        (Some(msg), Event::Receive(got)) => {
            assert_eq!(got, msg, "a tick takes the oldest message");
            assert_eq!(m.clock(), clock.max(msg.clock) + 1);
            assert_eq!(m.inbox().len(), len - 1);
            assert_eq!(record.queue_len as usize, due - 1);
            assert!(rng.0.is_some(), "a receive rolls no die");
        }
        (None, Event::Send(_) | Event::Internal) => {
            assert_eq!(m.clock(), clock + 1);
            assert_eq!((m.inbox().len(), record.queue_len), (len, 0));
            for (to, msg) in record.outgoing() {
                assert_ne!(to, m.id());
                assert_eq!((msg.from, msg.clock), (m.id(), m.clock()));
                assert_eq!(msg.seq, sent[to.index()], "seq counts per link from 0");
            }
        }
        (front, event) => panic!("inbox front {front:?} but event {event:?}"),
    }
}

fuzz_target!(|input: Input| {
    let Some(id) = MachineId::new(input.id, 3) else {
        return;
    };
    let Ok(die) = Die::three(input.sides) else {
        return;
    };
    let Ok(mut m) = Machine::<CAP>::new(id, input.rate, die) else {
        return;
    };
    for op in input.ops {
        match op {
            Op::Deliver {
                from,
                clock,
                seq,
                at_ns,
            } => {
                let from = MachineId::ALL[usize::from(from) % MachineId::ALL.len()];
                deliver(&mut m, Message::lamport(from, clock, seq), at_ns);
            }
            Op::Tick {
                due_ns,
                system_ns,
                draw,
            } => tick(&mut m, due_ns, system_ns, draw),
        }
        assert!(m.inbox().len() <= CAP);
    }
});
