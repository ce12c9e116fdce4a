//! The run's random streams, all derived from one `u64` seed.
//!
//! Every random choice of a run comes from a [`ModelRng`] (xoshiro256++)
//! seeded with `SeedableRng::seed_from_u64(seed)` and then jumped ahead
//! `2^128` steps per stream, so the streams never overlap:
//!
//! | jumps | stream | draws |
//! | --- | --- | --- |
//! | 0 | [`Stream::Run`] | the machines' rates, machine 0 first |
//! | 1 + id | [`Stream::Machine`] | that machine's die rolls |
//! | 4 | [`Stream::Network`] | the simulator's link jitter |
//! | 5 + id | [`Stream::Nonce`] | that machine's handshake challenges in the simulator |
//! | 8 | [`Stream::Faults`] | the simulator's injected garbage bytes |
//! | 9 | [`Stream::Swarm`] | a swarm case's parameters and faults |
//!
//! A machine's die rolls depend only on `(seed, id)` and on how many rolls it
//! has made, never on message timing: the n-th roll of machine i is the same in
//! the simulator, on the network and on a microcontroller.

use core::ops::RangeInclusive;

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::{MachineId, N};

/// The generator behind every random choice of a run.
pub type ModelRng = Xoshiro256PlusPlus;

/// One of a run's independent random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Draws the machines' rates.
    Run,
    /// One machine's die.
    Machine(MachineId),
    /// The simulator's link jitter.
    Network,
    /// One machine's handshake challenges in the simulator (hosts on a real
    /// network draw them from the operating system).
    Nonce(MachineId),
    /// The bytes of the simulator's injected garbage.
    Faults,
    /// A swarm case's parameters and faults.
    Swarm,
}

impl Stream {
    fn jumps(self) -> usize {
        match self {
            Self::Run => 0,
            Self::Machine(id) => 1 + id.index(),
            Self::Network => 1 + N,
            Self::Nonce(id) => 2 + N + id.index(),
            Self::Faults => 2 + 2 * N,
            Self::Swarm => 3 + 2 * N,
        }
    }
}

/// The generator of `stream` for the run with `seed`.
pub fn stream(seed: u64, stream: Stream) -> ModelRng {
    let mut rng = ModelRng::seed_from_u64(seed);
    for _ in 0..stream.jumps() {
        rng.jump();
    }
    rng
}

/// The number of streams a seed has (`Stream::Swarm` is the last).
#[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
const STREAMS: usize = 4 + 2 * N;

/// Every stream of one seed, made with one jump each from the one before:
/// a host that needs several pays 9 jumps, not a walk from the seed for
/// each (a jump is 256 steps of the generator; a simulator's six streams
/// cost 45 jumps the other way, a swarm case's worth of ticks). On targets
/// under 64 bits (the firmware, short of flash, not of time) it holds only
/// the seed and walks as [`stream`] does.
#[derive(Debug, Clone)]
pub struct Streams(
    #[cfg(target_pointer_width = "64")] [ModelRng; STREAMS],
    #[cfg(not(target_pointer_width = "64"))] u64,
);

impl Streams {
    /// The streams of `seed`.
    #[cfg(target_pointer_width = "64")]
    pub fn new(seed: u64) -> Self {
        let mut rng = ModelRng::seed_from_u64(seed);
        // One jump between streams, none after the last.
        Self(core::array::from_fn(|i| {
            if i > 0 {
                rng.jump();
            }
            rng.clone()
        }))
    }

    /// The generator of `stream`, as [`stream`] makes it.
    #[cfg(target_pointer_width = "64")]
    pub fn get(&self, stream: Stream) -> ModelRng {
        self.0
            .get(stream.jumps())
            .cloned()
            .unwrap_or_else(|| ModelRng::seed_from_u64(0))
    }

    /// The streams of `seed`.
    #[cfg(not(target_pointer_width = "64"))]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The generator of `s`, as [`stream`] makes it.
    #[cfg(not(target_pointer_width = "64"))]
    pub fn get(&self, s: Stream) -> ModelRng {
        stream(self.0, s)
    }
}

/// A uniform draw from `range`.
///
/// Multiplies a 64-bit draw by the span and keeps the high word: one draw per
/// call, no loop, and a bias below `span / 2^64`, far under anything a run can
/// observe.
pub fn uniform<R: Rng + ?Sized>(rng: &mut R, range: RangeInclusive<u64>) -> u64 {
    let (lo, hi) = (*range.start(), *range.end());
    if hi <= lo {
        return lo;
    }
    let span = u128::from(hi - lo) + 1;
    let offset = (u128::from(rng.next_u64()) * span) >> 64;
    // offset < span <= u64::MAX + 1, so it fits and lo + offset <= hi.
    lo + offset as u64
}

/// Rolls a die with `sides` faces: a face in `1..=sides`.
pub fn roll<R: Rng + ?Sized>(rng: &mut R, sides: u8) -> u8 {
    uniform(rng, 1..=u64::from(sides.max(1))) as u8
}

/// Draws the three machines' rates (ticks per second) from `range`, machine 0 first.
pub fn draw_rates(seed: u64, range: RangeInclusive<u32>) -> [u32; N] {
    let mut rng = stream(seed, Stream::Run);
    let range = u64::from(*range.start())..=u64::from(*range.end());
    // Every draw lies in the u32 range it came from.
    [(); N].map(|()| uniform(&mut rng, range.clone()) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let mut a = stream(7, Stream::Machine(MachineId::ZERO));
        let mut b = stream(7, Stream::Machine(MachineId::ONE));
        let mut a2 = stream(7, Stream::Machine(MachineId::ZERO));
        let (x, y, z) = (a.next_u64(), b.next_u64(), a2.next_u64());
        assert_ne!(x, y);
        assert_eq!(x, z);
    }

    #[test]
    fn streams_at_once_are_the_streams_one_by_one() {
        let mut all = std::vec![Stream::Run, Stream::Network, Stream::Faults, Stream::Swarm];
        for id in MachineId::ALL {
            all.extend([Stream::Machine(id), Stream::Nonce(id)]);
        }
        for seed in [0, 7, u64::MAX] {
            let streams = Streams::new(seed);
            for &s in &all {
                let (mut a, mut b) = (streams.get(s), stream(seed, s));
                assert_eq!(
                    [a.next_u64(), a.next_u64()],
                    [b.next_u64(), b.next_u64()],
                    "{s:?}"
                );
            }
        }
        assert_eq!(Stream::Swarm.jumps(), STREAMS - 1);
    }

    #[test]
    fn golden_draws_pin_the_streams() {
        // These values fix the model's randomness across hosts and versions:
        // changing them changes every run's die rolls.
        assert_eq!(draw_rates(42, 1..=6), GOLDEN_RATES_42);
        let mut rng = stream(42, Stream::Machine(MachineId::ZERO));
        let rolls: [u8; 8] = [(); 8].map(|()| roll(&mut rng, 10));
        assert_eq!(rolls, GOLDEN_ROLLS_42_M0);
    }

    const GOLDEN_RATES_42: [u32; N] = [5, 2, 6];
    const GOLDEN_ROLLS_42_M0: [u8; 8] = [8, 4, 1, 9, 1, 2, 8, 5];

    #[test]
    fn uniform_covers_the_range_evenly() {
        let mut rng = stream(1, Stream::Run);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            let face = roll(&mut rng, 6);
            assert!((1..=6).contains(&face));
            counts[usize::from(face - 1)] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(uniform(&mut rng, 5..=5), 5);
        // The full range must not overflow the span arithmetic.
        let full = [(); 4].map(|()| uniform(&mut rng, 0..=u64::MAX));
        assert!(full.windows(2).all(|w| w[0] != w[1]), "{full:?}");
        assert_eq!(uniform(&mut rng, u64::MAX..=u64::MAX), u64::MAX);
    }
}
