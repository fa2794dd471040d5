//! Planning a run: load every alert's data and incidents once, pick its series and evaluation span,
//! and group the alerts by the series they read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{selects, BacktestError, BacktestOptions, ReplayBounds};
use crate::band;
use crate::score::{self, Incident};
use crate::series::time::{format_duration, format_rfc3339};
use crate::series::{self, LoadError, Series};
use crate::spec::{AnomalyModel, Condition, ResolvedAlert};

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

/// The error for an alert whose evaluation span is empty on every series (`series` is the first):
/// a span that ends before it starts (`--start` after the data's last row, `--end` before its
/// first) evaluates nothing, and an empty report would read as "no alerts".
pub(crate) fn empty_span(
    alert: &ResolvedAlert,
    series: &Series,
    opts: &BacktestOptions,
) -> BacktestError {
    let spec = alert.backtest.as_ref();
    let rows = series.row_span();
    let bound = |flag: Option<i64>, key: Option<i64>, row: Option<i64>, name: &str| match (
        flag, key, row,
    ) {
        (Some(t), _, _) => format!("`--{name}` {}", format_rfc3339(t)),
        (None, Some(t), _) => format!("`backtest.{name}` {}", format_rfc3339(t)),
        (None, None, Some(t)) => {
            let which = if name == "start" { "first" } else { "last" };
            format!("the data's {which} row {}", format_rfc3339(t))
        }
        (None, None, None) => "no data".to_string(),
    };
    BacktestError::EmptySpan {
        alert: alert.name.clone(),
        env: alert.env.clone(),
        series: series.name.clone(),
        start: bound(
            opts.start_ms,
            spec.and_then(|b| b.start_ms),
            rows.map(|r| r.0),
            "start",
        ),
        end: bound(
            opts.end_ms,
            spec.and_then(|b| b.end_ms),
            rows.map(|r| r.1),
            "end",
        ),
    }
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

/// Loaded files, shared by alerts and envs that read the same data.
type Cache = Mutex<BTreeMap<PathBuf, std::sync::Arc<Vec<Series>>>>;

fn load_cached(
    cache: &Cache,
    path: &Path,
    format: Option<series::Format>,
    row_step_ms: Option<i64>,
) -> Result<std::sync::Arc<Vec<Series>>, LoadError> {
    if let Some(s) = cache.lock().expect("cache lock").get(path) {
        return Ok(s.clone());
    }
    let loaded = series::load(path, format)?;
    let loaded = std::sync::Arc::new(match row_step_ms {
        Some(step) => series::rows::rows_as_times(path, &loaded, step)?,
        None => loaded,
    });
    cache
        .lock()
        .expect("cache lock")
        .insert(path.to_path_buf(), loaded.clone());
    Ok(loaded)
}

/// Incidents flagged on rows numbered `step_ms` apart (`--row-step`) at the times of their rows.
fn incidents_at_row_times(
    incidents: BTreeMap<String, Vec<score::Incident>>,
    row_step_ms: Option<i64>,
) -> BTreeMap<String, Vec<score::Incident>> {
    let Some(step) = row_step_ms else {
        return incidents;
    };
    incidents
        .into_iter()
        .map(|(key, list)| {
            let moved = list
                .iter()
                .map(|i| series::rows::incident_at_row_times(i, step))
                .collect();
            (key, moved)
        })
        .collect()
}

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
        let series = match opts.row_step_ms {
            Some(step) => std::sync::Arc::new(
                series::rows::rows_as_times(&b.path, &b.series, step).map_err(|source| {
                    BacktestError::Batch {
                        path: b.path.clone(),
                        source: Box::new(source),
                    }
                })?,
            ),
            None => b.series.clone(),
        };
        preloaded.insert(b.path.clone(), series);
    }
    let cache: Cache = Mutex::new(preloaded);
    let incidents_override = match &opts.incidents {
        Some(p) => Some(incidents_at_row_times(
            score::load_incidents(p).map_err(|source| BacktestError::Incidents {
                path: p.clone(),
                source: Box::new(source),
            })?,
            opts.row_step_ms,
        )),
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
        let all = load_cached(&cache, &path, format, opts.row_step_ms).map_err(data_err)?;
        let filter = super::series_filter(alert, opts);
        let chosen: Vec<usize> = (0..all.len())
            .filter(|&i| selects(filter, &all[i].name))
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
                filter: filter.unwrap_or_default().to_string(),
            });
        }
        // Over the whole file (a streamed batch cannot tell: `fleet` checks across batches).
        if opts.batch.is_none()
            && !chosen
                .iter()
                .any(|&i| evaluation_span(alert, &all[i], opts).is_some())
        {
            return Err(empty_span(alert, &all[chosen[0]], opts));
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
            (None, Some(p)) => Some(std::borrow::Cow::Owned(incidents_at_row_times(
                score::load_incidents(&p).map_err(|source| BacktestError::Data {
                    alert: alert.name.clone(),
                    env: alert.env.clone(),
                    path: p.clone(),
                    source: Box::new(source),
                })?,
                opts.row_step_ms,
            ))),
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
                let loaded = load_cached(&cache, &m.data, None, None).map_err(band_err)?;
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
        let spec_reach = alert.reach();
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
                    reach: crate::score::Reach {
                        lead_ms: opts.lead_ms.unwrap_or(spec_reach.lead_ms),
                        grace_ms: opts.grace_ms.or(spec_reach.grace_ms),
                        view_ms: (0, 0),
                        max_delay_ms: opts.max_delay_ms.or(spec_reach.max_delay_ms),
                    },
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
    /// How far around each window a catching episode may start (the spec's `backtest.lead` and
    /// `backtest.grace`, or `--lead` and `--grace`).
    pub reach: crate::score::Reach,
    pub replay: Option<std::sync::Arc<ReplayBounds>>,
    /// The evaluation span.
    pub span: (i64, i64),
}
