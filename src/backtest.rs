//! Backtests: replay every resolved alert over its history, per environment, engine and series.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use crate::band::{self, Band, Rule};
use crate::engine::cloudwatch::{self, Breach};
use crate::engine::prometheus;
use crate::engine::{Episode, Timeline};
use crate::notify;
use crate::score::{self, FlapRule, Incident, IncidentScore, NoiseScore};
use crate::series::median_step_ms;
use crate::series::time::{format_duration, format_rfc3339};
use crate::series::{self, resample, LoadError, Series};
use crate::spec::{AlertSet, AnomalyModel, Condition, ResolvedAlert};

/// Which engines to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engines {
    pub cloudwatch: bool,
    pub prometheus: bool,
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
    #[error("alert `{alert}`, env `{env}`: no backtest data\nhint: set `backtest: {{data: ...}}` in the spec or pass `--data FILE`")]
    NoData { alert: String, env: String },
    #[error("alert `{alert}`, env `{env}`: no series in `{}` matches `{filter}`", path.display())]
    NoMatchingSeries {
        alert: String,
        env: String,
        path: PathBuf,
        filter: String,
    },
    #[error("nothing to backtest: no alert matches the chosen alerts and environments")]
    Nothing,
}

/// One (alert, env, engine, series) result. Field names are a contract (see the README).
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    pub alert: String,
    pub env: String,
    pub engine: &'static str,
    pub series: String,
    pub episodes: Vec<EpisodeOut>,
    pub transitions: Vec<TransitionOut>,
    pub notifications: usize,
    pub alerts_per_week: f64,
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
    #[serde(skip)]
    pub timeline: Timeline,
}

#[derive(Debug, Clone, Serialize)]
pub struct EpisodeOut {
    pub start: String,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransitionOut {
    pub at: String,
    pub to: &'static str,
}

impl BacktestResult {
    fn new(
        alert: &ResolvedAlert,
        engine: &'static str,
        series: &str,
        timeline: Timeline,
        noise: NoiseScore,
        notifications: usize,
    ) -> BacktestResult {
        BacktestResult {
            alert: alert.name.clone(),
            env: alert.env.clone(),
            engine,
            series: series.to_string(),
            episodes: timeline
                .episodes
                .iter()
                .map(|e| EpisodeOut {
                    start: format_rfc3339(e.start),
                    end: e.end.map(format_rfc3339),
                })
                .collect(),
            transitions: timeline
                .transitions
                .iter()
                .map(|t| TransitionOut {
                    at: format_rfc3339(t.at),
                    to: t.to,
                })
                .collect(),
            notifications,
            alerts_per_week: noise.alerts_per_week,
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

/// A short human description of a condition: `> 900`, `p99 × 1.2`, `seasonal k=3 above`.
pub fn describe_condition(c: &Condition) -> String {
    match c {
        Condition::Threshold { op, value } => format!("{} {value}", op.symbol()),
        Condition::Percentile { op, model } => {
            format!("{} p{} × {}", op.symbol(), model.percentile, model.factor)
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
}

/// Compute the band of `condition` over `(timestamps, values)` sampled every `step_ms`.
pub fn prepare(
    condition: &Condition,
    timestamps: &[i64],
    values: &[f64],
    step_ms: i64,
) -> PreparedCondition {
    let non_negative = values.iter().all(|v| v.is_nan() || *v >= 0.0);
    match condition {
        Condition::Threshold { op, value } => PreparedCondition {
            band: Band::constant(values.len(), *value),
            rule: Rule {
                k: 0.0,
                direction: op.direction(),
                inclusive: op.inclusive(),
                floor: None,
            },
            seasonality: None,
        },
        Condition::Percentile { op, model } => PreparedCondition {
            band: band::percentile::band(timestamps, values, model),
            rule: Rule {
                k: 0.0,
                direction: op.direction(),
                inclusive: op.inclusive(),
                floor: None,
            },
            seasonality: None,
        },
        Condition::Anomaly {
            model: AnomalyModel::Seasonal(m),
            k,
            direction,
        } => {
            let out = band::seasonal::band(timestamps, values, step_ms, m);
            PreparedCondition {
                band: out.band,
                // CloudWatch clamps a band to the metric's logical range; a never-negative metric
                // cannot breach below zero.
                rule: Rule {
                    k: *k,
                    direction: *direction,
                    inclusive: false,
                    floor: non_negative.then_some(0.0),
                },
                seasonality: out.seasonality.map(|s| s.to_string()),
            }
        }
    }
}

/// Replay the CloudWatch alarm of `alert` over one raw series.
pub fn run_cloudwatch(alert: &ResolvedAlert, raw: &Series) -> Option<BacktestResult> {
    let metric = alert.cloudwatch.as_ref()?;
    let period_ms = metric.period_s * 1000;
    let grid = resample(raw, period_ms, metric.stat);
    let prepared = prepare(&alert.condition, &grid.timestamps, &grid.values, period_ms);
    let breach = band::breaches(&grid.values, &prepared.band, &prepared.rule);
    let timeline = cloudwatch::evaluate(
        &breach,
        grid.timestamps.first().copied().unwrap_or(0),
        period_ms,
        &alert.cw,
    );
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = notify::cloudwatch_notifications(&timeline.transitions, &alert.actions);
    let mut result = BacktestResult::new(
        alert,
        "cloudwatch",
        &raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = breach.len();
    result.warm_up_evaluations = prepared.band.warm_up_points();
    result.seasonality = prepared.seasonality;
    if let Some(step) = median_step_ms(raw) {
        if step > period_ms {
            result.warnings.push(format!(
                "data step {} is coarser than the alarm period {}: most periods have no datapoint",
                format_duration(step),
                format_duration(period_ms)
            ));
        }
    }
    Some(result)
}

/// Replay the Prometheus rule of `alert` over one raw series (the series the rule's expression
/// returns), with Alertmanager notifications.
pub fn run_prometheus(alert: &ResolvedAlert, raw: &Series) -> Option<BacktestResult> {
    alert.prometheus.as_ref()?;
    let (first, last) = (*raw.timestamps.first()?, *raw.timestamps.last()?);
    let step = median_step_ms(raw).unwrap_or(alert.prom.interval_ms);
    let prepared = prepare(&alert.condition, &raw.timestamps, &raw.values, step);
    let breach = band::breaches(&raw.values, &prepared.band, &prepared.rule);
    let eval_times = alert.prom.eval_times(first, last);
    let selected = prometheus::instant_indices(
        &raw.timestamps,
        &raw.values,
        &eval_times,
        alert.prom.lookback_ms,
    );
    let present: Vec<bool> = selected
        .iter()
        .map(|s| s.is_some_and(|i| breach[i] == Breach::Breaching))
        .collect();
    let timeline = prometheus::evaluate(&present, &eval_times, &alert.prom);
    let noise = score::noise(&timeline, &FlapRule::default());
    let notifications = notify::alertmanager_notifications(
        &timeline.episodes,
        timeline.horizon(),
        &alert.alertmanager,
    );
    let mut result = BacktestResult::new(
        alert,
        "prometheus",
        &raw.name,
        timeline,
        noise,
        notifications,
    );
    result.evaluations = eval_times.len();
    let warm_until = raw.timestamps.get(prepared.band.warm_up_points()).copied();
    result.warm_up_evaluations = match warm_until {
        Some(t) => eval_times.partition_point(|&e| e < t),
        None => eval_times.len(),
    };
    result.seasonality = prepared.seasonality;
    if step > alert.prom.lookback_ms {
        result.warnings.push(format!(
            "data step {} is longer than the lookback delta {}: the series is absent between samples",
            format_duration(step),
            format_duration(alert.prom.lookback_ms)
        ));
    }
    Some(result)
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

/// Run every matching (alert, env) of `sets`.
pub fn run(sets: &[AlertSet], opts: &BacktestOptions) -> Result<Report, BacktestError> {
    let jobs: Vec<&ResolvedAlert> = sets
        .iter()
        .flat_map(|s| &s.alerts)
        .filter(|a| opts.alerts.is_empty() || opts.alerts.contains(&a.name))
        .flat_map(|a| a.per_env.values())
        .filter(|r| opts.envs.is_empty() || opts.envs.contains(&r.env))
        .collect();
    if jobs.is_empty() {
        return Err(BacktestError::Nothing);
    }
    let cache: Cache = Mutex::new(BTreeMap::new());
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
    // Load every input first (sequentially, so the first error is deterministic).
    let mut prepared = Vec::new();
    for alert in &jobs {
        let source = alert.backtest.as_ref();
        let path = opts
            .data
            .clone()
            .or_else(|| source.map(|b| b.data.clone()))
            .ok_or_else(|| BacktestError::NoData {
                alert: alert.name.clone(),
                env: alert.env.clone(),
            })?;
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
            .filter(|&i| {
                filter
                    .as_ref()
                    .is_none_or(|f| all[i].name.contains(f.as_str()))
            })
            .collect();
        if chosen.is_empty() {
            return Err(BacktestError::NoMatchingSeries {
                alert: alert.name.clone(),
                env: alert.env.clone(),
                path,
                filter: filter.unwrap_or_default(),
            });
        }
        let incidents = match (
            &incidents_override,
            source.and_then(|b| b.incidents.clone()),
        ) {
            (Some(all), _) => Some(all.clone()),
            (None, Some(p)) => {
                Some(
                    score::load_incidents(&p).map_err(|source| BacktestError::Data {
                        alert: alert.name.clone(),
                        env: alert.env.clone(),
                        path: p.clone(),
                        source: Box::new(source),
                    })?,
                )
            }
            (None, None) => None,
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        for i in chosen {
            prepared.push((*alert, all.clone(), i, incidents.clone(), stem.clone()));
        }
    }
    let mut results: Vec<BacktestResult> = prepared
        .par_iter()
        .flat_map_iter(|(alert, all, i, incidents, stem)| {
            let raw = &all[*i];
            let mut out = Vec::new();
            if opts.engines.cloudwatch {
                out.extend(run_cloudwatch(alert, raw));
            }
            if opts.engines.prometheus {
                out.extend(run_prometheus(alert, raw));
            }
            if let Some(all_incidents) = incidents {
                let list: Vec<Incident> = score::incidents_for(all_incidents, &raw.name, stem);
                let lead = alert.backtest.as_ref().map_or(0, |b| b.lead_ms);
                for r in &mut out {
                    r.incidents = Some(score::match_incidents(
                        &r.timeline.episodes,
                        &list,
                        lead,
                        r.timeline.horizon(),
                        r.timeline.covered_ms(),
                    ));
                }
            }
            out
        })
        .collect();
    results.sort_by(|a, b| {
        (&a.alert, &a.env, a.engine, &a.series).cmp(&(&b.alert, &b.env, b.engine, &b.series))
    });
    Ok(Report { results })
}

/// Episodes of a result as engine types (for plots and promtool test generation).
pub fn episodes(result: &BacktestResult) -> &[Episode] {
    &result.timeline.episodes
}
