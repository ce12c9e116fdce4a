//! The log record: one per event, and its CSV line.

use core::fmt;

use crate::decimal::{self, U64_DIGITS};
use crate::id::MACHINES_MAX;
use crate::{MachineId, Message, Stamp};

/// The header line of every `machine-<id>.csv`.
pub const HEADER: &str = "machine,tick,model_ns,system_ns,event,clock,queue_len,peer,msg_clock,seq";

/// One event of one machine: a line of its log. `M` is the most machines
/// of the run (a send's destinations are at most `M - 1`), `H` the clock
/// it carries beside Lamport's (none by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a record is the event's only trace: log it and send its messages"]
pub struct Record<const M: usize = 3, H = ()> {
    /// The machine the event happened on.
    pub machine: MachineId,
    /// The tick's index on that machine, from 0.
    pub tick: u64,
    /// The tick's scheduled model time since the run's start: `tick * 1e9 / rate`.
    pub model_ns: u64,
    /// Wall-clock Unix time in ns when the event happened, as the host gave it.
    pub system_ns: u64,
    /// The Lamport clock after the event.
    pub clock: u64,
    /// Messages left in the inbox after the event.
    pub queue_len: u32,
    /// What happened.
    pub event: Event<M, H>,
    /// The carried clock after the event (its messages' stamp on a send).
    pub stamp: H,
}

/// What a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<const M: usize = 3, H = ()> {
    /// Took this message off the inbox and applied the receive rule.
    Receive(Message<H>),
    /// Sent the new clock to one peer or to several (one event).
    Send(Sends<M>),
    /// An internal event.
    Internal,
}

/// The destinations of one send event with each message's `seq`, in
/// ascending id order: at most `M` of them (a send to all of `M` machines
/// has `M - 1`). The ids and the seqs are two arrays with one length, so
/// that no id pads a seq to 16 bytes: a record of three machines is smaller
/// than with two `(id, seq)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sends<const M: usize = 3> {
    seqs: [u64; M],
    ids: [MachineId; M],
    len: u8,
}

impl<const M: usize> Sends<M> {
    /// A send to no one yet, for [`Sends::push`].
    pub const fn none() -> Self {
        Self {
            seqs: [0; M],
            ids: [MachineId::ZERO; M],
            len: 0,
        }
    }

    /// A send to one peer.
    pub const fn one(to: MachineId, seq: u64) -> Self {
        let mut sends = Self::none();
        sends.push(to, seq);
        sends
    }

    /// A send to two peers; the pairs are sorted by id.
    pub const fn both(a: (MachineId, u64), b: (MachineId, u64)) -> Self {
        let mut sends = Self::none();
        let (a, b) = if a.0.get() <= b.0.get() {
            (a, b)
        } else {
            (b, a)
        };
        sends.push(a.0, a.1);
        sends.push(b.0, b.1);
        sends
    }

    /// Adds the message to `to` numbered `seq`, after those already in
    /// (the caller keeps them in id order). A send already holding `M`
    /// destinations is left as it was and `false` returned.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub const fn push(&mut self, to: MachineId, seq: u64) -> bool {
        let i = self.len as usize;
        if i >= M || i >= u8::MAX as usize {
            return false;
        }
        self.ids[i] = to;
        self.seqs[i] = seq;
        self.len += 1;
        true
    }

    /// The number of destinations.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True for a send to no one (only [`Sends::none`]'s).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The destinations, in id order.
    pub fn ids(&self) -> &[MachineId] {
        self.ids.get(..self.len()).unwrap_or_default()
    }

    /// Each destination's message `seq`, in the order of [`Sends::ids`].
    pub fn seqs(&self) -> &[u64] {
        self.seqs.get(..self.len()).unwrap_or_default()
    }

    /// The `i`-th destination and the `seq` of its message.
    pub fn get(&self, i: usize) -> Option<(MachineId, u64)> {
        Some((*self.ids().get(i)?, *self.seqs().get(i)?))
    }

    /// Each destination with the `seq` of the message on that link.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (MachineId, u64)> + Clone + '_ {
        self.ids().iter().copied().zip(self.seqs().iter().copied())
    }
}

impl<const M: usize, H: Stamp> Record<M, H> {
    /// The messages this event sends: destination and message.
    pub fn outgoing(&self) -> impl Iterator<Item = (MachineId, Message<H>)> + '_ {
        let (ids, seqs): (&[MachineId], &[u64]) = match &self.event {
            Event::Send(sends) => (sends.ids(), sends.seqs()),
            Event::Receive(_) | Event::Internal => (&[], &[]),
        };
        ids.iter().zip(seqs).map(|(&to, &seq)| {
            let msg = Message {
                from: self.machine,
                clock: self.clock,
                seq,
                stamp: self.stamp,
            };
            (to, msg)
        })
    }
}

// The longest line of any run, column by column: each number at its widest
// value (ids are below MACHINES_MAX), each event with its longest columns:
// a send to all of MACHINES_MAX machines is the longest.
const ID_DIGITS: usize = (MACHINES_MAX - 1).ilog10() as usize + 1;
const PEERS_MAX: usize = MACHINES_MAX as usize - 1;
/// The digits of the widest send's destinations: the widest line's sender
/// is the top id (its column `ID_DIGITS` wide) and sends to all the others.
const PEER_DIGITS_MAX: usize = {
    let mut digits = 0;
    let mut id = 0u8;
    while id < MACHINES_MAX - 1 {
        digits += if id == 0 { 1 } else { id.ilog10() as usize + 1 };
        id += 1;
    }
    digits
};
const U32_DIGITS: usize = u32::MAX.ilog10() as usize + 1;

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// `machine,tick,model_ns,system_ns,<event>,clock,queue_len,` without the
/// event's name: the columns every event fills, and their 7 commas.
const COMMON_MAX: usize = ID_DIGITS + 4 * U64_DIGITS + U32_DIGITS + 7;
/// The event's name and the last three columns (`peer,msg_clock,seq`).
const EVENT_MAX: usize = max(
    // receive,2,<clock>,<seq>
    "receive".len() + ID_DIGITS + 2 * U64_DIGITS + 2,
    max(
        // send,0;1;…,<clock>,<seq>;<seq>;… to all others (a send to fewer is
        // shorter): each id and seq with its `;` or `,`, one `;` fewer
        // each, and the clock's `,`
        "send".len() + PEER_DIGITS_MAX + PEERS_MAX + U64_DIGITS + PEERS_MAX * (U64_DIGITS + 1),
        // internal,,
        "internal".len() + 2,
    ),
);

/// The length of the longest CSV line [`Record::write_line`] writes, `\n` included.
pub const LINE_MAX: usize = COMMON_MAX + EVENT_MAX + 1;

/// Appends bytes to a line buffer. Every line fits in [`LINE_MAX`] bytes, so
/// `put` never runs out of room; if it did, it would drop bytes rather than
/// panic.
struct LineWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> LineWriter<'a> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// Writes `n` in decimal and then `end`, the byte after the column. The
    /// digits are counted first and then written in place, two at a time
    /// from the right: no scratch buffer, no copy (a `memcpy` call per
    /// column was a sixth of a logged run's time).
    fn num(&mut self, n: u64, end: u8) {
        if !cfg!(target_pointer_width = "64") {
            // The firmware's flash holds only the one digit writer.
            let mut col = [end; U64_DIGITS + 1];
            if let Some((digits, _)) = col.split_first_chunk_mut() {
                let start = decimal::write_right(n, digits);
                self.put(col.get(start..).unwrap_or_default());
            }
            return;
        }
        let digits = decimal::len(n);
        if let Some((last, col)) = self
            .buf
            .get_mut(self.len..self.len + digits + 1)
            .and_then(<[u8]>::split_last_mut)
        {
            decimal::write_exact(n, col);
            *last = end;
            self.len += digits + 1;
        }
    }

    /// Writes again the bytes from `from` to the end of what is written.
    fn again(&mut self, from: usize) {
        let end = self.len + (self.len - from);
        if end <= self.buf.len() {
            self.buf.copy_within(from..self.len, self.len);
            self.len = end;
        }
    }

    /// Writes the numbers `;`-separated, then `end`.
    fn list(&mut self, numbers: impl ExactSizeIterator<Item = u64>, end: u8) {
        let last = numbers.len().saturating_sub(1);
        for (i, n) in numbers.enumerate() {
            self.num(n, if i == last { end } else { b';' });
        }
    }

    /// The bytes written, borrowed for as long as the buffer was.
    fn finish(self) -> &'a [u8] {
        let Self { buf, len } = self;
        let buf: &'a [u8] = buf;
        buf.get(..len).unwrap_or_default()
    }
}

impl<const M: usize, H> Record<M, H> {
    /// Writes the CSV line, in the columns of [`HEADER`] and ending in `\n`,
    /// into `buf` and returns it: the one formatting rule of the log, with no
    /// `core::fmt`, no allocation and no panic.
    pub fn write_line<'b>(&self, buf: &'b mut [u8; LINE_MAX]) -> &'b [u8] {
        let mut w = LineWriter { buf, len: 0 };
        w.num(self.machine.get().into(), b',');
        w.num(self.tick, b',');
        let model_at = w.len;
        w.num(self.model_ns, b',');
        if cfg!(target_pointer_width = "64") && self.system_ns == self.model_ns {
            // The simulator at its default start (0) and speed (1): the
            // same digits again, copied rather than worked out twice (on
            // 64-bit hosts: the firmware's flash has no room for a second
            // way to write a column).
            w.again(model_at);
        } else {
            w.num(self.system_ns, b',');
        }
        w.put(match self.event {
            Event::Receive(_) => b"receive,",
            Event::Send(_) => b"send,",
            Event::Internal => b"internal,",
        });
        w.num(self.clock, b',');
        w.num(self.queue_len.into(), b',');
        match &self.event {
            Event::Receive(m) => {
                w.num(m.from.get().into(), b',');
                w.num(m.clock, b',');
                w.num(m.seq, b'\n');
            }
            Event::Send(sends) => {
                // peer and seq list the destinations in the same order;
                // msg_clock is the clock every message carries.
                w.list(sends.ids().iter().map(|to| to.get().into()), b',');
                w.num(self.clock, b',');
                w.list(sends.seqs().iter().copied(), b'\n');
            }
            Event::Internal => w.put(b",,\n"),
        }
        w.finish()
    }
}

/// Bytes a carried clock's columns take at most after a line's
/// ([`Stamp::COLUMNS`]): a vector clock's `,vc,msg_vc` of sixteen machines
/// at their widest (352; an HLC's `,l,c,msg_l,msg_c` take 52).
pub const STAMP_MAX: usize = {
    let hlc = 2 * (1 + U64_DIGITS) + 2 * (1 + U32_DIGITS);
    let machines = crate::MACHINES_MAX as usize;
    let vector = 2 * (1 + machines * U32_DIGITS + (machines - 1));
    if hlc > vector { hlc } else { vector }
};
/// The longest line of a run that carries a clock beside Lamport's.
pub const STAMPED_LINE_MAX: usize = LINE_MAX + STAMP_MAX;

impl<const M: usize, H: Stamp> Record<M, H> {
    /// Writes the CSV line of a run carrying `H`, in the columns of
    /// [`HEADER`] then [`Stamp::COLUMNS`], ending in `\n`: for `()`
    /// exactly [`Record::write_line`]'s. A send's message columns are its
    /// own stamp, as `msg_clock` is its clock; an internal event's are
    /// empty.
    pub fn write_stamped<'b>(&self, buf: &'b mut [u8; STAMPED_LINE_MAX]) -> &'b [u8] {
        let Some((head, _)) = buf.split_first_chunk_mut::<LINE_MAX>() else {
            return &[];
        };
        let base = self.write_line(head).len();
        if H::COLUMNS.is_empty() {
            return buf.get(..base).unwrap_or_default();
        }
        let msg = self.message_stamp();
        // Over the line's `\n`: the columns, then the `\n` again.
        let mut cursor = Cursor {
            buf: &mut buf[..],
            len: base.saturating_sub(1),
        };
        let written = self.stamp.write_columns(msg, &mut cursor).is_ok()
            && fmt::Write::write_str(&mut cursor, "\n").is_ok();
        let len = if written { cursor.len } else { base };
        buf.get(..len).unwrap_or_default()
    }
}

impl<const M: usize, H: Copy> Record<M, H> {
    /// The carried clock of the event's message, as `msg_clock` is its
    /// clock: the message taken on a receive, the messages sent (the
    /// record's own stamp) on a send, none on an internal event.
    pub fn message_stamp(&self) -> Option<H> {
        match self.event {
            Event::Receive(m) => Some(m.stamp),
            Event::Send(_) => Some(self.stamp),
            Event::Internal => None,
        }
    }
}

impl<const M: usize, H> Record<M, H> {
    /// The record without its carried clock: the Lamport run's record of
    /// the same event.
    pub fn without_stamp(&self) -> Record<M> {
        let event = match &self.event {
            Event::Receive(m) => Event::Receive(Message::lamport(m.from, m.clock, m.seq)),
            Event::Send(s) => Event::Send(*s),
            Event::Internal => Event::Internal,
        };
        Record {
            machine: self.machine,
            tick: self.tick,
            model_ns: self.model_ns,
            system_ns: self.system_ns,
            clock: self.clock,
            queue_len: self.queue_len,
            event,
            stamp: (),
        }
    }
}

/// A `fmt::Write` into a byte buffer that refuses what does not fit.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let room = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes the CSV line (without the newline) in the columns of [`HEADER`],
/// as [`Record::write_line`] does.
impl<const M: usize, H> fmt::Display for Record<M, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; LINE_MAX];
        let line = self.write_line(&mut buf);
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        // The line is ASCII, so this never fails.
        f.write_str(core::str::from_utf8(line).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::{format, vec::Vec};

    fn record(event: Event) -> Record {
        Record {
            machine: MachineId::ZERO,
            tick: 3,
            model_ns: 500_000_000,
            system_ns: 1_700_000_000_500_000_000,
            clock: 9,
            queue_len: 2,
            event,
            stamp: (),
        }
    }

    fn line<const M: usize>(record: &Record<M>) -> String {
        let mut buf = [0; LINE_MAX];
        String::from_utf8(record.write_line(&mut buf).to_vec()).unwrap()
    }

    /// `write_line` writes `want` and a newline; `Display`, `want` alone.
    fn check(record: Record, want: &str) {
        assert_eq!(line(&record), format!("{want}\n"));
        assert_eq!(record.to_string(), want);
    }

    #[test]
    fn csv_lines() {
        let rx = Event::Receive(Message {
            from: MachineId::TWO,
            clock: 8,
            seq: 4,
            stamp: (),
        });
        check(
            record(rx),
            "0,3,500000000,1700000000500000000,receive,9,2,2,8,4",
        );
        let one = Event::Send(Sends::one(MachineId::ONE, 0));
        check(
            record(one),
            "0,3,500000000,1700000000500000000,send,9,2,1,9,0",
        );
        let both = Event::Send(Sends::both((MachineId::TWO, 5), (MachineId::ONE, 7)));
        check(
            record(both),
            "0,3,500000000,1700000000500000000,send,9,2,1;2,9,7;5",
        );
        check(
            record(Event::Internal),
            "0,3,500000000,1700000000500000000,internal,9,2,,,",
        );
        let zero = Record {
            machine: MachineId::ZERO,
            tick: 0,
            model_ns: 0,
            system_ns: 0,
            clock: 0,
            queue_len: 0,
            event: Event::Internal,
            stamp: (),
        };
        check(zero, "0,0,0,0,internal,0,0,,,");
        assert_eq!(HEADER.split(',').count(), 10);
    }

    /// The widest line: every number at its maximum, a send to all of
    /// sixteen machines.
    #[test]
    fn the_widest_record_fills_line_max_exactly() {
        let m = u64::MAX;
        let mut all = Sends::<16>::none();
        for to in MachineId::all(15) {
            assert!(all.push(to, m));
        }
        let widest = Record {
            machine: MachineId::new(15, 16).unwrap(),
            tick: m,
            model_ns: m,
            system_ns: m,
            clock: m,
            queue_len: u32::MAX,
            event: Event::Send(all),
            stamp: (),
        };
        let max = "18446744073709551615";
        let seqs = [max; 15].join(";");
        let want = format!(
            "15,{max},{max},{max},send,{max},4294967295,0;1;2;3;4;5;6;7;8;9;10;11;12;13;14,\
             {max},{seqs}\n"
        );
        assert_eq!(line(&widest), want);
        assert_eq!(want.len(), LINE_MAX);
        assert!(all.push(MachineId::ZERO, 0), "room for M");
        assert!(!all.push(MachineId::ZERO, 0), "a full send takes no more");
        // A send to both of three machines, at its widest, is shorter.
        let both = Record::<3> {
            machine: MachineId::TWO,
            event: Event::Send(Sends::both((MachineId::ZERO, m), (MachineId::ONE, m))),
            ..widest_three()
        };
        let want = "2,18446744073709551615,18446744073709551615,18446744073709551615,send,\
                    18446744073709551615,4294967295,0;1,18446744073709551615,\
                    18446744073709551615;18446744073709551615\n";
        assert_eq!(line(&both), want);
        // The other events at their widest are shorter.
        let rx = Record {
            event: Event::Receive(Message {
                from: MachineId::TWO,
                clock: m,
                seq: m,
                stamp: (),
            }),
            ..widest
        };
        assert!(line(&rx).len() < LINE_MAX);
    }

    fn widest_three() -> Record {
        let m = u64::MAX;
        Record {
            machine: MachineId::TWO,
            tick: m,
            model_ns: m,
            system_ns: m,
            clock: m,
            queue_len: u32::MAX,
            event: Event::Internal,
            stamp: (),
        }
    }

    /// The CSV rule as it was written with `core::fmt`: the reference.
    fn fmt_rule<const M: usize>(r: &Record<M>) -> String {
        let kind = match r.event {
            Event::Receive(_) => "receive",
            Event::Send(_) => "send",
            Event::Internal => "internal",
        };
        let head = format!(
            "{},{},{},{},{kind},{},{},",
            r.machine, r.tick, r.model_ns, r.system_ns, r.clock, r.queue_len
        );
        let tail = match &r.event {
            Event::Receive(m) => format!("{},{},{}", m.from, m.clock, m.seq),
            Event::Internal => ",,".to_string(),
            Event::Send(sends) => match sends.iter().collect::<Vec<_>>().as_slice() {
                [(a, sa), (b, sb)] => format!("{a};{b},{},{sa};{sb}", r.clock),
                [(a, sa)] => format!("{a},{},{sa}", r.clock),
                many => {
                    let ids: Vec<String> = many.iter().map(|(to, _)| to.to_string()).collect();
                    let seqs: Vec<String> = many.iter().map(|(_, seq)| seq.to_string()).collect();
                    format!("{},{},{}", ids.join(";"), r.clock, seqs.join(";"))
                }
            },
        };
        format!("{head}{tail}\n")
    }

    /// A record of a run of sixteen machines: any event, a send to any
    /// number of machines in id order.
    fn any_wide_record() -> impl Strategy<Value = Record<16>> {
        let sends = (
            proptest::sample::subsequence((0..16u8).collect::<Vec<_>>(), 1..=15),
            proptest::collection::vec(number(), 15),
        )
            .prop_map(|(ids, seqs)| {
                let mut sends = Sends::<16>::none();
                for (id, seq) in ids.into_iter().zip(seqs) {
                    assert!(sends.push(MachineId::new(id, 16).unwrap(), seq));
                }
                Event::Send(sends)
            });
        (any_record(), sends, 0..16u8).prop_map(|(r, event, machine)| Record {
            machine: MachineId::new(machine, 16).unwrap(),
            tick: r.tick,
            model_ns: r.model_ns,
            system_ns: r.system_ns,
            clock: r.clock,
            queue_len: r.queue_len,
            event,
            stamp: (),
        })
    }

    /// Numbers of every width, 0 and `u64::MAX` often.
    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(u64::MAX),
            (any::<u64>(), 0u32..64).prop_map(|(n, shift)| n >> shift),
        ]
    }

    fn id() -> impl Strategy<Value = MachineId> {
        proptest::sample::select(MachineId::ALL.to_vec())
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (id(), number(), number()).prop_map(|(from, clock, seq)| Event::Receive(Message {
                from,
                clock,
                seq,
                stamp: (),
            })),
            (id(), number()).prop_map(|(to, seq)| Event::Send(Sends::one(to, seq))),
            (id(), number(), id(), number())
                .prop_map(|(a, sa, b, sb)| Event::Send(Sends::both((a, sa), (b, sb)))),
            Just(Event::Internal),
        ]
    }

    fn any_record() -> impl Strategy<Value = Record> {
        let queue_len = prop_oneof![Just(u32::MAX), any::<u32>().prop_map(|n| n >> (n % 32))];
        (
            id(),
            [number(), number(), number(), number()],
            queue_len,
            event(),
        )
            .prop_map(
                |(machine, [tick, model_ns, system_ns, clock], queue_len, event)| Record {
                    machine,
                    tick,
                    model_ns,
                    system_ns,
                    clock,
                    queue_len,
                    event,
                    stamp: (),
                },
            )
    }

    proptest! {
        #[test]
        fn write_line_matches_the_fmt_rule(r in any_record()) {
            let mut buf = [0; LINE_MAX];
            let bytes: Vec<u8> = r.write_line(&mut buf).to_vec();
            let want = fmt_rule(&r);
            prop_assert_eq!(&bytes, want.as_bytes());
            prop_assert!(bytes.len() <= LINE_MAX);
            prop_assert_eq!(r.to_string() + "\n", want);
        }

        /// Sends to several of sixteen machines: ids and seqs `;`-joined in
        /// the same order, within `LINE_MAX`.
        #[test]
        fn a_wide_send_matches_the_fmt_rule(r in any_wide_record()) {
            let mut buf = [0; LINE_MAX];
            let bytes: Vec<u8> = r.write_line(&mut buf).to_vec();
            prop_assert_eq!(bytes.clone(), fmt_rule(&r).into_bytes());
            prop_assert!(bytes.len() <= LINE_MAX);
        }

        /// The simulator's default start and speed: `system_ns` equals
        /// `model_ns`, and its column is copied from the one before.
        #[test]
        fn a_system_time_equal_to_the_model_time_is_written_the_same(mut r in any_record()) {
            r.system_ns = r.model_ns;
            let mut buf = [0; LINE_MAX];
            let bytes: Vec<u8> = r.write_line(&mut buf).to_vec();
            prop_assert_eq!(bytes, fmt_rule(&r).into_bytes());
        }
    }

    #[test]
    fn outgoing_carries_the_new_clock() {
        let both = record(Event::Send(Sends::both(
            (MachineId::ONE, 1),
            (MachineId::TWO, 0),
        )));
        let mut out = both.outgoing();
        let m = |seq| Message {
            from: MachineId::ZERO,
            clock: 9,
            seq,
            stamp: (),
        };
        assert_eq!(out.next(), Some((MachineId::ONE, m(1))));
        assert_eq!(out.next(), Some((MachineId::TWO, m(0))));
        assert_eq!(out.next(), None);
        assert_eq!(record(Event::Internal).outgoing().count(), 0);
    }
}
