//! The `seasonal` band: alertlab's approximation of CloudWatch anomaly detection (AWS's own model is
//! not public; the `replay` band uses the real one).
//!
//! At every refit boundary `B` (UTC-aligned multiples of `refit`, daily by default) the model is fit
//! on the real values in `[B − training, B)` and used for every point in `[B, B + refit)`, so no
//! point's band sees that point or anything after it. A fit:
//! 1. for each seasonality whose cycle fits at least twice in the training data (none; hourly in
//!    5-minute bins; daily in 30-minute bins; weekly in hourly bins), takes the median per bin as the
//!    seasonal profile and the residuals `value − profile`;
//! 2. keeps the seasonality with the smallest robust spread of residuals, preferring the simpler one
//!    unless the richer one cuts the spread by at least 10%;
//! 3. estimates a trend as the change of the median residual between the first and last quarter of
//!    the window (3 days of history at least), so a growing metric is not a permanent breach;
//! 4. center = profile[bin] + median residual + trend; spread = 1.4826 × MAD of residuals (a past
//!    spike moves the median absolute deviation very little, so it cannot widen the band for weeks).
//!
//! No band exists before `min_history` of data (the warm-up, reported).

use std::fmt;

use super::Band;
use crate::series::time::{DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seasonality {
    None,
    Hourly,
    Daily,
    Weekly,
}

impl Seasonality {
    pub const ALL: [Seasonality; 4] = [
        Seasonality::None,
        Seasonality::Hourly,
        Seasonality::Daily,
        Seasonality::Weekly,
    ];

    pub fn parse(s: &str) -> Option<Seasonality> {
        match s {
            "none" => Some(Seasonality::None),
            "hourly" => Some(Seasonality::Hourly),
            "daily" => Some(Seasonality::Daily),
            "weekly" => Some(Seasonality::Weekly),
            _ => None,
        }
    }

    /// Cycle length and bin width.
    fn cycle(self) -> (i64, i64) {
        match self {
            Seasonality::None => (1, 1),
            Seasonality::Hourly => (HOUR_MS, 5 * MINUTE_MS),
            Seasonality::Daily => (DAY_MS, 30 * MINUTE_MS),
            Seasonality::Weekly => (WEEK_MS, HOUR_MS),
        }
    }

    fn bins(self, period_ms: i64) -> usize {
        let (cycle, bin) = self.cycle();
        if self == Seasonality::None {
            1
        } else {
            (cycle / bin.max(period_ms)).max(1) as usize
        }
    }

    fn bin_of(self, t: i64, bins: usize) -> usize {
        let (cycle, _) = self.cycle();
        if bins == 1 {
            return 0;
        }
        // Weekly bins start on Monday 00:00 UTC (the epoch was a Thursday).
        let shifted = if self == Seasonality::Weekly {
            t + 3 * DAY_MS
        } else {
            t
        };
        (shifted.rem_euclid(cycle) as i128 * bins as i128 / cycle as i128) as usize
    }
}

impl fmt::Display for Seasonality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Seasonality::None => "none",
            Seasonality::Hourly => "hourly",
            Seasonality::Daily => "daily",
            Seasonality::Weekly => "weekly",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalModel {
    pub training_ms: i64,
    pub refit_ms: i64,
    pub min_history_ms: i64,
    /// Force a seasonality instead of detecting it.
    pub seasonality: Option<Seasonality>,
}

impl Default for SeasonalModel {
    fn default() -> Self {
        SeasonalModel {
            training_ms: 14 * DAY_MS,
            refit_ms: DAY_MS,
            min_history_ms: DAY_MS,
            seasonality: None,
        }
    }
}

/// The band and what the last fit chose.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonalBand {
    pub band: Band,
    pub seasonality: Option<Seasonality>,
}

/// One fitted model, valid for one refit interval.
struct Fit {
    seasonality: Seasonality,
    bins: usize,
    profile: Vec<f64>,
    level: f64,
    slope_per_ms: f64,
    anchor: i64,
    spread: f64,
}

pub fn band(
    timestamps: &[i64],
    values: &[f64],
    period_ms: i64,
    model: &SeasonalModel,
) -> SeasonalBand {
    let mut center = vec![f64::NAN; values.len()];
    let mut spread = vec![f64::NAN; values.len()];
    let mut chosen = None;
    let Some(&first) = timestamps.first() else {
        return SeasonalBand {
            band: Band { center, spread },
            seasonality: None,
        };
    };
    let mut work = Workspace::default();
    let mut i = 0;
    while i < timestamps.len() {
        let boundary = timestamps[i].div_euclid(model.refit_ms) * model.refit_ms;
        let next = boundary + model.refit_ms;
        let end = i + timestamps[i..].partition_point(|&t| t < next);
        if boundary - first >= model.min_history_ms {
            let start = timestamps.partition_point(|&t| t < boundary - model.training_ms);
            let stop = timestamps.partition_point(|&t| t < boundary);
            if let Some(fit) = fit(
                &timestamps[start..stop],
                &values[start..stop],
                period_ms,
                model,
                &mut work,
            ) {
                for j in i..end {
                    let t = timestamps[j];
                    let bin = fit.seasonality.bin_of(t, fit.bins);
                    center[j] =
                        fit.profile[bin] + fit.level + fit.slope_per_ms * (t - fit.anchor) as f64;
                    spread[j] = fit.spread;
                }
                chosen = Some(fit.seasonality);
            }
        }
        i = end;
    }
    SeasonalBand {
        band: Band { center, spread },
        seasonality: chosen,
    }
}

/// Reused buffers, so refits allocate once per series.
#[derive(Default)]
struct Workspace {
    bins: Vec<usize>,
    counts: Vec<usize>,
    grouped: Vec<f64>,
    residuals: Vec<f64>,
    scratch: Vec<f64>,
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

/// Per-bin medians (NaN-free input) for one seasonality, into `profile`; residuals into `work`.
fn profile_for(
    season: Seasonality,
    ts: &[i64],
    vs: &[f64],
    period_ms: i64,
    work: &mut Workspace,
) -> (Vec<f64>, f64) {
    let bins = season.bins(period_ms);
    work.bins.clear();
    work.bins.extend(ts.iter().map(|&t| season.bin_of(t, bins)));
    work.counts.clear();
    work.counts.resize(bins + 1, 0);
    for &b in &work.bins {
        work.counts[b + 1] += 1;
    }
    for b in 0..bins {
        work.counts[b + 1] += work.counts[b];
    }
    work.grouped.clear();
    work.grouped.resize(vs.len(), 0.0);
    let mut fill = work.counts.clone();
    for (&b, &v) in work.bins.iter().zip(vs) {
        work.grouped[fill[b]] = v;
        fill[b] += 1;
    }
    let profile: Vec<f64> = work
        .counts
        .windows(2)
        .map(|w| median(&mut work.grouped[w[0]..w[1]]))
        .collect();
    let mut profile = profile;
    // Empty bins borrow the overall median so the profile never has holes.
    let overall = {
        work.scratch.clear();
        work.scratch.extend_from_slice(vs);
        median(&mut work.scratch)
    };
    for p in profile.iter_mut().filter(|p| p.is_nan()) {
        *p = overall;
    }
    work.residuals.clear();
    work.residuals
        .extend(work.bins.iter().zip(vs).map(|(&b, &v)| v - profile[b]));
    work.scratch.clear();
    work.scratch.extend_from_slice(&work.residuals);
    let level = median(&mut work.scratch);
    for r in work.scratch.iter_mut() {
        *r = (*r - level).abs();
    }
    let mad = median(&mut work.scratch);
    (profile, robust_sigma(mad, &work.residuals, level))
}

/// 1.4826 × MAD, falling back to the mean absolute deviation (× √(π/2)) when more than half the
/// residuals are identical (a mostly flat metric), so the band does not collapse to a line.
fn robust_sigma(mad: f64, residuals: &[f64], level: f64) -> f64 {
    if mad > 0.0 {
        return 1.4826 * mad;
    }
    let mean_abs =
        residuals.iter().map(|r| (r - level).abs()).sum::<f64>() / residuals.len().max(1) as f64;
    1.2533 * mean_abs
}

fn fit(
    ts: &[i64],
    vs: &[f64],
    period_ms: i64,
    model: &SeasonalModel,
    work: &mut Workspace,
) -> Option<Fit> {
    let (real_t, real_v): (Vec<i64>, Vec<f64>) = ts
        .iter()
        .zip(vs)
        .filter(|(_, v)| !v.is_nan())
        .map(|(t, v)| (*t, *v))
        .unzip();
    if real_t.len() < 10 {
        return None;
    }
    let span = real_t[real_t.len() - 1] - real_t[0] + period_ms;
    let candidates: Vec<Seasonality> = match model.seasonality {
        Some(s) => vec![s],
        None => Seasonality::ALL
            .into_iter()
            .filter(|s| *s == Seasonality::None || span >= 2 * s.cycle().0)
            .collect(),
    };
    let mut best: Option<(Seasonality, Vec<f64>, f64)> = None;
    for season in candidates {
        let (profile, sigma) = profile_for(season, &real_t, &real_v, period_ms, work);
        let better = match &best {
            None => true,
            Some((_, _, best_sigma)) => sigma < 0.9 * best_sigma,
        };
        if better {
            best = Some((season, profile, sigma));
        }
    }
    let (seasonality, profile, spread) = best?;
    let bins = profile.len();
    let residuals: Vec<f64> = real_t
        .iter()
        .zip(&real_v)
        .map(|(&t, &v)| v - profile[seasonality.bin_of(t, bins)])
        .collect();
    let mut all = residuals.clone();
    let level = median(&mut all);
    let (mut slope_per_ms, mut anchor) = (0.0, real_t[real_t.len() - 1]);
    if span >= 3 * DAY_MS {
        let quarter = residuals.len() / 4;
        let mut early = residuals[..quarter].to_vec();
        let mut late = residuals[residuals.len() - quarter..].to_vec();
        let (t_early, t_late) = (real_t[quarter / 2], real_t[real_t.len() - quarter / 2 - 1]);
        if t_late > t_early {
            slope_per_ms = (median(&mut late) - median(&mut early)) / (t_late - t_early) as f64;
        }
        anchor = (real_t[0] + real_t[real_t.len() - 1]) / 2;
    }
    Some(Fit {
        seasonality,
        bins,
        profile,
        level,
        slope_per_ms,
        anchor,
        spread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// 21 days at 5 minutes of a daily sine plus N(0, sigma) noise.
    fn daily_series(sigma: f64, seed: u64) -> (Vec<i64>, Vec<f64>, Vec<f64>) {
        let step = 5 * MINUTE_MS;
        let mut rng = Rng::new(seed);
        let ts: Vec<i64> = (0..21 * 288)
            .map(|i| 1_767_571_200_000 + i * step)
            .collect();
        let truth: Vec<f64> = ts
            .iter()
            .map(|&t| {
                100.0 + 30.0 * (std::f64::consts::TAU * (t % DAY_MS) as f64 / DAY_MS as f64).sin()
            })
            .collect();
        let vs = truth.iter().map(|m| m + sigma * rng.normal()).collect();
        (ts, vs, truth)
    }

    #[test]
    fn tracks_a_daily_profile_and_detects_daily_seasonality() {
        let (ts, vs, truth) = daily_series(3.0, 1);
        let out = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        assert_eq!(out.seasonality, Some(Seasonality::Daily));
        assert_eq!(out.band.warm_up_points(), 288);
        let after: Vec<usize> = (7 * 288..ts.len()).collect();
        let mean_err = after
            .iter()
            .map(|&i| (out.band.center[i] - truth[i]).abs())
            .sum::<f64>()
            / after.len() as f64;
        // 30-minute bins on a sine of amplitude 30 carry a little shape error; noise is 3.
        assert!(mean_err < 2.0, "mean |center - truth| = {mean_err}");
        let mean_spread =
            after.iter().map(|&i| out.band.spread[i]).sum::<f64>() / after.len() as f64;
        assert!(
            (mean_spread - 3.0).abs() < 1.2,
            "spread {mean_spread} vs noise 3"
        );
    }

    #[test]
    fn band_never_uses_the_future() {
        let (ts, mut vs, _) = daily_series(3.0, 2);
        let before = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        let cut = 10 * 288 + 17;
        for v in vs[cut..].iter_mut() {
            *v *= 5.0;
        }
        let after = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        for i in 0..=cut {
            assert!(
                before.band.center[i]
                    .total_cmp(&after.band.center[i])
                    .is_eq(),
                "center at {i}"
            );
            assert!(
                before.band.spread[i]
                    .total_cmp(&after.band.spread[i])
                    .is_eq(),
                "spread at {i}"
            );
        }
    }

    #[test]
    fn a_spike_does_not_blow_up_the_band() {
        let (ts, mut vs, _) = daily_series(3.0, 3);
        let quiet = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        for v in vs[5 * 288..5 * 288 + 12].iter_mut() {
            *v += 1000.0;
        }
        let spiked = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        let i = 8 * 288;
        assert!(spiked.band.spread[i] < 1.1 * quiet.band.spread[i]);
    }
}
