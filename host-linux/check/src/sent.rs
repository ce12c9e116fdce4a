//! The sends the checker has seen, per link and seq.

use std::collections::HashMap;

/// The sends logged on one link, by `seq`.
#[derive(Default)]
pub(super) struct SentLink {
    /// Sends whose seq is below the sender's row count (every honest seq:
    /// a link's seqs count from 0, one per send), by seq: a vector, as
    /// hashing every send was a tenth of a swarm case.
    dense: Vec<Option<SentMsg>>,
    /// Sends with any other seq a bad log names (never allocates otherwise).
    sparse: HashMap<u64, SentMsg>,
    /// Sends held, both kinds.
    pub(super) count: usize,
    /// The seq due next: one past the last seen, so that one gap is reported once.
    pub(super) next: u64,
}

impl SentLink {
    /// Keeps `msg` under `seq` (`dense_max`: the sender's row count, which
    /// bounds the vector); false if that seq was sent already.
    pub(super) fn insert(&mut self, seq: u64, msg: SentMsg, dense_max: usize) -> bool {
        let slot = match usize::try_from(seq) {
            Ok(i) if i < dense_max => {
                if i >= self.dense.len() {
                    self.dense.resize_with(i + 1, || None);
                }
                &mut self.dense[i]
            }
            _ => {
                let new = self.sparse.insert(seq, msg).is_none();
                self.count += usize::from(new);
                return new;
            }
        };
        let new = slot.is_none();
        *slot = Some(msg);
        self.count += usize::from(new);
        new
    }

    /// Forgets every send, keeping the room.
    pub(super) fn clear(&mut self) {
        self.dense.clear();
        self.sparse.clear();
        self.count = 0;
        self.next = 0;
    }

    /// The send with `seq`, if one was logged.
    pub(super) fn get(&self, seq: u64) -> Option<&SentMsg> {
        match usize::try_from(seq).ok().and_then(|i| self.dense.get(i)) {
            Some(slot) => slot.as_ref(),
            None => self.sparse.get(&seq),
        }
    }
}

/// Per directed link `(from, to)` of a run of `n` machines, by machine
/// index, in one flat table; the diagonal is never used. Sized again for
/// each run, it keeps its room (and each cell's): a checker of many runs of
/// one size allocates nothing once warm.
#[derive(Default)]
pub(super) struct PerLink<T> {
    n: usize,
    cells: Vec<T>,
}

impl<T: Default> PerLink<T> {
    /// Makes the table `n` × `n`, each cell emptied by `clear`.
    pub(super) fn reset(&mut self, n: usize, clear: impl FnMut(&mut T)) {
        self.n = n;
        let len = n * n;
        if self.cells.len() < len {
            self.cells.resize_with(len, T::default);
        }
        self.cells[..len].iter_mut().for_each(clear);
    }
}

impl<T> std::ops::Index<(usize, usize)> for PerLink<T> {
    type Output = T;
    /// The cell of `from -> to`; both below `n`, as a model link's are.
    fn index(&self, (from, to): (usize, usize)) -> &T {
        &self.cells[from * self.n + to]
    }
}

impl<T> std::ops::IndexMut<(usize, usize)> for PerLink<T> {
    fn index_mut(&mut self, (from, to): (usize, usize)) -> &mut T {
        &mut self.cells[from * self.n + to]
    }
}

/// A send as the receiver's side needs it.
pub(super) struct SentMsg {
    pub(super) clock: u64,
    pub(super) system_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(clock: u64) -> SentMsg {
        SentMsg {
            clock,
            system_ns: 0,
        }
    }

    /// Honest seqs go to the vector, any other (a bad log's) to the map,
    /// and both find a repeat; the vector never passes the row count.
    #[test]
    fn a_link_keeps_every_seq_once_in_bounded_room() {
        let mut link = SentLink::default();
        for (seq, new) in [(0, true), (1, true), (1, false), (10, true), (10, false)] {
            assert_eq!(link.insert(seq, msg(seq), 4), new, "seq {seq}");
        }
        assert!(link.insert(u64::MAX, msg(7), 4));
        assert!(!link.insert(u64::MAX, msg(8), 4));
        assert_eq!(link.count, 4);
        assert!(link.dense.len() <= 4);
        assert_eq!(link.get(10).map(|m| m.clock), Some(10));
        assert_eq!(link.get(u64::MAX).map(|m| m.clock), Some(8));
        assert!(link.get(2).is_none() && link.get(3).is_none() && link.get(11).is_none());
        link.clear();
        assert_eq!((link.count, link.next), (0, 0));
        assert!(link.get(0).is_none() && link.get(u64::MAX).is_none());
        assert!(link.insert(1, msg(1), 4));
        assert_eq!(link.count, 1);
    }
}
