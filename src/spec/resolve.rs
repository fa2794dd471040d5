//! From the decoded v1 spec to the version-free model: apply per-env overrides, fill defaults,
//! validate every value against what CloudWatch and Prometheus accept, and locate each error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::*;
use super::v1::{self, Merge};
use super::{find_line, SpecError};
use crate::band::percentile::PercentileModel;
use crate::band::promql::PromqlModel;
use crate::band::seasonal::{SeasonalModel, Seasonality};
use crate::band::{Comparison, Direction};
use crate::engine::cloudwatch::{CloudWatchConfig, TreatMissingData};
use crate::engine::prometheus::{PrometheusConfig, PrometheusVersion};
use crate::notify::{AlertmanagerConfig, CloudWatchActions};
use crate::series::time::{parse_duration, parse_time_arg, DAY_MS, HOUR_MS, SECOND_MS};
use crate::series::{Format, Statistic};

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    /// `metadata.labels`: labels of every alert of the set (an alert's own `labels` win).
    set_labels: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// An error at `key` inside alert `alert` (and env override `env`, when given).
    fn err(
        &self,
        alert: Option<&str>,
        env: Option<&str>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        let alert_key = alert.map(|a| format!("name: {a}"));
        let mut path: Vec<&str> = Vec::new();
        if let Some(a) = &alert_key {
            path.push(a);
        }
        if let Some(e) = env {
            path.push("overrides");
            path.push(e);
        }
        path.push(key);
        let line =
            find_line(self.text, &path).or_else(|| find_line(self.text, &path[..path.len() - 1]));
        let scope = match (alert, env) {
            (Some(a), Some(e)) => format!("alert `{a}`, env `{e}`: "),
            (Some(a), None) => format!("alert `{a}`: "),
            _ => String::new(),
        };
        SpecError {
            path: self.path.to_path_buf(),
            line,
            message: format!("{scope}{message}"),
            hint,
        }
    }
}

/// Resolve `raw` (decoded from `text`, a tuned overlay merged in when `written`, the spec before
/// it, is given).
pub fn resolve(
    path: &Path,
    text: &str,
    raw: v1::AlertSetV1,
    written: Option<v1::AlertSetV1>,
) -> Result<AlertSet, SpecError> {
    let ctx = Ctx {
        path,
        text,
        set_labels: &raw.metadata.labels,
    };
    let raw_spec = std::sync::Arc::new(RawSpec {
        text: text.to_string(),
        v1: raw.clone(),
        written,
    });
    if raw.kind != "AlertSet" {
        return Err(ctx.err(
            None,
            None,
            "kind",
            format!("`kind` must be `AlertSet`, got `{}`", raw.kind),
            None,
        ));
    }
    safe_component(&ctx, "name", "`metadata.name`", &raw.metadata.name)?;
    let environments = resolve_environments(&ctx, &raw.environments)?;
    if raw.alerts.is_empty() {
        return Err(ctx.err(None, None, "alerts", "`alerts` is empty".into(), None));
    }
    let mut alerts: Vec<Alert> = Vec::new();
    let mut names: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for a in &raw.alerts {
        if !a
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || a.name.is_empty()
        {
            return Err(ctx.err(
                Some(&a.name),
                None,
                "name",
                format!(
                    "alert name `{}` may use only letters, digits, `-` and `_`",
                    a.name
                ),
                None,
            ));
        }
        if !names.insert(a.name.as_str()) {
            return Err(ctx.err(
                Some(&a.name),
                None,
                "name",
                format!("alert `{}` is defined twice", a.name),
                None,
            ));
        }
        // A spec without environments has the one called `default` (what a tuned overlay of it
        // names).
        let known = |env: &str| {
            environments.contains_key(env) || (environments.is_empty() && env == DEFAULT_ENV)
        };
        for env in a.overrides.keys().chain(a.environments.iter().flatten()) {
            if !known(env) {
                return Err(ctx.err(
                    Some(&a.name),
                    None,
                    env,
                    format!("unknown environment `{env}`"),
                    Some(if environments.is_empty() {
                        format!("this spec has no `environments`: its one environment is `{DEFAULT_ENV}`")
                    } else {
                        format!(
                            "environments of this spec: {}",
                            environments.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }),
                ));
            }
        }
        let mut per_env = BTreeMap::new();
        let env_names: Vec<String> = if environments.is_empty() {
            vec![DEFAULT_ENV.to_string()]
        } else {
            environments.keys().cloned().collect()
        };
        for env_name in env_names {
            if a.environments
                .as_ref()
                .is_some_and(|only| !only.contains(&env_name))
            {
                continue;
            }
            let over = a.overrides.get(&env_name);
            if over.and_then(|o| o.enabled) == Some(false) {
                continue;
            }
            let env = environments.get(&env_name);
            per_env.insert(
                env_name.clone(),
                resolve_alert(&ctx, a, over, &env_name, env)?,
            );
        }
        alerts.push(Alert {
            name: a.name.clone(),
            per_env,
        });
    }
    let notifications = raw
        .notifications
        .map(|n| Notifications {
            sns_topic: n.sns_topic,
            slack: n.slack.map(|s| (s.workspace_id, s.channel_id)),
        })
        .unwrap_or_default();
    Ok(AlertSet {
        name: raw.metadata.name,
        source: path.to_path_buf(),
        raw: raw_spec,
        tuned: None,
        environments,
        notifications,
        alerts,
    })
}

/// Names that become file names of generated output (`metadata.name`, `cluster`) must be one safe
/// path component: letters, digits, `.`, `-`, `_`, not starting with `.` or `-`, at most 100
/// characters — so nothing is ever written outside the output folder.
fn safe_component(ctx: &Ctx, key: &str, what: &str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        return Ok(());
    }
    Err(ctx.err(
        None,
        None,
        key,
        format!(
            "{what} `{}` becomes a file name: use letters, digits, `.`, `-` and `_` (starting with a letter or digit, at most 100 characters)",
            value.escape_debug()
        ),
        None,
    ))
}

fn resolve_environments(
    ctx: &Ctx,
    raw: &BTreeMap<String, v1::EnvironmentV1>,
) -> Result<BTreeMap<String, Environment>, SpecError> {
    let mut out = BTreeMap::new();
    for (name, e) in raw {
        safe_component(ctx, name, "environment name", name)?;
        if let Some(cluster) = &e.cluster {
            safe_component(
                ctx,
                "cluster",
                &format!("environment `{name}`: `cluster`"),
                cluster,
            )?;
        }
        if let Some(account) = &e.account {
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                return Err(ctx.err(None, None, name, format!("environment `{name}`: `account` must be a 12-digit AWS account id (quoted), got `{account}`"), None));
            }
        }
        out.insert(
            name.clone(),
            Environment {
                name: name.clone(),
                account: e.account.clone().unwrap_or_default(),
                region: e.region.clone().unwrap_or_default(),
                cluster: e.cluster.clone(),
                owns_shared: false,
                owns_cluster: false,
            },
        );
    }
    // One owner of shared resources per account: the explicit one, else the first env by name.
    let accounts: Vec<String> = out
        .values()
        .map(|e: &Environment| e.account.clone())
        .collect();
    for account in accounts {
        let members: Vec<&String> = raw
            .iter()
            .filter(|(_, e)| e.account.clone().unwrap_or_default() == account)
            .map(|(n, _)| n)
            .collect();
        let explicit: Vec<&String> = members
            .iter()
            .copied()
            .filter(|n| raw[*n].owns_shared == Some(true))
            .collect();
        if explicit.len() > 1 {
            return Err(ctx.err(
                None,
                None,
                explicit[1],
                format!(
                    "environments {} both set `owns_shared` for account {account}; exactly one may",
                    explicit
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                None,
            ));
        }
        let owner = explicit
            .first()
            .copied()
            .or_else(|| {
                members
                    .iter()
                    .copied()
                    .find(|n| raw[*n].owns_shared != Some(false))
            })
            .or(members.first().copied());
        if let Some(owner) = owner {
            if let Some(env) = out.get_mut(owner) {
                env.owns_shared = true;
            }
        }
    }
    // One owner of each cluster's rules ConfigMap: the member that owns its account's shared
    // resources, else the first by name.
    let clusters: std::collections::BTreeSet<String> =
        out.values().map(|e| e.cluster_name().to_string()).collect();
    for cluster in clusters {
        let members: Vec<String> = out
            .values()
            .filter(|e| e.cluster_name() == cluster)
            .map(|e| e.name.clone())
            .collect();
        let owner = members
            .iter()
            .find(|n| out[*n].owns_shared)
            .or(members.first())
            .cloned();
        if let Some(owner) = owner {
            if let Some(env) = out.get_mut(&owner) {
                env.owns_cluster = true;
            }
        }
    }
    Ok(out)
}

fn duration(
    ctx: &Ctx,
    alert: &str,
    env: Option<&str>,
    key: &str,
    d: &Option<v1::Duration>,
    default_ms: i64,
) -> Result<i64, SpecError> {
    match d {
        None => Ok(default_ms),
        Some(v1::Duration(text)) => {
            let ms = parse_duration(text).ok_or_else(|| {
                ctx.err(
                    Some(alert),
                    env,
                    key,
                    format!("`{key}`: `{text}` is not a non-negative duration"),
                    Some("write it like `30s`, `15m`, `1h30m` or `0`".into()),
                )
            })?;
            if ms > MAX_DURATION_MS {
                return Err(ctx.err(
                    Some(alert),
                    env,
                    key,
                    format!("`{key}`: `{text}` is longer than a year, the longest duration alertlab accepts"),
                    None,
                ));
            }
            Ok(ms)
        }
    }
}

/// The longest duration in a spec (`for`, windows, Alertmanager intervals...): one year.
const MAX_DURATION_MS: i64 = 365 * DAY_MS;

/// Whether `seconds` is a CloudWatch period: 10, 20 or 30 (high resolution) or a whole number of
/// minutes.
pub fn is_cloudwatch_period(seconds: i64) -> bool {
    matches!(seconds, 10 | 20 | 30) || (seconds > 0 && seconds % 60 == 0)
}

/// The longest a CloudWatch alarm may look back, `period` × `evaluation_periods`, in seconds: a day
/// for periods under an hour, a week otherwise (PutMetricAlarm's limits).
pub fn evaluation_limit_s(period_s: i64) -> i64 {
    if period_s < 3600 {
        DAY_MS / SECOND_MS
    } else {
        7 * DAY_MS / SECOND_MS
    }
}

/// Largest `evaluation_periods` / `evaluation_range` (a week of 1-minute periods; CloudWatch's own
/// limits are far lower).
const MAX_EVALUATION_PERIODS: usize = 10_080;

/// Substitute `{{env}}`, `{{account}}`, `{{region}}` and `{{alert}}`; any other `{{…}}` is an error.
fn template(
    ctx: &Ctx,
    alert: &str,
    key: &str,
    text: &str,
    env: &str,
    e: Option<&Environment>,
) -> Result<String, SpecError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            return Err(ctx.err(
                Some(alert),
                None,
                key,
                format!("`{key}`: unclosed `{{{{` in `{text}`"),
                None,
            ));
        };
        let name = rest[start + 2..start + end].trim();
        let value = match name {
            "env" => env.to_string(),
            "alert" => alert.to_string(),
            "account" => e.map(|e| e.account.clone()).unwrap_or_default(),
            "region" => e.map(|e| e.region.clone()).unwrap_or_default(),
            _ => {
                return Err(ctx.err(
                    Some(alert),
                    None,
                    key,
                    format!("`{key}`: unknown placeholder `{{{{{name}}}}}`"),
                    Some("placeholders: {{env}}, {{account}}, {{region}}, {{alert}}".into()),
                ))
            }
        };
        out.push_str(&value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_alert(
    ctx: &Ctx,
    a: &v1::AlertV1,
    over: Option<&v1::OverrideV1>,
    env_name: &str,
    env: Option<&Environment>,
) -> Result<ResolvedAlert, SpecError> {
    let name = a.name.as_str();
    let oe = over.map(|_| env_name); // where override errors point
    let mut metric = a.metric.clone();
    let mut condition = a.condition.clone();
    let mut evaluation = a.evaluation.clone();
    let mut notify = a.notify.clone();
    let mut backtest = a.backtest.clone();
    let (mut summary, mut severity) = (a.summary.clone(), a.severity.clone());
    if let Some(o) = over {
        if let Some(m) = &o.metric {
            metric.merge(m);
        }
        if let Some(c) = &o.condition {
            condition.merge(c);
        }
        if let Some(e) = &o.evaluation {
            evaluation.merge(e);
        }
        if let Some(n) = &o.notify {
            notify.merge(n);
        }
        backtest.merge(&o.backtest);
        summary.merge(&o.summary);
        severity.merge(&o.severity);
    }

    let cloudwatch = match &metric.cloudwatch {
        None => None,
        Some(m) => {
            let namespace = m.namespace.clone().ok_or_else(|| {
                ctx.err(
                    Some(name),
                    oe,
                    "cloudwatch",
                    "`metric.cloudwatch.namespace` is required".into(),
                    None,
                )
            })?;
            let metric_name = m.name.clone().ok_or_else(|| {
                ctx.err(
                    Some(name),
                    oe,
                    "cloudwatch",
                    "`metric.cloudwatch.name` is required".into(),
                    None,
                )
            })?;
            let stat_text = m.stat.clone().unwrap_or_else(|| "Average".into());
            let stat: Statistic = stat_text.parse().map_err(|e: String| {
                ctx.err(Some(name), oe, "stat", format!("`stat`: {e}"), None)
            })?;
            let period_s = m.period.unwrap_or(300);
            if !is_cloudwatch_period(period_s) {
                return Err(ctx.err(
                    Some(name),
                    oe,
                    "period",
                    format!("`period` {period_s} is not 10, 20, 30 or a multiple of 60 seconds"),
                    None,
                ));
            }
            let dimensions = m
                .dimensions
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| Ok((k, template(ctx, name, "dimensions", &v, env_name, env)?)))
                .collect::<Result<_, SpecError>>()?;
            Some(CloudWatchMetric {
                namespace,
                metric_name,
                stat,
                period_s,
                dimensions,
            })
        }
    };
    let prometheus = match &metric.prometheus {
        None => None,
        Some(p) => {
            let expr = p.expr.clone().ok_or_else(|| {
                ctx.err(
                    Some(name),
                    oe,
                    "prometheus",
                    "`metric.prometheus.expr` is required".into(),
                    None,
                )
            })?;
            let expr = template(ctx, name, "expr", &expr, env_name, env)?;
            if let Err(e) = promql_parser::parser::parse(&expr) {
                return Err(ctx.err(
                    Some(name),
                    oe,
                    "expr",
                    format!(
                        "`metric.prometheus.expr` is not valid PromQL in env `{env_name}`: {}",
                        e.lines().next().unwrap_or("")
                    ),
                    None,
                ));
            }
            Some(PrometheusMetric { expr })
        }
    };
    if cloudwatch.is_none() && prometheus.is_none() {
        return Err(ctx.err(
            Some(name),
            oe,
            "metric",
            "`metric` needs `cloudwatch`, `prometheus` or both".into(),
            None,
        ));
    }

    let condition = resolve_condition(
        ctx,
        name,
        oe,
        env_name,
        env,
        &condition,
        cloudwatch.as_ref().map(|c| c.period_s),
    )?;
    if let (Some(_), Some(e)) = (&cloudwatch, env) {
        if e.account.is_empty() || e.region.is_empty() {
            return Err(ctx.err(
                Some(name),
                oe,
                "cloudwatch",
                format!("environment `{env_name}` has no `account` or `region`: a CloudWatch alarm needs both"),
                Some(format!("add `account: \"123456789012\"` and `region: ...` to `environments.{env_name}`, or restrict the alert to Prometheus")),
            ));
        }
    }
    if condition == Condition::Present && (cloudwatch.is_some() || prometheus.is_none()) {
        return Err(ctx.err(
            Some(name),
            oe,
            "present",
            "`present` fires while a PromQL expression returns a series: it needs `metric.prometheus` and no `metric.cloudwatch` (a CloudWatch alarm compares a value: use a `threshold`)".into(),
            None,
        ));
    }

    let n = evaluation.evaluation_periods.unwrap_or(1);
    let m = evaluation.datapoints_to_alarm.unwrap_or(n);
    if n == 0 {
        return Err(ctx.err(
            Some(name),
            oe,
            "evaluation_periods",
            "`evaluation_periods` must be at least 1".into(),
            None,
        ));
    }
    if m == 0 || m > n {
        return Err(ctx.err(
            Some(name),
            oe,
            "datapoints_to_alarm",
            format!("`datapoints_to_alarm` ({m}) must be between 1 and `evaluation_periods` ({n})"),
            Some("M of N: alarm when M of the last N datapoints breach".into()),
        ));
    }
    if let Some(cw) = &cloudwatch {
        let limit = evaluation_limit_s(cw.period_s);
        if cw.period_s * n as i64 > limit {
            return Err(ctx.err(Some(name), oe, "evaluation_periods", format!("`period` × `evaluation_periods` = {} s exceeds CloudWatch's limit of {limit} s", cw.period_s * n as i64), None));
        }
    }
    if n > MAX_EVALUATION_PERIODS
        || evaluation.evaluation_range.unwrap_or(0) > MAX_EVALUATION_PERIODS
    {
        return Err(ctx.err(
            Some(name),
            oe,
            "evaluation_periods",
            format!("`evaluation_periods` and `evaluation_range` may be at most {MAX_EVALUATION_PERIODS}"),
            None,
        ));
    }
    let r = evaluation.evaluation_range.unwrap_or(n + 2);
    if r < n {
        return Err(ctx.err(
            Some(name),
            oe,
            "evaluation_range",
            format!("`evaluation_range` ({r}) must be at least `evaluation_periods` ({n})"),
            None,
        ));
    }
    let mut treat: TreatMissingData = match &evaluation.treat_missing_data {
        None => TreatMissingData::Missing,
        Some(t) => t.parse().map_err(|e: String| {
            ctx.err(
                Some(name),
                oe,
                "treat_missing_data",
                format!("`treat_missing_data`: {e}"),
                None,
            )
        })?,
    };
    if cloudwatch.as_ref().is_some_and(|c| c.forces_ignore()) {
        treat = TreatMissingData::Ignore;
    }
    let wall_clock = match evaluation.evaluation_window.as_deref() {
        None | Some("sliding") | Some("SlidingWindow") => false,
        Some("wallClock") | Some("WallClockWindow") => true,
        Some(other) => {
            return Err(ctx.err(
                Some(name),
                oe,
                "evaluation_window",
                format!("`evaluation_window` `{other}`: expected `sliding` or `wallClock`"),
                None,
            ))
        }
    };
    let cw = CloudWatchConfig {
        evaluation_periods: n,
        datapoints_to_alarm: m,
        evaluation_range: r,
        treat_missing_data: treat,
        wall_clock,
    };

    let d = |key: &str, v: &Option<v1::Duration>, default| duration(ctx, name, oe, key, v, default);
    let prom = PrometheusConfig {
        interval_ms: d("interval", &evaluation.interval, 60 * SECOND_MS)?,
        phase_ms: d("phase", &evaluation.phase, 0)?,
        for_ms: d("for", &evaluation.for_, 0)?,
        keep_firing_for_ms: d("keep_firing_for", &evaluation.keep_firing_for, 0)?,
        lookback_ms: d(
            "lookback_delta",
            &evaluation.lookback_delta,
            5 * 60 * SECOND_MS,
        )?,
        version: match evaluation.prometheus_version {
            None | Some(2) => PrometheusVersion::V2,
            Some(3) => PrometheusVersion::V3,
            Some(other) => {
                return Err(ctx.err(
                    Some(name),
                    oe,
                    "prometheus_version",
                    format!("`prometheus_version` {other}: expected 2 or 3"),
                    Some("Prometheus 3 excludes a sample exactly `lookback_delta` (or a range) old; 2.x includes it".into()),
                ))
            }
        },
    };
    // The band's recording rules run on the same Prometheus as the alert.
    let mut condition = condition;
    if let Condition::Anomaly {
        model: AnomalyModel::Promql(m),
        ..
    } = &mut condition
    {
        m.version = prom.version;
    }
    if prom.interval_ms < SECOND_MS {
        return Err(ctx.err(
            Some(name),
            oe,
            "interval",
            "`interval` must be at least 1s".into(),
            None,
        ));
    }
    let actions = CloudWatchActions {
        alarm: notify.alarm_actions.unwrap_or(true),
        ok: notify.ok_actions.unwrap_or(true),
        insufficient_data: notify.insufficient_data_actions.unwrap_or(false),
    };
    let defaults = AlertmanagerConfig::default();
    let mut alertmanager = AlertmanagerConfig {
        group_wait_ms: d("group_wait", &notify.group_wait, defaults.group_wait_ms)?,
        group_interval_ms: d(
            "group_interval",
            &notify.group_interval,
            defaults.group_interval_ms,
        )?,
        repeat_interval_ms: d(
            "repeat_interval",
            &notify.repeat_interval,
            defaults.repeat_interval_ms,
        )?,
        send_resolved: notify.send_resolved.unwrap_or(true),
    };
    if alertmanager.group_interval_ms <= 0 {
        return Err(ctx.err(
            Some(name),
            oe,
            "group_interval",
            "`group_interval` must be positive".into(),
            None,
        ));
    }
    // Alertmanager can only repeat at a flush: round up to a multiple of group_interval.
    let gi = alertmanager.group_interval_ms;
    alertmanager.repeat_interval_ms = (alertmanager.repeat_interval_ms + gi - 1) / gi * gi;

    let backtest = match backtest {
        None => None,
        Some(b) => {
            let data = b.data.ok_or_else(|| {
                ctx.err(
                    Some(name),
                    oe,
                    "backtest",
                    "`backtest.data` is required".into(),
                    None,
                )
            })?;
            let data = relative_to_spec(
                ctx.path,
                &template(ctx, name, "data", &data, env_name, env)?,
            );
            let format = match b.format.as_deref() {
                None => None,
                Some(f) => Format::from_name(f).ok_or_else(|| {
                    ctx.err(
                        Some(name),
                        oe,
                        "format",
                        format!(
                            "`format` `{f}`: expected one of {}",
                            Format::NAMES.join(", ")
                        ),
                        None,
                    )
                })?,
            };
            let incidents = b
                .incidents
                .map(|i| {
                    template(ctx, name, "incidents", &i, env_name, env)
                        .map(|i| relative_to_spec(ctx.path, &i))
                })
                .transpose()?;
            let time = |key: &str, t: &Option<v1::TimeV1>| {
                t.as_ref()
                    .map(|t| {
                        parse_time_arg(&t.0).map_err(|e| {
                            ctx.err(Some(name), oe, key, format!("`{key}`: {e}"), None)
                        })
                    })
                    .transpose()
            };
            let start_ms = time("start", &b.start)?;
            let end_ms = time("end", &b.end)?;
            if let (Some(s), Some(e)) = (start_ms, end_ms) {
                if e < s {
                    return Err(ctx.err(
                        Some(name),
                        oe,
                        "end",
                        "`backtest.end` is before `backtest.start`".into(),
                        None,
                    ));
                }
            }
            Some(BacktestSource {
                data,
                format,
                series: b.series,
                incidents,
                lead_ms: d("lead", &b.lead, 0)?,
                start_ms,
                end_ms,
            })
        }
    };
    let mut labels = ctx.set_labels.clone();
    labels.extend(a.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    for key in labels.keys() {
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with("__");
        if !valid {
            return Err(ctx.err(
                Some(name),
                oe,
                key,
                format!("label name `{}` is not a Prometheus label name", key.escape_debug()),
                Some("label names use letters, digits and `_`, do not start with a digit or `__` (e.g. `team_name`)".into()),
            ));
        }
    }
    labels.insert(
        "severity".into(),
        severity.clone().unwrap_or_else(|| "warning".into()),
    );
    Ok(ResolvedAlert {
        name: name.to_string(),
        env: env_name.to_string(),
        summary: summary.unwrap_or_else(|| name.replace(['-', '_'], " ")),
        description: a.description.clone(),
        severity: severity.unwrap_or_else(|| "warning".into()),
        runbook_url: a.runbook_url.clone(),
        labels,
        cloudwatch,
        prometheus,
        condition,
        cw,
        prom,
        actions,
        alertmanager,
        backtest,
    })
}

fn relative_to_spec(spec: &Path, file: &str) -> PathBuf {
    let p = PathBuf::from(file);
    if p.is_absolute() {
        p
    } else {
        spec.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn comparison(
    ctx: &Ctx,
    alert: &str,
    env: Option<&str>,
    op: &Option<String>,
) -> Result<Comparison, SpecError> {
    let op = op.as_deref().unwrap_or(">");
    Comparison::parse(op).ok_or_else(|| {
        ctx.err(
            Some(alert),
            env,
            "op",
            format!(
                "`op` `{op}`: expected one of {}",
                Comparison::NAMES.join(", ")
            ),
            None,
        )
    })
}

/// `training_days` (default 14) as milliseconds; it must be positive.
fn training_ms(
    ctx: &Ctx,
    alert: &str,
    env: Option<&str>,
    days: Option<f64>,
) -> Result<i64, SpecError> {
    let days = days.unwrap_or(14.0);
    if !(days > 0.0 && days.is_finite()) {
        return Err(ctx.err(
            Some(alert),
            env,
            "training_days",
            "`training_days` must be positive".into(),
            None,
        ));
    }
    Ok((days * DAY_MS as f64) as i64)
}

#[allow(clippy::too_many_arguments)]
fn resolve_condition(
    ctx: &Ctx,
    alert: &str,
    env: Option<&str>,
    env_name: &str,
    env_def: Option<&Environment>,
    c: &v1::ConditionV1,
    period_s: Option<i64>,
) -> Result<Condition, SpecError> {
    let kinds = c.threshold.is_some() as u8
        + c.percentile.is_some() as u8
        + c.anomaly.is_some() as u8
        + c.present.is_some() as u8;
    if kinds != 1 {
        return Err(ctx.err(
            Some(alert),
            env,
            "condition",
            "`condition` needs exactly one of `threshold`, `percentile`, `anomaly`, `present`"
                .into(),
            None,
        ));
    }
    if c.present.is_some() {
        return Ok(Condition::Present);
    }
    let refit_default = HOUR_MS.max(period_s.unwrap_or(60) * SECOND_MS);
    if let Some(t) = &c.threshold {
        let value = t.value.ok_or_else(|| {
            ctx.err(
                Some(alert),
                env,
                "threshold",
                "`threshold.value` is required".into(),
                None,
            )
        })?;
        if !value.is_finite() {
            return Err(ctx.err(
                Some(alert),
                env,
                "value",
                format!("`threshold.value` must be a finite number, got `{value}`"),
                None,
            ));
        }
        return Ok(Condition::Threshold {
            op: comparison(ctx, alert, env, &t.op)?,
            value,
        });
    }
    if let Some(p) = &c.percentile {
        let percentile = p.p.unwrap_or(99.0);
        if !(0.0..=100.0).contains(&percentile) {
            return Err(ctx.err(
                Some(alert),
                env,
                "p",
                format!("`p` {percentile} is not a percentile between 0 and 100"),
                None,
            ));
        }
        let training_ms = training_ms(ctx, alert, env, p.training_days)?;
        let model = PercentileModel {
            percentile,
            training_ms,
            refit_ms: refit_default,
            factor: p.factor.unwrap_or(1.0),
        };
        return Ok(Condition::Percentile {
            op: comparison(ctx, alert, env, &p.op)?,
            model,
        });
    }
    let an = c.anomaly.as_ref().expect("checked above");
    let k = an.k.unwrap_or(2.0);
    if !(k > 0.0 && k.is_finite()) {
        return Err(ctx.err(
            Some(alert),
            env,
            "k",
            format!("`k` must be a positive number of standard deviations, got {k}"),
            None,
        ));
    }
    let direction = match an.direction.as_deref() {
        None => Direction::Both,
        Some(d) => Direction::parse(d).ok_or_else(|| {
            ctx.err(
                Some(alert),
                env,
                "direction",
                format!(
                    "`direction` `{d}`: expected one of {}",
                    Direction::NAMES.join(", ")
                ),
                None,
            )
        })?,
    };
    let model_name = an.model.as_deref().unwrap_or("seasonal");
    let model = match model_name {
        "seasonal" => {
            let training_ms = training_ms(ctx, alert, env, an.training_days)?;
            let seasonality = match an.seasonality.as_deref() {
                None | Some("auto") => None,
                Some(s) => Some(Seasonality::parse(s).ok_or_else(|| {
                    ctx.err(
                        Some(alert),
                        env,
                        "seasonality",
                        format!(
                            "`seasonality` `{s}`: expected auto, none, hourly, daily or weekly"
                        ),
                        None,
                    )
                })?),
            };
            let defaults = SeasonalModel::default();
            let d = |key: &str, v: &Option<v1::Duration>, default| {
                duration(ctx, alert, env, key, v, default)
            };
            AnomalyModel::Seasonal(SeasonalModel {
                training_ms,
                refit_ms: d("refit", &an.refit, defaults.refit_ms)?.max(1),
                min_history_ms: d("min_history", &an.min_history, defaults.min_history_ms)?,
                seasonality,
            })
        }
        "promql" => {
            let window_ms = duration(ctx, alert, env, "window", &an.window, HOUR_MS)?;
            if window_ms <= 0 {
                return Err(ctx.err(
                    Some(alert),
                    env,
                    "window",
                    "`window` must be positive".into(),
                    None,
                ));
            }
            let season_ms = duration(ctx, alert, env, "season", &an.season, 0)?;
            let smooth_ms = duration(ctx, alert, env, "smooth", &an.smooth, 0)?;
            AnomalyModel::Promql(PromqlModel {
                window_ms,
                season_ms,
                smooth_ms,
                version: PrometheusVersion::V2,
            })
        }
        "replay" => {
            let k0 = an.k0.unwrap_or(2.0);
            if !(k0 > 0.0 && k0.is_finite()) {
                return Err(ctx.err(
                    Some(alert),
                    env,
                    "k0",
                    format!("`k0` must be positive, got {k0}"),
                    None,
                ));
            }
            let data = an.band_data.clone().ok_or_else(|| {
                ctx.err(Some(alert), env, "model", "a `replay` band needs `band_data`: the fetched `ANOMALY_DETECTION_BAND` series".into(), None)
            })?;
            let data = relative_to_spec(
                ctx.path,
                &template(ctx, alert, "band_data", &data, env_name, env_def)?,
            );
            AnomalyModel::Replay(ReplayModel { k0, data })
        }
        other => {
            return Err(ctx.err(
                Some(alert),
                env,
                "model",
                format!("anomaly `model` `{other}` is not available in this build"),
                Some("available: seasonal, promql, replay".into()),
            ));
        }
    };
    Ok(Condition::Anomaly {
        model,
        k,
        direction,
    })
}

/// Resolve one alert in one env with `extra` merged over the env's override (see
/// [`super::resolve_with`]).
pub fn resolve_with(
    path: &Path,
    text: &str,
    raw: &v1::AlertSetV1,
    alert: &str,
    env: &str,
    extra: &v1::OverrideV1,
) -> Result<ResolvedAlert, SpecError> {
    let ctx = Ctx {
        path,
        text,
        set_labels: &raw.metadata.labels,
    };
    let environments = resolve_environments(&ctx, &raw.environments)?;
    let a = raw
        .alerts
        .iter()
        .find(|a| a.name == alert)
        .ok_or_else(|| ctx.err(None, None, "alerts", format!("no alert `{alert}`"), None))?;
    let mut over = a.overrides.get(env).cloned().unwrap_or_default();
    over.merge(extra);
    resolve_alert(&ctx, a, Some(&over), env, environments.get(env))
}
