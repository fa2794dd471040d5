//! promtool unit tests derived from backtests: for each alert, windows of real history around the
//! episodes our engine predicts (and a quiet window when there are none) are fed through the
//! generated rules, and the alerts our engine says fire at each checked evaluation become
//! `exp_alerts`. `promtool test rules` then checks both the rules and our replay of them.
//!
//! What is fed ([`Feed`]): when the metric expression reads one series (a selector with `=`
//! matchers, optionally inside `sum`/`min`/`max`/`avg`), the raw samples go in as that series and
//! pass through the recording rule exactly as in production — one lookback, on the raw samples; a
//! NaN sample is written `NaN`. Any other expression cannot be inverted into input series, so the
//! test feeds the value the recording rule would have written at each evaluation, with the stale
//! marker Prometheus writes when the expression stops returning (never a second lookback).
//! Expectations come from the backtest's own code path ([`prometheus_present`]) run over the same
//! window, so the test asserts what the backtest says.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use promql_parser::label::MatchOp;
use promql_parser::parser::{self as promql, Expr, LabelModifier};

use super::go_template::Template;
use super::prometheus::{alert_annotations, alert_expr, alert_labels, written_through};
use super::{number, spec_label, EmitError, GeneratedFile};
use crate::backtest::{prometheus_present, BandIndexing};
use crate::conventions;
use crate::engine::prometheus::{evaluate, instant_indices, PrometheusConfig};
use crate::engine::Detail;
use crate::series::time::{format_prometheus_duration, MINUTE_MS};
use crate::series::{median_step_ms, Samples, Series};
use crate::spec::{AlertSet, ResolvedAlert};

/// Windows per alert at most.
const MAX_WINDOWS: usize = 3;
/// History before an episode (beyond `for`) and after it.
const MARGIN_MS: i64 = 15 * MINUTE_MS;
/// Longest window.
const MAX_WINDOW_MS: i64 = 4 * 60 * MINUTE_MS;
/// Most input values per test (a fine-grained series over the longest window).
const MAX_VALUES: i64 = 5_000;

/// The one input series a metric expression reads, when it can be fed raw.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSeries {
    /// promtool series notation: `name{k="v",...}`.
    pub selector: String,
    /// Labels the expression's result (and so the alert) carries.
    pub output_labels: BTreeMap<String, String>,
}

/// The input series of `expr` when its result is the value of one raw series: a selector with only
/// `=` matchers and no `offset`/`@`, optionally in parentheses or inside `sum`, `min`, `max` or
/// `avg` (which return the one series' value); `None` for anything else.
pub fn input_series(expr: &str) -> Option<InputSeries> {
    let mut e = promql::parse(expr).ok()?;
    // The aggregation's grouping, once one is passed: which input labels the result keeps.
    let mut grouping: Option<Option<LabelModifier>> = None;
    loop {
        match e {
            Expr::Paren(p) => e = *p.expr,
            Expr::Aggregate(a) if grouping.is_none() => {
                let op = a.op.to_string();
                if a.param.is_some() || !matches!(op.as_str(), "sum" | "min" | "max" | "avg") {
                    return None;
                }
                grouping = Some(a.modifier);
                e = *a.expr;
            }
            Expr::VectorSelector(v) => {
                if v.offset.is_some() || v.at.is_some() || !v.matchers.or_matchers.is_empty() {
                    return None;
                }
                let mut name = v.name.clone();
                let mut labels = BTreeMap::new();
                for m in &v.matchers.matchers {
                    if !matches!(m.op, MatchOp::Equal) {
                        return None;
                    }
                    if m.name == "__name__" {
                        name = Some(m.value.clone());
                    } else {
                        labels.insert(m.name.clone(), m.value.clone());
                    }
                }
                let name = name?;
                let inner: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", yaml_string(v)))
                    .collect();
                let keeps = |label: &str| match &grouping {
                    None => true,
                    Some(None) => false,
                    Some(Some(LabelModifier::Include(by))) => by.labels.iter().any(|l| l == label),
                    Some(Some(LabelModifier::Exclude(without))) => {
                        !without.labels.iter().any(|l| l == label)
                    }
                };
                let output_labels = labels.into_iter().filter(|(k, _)| keeps(k)).collect();
                return Some(InputSeries {
                    selector: format!("{name}{{{}}}", inner.join(",")),
                    output_labels,
                });
            }
            _ => return None,
        }
    }
}

/// How a test feeds history through the generated rules (see the module docs).
#[derive(Debug, Clone, PartialEq)]
enum Feed {
    Raw(InputSeries),
    Recorded,
}

/// One promtool test: input values on a regular grid from time 0, and the expected firing state at
/// chosen evaluation times.
struct Case {
    step_ms: i64,
    /// The input series: the expression's raw input, or the recorded value.
    series: String,
    /// Labels the alert's result carries from the input series.
    output_labels: BTreeMap<String, String>,
    /// promtool series notation, one per step: a number, `NaN`, `_` or `stale`.
    values: Vec<String>,
    /// Evaluation time, whether the alert fires, and its value there (`$value` in annotations).
    checks: Vec<(i64, bool, f64)>,
}

/// The rule timing promtool uses: evaluations at multiples of the interval from 0.
fn promtool_config(alert: &ResolvedAlert) -> PrometheusConfig {
    PrometheusConfig {
        phase_ms: 0,
        ..alert.prom
    }
}

/// Firing state at every evaluation in `[0, last]`, by the backtest's own code path, for samples
/// (starting at 0) that promtool sees as they are (raw feed) or as recorded values (one per
/// evaluation, `selected` directly: the stale marker ends the series at once); and the alert's
/// value at each, what `$value` expands to in its annotations.
fn simulate(
    alert: &ResolvedAlert,
    samples: &Samples,
    step_ms: i64,
    feed: &Feed,
    last: i64,
) -> (Vec<i64>, Vec<bool>, Vec<f64>) {
    let cfg = promtool_config(alert);
    let evals = cfg.eval_times(0, last);
    let selected = match feed {
        Feed::Raw(_) => instant_indices(samples, &evals, &cfg),
        Feed::Recorded => (0..evals.len())
            .map(|k| samples.is_sample(k).then_some(k))
            .collect(),
    };
    let (present, prepared) = prometheus_present(alert, samples, step_ms, &evals, &selected, None);
    let timeline = evaluate(&present, &evals, &cfg, Detail::Full);
    let firing = timeline.on_at(&evals);
    // The value of the sample the alert expression returned (the value it compared: the smoothed
    // one for a smoothed band). Prometheus expands annotations only at evaluations that return the
    // sample, so an alert kept firing (`keep_firing_for`) shows the last.
    let mut last_value = f64::NAN;
    let values = (0..evals.len())
        .map(|k| {
            if present[k] {
                last_value = match &prepared.indexing {
                    BandIndexing::Evaluations { compared } => compared[k],
                    BandIndexing::Samples => selected[k].map_or(f64::NAN, |i| samples.values[i]),
                };
            }
            last_value
        })
        .collect();
    (evals, firing, values)
}

/// The regular grid of `raw`'s samples in `[from, to]`, shifted to start at 0, when every sample
/// there lies on the grid `from + k·step`.
fn raw_window(raw: &Series, step: i64, from: i64, to: i64) -> Option<Series> {
    let lo = raw.timestamps.partition_point(|&t| t < from);
    let hi = raw.timestamps.partition_point(|&t| t <= to);
    let n = ((to - from) / step + 1) as usize;
    let timestamps: Vec<i64> = (0..n as i64).map(|k| k * step).collect();
    let mut values = vec![f64::NAN; n];
    let mut nan_samples = Vec::new();
    for i in lo..hi {
        let offset = raw.timestamps[i] - from;
        if offset % step != 0 {
            return None;
        }
        let k = (offset / step) as usize;
        values[k] = raw.values[i];
        if raw.values[i].is_nan() && raw.nan_samples.binary_search(&i).is_ok() {
            nan_samples.push(k);
        }
    }
    let mut s = Series::from_sorted(raw.name.clone(), timestamps, values);
    s.nan_samples = nan_samples;
    Some(s)
}

/// promtool notation of one sample.
fn notation(samples: &Samples, k: usize) -> String {
    let v = samples.values[k];
    if !v.is_nan() {
        if v.is_infinite() {
            return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
        }
        number(v)
    } else if samples.is_sample(k) {
        "NaN".into()
    } else {
        "_".into()
    }
}

/// The windows of `raw` to test: around the first episodes our engine predicts over the whole
/// history, or the first hours when it predicts none.
fn cases(alert: &ResolvedAlert, raw: &Series) -> Vec<Case> {
    let Some((first, last)) = raw.row_span() else {
        return Vec::new();
    };
    let cfg = promtool_config(alert);
    let step = median_step_ms(raw)
        .filter(|s| *s > 0)
        .unwrap_or(cfg.interval_ms);
    let evals = cfg.eval_times(first, last);
    if evals.is_empty() || cfg.eval_count(first, last) > crate::series::MAX_PERIODS {
        return Vec::new();
    }
    let samples = raw.samples();
    let selected = instant_indices(&samples, &evals, &cfg);
    let (present, _) = prometheus_present(alert, &samples, step, &evals, &selected, None);
    let firing = evaluate(&present, &evals, &cfg, Detail::Full).on_at(&evals);
    let starts: Vec<i64> = (0..firing.len())
        .filter(|&k| firing[k] && (k == 0 || !firing[k - 1]))
        .map(|k| evals[k])
        .collect();
    let span = MAX_WINDOW_MS.min(MAX_VALUES * step.min(cfg.interval_ms));
    let windows: Vec<(i64, i64)> = if starts.is_empty() {
        vec![(first, (first + span).min(last))]
    } else {
        starts
            .iter()
            .take(MAX_WINDOWS)
            .map(|&s| {
                let from = (s - alert.prom.for_ms - MARGIN_MS).max(first);
                (from, (s + span / 2).min(last).min(from + span))
            })
            .collect()
    };
    let feed = alert
        .prometheus
        .as_ref()
        .and_then(|m| input_series(&m.expr))
        .map_or(Feed::Recorded, Feed::Raw);
    windows
        .into_iter()
        .map(|(from, to)| {
            // The window starts at a sample (raw feed) or an evaluation (recorded feed).
            let from = raw.timestamps[raw
                .timestamps
                .partition_point(|&t| t < from)
                .min(raw.len() - 1)];
            let window = match &feed {
                Feed::Raw(_) => raw_window(raw, step, from, to).map(|w| (w, step, feed.clone())),
                Feed::Recorded => None,
            };
            let (window, step, feed) = window.unwrap_or_else(|| {
                (
                    recorded_window(alert, raw, from, to),
                    cfg.interval_ms,
                    Feed::Recorded,
                )
            });
            let samples = window.samples();
            let last = window.timestamps.last().copied().unwrap_or(0);
            let (evals, firing, alert_values) = simulate(alert, &samples, step, &feed, last);
            // Check every change of state, the evaluation before it, and every tenth evaluation.
            let checks = evals
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    k % 10 == 0
                        || firing.get(k + 1).is_some_and(|f| *f != firing[*k])
                        || (*k > 0 && firing[*k] != firing[k - 1])
                })
                .map(|(k, t)| (*t, firing[k], alert_values[k]))
                .collect();
            let mut values: Vec<String> =
                (0..window.len()).map(|k| notation(&samples, k)).collect();
            if feed == Feed::Recorded {
                // The recording rule writes one stale marker when its expression stops returning.
                for (k, value) in values.iter_mut().enumerate().skip(1) {
                    if value == "_" && samples.is_sample(k - 1) {
                        *value = "stale".into();
                    }
                }
            }
            let (series, output_labels) = match &feed {
                Feed::Raw(input) => (input.selector.clone(), input.output_labels.clone()),
                Feed::Recorded => (conventions::value_record(&alert.name), BTreeMap::new()),
            };
            Case {
                step_ms: step,
                series,
                output_labels,
                values,
                checks,
            }
        })
        .collect()
}

/// What the value recording rule writes at each promtool evaluation of the window `[from, to]`:
/// the instant value of the raw series (NaN samples included; absent = no sample).
fn recorded_window(alert: &ResolvedAlert, raw: &Series, from: i64, to: i64) -> Series {
    let cfg = promtool_config(alert);
    let evals: Vec<i64> = cfg.eval_times(0, to - from);
    let absolute: Vec<i64> = evals.iter().map(|t| t + from).collect();
    let selected = instant_indices(&raw.samples(), &absolute, &alert.prom);
    let mut nan_samples = Vec::new();
    let values: Vec<f64> = selected
        .iter()
        .enumerate()
        .map(|(k, s)| match s {
            Some(i) => {
                if raw.values[*i].is_nan() {
                    nan_samples.push(k);
                }
                raw.values[*i]
            }
            None => f64::NAN,
        })
        .collect();
    let mut s = Series::from_sorted(raw.name.clone(), evals, values);
    s.nan_samples = nan_samples;
    s
}

/// A YAML double-quoted string: JSON escaping, plus `\u` escapes for the characters YAML parsers
/// refuse raw (DEL, C1 controls such as NEL, line and paragraph separators, BOM).
fn yaml_string(s: &str) -> String {
    let json = serde_json::to_string(s).expect("strings serialise");
    if json.chars().all(|c| !needs_yaml_escape(c)) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if needs_yaml_escape(c) {
            out.push_str(&format!("\\u{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_yaml_escape(c: char) -> bool {
    c == '\u{7f}'
        || ('\u{80}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn flow_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", yaml_string(k), yaml_string(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// An alert's annotations as the tests expand them: each key with the template the rule carries
/// ([`written_through`]), or `None` for text shown as it is. Parsed once per alert, expanded at
/// every firing check ([`expanded`]).
type Annotations = Vec<(String, String, Option<Template>)>;

fn annotation_templates(alert: &ResolvedAlert) -> Annotations {
    alert_annotations(alert)
        .into_iter()
        .map(|(key, text)| {
            let template = written_through(alert, &text);
            (key, text, template)
        })
        .collect()
}

/// The annotations Prometheus shows for the alert's sample with `labels` and `value`.
fn expanded(
    annotations: &Annotations,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> BTreeMap<String, String> {
    annotations
        .iter()
        .map(|(key, text, template)| {
            let shown = match template {
                Some(t) => t.expand(labels, value),
                None => text.clone(),
            };
            (key.clone(), shown)
        })
        .collect()
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
            let annotations = annotation_templates(alert);
            let out = by_interval.entry(alert.prom.interval_ms).or_default();
            for case in cases(alert, raw) {
                let _ = writeln!(
                    out,
                    "  # {} in {env}: {} of history from {}\n  - interval: {}\n    input_series:\n      - series: {}\n        values: '{}'\n    alert_rule_test:",
                    alert.name,
                    format_prometheus_duration(case.step_ms * (case.values.len() as i64 - 1)),
                    conventions::comment_text(&raw.name),
                    format_prometheus_duration(case.step_ms),
                    yaml_string(&case.series),
                    case.values.join(" ")
                );
                let mut labels = case.output_labels.clone();
                labels.extend(alert_labels(alert));
                let labels = flow_map(&labels);
                for (t, firing, value) in case.checks {
                    let exp = if firing {
                        let annotations =
                            flow_map(&expanded(&annotations, &case.output_labels, value));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn input_series_of_invertible_expressions() {
        let plain = input_series(r#"m{env="dev", job="api"}"#).unwrap();
        assert_eq!(plain.selector, r#"m{env="dev",job="api"}"#);
        assert_eq!(
            plain.output_labels,
            labels(&[("env", "dev"), ("job", "api")])
        );
        let sum = input_series(r#"sum(m{env="dev"})"#).unwrap();
        assert!(sum.output_labels.is_empty());
        let by = input_series(r#"(max by (env) (m{env="dev", job="x"}))"#).unwrap();
        assert_eq!(by.output_labels, labels(&[("env", "dev")]));
        let without =
            input_series(r#"avg without (job) ({__name__="m", env="dev", job="x"})"#).unwrap();
        assert_eq!(without.selector, r#"m{env="dev",job="x"}"#);
        assert_eq!(without.output_labels, labels(&[("env", "dev")]));
    }

    #[test]
    fn other_expressions_are_fed_as_recorded_values() {
        for expr in [
            "rate(m[5m])",
            "m * 2",
            r#"m{env=~"d.*"}"#,
            "m offset 5m",
            "count(m)",
            "sum(sum(m))",
            "topk(1, m)",
            "not valid (",
        ] {
            assert_eq!(input_series(expr), None, "{expr}");
        }
    }
}
