//! A set of links, one bit each: which carry something, which wait to
//! close, which kept candidates are known (see `next.rs`).

use super::LINKS_MAX;

/// Words of a set: enough for [`LINKS_MAX`] links.
const WORDS_MAX: usize = LINKS_MAX.div_ceil(64);

/// A set of the links of a simulator of at most `M` machines, by index
/// (`from * M + to`). Only the words that `M * M` links use are read, so a
/// three-machine simulator tests one word, as it did with a `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Links<const M: usize>([u64; WORDS_MAX]);

impl<const M: usize> Links<M> {
    /// Words that `M * M` links use.
    const WORDS: usize = {
        assert!(M * M <= LINKS_MAX, "a simulator has at most 16 machines");
        (M * M).div_ceil(64)
    };

    /// No link.
    pub(super) const EMPTY: Self = Self([0; WORDS_MAX]);

    /// Adds link `l`, in a constant.
    #[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))] // 64-bit paths
    pub(super) const fn insert_const(&mut self, l: usize) {
        self.0[l / 64] |= 1 << (l % 64);
    }

    /// Adds link `l`.
    #[inline(always)]
    pub(super) fn insert(&mut self, l: usize) {
        if let Some(w) = self.0.get_mut(l / 64) {
            *w |= 1 << (l % 64);
        }
    }

    /// Adds link `l` if `yes`.
    #[inline(always)]
    pub(super) fn insert_if(&mut self, l: usize, yes: bool) {
        if let Some(w) = self.0.get_mut(l / 64) {
            *w |= u64::from(yes) << (l % 64);
        }
    }

    /// Removes link `l`.
    #[inline(always)]
    pub(super) fn remove(&mut self, l: usize) {
        if let Some(w) = self.0.get_mut(l / 64) {
            *w &= !(1 << (l % 64));
        }
    }

    /// Link `l` is in the set.
    #[cfg(test)]
    pub(super) fn contains(&self, l: usize) -> bool {
        self.0.get(l / 64).is_some_and(|w| w & (1 << (l % 64)) != 0)
    }

    /// No link is in the set.
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.0.iter().take(Self::WORDS).all(|&w| w == 0)
    }

    /// The lowest link in the set, if any.
    #[inline(always)]
    pub(super) fn first(&self) -> Option<usize> {
        if Self::WORDS == 1 {
            let w = self.0[0];
            return (w != 0).then(|| w.trailing_zeros() as usize);
        }
        let (i, w) = self
            .0
            .iter()
            .take(Self::WORDS)
            .enumerate()
            .find(|(_, w)| **w != 0)?;
        Some(i * 64 + w.trailing_zeros() as usize)
    }

    /// Takes the lowest link out of the set.
    #[inline(always)]
    pub(super) fn pop_first(&mut self) -> Option<usize> {
        let l = self.first()?;
        self.remove(l);
        Some(l)
    }

    /// Adds the links of `other` that `mask` also holds.
    #[inline(always)]
    #[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))] // 64-bit paths
    pub(super) fn insert_common(&mut self, other: &Self, mask: &Self) {
        for ((w, o), m) in self.0.iter_mut().zip(other.0).zip(mask.0).take(Self::WORDS) {
            *w |= o & m;
        }
    }

    /// The links into machine `to` from every other of `M`.
    #[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))] // 64-bit paths
    pub(super) const fn into(to: usize) -> Self {
        let mut set = Self::EMPTY;
        let mut from = 0;
        while from < M {
            if from != to {
                set.insert_const(from * M + to);
            }
            from += 1;
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_come_out_lowest_first_across_words() {
        let mut set = Links::<16>::EMPTY;
        assert!(set.is_empty());
        for l in [255, 3, 64, 63, 130] {
            set.insert(l);
        }
        set.insert_if(7, false);
        set.insert_if(8, true);
        assert!(set.contains(64) && !set.contains(7));
        let mut order = std::vec::Vec::new();
        while let Some(l) = set.pop_first() {
            order.push(l);
        }
        assert_eq!(order, [3, 8, 63, 64, 130, 255]);
        assert!(set.is_empty());
    }

    #[test]
    fn a_small_simulator_reads_its_words_only() {
        let mut set = Links::<3>::EMPTY;
        set.insert(8);
        assert_eq!(set.first(), Some(8));
        set.remove(8);
        assert_eq!(set.first(), None);
    }
}
