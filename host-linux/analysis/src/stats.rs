//! The statistics behind the verdicts: a median with a bootstrap interval,
//! the sign test, and a percentile band.
//!
//! Every figure here is skewed (clock jumps and drift have long tails), so
//! effects are medians, their uncertainty a percentile bootstrap, and the
//! test of a paired difference the sign test, which assumes nothing about
//! the shape of the differences. The bootstrap draws from a seeded
//! generator: the same data always give the same interval.

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

/// Resamples per bootstrap interval: enough that the interval's ends move
/// by well under a percent of its width between seeds.
const RESAMPLES: usize = 2000;

/// A median with its 95 % bootstrap interval and, for a paired difference,
/// the sign test's p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Values it rests on.
    pub n: usize,
    /// Their median.
    pub median: f64,
    /// The 95 % percentile-bootstrap interval of the median: lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// The two-sided sign test's p-value against a median of 0, for paired
    /// differences; `None` for a plain median.
    pub p: Option<f64>,
    /// For paired differences, how many were above 0, below it and at it
    /// (the sign test drops those at 0; the median's interval does not).
    pub split: Option<Split>,
}

/// Paired differences by sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Above 0.
    pub above: u64,
    /// Below 0.
    pub below: u64,
    /// Exactly 0.
    pub zero: u64,
}

impl Split {
    /// `12 above 0, 3 below, 5 at 0`.
    pub fn words(&self) -> String {
        format!(
            "{} above 0, {} below, {} at 0",
            self.above, self.below, self.zero
        )
    }
}

/// The median of `values` (finite ones only) with its bootstrap interval;
/// `None` when none is finite.
pub fn median(values: &[f64]) -> Option<Effect> {
    let v = finite(values);
    let m = median_of(&mut v.clone())?;
    let (low, high) = bootstrap(&v);
    Some(Effect {
        n: v.len(),
        median: m,
        low,
        high,
        p: None,
        split: None,
    })
}

/// The median of the paired differences `diffs` with its bootstrap interval
/// and the sign test's p-value; `None` when none is finite.
pub fn paired(diffs: &[f64]) -> Option<Effect> {
    let mut e = median(diffs)?;
    let v = finite(diffs);
    let above = v.iter().filter(|&&d| d > 0.0).count() as u64;
    let below = v.iter().filter(|&&d| d < 0.0).count() as u64;
    e.p = Some(sign_test(above, below));
    e.split = Some(Split {
        above,
        below,
        zero: v.len() as u64 - above - below,
    });
    Some(e)
}

/// The two-sided sign test: the chance of a split at least as uneven as
/// `above` against `below` when either sign is as likely (ties dropped).
pub fn sign_test(above: u64, below: u64) -> f64 {
    let n = above + below;
    if n == 0 {
        return 1.0;
    }
    match Binomial::new(0.5, n) {
        Ok(b) => (2.0 * b.cdf(above.min(below))).min(1.0),
        // Unreachable for p = 0.5; the test then says nothing.
        Err(_) => 1.0,
    }
}

/// The chance that at most `k` of `n` independent trials fall within a
/// band that holds each with probability `p`: how surprising `k` of `n`
/// is if the model behind the band holds (small: it is not what the model
/// gives).
pub fn fewer_within(k: u64, n: u64, p: f64) -> f64 {
    match Binomial::new(p, n) {
        Ok(b) => b.cdf(k),
        Err(_) => 1.0,
    }
}

/// The `q`-th percentile (0–100) of `values`, interpolated between the
/// nearest ranks; `None` when none is finite.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v = finite(values);
    v.sort_by(f64::total_cmp);
    let last = v.len().checked_sub(1)?;
    let at = q.clamp(0.0, 100.0) / 100.0 * last as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    let next = v[(i + 1).min(last)];
    Some(v[i] + frac * (next - v[i]))
}

fn finite(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| v.is_finite()).collect()
}

fn median_of(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    })
}

/// The 2.5th and 97.5th percentiles of the medians of [`RESAMPLES`]
/// resamples of `v` (not empty), drawn with a generator seeded by `v`'s
/// length so that an interval is reproducible.
fn bootstrap(v: &[f64]) -> (f64, f64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(v.len() as u64);
    let mut sample = vec![0.0; v.len()];
    let medians: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            for s in &mut sample {
                // `% len` is biased by less than len / 2^64: nothing here.
                *s = v[(rng.next_u64() % v.len() as u64) as usize];
            }
            median_of(&mut sample).unwrap_or(f64::NAN)
        })
        .collect();
    let at = |q| percentile(&medians, q).unwrap_or(f64::NAN);
    (at(2.5), at(97.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_test_matches_the_binomial_by_hand() {
        // 5 of 5 above: 2 / 32.
        assert!((sign_test(5, 0) - 0.0625).abs() < 1e-12);
        // 4 of 5: 2 * 6 / 32.
        assert!((sign_test(4, 1) - 0.375).abs() < 1e-12);
        assert!((sign_test(3, 3) - 1.0).abs() < 1e-9);
        assert_eq!(sign_test(0, 0), 1.0);
        // 60 of 100 above: 0.0569 (two-sided, exact).
        assert!((sign_test(60, 40) - 0.056_886).abs() < 1e-5);
    }

    #[test]
    fn few_within_a_band_is_unlikely_and_many_is_not() {
        // 20 of 20 within a 90 % band: certain to be "at most 20".
        assert!((fewer_within(20, 20, 0.9) - 1.0).abs() < 1e-12);
        // 17 of 20: P(X <= 17) = 1 - P(18) - P(19) - P(20) = 0.3231.
        assert!((fewer_within(17, 20, 0.9) - 0.323_073).abs() < 1e-5);
        // 10 of 20 would be a surprise.
        assert!(fewer_within(10, 20, 0.9) < 1e-4);
    }

    #[test]
    fn a_median_and_its_interval() {
        let v: Vec<f64> = (1..=99).map(f64::from).collect();
        let e = median(&v).unwrap();
        assert_eq!(e.median, 50.0);
        assert_eq!(e.n, 99);
        assert!(e.low < 50.0 && e.high > 50.0, "{e:?}");
        // The median of 99 uniform values has a standard error near 5.
        assert!(e.low > 38.0 && e.high < 62.0, "{e:?}");
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN]), None);
        let one = median(&[3.0, f64::NAN]).unwrap();
        assert_eq!((one.median, one.low, one.high, one.n), (3.0, 3.0, 3.0, 1));
        // Reproducible.
        assert_eq!(median(&v), median(&v));
    }

    #[test]
    fn paired_differences_carry_a_p_value() {
        let e = paired(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.median, 3.0);
        assert!((e.p.unwrap() - 0.0625).abs() < 1e-12);
        // Ties count for neither side.
        let e = paired(&[0.0, 0.0, 1.0]).unwrap();
        assert!((e.p.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(median(&[1.0]).unwrap().p, None);
        // The split counts them all, the ties too; non-finite ones not.
        let e = paired(&[0.0, -2.0, 0.0, 1.0, 3.0, f64::NAN]).unwrap();
        let split = e.split.unwrap();
        assert_eq!((split.above, split.below, split.zero), (2, 1, 2));
        assert_eq!(split.words(), "2 above 0, 1 below, 2 at 0");
        assert_eq!(median(&[1.0]).unwrap().split, None);
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0, f64::INFINITY];
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert!((percentile(&v, 5.0).unwrap() - 1.15).abs() < 1e-12);
        assert_eq!(percentile(&[], 5.0), None);
    }
}
