//! promtool unit tests derived from backtests: for each alert, windows of real history around the
//! episodes our engine predicts (and a quiet window when there are none) become `input_series` of
//! the alert's recorded value, and the alerts our engine says fire at each checked evaluation become
//! `exp_alerts`. `promtool test rules` on the generated rules then checks both the rules and our
//! replay of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::prometheus::{alert_annotations, alert_expr, alert_labels};
use super::{number, spec_label, EmitError, GeneratedFile};
use crate::backtest::prometheus_present;
use crate::conventions;
use crate::engine::prometheus::{evaluate, instant_indices, instant_values};
use crate::series::time::{format_prometheus_duration, MINUTE_MS};
use crate::series::Series;
use crate::spec::{AlertSet, ResolvedAlert};

/// Windows per alert at most.
const MAX_WINDOWS: usize = 3;
/// History before an episode (beyond `for`) and after it.
const MARGIN_MS: i64 = 15 * MINUTE_MS;
/// Longest window.
const MAX_WINDOW_MS: i64 = 4 * 60 * MINUTE_MS;

/// One promtool test: samples on a regular grid from time 0, and the expected firing state at
/// chosen evaluation times.
struct Case {
    step_ms: i64,
    values: Vec<f64>,
    checks: Vec<(i64, bool)>,
}

/// Firing state at each evaluation of `values` (sampled every `step_ms` from 0), as promtool runs it.
fn simulate(alert: &ResolvedAlert, values: &[f64], step_ms: i64) -> (Vec<i64>, Vec<bool>) {
    let ts: Vec<i64> = (0..values.len() as i64).map(|i| i * step_ms).collect();
    let last = ts.last().copied().unwrap_or(0);
    let cfg = crate::engine::prometheus::PrometheusConfig {
        phase_ms: 0,
        ..alert.prom
    };
    let evals = cfg.eval_times(0, last);
    let selected = instant_indices(&ts, values, &evals, cfg.lookback_ms);
    let (present, _) = prometheus_present(alert, &ts, values, step_ms, &evals, &selected, None);
    let timeline = evaluate(&present, &evals, &cfg);
    let firing = timeline.on_at(&evals);
    (evals, firing)
}

/// The windows of `raw` to test: around the first episodes our engine predicts over the whole
/// history, or the first hours when it predicts none.
fn cases(alert: &ResolvedAlert, raw: &Series) -> Vec<Case> {
    let (first, last) = match (raw.timestamps.first(), raw.timestamps.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => return Vec::new(),
    };
    // The input is what Prometheus records for the value rule at each evaluation (the instant value,
    // lookback included), on the evaluation grid.
    let step = alert.prom.interval_ms;
    let cfg = crate::engine::prometheus::PrometheusConfig {
        phase_ms: 0,
        ..alert.prom
    };
    let evals = cfg.eval_times(first, last);
    if evals.is_empty() {
        return Vec::new();
    }
    let grid_start = evals[0];
    let grid = instant_values(&raw.timestamps, &raw.values, &evals, cfg.lookback_ms);
    let (evals, firing) = simulate(alert, &grid, step);
    let mut starts = Vec::new();
    for (k, f) in firing.iter().enumerate() {
        if *f && (k == 0 || !firing[k - 1]) {
            starts.push(evals[k]);
        }
    }
    let windows: Vec<(i64, i64)> = if starts.is_empty() {
        vec![(0, MAX_WINDOW_MS.min(last - grid_start))]
    } else {
        starts
            .iter()
            .take(MAX_WINDOWS)
            .map(|&s| {
                let from = (s - alert.prom.for_ms - MARGIN_MS).max(0);
                let from = from - from % step;
                (
                    from,
                    (s + MAX_WINDOW_MS / 2)
                        .min(last - grid_start)
                        .min(from + MAX_WINDOW_MS),
                )
            })
            .collect()
    };
    windows
        .into_iter()
        .map(|(from, to)| {
            let values = grid[(from / step) as usize..=(to / step) as usize].to_vec();
            let (evals, firing) = simulate(alert, &values, step);
            // Check every change of state, the evaluation before it, and every tenth evaluation.
            let checks = evals
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    k % 10 == 0
                        || firing.get(k + 1).is_some_and(|f| *f != firing[*k])
                        || (*k > 0 && firing[*k] != firing[k - 1])
                })
                .map(|(k, t)| (*t, firing[k]))
                .collect();
            Case {
                step_ms: step,
                values,
                checks,
            }
        })
        .collect()
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn flow_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", yaml_string(k), yaml_string(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// promtool test files for `set`, one per env (and evaluation interval), from each alert's backtest
/// history. `load` reads a data file (cached and shared by the caller).
pub fn generate(
    set: &AlertSet,
    envs: &[String],
    load: &mut dyn FnMut(&ResolvedAlert) -> Option<std::rc::Rc<Vec<Series>>>,
) -> Result<Vec<GeneratedFile>, EmitError> {
    let spec = spec_label(&set.source);
    let mut files = Vec::new();
    for env in &set.env_names(envs) {
        let mut by_interval: BTreeMap<i64, String> = BTreeMap::new();
        for alert in set.alerts.iter().filter_map(|a| a.per_env.get(env)) {
            if alert.prometheus.is_none() || alert.backtest.is_none() {
                continue;
            }
            alert_expr(alert)?;
            let Some(series) = load(alert) else { continue };
            let Some(raw) = series.first() else { continue };
            let labels = flow_map(&alert_labels(alert));
            let annotations = flow_map(&alert_annotations(alert));
            let out = by_interval.entry(alert.prom.interval_ms).or_default();
            for case in cases(alert, raw) {
                let values: Vec<String> = case
                    .values
                    .iter()
                    .map(|v| if v.is_nan() { "_".into() } else { number(*v) })
                    .collect();
                let _ = writeln!(
                    out,
                    "  # {} in {env}: {} of history from {}\n  - interval: {}\n    input_series:\n      - series: '{}'\n        values: '{}'\n    alert_rule_test:",
                    alert.name,
                    format_prometheus_duration(case.step_ms * (case.values.len() as i64 - 1)),
                    raw.name,
                    format_prometheus_duration(case.step_ms),
                    conventions::value_record(&alert.name),
                    values.join(" ")
                );
                for (t, firing) in case.checks {
                    let exp = if firing {
                        format!("\n          - exp_labels: {labels}\n            exp_annotations: {annotations}")
                    } else {
                        " []".into()
                    };
                    let _ = writeln!(
                        out,
                        "      - eval_time: {}\n        alertname: {}\n        exp_alerts:{exp}",
                        format_prometheus_duration(t),
                        yaml_string(&alert.name)
                    );
                }
            }
        }
        let several = by_interval.len() > 1;
        for (interval, tests) in by_interval {
            if tests.is_empty() {
                continue;
            }
            let suffix = if several {
                format!("-{}", format_prometheus_duration(interval))
            } else {
                String::new()
            };
            let contents = format!(
                "# {}\nrule_files:\n  - ../{}\nevaluation_interval: {}\ntests:\n{tests}",
                conventions::header(&spec),
                conventions::rule_file(&set.name, env),
                format_prometheus_duration(interval)
            );
            files.push(GeneratedFile {
                path: PathBuf::from("prometheus/tests")
                    .join(format!("{}-{env}{suffix}.test.yml", set.name)),
                contents,
            });
        }
    }
    Ok(files)
}
