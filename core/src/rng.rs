//! The run's random streams, all derived from one `u64` seed.
//!
//! Every random choice of a run comes from a [`ModelRng`] (xoshiro256++)
//! seeded with `SeedableRng::seed_from_u64(seed)` and then jumped ahead
//! `2^128` steps per stream, so the streams never overlap. They are
//! numbered from the run's number of machines `n`, so that three machines
//! keep the numbers they always had (in brackets):
//!
//! | jumps | stream | draws |
//! | --- | --- | --- |
//! | 0 | [`Stream::Run`] | the machines' rates, machine 0 first |
//! | 1 + id | [`Stream::Machine`] | that machine's die rolls |
//! | 1 + n (4) | [`Stream::Network`] | the simulator's link jitter |
//! | 2 + n + id (5 + id) | [`Stream::Nonce`] | that machine's handshake challenges in the simulator |
//! | 2 + 2n (8) | [`Stream::Faults`] | the simulator's injected garbage bytes |
//! | 3 + 2n (9) | [`Stream::Swarm`] | a swarm case's parameters and faults |
//!
//! A machine's die rolls depend only on `(seed, id)` and on how many rolls it
//! has made, never on message timing: the n-th roll of machine i is the same in
//! the simulator, on the network and on a microcontroller.

use core::ops::RangeInclusive;

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::MachineId;
use crate::id::MACHINES_MAX;

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
    /// The stream's number (its jumps from the seed) in a run of
    /// `machines` machines; a machine's id is below `machines`.
    const fn jumps(self, machines: u8) -> usize {
        let n = machines as usize;
        match self {
            Self::Run => 0,
            Self::Machine(id) => 1 + id.index(),
            Self::Network => 1 + n,
            Self::Nonce(id) => 2 + n + id.index(),
            Self::Faults => 2 + 2 * n,
            Self::Swarm => 3 + 2 * n,
        }
    }
}

/// The generator of `stream` for the run with `seed` and `machines` machines.
pub fn stream(seed: u64, machines: u8, stream: Stream) -> ModelRng {
    let mut rng = ModelRng::seed_from_u64(seed);
    for _ in 0..stream.jumps(machines) {
        rng.jump();
    }
    rng
}

/// The number of streams a seed has for `machines` machines
/// (`Stream::Swarm` is the last).
const fn streams(machines: u8) -> usize {
    4 + 2 * machines as usize
}

/// The most streams a seed has: those of [`MACHINES_MAX`] machines.
#[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
const STREAMS_MAX: usize = streams(MACHINES_MAX);

/// Every stream of one seed, made with one jump each from the one before:
/// a host that needs several pays `4 + 2n` jumps (10 for three machines),
/// not a walk from the seed for each (a jump is 256 steps of the
/// generator; a simulator's six streams cost 45 jumps the other way, a
/// swarm case's worth of ticks). On targets under 64 bits (the firmware,
/// short of flash, not of time) it holds only the seed and walks as
/// [`stream`] does.
#[derive(Debug, Clone)]
pub struct Streams {
    /// The first `4 + 2n` are the streams; the rest repeat the last.
    #[cfg(target_pointer_width = "64")]
    rngs: [ModelRng; STREAMS_MAX],
    #[cfg(not(target_pointer_width = "64"))]
    seed: u64,
    machines: u8,
}

impl Streams {
    /// The streams of `seed` for `machines` machines (at most
    /// [`MACHINES_MAX`]: more are taken as that many).
    #[cfg(target_pointer_width = "64")]
    pub fn new(seed: u64, machines: u8) -> Self {
        let machines = machines.min(MACHINES_MAX);
        let mut rng = ModelRng::seed_from_u64(seed);
        // One jump between streams, none after the last.
        let rngs = core::array::from_fn(|i| {
            if i > 0 && i < streams(machines) {
                rng.jump();
            }
            rng.clone()
        });
        Self { rngs, machines }
    }

    /// The generator of `stream`, as [`stream`] makes it.
    #[cfg(target_pointer_width = "64")]
    pub fn get(&self, stream: Stream) -> ModelRng {
        self.rngs
            .get(stream.jumps(self.machines))
            .cloned()
            .unwrap_or_else(|| ModelRng::seed_from_u64(0))
    }

    /// The streams of `seed` for `machines` machines.
    #[cfg(not(target_pointer_width = "64"))]
    pub fn new(seed: u64, machines: u8) -> Self {
        Self { seed, machines }
    }

    /// The generator of `s`, as [`stream`] makes it.
    #[cfg(not(target_pointer_width = "64"))]
    pub fn get(&self, s: Stream) -> ModelRng {
        stream(self.seed, self.machines, s)
    }

    /// The number of machines the streams are numbered for.
    pub const fn machines(&self) -> u8 {
        self.machines
    }
}

/// The generator's jump (`2^128` steps) as a table, for a host that makes
/// the streams of many seeds (the swarm: nine jumps per case, 256 generator
/// steps each, were 4 % of a case). A jump is linear in the 256-bit state,
/// so it is the XOR of the jumps of the state's 64 nibbles, each looked up:
/// 64 lookups instead of 256 steps. 32 KiB, made in about 65,000 steps;
/// 64-bit targets only.
#[cfg(target_pointer_width = "64")]
pub struct JumpTable([[[u64; 4]; 16]; 64]);

#[cfg(target_pointer_width = "64")]
impl JumpTable {
    /// The table of [`ModelRng::jump`].
    pub fn new() -> Self {
        let mut table = [[[0u64; 4]; 16]; 64];
        for (n, row) in table.iter_mut().enumerate() {
            // The jumps of the nibble's four bits, then every XOR of them.
            let bits: [[u64; 4]; 4] = core::array::from_fn(|b| {
                let i = 4 * n + b;
                let mut basis = [0u64; 4];
                basis[i / 64] = 1 << (i % 64);
                stepped_jump(basis)
            });
            for (v, entry) in row.iter_mut().enumerate() {
                for (b, jumped) in bits.iter().enumerate() {
                    if v & (1 << b) != 0 {
                        xor(entry, jumped);
                    }
                }
            }
        }
        Self(table)
    }

    /// `state` jumped once.
    fn jump(&self, state: &[u64; 4]) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (n, row) in self.0.iter().enumerate() {
            let nibble = (state[n / 16] >> (4 * (n % 16))) & 0xf;
            xor(&mut out, &row[nibble as usize]);
        }
        out
    }
}

#[cfg(target_pointer_width = "64")]
impl Default for JumpTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_pointer_width = "64")]
fn xor(acc: &mut [u64; 4], x: &[u64; 4]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a ^= b;
    }
}

/// `state` jumped as xoshiro256's reference jump does: 256 steps.
#[cfg(target_pointer_width = "64")]
fn stepped_jump(mut s: [u64; 4]) -> [u64; 4] {
    const JUMP: [u64; 4] = [
        0x180e_c6d3_3cfd_0aba,
        0xd5a6_1266_f0c9_392c,
        0xa958_2618_e03f_c9aa,
        0x39ab_dc45_29b1_661c,
    ];
    let mut out = [0u64; 4];
    for j in JUMP {
        for b in 0..64 {
            if j & (1 << b) != 0 {
                xor(&mut out, &s);
            }
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
        }
    }
    out
}

#[cfg(target_pointer_width = "64")]
impl Streams {
    /// [`Streams::new`] with the jumps looked up in `table`.
    pub fn with_table(seed: u64, machines: u8, table: &JumpTable) -> Self {
        let machines = machines.min(MACHINES_MAX);
        // The state `ModelRng::seed_from_u64` makes: SplitMix64's bytes.
        let mut bytes = [0u8; 32];
        rand_core::Rng::fill_bytes(
            &mut rand_xoshiro::SplitMix64::seed_from_u64(seed),
            &mut bytes,
        );
        let mut state: [u64; 4] = core::array::from_fn(|i| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[8 * i..8 * i + 8]);
            u64::from_le_bytes(word)
        });
        let rngs = core::array::from_fn(|i| {
            if i > 0 && i < streams(machines) {
                state = table.jump(&state);
            }
            let mut seed = [0u8; 32];
            for (chunk, word) in seed.chunks_exact_mut(8).zip(state) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            ModelRng::from_seed(seed)
        });
        Self { rngs, machines }
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

/// Draws the rates (ticks per second) of a run's `machines` machines from
/// `range`, machine 0 first, into an array of capacity `M`: the first
/// `min(machines, M)` are drawn, the rest 0. Each machine's rate is the same
/// whatever `machines` is (they are drawn in id order from one stream).
pub fn draw_rates<const M: usize>(seed: u64, machines: u8, range: RangeInclusive<u32>) -> [u32; M] {
    // The run stream's number does not depend on the machines.
    let mut rng = stream(seed, machines, Stream::Run);
    let range = u64::from(*range.start())..=u64::from(*range.end());
    let n = usize::from(machines);
    // Every draw lies in the u32 range it came from.
    core::array::from_fn(|i| {
        if i < n {
            uniform(&mut rng, range.clone()) as u32
        } else {
            0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let mut a = stream(7, 3, Stream::Machine(MachineId::ZERO));
        let mut b = stream(7, 3, Stream::Machine(MachineId::ONE));
        let mut a2 = stream(7, 3, Stream::Machine(MachineId::ZERO));
        let (x, y, z) = (a.next_u64(), b.next_u64(), a2.next_u64());
        assert_ne!(x, y);
        assert_eq!(x, z);
    }

    #[test]
    fn streams_at_once_are_the_streams_one_by_one() {
        for n in [3, 5, 16] {
            let mut all = std::vec![Stream::Run, Stream::Network, Stream::Faults, Stream::Swarm];
            for id in MachineId::all(n) {
                all.extend([Stream::Machine(id), Stream::Nonce(id)]);
            }
            for seed in [0, 7, u64::MAX] {
                let streams = Streams::new(seed, n);
                for &s in &all {
                    let (mut a, mut b) = (streams.get(s), stream(seed, n, s));
                    assert_eq!(
                        [a.next_u64(), a.next_u64()],
                        [b.next_u64(), b.next_u64()],
                        "{n} {s:?}"
                    );
                }
            }
            assert_eq!(Stream::Swarm.jumps(n), streams(n) - 1);
        }
        assert_eq!(STREAMS_MAX, 36);
    }

    /// Three machines keep the numbers the streams had before `n`.
    #[test]
    fn three_machines_keep_their_stream_numbers() {
        let jumps = |s: Stream| s.jumps(3);
        assert_eq!(jumps(Stream::Run), 0);
        assert_eq!(
            MachineId::ALL.map(|id| jumps(Stream::Machine(id))),
            [1, 2, 3]
        );
        assert_eq!(jumps(Stream::Network), 4);
        assert_eq!(MachineId::ALL.map(|id| jumps(Stream::Nonce(id))), [5, 6, 7]);
        assert_eq!((jumps(Stream::Faults), jumps(Stream::Swarm)), (8, 9));
        let sixteen = |s: Stream| s.jumps(16);
        assert_eq!((sixteen(Stream::Network), sixteen(Stream::Swarm)), (17, 35));
    }

    /// The table's streams are the stepped jumps' streams, whatever the seed.
    #[test]
    fn a_jump_table_makes_the_same_streams() {
        let table = JumpTable::new();
        let mut all = [Stream::Run, Stream::Network, Stream::Faults, Stream::Swarm].to_vec();
        for id in MachineId::all(5) {
            all.extend([Stream::Machine(id), Stream::Nonce(id)]);
        }
        let mut seeds = [0, 1, 7, 2026, u64::MAX, u64::MAX / 3].to_vec();
        let mut pick = ModelRng::seed_from_u64(99);
        seeds.extend((0..20).map(|_| pick.next_u64()));
        for seed in seeds {
            let (fast, slow) = (Streams::with_table(seed, 5, &table), Streams::new(seed, 5));
            for &s in &all {
                let (mut a, mut b) = (fast.get(s), slow.get(s));
                assert_eq!(a, b, "seed {seed} {s:?}");
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
    }

    #[test]
    fn golden_draws_pin_the_streams() {
        // These values fix the model's randomness across hosts and versions:
        // changing them changes every run's die rolls.
        assert_eq!(draw_rates(42, 3, 1..=6), GOLDEN_RATES_42);
        let five: [u32; 16] = draw_rates(42, 5, 1..=6);
        assert_eq!(five[..3], GOLDEN_RATES_42, "machines keep their rates");
        assert!(five[3..5].iter().all(|r| (1..=6).contains(r)));
        assert!(five[5..].iter().all(|&r| r == 0));
        let mut rng = stream(42, 3, Stream::Machine(MachineId::ZERO));
        let rolls: [u8; 8] = [(); 8].map(|()| roll(&mut rng, 10));
        assert_eq!(rolls, GOLDEN_ROLLS_42_M0);
    }

    const GOLDEN_RATES_42: [u32; 3] = [5, 2, 6];
    const GOLDEN_ROLLS_42_M0: [u8; 8] = [8, 4, 1, 9, 1, 2, 8, 5];

    #[test]
    fn uniform_covers_the_range_evenly() {
        let mut rng = stream(1, 3, Stream::Run);
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
