//! The clock a run carries beside Lamport's, as a type: `()` for none
//! (every Lamport run: zero-sized, so its machines, messages, records,
//! nodes and simulators are byte for byte and instruction for instruction
//! what they were before the clock had a parameter), or an [`Hlc`].
//!
//! A type rather than a run-time choice: a field and a branch for a clock
//! a run may not keep cost the simulator 6 % of its speed (docs/CLOCKS.md),
//! and a `()` costs nothing. The host picks the type from `--clock`.

use core::fmt;

use crate::wire::Frame;
use crate::{ClockOverflow, MachineId};
#[cfg(target_pointer_width = "64")]
use crate::{Hlc, VectorClock};

/// A clock carried beside Lamport's: the machine's state and the stamp a
/// message and a record carry are the same value (the state after the
/// event). Nothing the model decides reads it.
pub trait Stamp: Copy + Default + fmt::Debug + PartialEq + Eq + Send + Sync + 'static {
    /// Its name in `--clock` and `params.json`.
    const NAME: &'static str;
    /// The columns a log appends for it, each after a comma (none for `()`).
    const COLUMNS: &'static str;
    /// The clock at the start of a run.
    const ZERO: Self;
    /// Its messages travel as `Clock` frames (and, in the simulator, as
    /// their numbers): Lamport's alone. Every other clock has a frame of
    /// its own ([`Stamp::frame`]), and a node of one refuses the other's.
    const CLOCK_FRAMES: bool;
    /// It reads physical time (an HLC): its node then reads the machine's
    /// own clock, skewed where the simulator skews it, for its stamps and
    /// its records' `system_ns` alike. A clock that reads none leaves the
    /// skew to its host, which reads the records through it.
    const READS_TIME: bool;

    /// The clock at the start of a run of `machines` machines.
    #[inline(always)]
    fn start(machines: u8) -> Self {
        let _ = machines;
        Self::ZERO
    }

    /// The largest encoded frame of a run of `machines` machines carrying
    /// this clock, delimiter included.
    #[inline(always)]
    fn frame_max(machines: u8) -> usize {
        let _ = machines;
        crate::wire::FIXED_FRAME_MAX
    }

    /// A send or internal event of machine `me` at physical time `pt_ns`.
    /// On an error the clock is left as it was.
    fn local(&mut self, me: MachineId, pt_ns: u64) -> Result<(), ClockOverflow>;

    /// A receive by machine `me` at physical time `pt_ns` of a message
    /// stamped `msg`. On an error the clock is left as it was.
    fn receive(&mut self, me: MachineId, msg: Self, pt_ns: u64) -> Result<(), ClockOverflow>;

    /// The frame that carries a message with this stamp.
    fn frame(from: u8, clock: u64, seq: u64, stamp: Self) -> Frame;

    /// A model message of this clock's kind in a run of `machines`
    /// machines: `(from, clock, seq, stamp)`; `None` for any other frame,
    /// the other clocks' messages and a stamp of another run's shape too.
    fn message(frame: &Frame, machines: u8) -> Option<(u8, u64, u64, Self)>;

    /// Writes [`Stamp::COLUMNS`]' values for a record stamped `self` whose
    /// event took a message stamped `msg` (`None`: no message, empty
    /// columns).
    fn write_columns(self, msg: Option<Self>, out: &mut impl fmt::Write) -> fmt::Result;

    /// The stamp as an HLC, for the readers of the logs' HLC columns;
    /// `None` for every other clock.
    fn as_hlc(self) -> Option<crate::Hlc> {
        None
    }

    /// The stamp's entries as a vector clock's, for the readers of the
    /// logs' vector columns; `None` for every other clock.
    fn as_vector(&self) -> Option<&[u32]> {
        None
    }
}

/// No clock beside Lamport's.
impl Stamp for () {
    const NAME: &'static str = "lamport";
    const COLUMNS: &'static str = "";
    const ZERO: Self = ();
    const CLOCK_FRAMES: bool = true;
    const READS_TIME: bool = false;

    #[inline(always)]
    fn local(&mut self, _: MachineId, _: u64) -> Result<(), ClockOverflow> {
        Ok(())
    }

    #[inline(always)]
    fn receive(&mut self, _: MachineId, _: Self, _: u64) -> Result<(), ClockOverflow> {
        Ok(())
    }

    #[inline(always)]
    fn frame(from: u8, clock: u64, seq: u64, (): Self) -> Frame {
        Frame::Clock { from, clock, seq }
    }

    #[inline(always)]
    fn message(frame: &Frame, _: u8) -> Option<(u8, u64, u64, Self)> {
        match *frame {
            Frame::Clock { from, clock, seq } => Some((from, clock, seq, ())),
            _ => None,
        }
    }

    fn write_columns(self, _: Option<Self>, _: &mut impl fmt::Write) -> fmt::Result {
        Ok(())
    }
}

/// The HLC the paper's rules give after `record`'s event, from the
/// machine's `last` stamp (for the tests of carried runs).
#[cfg(test)]
pub(crate) fn next_hlc<const M: usize>(last: Hlc, record: &crate::Record<M, Hlc>) -> Hlc {
    let mut next = last;
    let stepped = match record.event {
        crate::Event::Receive(m) => {
            Stamp::receive(&mut next, record.machine, m.stamp, record.system_ns)
        }
        crate::Event::Send(_) | crate::Event::Internal => {
            Stamp::local(&mut next, record.machine, record.system_ns)
        }
    };
    assert!(stepped.is_ok(), "the counter overflowed at {record:?}");
    next
}

/// The vector the rules give after `record`'s event, from the machine's
/// `last` vector (for the tests of carried runs): a receive's maximum with
/// its message's first, then the machine's own entry one on.
#[cfg(all(test, target_pointer_width = "64"))]
pub(crate) fn next_vector<const M: usize>(
    last: VectorClock<M>,
    record: &crate::Record<M, VectorClock<M>>,
) -> VectorClock<M> {
    let mut next = std::vec::Vec::from(last.entries());
    if let crate::Event::Receive(m) = record.event {
        for (a, b) in next.iter_mut().zip(m.stamp.entries()) {
            *a = (*a).max(*b);
        }
    }
    next[record.machine.index()] += 1;
    VectorClock::from_entries(&next).expect("the run's length")
}

/// The hybrid logical clock, its physical time each event's `system_ns`.
/// Its counter passing `u32::MAX` ends the machine as a clock overflow.
/// (64-bit hosts: the firmware keeps Lamport's clock alone.)
#[cfg(target_pointer_width = "64")]
impl Stamp for Hlc {
    const NAME: &'static str = "hlc";
    const COLUMNS: &'static str = ",hlc_l,hlc_c,msg_hlc_l,msg_hlc_c";
    const ZERO: Self = Hlc::new();
    const CLOCK_FRAMES: bool = false;
    const READS_TIME: bool = true;

    fn local(&mut self, _: MachineId, pt_ns: u64) -> Result<(), ClockOverflow> {
        Hlc::local(self, pt_ns).map(drop).map_err(|_| ClockOverflow)
    }

    fn receive(&mut self, _: MachineId, msg: Self, pt_ns: u64) -> Result<(), ClockOverflow> {
        Hlc::receive(self, msg, pt_ns)
            .map(drop)
            .map_err(|_| ClockOverflow)
    }

    fn frame(from: u8, clock: u64, seq: u64, stamp: Self) -> Frame {
        Frame::HlcClock {
            from,
            clock,
            seq,
            l: stamp.l(),
            c: stamp.c(),
        }
    }

    fn message(frame: &Frame, _: u8) -> Option<(u8, u64, u64, Self)> {
        match *frame {
            Frame::HlcClock {
                from,
                clock,
                seq,
                l,
                c,
            } => Some((from, clock, seq, Hlc::from_parts(l, c))),
            _ => None,
        }
    }

    fn as_hlc(self) -> Option<Hlc> {
        Some(self)
    }

    fn write_columns(self, msg: Option<Self>, out: &mut impl fmt::Write) -> fmt::Result {
        write!(out, ",{},{},", self.l(), self.c())?;
        match msg {
            Some(m) => write!(out, "{},{}", m.l(), m.c()),
            None => out.write_str(","),
        }
    }
}

/// The vector clock, sized for up to `M` machines and holding the run's
/// `n` entries. Its messages travel as `VectorClock` frames, whose vector
/// must be of the run's `n`. (64-bit hosts, as the HLC.)
#[cfg(target_pointer_width = "64")]
impl<const M: usize> Stamp for VectorClock<M> {
    const NAME: &'static str = "vector";
    const COLUMNS: &'static str = ",vc,msg_vc";
    const ZERO: Self = VectorClock::EMPTY;
    const CLOCK_FRAMES: bool = false;
    const READS_TIME: bool = false;

    fn start(machines: u8) -> Self {
        VectorClock::zeros(machines)
    }

    fn frame_max(machines: u8) -> usize {
        crate::wire::vector_frame_max(machines)
    }

    fn local(&mut self, me: MachineId, _: u64) -> Result<(), ClockOverflow> {
        VectorClock::local(self, me).map_err(|_| ClockOverflow)
    }

    fn receive(&mut self, me: MachineId, msg: Self, _: u64) -> Result<(), ClockOverflow> {
        // A vector of another length never gets here (the node refuses its
        // frame), nor a machine beyond `n` (the machine is checked): only
        // an overflow does.
        VectorClock::receive(self, me, &msg).map_err(|_| ClockOverflow)
    }

    fn frame(from: u8, clock: u64, seq: u64, stamp: Self) -> Frame {
        Frame::VectorClock {
            from,
            clock,
            seq,
            // `n` is at most MACHINES_MAX: every run's vector fits.
            vector: stamp.resize().unwrap_or_default(),
        }
    }

    fn message(frame: &Frame, machines: u8) -> Option<(u8, u64, u64, Self)> {
        match *frame {
            Frame::VectorClock {
                from,
                clock,
                seq,
                vector,
            } if vector.entries().len() == usize::from(machines) => {
                Some((from, clock, seq, vector.resize()?))
            }
            _ => None,
        }
    }

    fn as_vector(&self) -> Option<&[u32]> {
        Some(self.entries())
    }

    fn write_columns(self, msg: Option<Self>, out: &mut impl fmt::Write) -> fmt::Result {
        write!(out, ",{self},")?;
        match msg {
            Some(m) => write!(out, "{m}"),
            None => Ok(()),
        }
    }
}
