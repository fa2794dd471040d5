//! The search space: spec keys and the values to try. Keys are the spec's own names (`k`,
//! `datapoints_to_alarm`, `for`, ...), so a recommended setting pasted into the spec — or written to
//! the overlay — is read back by the same resolution that `backtest` uses.

use std::collections::BTreeMap;

use crate::series::Statistic;
pub use crate::spec::tunable::{key_meaning, key_names, parse_value, Grid, Value, ValueError};
use crate::spec::{v1, AnomalyModel, Condition, ResolvedAlert};

/// A setting: spec key → value, flat.
pub type Params = BTreeMap<String, Value>;

/// Why `--grid` flags could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error(
        "`--grid {0}`: expected KEY=V1,V2,... (e.g. `k=2,3,4`) or KEY+=V1,... (e.g. `window+=1d`)"
    )]
    Shape(String),
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// Parse `--grid KEY=V1,V2,...` flags; a later flag for the same key replaces an earlier one.
pub fn parse_grid(flags: &[String]) -> Result<Grid, GridError> {
    let (set, added) = parse_grid_flags(flags)?;
    match added.first() {
        Some((key, _)) => Err(GridError::Shape(format!("{key}+=..."))),
        None => Ok(set),
    }
}

/// Parse `--grid` flags into the keys they set (`KEY=V1,...`: exactly these values) and the keys
/// they add to (`KEY+=V1,...`: these values beside the default grid's, which a `+=` flag keeps as
/// the base instead of replacing it: `--grid window+=1d` is the default grid with a one-day window
/// as well). A later flag for the same key and kind replaces an earlier one.
pub fn parse_grid_flags(flags: &[String]) -> Result<(Grid, Grid), GridError> {
    let (mut set, mut added): (Grid, Grid) = (Vec::new(), Vec::new());
    for flag in flags {
        let (key, values) = flag
            .split_once('=')
            .ok_or_else(|| GridError::Shape(flag.clone()))?;
        let (key, grid) = match key.trim().strip_suffix('+') {
            Some(key) => (key.trim(), &mut added),
            None => (key.trim(), &mut set),
        };
        let values: Vec<Value> = values
            .split(',')
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse_value(key, v))
            .collect::<Result<_, _>>()?;
        if values.is_empty() {
            return Err(GridError::Shape(flag.clone()));
        }
        grid.retain(|(k, _)| k != key);
        grid.push((key.to_string(), values));
    }
    Ok((set, added))
}

/// `base` (the default grid, or an alert's `tune:` block) with the keys of `set` taking exactly
/// their values and the values of `added` appended to their key's (a key the base lacks is
/// appended with them).
pub fn combined(mut base: Grid, set: &Grid, added: &Grid) -> Grid {
    for (key, values) in set {
        match base.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => old.clone_from(values),
            None => base.push((key.clone(), values.clone())),
        }
    }
    for (key, values) in added {
        match base.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => {
                for v in values {
                    if !old.contains(v) {
                        old.push(v.clone());
                    }
                }
            }
            None => base.push((key.clone(), values.clone())),
        }
    }
    base
}

/// A sensible default search space for `alert`, per its condition and metric: band width (or the
/// threshold around its current value) × M of N for CloudWatch, × `for` for Prometheus.
///
/// `data_step_ms` is the step of the data the alert is tuned on (the largest median step of its
/// series), which decides the CloudWatch periods worth trying (`period_candidates`).
pub fn default_grid(alert: &ResolvedAlert, data_step_ms: Option<i64>) -> Grid {
    let mut grid: Grid = Vec::new();
    let nums = |v: &[f64]| v.iter().map(|x| Value::Num(*x)).collect::<Vec<_>>();
    match &alert.condition {
        Condition::Anomaly { model, .. } => {
            grid.push((
                "k".into(),
                nums(&[2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0]),
            ));
            if let AnomalyModel::Promql(_) = model {
                let texts = |v: &[&str]| v.iter().map(|t| Value::Text(t.to_string())).collect();
                // A band over the last quarter day beside the short ones: a sustained change of
                // an hour or two is soon part of a 1–3 h band's mean and spread, while it still
                // stands out against 6 h. On NAB's other real folders (budget 1.5) it took the
                // windows caught from 67 to 75 of 80, drift recall on injected anomalies 53 → 57 %
                // (docs/nab-tuning.md), at about twice the band work on 1-minute data (a range is
                // reduced sample by sample, bit for bit as Prometheus does). A day is better
                // still and four times dearer again: `--grid window+=1d`.
                grid.push(("window".into(), texts(&["30m", "1h", "3h", "6h"])));
                // The rule's counterpart of a longer CloudWatch period: comparing the trailing
                // mean (`avg_over_time(value[smooth])`) steadies the compared value, so a
                // sustained change stands out while single odd samples do not. On NAB's labelled
                // CloudWatch series it took the windows caught within budget from 14 to 21 of 30,
                // and on injected anomalies shift recall 52 → 57 %, spikes 37 → 43 %
                // (docs/nab-tuning.md). The band is the same for every `smooth` and fitted once.
                grid.push(("smooth".into(), texts(&["0m", "15m", "1h"])));
                // The same window a day earlier (`offset 1d`) is the rule's counterpart of a
                // seasonal band: for a metric whose normal level follows the time of day, it
                // compares with what the same hour looked like yesterday rather than with the
                // hours just before, which a slow drift or a shift has already moved. On NAB's
                // labelled CloudWatch series it took the windows caught within budget from 21 to
                // 24 of 30, and on injected anomalies shift recall 57 → 80 %, drifts 7 → 43 %
                // (spikes 43 → 40 %). It costs little: the band one season earlier is the
                // window's band shifted, fitted once for both. A week (`1w`) needs more than a
                // week of history to say anything, so it is left to `--grid season=...`.
                grid.push(("season".into(), texts(&["0m", "1d"])));
            }
        }
        Condition::Threshold { value, .. } => {
            let around: Vec<f64> = [0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0]
                .iter()
                .map(|f| value * f)
                .collect();
            grid.push(("value".into(), nums(&around)));
        }
        Condition::Percentile { .. } => {
            grid.push(("p".into(), nums(&[95.0, 99.0, 99.9])));
            grid.push(("factor".into(), nums(&[1.0, 1.2, 1.5, 2.0])));
        }
        // Nothing to widen: only the timing (`for`, `keep_firing_for`) is tuned.
        Condition::Present => {}
    }
    // Short windows for sharp anomalies and long ones (8 and 12 periods, M up to N) for level
    // shifts and drifts, which a long window catches while short bursts stay below M: on NAB's
    // labelled CloudWatch series the long windows took the windows caught within budget from 19 to
    // 23 of 30, and on anomalies injected into them (not the labels) the runs within budget from
    // 48 to 51 of 51, drift recall 29 → 43 %; coarser periods then took them to 26 of 30 and
    // shift recall 53 → 66 % (docs/nab-tuning.md).
    if let Some(metric) = &alert.cloudwatch {
        // A static threshold on a sum or count means something else over a longer period (the
        // statistic grows with it), so such an alarm keeps its period.
        let scales_with_period = matches!(alert.condition, Condition::Threshold { .. })
            && matches!(metric.stat, Statistic::Sum | Statistic::SampleCount);
        let periods = period_candidates(metric.period_s, data_step_ms, !scales_with_period);
        if periods.len() > 1 {
            grid.push((
                "period".into(),
                periods.into_iter().map(Value::Int).collect(),
            ));
        }
        grid.push((
            "evaluation_periods".into(),
            [1, 2, 3, 5, 8, 12].iter().map(|n| Value::Int(*n)).collect(),
        ));
        grid.push((
            "datapoints_to_alarm".into(),
            [1, 2, 3, 4, 5, 6, 8, 10, 12]
                .iter()
                .map(|m| Value::Int(*m))
                .collect(),
        ));
    }
    if alert.prometheus.is_some() {
        grid.push((
            "for".into(),
            ["0m", "2m", "5m", "10m", "15m", "30m", "1h"]
                .iter()
                .map(|v| Value::Text(v.to_string()))
                .collect(),
        ));
    }
    grid
}

/// The default grid's missing-data rule when dropouts are among the incidents to catch (`--inject
/// drop:...`): a band or a threshold never sees a metric that stops reporting, only
/// `TreatMissingData` does, so `breaching` is tried beside the alarm's own rule. Without such
/// incidents the rule stays as written: on a history with gaps in its recording, `breaching` pages
/// on every gap, which is noise unless a gap is what the alarm is there to catch.
pub fn add_missing_data_rule(grid: &mut Grid, alert: &ResolvedAlert) {
    use crate::engine::cloudwatch::TreatMissingData;
    let Some(metric) = &alert.cloudwatch else {
        return;
    };
    let current = alert.cw.treat_missing_data;
    if metric.forces_ignore()
        || current == TreatMissingData::Breaching
        || grid.iter().any(|(key, _)| key == "treat_missing_data")
    {
        return;
    }
    grid.push((
        "treat_missing_data".into(),
        vec![
            Value::Text(current.to_string()),
            Value::Text(TreatMissingData::Breaching.to_string()),
        ],
    ));
}

/// The longest period the default grid proposes on its own: an alarm that waits for more than an
/// hour of data per datapoint answers too late to page on.
const LONGEST_DEFAULT_PERIOD_S: i64 = 3600;

/// The periods the default grid tries for a CloudWatch alarm whose period is `period_s`, shortest
/// first: its own; the data's step when it is half again the period or more (timestamps jittered
/// around the period are not coarser), since a period shorter than the metric's publishing interval
/// leaves most periods without a datapoint and the alarm living by its missing-data rules; and
/// about 3 and 12 times the period, up to an hour and coarser than the data's step, because a
/// longer period is the operator's first knob against noise (a statistic over more datapoints
/// varies less — the mean of n has 1/√n of their spread — so a sustained shift that hides in
/// 5-minute noise stands out of an hourly band), at the cost of delay, which the report shows.
/// The knob turns the other way too: when the period holds a dozen or more of the data's steps (an
/// hourly alarm on 5-minute data), about a third and a twelfth of it answer sooner, by a margin
/// worth a look (an hourly alarm waits an hour per datapoint), and a budget may allow them. A
/// period of a few steps (5 minutes of 1-minute data) keeps its own: there a finer one saves a
/// minute or two of delay and takes the budget for it. `rescale` is false when the statistic grows
/// with the period (a threshold on a sum), which then keeps its own.
fn period_candidates(period_s: i64, data_step_ms: Option<i64>, rescale: bool) -> Vec<i64> {
    let step_period = data_step_ms.map(cloudwatch_period_covering);
    let coarser_step = step_period.filter(|p| 2 * p >= 3 * period_s);
    let mut periods = vec![period_s];
    periods.extend(coarser_step);
    if rescale {
        let finest_useful = coarser_step.unwrap_or(period_s);
        for factor in [3, 12] {
            let multiple = cloudwatch_period_covering(period_s * factor * 1000);
            if multiple > finest_useful && multiple <= LONGEST_DEFAULT_PERIOD_S {
                periods.push(multiple);
            }
            // Finer periods only where the data's step is known, and a dozen of them fit.
            if step_period.is_some_and(|step| period_s >= 12 * step) {
                periods.push(cloudwatch_period_covering(period_s * 1000 / factor));
            }
        }
    }
    periods.sort_unstable();
    periods.dedup();
    periods
}

/// The shortest CloudWatch period (10, 20, 30 or a multiple of 60 seconds) that is at least
/// `step_ms`.
fn cloudwatch_period_covering(step_ms: i64) -> i64 {
    let seconds = (step_ms.max(1) + 999) / 1000;
    match seconds {
        ..=10 => 10,
        11..=20 => 20,
        21..=30 => 30,
        _ => (seconds + 59) / 60 * 60,
    }
}

/// Whether `key` means anything for `alert`'s kind of condition (one `--grid` serves every alert:
/// `k` tunes the band alerts, `value` the static ones).
pub fn applies(alert: &ResolvedAlert, key: &str) -> bool {
    match key {
        "k" => matches!(alert.condition, Condition::Anomaly { .. }),
        "value" => matches!(alert.condition, Condition::Threshold { .. }),
        "p" | "factor" => matches!(alert.condition, Condition::Percentile { .. }),
        "training_days" => matches!(
            alert.condition,
            Condition::Percentile { .. }
                | Condition::Anomaly {
                    model: AnomalyModel::Seasonal(_),
                    ..
                }
        ),
        "window" | "season" | "smooth" => matches!(
            alert.condition,
            Condition::Anomaly {
                model: AnomalyModel::Promql(_),
                ..
            }
        ),
        "period" | "stat" => alert.cloudwatch.is_some(),
        _ => true,
    }
}

/// `alert`'s own value of `key`, spelled as a grid value (so pasted into the spec it resolves to
/// the same alert), or `None` where the key means nothing for it. The report shows the current
/// setting in the keys of the recommendation, so the two read side by side.
pub fn current_value(alert: &ResolvedAlert, key: &str) -> Option<Value> {
    use crate::series::time::{format_prometheus_duration, DAY_MS};
    // Zero as the default grid spells it.
    let duration = |ms: i64| {
        Some(Value::Text(match ms {
            0 => "0m".to_string(),
            _ => format_prometheus_duration(ms),
        }))
    };
    let days = |ms: i64| Some(Value::Num(ms as f64 / DAY_MS as f64));
    let count = |n: usize| Some(Value::Int(n as i64));
    match (key, &alert.condition) {
        ("k", Condition::Anomaly { k, .. }) => Some(Value::Num(*k)),
        ("value", Condition::Threshold { value, .. }) => Some(Value::Num(*value)),
        ("p", Condition::Percentile { model, .. }) => Some(Value::Num(model.percentile)),
        ("factor", Condition::Percentile { model, .. }) => Some(Value::Num(model.factor)),
        ("training_days", Condition::Percentile { model, .. }) => days(model.training_ms),
        (
            "training_days",
            Condition::Anomaly {
                model: AnomalyModel::Seasonal(m),
                ..
            },
        ) => days(m.training_ms),
        (
            "window" | "season" | "smooth",
            Condition::Anomaly {
                model: AnomalyModel::Promql(m),
                ..
            },
        ) => duration(match key {
            "window" => m.window_ms,
            "season" => m.season_ms,
            _ => m.smooth_ms,
        }),
        ("datapoints_to_alarm", _) => count(alert.cw.datapoints_to_alarm),
        ("evaluation_periods", _) => count(alert.cw.evaluation_periods),
        ("evaluation_range", _) => count(alert.cw.evaluation_range),
        ("treat_missing_data", _) => Some(Value::Text(alert.cw.treat_missing_data.to_string())),
        ("period", _) => alert.cloudwatch.as_ref().map(|m| Value::Int(m.period_s)),
        ("stat", _) => alert
            .cloudwatch
            .as_ref()
            .map(|m| Value::Text(m.stat.to_string())),
        ("for", _) => duration(alert.prom.for_ms),
        ("keep_firing_for", _) => duration(alert.prom.keep_firing_for_ms),
        _ => None,
    }
}

/// A setting as people read it: `datapoints_to_alarm=3 k=4`, or `(no change)` for the current
/// setting (the spec's, with its tuned overlay when there is one).
pub fn describe(params: &Params) -> String {
    if params.is_empty() {
        return "(no change)".into();
    }
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every combination of `grid` (the first key varies slowest).
pub fn settings(grid: &Grid) -> Vec<Params> {
    let mut out = vec![Params::new()];
    for (key, values) in grid {
        out = out
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.insert(key.clone(), v.clone());
                    p
                })
            })
            .collect();
    }
    out
}

/// `params` as a spec override (`{condition: {anomaly: {k: 3}}, evaluation: {...}}`) for `alert`'s
/// kind of condition, as JSON in the spec's shape.
pub fn override_json(alert: &ResolvedAlert, params: &Params) -> serde_json::Value {
    use serde_json::{json, Map, Value as J};
    let condition_kind = match &alert.condition {
        Condition::Threshold { .. } => "threshold",
        Condition::Percentile { .. } => "percentile",
        Condition::Anomaly { .. } => "anomaly",
        Condition::Present => "present",
    };
    let mut out = Map::new();
    let mut put = |path: &[&str], v: J| {
        let mut node = &mut out;
        for p in &path[..path.len() - 1] {
            node = node
                .entry(p.to_string())
                .or_insert_with(|| J::Object(Map::new()))
                .as_object_mut()
                .expect("objects all the way down");
        }
        node.insert(path[path.len() - 1].to_string(), v);
    };
    for (key, value) in params {
        let v = serde_json::to_value(value).expect("values serialise");
        match key.as_str() {
            "k" | "window" | "season" | "smooth" => put(&["condition", "anomaly", key], v),
            "value" => put(&["condition", "threshold", key], v),
            "p" | "factor" => put(&["condition", "percentile", key], v),
            "training_days" => put(&["condition", condition_kind, key], v),
            "period" | "stat" => put(&["metric", "cloudwatch", key], v),
            _ => put(&["evaluation", key], v),
        }
    }
    json!(out)
}

/// `params` as the spec's override type (strictly decoded: a value of the wrong type is an error).
pub fn override_of(
    alert: &ResolvedAlert,
    params: &Params,
) -> Result<v1::OverrideV1, serde_json::Error> {
    serde_json::from_value(override_json(alert, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_covering_a_step_are_valid_cloudwatch_periods() {
        assert_eq!(cloudwatch_period_covering(1_000), 10);
        assert_eq!(cloudwatch_period_covering(10_000), 10);
        assert_eq!(cloudwatch_period_covering(15_000), 20);
        assert_eq!(cloudwatch_period_covering(25_000), 30);
        assert_eq!(cloudwatch_period_covering(60_000), 60);
        assert_eq!(cloudwatch_period_covering(90_000), 120);
        assert_eq!(cloudwatch_period_covering(300_000), 300);
        assert_eq!(cloudwatch_period_covering(3_600_000), 3600);
        for step_s in (1..=7_200).chain([86_400, 86_401]) {
            let period = cloudwatch_period_covering(step_s * 1000);
            assert!(
                crate::spec::is_cloudwatch_period(period),
                "{step_s} s → {period}"
            );
            assert!(period >= step_s, "{step_s} s → {period}");
        }
    }

    #[test]
    fn added_values_extend_the_base_and_set_keys_replace_theirs() {
        let (set, added) = parse_grid_flags(&[
            "k+=12,2".to_string(),
            "for=5m".to_string(),
            "season+=1w".to_string(),
        ])
        .unwrap();
        let base: Grid = vec![
            ("k".into(), vec![Value::Num(2.0), Value::Num(4.0)]),
            (
                "for".into(),
                vec![Value::Text("0m".into()), Value::Text("1h".into())],
            ),
        ];
        assert_eq!(
            combined(base, &set, &added),
            vec![
                (
                    "k".to_string(),
                    vec![Value::Num(2.0), Value::Num(4.0), Value::Num(12.0)]
                ),
                ("for".to_string(), vec![Value::Text("5m".into())]),
                ("season".to_string(), vec![Value::Text("1w".into())]),
            ]
        );
        // The set-only parser refuses an addition (the benchmark's grid is a whole grid).
        assert!(parse_grid(&["k+=3".to_string()]).is_err());
    }

    #[test]
    fn default_periods_are_the_own_the_data_step_and_coarser_and_finer_ones() {
        assert_eq!(
            period_candidates(300, Some(300_000), true),
            vec![300, 900, 3600]
        );
        assert_eq!(period_candidates(60, None, true), vec![60, 180, 720]);
        // 3 × 30 s is not a CloudWatch period: the next one is.
        assert_eq!(period_candidates(30, None, true), vec![30, 120, 360]);
        assert_eq!(period_candidates(10, None, true), vec![10, 30, 120]);
        // An hourly alarm is already as coarse as the grid goes; on 5-minute data it also tries
        // a third and a twelfth of its period.
        assert_eq!(
            period_candidates(3600, Some(300_000), true),
            vec![300, 1200, 3600]
        );
        assert_eq!(period_candidates(3600, None, true), vec![3600]);
        assert_eq!(period_candidates(3600, Some(3_600_000), true), vec![3600]);
        // 900 s / 12 is 75 s, not a CloudWatch period: the next one is.
        assert_eq!(
            period_candidates(900, Some(60_000), true),
            vec![120, 300, 900, 2700]
        );
        // A period of fewer than a dozen steps keeps its own.
        assert_eq!(period_candidates(900, Some(240_000), true), vec![900, 2700]);
        assert_eq!(
            period_candidates(300, Some(60_000), true),
            vec![300, 900, 3600]
        );
        // Half-hourly data under a 5-minute alarm: its step, then only what is coarser.
        assert_eq!(
            period_candidates(300, Some(1_800_000), true),
            vec![300, 1800, 3600]
        );
        assert_eq!(
            period_candidates(300, Some(3_600_000), true),
            vec![300, 3600]
        );
        // Jitter around the period is not a coarser step.
        assert_eq!(
            period_candidates(300, Some(400_000), true),
            vec![300, 900, 3600]
        );
        // Daily data: its step is kept, beyond the hour.
        assert_eq!(
            period_candidates(300, Some(86_400_000), true),
            vec![300, 86_400]
        );
        // Without the multiples: the own period and the data's step only.
        assert_eq!(period_candidates(300, Some(300_000), false), vec![300]);
        assert_eq!(period_candidates(3600, Some(300_000), false), vec![3600]);
        assert_eq!(
            period_candidates(300, Some(3_600_000), false),
            vec![300, 3600]
        );
    }

    #[test]
    fn grids_parse_and_name_bad_keys_and_values() {
        let g = parse_grid(&["k=2,3".into(), "for=0m,5m".into()]).unwrap();
        assert_eq!(settings(&g).len(), 4);
        assert!(matches!(
            parse_grid(&["kk=2".into()]),
            Err(GridError::Value(ValueError::UnknownKey { .. }))
        ));
        let e = parse_grid(&["datapoints_to_alrm=2".into()]).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `datapoints_to_alarm`"),
            "{e}"
        );
        let e = parse_grid(&["evaluation_periods=x".into()]).unwrap_err();
        assert!(e.to_string().contains("positive whole number"), "{e}");
        assert!(parse_grid(&["k".into()]).is_err());
        assert!(parse_grid(&["for=5 minutes".into()]).is_err());
    }

    /// The current values, pasted back as a setting, resolve to the alert itself: every key of
    /// every kind of condition, both engines' settings, per env (with the env's overrides).
    #[test]
    fn current_values_pasted_back_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: s}
environments: {dev: {account: "111111111111", region: eu-west-1}, prod: {account: "222222222222", region: eu-west-1}}
alerts:
  - name: pct
    metric:
      cloudwatch: {namespace: N, name: M, stat: p99.9, period: 60}
      prometheus: {expr: 'm'}
    condition: {percentile: {p: 99.5, factor: 1.2, training_days: 3}}
    evaluation: {datapoints_to_alarm: 2, evaluation_periods: 4, evaluation_range: 7, treat_missing_data: breaching, for: 90s, keep_firing_for: 1h30m}
    overrides: {prod: {condition: {percentile: {factor: 1.5}}}}
  - name: rule
    metric: {prometheus: {expr: 'm'}}
    condition: {anomaly: {model: promql, k: 2.5, window: 1d, season: 1w, smooth: 15m}}
"#,
        )
        .unwrap();
        let mut sets = vec![crate::spec::load_file(&path).unwrap()];
        let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/lambda.yaml");
        sets.push(crate::spec::load_file(&bundled).unwrap());
        let mut checked = std::collections::BTreeSet::new();
        for set in &sets {
            for alert in set.alerts.iter().flat_map(|a| a.per_env.values()) {
                let params: Params = key_names()
                    .into_iter()
                    .filter(|key| applies(alert, key))
                    .filter_map(|key| Some((key.to_string(), current_value(alert, key)?)))
                    .collect();
                checked.extend(params.keys().cloned());
                let over = override_of(alert, &params).unwrap();
                let mut again =
                    crate::spec::resolve_with(set, &alert.name, &alert.env, &over).unwrap();
                // Pasted, the range is written where it followed N: the same alarm.
                again.evaluation_range_given = alert.evaluation_range_given;
                assert_eq!(format!("{again:?}"), format!("{alert:?}"), "{params:?}");
            }
        }
        assert_eq!(checked.len(), key_names().len(), "every key: {checked:?}");
    }
}
