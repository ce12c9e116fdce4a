//! The bounded inbox: the machine's inbound network queue.

use heapless::Deque;

use crate::Message;

/// A message and when it arrived, on the host's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Arrived<H> {
    msg: Message<H>,
    at_ns: u64,
}

/// A FIFO of arrived messages holding at most `CAP`, each with the time it
/// arrived, so that a tick sees the queue as it stood when the tick was due
/// ([`Inbox::front_by`], [`Inbox::len_by`]).
///
/// A push into a full inbox hands the message back: nothing is dropped silently.
#[derive(Debug, Clone)]
pub struct Inbox<const CAP: usize, H = ()> {
    queue: Deque<Arrived<H>, CAP>,
}

impl<const CAP: usize, H: Copy> Inbox<CAP, H> {
    /// An empty inbox.
    pub const fn new() -> Self {
        Self {
            queue: Deque::new(),
        }
    }

    /// Appends a message that arrived at `at_ns`, or hands it back when the
    /// inbox is full. Arrival times never go back: one earlier than the last
    /// message's counts as arriving with it, so that the queue stays in
    /// arrival order.
    pub fn push(&mut self, msg: Message<H>, at_ns: u64) -> Result<(), Message<H>> {
        let at_ns = self
            .queue
            .back()
            .map_or(at_ns, |last| last.at_ns.max(at_ns));
        self.queue
            .push_back(Arrived { msg, at_ns })
            .map_err(|back| back.msg)
    }

    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<Message<H>> {
        self.queue.pop_front().map(|a| a.msg)
    }

    /// The oldest message, left in place.
    pub fn front(&self) -> Option<Message<H>> {
        self.queue.front().map(|a| a.msg)
    }

    /// The oldest message if it arrived at or before `by_ns`, left in place.
    pub fn front_by(&self, by_ns: u64) -> Option<Message<H>> {
        self.queue
            .front()
            .filter(|a| a.at_ns <= by_ns)
            .map(|a| a.msg)
    }

    /// Messages waiting that arrived at or before `by_ns`.
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub fn len_by(&self, by_ns: u64) -> usize {
        // Most often none waits, or all had arrived: the newest tells.
        // (Not on the firmware: flash.)
        if cfg!(target_pointer_width = "64") {
            match self.queue.back() {
                None => return 0,
                Some(last) if last.at_ns <= by_ns => return self.queue.len(),
                Some(_) => {}
            }
        }
        // In arrival order, so those that came later are a suffix.
        let (a, b) = self.queue.as_slices();
        let early = |s: &[Arrived<H>]| s.partition_point(|m| m.at_ns <= by_ns);
        match early(a) {
            n if n < a.len() => n,
            n => n + early(b),
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when no message waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when a push would be refused.
    pub fn is_full(&self) -> bool {
        self.queue.is_full()
    }

    /// Drops every waiting message.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// The capacity, `CAP`.
    pub const fn capacity(&self) -> usize {
        CAP
    }

    /// The waiting messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Message<H>> {
        self.queue.iter().map(|a| &a.msg)
    }
}

impl<const CAP: usize, H: Copy> Default for Inbox<CAP, H> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MachineId;
    use proptest::prelude::*;

    fn msg(seq: u64) -> Message {
        Message {
            from: MachineId::ONE,
            clock: seq + 1,
            seq,
            stamp: (),
        }
    }

    #[test]
    fn full_inbox_hands_the_message_back() {
        let mut inbox = Inbox::<2>::new();
        assert_eq!(inbox.push(msg(0), 0), Ok(()));
        assert_eq!(inbox.push(msg(1), 0), Ok(()));
        assert!(inbox.is_full());
        assert_eq!(inbox.push(msg(2), 0), Err(msg(2)));
        assert_eq!(inbox.pop(), Some(msg(0)));
        assert_eq!(inbox.push(msg(2), 0), Ok(()));
        assert_eq!(inbox.len(), 2);
    }

    #[test]
    fn a_tick_sees_only_what_arrived_by_its_time() {
        let mut inbox = Inbox::<4>::new();
        for (seq, at) in [(0, 10), (1, 20), (2, 20), (3, 30)] {
            assert_eq!(inbox.push(msg(seq), at), Ok(()));
        }
        assert_eq!(inbox.front_by(9), None);
        assert_eq!(inbox.front_by(10), Some(msg(0)));
        let lens = [5, 10, 19, 20, 29, 30, 99].map(|t| inbox.len_by(t));
        assert_eq!(lens, [0, 1, 1, 3, 3, 4, 4]);
        // Wrapped round the ring buffer: both halves are searched.
        assert_eq!(inbox.pop(), Some(msg(0)));
        assert_eq!(inbox.pop(), Some(msg(1)));
        assert_eq!(inbox.push(msg(4), 40), Ok(()));
        assert_eq!(inbox.push(msg(5), 50), Ok(()));
        let lens = [19, 20, 30, 45, 50].map(|t| inbox.len_by(t));
        assert_eq!(lens, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn an_arrival_earlier_than_the_last_counts_as_arriving_with_it() {
        let mut inbox = Inbox::<2>::new();
        assert_eq!(inbox.push(msg(0), 50), Ok(()));
        assert_eq!(inbox.push(msg(1), 40), Ok(()));
        assert_eq!(inbox.len_by(45), 0);
        assert_eq!(inbox.len_by(50), 2);
    }

    proptest! {
        #[test]
        fn len_by_counts_what_had_arrived(
            ops in proptest::collection::vec((any::<bool>(), 0u64..40), 0..200),
            by in proptest::collection::vec(0u64..60, 1..8),
        ) {
            // Pushes (at the given times) and pops, wrapping the ring; after
            // each, len_by against a plain count of the arrival times.
            let mut inbox = Inbox::<8>::new();
            let mut seq = 0;
            for (push, at) in ops {
                if push {
                    if inbox.push(msg(seq), at).is_ok() {
                        seq += 1;
                    }
                } else {
                    inbox.pop();
                }
                for &t in &by {
                    let count = inbox.queue.iter().filter(|a| a.at_ns <= t).count();
                    prop_assert_eq!(inbox.len_by(t), count);
                }
            }
        }

        #[test]
        fn bound_holds_and_order_is_fifo(ops in proptest::collection::vec(any::<bool>(), 0..300)) {
            let mut inbox = Inbox::<8>::new();
            let (mut pushed, mut popped) = (0u64, 0u64);
            for push in ops {
                if push {
                    match inbox.push(msg(pushed), pushed) {
                        Ok(()) => pushed += 1,
                        Err(back) => {
                            prop_assert_eq!(back, msg(pushed));
                            prop_assert_eq!(inbox.len(), 8);
                        }
                    }
                } else if let Some(m) = inbox.pop() {
                    prop_assert_eq!(m.seq, popped);
                    popped += 1;
                }
                prop_assert!(inbox.len() <= 8);
                prop_assert_eq!(inbox.len() as u64, pushed - popped);
            }
        }
    }
}
