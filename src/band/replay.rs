//! The `replay` band: a real CloudWatch anomaly band, fetched at width `k0`
//! (`ANOMALY_DETECTION_BAND(m1, k0)` results saved as JSON or CSV), replayed at any `k`:
//! center = (upper + lower) / 2 and σ = (upper − lower) / (2·k0).
//!
//! Band points are matched to the series by time: each series point takes the newest band point at
//! or before it that is no older than `max_age` (one period by default), else no band.

use super::Band;
use crate::series::Series;

/// The prefix of the band series `alertlab fetch cloudwatch --band` saves beside the metric
/// (`ANOMALY_DETECTION_BAND(<metric>, <k0>) lower|upper`): they are the band, never a metric to
/// alert on.
pub const BAND_SERIES_PREFIX: &str = "ANOMALY_DETECTION_BAND(";

/// Whether a series of a data file is one side of a fetched band.
pub fn is_band_series(name: &str) -> bool {
    name.starts_with(BAND_SERIES_PREFIX)
}

/// Pick the lower and upper series out of a loaded band file: the series `fetch cloudwatch --band`
/// saved, else names or labels containing `lower` and `upper` (case-insensitive), as CloudWatch
/// labels them.
pub fn find_bounds(series: &[Series]) -> Option<(&Series, &Series)> {
    let has = |s: &Series, word: &str| {
        let word = word.to_ascii_lowercase();
        s.name.to_ascii_lowercase().contains(&word)
            || s.labels
                .values()
                .any(|v| v.to_ascii_lowercase().contains(&word))
    };
    let find = |word: &str| {
        series
            .iter()
            .find(|s| is_band_series(&s.name) && has(s, word))
            .or_else(|| series.iter().find(|s| has(s, word)))
    };
    Some((find("lower")?, find("upper")?))
}

/// Center and σ of the real band at the series' timestamps.
pub fn band(timestamps: &[i64], lower: &Series, upper: &Series, k0: f64, max_age_ms: i64) -> Band {
    let mut center = Vec::with_capacity(timestamps.len());
    let mut spread = Vec::with_capacity(timestamps.len());
    let at = |s: &Series, t: i64| -> f64 {
        let i = s.timestamps.partition_point(|&x| x <= t);
        if i == 0 || t - s.timestamps[i - 1] > max_age_ms {
            f64::NAN
        } else {
            s.values[i - 1]
        }
    };
    for &t in timestamps {
        let (l, u) = (at(lower, t), at(upper, t));
        if l.is_nan() || u.is_nan() || k0 <= 0.0 {
            center.push(f64::NAN);
            spread.push(f64::NAN);
        } else {
            center.push((u + l) / 2.0);
            spread.push((u - l).max(0.0) / (2.0 * k0));
        }
    }
    Band { center, spread }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_at_another_k() {
        let lower = Series::from_sorted("ad1 Lower", vec![0, 60], vec![8.0, 9.0]);
        let upper = Series::from_sorted("ad1 Upper", vec![0, 60], vec![12.0, 13.0]);
        let b = band(&[0, 60, 200], &lower, &upper, 2.0, 60);
        assert_eq!(
            b.bounds(0, 2.0),
            (8.0, 12.0),
            "k = k0 gives the fetched band back"
        );
        assert_eq!(b.bounds(1, 4.0), (7.0, 15.0));
        assert!(b.center[2].is_nan(), "no band point recent enough");
        let all = [upper.clone(), lower.clone()];
        let (l, u) = find_bounds(&all).unwrap();
        assert_eq!(
            (l.name.as_str(), u.name.as_str()),
            ("ad1 Lower", "ad1 Upper")
        );
    }
}
