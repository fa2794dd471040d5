//! `inspect`: what a new metric file holds, per series — the first thing a user runs on it.

use serde::Serialize;

use super::resample::median_step_ms;
use super::time::format_rfc3339;
use super::Series;

/// Facts about one series. Gaps are absent rows (a spacing above 1.5 × the median step); empty
/// value cells are counted apart as `missing_values`.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesReport {
    pub series: String,
    pub rows: usize,
    pub points: usize,
    pub missing_values: usize,
    pub start: Option<String>,
    pub end: Option<String>,
    pub span_s: i64,
    pub median_step_s: Option<f64>,
    pub gaps: usize,
    /// Periods of the median step that the gaps leave out.
    pub gap_periods: i64,
    pub largest_gap_s: Option<f64>,
    pub duplicate_timestamps: usize,
    pub unsorted: bool,
    pub min: Option<f64>,
    pub median: Option<f64>,
    pub max: Option<f64>,
}

pub fn inspect(series: &Series) -> SeriesReport {
    let step = median_step_ms(series);
    let (mut gaps, mut gap_periods, mut largest) = (0, 0, None::<i64>);
    if let Some(step) = step.filter(|s| *s > 0) {
        for w in series.timestamps.windows(2) {
            let spacing = w[1] - w[0];
            if spacing * 2 > step * 3 {
                gaps += 1;
                gap_periods += (spacing + step / 2) / step - 1;
                largest = Some(largest.map_or(spacing, |l: i64| l.max(spacing)));
            }
        }
    }
    let mut real: Vec<f64> = series
        .values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    real.sort_unstable_by(f64::total_cmp);
    let median = if real.is_empty() {
        None
    } else if real.len() % 2 == 1 {
        Some(real[real.len() / 2])
    } else {
        Some((real[real.len() / 2 - 1] + real[real.len() / 2]) / 2.0)
    };
    SeriesReport {
        series: series.name.clone(),
        rows: series.stats.rows,
        points: real.len(),
        missing_values: series.values.iter().filter(|v| v.is_nan()).count(),
        start: series.timestamps.first().map(|t| format_rfc3339(*t)),
        end: series.timestamps.last().map(|t| format_rfc3339(*t)),
        span_s: match (series.timestamps.first(), series.timestamps.last()) {
            (Some(a), Some(b)) => (b - a) / 1000,
            _ => 0,
        },
        median_step_s: step.map(|s| s as f64 / 1000.0),
        gaps,
        gap_periods,
        largest_gap_s: largest.map(|l| l as f64 / 1000.0),
        duplicate_timestamps: series.stats.duplicate_rows,
        unsorted: series.stats.unsorted,
        min: real.first().copied(),
        median,
        max: real.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn reports_gaps_duplicates_and_missing_cells() {
        let minute = 60_000;
        let rows = vec![
            (0, 1.0),
            (minute, f64::NAN),
            (2 * minute, 3.0),
            (2 * minute, 5.0),
            (6 * minute, 2.0),
            (7 * minute, 9.0),
        ];
        let r = inspect(&Series::from_rows("s", BTreeMap::new(), rows));
        assert_eq!(r.rows, 6);
        assert_eq!(r.duplicate_timestamps, 1);
        assert_eq!(r.missing_values, 1);
        assert_eq!(r.gaps, 1);
        assert_eq!(r.gap_periods, 3);
        assert_eq!(r.largest_gap_s, Some(240.0));
        assert_eq!((r.min, r.median, r.max), (Some(1.0), Some(3.0), Some(9.0)));
    }
}
