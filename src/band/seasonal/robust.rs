//! The robust statistics of a seasonal fit: medians and percentiles by selection on integer keys,
//! over strided samples, the spread's floor, and the buffers every refit of a series reuses.

/// Buffers of the robust statistics, reused by every refit of a series.
#[derive(Default)]
pub(super) struct Scratch {
    /// The last strided sample taken.
    pub(super) sample: Vec<f64>,
    /// Integer keys of what is being selected or sorted.
    pub(super) keys: Vec<u64>,
}

impl Scratch {
    /// Median of an evenly strided sample of `values` (all of them when few).
    pub(super) fn sampled_median(&mut self, values: &[f64]) -> f64 {
        self.strided_median(values, ROBUST_SAMPLE)
    }

    /// Median of at most `limit` evenly strided elements of `values`, kept in `self.sample`.
    pub(super) fn strided_median(&mut self, values: &[f64], limit: usize) -> f64 {
        self.take_sample(values, limit);
        median(&mut self.sample, &mut self.keys)
    }

    /// At most `limit` evenly strided elements of `values` into `self.sample`.
    pub(super) fn take_sample(&mut self, values: &[f64], limit: usize) {
        let stride = values.len().div_ceil(limit).max(1);
        self.sample.clear();
        self.sample.extend(values.iter().step_by(stride));
    }
}

/// The median (the upper one of an even count) in `f64::total_cmp` order; `values` is reordered,
/// `keys` is a buffer.
pub(super) fn median(values: &mut [f64], keys: &mut Vec<u64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mid = values.len() / 2;
    if values.len() > 64 {
        // Large samples (the robust statistics' 4,096 points, per-bin groups) select on integer
        // keys.
        keys.clear();
        keys.extend(values.iter().map(|v| total_key(*v)));
        return from_total_key(*keys.select_nth_unstable(mid).1);
    }
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// The integer whose order is `f64::total_cmp`'s: the bits with the sign bit flipped for
/// positives and every bit flipped for negatives. Sorting and selecting on these is several times
/// faster than comparing floats, and gives the same order.
pub(super) fn total_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

pub(super) fn from_total_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Robust statistics use at most this many residuals (evenly strided): the median and MAD of a
/// 4,096-point sample are within a percent or two of the full ones, and a refit stays cheap.
pub(super) const ROBUST_SAMPLE: usize = 4096;

/// Per-bin medians use at most this many points of the bin.
pub(super) const BIN_SAMPLE: usize = 512;

/// The residuals `value − profile[bin]` of one candidate fit over a window, computed where a
/// statistic reads them rather than stored: the robust statistics read strided samples of at most
/// `ROBUST_SAMPLE` of them (a fifth of a 14-day window of 1-minute data), so the other residuals
/// need not exist (3 % of a one-setting tune on the bench file; selections are the larger cost).
#[derive(Clone, Copy)]
pub(super) struct Residuals<'a> {
    pub(super) values: &'a [f64],
    /// Each value's bin in `profile` (all 0 without a seasonality).
    pub(super) bins: &'a [u32],
    pub(super) profile: &'a [f64],
}

impl Residuals<'_> {
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    pub(super) fn at(&self, i: usize) -> f64 {
        self.values[i] - self.profile[self.bins[i] as usize]
    }

    /// At most `limit` evenly strided residuals of `range` into `out`: the elements
    /// [`Scratch::take_sample`] takes from the same range of a stored slice.
    pub(super) fn sample_into(
        &self,
        range: std::ops::Range<usize>,
        limit: usize,
        out: &mut Vec<f64>,
    ) {
        let stride = range.len().div_ceil(limit).max(1);
        out.clear();
        out.extend(range.step_by(stride).map(|i| self.at(i)));
    }
}

impl Scratch {
    /// [`Scratch::sampled_median`] of the residuals in `range`.
    pub(super) fn sampled_median_of(
        &mut self,
        residuals: &Residuals,
        range: std::ops::Range<usize>,
    ) -> f64 {
        residuals.sample_into(range, ROBUST_SAMPLE, &mut self.sample);
        median(&mut self.sample, &mut self.keys)
    }
}

/// The median of `sample` (as [`median`] gives it) and, with 10 values or more, the range between
/// its 5th and 95th percentiles (nearest rank) for the spread's floor. Once the sample is split at
/// its median, each percentile is selected in its half only: the same order statistics as
/// selecting them in the whole, at a quarter of the work. `sample` is reordered, `keys` a buffer.
pub(super) fn median_and_central_range(
    sample: &mut [f64],
    keys: &mut Vec<u64>,
) -> (f64, Option<f64>) {
    let n = sample.len();
    let level = median(sample, keys);
    if n < 10 {
        return (level, None);
    }
    let mid = n / 2;
    let rank = |q: f64| ((n - 1) as f64 * q).round() as usize;
    let (low, high) = (rank(0.05), rank(0.95));
    // 10 values or more: the 5th percentile's rank is below the median's, the 95th's above.
    debug_assert!(low < mid && high > mid);
    // `median` left its selection (the keys of a large sample, else the sample) split at `mid`.
    let (lower, upper) = if n > 64 {
        let (below, above) = keys.split_at_mut(mid);
        let lower = *below.select_nth_unstable(low).1;
        let upper = *above[1..].select_nth_unstable(high - mid - 1).1;
        (from_total_key(lower), from_total_key(upper))
    } else {
        let (below, above) = sample.split_at_mut(mid);
        let lower = *below.select_nth_unstable_by(low, f64::total_cmp).1;
        let upper = *above[1..]
            .select_nth_unstable_by(high - mid - 1, f64::total_cmp)
            .1;
        (lower, upper)
    };
    (level, Some(upper - lower))
}

/// The spread `sigma` raised to its floor (step 5 of the module docs): the larger of the
/// residuals' central 90 % range / 6.58 (0.5 σ for Gaussian residuals; `central_range`, from
/// [`median_and_central_range`]) and the values' quantisation step, on strided samples of at most
/// `ROBUST_SAMPLE` points.
pub(super) fn floored_spread(
    sigma: f64,
    central_range: Option<f64>,
    values: &[f64],
    scratch: &mut Scratch,
) -> f64 {
    let Some(range) = central_range else {
        return sigma.max(0.0);
    };
    let spread = sigma.max(range / 6.58);
    scratch.take_sample(values, ROBUST_SAMPLE);
    // The step is the smallest positive gap between sorted values, so no larger than any positive
    // difference of two values: when two neighbours in time already differ by no more than the
    // spread (continuous data, nearly always), the step cannot raise it and the sort is skipped.
    let bound = smallest_positive_step::<true>(&scratch.sample);
    if bound <= spread {
        return spread;
    }
    sort_total(&mut scratch.sample, &mut scratch.keys);
    let step = smallest_positive_step::<false>(&scratch.sample);
    spread.max(if step.is_finite() { step } else { 0.0 })
}

/// The smallest positive step `next − previous` between neighbours of `values` (its absolute
/// value with `ABS`), ∞ when none. It runs at every refit over a 4,096-value sample: one running
/// minimum is a chain of dependent comparisons, so eight are kept (steps `i` with the same `i % 8`
/// each), which the compiler turns into vector minima. The minimum of positive numbers does not
/// depend on the order they are taken in, so the result is the one running minimum's, bit for bit.
pub(super) fn smallest_positive_step<const ABS: bool>(values: &[f64]) -> f64 {
    const LANES: usize = 8;
    let Some(steps) = values.len().checked_sub(1) else {
        return f64::INFINITY;
    };
    let (previous, next) = (&values[..steps], &values[1..]);
    // NaN (∞ − ∞) and non-positive steps become ∞, so every comparison below is between numbers.
    let positive = |a: f64, b: f64| {
        let d = if ABS { (b - a).abs() } else { b - a };
        if d > 0.0 {
            d
        } else {
            f64::INFINITY
        }
    };
    let min = |m: f64, d: f64| if d < m { d } else { m };
    let mut lanes = [f64::INFINITY; LANES];
    let whole = steps / LANES * LANES;
    for (p, n) in previous[..whole]
        .chunks_exact(LANES)
        .zip(next[..whole].chunks_exact(LANES))
    {
        for j in 0..LANES {
            lanes[j] = min(lanes[j], positive(p[j], n[j]));
        }
    }
    let tail = previous[whole..]
        .iter()
        .zip(&next[whole..])
        .fold(f64::INFINITY, |m, (a, b)| min(m, positive(*a, *b)));
    lanes.into_iter().fold(tail, min)
}

/// Sort in `f64::total_cmp` order, on integer keys ([`total_key`]: several times faster than
/// comparing floats; where quantised data needs this sort, it is a large share of a refit).
pub(super) fn sort_total(values: &mut [f64], keys: &mut Vec<u64>) {
    keys.clear();
    keys.extend(values.iter().map(|v| total_key(*v)));
    keys.sort_unstable();
    for (v, k) in values.iter_mut().zip(keys.iter()) {
        *v = from_total_key(*k);
    }
}

/// σ of the residuals by [`sigma_from`], so the band does not collapse to a line on a mostly flat
/// metric.
pub(super) fn robust_sigma(mad: f64, residuals: &Residuals, level: f64) -> f64 {
    sigma_from(mad, || {
        let n = residuals.len();
        (0..n).map(|i| (residuals.at(i) - level).abs()).sum::<f64>() / n.max(1) as f64
    })
}

/// A robust σ: 1.4826 × the median absolute deviation, or, when that is 0 because more than half
/// the values are identical (a mostly flat metric, an error count that is mostly 0), √(π/2) ×
/// the mean absolute deviation about the same centre (`mean_abs`, computed only then). The
/// seasonal band's spread and the size of injected anomalies both follow this rule.
pub fn sigma_from(mad: f64, mean_abs: impl FnOnce() -> f64) -> f64 {
    if mad > 0.0 {
        1.4826 * mad
    } else {
        1.2533 * mean_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The one running minimum over every step, as the floor computed it before the lanes.
    fn one_chain(values: &[f64], abs: bool) -> f64 {
        values
            .windows(2)
            .map(|w| {
                if abs {
                    (w[1] - w[0]).abs()
                } else {
                    w[1] - w[0]
                }
            })
            .filter(|d| *d > 0.0)
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn the_smallest_step_in_lanes_is_the_one_chains_bit_for_bit() {
        let mut rng = Rng::new(11);
        for len in (0..40).chain([4096, 4097, 4103]) {
            for _ in 0..20 {
                let values: Vec<f64> = (0..len)
                    .map(|_| match rng.int(0, 9) {
                        0 => f64::INFINITY,
                        1 => f64::NEG_INFINITY,
                        2 => f64::NAN,
                        3 => 0.0,
                        4 => -0.0,
                        5 => (rng.int(0, 5) as f64) * 0.25,
                        _ => rng.normal() * 10.0,
                    })
                    .collect();
                for abs in [false, true] {
                    let lanes = if abs {
                        smallest_positive_step::<true>(&values)
                    } else {
                        smallest_positive_step::<false>(&values)
                    };
                    let chain = one_chain(&values, abs);
                    assert_eq!(lanes.to_bits(), chain.to_bits(), "{values:?} abs={abs}");
                }
            }
        }
    }
}
