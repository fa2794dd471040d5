//! The `seasonal` band: alertlab's approximation of CloudWatch anomaly detection (AWS's own model is
//! not public; the `replay` band uses the real one).
//!
//! At every refit boundary `B` (UTC-aligned multiples of `refit`, every 12 hours by default) the
//! model is fit on the real values in `[B − training, B)` and used for every point in
//! `[B, B + refit)`, so no point's band sees that point or anything after it. AWS retrains its model
//! continually; a daily refit kept a stale level for up to a day after a benign shift (false alerts
//! on NAB's noisy network and disk series, and fewer injected anomalies caught within budget), and
//! refits every 12, 6, 3 or 1 hours all measured the same there, so 12 hours keeps the cost of a
//! fit at twice the daily one (`docs/nab-tuning.md`). A fit:
//! 1. for each seasonality whose cycle fits at least twice in the training data (none; hourly in
//!    5-minute bins; daily in 30-minute bins; weekly in hourly bins), takes the median per bin as the
//!    seasonal profile and the residuals `value − profile`;
//! 2. keeps the seasonality with the smallest robust spread of residuals, preferring the simpler one
//!    unless the richer one cuts the spread by at least 10%;
//! 3. estimates a trend as the change of the median residual between the first and last quarter of
//!    the window (3 days of history at least), so a growing metric is not a permanent breach;
//! 4. center = profile[bin] + median residual + trend; spread = 1.4826 × MAD of residuals (a past
//!    spike moves the median absolute deviation very little, so it cannot widen the band for weeks);
//! 5. the spread has a floor that follows the data, because the MAD collapses on series that sit
//!    on one value most of the time: bimodal ones (idle 0.1 %, busy 80 %: the busy mode is "an
//!    anomaly" at any k) and quantised ones (integer counts). The floor is the larger of the
//!    residuals' central 90 % range / 6.58 — for Gaussian residuals that is 0.5 σ, so it never
//!    binds there, while for a mixture whose second mode holds over 5 % of the time it spans the
//!    modes; rarer bursts stay outside it, as anomalies should — and the quantisation step of the
//!    values (the smallest gap between distinct values). Both come from the same training window, so the band
//!    still never looks ahead, and the band is still `center ± k·spread`, so a wider `k` never
//!    adds alarm time.
//!
//! No band exists before `min_history` of data (the warm-up, reported).

use std::fmt;

use super::Band;
use robust::{
    floored_spread, median, median_and_central_range, robust_sigma, Residuals, Scratch, BIN_SAMPLE,
    ROBUST_SAMPLE,
};
use window::{bin_runs, bins_per_seasonality, BinMedians, Window, Workspace};

mod robust;
mod window;
use crate::series::time::{DAY_MS, FIRST_MONDAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS};
pub use robust::sigma_from;

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

    /// Position in [`Seasonality::ALL`] (what per-seasonality arrays are indexed by).
    fn index(self) -> usize {
        self as usize
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

    /// The bin of one timestamp: the definition [`Seasonality::sorted_bins`] is tested against.
    #[cfg(test)]
    fn bin_of(self, t: i64, bins: usize) -> usize {
        let (cycle, _) = self.cycle();
        if bins == 1 {
            return 0;
        }
        let shifted = t + self.week_shift();
        let width = cycle / bins as i64;
        ((shifted.rem_euclid(cycle) / width) as usize).min(bins - 1)
    }

    /// Weekly bins start on Monday 00:00 UTC: shifted this much later, a Monday is a multiple of
    /// a week.
    fn week_shift(self) -> i64 {
        if self == Seasonality::Weekly {
            WEEK_MS - FIRST_MONDAY_MS
        } else {
            0
        }
    }

    /// [`Seasonality::bin_of`] of every timestamp of `ts` (sorted): a bin is one interval of time,
    /// so only a timestamp past the current bin's interval divides (a few per bin instead of three
    /// divisions per point; the bins are a large share of a fit's work at 1-minute data).
    fn sorted_bins(self, ts: &[i64], bins: usize) -> impl Iterator<Item = usize> + '_ {
        let (cycle, _) = self.cycle();
        let width = cycle / bins.max(1) as i64;
        let shift = self.week_shift();
        // The current bin and the interval of shifted time it covers.
        let (mut bin, mut from, mut to) = (0, 0, i64::MIN);
        ts.iter().map(move |&t| {
            if bins == 1 {
                return 0;
            }
            let shifted = t + shift;
            if shifted < from || shifted >= to {
                let into = shifted.rem_euclid(cycle);
                bin = ((into / width) as usize).min(bins - 1);
                from = shifted - into + bin as i64 * width;
                // The last bin runs to the end of the cycle.
                to = if bin == bins - 1 {
                    shifted - into + cycle
                } else {
                    from + width
                };
            }
            bin
        })
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
            refit_ms: DAY_MS / 2,
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
    // Real datapoints and their bin in every seasonality, computed once; each refit then works on
    // a contiguous slice of them.
    let (real_t, real_v): (Vec<i64>, Vec<f64>) = timestamps
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_nan())
        .map(|(t, v)| (*t, *v))
        .unzip();
    let bins = bins_per_seasonality(&real_t, period_ms);
    let mut work = Workspace::default();
    let mut i = 0;
    while i < timestamps.len() {
        let boundary = timestamps[i].div_euclid(model.refit_ms) * model.refit_ms;
        let next = boundary + model.refit_ms;
        let end = i + timestamps[i..].partition_point(|&t| t < next);
        if boundary - first >= model.min_history_ms {
            let from = boundary - model.training_ms;
            let window = Window::between(&real_t, &real_v, &bins, from, boundary);
            if let Some(fit) = fit(&window, period_ms, model, &mut work) {
                let bins = fit.seasonality.sorted_bins(&timestamps[i..end], fit.bins);
                for (j, bin) in (i..end).zip(bins) {
                    let t = timestamps[j];
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

/// One seasonality's fit: per-bin median profile, median residual (level) and robust σ.
struct Candidate {
    profile: Vec<f64>,
    level: f64,
    sigma: f64,
    /// The residuals' 5th to 95th percentile range, for the spread's floor (`None`: under 10).
    central_range: Option<f64>,
}

/// Fit `season` on the window's NaN-free points.
fn profile_for(
    season: Seasonality,
    window: &Window,
    period_ms: i64,
    overall: &mut Option<f64>,
    work: &mut Workspace,
) -> Candidate {
    let vs = window.vs;
    let bins = season.bins(period_ms);
    // The median of all values: the profile without a seasonality, and the value of an empty bin.
    // Computed only when one of them needs it (a seasonal refit with every bin filled does not).
    let mut overall =
        |scratch: &mut Scratch| *overall.get_or_insert_with(|| scratch.sampled_median(vs));
    let mut profile = vec![0.0; bins];
    if bins == 1 {
        profile[0] = overall(&mut work.scratch);
    } else {
        let point_bins = window.bins_of(season);
        let last = work.medians[season.index()].take();
        let unchanged = last
            .as_ref()
            .and_then(|m| m.unchanged(window, window.series_bins(season), bins));
        // Group the values by bin (a counting sort). Points are in time order, so a bin's points
        // come in runs (30 one-minute points per half-hour bin): whole runs are counted and
        // copied, instead of one dependent increment per point.
        let runs = bin_runs(point_bins);
        work.counts.clear();
        work.counts.resize(bins + 1, 0);
        for (b, from, to) in runs.clone() {
            work.counts[b + 1] += to - from;
        }
        for b in 0..bins {
            work.counts[b + 1] += work.counts[b];
        }
        work.grouped.clear();
        work.grouped.resize(vs.len(), 0.0);
        let mut fill = work.counts.clone();
        for (b, from, to) in runs {
            // A bin whose median is reused is never read.
            if !unchanged.as_ref().is_some_and(|same| same[b]) {
                work.grouped[fill[b]..fill[b] + to - from].copy_from_slice(&vs[from..to]);
            }
            fill[b] += to - from;
        }
        let mut medians = vec![f64::NAN; bins];
        for (b, (p, w)) in profile.iter_mut().zip(work.counts.windows(2)).enumerate() {
            // Empty bins take the overall median so the profile never has holes.
            if w[1] == w[0] {
                *p = overall(&mut work.scratch);
                continue;
            }
            if let (Some(same), Some(last)) = (&unchanged, &last) {
                if same[b] {
                    *p = last.medians[b];
                    medians[b] = *p;
                    continue;
                }
            }
            *p = if w[1] - w[0] > BIN_SAMPLE {
                work.scratch
                    .strided_median(&work.grouped[w[0]..w[1]], BIN_SAMPLE)
            } else {
                median(&mut work.grouped[w[0]..w[1]], &mut work.scratch.keys)
            };
            medians[b] = *p;
        }
        work.medians[season.index()] = Some(BinMedians {
            start: window.offset,
            stop: window.offset + window.len,
            medians,
        });
    }
    let residuals = Residuals {
        values: vs,
        bins: window.bins_of(season),
        profile: &profile,
    };
    let Scratch { sample, keys } = &mut work.scratch;
    residuals.sample_into(0..residuals.len(), ROBUST_SAMPLE, sample);
    let (level, central_range) = median_and_central_range(sample, keys);
    for r in sample.iter_mut() {
        *r = (*r - level).abs();
    }
    let mad = median(sample, keys);
    let sigma = robust_sigma(mad, &residuals, level);
    Candidate {
        profile,
        level,
        sigma,
        central_range,
    }
}

fn fit(
    window: &Window,
    period_ms: i64,
    model: &SeasonalModel,
    work: &mut Workspace,
) -> Option<Fit> {
    let (real_t, real_v) = (window.ts, window.vs);
    if real_t.len() < 10 {
        return None;
    }
    let span = real_t[real_t.len() - 1] - real_t[0] + period_ms;
    let available: Vec<Seasonality> = Seasonality::ALL
        .into_iter()
        .filter(|s| *s == Seasonality::None || span >= 2 * s.cycle().0)
        .collect();
    // Detection compares every available seasonality; it is redone weekly, or as soon as a new
    // one becomes available, and in between the last choice is refitted alone.
    let candidates: Vec<Seasonality> = match (model.seasonality, &work.detected) {
        (Some(s), _) => vec![s],
        (None, Some((season, at, count)))
            if *count == available.len() && window.end_ms - at < WEEK_MS =>
        {
            vec![*season]
        }
        (None, _) => available.clone(),
    };
    let mut overall = None;
    let mut best: Option<(Seasonality, Candidate)> = None;
    for &season in &candidates {
        let candidate = profile_for(season, window, period_ms, &mut overall, work);
        let better = match &best {
            None => true,
            Some((_, b)) => candidate.sigma < 0.9 * b.sigma,
        };
        if better {
            best = Some((season, candidate));
        }
    }
    let (
        seasonality,
        Candidate {
            profile,
            level,
            sigma: spread,
            central_range,
        },
    ) = best?;
    if candidates.len() > 1 || work.detected.is_none() {
        work.detected = Some((seasonality, window.end_ms, available.len()));
    }
    let residuals = Residuals {
        values: real_v,
        bins: window.bins_of(seasonality),
        profile: &profile,
    };
    let spread = floored_spread(spread, central_range, real_v, &mut work.scratch);
    let (mut slope_per_ms, mut anchor) = (0.0, real_t[real_t.len() - 1]);
    if span >= 3 * DAY_MS {
        let n = residuals.len();
        let quarter = n / 4;
        let early = work.scratch.sampled_median_of(&residuals, 0..quarter);
        let late = work.scratch.sampled_median_of(&residuals, n - quarter..n);
        let (t_early, t_late) = (real_t[quarter / 2], real_t[real_t.len() - quarter / 2 - 1]);
        if t_late > t_early {
            slope_per_ms = (late - early) / (t_late - t_early) as f64;
        }
        anchor = (real_t[0] + real_t[real_t.len() - 1]) / 2;
    }
    Some(Fit {
        seasonality,
        bins: profile.len(),
        profile,
        level,
        slope_per_ms,
        anchor,
        spread,
    })
}

#[cfg(test)]
mod tests {
    use super::robust::sort_total;
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
    fn sorted_bins_equal_bin_of_point_by_point() {
        let mut rng = Rng::new(2);
        let mut t = -3 * WEEK_MS;
        let mut ts = Vec::new();
        for _ in 0..20_000 {
            t += *rng.pick(&[1, 999, MINUTE_MS, 7 * MINUTE_MS, HOUR_MS, 3 * DAY_MS]);
            ts.push(t);
        }
        for season in Seasonality::ALL {
            for period in [MINUTE_MS, 5 * MINUTE_MS, 7 * MINUTE_MS, HOUR_MS, DAY_MS] {
                let bins = season.bins(period);
                let fast: Vec<usize> = season.sorted_bins(&ts, bins).collect();
                let slow: Vec<usize> = ts.iter().map(|&t| season.bin_of(t, bins)).collect();
                assert_eq!(fast, slow, "{season} period {period}");
            }
        }
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (i, season) in Seasonality::ALL.into_iter().enumerate() {
            assert_eq!(season.index(), i, "{season}");
        }
    }

    #[test]
    fn bin_runs_cover_every_position_in_order() {
        let bins = [3, 3, 3, 0, 0, 7, 3, 3];
        let runs: Vec<_> = bin_runs(&bins).collect();
        assert_eq!(runs, vec![(3, 0, 3), (0, 3, 5), (7, 5, 6), (3, 6, 8)]);
        assert_eq!(bin_runs(&[]).count(), 0);
    }

    #[test]
    fn integer_keys_order_as_total_cmp() {
        let mut values = vec![
            -f64::INFINITY,
            -1e300,
            -2.5,
            -0.0,
            0.0,
            1e-310,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        let sorted = values.clone();
        values.reverse();
        sort_total(&mut values, &mut Vec::new());
        assert_eq!(
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            sorted.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let mut many: Vec<f64> = (0..501)
            .map(|i| ((i * 7919) % 1000) as f64 - 500.5)
            .collect();
        let mut reference = many.clone();
        reference.sort_by(f64::total_cmp);
        assert_eq!(
            median(&mut many, &mut Vec::new()).to_bits(),
            reference[250].to_bits()
        );
    }

    /// The spread raised to its floor as first written: both order statistics and the step
    /// always computed (the step by sorting).
    fn floored_spread_by_sorting(sigma: f64, residuals: &[f64], values: &[f64]) -> f64 {
        let sample = |xs: &[f64]| -> Vec<f64> {
            let stride = xs.len().div_ceil(ROBUST_SAMPLE).max(1);
            xs.iter().step_by(stride).copied().collect()
        };
        let mut r = sample(residuals);
        if r.len() < 10 {
            return sigma.max(0.0);
        }
        r.sort_by(f64::total_cmp);
        let at = |q: f64| r[((r.len() - 1) as f64 * q).round() as usize];
        let range = at(0.95) - at(0.05);
        let mut v = sample(values);
        v.sort_by(f64::total_cmp);
        let step = v
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|d| *d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let step = if step.is_finite() { step } else { 0.0 };
        sigma.max((range / 6.58).max(step))
    }

    /// Skipping the sort when two neighbours in time bound the step changes no spread: on
    /// continuous, quantised (coarse and fine steps), bimodal, constant and infinite-valued data,
    /// short and long (strided) samples, any sigma.
    #[test]
    fn the_floor_equals_sorting_every_time() {
        let mut rng = Rng::new(17);
        for case in 0..3000 {
            let len = *rng.pick(&[5, 12, 300, 5000, 9000]);
            let kind = case % 6;
            let values: Vec<f64> = (0..len)
                .map(|_| match kind {
                    0 => 50.0 + 3.0 * rng.normal(),
                    1 => (10.0 + 2.0 * rng.normal()).round(),
                    2 => (rng.normal() * 4.0).round() * 0.25 + 33.4,
                    3 => {
                        if rng.chance(0.8) {
                            0.1
                        } else {
                            80.0 + rng.normal()
                        }
                    }
                    4 => 7.0,
                    _ => *rng.pick(&[1.0, 2.0, f64::INFINITY, -f64::INFINITY, 2.5]),
                })
                .collect();
            let level = values[0];
            let residuals: Vec<f64> = values.iter().map(|v| v - level).collect();
            let sigma = *rng.pick(&[0.0, 0.01, 0.3, 1.0, 5.0, f64::NAN]);
            // As a fit computes it: the range from the residuals' strided sample, split at its
            // median first.
            let zeros = vec![0; values.len()];
            let computed = Residuals {
                values: &values,
                bins: &zeros,
                profile: &[level],
            };
            let mut scratch = Scratch::default();
            let mut sample = Vec::new();
            computed.sample_into(0..computed.len(), ROBUST_SAMPLE, &mut sample);
            let (_, range) = median_and_central_range(&mut sample, &mut scratch.keys);
            let got = floored_spread(sigma, range, &values, &mut scratch);
            let expected = floored_spread_by_sorting(sigma, &residuals, &values);
            assert_eq!(
                got.to_bits(),
                expected.to_bits(),
                "case {case}: kind {kind}, {len} values, sigma {sigma}: {got} vs {expected}"
            );
        }
    }

    /// A seasonality's profile and spread over windows moving forward are the same whether the
    /// workspace keeps the last fit's per-bin medians (reusing those of bins whose points did not
    /// change) or starts empty every time: irregular steps, gaps, missing bins, overlapping and
    /// disjoint windows, every seasonality, groups above and below the per-bin sample size.
    #[test]
    fn reused_bin_medians_equal_medians_from_scratch() {
        let mut rng = Rng::new(23);
        for (case, period) in [MINUTE_MS, 5 * MINUTE_MS, HOUR_MS].into_iter().enumerate() {
            let mut t = 1_767_571_200_000;
            let mut ts = Vec::new();
            while ts.len() < 60_000 && t < 1_767_571_200_000 + 8 * WEEK_MS {
                t += if rng.chance(0.001) {
                    rng.int(1, 30) * HOUR_MS
                } else {
                    period * rng.int(1, 2)
                };
                ts.push(t);
            }
            let vs: Vec<f64> = ts
                .iter()
                .map(|&t| ((t / HOUR_MS) % 24) as f64 + rng.normal())
                .collect();
            let bins = bins_per_seasonality(&ts, period);
            let mut kept = Workspace::default();
            let mut end = ts[0] + DAY_MS;
            while end < ts[ts.len() - 1] {
                let training = *rng.pick(&[DAY_MS, 3 * DAY_MS, 14 * DAY_MS]);
                let window = Window::between(&ts, &vs, &bins, end - training, end);
                for season in Seasonality::ALL {
                    let with = profile_for(season, &window, period, &mut Some(11.5), &mut kept);
                    let fresh = profile_for(
                        season,
                        &window,
                        period,
                        &mut Some(11.5),
                        &mut Workspace::default(),
                    );
                    let bits = |c: &Candidate| {
                        let mut b: Vec<u64> = c.profile.iter().map(|v| v.to_bits()).collect();
                        b.extend([c.level.to_bits(), c.sigma.to_bits()]);
                        b.extend(c.central_range.map(f64::to_bits));
                        b
                    };
                    assert_eq!(bits(&with), bits(&fresh), "case {case} {season} at {end}");
                }
                end += *rng.pick(&[HOUR_MS, DAY_MS / 2, DAY_MS / 2, 3 * DAY_MS]);
            }
        }
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

    /// On clean Gaussian noise around a known profile, the share of points outside ±k·spread is
    /// what the normal distribution says: 2·(1 − Φ(k)).
    #[test]
    fn clean_points_fall_outside_at_the_normal_rate() {
        use statrs::distribution::{ContinuousCDF, Normal};
        let normal = Normal::new(0.0, 1.0).unwrap();
        let (ts, vs, _) = daily_series(3.0, 4);
        let out = band(&ts, &vs, 5 * MINUTE_MS, &SeasonalModel::default());
        let scored: Vec<usize> = (7 * 288..ts.len()).collect();
        for k in [1.0, 2.0, 3.0] {
            let outside = scored
                .iter()
                .filter(|&&i| {
                    let (lo, hi) = out.band.bounds(i, k);
                    vs[i] < lo || vs[i] > hi
                })
                .count() as f64
                / scored.len() as f64;
            let expected = 2.0 * (1.0 - normal.cdf(k));
            // 4,032 scored points: allow sampling error plus the bins' small shape error.
            assert!(
                (outside - expected).abs() < 0.25 * expected + 0.004,
                "k={k}: {outside:.4} outside vs {expected:.4} expected"
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
