//! `import cloudwatch --live`: the account's alarms through `DescribeAlarms` (every page, metric
//! and composite alarms), turned into the JSON `aws cloudwatch describe-alarms` prints, so the
//! offline importer (`import::cloudwatch`) reads both the same way: one conversion to a spec, not
//! two.

use aws_sdk_cloudwatch::types::{AlarmType, Dimension, MetricAlarm, MetricDataQuery};
use serde_json::{json, Map, Value};

use crate::aws::{self, AwsError, CloudWatch};

/// Pages followed before giving up (a server repeating its token).
const MAX_PAGES: usize = 10_000;

/// Every alarm whose name starts with `prefix`, as `describe-alarms` JSON text.
pub async fn describe_alarms(
    cloudwatch: &CloudWatch,
    prefix: Option<&str>,
) -> Result<String, AwsError> {
    let (client, target) = (&cloudwatch.client, cloudwatch.target.as_str());
    let mut metric_alarms = Vec::new();
    let mut composite_alarms = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .describe_alarms()
            .set_alarm_name_prefix(prefix.map(str::to_string))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| aws::explain(&e, "cloudwatch:DescribeAlarms", target))?;
        metric_alarms.extend(page.metric_alarms().iter().map(alarm_json));
        composite_alarms.extend(
            page.composite_alarms()
                .iter()
                .map(|c| json!({"AlarmName": c.alarm_name(), "AlarmRule": c.alarm_rule()})),
        );
        match page.next_token() {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                token = Some(next.to_string());
            }
            _ => {
                let doc =
                    json!({"MetricAlarms": metric_alarms, "CompositeAlarms": composite_alarms});
                return Ok(serde_json::to_string_pretty(&doc).expect("JSON values serialise"));
            }
        }
    }
    Err(AwsError::Runtime(format!(
        "cloudwatch:DescribeAlarms ({target}): more than {MAX_PAGES} pages; narrow it with `--prefix`"
    )))
}

/// Insert `key: value` when there is a value (the CLI omits absent fields too).
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

fn dimensions(list: &[Dimension]) -> Value {
    list.iter()
        .map(|d| json!({"Name": d.name(), "Value": d.value()}))
        .collect()
}

fn strings(list: &[String]) -> Value {
    list.iter().map(|s| Value::from(s.as_str())).collect()
}

fn query_json(q: &MetricDataQuery) -> Value {
    let mut m = Map::new();
    put(&mut m, "Id", q.id().map(Value::from));
    if let Some(stat) = q.metric_stat() {
        let metric = stat.metric().map(|metric| {
            json!({
                "Namespace": metric.namespace(),
                "MetricName": metric.metric_name(),
                "Dimensions": dimensions(metric.dimensions()),
            })
        });
        let mut s = Map::new();
        put(&mut s, "Metric", metric);
        put(&mut s, "Period", stat.period().map(Value::from));
        put(&mut s, "Stat", stat.stat().map(Value::from));
        put(&mut s, "Unit", stat.unit().map(|u| Value::from(u.as_str())));
        m.insert("MetricStat".into(), Value::Object(s));
    }
    put(&mut m, "Expression", q.expression().map(Value::from));
    put(&mut m, "Label", q.label().map(Value::from));
    put(&mut m, "ReturnData", q.return_data().map(Value::from));
    put(&mut m, "Period", q.period().map(Value::from));
    put(&mut m, "AccountId", q.account_id().map(Value::from));
    Value::Object(m)
}

fn alarm_json(a: &MetricAlarm) -> Value {
    let mut m = Map::new();
    put(&mut m, "AlarmName", a.alarm_name().map(Value::from));
    put(&mut m, "AlarmArn", a.alarm_arn().map(Value::from));
    put(
        &mut m,
        "AlarmDescription",
        a.alarm_description().map(Value::from),
    );
    put(
        &mut m,
        "ActionsEnabled",
        a.actions_enabled().map(Value::from),
    );
    m.insert("OKActions".into(), strings(a.ok_actions()));
    m.insert("AlarmActions".into(), strings(a.alarm_actions()));
    m.insert(
        "InsufficientDataActions".into(),
        strings(a.insufficient_data_actions()),
    );
    put(&mut m, "MetricName", a.metric_name().map(Value::from));
    put(&mut m, "Namespace", a.namespace().map(Value::from));
    put(
        &mut m,
        "Statistic",
        a.statistic().map(|s| Value::from(s.as_str())),
    );
    put(
        &mut m,
        "ExtendedStatistic",
        a.extended_statistic().map(Value::from),
    );
    m.insert("Dimensions".into(), dimensions(a.dimensions()));
    put(&mut m, "Period", a.period().map(Value::from));
    put(
        &mut m,
        "EvaluationPeriods",
        a.evaluation_periods().map(Value::from),
    );
    put(
        &mut m,
        "DatapointsToAlarm",
        a.datapoints_to_alarm().map(Value::from),
    );
    put(&mut m, "Threshold", a.threshold().map(Value::from));
    put(
        &mut m,
        "ComparisonOperator",
        a.comparison_operator().map(|c| Value::from(c.as_str())),
    );
    put(
        &mut m,
        "TreatMissingData",
        a.treat_missing_data().map(Value::from),
    );
    if !a.metrics().is_empty() {
        m.insert(
            "Metrics".into(),
            a.metrics().iter().map(query_json).collect(),
        );
    }
    put(
        &mut m,
        "ThresholdMetricId",
        a.threshold_metric_id().map(Value::from),
    );
    Value::Object(m)
}
