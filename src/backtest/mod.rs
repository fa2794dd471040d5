//! Backtests: replay every resolved alert over its history, per environment, engine and series.
//!
//! [`plan`] loads every input and groups the alerts by the series they read; [`replay`] runs one
//! alert over one series (the [`cloudwatch`] and [`prometheus`] replays, sharing what a series'
//! alerts have in common through a [`SeriesContext`]) and scores it: the one code path behind every
//! figure `backtest` and `tune` report.

mod cloudwatch;
mod context;
mod plan;
mod prepare;
mod prometheus;
mod result;

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::band;
use crate::engine::Detail;
use crate::score::{self, FlapRule, Incident};
use crate::series::{LoadError, Series};
use crate::spec::{AlertSet, ResolvedAlert};

pub use cloudwatch::{cloudwatch_replay, run_cloudwatch, CloudWatchReplay};
pub use context::{BandCache, BandSource, Memo, Selection, SelectionKey, SeriesContext};
pub(crate) use plan::empty_span;
pub use plan::{evaluation_span, plan, Job, JobInputs, SeriesGroup};
pub use prepare::{prepare, PreparedCondition, ReplayBounds};
pub use prometheus::{
    prometheus_present, prometheus_replay, run_prometheus, BandIndexing, PreparedPrometheus,
    Presence, PrometheusReplay,
};
pub use result::{describe_condition, BacktestResult, Rfc3339};

/// Which engines to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engines {
    pub cloudwatch: bool,
    pub prometheus: bool,
}

impl Engines {
    /// `cloudwatch`, `prometheus` or `both` (the `--engine` values).
    pub fn from_name(name: &str) -> Engines {
        Engines {
            cloudwatch: name != "prometheus",
            prometheus: name != "cloudwatch",
        }
    }
}

impl Default for Engines {
    fn default() -> Self {
        Engines {
            cloudwatch: true,
            prometheus: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct BacktestOptions {
    /// Only these environments (all when empty).
    pub envs: Vec<String>,
    /// Only these alerts (all when empty).
    pub alerts: Vec<String>,
    /// Use this data file for every alert instead of the spec's `backtest.data`.
    pub data: Option<PathBuf>,
    /// Incident windows for every alert, instead of the spec's `backtest.incidents`.
    pub incidents: Option<PathBuf>,
    /// Only series whose name contains this text, for every alert, instead of the spec's
    /// `backtest.series` (`--series`: one series of a labelled file of many, tuned on its own).
    pub series: Option<String>,
    /// `--grace` and `--lead`: over every alert's `backtest.grace` and `backtest.lead`.
    pub grace_ms: Option<i64>,
    pub lead_ms: Option<i64>,
    /// `--max-delay`: over every alert's `backtest.max_delay`.
    pub max_delay_ms: Option<i64>,
    pub engines: Engines,
    pub flap: FlapRule,
    /// The evaluation span (`--start`/`--end`), over the spec's `backtest.start`/`end` and the
    /// data's first and last rows.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only the series of this shard (`--shard i/n`).
    pub shard: Option<crate::shard::Shard>,
    /// The data's time column holds row numbers this far apart (`--row-step`,
    /// [`crate::series::rows`]): row `n` is read as 2000-01-01 + `n` × step, and so are the
    /// incidents flagged on such rows.
    pub row_step_ms: Option<i64>,
    /// Plan only the alerts reading this batch's file, over the batch's series instead of the whole
    /// file (streaming a file larger than memory: `fleet`).
    pub batch: Option<Batch>,
}

/// Some whole series of one data file: what a streamed batch hands to [`plan`].
#[derive(Debug, Clone)]
pub struct Batch {
    pub path: PathBuf,
    pub series: std::sync::Arc<Vec<Series>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("alert `{alert}`, env `{env}`: {source}")]
    Data {
        alert: String,
        env: String,
        path: PathBuf,
        source: Box<LoadError>,
    },
    /// The `--incidents` file, which every alert reads.
    #[error("`--incidents`: {source}")]
    Incidents {
        path: PathBuf,
        source: Box<LoadError>,
    },
    /// A streamed batch of a file read with `--row-step` that holds a time, not a row number.
    #[error("{source}")]
    Batch {
        path: PathBuf,
        source: Box<LoadError>,
    },
    #[error("writing the results' spill file: {0}")]
    Spill(String),
    #[error("alert `{alert}`, env `{env}`: no backtest data\nhint: set `backtest: {{data: ...}}` in the spec or pass `--data FILE`")]
    NoData { alert: String, env: String },
    #[error("alert `{alert}`, env `{env}`: no series in `{}` matches `{filter}`", path.display())]
    NoMatchingSeries {
        alert: String,
        env: String,
        path: PathBuf,
        filter: String,
    },
    #[error("alert `{alert}`, env `{env}`: `{}` holds no lower and upper band series\nhint: save the `ANOMALY_DETECTION_BAND` results of GetMetricData; their labels name the lower and upper bounds", path.display())]
    ReplayBand {
        alert: String,
        env: String,
        path: PathBuf,
    },
    #[error("nothing to backtest: no alert matches the chosen alerts and environments")]
    Nothing,
    #[error("alert `{alert}`, env `{env}`: nothing to evaluate: the span would run from {start} to {end}, which is before it starts (series `{series}`)\nhint: put `--start`/`--end` (or `backtest.start`/`end`) inside the data")]
    EmptySpan {
        alert: String,
        env: String,
        series: String,
        start: String,
        end: String,
    },
    #[error("alert `{alert}`, env `{env}`, series `{series}`: the evaluation span is too long: {detail}\nhint: set `--start`/`--end` (or `backtest.start`/`end`) to a shorter span, or check the data's timestamps")]
    SpanTooLarge {
        alert: String,
        env: String,
        series: String,
        detail: String,
    },
}

/// Everything a backtest run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub results: Vec<BacktestResult>,
}

/// Whether an alert whose `backtest.series` is `filter` runs on the series `name` of its data
/// file: names containing the filter, never the sides of a fetched band (they sit in the same file
/// as the metric when `fetch cloudwatch --band` saved them).
pub fn selects(filter: Option<&str>, name: &str) -> bool {
    !band::replay::is_band_series(name) && filter.is_none_or(|f| name.contains(f))
}

/// The series filter of `alert` under `opts`: `--series`, else the spec's `backtest.series`.
pub fn series_filter<'a>(alert: &'a ResolvedAlert, opts: &'a BacktestOptions) -> Option<&'a str> {
    opts.series
        .as_deref()
        .or_else(|| alert.backtest.as_ref().and_then(|b| b.series.as_deref()))
}

/// The (alert, env) pairs of `sets` that `opts` selects.
pub fn selected_alerts<'a>(sets: &'a [AlertSet], opts: &BacktestOptions) -> Vec<&'a ResolvedAlert> {
    sets.iter()
        .flat_map(|s| &s.alerts)
        .filter(|a| opts.alerts.is_empty() || opts.alerts.contains(&a.name))
        .flat_map(|a| a.per_env.values())
        .filter(|r| opts.envs.is_empty() || opts.envs.contains(&r.env))
        .collect()
}

/// Run every matching (alert, env) of `sets`.
pub fn run(sets: &[AlertSet], opts: &BacktestOptions) -> Result<Report, BacktestError> {
    let groups = plan(&selected_alerts(sets, opts), opts)?;
    let mut results = replay_groups(&groups, opts);
    results.sort_by(|a, b| {
        (&a.alert, &a.env, a.engine, &a.series).cmp(&(&b.alert, &b.env, b.engine, &b.series))
    });
    Ok(Report { results })
}

/// Every job of `groups`, series in parallel, in no particular order. Every alert reading one
/// series shares its resampled grids (see `SeriesContext`).
pub fn replay_groups(groups: &[SeriesGroup], opts: &BacktestOptions) -> Vec<BacktestResult> {
    let progress = crate::progress::Progress::new(groups.len() as u64, "backtest: series")
        .shown_unless(opts.batch.is_some());
    let results = groups
        .par_iter()
        .flat_map_iter(|group| {
            progress.advance(1);
            let ctx = SeriesContext::new(group.series());
            group
                .jobs
                .iter()
                .flat_map(|job| replay(job.alert, &ctx, &job.inputs, opts.engines, Detail::Full))
                .collect::<Vec<_>>()
        })
        .collect();
    progress.finish();
    results
}

/// Metric history from before 2000 (CloudWatch began in 2009, Prometheus in 2012): what small
/// integers read as epoch seconds give, when a file's time column holds row numbers (1, 2, 3, …);
/// or from after 2100: what a number in another unit or spelling than the time column's magnitude
/// tells gives. Replayed as written, such a series says nothing of why it looks odd (a few minutes
/// long and in its warm-up, or steps of milliseconds), so the replay warns.
fn implausible_start(series: &Series) -> Option<String> {
    const YEAR_2000_MS: i64 = crate::series::rows::ROW_ZERO_MS;
    const YEAR_2100_MS: i64 = 4_102_444_800_000;
    let first = *series.timestamps.first()?;
    // Checked on every replay (tune replays each setting): the text only when there is a warning.
    let why = if first < YEAR_2000_MS {
        "long before any CloudWatch or Prometheus history: if its time column holds row numbers, pass how far apart the rows are (`--row-step 1h`) or give times (RFC 3339 or epoch seconds)"
    } else if first >= YEAR_2100_MS {
        "far in the future: if its time column holds another unit or spelling, give times (RFC 3339 or epoch seconds)"
    } else {
        return None;
    };
    Some(format!(
        "the data starts at {}, {why}",
        crate::series::time::format_rfc3339(first)
    ))
}

/// How long before and after a point label (a zero-length incident window) an episode of `alert`
/// on `engine` that saw the point may start ([`score::Reach::viewing`]). CloudWatch stamps an
/// evaluation with the start of its newest datapoint's period, so the evaluation whose newest
/// period holds the point starts up to a period before it, and the point stays among the N
/// datapoints of the N − 1 evaluations after it. A Prometheus rule first sees the point at the
/// next evaluation (a `promql` band's smoothing keeps it in the compared mean for `smooth`) and
/// fires `for` later.
fn point_view(alert: &ResolvedAlert, engine: &str) -> (i64, i64) {
    if engine == "cloudwatch" {
        let period = alert.cloudwatch.as_ref().map_or(0, |m| m.period_s * 1000);
        let later = alert.cw.evaluation_periods.saturating_sub(1) as i64;
        return ((period - 1).max(0), later.saturating_mul(period));
    }
    let smooth = match &alert.condition {
        crate::spec::Condition::Anomaly {
            model: crate::spec::AnomalyModel::Promql(m),
            ..
        } => m.smooth_ms,
        _ => 0,
    };
    (0, smooth + alert.prom.interval_ms + alert.prom.for_ms)
}

/// `reach` (a job's lead and grace) with the view `alert` on `engine` has of a point label: what
/// every replay scores with, and what tune checks an incidents file against.
pub(crate) fn reach_on(alert: &ResolvedAlert, engine: &str, reach: score::Reach) -> score::Reach {
    let (before, after) = point_view(alert, engine);
    reach.viewing(before, after)
}

/// Replay `alert` over the series of `ctx` with the engines asked for, and score it against the
/// series' incidents: the one code path behind every figure `backtest` and `tune` report. Under
/// [`Detail::Episodes`] (what tune asks for) the results carry no transitions and count no
/// notifications; every other figure is the same.
pub fn replay(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    inputs: &JobInputs,
    engines: Engines,
    detail: Detail,
) -> Vec<BacktestResult> {
    let replay = inputs.replay.as_deref();
    let mut out = Vec::new();
    if engines.cloudwatch {
        out.extend(run_cloudwatch(alert, ctx, inputs.span, replay, detail));
    }
    if engines.prometheus {
        out.extend(run_prometheus(alert, ctx, inputs.span, replay, detail));
    }
    if let Some(all) = &inputs.incidents {
        for r in &mut out {
            let reach = reach_on(alert, r.engine, inputs.reach);
            // Only incidents the evaluated span can judge; the others are counted apart, never as
            // missed.
            let (list, outside): (Vec<Incident>, Vec<Incident>) = all
                .iter()
                .partition(|i| score::judged_in(i, inputs.span, reach));
            let mut scored = score::match_incidents(
                &r.episodes,
                &list,
                reach,
                r.timeline.horizon(),
                r.timeline.covered_ms(),
            );
            scored.outside_span = outside.len();
            if reach.grace_ms.is_none() {
                scored.point_labels = list.iter().filter(|i| i.is_points()).count();
            }
            let band_from = r
                .timeline
                .first_eval
                .filter(|_| r.warm_up_evaluations > 0)
                .map(|first| first + r.warm_up_evaluations as i64 * r.timeline.step_ms);
            scored.in_warm_up = score::count_in_warm_up(&list, reach, band_from);
            r.incidents = Some(scored);
        }
    }
    out
}
