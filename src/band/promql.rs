//! The `promql` band: mean ± k·stddev of the recorded value over the `window` before each
//! evaluation — a band Prometheus computes itself with the recording rules
//!
//! ```text
//! alertlab:<alert>:avg    = avg_over_time(alertlab:<alert>:value[<window>] offset <interval>)
//! alertlab:<alert>:stddev = stddev_over_time(alertlab:<alert>:value[<window>] offset <interval>)
//! ```
//!
//! `offset <interval>` keeps the current evaluation out of its own band (look-back only). The range
//! is `[t − interval − window, t − interval]`, both ends included as in Prometheus 2.x, and the sums
//! use Prometheus's own Kahan–Neumaier summation in the same order, so the simulator reproduces the
//! recorded numbers bit for bit (checked against `promtool` in the tests).
//!
//! Options: `season` (e.g. `1d`, `1w`) takes the same window one season earlier
//! (`offset <interval + season>`), for metrics whose normal level repeats daily or weekly; `smooth`
//! compares `alertlab:<alert>:smoothed = avg_over_time(alertlab:<alert>:value[<smooth>])` with the
//! band instead of the raw value, so one odd sample does not alert.

use super::Band;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromqlModel {
    pub window_ms: i64,
    /// Use the window one season earlier (0 = the window just before the evaluation).
    pub season_ms: i64,
    /// Compare the mean over this trailing span instead of the value (0 = the value).
    pub smooth_ms: i64,
}

impl PromqlModel {
    /// A plain band over `window` (no season, no smoothing).
    pub fn new(window_ms: i64) -> PromqlModel {
        PromqlModel {
            window_ms,
            season_ms: 0,
            smooth_ms: 0,
        }
    }

    /// The `offset` of the band's range selectors.
    pub fn offset_ms(&self, interval_ms: i64) -> i64 {
        interval_ms + self.season_ms
    }
}

/// The value the alert compares: `avg_over_time(value[smooth])` (range `[t − smooth, t]`), or the
/// value itself without smoothing.
pub fn compared(timestamps: &[i64], values: &[f64], model: &PromqlModel) -> Vec<f64> {
    if model.smooth_ms == 0 {
        return values.to_vec();
    }
    let mut out = Vec::with_capacity(values.len());
    let mut lo = 0;
    let mut window = Vec::new();
    for (i, &t) in timestamps.iter().enumerate() {
        while timestamps[lo] < t - model.smooth_ms {
            lo += 1;
        }
        window.clear();
        window.extend(values[lo..=i].iter().copied().filter(|v| !v.is_nan()));
        out.push(if window.is_empty() {
            f64::NAN
        } else {
            avg_over_time(&window)
        });
    }
    out
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

/// The band at each of `timestamps` (the evaluation times of the rule group, `interval_ms` apart)
/// over `values` (the recorded value; NaN where the expression returned nothing).
pub fn band(timestamps: &[i64], values: &[f64], interval_ms: i64, model: &PromqlModel) -> Band {
    let mut center = Vec::with_capacity(values.len());
    let mut spread = Vec::with_capacity(values.len());
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut window: Vec<f64> = Vec::new();
    for &t in timestamps {
        let end = t - model.offset_ms(interval_ms);
        let (from, to) = (end - model.window_ms, end);
        while lo < timestamps.len() && timestamps[lo] < from {
            lo += 1;
        }
        while hi < timestamps.len() && timestamps[hi] <= to {
            hi += 1;
        }
        window.clear();
        if lo < hi {
            window.extend(values[lo..hi].iter().copied().filter(|v| !v.is_nan()));
        }
        if window.is_empty() {
            center.push(f64::NAN);
            spread.push(f64::NAN);
        } else {
            center.push(avg_over_time(&window));
            spread.push(stddev_over_time(&window));
        }
    }
    Band { center, spread }
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
}
