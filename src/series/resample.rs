//! Resampling raw samples into CloudWatch periods.
//!
//! CloudWatch stamps a datapoint with the start of its period, and periods are aligned to multiples
//! of the period since the epoch (a 300 s period starts at :00, :05, ...). A period with no samples
//! has no datapoint: it stays NaN, it is never filled. This is a single pass over sorted slices;
//! the hot loops never touch polars.

use std::fmt;
use std::str::FromStr;

use super::Series;

/// The statistic a CloudWatch alarm aggregates each period with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    Average,
    Sum,
    Minimum,
    Maximum,
    SampleCount,
    /// `pNN` / `pNN.N`: the nearest-rank percentile (the smallest sample with at least NN% of the
    /// period's samples at or below it).
    Percentile(f64),
}

impl FromStr for Statistic {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            "SampleCount" => Statistic::SampleCount,
            _ => {
                let p = text
                    .strip_prefix('p')
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("`{text}` is not a statistic; expected Average, Sum, Minimum, Maximum, SampleCount or pNN (e.g. p99, p99.9)"))?;
                Statistic::Percentile(p)
            }
        })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::Average => f.write_str("Average"),
            Statistic::Sum => f.write_str("Sum"),
            Statistic::Minimum => f.write_str("Minimum"),
            Statistic::Maximum => f.write_str("Maximum"),
            Statistic::SampleCount => f.write_str("SampleCount"),
            Statistic::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

impl Statistic {
    /// Whether this is one of CloudWatch's plain statistics (`statistic`) rather than an extended one
    /// (`extended_statistic`, the percentiles).
    pub fn is_extended(&self) -> bool {
        matches!(self, Statistic::Percentile(_))
    }

    fn aggregate(&self, samples: &mut [f64]) -> f64 {
        if samples.is_empty() {
            return f64::NAN;
        }
        match self {
            Statistic::Average => samples.iter().sum::<f64>() / samples.len() as f64,
            Statistic::Sum => samples.iter().sum(),
            Statistic::Minimum => samples.iter().copied().fold(f64::INFINITY, f64::min),
            Statistic::Maximum => samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Statistic::SampleCount => samples.len() as f64,
            Statistic::Percentile(p) => {
                samples.sort_unstable_by(f64::total_cmp);
                let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
                samples[rank.clamp(1, samples.len()) - 1]
            }
        }
    }
}

/// The most periods one resampled grid may have (about 95 years of 1-minute periods): a span × period
/// from hostile input is refused before anything is allocated.
pub const MAX_PERIODS: i64 = 50_000_000;

/// Aggregate `series` into `period_ms` periods aligned to the epoch. The result covers every period
/// from the first row's to the last row's (a row with an empty value is a period that exists and is
/// missing); periods without samples are NaN.
pub fn resample(series: &Series, period_ms: i64, stat: Statistic) -> Series {
    match series.row_span() {
        Some((first, last)) => resample_span(series, period_ms, stat, first, last),
        None => Series::from_sorted(series.name.clone(), Vec::new(), Vec::new()),
    }
}

/// How many periods of `period_ms` the span `[first, last]` touches.
pub fn period_count(period_ms: i64, first: i64, last: i64) -> i64 {
    if last < first || period_ms <= 0 {
        return 0;
    }
    (last.div_euclid(period_ms) - first.div_euclid(period_ms)).saturating_add(1)
}

/// [`resample`] over the periods touching `[first, last]` (the evaluation span), whatever rows the
/// series has. CloudWatch has no NaN or infinite datapoints (PutMetricData rejects them), so such
/// samples count as no datapoint here. The caller bounds the span (see [`MAX_PERIODS`]).
pub fn resample_span(
    series: &Series,
    period_ms: i64,
    stat: Statistic,
    first: i64,
    last: i64,
) -> Series {
    assert!(period_ms > 0, "period must be positive");
    let n = period_count(period_ms, first, last);
    assert!(n <= MAX_PERIODS, "callers bound the number of periods");
    let n = n.max(0) as usize;
    let start = first.div_euclid(period_ms) * period_ms;
    let mut timestamps = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut i = series.timestamps.partition_point(|&t| t < start);
    let mut bucket: Vec<f64> = Vec::new();
    for k in 0..n {
        let bucket_start = start + k as i64 * period_ms;
        let bucket_end = bucket_start + period_ms;
        bucket.clear();
        while i < series.timestamps.len() && series.timestamps[i] < bucket_end {
            let v = series.values[i];
            if v.is_finite() {
                bucket.push(v);
            }
            i += 1;
        }
        timestamps.push(bucket_start);
        values.push(stat.aggregate(&mut bucket));
    }
    let mut out = Series::from_sorted(series.name.clone(), timestamps, values);
    out.labels = series.labels.clone();
    out
}

/// The median spacing between consecutive rows (empty cells included: they are rows that exist), if
/// there are at least two.
///
/// Metric data is mostly evenly spaced, and a spacing shared by more than half of the gaps is the
/// median (its run in sorted order covers the middle), so that case takes two passes without a
/// copy (tune and backtest ask this of every series); otherwise the gaps are copied and the middle
/// one selected.
pub fn median_step_ms(series: &Series) -> Option<i64> {
    let gaps = || series.timestamps.windows(2).map(|w| w[1] - w[0]);
    let count = series.timestamps.len().checked_sub(1).filter(|n| *n > 0)?;
    // Boyer–Moore vote: the only value that can hold a majority, then a count to see if it does.
    let (mut candidate, mut lead) = (0i64, 0usize);
    for gap in gaps() {
        if lead == 0 {
            candidate = gap;
        }
        lead = if gap == candidate { lead + 1 } else { lead - 1 };
    }
    if gaps().filter(|g| *g == candidate).count() > count / 2 {
        return Some(candidate);
    }
    let mut steps: Vec<i64> = gaps().collect();
    let mid = steps.len() / 2;
    Some(*steps.select_nth_unstable(mid).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(i64, f64)]) -> Series {
        Series::from_sorted(
            "s",
            points.iter().map(|p| p.0).collect(),
            points.iter().map(|p| p.1).collect(),
        )
    }

    /// Samples at 0,10,20 s (period 0), none in period 60, 130 and 170 s (period 120), 200 s NaN.
    fn sample() -> Series {
        series(&[
            (0, 4.0),
            (10_000, 1.0),
            (20_000, 7.0),
            (130_000, 2.0),
            (170_000, 10.0),
            (200_000, f64::NAN),
        ])
    }

    fn check(stat: Statistic, expected: [f64; 3]) {
        let out = resample(&sample(), 60_000, stat);
        // The empty row at 200 s is a period that exists (180 s), and it is missing.
        assert_eq!(out.timestamps, vec![0, 60_000, 120_000, 180_000], "{stat}");
        assert!(out.values[3].is_nan(), "{stat}: a row with no value");
        assert_eq!(out.values[0], expected[0], "{stat}");
        assert!(
            out.values[1].is_nan(),
            "{stat}: an empty period stays missing"
        );
        assert_eq!(out.values[2], expected[2], "{stat}");
    }

    #[test]
    fn median_step_is_the_middle_gap_with_or_without_a_majority() {
        let mut rng = crate::rng::Rng::new(21);
        for case in 0..500 {
            let len = rng.int(0, 60) as usize;
            // Mostly one spacing (a majority or just short of one), the rest jittered or gaps.
            let usual = *rng.pick(&[60_000, 300_000, 1]);
            let share = *rng.pick(&[1.0, 0.9, 0.55, 0.5, 0.45, 0.1]);
            let mut t = 0i64;
            let timestamps: Vec<i64> = (0..len)
                .map(|_| {
                    t += if rng.chance(share) {
                        usual
                    } else {
                        rng.int(0, 3 * usual)
                    };
                    t
                })
                .collect();
            let s = series(&timestamps.iter().map(|t| (*t, 1.0)).collect::<Vec<_>>());
            let mut gaps: Vec<i64> = timestamps.windows(2).map(|w| w[1] - w[0]).collect();
            gaps.sort_unstable();
            let expected = (!gaps.is_empty()).then(|| gaps[gaps.len() / 2]);
            assert_eq!(median_step_ms(&s), expected, "case {case}: gaps {gaps:?}");
        }
    }

    #[test]
    fn every_statistic_against_hand_computed_values() {
        check(Statistic::Average, [4.0, f64::NAN, 6.0]);
        check(Statistic::Sum, [12.0, f64::NAN, 12.0]);
        check(Statistic::Minimum, [1.0, f64::NAN, 2.0]);
        check(Statistic::Maximum, [7.0, f64::NAN, 10.0]);
        check(Statistic::SampleCount, [3.0, f64::NAN, 2.0]);
        // nearest rank: p50 of {1,4,7} is rank ceil(1.5)=2 -> 4; of {2,10} rank 1 -> 2.
        check(Statistic::Percentile(50.0), [4.0, f64::NAN, 2.0]);
        check(Statistic::Percentile(99.0), [7.0, f64::NAN, 10.0]);
        check(Statistic::Percentile(0.0), [1.0, f64::NAN, 2.0]);
    }

    #[test]
    fn periods_align_to_the_epoch_not_to_the_first_sample() {
        let out = resample(
            &series(&[(290_000, 1.0), (310_000, 3.0)]),
            300_000,
            Statistic::Sum,
        );
        assert_eq!(out.timestamps, vec![0, 300_000]);
        assert_eq!(out.values, vec![1.0, 3.0]);
    }

    #[test]
    fn an_explicit_span_adds_missing_periods_and_cuts_rows_outside() {
        let out = resample_span(&sample(), 60_000, Statistic::Sum, 60_000, 300_000);
        assert_eq!(
            out.timestamps,
            vec![60_000, 120_000, 180_000, 240_000, 300_000]
        );
        assert!(out.values[0].is_nan());
        assert_eq!(out.values[1], 12.0);
        assert!(out.values[2..].iter().all(|v| v.is_nan()));
    }

    #[test]
    fn nan_and_infinite_samples_are_no_cloudwatch_datapoint() {
        let s = Series::from_sorted(
            "s",
            vec![0, 1_000, 2_000],
            vec![1.0, f64::INFINITY, super::super::nan_sample()],
        );
        assert_eq!(s.nan_samples, vec![2]);
        let out = resample(&s, 60_000, Statistic::SampleCount);
        assert_eq!(out.values, vec![1.0]);
    }

    #[test]
    fn statistic_names_parse() {
        assert_eq!(
            "p99.9".parse::<Statistic>(),
            Ok(Statistic::Percentile(99.9))
        );
        assert_eq!("Maximum".parse::<Statistic>(), Ok(Statistic::Maximum));
        assert!("max".parse::<Statistic>().is_err());
        assert!("p101".parse::<Statistic>().is_err());
    }
}
