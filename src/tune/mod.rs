//! Tuning: many backtests made fast, never a second simulator. For each (alert, env, engine) the
//! settings of a grid are resolved through the spec's own resolution (`spec::resolve_with`) and
//! replayed by `backtest::replay` — the code path behind `alertlab backtest` — over every series the
//! alert reads; bands are fitted once per series and band setting (`backtest::BandCache`), so a new
//! `k` or M-of-N costs one comparison pass and one engine pass. The figures reported for a setting
//! are therefore exactly what `backtest` reports for it (pooled over series: alerts per week add up,
//! recall is caught / incidents, the delay is the median over all caught incidents).

mod candidates;
mod choose;
pub mod grid;
pub mod joint;
pub mod pool;
mod report;
pub mod select;

use std::collections::BTreeMap;

use rayon::prelude::*;

use pool::{InjectedTally, Pool, PoolGroup, Tally};

use crate::backtest::{self, BacktestError, BacktestOptions, Engines, JobInputs, SeriesContext};
use crate::engine::Detail;
use crate::inject::{self, Anomaly};
use crate::score::{self, rate, Incident};
use crate::series::Series;
use crate::spec::{AlertSet, ResolvedAlert, SpecError};
pub use candidates::unused_grid_keys;
use candidates::{candidates, grid_for, Candidates, DefaultGridInputs};
pub use choose::choose;
use grid::Grid;
pub use report::{Figures, Outcome, ParetoPoint, Recommendation, Tried, TuneReport};
pub use select::Objective;

/// Keys that only one engine reads: a CloudWatch alarm has no `for`, a Prometheus rule no M of N.
const CLOUDWATCH_ONLY: &[&str] = &[
    "datapoints_to_alarm",
    "evaluation_periods",
    "evaluation_range",
    "treat_missing_data",
    "period",
    "stat",
];
const PROMETHEUS_ONLY: &[&str] = &["for", "keep_firing_for", "window", "season", "smooth"];

/// Whether both engines read `key` (the condition's `value`, `k`, ...): an alert on both engines
/// has one value of it for both (`joint`).
pub fn read_by_both_engines(key: &str) -> bool {
    !CLOUDWATCH_ONLY.contains(&key) && !PROMETHEUS_ONLY.contains(&key)
}

#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Which alerts, envs, data, incidents and engines (as `backtest` takes them).
    pub backtest: BacktestOptions,
    /// The search space from the command line; else each alert's `tune:` block, else a default.
    pub grid: Option<Grid>,
    /// Values the command line adds to the block's or default's (`--grid KEY+=...`); when any,
    /// `grid` sets its keys within that base instead of replacing it.
    pub grid_added: Grid,
    /// Alerts per week (false alerts when incidents are known) a recommendation may not exceed.
    pub budget: f64,
    /// Share of the evaluated time in ALARM a recommendation may not exceed
    /// ([`select::Budget::time_in_alarm`]).
    pub max_time_in_alarm: f64,
    pub objective: Objective,
    /// Anomalies injected into every series, as incidents (beside any labelled ones).
    pub inject: Vec<Anomaly>,
    /// How many of each anomaly per series.
    pub inject_count: usize,
    pub seed: u64,
    /// Report every setting tried, not only the recommendation and the Pareto front.
    pub keep_all: bool,
    /// The grid is one setting a person picked (`--pick`, e.g. a point of the front): it is the
    /// answer whatever the budget and objective say, measured and reported like a recommendation.
    pub pick: bool,
    /// The data step of each (alert, env) over all the series it reads, when this run sees only
    /// some of them (a streamed batch, a shard): the default grid tries periods from it, and
    /// every part of a run must try the same settings for their tallies to pool.
    pub data_steps: Option<DataSteps>,
}

impl TuneOptions {
    /// Whether some alert's grid may be the default one (which depends on the data).
    pub fn uses_default_grid(&self) -> bool {
        self.grid.is_none() || !self.grid_added.is_empty()
    }
}

/// The step of each (alert, env)'s data: the largest median step of the series it reads.
pub type DataSteps = BTreeMap<(String, String), i64>;

/// [`DataSteps`] of the series of `groups`.
pub fn data_steps(groups: &[backtest::SeriesGroup]) -> DataSteps {
    let mut steps = DataSteps::new();
    for g in groups {
        if let Some(step) = crate::series::median_step_ms(g.series()) {
            for job in &g.jobs {
                raise_step(
                    &mut steps,
                    (job.alert.name.clone(), job.alert.env.clone()),
                    step,
                );
            }
        }
    }
    steps
}

/// `more` added to `into`: the larger step where both have one.
pub fn merge_data_steps(into: &mut DataSteps, more: DataSteps) {
    for (key, step) in more {
        raise_step(into, key, step);
    }
}

/// `key`'s step in `steps` raised to at least `step`.
fn raise_step(steps: &mut DataSteps, key: (String, String), step: i64) {
    let at_most = steps.entry(key).or_insert(step);
    *at_most = (*at_most).max(step);
}

impl Default for TuneOptions {
    /// `alertlab tune`'s defaults: every alert and engine, each alert's own grid, a budget of one
    /// alert a week, the `recall` objective, nothing injected.
    fn default() -> Self {
        TuneOptions {
            backtest: BacktestOptions::default(),
            grid: None,
            grid_added: Vec::new(),
            budget: 1.0,
            max_time_in_alarm: select::DEFAULT_MAX_TIME_IN_ALARM,
            objective: Objective::default(),
            inject: Vec::new(),
            inject_count: 1,
            seed: 1,
            keep_all: false,
            pick: false,
            data_steps: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("alert `{alert}`: {message}")]
    Grid { alert: String, message: String },
    /// A setting of the grid (from `--grid` or an alert's `tune:` block) the spec refuses.
    #[error("the grid's setting `{setting}` (from `--grid` or the alert's `tune:` block) is not valid: {message}{}", hint.as_ref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    Setting {
        setting: String,
        message: String,
        hint: Option<String>,
    },
    /// Tallies of parts of one run (streamed batches) that cannot be pooled.
    #[error("{0}")]
    Pool(String),
    #[error("`{}` has no windows for series `{series}`{} (alert `{alert}`, env `{env}`)\nhint: list the series (or its file name) in the incidents file with windows inside its history, or tune it with `--inject`", file.display(), outside.as_deref().unwrap_or_default())]
    NoWindows {
        file: std::path::PathBuf,
        series: String,
        alert: String,
        env: String,
        /// Set when the file has windows for the series, all outside the evaluated span.
        outside: Option<String>,
    },
}

/// An incidents file passed on the command line must give every series tuned a window its
/// evaluated span can judge: without one, recall is unknown and the answer would silently be
/// "the most sensitive setting within budget", not the one the user asked for.
fn check_windows(
    file: &std::path::Path,
    groups: &[backtest::SeriesGroup],
    engines: Engines,
) -> Result<(), TuneError> {
    for g in groups {
        for job in &g.jobs {
            let windows = job.inputs.incidents.as_deref().unwrap_or_default();
            // A point label is judged by the alarm's view of it, as each replay judges it.
            let judged = |engine: &str| {
                let reach = backtest::reach_on(job.alert, engine, job.inputs.reach);
                windows
                    .iter()
                    .any(|w| score::judged_in(w, job.inputs.span, reach))
            };
            if (engines.cloudwatch && judged("cloudwatch"))
                || (engines.prometheus && judged("prometheus"))
            {
                continue;
            }
            let at = |ms: i64| crate::series::time::format_rfc3339(ms);
            return Err(TuneError::NoWindows {
                file: file.to_path_buf(),
                series: g.series().name.clone(),
                alert: job.alert.name.clone(),
                env: job.alert.env.clone(),
                outside: (!windows.is_empty()).then(|| {
                    let n = windows.len();
                    format!(
                        " inside its evaluated span {} – {} (its {n} {} outside)",
                        at(job.inputs.span.0),
                        at(job.inputs.span.1),
                        if n == 1 { "window lies" } else { "windows lie" }
                    )
                }),
            });
        }
    }
    Ok(())
}

/// Tune every (alert, env) of `sets` that `opts` selects.
pub fn run(sets: &[AlertSet], opts: &TuneOptions) -> Result<TuneReport, TuneError> {
    let alerts = backtest::selected_alerts(sets, &opts.backtest);
    let groups = backtest::plan(&alerts, &opts.backtest)?;
    let set_of = |a: &ResolvedAlert| {
        sets.iter()
            .find(|s| s.alerts.iter().any(|x| x.name == a.name))
            .expect("selected alerts come from these sets")
    };
    // What the default grid depends on (a grid from the command line does not): the step of each
    // (alert, env)'s data, over every series it reads when a streamed or sharded run measured it.
    let steps: std::borrow::Cow<DataSteps> = match &opts.data_steps {
        Some(whole) => std::borrow::Cow::Borrowed(whole),
        None if opts.uses_default_grid() => std::borrow::Cow::Owned(data_steps(&groups)),
        None => std::borrow::Cow::Owned(DataSteps::new()),
    };
    let dropouts = opts.inject.iter().any(|a| a.kind == inject::Kind::Drop);
    // The settings of every (alert, env, engine), resolved once.
    let mut all: Vec<Candidates> = Vec::new();
    for alert in &alerts {
        let set = set_of(alert);
        let step = steps.get(&(alert.name.clone(), alert.env.clone())).copied();
        let inputs = DefaultGridInputs {
            data_step_ms: step,
            dropouts,
        };
        let grid = grid_for(set, alert, opts.grid.as_ref(), &opts.grid_added, inputs)?;
        if alert.cloudwatch.is_some() && opts.backtest.engines.cloudwatch {
            all.push(candidates(set, alert, "cloudwatch", &grid)?);
        }
        if alert.prometheus.is_some() && opts.backtest.engines.prometheus {
            all.push(candidates(set, alert, "prometheus", &grid)?);
        }
    }
    if let (Some(file), true) = (&opts.backtest.incidents, opts.inject.is_empty()) {
        check_windows(file, &groups, opts.backtest.engines)?;
    }
    // Units of work: one series of one (alert, env); every engine and setting replayed over it.
    let (units, injected) = units(&groups, opts);
    let progress = crate::progress::Progress::new(units.len() as u64, "tune: series")
        .shown_unless(opts.backtest.batch.is_some());
    let tallies: Vec<(usize, &str, Vec<Tally>)> = units
        .par_iter()
        .flat_map_iter(|unit| {
            progress.advance(1);
            let (inputs, alert) = (&unit.inputs, unit.alert);
            let ctx = SeriesContext::new(&unit.series);
            all.iter()
                .enumerate()
                .filter(|(_, c)| c.alert.name == alert.name && c.alert.env == alert.env)
                .map(|(ci, c)| {
                    let engines = Engines {
                        cloudwatch: c.engine == "cloudwatch",
                        prometheus: c.engine == "prometheus",
                    };
                    let per_setting = c
                        .settings
                        .iter()
                        .map(|(_, variant)| {
                            let mut t = Tally::default();
                            for r in
                                backtest::replay(variant, &ctx, inputs, engines, Detail::Episodes)
                            {
                                for (incident, label) in &unit.injected {
                                    let e = t.by_kind.entry(label.clone()).or_default();
                                    e.0 += score::first_catch(&r.episodes, incident, inputs.reach)
                                        .is_some()
                                        as usize;
                                    e.1 += 1;
                                }
                                for w in &r.warnings {
                                    *t.warnings.entry(w.clone()).or_default() += 1;
                                }
                                t.alerts_per_week.push(r.alerts_per_week);
                                t.episodes += r.episodes.len();
                                t.covered_ms = t.covered_ms.max(r.covered_s * 1000.0);
                                // Whole milliseconds, as the replay counted them.
                                t.in_alarm_ms += (r.time_in_alarm_s * 1000.0).round() as i64;
                                t.evaluated_ms += (r.covered_s * 1000.0).round() as i64;
                                if let Some(i) = &r.incidents {
                                    t.labelled = true;
                                    t.false_alerts_per_week.push(i.false_alerts_per_week);
                                    t.incidents += i.incidents;
                                    t.caught += i.caught;
                                    t.in_warm_up += i.in_warm_up;
                                    t.point_labels += i.point_labels;
                                    t.late += i.late;
                                    t.delays_s.extend_from_slice(&i.delays_s);
                                }
                            }
                            t
                        })
                        .collect();
                    (ci, unit.series.name.as_str(), per_setting)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    progress.finish();
    let mut pooled: BTreeMap<usize, (Vec<String>, Vec<Tally>)> = BTreeMap::new();
    for (ci, series, per_setting) in tallies {
        let (names, entry) = pooled
            .entry(ci)
            .or_insert_with(|| (Vec::new(), vec![Tally::default(); per_setting.len()]));
        names.push(series.to_string());
        for (acc, t) in entry.iter_mut().zip(&per_setting) {
            acc.add(t);
        }
    }
    let pool = Pool {
        budget: opts.budget,
        max_time_in_alarm: opts.max_time_in_alarm,
        objective: opts.objective,
        keep_all: opts.keep_all,
        pick: opts.pick,
        injected,
        groups: pooled
            .into_iter()
            .map(|(ci, (mut series, tallies))| {
                let c = &all[ci];
                series.sort_unstable();
                PoolGroup {
                    order: ci,
                    alert: c.alert.name.clone(),
                    env: c.alert.env.clone(),
                    engine: c.engine.to_string(),
                    current: c.current_params(),
                    skipped: c.skipped,
                    series,
                    settings: c
                        .settings
                        .iter()
                        .map(|(p, _)| p.clone())
                        .zip(tallies)
                        .collect(),
                }
            })
            .collect(),
    };
    let mut report = choose(&pool);
    if opts.backtest.shard.is_some() || opts.backtest.batch.is_some() {
        report.pool = Some(pool);
    }
    Ok(report)
}

/// One series of one (alert, env) to tune over: the series (with injected anomalies, when asked),
/// the replay inputs (its incidents include the injected ones) and the injected anomalies' labels.
struct Unit<'a> {
    /// The loaded series itself (borrowed, never copied), or its injected copy.
    series: std::sync::Arc<std::borrow::Cow<'a, Series>>,
    inputs: JobInputs,
    alert: &'a ResolvedAlert,
    injected: Vec<(Incident, String)>,
}

/// The units of `groups`, and with `--inject` how many anomalies were asked for and placed.
fn units<'a>(
    groups: &'a [backtest::SeriesGroup<'a>],
    opts: &TuneOptions,
) -> (Vec<Unit<'a>>, InjectedTally) {
    use std::borrow::Cow;
    let mut out = Vec::new();
    let mut tally = InjectedTally::default();
    for g in groups {
        let raw = g.series();
        // One injected copy per series, shared by every alert reading it.
        let labelled: Vec<Incident> = g
            .jobs
            .iter()
            .flat_map(|j| j.inputs.incidents.iter().flatten().copied())
            .collect();
        let (series, injected) = if opts.inject.is_empty() {
            (std::sync::Arc::new(Cow::Borrowed(raw)), Vec::new())
        } else {
            // Inside the span every alert reading the series evaluates (`--start`/`--end`): an
            // anomaly outside it is one no replay could judge.
            let within = g.jobs.iter().fold((i64::MIN, i64::MAX), |(a, b), j| {
                (a.max(j.inputs.span.0), b.min(j.inputs.span.1))
            });
            let injection = inject::inject_within(
                raw,
                &opts.inject,
                opts.inject_count,
                opts.seed,
                &labelled,
                within,
            );
            tally.add(&InjectedTally {
                asked: opts.inject.len() * opts.inject_count,
                not_placed: inject::shortfall(&opts.inject, opts.inject_count, &injection.placed),
                unsized_series: if injection.no_spread {
                    vec![raw.name.clone()]
                } else {
                    Vec::new()
                },
            });
            (
                std::sync::Arc::new(Cow::Owned(injection.series)),
                injection.placed,
            )
        };
        for job in &g.jobs {
            let mut inputs = job.inputs.clone();
            if !injected.is_empty() {
                let list = inputs.incidents.get_or_insert_with(Vec::new);
                list.extend(injected.iter().map(|p| p.incident()));
            }
            out.push(Unit {
                series: series.clone(),
                inputs,
                alert: job.alert,
                injected: injected.iter().map(|p| (p.incident(), p.label())).collect(),
            });
        }
    }
    (out, tally)
}
