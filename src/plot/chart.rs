//! What one chart shows, taken from a CloudWatch replay: nothing here decides alarm behaviour.

use crate::backtest::{self, CloudWatchReplay, SeriesContext, SeriesGroup};
use crate::engine::cloudwatch::Breach;
use crate::score::Incident;
use crate::spec::ResolvedAlert;

/// Everything a chart draws; times are UTC epoch ms.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    /// The condition, e.g. `seasonal k=3 above, 3 of 5`.
    pub condition: String,
    pub unit: Option<String>,
    pub times: Vec<i64>,
    pub values: Vec<f64>,
    /// Lower and upper bounds per point (NaN: no band there); for a static threshold both are the
    /// threshold.
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Whether the bounds are a band (shaded) or a threshold (a line).
    pub is_band: bool,
    pub breaching: Vec<(i64, f64)>,
    /// Alarm episodes `[start, end)`; an open one ends at the end of the data.
    pub episodes: Vec<(i64, i64)>,
    pub incidents: Vec<(i64, i64)>,
    /// Before the band exists.
    pub warm_up: Option<(i64, i64)>,
    pub alerts_per_week: f64,
}

impl Chart {
    /// The chart of a CloudWatch replay (`title` names the alert and env).
    pub fn from_cloudwatch(
        title: String,
        replay: &CloudWatchReplay,
        incidents: &[Incident],
        unit: Option<String>,
    ) -> Chart {
        let grid = &replay.grid;
        let band = &replay.prepared.band;
        let rule = replay.rule;
        let (mut lower, mut upper) = (
            Vec::with_capacity(grid.len()),
            Vec::with_capacity(grid.len()),
        );
        for i in 0..grid.len() {
            let (mut lo, hi) = band.bounds(i, rule.k);
            if let Some(f) = rule.floor {
                if lo < f {
                    lo = f;
                }
            }
            lower.push(lo);
            upper.push(hi);
        }
        let is_band = band.spread.iter().any(|s| s.is_finite() && *s > 0.0);
        let breaching = replay
            .breach
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == Breach::Breaching)
            .map(|(i, _)| (grid.timestamps[i], grid.values[i]))
            .collect();
        let r = &replay.result;
        let horizon = r.timeline.horizon();
        let warm = band.warm_up_points();
        let warm_up = (warm > 0 && !grid.is_empty()).then(|| {
            (
                grid.timestamps[0],
                grid.timestamps.get(warm).copied().unwrap_or(horizon),
            )
        });
        Chart {
            title,
            condition: format!(
                "{}, {} of {}",
                r.condition, replay.m_of_n.0, replay.m_of_n.1
            ),
            unit,
            times: grid.timestamps.clone(),
            values: grid.values.clone(),
            lower,
            upper,
            is_band,
            breaching,
            episodes: r
                .episodes
                .iter()
                .map(|e| (e.start, e.end.unwrap_or(horizon)))
                .collect(),
            incidents: incidents.iter().map(|i| (i.start, i.end)).collect(),
            warm_up,
            alerts_per_week: r.alerts_per_week,
        }
    }

    /// The legend's figures: `12 episodes, 6.0 alerts/week`.
    pub fn legend(&self) -> String {
        format!(
            "{} episodes, {:.1} alerts/week",
            self.episodes.len(),
            self.alerts_per_week
        )
    }
}

/// The chart of every alarm of `group` (alerts reading one series) that has a CloudWatch metric,
/// from the backtest's own replay: titled `alert · env · series`, the value axis named after the
/// metric, the series' incidents marked.
pub fn group_charts<'a>(group: &SeriesGroup<'a>) -> Vec<(&'a ResolvedAlert, Chart)> {
    let series = group.series();
    let ctx = SeriesContext::new(series);
    group
        .jobs
        .iter()
        .filter_map(|job| {
            let replay = backtest::cloudwatch_replay(
                job.alert,
                &ctx,
                job.inputs.span,
                job.inputs.replay.as_deref(),
            )?;
            let chart = Chart::from_cloudwatch(
                format!("{} · {} · {}", job.alert.name, job.alert.env, series.name),
                &replay,
                job.inputs.incidents.as_deref().unwrap_or(&[]),
                job.alert.cloudwatch.as_ref().map(|m| m.metric_name.clone()),
            );
            Some((job.alert, chart))
        })
        .collect()
}

/// At most two points per pixel column — the minimum and the maximum, in time order — so a long
/// series keeps every spike and draws fast. NaN values are skipped (they break the line).
pub fn decimate(times: &[i64], values: &[f64], columns: usize) -> Vec<Vec<(i64, f64)>> {
    let mut segments: Vec<Vec<(i64, f64)>> = Vec::new();
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return segments;
    };
    let width = ((last - first) as f64 / columns.max(1) as f64).max(1.0);
    let mut current: Vec<(i64, f64)> = Vec::new();
    let mut i = 0;
    while i < times.len() {
        let col = ((times[i] - first) as f64 / width) as i64;
        let mut lo: Option<(i64, f64)> = None;
        let mut hi: Option<(i64, f64)> = None;
        let mut gap = false;
        while i < times.len() && ((times[i] - first) as f64 / width) as i64 == col {
            let v = values[i];
            if v.is_nan() {
                gap = true;
            } else {
                if lo.is_none_or(|(_, l)| v < l) {
                    lo = Some((times[i], v));
                }
                if hi.is_none_or(|(_, h)| v > h) {
                    hi = Some((times[i], v));
                }
            }
            i += 1;
        }
        if let (Some(a), Some(b)) = (lo, hi) {
            let (p, q) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            current.push(p);
            if q != p {
                current.push(q);
            }
        }
        if gap && lo.is_none() && !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_spikes_and_bounds_the_point_count() {
        let times: Vec<i64> = (0..20_160).map(|i| i * 60_000).collect();
        let mut values = vec![1.0; 20_160];
        values[12_345] = 500.0;
        values[100..200].iter_mut().for_each(|v| *v = f64::NAN);
        let segs = decimate(&times, &values, 1000);
        let points: usize = segs.iter().map(|s| s.len()).sum();
        assert!(points <= 2 * 1000 + 2, "{points}");
        assert!(
            segs.iter().flatten().any(|p| p.1 == 500.0),
            "the spike survives"
        );
        assert_eq!(segs.len(), 2, "the gap breaks the line");
    }
}
