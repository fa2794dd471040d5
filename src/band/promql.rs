//! The `promql` band: mean ± k·stddev of the recorded value over the `window` before each
//! evaluation — a band Prometheus computes itself with the recording rules
//!
//! ```text
//! alertlab:<alert>:avg    = avg_over_time(alertlab:<alert>:value[<window>] offset <interval>)
//! alertlab:<alert>:stddev = stddev_over_time(alertlab:<alert>:value[<window>] offset <interval>)
//! ```
//!
//! `offset <interval>` keeps the current evaluation out of its own band (look-back only). The range
//! is `[t − interval − window, t − interval]`, both ends included as in Prometheus 2.x (3.x excludes
//! the left end: `evaluation.prometheus_version`). A NaN sample of the recorded value inside the
//! range makes both NaN (as in Prometheus), so the alert cannot fire while it is there. The sums
//! use Prometheus's own Kahan–Neumaier summation in the same order, so the simulator reproduces the
//! recorded numbers bit for bit (checked against `promtool` in the tests).
//!
//! Options: `season` (e.g. `1d`, `1w`) takes the same window one season earlier
//! (`offset <interval + season>`), for metrics whose normal level repeats daily or weekly; `smooth`
//! compares `alertlab:<alert>:smoothed = avg_over_time(alertlab:<alert>:value[<smooth>])` with the
//! band instead of the raw value, so one odd sample does not alert.

use super::Band;
use crate::engine::prometheus::PrometheusVersion;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromqlModel {
    pub window_ms: i64,
    /// Use the window one season earlier (0 = the window just before the evaluation).
    pub season_ms: i64,
    /// Compare the mean over this trailing span instead of the value (0 = the value).
    pub smooth_ms: i64,
    /// Whose range-selector boundary rule the recording rules run under.
    pub version: PrometheusVersion,
}

impl PromqlModel {
    /// A plain band over `window` (no season, no smoothing), Prometheus 2.x ranges.
    pub fn new(window_ms: i64) -> PromqlModel {
        PromqlModel {
            window_ms,
            season_ms: 0,
            smooth_ms: 0,
            version: PrometheusVersion::V2,
        }
    }

    /// The `offset` of the band's range selectors.
    pub fn offset_ms(&self, interval_ms: i64) -> i64 {
        interval_ms + self.season_ms
    }
}

/// The recorded value `alertlab:<alert>:value` at the rule group's evaluations: `present[i]` when
/// the recording rule wrote a sample at `timestamps[i]` (its value may be NaN, a NaN sample).
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    pub timestamps: &'a [i64],
    pub values: &'a [f64],
    pub present: &'a [bool],
}

/// The samples of `recorded` in the range of length `len` ending at each evaluation time minus
/// `offset`, as Prometheus's range selector `[len] offset <offset>` selects them, reduced by `R`
/// (an empty range gives NaN: no result).
///
/// Each range is reduced exactly as Prometheus reduces it, one sample after another in a chain of
/// dependent divisions and Kahan steps; that chain's latency, not arithmetic, was the whole cost
/// (an hour of one-minute samples per evaluation). [`LANES`] consecutive ranges are therefore
/// reduced in lockstep, so the processor overlaps their independent chains; each range still sees
/// the same operations in the same order, so every result is bit for bit what one range at a time
/// gives (tested).
fn over_ranges<R: Reduce>(
    recorded: &Recorded,
    len: i64,
    offset: i64,
    version: PrometheusVersion,
) -> Vec<f64> {
    over_ranges_at::<R>(recorded, recorded.timestamps, len, offset, version)
}

/// [`over_ranges`] at the evaluation times `at` (sorted; any subset of the recorded ones, or
/// others).
fn over_ranges_at<R: Reduce>(
    recorded: &Recorded,
    at: &[i64],
    len: i64,
    offset: i64,
    version: PrometheusVersion,
) -> Vec<f64> {
    let ts = recorded.timestamps;
    // The present samples' values, and for each sample how many present ones precede it: the
    // samples `[lo, hi)` hold the present values `[before[lo], before[hi])`.
    let mut values = Vec::with_capacity(ts.len());
    let mut before = Vec::with_capacity(ts.len() + 1);
    before.push(0);
    for (v, present) in recorded.values.iter().zip(recorded.present) {
        if *present {
            values.push(*v);
        }
        before.push(values.len());
    }
    let (mut lo, mut hi) = (0usize, 0usize);
    let ranges: Vec<(usize, usize)> = at
        .iter()
        .map(|&t| {
            let end = t - offset;
            let from = version.window_start(end, len);
            while lo < ts.len() && ts[lo] < from {
                lo += 1;
            }
            while hi < ts.len() && ts[hi] <= end {
                hi += 1;
            }
            if lo < hi {
                (before[lo], before[hi])
            } else {
                (0, 0)
            }
        })
        .collect();
    let mut out = vec![f64::NAN; at.len()];
    for (out, ranges) in out.chunks_mut(LANES).zip(ranges.chunks(LANES)) {
        let mut lanes = [(0, 0); LANES];
        lanes[..ranges.len()].copy_from_slice(ranges);
        let reduced = reduce_lanes::<R>(&values, &lanes);
        for ((o, r), (from, to)) in out.iter_mut().zip(reduced).zip(ranges) {
            if from < to {
                *o = r;
            }
        }
    }
    out
}

/// Ranges reduced together by [`over_ranges`].
const LANES: usize = 4;

/// `R` over `values[from..to]` for each of [`LANES`] ranges, advancing all of them one sample per
/// step (a lane whose range has ended waits); an empty range's result is meaningless.
fn reduce_lanes<R: Reduce>(values: &[f64], lanes: &[(usize, usize); LANES]) -> [f64; LANES] {
    let mut states = [R::default(); LANES];
    let longest = lanes.iter().map(|(from, to)| to - from).max().unwrap_or(0);
    for k in 0..longest {
        for (state, &(from, to)) in states.iter_mut().zip(lanes) {
            if from + k < to {
                state.push(values[from + k]);
            }
        }
    }
    states.map(|s| s.finish())
}

/// A PromQL `*_over_time` function as a running state: `push` each sample of a range in order,
/// then `finish`.
trait Reduce: Default + Copy {
    fn push(&mut self, v: f64);
    fn finish(self) -> f64;

    /// Over a whole slice.
    fn over(values: &[f64]) -> f64 {
        let mut state = Self::default();
        for &v in values {
            state.push(v);
        }
        state.finish()
    }
}

/// The value the alert compares: `avg_over_time(value[smooth])`, or the value itself without
/// smoothing (NaN where absent).
pub fn compared_recorded(recorded: &Recorded, model: &PromqlModel) -> Vec<f64> {
    if model.smooth_ms == 0 {
        return recorded
            .values
            .iter()
            .zip(recorded.present)
            .map(|(v, p)| if *p { *v } else { f64::NAN })
            .collect();
    }
    over_ranges::<Avg>(recorded, model.smooth_ms, 0, model.version)
}

/// [`compared_recorded`] for a recorded series whose NaNs are all absences.
pub fn compared(timestamps: &[i64], values: &[f64], model: &PromqlModel) -> Vec<f64> {
    let present: Vec<bool> = values.iter().map(|v| !v.is_nan()).collect();
    compared_recorded(
        &Recorded {
            timestamps,
            values,
            present: &present,
        },
        model,
    )
}

/// Prometheus's `kahanSumInc`.
fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Prometheus's `avg_over_time` over finite values.
pub fn avg_over_time(values: &[f64]) -> f64 {
    Avg::over(values)
}

/// Prometheus's `stddev_over_time` (population standard deviation).
pub fn stddev_over_time(values: &[f64]) -> f64 {
    StdDev::over(values)
}

/// The state of `avg_over_time`: an incremental mean with Kahan compensation.
#[derive(Default, Clone, Copy)]
struct Avg {
    mean: f64,
    count: f64,
    c: f64,
}

impl Reduce for Avg {
    fn push(&mut self, v: f64) {
        self.count += 1.0;
        if self.mean.is_infinite() {
            if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                return;
            }
            if !v.is_infinite() && !v.is_nan() {
                return;
            }
        }
        (self.mean, self.c) =
            kahan_sum_inc(v / self.count - self.mean / self.count, self.mean, self.c);
    }

    fn finish(self) -> f64 {
        if self.mean.is_infinite() {
            self.mean
        } else {
            self.mean + self.c
        }
    }
}

/// The state of `stddev_over_time`: Welford's running mean and squared deviations, both Kahan
/// compensated.
#[derive(Default, Clone, Copy)]
struct StdDev {
    count: f64,
    mean: f64,
    c_mean: f64,
    aux: f64,
    c_aux: f64,
}

impl Reduce for StdDev {
    fn push(&mut self, v: f64) {
        self.count += 1.0;
        let delta = v - (self.mean + self.c_mean);
        (self.mean, self.c_mean) = kahan_sum_inc(delta / self.count, self.mean, self.c_mean);
        (self.aux, self.c_aux) = kahan_sum_inc(
            delta * (v - (self.mean + self.c_mean)),
            self.aux,
            self.c_aux,
        );
    }

    fn finish(self) -> f64 {
        ((self.aux + self.c_aux) / self.count).sqrt()
    }
}

/// The band at each evaluation of `recorded` (the rule group's evaluation times, `interval_ms`
/// apart).
pub fn band_recorded(recorded: &Recorded, interval_ms: i64, model: &PromqlModel) -> Band {
    let offset = model.offset_ms(interval_ms);
    Band {
        center: over_ranges::<Avg>(recorded, model.window_ms, offset, model.version),
        spread: over_ranges::<StdDev>(recorded, model.window_ms, offset, model.version),
    }
}

/// The band of a `season`al model from the same model's band without a season (`unseasoned`,
/// computed over the same `recorded` values), bit for bit what [`band_recorded`] gives. The range
/// at evaluation `t` one season earlier, `[len] offset <interval + season>`, is exactly the range
/// the unseasoned band used at the evaluation `t − season`, so wherever that evaluation exists its
/// figures are copied; the others (gaps in the evaluations) are reduced here. A tuning grid that
/// tries `season` 0 and 1d then fits each window once, not twice.
pub fn seasonal_band_from(
    unseasoned: &Band,
    recorded: &Recorded,
    interval_ms: i64,
    model: &PromqlModel,
) -> Band {
    let ts = recorded.timestamps;
    debug_assert_eq!(unseasoned.center.len(), ts.len());
    let mut center = vec![f64::NAN; ts.len()];
    let mut spread = vec![f64::NAN; ts.len()];
    let mut missing = Vec::new();
    let mut j = 0;
    for (i, &t) in ts.iter().enumerate() {
        let earlier = t - model.season_ms;
        while j < ts.len() && ts[j] < earlier {
            j += 1;
        }
        if ts.get(j) == Some(&earlier) {
            center[i] = unseasoned.center[j];
            spread[i] = unseasoned.spread[j];
        } else {
            missing.push(i);
        }
    }
    if !missing.is_empty() {
        let at: Vec<i64> = missing.iter().map(|&i| ts[i]).collect();
        let offset = model.offset_ms(interval_ms);
        let (len, version) = (model.window_ms, model.version);
        let centers = over_ranges_at::<Avg>(recorded, &at, len, offset, version);
        let spreads = over_ranges_at::<StdDev>(recorded, &at, len, offset, version);
        for ((i, c), s) in missing.into_iter().zip(centers).zip(spreads) {
            center[i] = c;
            spread[i] = s;
        }
    }
    Band { center, spread }
}

/// [`band_recorded`] over a recorded value whose NaNs are all absences.
pub fn band(timestamps: &[i64], values: &[f64], interval_ms: i64, model: &PromqlModel) -> Band {
    let present: Vec<bool> = values.iter().map(|v| !v.is_nan()).collect();
    band_recorded(
        &Recorded {
            timestamps,
            values,
            present: &present,
        },
        interval_ms,
        model,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_textbook_formulas() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(avg_over_time(&v), 5.0);
        assert_eq!(stddev_over_time(&v), 2.0);
    }

    #[test]
    fn window_excludes_the_current_evaluation() {
        let ts: Vec<i64> = (0..6).map(|i| i * 60_000).collect();
        let vals = [1.0, 1.0, 1.0, f64::NAN, 1.0, 100.0];
        let b = band(&ts, &vals, 60_000, &PromqlModel::new(120_000));
        assert!(b.center[0].is_nan(), "nothing before the first evaluation");
        assert_eq!(b.center[5], 1.0, "the spike at t is not in its own band");
        assert_eq!(b.spread[5], 0.0);
    }

    /// A NaN sample in the range poisons mean and stddev, as in Prometheus; an absence does not.
    #[test]
    fn a_nan_sample_in_the_window_gives_nan() {
        let ts: Vec<i64> = (0..5).map(|i| i * 60_000).collect();
        let vals = [1.0, f64::NAN, 1.0, 1.0, 1.0];
        let nan_present = [true, true, true, true, true];
        let absent = [true, false, true, true, true];
        let model = PromqlModel::new(120_000);
        let with_nan = band_recorded(
            &Recorded {
                timestamps: &ts,
                values: &vals,
                present: &nan_present,
            },
            60_000,
            &model,
        );
        // range at t=3m: [0, 2m] holds the NaN at 1m.
        assert!(with_nan.center[3].is_nan() && with_nan.spread[3].is_nan());
        let without = band_recorded(
            &Recorded {
                timestamps: &ts,
                values: &vals,
                present: &absent,
            },
            60_000,
            &model,
        );
        assert_eq!(without.center[3], 1.0);
    }

    /// The ranges, one at a time: the previous implementation, kept as the reference.
    fn over_ranges_one_by_one(
        recorded: &Recorded,
        len: i64,
        offset: i64,
        version: PrometheusVersion,
        f: impl Fn(&[f64]) -> f64,
    ) -> Vec<f64> {
        let ts = recorded.timestamps;
        ts.iter()
            .map(|&t| {
                let end = t - offset;
                let from = version.window_start(end, len);
                let window: Vec<f64> = (0..ts.len())
                    .filter(|&i| ts[i] >= from && ts[i] <= end && recorded.present[i])
                    .map(|i| recorded.values[i])
                    .collect();
                if window.is_empty() {
                    f64::NAN
                } else {
                    f(&window)
                }
            })
            .collect()
    }

    /// Ranges reduced in lockstep give bit for bit what each range alone gives: irregular
    /// timestamps, absences, NaN and infinite samples, lengths that do not fill the last lanes.
    #[test]
    fn lockstep_ranges_equal_one_range_at_a_time() {
        let mut rng = crate::rng::Rng::new(11);
        for case in 0..300 {
            let n = rng.int(0, 120) as usize;
            let mut t = 0;
            let timestamps: Vec<i64> = (0..n)
                .map(|_| {
                    t += *rng.pick(&[15_000, 60_000, 60_000, 60_000, 240_000]);
                    t
                })
                .collect();
            let values: Vec<f64> = (0..n)
                .map(|_| match rng.int(0, 40) {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    _ => rng.int(-1000, 1000) as f64 * 0.37,
                })
                .collect();
            let present: Vec<bool> = (0..n).map(|_| !rng.chance(0.1)).collect();
            let recorded = Recorded {
                timestamps: &timestamps,
                values: &values,
                present: &present,
            };
            let len = rng.int(1, 20) * 60_000;
            let offset = rng.int(0, 3) * 60_000;
            let version = *rng.pick(&[PrometheusVersion::V2, PrometheusVersion::V3]);
            let same = |a: Vec<f64>, b: Vec<f64>| {
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits())
            };
            assert!(
                same(
                    over_ranges::<Avg>(&recorded, len, offset, version),
                    over_ranges_one_by_one(&recorded, len, offset, version, avg_over_time)
                ),
                "case {case}: avg"
            );
            assert!(
                same(
                    over_ranges::<StdDev>(&recorded, len, offset, version),
                    over_ranges_one_by_one(&recorded, len, offset, version, stddev_over_time)
                ),
                "case {case}: stddev"
            );
        }
    }

    /// Prometheus 3 range selectors exclude a sample exactly `range` old.
    #[test]
    fn range_boundaries_by_version() {
        let ts: Vec<i64> = (0..4).map(|i| i * 60_000).collect();
        let vals = [100.0, 1.0, 1.0, 1.0];
        let v2 = PromqlModel::new(120_000);
        let v3 = PromqlModel {
            version: PrometheusVersion::V3,
            ..v2
        };
        // at t=3m the range ends at 2m: [0, 2m] in 2.x, (0, 2m] in 3.x.
        assert_eq!(band(&ts, &vals, 60_000, &v2).center[3], 34.0);
        assert_eq!(band(&ts, &vals, 60_000, &v3).center[3], 1.0);
    }

    /// A seasonal band derived from the unseasoned one is bit for bit the one computed directly:
    /// regular and gappy evaluations, absences and NaN samples, both range rules.
    #[test]
    fn seasonal_band_from_the_unseasoned_one_equals_the_direct_one() {
        let mut rng = crate::rng::Rng::new(5);
        for case in 0..200 {
            let n = rng.int(0, 400) as usize;
            let mut t = 1_767_571_200_000;
            let timestamps: Vec<i64> = (0..n)
                .map(|_| {
                    // Mostly every minute; now and then a gap of minutes or hours.
                    t += *rng.pick(&[60_000, 60_000, 60_000, 60_000, 60_000, 180_000, 7_200_000]);
                    t
                })
                .collect();
            let values: Vec<f64> = (0..n)
                .map(|_| match rng.int(0, 60) {
                    0 => f64::NAN,
                    _ => rng.int(-1000, 1000) as f64 * 0.37,
                })
                .collect();
            let present: Vec<bool> = (0..n).map(|_| !rng.chance(0.05)).collect();
            let recorded = Recorded {
                timestamps: &timestamps,
                values: &values,
                present: &present,
            };
            let interval = 60_000;
            let version = *rng.pick(&[PrometheusVersion::V2, PrometheusVersion::V3]);
            let seasonal = PromqlModel {
                window_ms: rng.int(1, 30) * 60_000,
                season_ms: *rng.pick(&[60_000, 3_600_000, 7_200_000, 90_000]),
                smooth_ms: 0,
                version,
            };
            let unseasoned = band_recorded(
                &recorded,
                interval,
                &PromqlModel {
                    season_ms: 0,
                    ..seasonal
                },
            );
            let derived = seasonal_band_from(&unseasoned, &recorded, interval, &seasonal);
            let direct = band_recorded(&recorded, interval, &seasonal);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&derived.center),
                bits(&direct.center),
                "case {case}: center"
            );
            assert_eq!(
                bits(&derived.spread),
                bits(&direct.spread),
                "case {case}: spread"
            );
        }
    }
}
