//! Percentile thresholds: the threshold at each point is the `p`-th percentile (nearest rank) of the
//! trailing training window, refitted at every `refit` boundary (UTC-aligned) from data strictly
//! before it, times a factor.

use super::Band;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentileModel {
    pub percentile: f64,
    pub training_ms: i64,
    pub refit_ms: i64,
    pub factor: f64,
}

pub fn band(timestamps: &[i64], values: &[f64], model: &PercentileModel) -> Band {
    let mut center = vec![f64::NAN; values.len()];
    let mut scratch = Vec::new();
    let mut i = 0;
    while i < timestamps.len() {
        let boundary = timestamps[i].div_euclid(model.refit_ms) * model.refit_ms;
        let next = boundary + model.refit_ms;
        let start = timestamps.partition_point(|&t| t < boundary - model.training_ms);
        let stop = timestamps.partition_point(|&t| t < boundary);
        scratch.clear();
        scratch.extend(values[start..stop].iter().copied().filter(|v| !v.is_nan()));
        let threshold = if scratch.is_empty() {
            f64::NAN
        } else {
            scratch.sort_unstable_by(f64::total_cmp);
            let rank = ((model.percentile / 100.0) * scratch.len() as f64).ceil() as usize;
            scratch[rank.clamp(1, scratch.len()) - 1] * model.factor
        };
        while i < timestamps.len() && timestamps[i] < next {
            center[i] = threshold;
            i += 1;
        }
    }
    Band {
        spread: vec![0.0; values.len()],
        center,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_only_past_windows() {
        let ts: Vec<i64> = (0..10).collect();
        let vals: Vec<f64> = (0..10).map(|v| v as f64).collect();
        let b = band(
            &ts,
            &vals,
            &PercentileModel {
                percentile: 100.0,
                training_ms: 4,
                refit_ms: 2,
                factor: 1.0,
            },
        );
        assert!(b.center[0].is_nan() && b.center[1].is_nan());
        assert_eq!(b.center[2], 1.0); // max of [0,1]
        assert_eq!(b.center[9], 7.0); // max of [4..8)
    }
}
