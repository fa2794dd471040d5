//! Synthetic metric series that look like production load: a daily cycle peaking in business hours,
//! quieter weekends, a slow trend, noise, and sporadic short bursts — the account-wide Lambda
//! concurrency that made the noisy anomaly alarm in alertlab's origin story. Seeded, so bundled
//! examples and large benchmark inputs are reproducible.

use rayon::prelude::*;

use crate::rng::Rng;
use crate::series::time::{DAY_MS, HOUR_MS};
use crate::series::Series;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub series: usize,
    pub days: f64,
    pub step_s: i64,
    pub seed: u64,
    /// UTC epoch ms of the first point (defaults to Monday 2026-01-05 00:00 UTC).
    pub start_ms: i64,
    /// Mean number of sporadic bursts per day and series.
    pub bursts_per_day: f64,
    /// Share of points dropped (no datapoint), as exporters and agents occasionally do.
    pub missing_rate: f64,
    /// Name prefix; series are `<prefix>-<i>`.
    pub prefix: String,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            series: 1,
            days: 14.0,
            step_s: 60,
            seed: 1,
            start_ms: 1_767_571_200_000,
            bursts_per_day: 3.0,
            missing_rate: 0.0,
            prefix: "synth".into(),
        }
    }
}

/// Shape of one generated series, drawn from the seed.
struct Profile {
    level: f64,
    daily_amplitude: f64,
    peak_hour: f64,
    weekend_factor: f64,
    trend_per_day: f64,
    noise: f64,
    burst_scale: f64,
}

impl Profile {
    fn draw(rng: &mut Rng) -> Profile {
        Profile {
            level: 10f64.powf(rng.range(1.3, 2.7)),
            daily_amplitude: rng.range(0.25, 0.6),
            peak_hour: rng.range(11.0, 16.0),
            weekend_factor: rng.range(0.55, 0.9),
            trend_per_day: rng.range(-0.004, 0.01),
            noise: rng.range(0.04, 0.1),
            burst_scale: rng.range(1.5, 4.0),
        }
    }

    /// Expected value at `t_ms` without noise or bursts.
    fn baseline(&self, t_ms: i64, start_ms: i64) -> f64 {
        let hour = t_ms.rem_euclid(DAY_MS) as f64 / HOUR_MS as f64;
        let daily = 1.0
            + self.daily_amplitude * (std::f64::consts::TAU * (hour - self.peak_hour) / 24.0).cos();
        // 1970-01-01 was a Thursday: day index 2 and 3 after Thursday are Saturday and Sunday.
        let weekday = (t_ms.div_euclid(DAY_MS) + 3).rem_euclid(7); // 0 = Monday
        let weekly = if weekday >= 5 {
            self.weekend_factor
        } else {
            1.0
        };
        let days = (t_ms - start_ms) as f64 / DAY_MS as f64;
        self.level * daily * weekly * (1.0 + self.trend_per_day * days)
    }
}

/// Generate `opts.series` series.
pub fn generate(opts: &SynthOptions) -> Vec<Series> {
    generate_range(opts, 0..opts.series)
}

/// Series `range` of what [`generate`] makes (each series draws from its own seed, so a fleet is
/// generated and written a slice at a time, never held whole).
pub fn generate_range(opts: &SynthOptions, range: std::ops::Range<usize>) -> Vec<Series> {
    let step_ms = opts.step_s * 1000;
    let n = ((opts.days * DAY_MS as f64) / step_ms as f64).round() as usize;
    let timestamps: Vec<i64> = (0..n as i64).map(|i| opts.start_ms + i * step_ms).collect();
    let burst_probability = opts.bursts_per_day * step_ms as f64 / DAY_MS as f64;
    // Series are independent (one seed each): generated on every core, in order.
    range
        .into_par_iter()
        .map(|i| {
            let mut rng = Rng::new(opts.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            let profile = Profile::draw(&mut rng);
            let mut burst_left = 0i64;
            let mut burst_height = 0.0;
            let values = timestamps
                .iter()
                .map(|&t| {
                    if burst_left == 0 && rng.chance(burst_probability) {
                        burst_left = rng.int(1, (15 * 60 * 1000 / step_ms).max(1));
                        burst_height = profile.level * profile.burst_scale * rng.range(0.5, 2.0);
                    }
                    let mut v =
                        profile.baseline(t, opts.start_ms) * (1.0 + profile.noise * rng.normal());
                    if burst_left > 0 {
                        v += burst_height;
                        burst_left -= 1;
                    }
                    if opts.missing_rate > 0.0 && rng.chance(opts.missing_rate) {
                        f64::NAN
                    } else {
                        v.max(0.0).round()
                    }
                })
                .collect();
            Series::from_sorted(format!("{}-{}", opts.prefix, i), timestamps.clone(), values)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let opts = SynthOptions {
            series: 2,
            days: 1.0,
            ..SynthOptions::default()
        };
        assert_eq!(generate(&opts), generate(&opts));
        let other = generate(&SynthOptions {
            seed: 2,
            ..opts.clone()
        });
        assert_ne!(generate(&opts)[0].values, other[0].values);
    }

    #[test]
    fn has_a_daily_cycle_and_bursts() {
        let opts = SynthOptions {
            series: 1,
            days: 7.0,
            bursts_per_day: 4.0,
            ..SynthOptions::default()
        };
        let s = &generate(&opts)[0];
        assert_eq!(s.len(), 7 * 1440);
        let median = {
            let mut v = s.values.clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let max = s.values.iter().copied().fold(0.0, f64::max);
        assert!(
            max > 2.0 * median,
            "bursts stand out: max {max} median {median}"
        );
        assert!(s.values.iter().all(|v| *v >= 0.0));
    }
}
