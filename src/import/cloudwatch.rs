//! CloudWatch alarms → spec: the JSON of `aws cloudwatch describe-alarms` (`MetricAlarms`). A
//! static alarm (one metric, `GreaterThanThreshold` ...) becomes a `threshold`; an anomaly alarm
//! (metric math `ANOMALY_DETECTION_BAND(m1, k)` as the threshold metric) an `anomaly` band of width
//! `k` on the right side; period, statistic (or `pNN`), dimensions, M of N and TreatMissingData
//! carry over. The account and region come from the alarm's ARN; the SNS topic from its actions.
//! With `--env E`, the suffix `-E` of alarm names (alertlab names alarms `<alert>-<env>`) and
//! dimension values equal to `E` become the env. Composite alarms and other metric math are listed
//! with the reason, not imported.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::Imported;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeAlarms {
    #[serde(default)]
    metric_alarms: Option<Vec<Alarm>>,
    #[serde(default)]
    composite_alarms: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Alarm {
    alarm_name: String,
    alarm_arn: Option<String>,
    alarm_description: Option<String>,
    actions_enabled: Option<bool>,
    #[serde(rename = "OKActions")]
    ok_actions: Vec<String>,
    alarm_actions: Vec<String>,
    insufficient_data_actions: Vec<String>,
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    dimensions: Vec<Dimension>,
    period: Option<i64>,
    evaluation_periods: Option<usize>,
    datapoints_to_alarm: Option<usize>,
    threshold: Option<f64>,
    comparison_operator: String,
    treat_missing_data: Option<String>,
    metrics: Vec<Query>,
    threshold_metric_id: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct Dimension {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Query {
    id: String,
    metric_stat: Option<MetricStat>,
    expression: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStat {
    metric: Metric,
    period: i64,
    stat: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    namespace: String,
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
}

/// The metric an alarm watches and how it compares: spec `metric.cloudwatch` and `condition`.
struct Watched {
    namespace: String,
    name: String,
    stat: String,
    period: i64,
    dimensions: Vec<Dimension>,
    condition: Value,
}

fn static_operator(op: &str) -> Option<&'static str> {
    Some(match op {
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => ">=",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        _ => return None,
    })
}

fn band_direction(op: &str) -> Option<&'static str> {
    Some(match op {
        "GreaterThanUpperThreshold" => "above",
        "LessThanLowerThreshold" => "below",
        "LessThanLowerOrGreaterThanUpperThreshold" => "both",
        _ => return None,
    })
}

/// `ANOMALY_DETECTION_BAND(m1)` or `ANOMALY_DETECTION_BAND(m1, 3)`: the metric id and the width.
fn band_expression(text: &str) -> Option<(String, f64)> {
    let inner = text
        .trim()
        .strip_prefix("ANOMALY_DETECTION_BAND(")?
        .strip_suffix(')')?;
    let mut parts = inner.split(',').map(str::trim);
    let id = parts.next()?.to_string();
    let k = match parts.next() {
        Some(k) => k.parse().ok()?,
        None => 2.0,
    };
    parts.next().is_none().then_some((id, k))
}

fn watched(a: &Alarm) -> Result<Watched, String> {
    if let (Some(name), Some(namespace)) = (&a.metric_name, &a.namespace) {
        let op = static_operator(&a.comparison_operator).ok_or_else(|| {
            match band_direction(&a.comparison_operator) {
                Some(_) => format!(
                    "`{}` needs a band; this alarm has a static threshold",
                    a.comparison_operator
                ),
                None => format!(
                    "`{}` is not a CloudWatch comparison operator",
                    a.comparison_operator
                ),
            }
        })?;
        let threshold = a.threshold.ok_or("a static alarm without `Threshold`")?;
        let stat = a
            .statistic
            .clone()
            .or_else(|| a.extended_statistic.clone())
            .ok_or("no `Statistic` or `ExtendedStatistic`")?;
        replayable(&stat)?;
        return Ok(Watched {
            namespace: namespace.clone(),
            name: name.clone(),
            stat,
            period: a.period.ok_or("no `Period`")?,
            dimensions: a.dimensions.clone(),
            condition: json!({"threshold": {"op": op, "value": threshold}}),
        });
    }
    // Metric math: exactly one metric and its anomaly band, the band as the threshold.
    let band_id = a
        .threshold_metric_id
        .as_deref()
        .ok_or("metric math without a threshold metric (only `ANOMALY_DETECTION_BAND` alarms are expressible)")?;
    let band = a
        .metrics
        .iter()
        .find(|q| q.id == band_id)
        .and_then(|q| q.expression.as_deref())
        .ok_or("the threshold metric is not an expression")?;
    let (metric_id, k) = band_expression(band)
        .ok_or_else(|| format!("metric math `{band}` is not `ANOMALY_DETECTION_BAND(m, k)`"))?;
    if a.metrics.len() != 2 {
        return Err(format!(
            "metric math over {} queries; the spec expresses one metric and its band",
            a.metrics.len()
        ));
    }
    let stat = a
        .metrics
        .iter()
        .find(|q| q.id == metric_id)
        .and_then(|q| q.metric_stat.as_ref())
        .ok_or_else(|| format!("the band's metric `{metric_id}` is not a metric"))?;
    let direction = band_direction(&a.comparison_operator).ok_or_else(|| {
        format!(
            "`{}` compares with a static threshold, but the threshold is a band",
            a.comparison_operator
        )
    })?;
    replayable(&stat.stat)?;
    Ok(Watched {
        namespace: stat.metric.namespace.clone(),
        name: stat.metric.metric_name.clone(),
        stat: stat.stat.clone(),
        period: stat.period,
        dimensions: stat.metric.dimensions.clone(),
        condition: json!({"anomaly": {"model": "seasonal", "k": k, "direction": direction}}),
    })
}

/// A statistic alertlab can replay (CloudWatch also has trimmed means, winsorized means and
/// others, `TM(10%:90%)`, `wm99` …, which it cannot resample).
fn replayable(stat: &str) -> Result<(), String> {
    stat.parse::<crate::series::Statistic>()
        .map(|_| ())
        .map_err(|_| format!("statistic `{stat}` cannot be replayed: alertlab resamples Average, Sum, Minimum, Maximum, SampleCount and percentiles (pNN)"))
}

/// Account and region from `arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME`.
fn arn_account(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() >= 5 && parts[0] == "arn").then(|| (parts[4].to_string(), parts[3].to_string()))
}

/// The describe-alarms JSON `text` (from `source`) as a spec named `name`.
pub fn import(
    text: &str,
    source: &str,
    env: Option<&str>,
    name: String,
) -> Result<Imported, String> {
    let doc: DescribeAlarms = serde_json::from_str(text).map_err(|e| {
        format!(
            "`{source}` line {}: not the output of `aws cloudwatch describe-alarms` ({e})",
            e.line()
        )
    })?;
    let alarms = doc.metric_alarms.ok_or_else(|| {
        format!("`{source}`: no `MetricAlarms` (expected the output of `aws cloudwatch describe-alarms`)")
    })?;
    let env_name = env.unwrap_or("default");
    let mut out = Imported::new(name, source);
    for c in &doc.composite_alarms {
        out.notes.push((
            format!(
                "composite alarm `{}`",
                c["AlarmName"].as_str().unwrap_or("?")
            ),
            "composite alarms combine other alarms; the spec describes metric alarms".into(),
        ));
    }
    let mut names = super::AlertNames::default();
    let mut accounts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut topics: BTreeMap<String, usize> = BTreeMap::new();
    for a in &alarms {
        let what = format!("alarm `{}`", a.alarm_name);
        let w = match watched(a) {
            Ok(w) => w,
            Err(why) => {
                out.notes.push((what, why));
                continue;
            }
        };
        if let Some(acc) = a.alarm_arn.as_deref().and_then(arn_account) {
            *accounts.entry(acc).or_default() += 1;
        }
        for arn in a
            .alarm_actions
            .iter()
            .chain(&a.ok_actions)
            .chain(&a.insufficient_data_actions)
        {
            match arn.split(':').collect::<Vec<_>>().as_slice() {
                ["arn", _, "sns", _, _, topic] => {
                    *topics.entry(topic.to_string()).or_default() += 1
                }
                _ => out.notes.push((
                    what.clone(),
                    format!("action `{arn}` is not an SNS topic; the spec notifies its SNS topic"),
                )),
            }
        }
        let suffix = env.map(|e| format!("-{e}"));
        let base_name = match suffix.as_deref().and_then(|x| a.alarm_name.strip_suffix(x)) {
            Some(base) if !base.is_empty() => base,
            _ => a.alarm_name.as_str(),
        };
        let (alert_name, why) = names.give(base_name);
        let generated = format!("generated, the alarm is named `{alert_name}-{env_name}`");
        if let Some(why) = why {
            out.notes
                .push((what.clone(), format!("{why} ({generated})")));
        }
        if env.is_some() && base_name == a.alarm_name {
            let e = env_name;
            out.notes.push((
                what.clone(),
                format!("the name does not end in `-{e}`; {generated}"),
            ));
        }
        let dimensions: Map<String, Value> = w
            .dimensions
            .iter()
            .map(|d| {
                let v = match env {
                    Some(e) if d.value == e => "{{env}}".to_string(),
                    _ => d.value.clone(),
                };
                (d.name.clone(), Value::String(v))
            })
            .collect();
        let mut metric =
            json!({"namespace": w.namespace, "name": w.name, "stat": w.stat, "period": w.period});
        if !dimensions.is_empty() {
            metric["dimensions"] = Value::Object(dimensions);
        }
        let n = a.evaluation_periods.unwrap_or(1);
        let mut evaluation = json!({
            "datapoints_to_alarm": a.datapoints_to_alarm.unwrap_or(n),
            "evaluation_periods": n,
        });
        if let Some(t) = &a.treat_missing_data {
            evaluation["treat_missing_data"] = t.clone().into();
        }
        let enabled = a.actions_enabled.unwrap_or(true);
        let mut alert = Map::new();
        alert.insert("name".into(), alert_name.into());
        if let Some(d) = &a.alarm_description {
            let mut lines = d.lines();
            if let Some(first) = lines.next().filter(|l| !l.trim().is_empty()) {
                alert.insert("summary".into(), first.trim().into());
            }
            let rest: Vec<&str> = lines.collect();
            if !rest.is_empty() {
                alert.insert("description".into(), rest.join("\n").trim().into());
            }
        }
        alert.insert("metric".into(), json!({"cloudwatch": metric}));
        alert.insert("condition".into(), w.condition);
        alert.insert("evaluation".into(), evaluation);
        alert.insert(
            "notify".into(),
            json!({
                "alarm_actions": enabled && !a.alarm_actions.is_empty(),
                "ok_actions": enabled && !a.ok_actions.is_empty(),
                "insufficient_data_actions": enabled && !a.insufficient_data_actions.is_empty(),
            }),
        );
        out.alerts.push(Value::Object(alert));
    }
    let (account, region) = match accounts.len() {
        0 => {
            if !out.alerts.is_empty() {
                out.notes.push((
                    format!("environment `{env_name}`"),
                    "no `AlarmArn` to read the account and region from: fill in `account` and `region`".into(),
                ));
            }
            ("000000000000".to_string(), "us-east-1".to_string())
        }
        n => {
            let ((account, region), _) = accounts.iter().max_by_key(|(_, c)| **c).expect("n > 0");
            if n > 1 {
                out.notes.push((
                    format!("environment `{env_name}`"),
                    format!("the alarms come from {n} accounts/regions; the spec uses {account}/{region}: import each account with its own `--env`"),
                ));
            }
            (account.clone(), region.clone())
        }
    };
    out.environments.insert(
        env_name.to_string(),
        json!({"account": account, "region": region}),
    );
    if let Some((topic, _)) = topics.iter().max_by_key(|(_, c)| **c) {
        if topics.len() > 1 {
            out.notes.push((
                "notifications".into(),
                format!(
                    "actions notify {} SNS topics; the spec notifies one: `{topic}`",
                    topics.len()
                ),
            ));
        }
        out.notifications = Some(json!({"sns_topic": topic}));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_expressions_parse_with_and_without_k() {
        assert_eq!(
            band_expression("ANOMALY_DETECTION_BAND(m1, 3.5)"),
            Some(("m1".into(), 3.5))
        );
        assert_eq!(
            band_expression("ANOMALY_DETECTION_BAND(m1)"),
            Some(("m1".into(), 2.0))
        );
        assert_eq!(band_expression("m1 * 2"), None);
        assert_eq!(band_expression("ANOMALY_DETECTION_BAND(m1, 2, 3)"), None);
    }
}
