//! The `alertlab/v1` spec as written in `alerts/*.yaml`, decoded strictly: every struct denies
//! unknown keys so a typo is an error naming the file, line and nearest valid key. Every field is
//! optional here so that per-environment `overrides` can use the same types; defaults and
//! validation happen when resolving into the version-free model ([`super::model`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSetV1 {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: MetadataV1,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentV1>,
    #[serde(default)]
    pub notifications: Option<NotificationsV1>,
    pub alerts: Vec<AlertV1>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataV1 {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentV1 {
    /// AWS account id: required when the env has CloudWatch alarms.
    pub account: Option<String>,
    /// AWS region: required when the env has CloudWatch alarms.
    pub region: Option<String>,
    /// Kubernetes cluster holding this env's Prometheus rules (envs sharing one get one ConfigMap).
    pub cluster: Option<String>,
    /// This env creates the resources shared by envs in its account (default: the first env of the
    /// account in name order).
    pub owns_shared: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsV1 {
    /// SNS topic name, created once per account.
    pub sns_topic: Option<String>,
    /// AWS Chatbot Slack channel subscribed to the topic, created once per account.
    pub slack: Option<SlackV1>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackV1 {
    pub workspace_id: String,
    pub channel_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertV1 {
    pub name: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    pub runbook_url: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Limit the alert to these environments (default: all).
    pub environments: Option<Vec<String>>,
    pub metric: MetricV1,
    pub condition: ConditionV1,
    #[serde(default)]
    pub evaluation: EvaluationV1,
    #[serde(default)]
    pub notify: NotifyV1,
    #[serde(default)]
    pub overrides: BTreeMap<String, OverrideV1>,
    pub backtest: Option<BacktestV1>,
    /// The search space `alertlab tune` uses for this alert: spec key → values to try.
    pub tune: Option<BTreeMap<String, Vec<ScalarV1>>>,
}

/// A number or a word, kept as written (grid values of a `tune:` block).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarV1(pub String);

impl<'de> Deserialize<'de> for ScalarV1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ScalarV1(match RawScalar::deserialize(d)? {
            RawScalar::Text(s) => s,
            RawScalar::Int(n) => n.to_string(),
            RawScalar::Float(f) => f.to_string(),
        }))
    }
}

/// A YAML scalar as written: text, a whole number or a decimal.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawScalar {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricV1 {
    pub cloudwatch: Option<CloudWatchMetricV1>,
    pub prometheus: Option<PrometheusMetricV1>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchMetricV1 {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub stat: Option<String>,
    pub period: Option<i64>,
    pub dimensions: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusMetricV1 {
    pub expr: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionV1 {
    pub threshold: Option<ThresholdV1>,
    pub percentile: Option<PercentileV1>,
    pub anomaly: Option<AnomalyV1>,
    /// `present: {}`: fires while the expression returns the series (Prometheus only).
    pub present: Option<PresentV1>,
}

impl ConditionV1 {
    /// The kinds of condition this one sets, by their key: exactly one in a resolved alert, any
    /// number in an override (what resolution checks, merging and the tuned overlay read).
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> {
        [
            ("threshold", self.threshold.is_some()),
            ("percentile", self.percentile.is_some()),
            ("anomaly", self.anomaly.is_some()),
            ("present", self.present.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
    }
}

/// No keys: the expression itself is the condition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresentV1 {}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdV1 {
    pub op: Option<String>,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PercentileV1 {
    pub p: Option<f64>,
    pub op: Option<String>,
    pub training_days: Option<f64>,
    pub factor: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyV1 {
    pub model: Option<String>,
    pub k: Option<f64>,
    pub direction: Option<String>,
    pub training_days: Option<f64>,
    pub seasonality: Option<String>,
    pub refit: Option<Duration>,
    pub min_history: Option<Duration>,
    /// `replay`: the width the band was fetched at.
    pub k0: Option<f64>,
    /// `replay`: the file with the fetched band (GetMetricData JSON, CSV or Parquet).
    pub band_data: Option<String>,
    /// `promql`: the trailing window of the mean and standard deviation.
    pub window: Option<Duration>,
    /// `promql`: take the window one season (`1d`, `1w`, ...) earlier.
    pub season: Option<Duration>,
    /// `promql`: compare the mean over this trailing span instead of the value.
    pub smooth: Option<Duration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationV1 {
    pub datapoints_to_alarm: Option<usize>,
    pub evaluation_periods: Option<usize>,
    pub treat_missing_data: Option<String>,
    pub evaluation_range: Option<usize>,
    /// `sliding` (default) or `wallClock`.
    pub evaluation_window: Option<String>,
    #[serde(rename = "for")]
    pub for_: Option<Duration>,
    pub keep_firing_for: Option<Duration>,
    pub interval: Option<Duration>,
    pub phase: Option<Duration>,
    pub lookback_delta: Option<Duration>,
    /// `2` (default: a sample exactly `lookback_delta`/`range` old is included) or `3` (excluded).
    pub prometheus_version: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyV1 {
    pub alarm_actions: Option<bool>,
    pub ok_actions: Option<bool>,
    pub insufficient_data_actions: Option<bool>,
    pub group_wait: Option<Duration>,
    pub group_interval: Option<Duration>,
    pub repeat_interval: Option<Duration>,
    pub send_resolved: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestV1 {
    pub data: Option<String>,
    pub format: Option<String>,
    /// Only series whose name contains this text.
    pub series: Option<String>,
    pub incidents: Option<String>,
    pub lead: Option<Duration>,
    /// An episode starting this long after an incident's window still catches it.
    pub grace: Option<Duration>,
    /// An incident is caught only by an episode starting at most this long after it opens.
    pub max_delay: Option<Duration>,
    /// Start of the evaluation span (RFC 3339, or epoch seconds or milliseconds; default: the
    /// first row).
    pub start: Option<TimeV1>,
    /// End of the evaluation span (default: the last row).
    pub end: Option<TimeV1>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideV1 {
    pub enabled: Option<bool>,
    pub summary: Option<String>,
    pub severity: Option<String>,
    pub metric: Option<MetricV1>,
    pub condition: Option<ConditionV1>,
    pub evaluation: Option<EvaluationV1>,
    pub notify: Option<NotifyV1>,
    pub backtest: Option<BacktestV1>,
}

/// A point in time as written: RFC 3339 text or an epoch number, seconds or milliseconds (kept
/// as written).
pub type TimeV1 = ScalarV1;

/// A duration as written: `15m`, `1h30m`, or a number of seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Duration(pub String);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawScalar::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a duration such as `15m`, `1h30m` or a number of seconds",
            )
        })?;
        Ok(match raw {
            RawScalar::Text(s) => Duration(s),
            RawScalar::Int(n) => Duration(if n == 0 { "0".into() } else { format!("{n}s") }),
            RawScalar::Float(f) => Duration(format!("{}ms", (f * 1000.0).round() as i64)),
        })
    }
}

/// Field-wise merge of an override onto a base: set fields of `over` win.
pub trait Merge {
    fn merge(&mut self, over: &Self);
}

macro_rules! leaf_merge {
    ($($t:ty),*) => {$(impl Merge for $t { fn merge(&mut self, over: &Self) { *self = over.clone(); } })*};
}
leaf_merge!(String, f64, i64, u32, usize, bool, Duration, ScalarV1);

impl<T: Merge + Clone> Merge for Option<T> {
    fn merge(&mut self, over: &Self) {
        match (self.as_mut(), over) {
            (Some(base), Some(o)) => base.merge(o),
            (None, Some(o)) => *self = Some(o.clone()),
            _ => {}
        }
    }
}

impl Merge for BTreeMap<String, String> {
    fn merge(&mut self, over: &Self) {
        self.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

macro_rules! struct_merge {
    ($t:ty; $($f:ident),*) => {
        impl Merge for $t {
            fn merge(&mut self, over: &Self) { $( self.$f.merge(&over.$f); )* }
        }
    };
}
struct_merge!(MetricV1; cloudwatch, prometheus);
struct_merge!(CloudWatchMetricV1; namespace, name, stat, period, dimensions);
struct_merge!(PrometheusMetricV1; expr);
struct_merge!(ThresholdV1; op, value);
struct_merge!(PercentileV1; p, op, training_days, factor);
struct_merge!(AnomalyV1; model, k, direction, training_days, seasonality, refit, min_history, k0, band_data, window, season, smooth);
struct_merge!(EvaluationV1; datapoints_to_alarm, evaluation_periods, treat_missing_data, evaluation_range, evaluation_window, for_, keep_firing_for, interval, phase, lookback_delta, prometheus_version);
struct_merge!(NotifyV1; alarm_actions, ok_actions, insufficient_data_actions, group_wait, group_interval, repeat_interval, send_resolved);
struct_merge!(BacktestV1; data, format, series, incidents, lead, grace, max_delay, start, end);
struct_merge!(OverrideV1; enabled, summary, severity, metric, condition, evaluation, notify, backtest);

impl Merge for ConditionV1 {
    /// An override naming another kind of condition replaces the base's kind.
    fn merge(&mut self, over: &Self) {
        let switches = over
            .kinds()
            .any(|kind| !self.kinds().any(|own| own == kind));
        if switches {
            *self = over.clone();
        } else {
            self.threshold.merge(&over.threshold);
            self.percentile.merge(&over.percentile);
            self.anomaly.merge(&over.anomaly);
        }
    }
}
