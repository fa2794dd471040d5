//! The version-free alert model the engines, backtests and generators use: every default applied,
//! every value validated, one [`ResolvedAlert`] per (alert, environment).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::band::percentile::PercentileModel;
use crate::band::promql::PromqlModel;
use crate::band::seasonal::SeasonalModel;
use crate::band::{Comparison, Direction};
use crate::engine::cloudwatch::CloudWatchConfig;
use crate::engine::prometheus::PrometheusConfig;
use crate::notify::{AlertmanagerConfig, CloudWatchActions};
use crate::series::{Format, Statistic};

#[derive(Debug, Clone)]
pub struct AlertSet {
    pub name: String,
    /// The spec file this came from (named in generated headers).
    pub source: PathBuf,
    /// The spec as decoded (tuned overlay merged), to resolve variants of its alerts (`tune`).
    pub raw: std::sync::Arc<RawSpec>,
    /// The tuned overlay merged into it, when there was one.
    pub tuned: Option<PathBuf>,
    /// Whether that overlay was tuned on another version of the spec (its fingerprint differs):
    /// its values still apply over whatever the human changed since, which commands say.
    pub tuned_on_other_spec: bool,
    pub environments: BTreeMap<String, Environment>,
    pub notifications: Notifications,
    pub alerts: Vec<Alert>,
}

impl AlertSet {
    /// The environments alerts resolve for (`default` when the spec declares none), limited to
    /// `only` unless it is empty.
    pub fn env_names(&self, only: &[String]) -> Vec<String> {
        let all: Vec<String> = if self.environments.is_empty() {
            vec![DEFAULT_ENV.to_string()]
        } else {
            self.environments.keys().cloned().collect()
        };
        all.into_iter()
            .filter(|e| only.is_empty() || only.contains(e))
            .collect()
    }
}

/// A spec's text and its strict v1 decoding.
#[derive(Debug, Clone)]
pub struct RawSpec {
    pub text: String,
    pub v1: super::v1::AlertSetV1,
    /// The spec as its author wrote it, before a tuned overlay was merged into `v1` (`None` when
    /// none was): `tune` anchors its default grid here, so tuning again over its own overlay
    /// searches the same settings and gives the same answer.
    pub written: Option<super::v1::AlertSetV1>,
}

/// The environment of a spec that declares none.
pub const DEFAULT_ENV: &str = "default";

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    /// Empty for an env without CloudWatch alarms (Prometheus rules only).
    pub account: String,
    pub region: String,
    pub cluster: Option<String>,
    /// Whether this env creates the resources shared by every env in its account.
    pub owns_shared: bool,
    /// Whether this env creates the Prometheus rules ConfigMap of its cluster.
    pub owns_cluster: bool,
}

impl Environment {
    /// The Kubernetes cluster its Prometheus rules go to (its own name when none is set).
    pub fn cluster_name(&self) -> &str {
        self.cluster.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Notifications {
    pub sns_topic: Option<String>,
    pub slack: Option<(String, String)>,
}

/// One alert of the spec, resolved for each environment it is enabled in.
#[derive(Debug, Clone)]
pub struct Alert {
    pub name: String,
    pub per_env: BTreeMap<String, ResolvedAlert>,
    /// The alert's `tune:` block, read and checked: the search space `alertlab tune` uses for it.
    pub tune: Option<super::tunable::Grid>,
}

#[derive(Debug, Clone)]
pub struct ResolvedAlert {
    pub name: String,
    pub env: String,
    pub summary: String,
    pub description: Option<String>,
    pub severity: String,
    pub runbook_url: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub cloudwatch: Option<CloudWatchMetric>,
    pub prometheus: Option<PrometheusMetric>,
    pub condition: Condition,
    pub cw: CloudWatchConfig,
    /// `evaluation_range` as the spec gives it; `None` when it follows N (N + 2), as it then does
    /// for another N tried by `tune`.
    pub evaluation_range_given: Option<usize>,
    pub prom: PrometheusConfig,
    pub actions: CloudWatchActions,
    pub alertmanager: AlertmanagerConfig,
    pub backtest: Option<BacktestSource>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchMetric {
    pub namespace: String,
    pub metric_name: String,
    pub stat: Statistic,
    pub period_s: i64,
    pub dimensions: BTreeMap<String, String>,
}

impl CloudWatchMetric {
    /// Metrics in `AWS/DynamoDB` always treat missing data as `ignore`.
    pub fn forces_ignore(&self) -> bool {
        self.namespace == "AWS/DynamoDB"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusMetric {
    pub expr: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Threshold {
        op: Comparison,
        value: f64,
    },
    Percentile {
        op: Comparison,
        model: PercentileModel,
    },
    Anomaly {
        model: AnomalyModel,
        k: f64,
        direction: Direction,
    },
    /// Fires while the expression returns the series at all (a Prometheus rule whose expression
    /// is not `<value> <op> <number>`: `absent(...)`, `a and b`, a filter). Prometheus only.
    Present,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnomalyModel {
    Seasonal(SeasonalModel),
    /// A real CloudWatch band fetched at width `k0`, replayed at any `k`.
    Replay(ReplayModel),
    /// Mean ± k·stddev over a trailing window, computed by Prometheus recording rules.
    Promql(PromqlModel),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayModel {
    pub k0: f64,
    /// File holding the fetched lower and upper band series.
    pub data: PathBuf,
}

impl ResolvedAlert {
    /// How far around an incident's window an episode still catches it (none without `backtest`).
    pub fn reach(&self) -> crate::score::Reach {
        self.backtest
            .as_ref()
            .map_or_else(Default::default, |b| crate::score::Reach {
                lead_ms: b.lead_ms,
                grace_ms: b.grace_ms,
                view_ms: (0, 0),
                max_delay_ms: b.max_delay_ms,
            })
    }
}

impl AnomalyModel {
    pub fn name(&self) -> &'static str {
        match self {
            AnomalyModel::Seasonal(_) => "seasonal",
            AnomalyModel::Replay(_) => "replay",
            AnomalyModel::Promql(_) => "promql",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSource {
    pub data: PathBuf,
    pub format: Option<Format>,
    pub series: Option<String>,
    pub incidents: Option<PathBuf>,
    pub lead_ms: i64,
    /// `None` unless the spec gives one: point labels then get the alarm's view of them
    /// ([`crate::score::Reach`]).
    pub grace_ms: Option<i64>,
    /// An incident is caught only by an episode starting at most this long after it opens.
    pub max_delay_ms: Option<i64>,
    /// The evaluation span, when the spec sets it (default: the data's first to last row).
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}
