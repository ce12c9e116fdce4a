//! The bounded inbox: the machine's inbound network queue.

use heapless::Deque;

use crate::Message;

/// A FIFO of arrived messages holding at most `CAP`.
///
/// A push into a full inbox hands the message back: nothing is dropped silently.
#[derive(Debug, Clone)]
pub struct Inbox<const CAP: usize> {
    queue: Deque<Message, CAP>,
}

impl<const CAP: usize> Inbox<CAP> {
    /// An empty inbox.
    pub const fn new() -> Self {
        Self {
            queue: Deque::new(),
        }
    }

    /// Appends a message, or hands it back when the inbox is full.
    pub fn push(&mut self, msg: Message) -> Result<(), Message> {
        self.queue.push_back(msg)
    }

    /// Takes the oldest message.
    pub fn pop(&mut self) -> Option<Message> {
        self.queue.pop_front()
    }

    /// The oldest message, left in place.
    pub fn front(&self) -> Option<Message> {
        self.queue.front().copied()
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
    pub fn iter(&self) -> impl Iterator<Item = &Message> {
        self.queue.iter()
    }
}

impl<const CAP: usize> Default for Inbox<CAP> {
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
        }
    }

    #[test]
    fn full_inbox_hands_the_message_back() {
        let mut inbox = Inbox::<2>::new();
        assert_eq!(inbox.push(msg(0)), Ok(()));
        assert_eq!(inbox.push(msg(1)), Ok(()));
        assert!(inbox.is_full());
        assert_eq!(inbox.push(msg(2)), Err(msg(2)));
        assert_eq!(inbox.pop(), Some(msg(0)));
        assert_eq!(inbox.push(msg(2)), Ok(()));
        assert_eq!(inbox.len(), 2);
    }

    proptest! {
        #[test]
        fn bound_holds_and_order_is_fifo(ops in proptest::collection::vec(any::<bool>(), 0..300)) {
            let mut inbox = Inbox::<8>::new();
            let (mut pushed, mut popped) = (0u64, 0u64);
            for push in ops {
                if push {
                    match inbox.push(msg(pushed)) {
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
