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
/// `offset`, as Prometheus's range selector `[len] offset <offset>` selects them; `f` reduces each
/// range (never called on an empty one, which gives NaN: no result).
fn over_ranges(
    recorded: &Recorded,
    len: i64,
    offset: i64,
    version: PrometheusVersion,
    mut f: impl FnMut(&[f64]) -> f64,
) -> Vec<f64> {
    let ts = recorded.timestamps;
    let mut out = Vec::with_capacity(ts.len());
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut window: Vec<f64> = Vec::new();
    for &t in ts {
        let end = t - offset;
        let from = version.window_start(end, len);
        while lo < ts.len() && ts[lo] < from {
            lo += 1;
        }
        while hi < ts.len() && ts[hi] <= end {
            hi += 1;
        }
        window.clear();
        if lo < hi {
            window.extend(
                (lo..hi)
                    .filter(|&i| recorded.present[i])
                    .map(|i| recorded.values[i]),
            );
        }
        out.push(if window.is_empty() {
            f64::NAN
        } else {
            f(&window)
        });
    }
    out
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
    over_ranges(recorded, model.smooth_ms, 0, model.version, avg_over_time)
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
    let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
    for &v in values {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        (mean, c) = kahan_sum_inc(v / count - mean / count, mean, c);
    }
    if mean.is_infinite() {
        mean
    } else {
        mean + c
    }
}

/// Prometheus's `stddev_over_time` (population standard deviation).
pub fn stddev_over_time(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for &v in values {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    ((aux + c_aux) / count).sqrt()
}

/// The band at each evaluation of `recorded` (the rule group's evaluation times, `interval_ms`
/// apart).
pub fn band_recorded(recorded: &Recorded, interval_ms: i64, model: &PromqlModel) -> Band {
    let offset = model.offset_ms(interval_ms);
    Band {
        center: over_ranges(
            recorded,
            model.window_ms,
            offset,
            model.version,
            avg_over_time,
        ),
        spread: over_ranges(
            recorded,
            model.window_ms,
            offset,
            model.version,
            stddev_over_time,
        ),
    }
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
}
