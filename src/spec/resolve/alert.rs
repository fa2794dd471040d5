//! One alert in one environment: its override merged over it, then each part resolved on its own
//! (metric, condition, evaluation, notifications, backtest source, labels).

use super::condition::resolve_condition;
use super::evaluation::{alertmanager, cloudwatch_actions, cloudwatch_config, prometheus_config};
use super::{is_cloudwatch_period, relative_to_spec, Site};
use crate::conventions;
use crate::series::time::parse_time_arg;
use crate::series::{Format, Statistic};
use crate::spec::model::*;
use crate::spec::v1::{self, Merge};
use crate::spec::SpecError;

pub(super) fn resolve_alert(
    site: &Site,
    a: &v1::AlertV1,
    over: Option<&v1::OverrideV1>,
) -> Result<ResolvedAlert, SpecError> {
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

    let cloudwatch = metric
        .cloudwatch
        .as_ref()
        .map(|m| cloudwatch_metric(site, m))
        .transpose()?;
    let prometheus = metric
        .prometheus
        .as_ref()
        .map(|p| prometheus_metric(site, p))
        .transpose()?;
    if cloudwatch.is_none() && prometheus.is_none() {
        return Err(site.err(
            "metric",
            "`metric` needs `cloudwatch`, `prometheus` or both".into(),
            None,
        ));
    }

    let mut condition =
        resolve_condition(site, &condition, cloudwatch.as_ref().map(|c| c.period_s))?;
    if let (Some(_), Some(e)) = (&cloudwatch, site.env) {
        if e.account.is_empty() || e.region.is_empty() {
            let env_name = site.env_name;
            return Err(site.err(
                "cloudwatch",
                format!("environment `{env_name}` has no `account` or `region`: a CloudWatch alarm needs both"),
                Some(format!("add `account: \"123456789012\"` and `region: ...` to `environments.{env_name}`, or restrict the alert to Prometheus")),
            ));
        }
    }
    if condition == Condition::Present && (cloudwatch.is_some() || prometheus.is_none()) {
        return Err(site.err(
            "present",
            "`present` fires while a PromQL expression returns a series: it needs `metric.prometheus` and no `metric.cloudwatch` (a CloudWatch alarm compares a value: use a `threshold`)".into(),
            None,
        ));
    }

    let cw = cloudwatch_config(site, &evaluation, cloudwatch.as_ref())?;
    let prom = prometheus_config(site, &evaluation)?;
    // The band's recording rules run on the same Prometheus as the alert.
    if let Condition::Anomaly {
        model: AnomalyModel::Promql(m),
        ..
    } = &mut condition
    {
        m.version = prom.version;
    }
    let actions = cloudwatch_actions(&notify);
    let alertmanager = alertmanager(site, &notify)?;
    let backtest = backtest.map(|b| backtest_source(site, b)).transpose()?;
    let labels = labels(site, a, &severity)?;
    let name = site.alert;
    let summary = match summary {
        Some(text) => site.text_template("summary", &text)?,
        None => name.replace(['-', '_'], " "),
    };
    let description = a
        .description
        .as_deref()
        .map(|t| site.text_template("description", t))
        .transpose()?;
    let runbook_url = a
        .runbook_url
        .as_deref()
        .map(|t| site.text_template("runbook_url", t))
        .transpose()?;
    if cloudwatch.is_some() {
        alarm_text_limits(
            site,
            &summary,
            description.as_deref(),
            runbook_url.as_deref(),
        )?;
    }
    Ok(ResolvedAlert {
        name: name.to_string(),
        env: site.env_name.to_string(),
        summary,
        description,
        severity: severity.unwrap_or_else(|| "warning".into()),
        runbook_url,
        labels,
        cloudwatch,
        prometheus,
        condition,
        cw,
        evaluation_range_given: evaluation.evaluation_range,
        prom,
        actions,
        alertmanager,
        backtest,
    })
}

/// The alarm's name and description within what the AWS provider accepts: past them `terraform
/// plan` fails on the generated module, long after the spec was written.
fn alarm_text_limits(
    site: &Site,
    summary: &str,
    description: Option<&str>,
    runbook_url: Option<&str>,
) -> Result<(), SpecError> {
    let name = conventions::alarm_name(site.alert, site.env_name);
    if name.len() > conventions::ALARM_NAME_MAX {
        return Err(site.err_at_name(
            format!(
                "the CloudWatch alarm name `{name}` is {} bytes; CloudWatch takes at most {}",
                name.len(),
                conventions::ALARM_NAME_MAX
            ),
            Some("shorten the alert's name (the alarm is named `<alert>-<env>`)".into()),
        ));
    }
    // The error points at `description` when there is one (the longer text), else `summary`.
    let key = if description.is_some() {
        "description"
    } else {
        "summary"
    };
    let description = conventions::alarm_description(summary, description, runbook_url);
    if description.len() > conventions::ALARM_DESCRIPTION_MAX {
        return Err(site.err(
            key,
            format!(
                "the CloudWatch alarm description (summary, description and runbook URL, a line each) is {} bytes; CloudWatch takes at most {}",
                description.len(),
                conventions::ALARM_DESCRIPTION_MAX
            ),
            Some("shorten `summary` or `description`; a long text fits behind `runbook_url`".into()),
        ));
    }
    Ok(())
}

/// `metric.cloudwatch`: namespace and name required, a statistic CloudWatch knows, a period it
/// accepts, dimensions with their placeholders filled.
fn cloudwatch_metric(
    site: &Site,
    m: &v1::CloudWatchMetricV1,
) -> Result<CloudWatchMetric, SpecError> {
    let namespace = m.namespace.clone().ok_or_else(|| {
        site.err(
            "cloudwatch",
            "`metric.cloudwatch.namespace` is required".into(),
            None,
        )
    })?;
    let metric_name = m.name.clone().ok_or_else(|| {
        site.err(
            "cloudwatch",
            "`metric.cloudwatch.name` is required".into(),
            None,
        )
    })?;
    // What the AWS provider's schema accepts (past it `terraform plan` fails on the module).
    for (key, value) in [("namespace", &namespace), ("name", &metric_name)] {
        if value.is_empty() || value.len() > 255 || (key == "namespace" && value.starts_with(':')) {
            return Err(site.err(
                key,
                format!(
                    "`metric.cloudwatch.{key}` `{value}`: CloudWatch takes 1 to 255 bytes{}",
                    if key == "namespace" {
                        " not starting with `:`"
                    } else {
                        ""
                    }
                ),
                None,
            ));
        }
    }
    let stat_text = m.stat.clone().unwrap_or_else(|| "Average".into());
    let stat: Statistic = stat_text
        .parse()
        .map_err(|e: String| site.err("stat", format!("`stat`: {e}"), None))?;
    let period_s = m.period.unwrap_or(300);
    if !is_cloudwatch_period(period_s) {
        return Err(site.err(
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
        .map(|(k, v)| Ok((k, site.template("dimensions", &v)?)))
        .collect::<Result<_, SpecError>>()?;
    Ok(CloudWatchMetric {
        namespace,
        metric_name,
        stat,
        period_s,
        dimensions,
    })
}

/// `metric.prometheus`: an expression, placeholders filled, that parses as PromQL.
fn prometheus_metric(
    site: &Site,
    p: &v1::PrometheusMetricV1,
) -> Result<PrometheusMetric, SpecError> {
    let expr = p.expr.clone().ok_or_else(|| {
        site.err(
            "prometheus",
            "`metric.prometheus.expr` is required".into(),
            None,
        )
    })?;
    let expr = site.template("expr", &expr)?;
    if let Err(e) = promql_parser::parser::parse(&expr) {
        return Err(site.err(
            "expr",
            format!(
                "`metric.prometheus.expr` is not valid PromQL in env `{}`: {}",
                site.env_name,
                e.lines().next().unwrap_or("")
            ),
            None,
        ));
    }
    Ok(PrometheusMetric { expr })
}

/// `backtest`: the data file (relative to the spec), its format, incidents and span.
fn backtest_source(site: &Site, b: v1::BacktestV1) -> Result<BacktestSource, SpecError> {
    let data = b
        .data
        .ok_or_else(|| site.err("backtest", "`backtest.data` is required".into(), None))?;
    let data = relative_to_spec(site.ctx.path, &site.template("data", &data)?);
    let format = match b.format.as_deref() {
        None => None,
        Some(f) => Format::from_name(f).ok_or_else(|| {
            site.err(
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
            site.template("incidents", &i)
                .map(|i| relative_to_spec(site.ctx.path, &i))
        })
        .transpose()?;
    let time = |key: &str, t: &Option<v1::TimeV1>| {
        t.as_ref()
            .map(|t| parse_time_arg(&t.0).map_err(|e| site.err(key, format!("`{key}`: {e}"), None)))
            .transpose()
    };
    let start_ms = time("start", &b.start)?;
    let end_ms = time("end", &b.end)?;
    if let (Some(s), Some(e)) = (start_ms, end_ms) {
        if e < s {
            return Err(site.err(
                "end",
                "`backtest.end` is before `backtest.start`".into(),
                None,
            ));
        }
    }
    Ok(BacktestSource {
        data,
        format,
        series: b.series,
        incidents,
        lead_ms: site.duration("lead", &b.lead, 0)?,
        grace_ms: b
            .grace
            .is_some()
            .then(|| site.duration("grace", &b.grace, 0))
            .transpose()?,
        max_delay_ms: b
            .max_delay
            .is_some()
            .then(|| site.duration("max_delay", &b.max_delay, 0))
            .transpose()?,
        start_ms,
        end_ms,
    })
}

/// The set's labels, the alert's own over them, each a Prometheus label name, and `severity`.
fn labels(
    site: &Site,
    a: &v1::AlertV1,
    severity: &Option<String>,
) -> Result<std::collections::BTreeMap<String, String>, SpecError> {
    let mut labels = site.ctx.set_labels.clone();
    labels.extend(a.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    for key in labels.keys() {
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with("__");
        if !valid {
            return Err(site.err(
                key,
                format!("label name `{}` is not a Prometheus label name", key.escape_debug()),
                Some("label names use letters, digits and `_`, do not start with a digit or `__` (e.g. `team_name`)".into()),
            ));
        }
        // Labels whose value comes from elsewhere: one written here would be overwritten in the
        // generated rule (or, for `alertname`, by Prometheus itself), silently.
        let set_by = match key.as_str() {
            "alertname" => Some(("Prometheus: the alert's name", "rename the alert instead")),
            "severity" => Some((
                "the alert's `severity` key",
                "write `severity: ...` on the alert (or in `overrides.<env>`)",
            )),
            k if k == conventions::ENV_LABEL => Some((
                "alertlab: the environment's name",
                "every generated rule carries `env: <env>`; name your label otherwise",
            )),
            _ => None,
        };
        if let Some((by, hint)) = set_by {
            return Err(site.err(
                key,
                format!("label `{key}` is set by {by}"),
                Some(hint.into()),
            ));
        }
    }
    labels.insert(
        "severity".into(),
        severity.clone().unwrap_or_else(|| "warning".into()),
    );
    Ok(labels)
}
