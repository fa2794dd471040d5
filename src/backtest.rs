//! Backtests: replay every resolved alert over its history, per environment, engine and series.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use crate::band::promql::PromqlModel;
use crate::band::{self, Band, Rule};
use crate::engine::cloudwatch::{self, Breach};
use crate::engine::mofn::Classified;
use crate::engine::prometheus::{self, PrometheusConfig, PrometheusVersion};
use crate::engine::{Detail, Episode, Timeline, Transition};
use crate::notify;
use crate::score::{self, FlapRule, Incident, IncidentScore, NoiseScore};
use crate::series::median_step_ms;
use crate::series::time::{format_duration, format_rfc3339};
use crate::series::{self, resample_span, LoadError, Samples, Series, Statistic};
use crate::spec::{AlertSet, AnomalyModel, Condition, ResolvedAlert};

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
    pub engines: Engines,
    pub flap: FlapRule,
    /// The evaluation span (`--start`/`--end`), over the spec's `backtest.start`/`end` and the
    /// data's first and last rows.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only the series of this shard (`--shard i/n`).
    pub shard: Option<crate::shard::Shard>,
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

/// The evaluation span `[start, end]` (UTC ms, both evaluated) of one alert over one series: what
/// the user set, else the series' first and last rows. `None` when there is nothing to evaluate.
pub fn evaluation_span(
    alert: &ResolvedAlert,
    raw: &Series,
    opts: &BacktestOptions,
) -> Option<(i64, i64)> {
    let spec = alert.backtest.as_ref();
    let rows = raw.row_span();
    let start = opts
        .start_ms
        .or_else(|| spec.and_then(|b| b.start_ms))
        .or(rows.map(|r| r.0))?;
    let end = opts
        .end_ms
        .or_else(|| spec.and_then(|b| b.end_ms))
        .or(rows.map(|r| r.1))?;
    (start <= end).then_some((start, end))
}

/// Refuse a span that would make an engine allocate more than [`series::MAX_PERIODS`] evaluations.
fn check_span(alert: &ResolvedAlert, series: &str, span: (i64, i64)) -> Result<(), BacktestError> {
    let mut counts = Vec::new();
    if let Some(cw) = &alert.cloudwatch {
        counts.push((
            format!("period {}", format_duration(cw.period_s * 1000)),
            series::period_count(cw.period_s * 1000, span.0, span.1),
        ));
    }
    if alert.prometheus.is_some() {
        counts.push((
            format!("interval {}", format_duration(alert.prom.interval_ms)),
            alert.prom.eval_count(span.0, span.1),
        ));
    }
    match counts.into_iter().find(|(_, n)| *n > series::MAX_PERIODS) {
        Some((step, n)) => Err(BacktestError::SpanTooLarge {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            series: series.to_string(),
            detail: format!(
                "{} to {} at {step} is {n} evaluations; the limit is {}",
                format_rfc3339(span.0),
                format_rfc3339(span.1),
                series::MAX_PERIODS
            ),
        }),
        None => Ok(()),
    }
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
    #[error("alert `{alert}`, env `{env}`, series `{series}`: the evaluation span is too long: {detail}\nhint: set `--start`/`--end` (or `backtest.start`/`end`) to a shorter span, or check the data's timestamps")]
    SpanTooLarge {
        alert: String,
        env: String,
        series: String,
        detail: String,
    },
}

/// One (alert, env, engine, series) result. Field names are a contract (see the README).
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    pub series: String,
    pub episodes: Rfc3339<Vec<Episode>>,
    pub transitions: Rfc3339<Vec<Transition>>,
    pub notifications: usize,
    pub alerts_per_week: f64,
    /// Exact Poisson 95 % interval of `alerts_per_week` (a few weeks of history are a small sample).
    pub alerts_per_week_ci: [f64; 2],
    pub time_in_alarm_s: f64,
    pub time_in_alarm_ratio: f64,
    pub flaps: usize,
    pub longest_episode_s: f64,
    pub covered_s: f64,
    pub evaluations: usize,
    /// Evaluations before the band model had enough history (never breaching).
    pub warm_up_evaluations: usize,
    pub condition: String,
    /// What the seasonal model detected at its last fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seasonality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incidents: Option<IncidentScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The evaluation span and step (its episodes and transitions are the fields above).
    #[serde(skip)]
    pub timeline: Timeline,
}

/// Engine output serialised with RFC 3339 UTC times (formatted only when written, so backtests
/// and benchmarks that never print pay nothing for it).
#[derive(Debug, Clone)]
pub struct Rfc3339<T>(pub T);

impl<T> std::ops::Deref for Rfc3339<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Serialize for Rfc3339<Vec<Episode>> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(Serialize)]
        struct Out {
            start: String,
            end: Option<String>,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for e in &self.0 {
            seq.serialize_element(&Out {
                start: format_rfc3339(e.start),
                end: e.end.map(format_rfc3339),
            })?;
        }
        seq.end()
    }
}

impl Serialize for Rfc3339<Vec<Transition>> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(Serialize)]
        struct Out {
            at: String,
            to: &'static str,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for t in &self.0 {
            seq.serialize_element(&Out {
                at: format_rfc3339(t.at),
                to: t.to,
            })?;
        }
        seq.end()
    }
}

impl BacktestResult {
    /// The result of `timeline` (whose episodes and transitions move into the result).
    fn new(
        alert: &ResolvedAlert,
        engine: &'static str,
        series: &str,
        mut timeline: Timeline,
        noise: NoiseScore,
        notifications: usize,
    ) -> BacktestResult {
        BacktestResult {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            engine,
            series: series.to_string(),
            episodes: Rfc3339(std::mem::take(&mut timeline.episodes)),
            transitions: Rfc3339(std::mem::take(&mut timeline.transitions)),
            notifications,
            alerts_per_week: noise.alerts_per_week,
            alerts_per_week_ci: score::rate::per_week_interval(
                noise.episodes,
                noise.covered_s * 1000.0,
            ),
            time_in_alarm_s: noise.time_in_alarm_s,
            time_in_alarm_ratio: noise.time_in_alarm_ratio,
            flaps: noise.flaps,
            longest_episode_s: noise.longest_episode_s,
            covered_s: noise.covered_s,
            evaluations: 0,
            warm_up_evaluations: 0,
            condition: describe_condition(&alert.condition),
            seasonality: None,
            incidents: None,
            warnings: Vec::new(),
            timeline,
        }
    }
}

/// A short human description of a condition: `> 900`, `p99 × 1.2`, `seasonal k=3 above`, and a
/// `promql` band's window, with its season and smoothing when set (`promql k=2 above window=3h
/// season=1d`): they change what the band is, as much as `k` does.
pub fn describe_condition(c: &Condition) -> String {
    match c {
        Condition::Threshold { op, value } => format!("{} {value}", op.symbol()),
        Condition::Present => "present".into(),
        Condition::Percentile { op, model } => {
            format!("{} p{} × {}", op.symbol(), model.percentile, model.factor)
        }
        Condition::Anomaly {
            model: AnomalyModel::Promql(m),
            k,
            direction,
        } => {
            let span = crate::series::time::format_prometheus_duration;
            let mut text = format!("promql k={k} {direction} window={}", span(m.window_ms));
            for (key, ms) in [("season", m.season_ms), ("smooth", m.smooth_ms)] {
                if ms > 0 {
                    text.push_str(&format!(" {key}={}", span(ms)));
                }
            }
            text
        }
        Condition::Anomaly {
            model,
            k,
            direction,
        } => format!("{} k={k} {direction}", model.name()),
    }
}

/// A condition's band over one series plus the rule to compare with it.
pub struct PreparedCondition {
    pub band: Band,
    pub rule: Rule,
    pub seasonality: Option<String>,
    /// Points before the band's first value (counted once here: every setting replayed over the
    /// band reports it, and a seasonal band's warm-up is a day of points).
    pub warm_up_points: usize,
}

impl PreparedCondition {
    pub fn new(band: Band, rule: Rule, seasonality: Option<String>) -> PreparedCondition {
        PreparedCondition {
            warm_up_points: band.warm_up_points(),
            band,
            rule,
            seasonality,
        }
    }
}

/// A real CloudWatch band (lower, upper) for `replay` conditions.
pub type ReplayBounds = (Series, Series);

/// Compute the band of `condition` over `(timestamps, values)` sampled every `step_ms`.
/// `replay` holds the fetched band when the condition is a `replay` anomaly.
pub fn prepare(
    condition: &Condition,
    timestamps: &[i64],
    values: &[f64],
    step_ms: i64,
    replay: Option<&ReplayBounds>,
) -> PreparedCondition {
    let static_rule = |op: &crate::band::Comparison| Rule {
        k: 0.0,
        direction: op.direction(),
        inclusive: op.inclusive(),
        floor: None,
    };
    match condition {
        // Never compared: the series being returned is the condition (`prometheus_present`).
        Condition::Present => PreparedCondition::new(
            Band::constant(values.len(), f64::NAN),
            Rule {
                k: 0.0,
                direction: crate::band::Direction::Above,
                inclusive: false,
                floor: None,
            },
            None,
        ),
        Condition::Threshold { op, value } => {
            PreparedCondition::new(Band::constant(values.len(), *value), static_rule(op), None)
        }
        Condition::Percentile { op, model } => PreparedCondition::new(
            band::percentile::band(timestamps, values, model),
            static_rule(op),
            None,
        ),
        Condition::Anomaly {
            model,
            k,
            direction,
        } => {
            let rule = Rule {
                k: *k,
                direction: *direction,
                inclusive: false,
                floor: None,
            };
            match model {
                AnomalyModel::Seasonal(m) => {
                    let out = band::seasonal::band(timestamps, values, step_ms, m);
                    // CloudWatch clamps its band to the metric's logical range: a never-negative
                    // metric cannot breach below zero. (Replayed bands are already clamped by
                    // CloudWatch; PromQL has no clamp.)
                    let non_negative = values.iter().all(|v| v.is_nan() || *v >= 0.0);
                    PreparedCondition::new(
                        out.band,
                        Rule {
                            floor: non_negative.then_some(0.0),
                            ..rule
                        },
                        out.seasonality.map(|s| s.to_string()),
                    )
                }
                AnomalyModel::Replay(m) => {
                    let band = match replay {
                        Some((lower, upper)) => {
                            band::replay::band(timestamps, lower, upper, m.k0, step_ms)
                        }
                        None => Band {
                            center: vec![f64::NAN; values.len()],
                            spread: vec![f64::NAN; values.len()],
                        },
                    };
                    PreparedCondition::new(band, rule, None)
                }
                AnomalyModel::Promql(m) => PreparedCondition::new(
                    band::promql::band(timestamps, values, step_ms, m),
                    rule,
                    None,
                ),
            }
        }
    }
}

/// Work shared by every alert replayed over one series: the median step, resampled grids per
/// (period, statistic) and instant-query selections per rule timing. Ten alerts on one series
/// resample it once.
pub struct SeriesContext<'a> {
    pub raw: &'a Series,
    step_ms: Option<i64>,
    grids: Memo<GridKey, Series>,
    selections: Memo<SelectionKey, Selection>,
    /// Prometheus bands (over raw samples or recorded values).
    bands: BandCache,
    /// CloudWatch bands: per grid and condition with `k` left out ([`band_condition`]).
    cloudwatch_bands: Memo<(GridKey, Condition), PreparedCondition>,
    /// Classifications per CloudWatch band (its address in `cloudwatch_bands`) and rule.
    breaches: Memo<(usize, Rule), Classified>,
    /// Prometheus presence per selection (its key), condition and data step.
    presences: Memo<(SelectionKey, Condition, i64), Presence>,
}

/// A CloudWatch period grid: period (ms), statistic, evaluation span.
type GridKey = (i64, Statistic, (i64, i64));

/// Values computed once per series and key, shared by every alert setting replayed over it.
///
/// A series holds a handful of keys (grids, bands, one classification per `k`), so they are kept
/// in a list and compared by value: a tuning run asks once per setting and series, and building,
/// formatting and hashing a string key each time cost more than the list's comparisons.
pub struct Memo<K, T>(RefCell<Vec<(K, Rc<T>)>>);

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Memo(RefCell::new(Vec::new()))
    }
}

impl<K: PartialEq, T> Memo<K, T> {
    /// The value of `key`, computed by `f` the first time.
    pub fn get(&self, key: K, f: impl FnOnce() -> T) -> Rc<T> {
        if let Some((_, b)) = self.0.borrow().iter().find(|(k, _)| *k == key) {
            return b.clone();
        }
        let b = Rc::new(f());
        self.0.borrow_mut().push((key, b.clone()));
        b
    }
}

/// Prometheus work already done over one series. Tuning tries many settings on one series; each
/// band is fitted once and each smoothing computed once.
#[derive(Default)]
pub struct BandCache {
    /// Bands by what they were computed over (the selection, `None` for a call without one, and
    /// the samples or recorded values) and the condition without `k` or `smooth`
    /// ([`band_condition`]: a new `k` is one comparison pass over the same band).
    bands: Memo<(Option<SelectionKey>, BandSource, Condition), PreparedCondition>,
    /// What a `promql` rule compares with its band (the recorded value, or its trailing mean with
    /// `smooth`), by selection, `smooth` and range boundary rule: the same for every `k` and window.
    compared: Memo<(Option<SelectionKey>, i64, PrometheusVersion), Vec<f64>>,
}

/// What a Prometheus rule's band is computed over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BandSource {
    /// The recorded values at each evaluation (a `promql` band).
    Recorded { interval_ms: i64 },
    /// The raw samples, `step_ms` apart (every other condition).
    Samples { step_ms: i64 },
}

/// What makes a condition's band: the condition with `k` left out (set to 0), and for a `promql`
/// band `smooth` too (it changes what is compared with the band, not the band).
fn band_condition(condition: &Condition) -> Condition {
    match condition {
        Condition::Anomaly {
            model, direction, ..
        } => Condition::Anomaly {
            model: match model {
                AnomalyModel::Promql(m) => AnomalyModel::Promql(PromqlModel { smooth_ms: 0, ..*m }),
                other => other.clone(),
            },
            k: 0.0,
            direction: *direction,
        },
        other => other.clone(),
    }
}

/// The comparison rule of `condition` over a cached band: the cached rule (side, strictness, floor)
/// with this condition's own `k`.
fn rule_of(condition: &Condition, cached: &Rule) -> Rule {
    match condition {
        Condition::Anomaly { k, .. } => Rule { k: *k, ..*cached },
        _ => *cached,
    }
}

/// What a rule's evaluations and selected samples depend on: the span and the rule timing (not
/// `for`, not the condition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionKey {
    span: (i64, i64),
    interval_ms: i64,
    phase_ms: i64,
    lookback_ms: i64,
    version: prometheus::PrometheusVersion,
}

impl SelectionKey {
    fn new(cfg: &PrometheusConfig, span: (i64, i64)) -> SelectionKey {
        SelectionKey {
            span,
            interval_ms: cfg.interval_ms,
            phase_ms: cfg.phase_ms,
            lookback_ms: cfg.lookback_ms,
            version: cfg.version,
        }
    }
}

/// Evaluation times and the sample each instant query selects.
pub type Selection = (Vec<i64>, Vec<Option<usize>>);

impl<'a> SeriesContext<'a> {
    pub fn new(raw: &'a Series) -> SeriesContext<'a> {
        SeriesContext {
            raw,
            step_ms: median_step_ms(raw),
            grids: Memo::default(),
            selections: Memo::default(),
            bands: BandCache::default(),
            cloudwatch_bands: Memo::default(),
            breaches: Memo::default(),
            presences: Memo::default(),
        }
    }

    /// The series on the alarm's period grid over `span` (checked by [`check_span`]).
    fn grid(&self, period_ms: i64, stat: Statistic, span: (i64, i64)) -> Rc<Series> {
        self.grids.get((period_ms, stat, span), || {
            resample_span(self.raw, period_ms, stat, span.0, span.1)
        })
    }

    fn selection(&self, cfg: &PrometheusConfig, span: (i64, i64)) -> Rc<Selection> {
        self.selections.get(SelectionKey::new(cfg, span), || {
            let eval_times = cfg.eval_times(span.0, span.1);
            let selected = prometheus::instant_indices(&self.raw.samples(), &eval_times, cfg);
            (eval_times, selected)
        })
    }
}

/// Replay the CloudWatch alarm of `alert` over one raw series.
pub fn run_cloudwatch(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<BacktestResult> {
    cloudwatch_replay(alert, ctx, span, replay, detail).map(|r| r.result)
}

/// A CloudWatch replay with what it was computed from: the period grid, the band and rule the
/// datapoints were compared with, and the classification (what a chart draws).
pub struct CloudWatchReplay {
    pub grid: Rc<Series>,
    pub prepared: Rc<PreparedCondition>,
    pub rule: Rule,
    pub breach: Rc<Classified>,
    /// `DatapointsToAlarm` and `EvaluationPeriods`.
    pub m_of_n: (usize, usize),
    pub result: BacktestResult,
}

/// [`run_cloudwatch`], keeping the grid, band and classification.
pub fn cloudwatch_replay(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<CloudWatchReplay> {
    let metric = alert.cloudwatch.as_ref()?;
    let period_ms = metric.period_s * 1000;
    let grid = ctx.grid(period_ms, metric.stat, span);
    let key = (
        (period_ms, metric.stat, span),
        band_condition(&alert.condition),
    );
    let prepared = ctx.cloudwatch_bands.get(key, || {
        prepare(
            &alert.condition,
            &grid.timestamps,
            &grid.values,
            period_ms,
            replay,
        )
    });
    let rule = rule_of(&alert.condition, &prepared.rule);
    // One classification per band and rule: M-of-N settings of one k share it.
    let band_address = Rc::as_ptr(&prepared) as usize;
    let breach = ctx.breaches.get((band_address, rule), || {
        band::classified(&grid.values, &prepared.band, &rule)
    });
    let timeline = cloudwatch::evaluate_classified(
        &breach,
        grid.timestamps.first().copied().unwrap_or(0),
        period_ms,
        &alert.cw,
        detail,
    );
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = match detail {
        Detail::Full => notify::cloudwatch_notifications(&timeline.transitions, &alert.actions),
        Detail::Episodes => 0,
    };
    let mut result = BacktestResult::new(
        alert,
        "cloudwatch",
        &ctx.raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = breach.len();
    result.warm_up_evaluations = prepared.warm_up_points;
    result.seasonality = prepared.seasonality.clone();
    if let Some(step) = ctx.step_ms.filter(|s| *s > period_ms) {
        result.warnings.push(format!(
            "data step {} is coarser than the alarm period {}: most periods have no datapoint",
            format_duration(step),
            format_duration(period_ms)
        ));
    }
    Some(CloudWatchReplay {
        grid,
        prepared,
        rule,
        breach,
        m_of_n: (alert.cw.datapoints_to_alarm, alert.cw.evaluation_periods),
        result,
    })
}

/// Whether the expression returned the series at each evaluation, and the band and rule that
/// decided it: computed once per series, selection and condition, and shared by every `for` and
/// `keep_firing_for` replayed over them.
pub struct Presence {
    pub present: Vec<bool>,
    pub prepared: PreparedPrometheus,
}

/// What the Prometheus engine needs besides the evaluation times, and what a chart draws.
pub struct PreparedPrometheus {
    pub warm_up_evaluations: usize,
    pub seasonality: Option<String>,
    /// The band the rule compared with and the rule (its `k`, side and strictness).
    pub prepared: Rc<PreparedCondition>,
    pub rule: Rule,
    /// Where the band's points lie: per evaluation (a `promql` band, over the recorded values) or
    /// per raw sample (every other condition).
    pub indexing: BandIndexing,
}

/// How a Prometheus rule's band lines up with its evaluations.
pub enum BandIndexing {
    /// Point `k` of the band belongs to evaluation `k`; `compared[k]` is the value the band
    /// compared there (NaN: the series was absent).
    Evaluations { compared: Rc<Vec<f64>> },
    /// Point `i` belongs to raw sample `i`; an evaluation compares the sample its instant query
    /// selected.
    Samples,
}

/// Whether the alert's expression returns the series at each evaluation.
///
/// The alert compares the recorded value (the instant value of the metric expression at the
/// evaluation; a NaN-valued sample records NaN, which compares false). For a `promql` band that
/// recorded series is also what the band's recording rules average, so the band is computed over
/// it; every other condition classifies the sample the instant query selected.
pub fn prometheus_present(
    alert: &ResolvedAlert,
    samples: &Samples,
    step_ms: i64,
    eval_times: &[i64],
    selected: &[Option<usize>],
    replay: Option<&ReplayBounds>,
) -> (Vec<bool>, PreparedPrometheus) {
    prometheus_present_cached(
        alert,
        samples,
        step_ms,
        eval_times,
        selected,
        replay,
        &BandCache::default(),
        None,
    )
}

/// [`prometheus_present`] with bands kept in `bands`, keyed by `scope` (the selection: the same
/// condition over other evaluations is another band), what the band is computed over and the
/// condition without `k`.
#[allow(clippy::too_many_arguments)]
fn prometheus_present_cached(
    alert: &ResolvedAlert,
    samples: &Samples,
    step_ms: i64,
    eval_times: &[i64],
    selected: &[Option<usize>],
    replay: Option<&ReplayBounds>,
    bands: &BandCache,
    scope: Option<SelectionKey>,
) -> (Vec<bool>, PreparedPrometheus) {
    if let Condition::Anomaly {
        model: AnomalyModel::Promql(m),
        k,
        direction,
    } = &alert.condition
    {
        let values: Vec<f64> = selected
            .iter()
            .map(|s| s.map_or(f64::NAN, |i| samples.values[i]))
            .collect();
        let present: Vec<bool> = selected.iter().map(Option::is_some).collect();
        let recorded = band::promql::Recorded {
            timestamps: eval_times,
            values: &values,
            present: &present,
        };
        let source = BandSource::Recorded {
            interval_ms: alert.prom.interval_ms,
        };
        let band_rule = Rule {
            k: 0.0,
            direction: *direction,
            inclusive: false,
            floor: None,
        };
        let unseasoned = || {
            let model = PromqlModel { season_ms: 0, ..*m };
            let condition = Condition::Anomaly {
                model: AnomalyModel::Promql(model),
                k: *k,
                direction: *direction,
            };
            bands
                .bands
                .get((scope, source, band_condition(&condition)), || {
                    PreparedCondition::new(
                        band::promql::band_recorded(&recorded, alert.prom.interval_ms, &model),
                        band_rule,
                        None,
                    )
                })
        };
        let prepared = if m.season_ms == 0 {
            unseasoned()
        } else {
            // The window one season earlier is the unseasoned band's, shifted: fitted once for
            // both.
            let key = (scope, source, band_condition(&alert.condition));
            bands.bands.get(key, || {
                PreparedCondition::new(
                    band::promql::seasonal_band_from(
                        &unseasoned().band,
                        &recorded,
                        alert.prom.interval_ms,
                        m,
                    ),
                    band_rule,
                    None,
                )
            })
        };
        let band = &prepared.band;
        let compared = bands.compared.get((scope, m.smooth_ms, m.version), || {
            band::promql::compared_recorded(&recorded, m)
        });
        let rule = Rule {
            k: *k,
            direction: *direction,
            inclusive: false,
            floor: None,
        };
        let breach = band::classified(&compared, band, &rule);
        let present = breach.iter().map(|b| b == Breach::Breaching).collect();
        return (
            present,
            PreparedPrometheus {
                warm_up_evaluations: prepared.warm_up_points,
                seasonality: None,
                prepared: prepared.clone(),
                rule,
                indexing: BandIndexing::Evaluations { compared },
            },
        );
    }
    let (timestamps, values) = (samples.timestamps, samples.values);
    let key = (
        scope,
        BandSource::Samples { step_ms },
        band_condition(&alert.condition),
    );
    if alert.condition == Condition::Present {
        // The expression returning the series is the whole condition: the instant query selected a
        // sample (a NaN sample included: the series is returned with the value NaN).
        let prepared = bands.bands.get(key, || {
            prepare(&alert.condition, timestamps, values, step_ms, replay)
        });
        return (
            selected.iter().map(Option::is_some).collect(),
            PreparedPrometheus {
                warm_up_evaluations: 0,
                seasonality: None,
                rule: prepared.rule,
                prepared,
                indexing: BandIndexing::Samples,
            },
        );
    }
    let prepared = bands.bands.get(key, || {
        prepare(&alert.condition, timestamps, values, step_ms, replay)
    });
    let rule = rule_of(&alert.condition, &prepared.rule);
    let breach = band::classified(values, &prepared.band, &rule);
    let present = selected
        .iter()
        .map(|s| s.is_some_and(|i| breach.get(i) == Breach::Breaching))
        .collect();
    let warm_until = timestamps.get(prepared.warm_up_points).copied();
    let warm_up_evaluations = match warm_until {
        Some(t) => eval_times.partition_point(|&e| e < t),
        None => eval_times.len(),
    };
    (
        present,
        PreparedPrometheus {
            warm_up_evaluations,
            seasonality: prepared.seasonality.clone(),
            prepared: prepared.clone(),
            rule,
            indexing: BandIndexing::Samples,
        },
    )
}

/// Replay the Prometheus rule of `alert` over one raw series (the series the rule's expression
/// returns), with Alertmanager notifications.
pub fn run_prometheus(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<BacktestResult> {
    prometheus_replay(alert, ctx, span, replay, detail).map(|r| r.result)
}

/// A Prometheus replay with what it was computed from: the evaluation times, the sample each
/// selected, the band and rule, and whether the expression returned the series (what a chart
/// draws).
pub struct PrometheusReplay {
    pub selection: Rc<Selection>,
    pub presence: Rc<Presence>,
    /// The rule's timing (interval, `for`, `keep_firing_for`).
    pub config: PrometheusConfig,
    pub result: BacktestResult,
}

/// [`run_prometheus`], keeping the evaluations, band and classification.
pub fn prometheus_replay(
    alert: &ResolvedAlert,
    ctx: &SeriesContext,
    span: (i64, i64),
    replay: Option<&ReplayBounds>,
    detail: Detail,
) -> Option<PrometheusReplay> {
    alert.prometheus.as_ref()?;
    let raw = ctx.raw;
    let step = ctx.step_ms.unwrap_or(alert.prom.interval_ms);
    let selection = ctx.selection(&alert.prom, span);
    let (eval_times, selected) = (&selection.0, &selection.1);
    // The recorded values are those of the selection.
    let scope = SelectionKey::new(&alert.prom, span);
    let key = (scope, alert.condition.clone(), step);
    let presence = ctx.presences.get(key, || {
        let (present, prepared) = prometheus_present_cached(
            alert,
            &raw.samples(),
            step,
            eval_times,
            selected,
            replay,
            &ctx.bands,
            Some(scope),
        );
        Presence { present, prepared }
    });
    let (present, prepared) = (&presence.present, &presence.prepared);
    let timeline = prometheus::evaluate(present, eval_times, &alert.prom, detail);
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = match detail {
        Detail::Full => notify::alertmanager_notifications(
            &timeline.episodes,
            timeline.horizon(),
            &alert.alertmanager,
        ),
        Detail::Episodes => 0,
    };
    let mut result = BacktestResult::new(
        alert,
        "prometheus",
        &raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = eval_times.len();
    result.warm_up_evaluations = prepared.warm_up_evaluations;
    result.seasonality = prepared.seasonality.clone();
    if step > alert.prom.lookback_ms {
        result.warnings.push(format!(
            "data step {} is longer than the lookback delta {}: the series is absent between samples",
            format_duration(step),
            format_duration(alert.prom.lookback_ms)
        ));
    }
    Some(PrometheusReplay {
        selection,
        presence,
        config: alert.prom,
        result,
    })
}

/// Everything a backtest run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub results: Vec<BacktestResult>,
}

/// Loaded files, shared by alerts and envs that read the same data.
type Cache = Mutex<BTreeMap<PathBuf, std::sync::Arc<Vec<Series>>>>;

fn load_cached(
    cache: &Cache,
    path: &Path,
    format: Option<series::Format>,
) -> Result<std::sync::Arc<Vec<Series>>, LoadError> {
    if let Some(s) = cache.lock().expect("cache lock").get(path) {
        return Ok(s.clone());
    }
    let loaded = std::sync::Arc::new(series::load(path, format)?);
    cache
        .lock()
        .expect("cache lock")
        .insert(path.to_path_buf(), loaded.clone());
    Ok(loaded)
}

/// Whether an alert whose `backtest.series` is `filter` runs on the series `name` of its data
/// file: names containing the filter, never the sides of a fetched band (they sit in the same file
/// as the metric when `fetch cloudwatch --band` saved them).
pub fn selects(filter: Option<&str>, name: &str) -> bool {
    !band::replay::is_band_series(name) && filter.is_none_or(|f| name.contains(f))
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
    if let Some(list) = &inputs.incidents {
        let lead = alert.backtest.as_ref().map_or(0, |b| b.lead_ms);
        for r in &mut out {
            let mut scored = score::match_incidents(
                &r.episodes,
                list,
                lead,
                r.timeline.horizon(),
                r.timeline.covered_ms(),
            );
            let band_from = r
                .timeline
                .first_eval
                .filter(|_| r.warm_up_evaluations > 0)
                .map(|first| first + r.warm_up_evaluations as i64 * r.timeline.step_ms);
            scored.in_warm_up = score::count_in_warm_up(list, band_from);
            r.incidents = Some(scored);
        }
    }
    out
}

/// Load every input of `alerts` (sequentially, so the first error is deterministic) and group the
/// alerts by the series they read (a hash map: linear in the number of series).
pub fn plan<'a>(
    alerts: &[&'a ResolvedAlert],
    opts: &BacktestOptions,
) -> Result<Vec<SeriesGroup<'a>>, BacktestError> {
    if alerts.is_empty() {
        return Err(BacktestError::Nothing);
    }
    let mut preloaded = BTreeMap::new();
    if let Some(b) = &opts.batch {
        preloaded.insert(b.path.clone(), b.series.clone());
    }
    let cache: Cache = Mutex::new(preloaded);
    let incidents_override = match &opts.incidents {
        Some(p) => Some(
            score::load_incidents(p).map_err(|source| BacktestError::Data {
                alert: "*".into(),
                env: "*".into(),
                path: p.clone(),
                source: Box::new(source),
            })?,
        ),
        None => None,
    };
    let mut groups: Vec<SeriesGroup> = Vec::new();
    let mut group_index: std::collections::HashMap<(PathBuf, usize), usize> =
        std::collections::HashMap::new();
    for alert in alerts {
        let alert: &'a ResolvedAlert = alert;
        let source = alert.backtest.as_ref();
        let path = opts
            .data
            .clone()
            .or_else(|| source.map(|b| b.data.clone()))
            .ok_or_else(|| BacktestError::NoData {
                alert: alert.name.clone(),
                env: alert.env.clone(),
            })?;
        if opts.batch.as_ref().is_some_and(|b| b.path != path) {
            // Another file's alert: planned with that file's batches.
            continue;
        }
        let format = if opts.data.is_some() {
            None
        } else {
            source.and_then(|b| b.format)
        };
        let data_err = |source| BacktestError::Data {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            path: path.clone(),
            source: Box::new(source),
        };
        let all = load_cached(&cache, &path, format).map_err(data_err)?;
        let filter = source.and_then(|b| b.series.clone());
        let chosen: Vec<usize> = (0..all.len())
            .filter(|&i| selects(filter.as_deref(), &all[i].name))
            .collect();
        if chosen.is_empty() && opts.batch.is_some() {
            // Its series may be in another batch (`fleet` checks the whole file).
            continue;
        }
        if chosen.is_empty() {
            return Err(BacktestError::NoMatchingSeries {
                alert: alert.name.clone(),
                env: alert.env.clone(),
                path,
                filter: filter.unwrap_or_default(),
            });
        }
        // A shard may hold none of an alert's series: no error, the other shards run them.
        let chosen: Vec<usize> = match opts.shard {
            Some(shard) => chosen
                .into_iter()
                .filter(|&i| shard.holds(&all[i].name))
                .collect(),
            None => chosen,
        };
        if chosen.is_empty() {
            continue;
        }
        let incidents = match (
            &incidents_override,
            source.and_then(|b| b.incidents.clone()),
        ) {
            (Some(all), _) => Some(std::borrow::Cow::Borrowed(all)),
            (None, Some(p)) => Some(std::borrow::Cow::Owned(score::load_incidents(&p).map_err(
                |source| BacktestError::Data {
                    alert: alert.name.clone(),
                    env: alert.env.clone(),
                    path: p.clone(),
                    source: Box::new(source),
                },
            )?)),
            (None, None) => None,
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let replay = match &alert.condition {
            Condition::Anomaly {
                model: AnomalyModel::Replay(m),
                ..
            } => {
                let band_err = |source| BacktestError::Data {
                    alert: alert.name.clone(),
                    env: alert.env.clone(),
                    path: m.data.clone(),
                    source: Box::new(source),
                };
                let loaded = load_cached(&cache, &m.data, None).map_err(band_err)?;
                let (lower, upper) = band::replay::find_bounds(&loaded).ok_or_else(|| {
                    BacktestError::ReplayBand {
                        alert: alert.name.clone(),
                        env: alert.env.clone(),
                        path: m.data.clone(),
                    }
                })?;
                Some(std::sync::Arc::new((lower.clone(), upper.clone())))
            }
            _ => None,
        };
        for i in chosen {
            let Some(span) = evaluation_span(alert, &all[i], opts) else {
                continue;
            };
            check_span(alert, &all[i].name, span)?;
            let g = *group_index.entry((path.clone(), i)).or_insert_with(|| {
                groups.push(SeriesGroup {
                    data: all.clone(),
                    index: i,
                    jobs: Vec::new(),
                });
                groups.len() - 1
            });
            let incidents = incidents
                .as_ref()
                .and_then(|all_incidents| score::incidents_for(all_incidents, &all[i].name, stem));
            groups[g].jobs.push(Job {
                alert,
                inputs: JobInputs {
                    incidents,
                    replay: replay.clone(),
                    span,
                },
            });
        }
    }
    Ok(groups)
}

/// The alerts reading one series of a loaded data file.
pub struct SeriesGroup<'a> {
    pub data: std::sync::Arc<Vec<Series>>,
    pub index: usize,
    pub jobs: Vec<Job<'a>>,
}

impl SeriesGroup<'_> {
    pub fn series(&self) -> &Series {
        &self.data[self.index]
    }
}

/// One alert to replay over a series.
pub struct Job<'a> {
    pub alert: &'a ResolvedAlert,
    pub inputs: JobInputs,
}

/// What a replay over one series needs besides the alert's settings.
#[derive(Clone)]
pub struct JobInputs {
    /// The series' labelled (or injected) incidents, when known.
    pub incidents: Option<Vec<Incident>>,
    pub replay: Option<std::sync::Arc<ReplayBounds>>,
    /// The evaluation span.
    pub span: (i64, i64),
}
