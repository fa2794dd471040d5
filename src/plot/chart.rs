//! What one chart shows, taken from a CloudWatch or Prometheus replay: nothing here decides alarm
//! behaviour.

use crate::backtest::{
    self, BacktestResult, BandIndexing, CloudWatchReplay, Engines, PrometheusReplay, SeriesContext,
    SeriesGroup,
};
use crate::band::{Band, Rule};
use crate::engine::cloudwatch::Breach;
use crate::engine::Detail;
use crate::score::Incident;
use crate::series::time::format_duration;
use crate::spec::ResolvedAlert;

/// Everything a chart draws; times are UTC epoch ms.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    /// The engine whose alarm this is: `cloudwatch` or `prometheus`.
    pub engine: &'static str,
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
    /// Alarm episodes (CloudWatch ALARM, Prometheus firing) `[start, end)`; an open one ends at the
    /// end of the data.
    pub episodes: Vec<(i64, i64)>,
    /// Prometheus `for` periods that were pending (drawn lighter); none for CloudWatch.
    pub pending: Vec<(i64, i64)>,
    pub incidents: Vec<(i64, i64)>,
    /// Before the band exists.
    pub warm_up: Option<(i64, i64)>,
    pub alerts_per_week: f64,
    /// What the replay warned of (a data step coarser than the period, times that look like row
    /// numbers): a chart that looks odd says why, as `backtest` does.
    pub warnings: Vec<String>,
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
        let (lower, upper) = bounds(band, &replay.rule, 0..grid.len());
        let breaching = replay
            .breach
            .iter()
            .enumerate()
            .filter(|(_, b)| *b == Breach::Breaching)
            .map(|(i, _)| (grid.timestamps[i], grid.values[i]))
            .collect();
        let condition = format!(
            "{}, {} of {}",
            replay.result.condition, replay.m_of_n.0, replay.m_of_n.1
        );
        let drawn = Drawn {
            times: grid.timestamps.clone(),
            values: grid.values.clone(),
            lower,
            upper,
            breaching,
            warm_up_points: band.warm_up_points(),
            is_band: is_band(band),
        };
        Chart::assemble(title, condition, unit, drawn, &replay.result, incidents)
    }

    /// The chart of a Prometheus replay: at each evaluation, the value the rule compared and the
    /// band it compared it with; breaching = the expression returned the series there.
    pub fn from_prometheus(
        title: String,
        replay: &PrometheusReplay,
        raw: &crate::series::Series,
        incidents: &[Incident],
        unit: Option<String>,
    ) -> Chart {
        let (eval_times, selected) = (&replay.selection.0, &replay.selection.1);
        let prepared = &replay.presence.prepared;
        let band = &prepared.prepared.band;
        let rule = &prepared.rule;
        let (values, lower, upper): (Vec<f64>, Vec<f64>, Vec<f64>) = match &prepared.indexing {
            BandIndexing::Evaluations { compared } => {
                let (lower, upper) = bounds(band, rule, 0..eval_times.len());
                (compared.to_vec(), lower, upper)
            }
            BandIndexing::Samples => {
                let mut values = Vec::with_capacity(eval_times.len());
                let (mut lower, mut upper) = (values.clone(), values.clone());
                for s in selected {
                    let (v, lo, hi) = match *s {
                        Some(i) => {
                            let (lo, hi) = band.bounds(i, rule.k);
                            (raw.values[i], lo, hi)
                        }
                        None => (f64::NAN, f64::NAN, f64::NAN),
                    };
                    values.push(v);
                    lower.push(lo);
                    upper.push(hi);
                }
                (values, lower, upper)
            }
        };
        let breaching = replay
            .presence
            .present
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .map(|(k, _)| (eval_times[k], values[k]))
            .collect();
        let cfg = &replay.config;
        let mut condition = format!(
            "{}, every {}, for {}",
            replay.result.condition,
            format_duration(cfg.interval_ms),
            format_duration(cfg.for_ms)
        );
        if cfg.keep_firing_for_ms > 0 {
            condition += &format!(", keep firing {}", format_duration(cfg.keep_firing_for_ms));
        }
        let drawn = Drawn {
            times: eval_times.clone(),
            values,
            lower,
            upper,
            breaching,
            warm_up_points: prepared.warm_up_evaluations,
            is_band: is_band(band),
        };
        let mut chart = Chart::assemble(title, condition, unit, drawn, &replay.result, incidents);
        chart.pending = pending_spans(&replay.result);
        chart
    }

    /// The parts every engine's chart shares: episodes, incidents, warm-up and figures from the
    /// backtest result.
    fn assemble(
        title: String,
        condition: String,
        unit: Option<String>,
        drawn: Drawn,
        result: &BacktestResult,
        incidents: &[Incident],
    ) -> Chart {
        let horizon = result.timeline.horizon();
        let warm = drawn.warm_up_points;
        let warm_up = (warm > 0 && !drawn.times.is_empty()).then(|| {
            (
                drawn.times[0],
                drawn.times.get(warm).copied().unwrap_or(horizon),
            )
        });
        Chart {
            title,
            engine: result.engine,
            condition,
            unit,
            times: drawn.times,
            values: drawn.values,
            lower: drawn.lower,
            upper: drawn.upper,
            is_band: drawn.is_band,
            breaching: drawn.breaching,
            episodes: result
                .episodes
                .iter()
                .map(|e| (e.start, e.end.unwrap_or(horizon)))
                .collect(),
            pending: Vec::new(),
            incidents: incidents.iter().map(|i| (i.start, i.end)).collect(),
            warm_up,
            alerts_per_week: result.alerts_per_week,
            warnings: result.warnings.clone(),
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

/// What an engine's replay hands to [`Chart::assemble`].
struct Drawn {
    times: Vec<i64>,
    values: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    breaching: Vec<(i64, f64)>,
    warm_up_points: usize,
    is_band: bool,
}

/// Lower and upper bounds of `band` at `rule`'s `k` over `points`, the lower one raised to the
/// rule's floor (CloudWatch's band never goes below a never-negative metric's zero).
fn bounds(band: &Band, rule: &Rule, points: std::ops::Range<usize>) -> (Vec<f64>, Vec<f64>) {
    points
        .map(|i| {
            let (lo, hi) = band.bounds(i, rule.k);
            // A missing bound (NaN) stays missing: no band there.
            let lo = match rule.floor {
                Some(f) if lo < f => f,
                _ => lo,
            };
            (lo, hi)
        })
        .unzip()
}

/// A band has a width somewhere; a threshold (or a percentile line) has none.
fn is_band(band: &Band) -> bool {
    band.spread.iter().any(|s| s.is_finite() && *s > 0.0)
}

/// The spans a Prometheus alert was pending: from each `pending` transition to the next
/// transition (firing, or inactive when the condition cleared within `for`).
fn pending_spans(result: &BacktestResult) -> Vec<(i64, i64)> {
    let transitions = &result.transitions;
    let horizon = result.timeline.horizon();
    transitions
        .iter()
        .enumerate()
        .filter(|(_, t)| t.to == "pending")
        .map(|(i, t)| (t.at, transitions.get(i + 1).map_or(horizon, |n| n.at)))
        .collect()
}

/// The chart of every alarm of `group` (alerts reading one series) on the engines asked for, from
/// the backtest's own replays: titled `alert · env · engine · series`, the value axis named after
/// the metric, the series' incidents marked.
pub fn group_charts<'a>(
    group: &SeriesGroup<'a>,
    engines: Engines,
) -> Vec<(&'a ResolvedAlert, Chart)> {
    let series = group.series();
    let ctx = SeriesContext::new(series);
    let mut charts = Vec::new();
    for job in &group.jobs {
        let alert = job.alert;
        let (span, bands) = (job.inputs.span, job.inputs.replay.as_deref());
        let incidents = job.inputs.incidents.as_deref().unwrap_or(&[]);
        let title = |engine: &str| {
            format!(
                "{} · {} · {engine} · {}",
                alert.name, alert.env, series.name
            )
        };
        if engines.cloudwatch {
            if let Some(replay) =
                backtest::cloudwatch_replay(alert, &ctx, span, bands, Detail::Full)
            {
                let unit = alert.cloudwatch.as_ref().map(|m| m.metric_name.clone());
                let chart = Chart::from_cloudwatch(title("cloudwatch"), &replay, incidents, unit);
                charts.push((alert, chart));
            }
        }
        if engines.prometheus {
            if let Some(replay) =
                backtest::prometheus_replay(alert, &ctx, span, bands, Detail::Full)
            {
                let chart =
                    Chart::from_prometheus(title("prometheus"), &replay, series, incidents, None);
                charts.push((alert, chart));
            }
        }
    }
    charts
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
