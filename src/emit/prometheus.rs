//! Prometheus rule files per environment (`groups:`), optionally wrapped as a Kubernetes ConfigMap
//! (one per cluster, holding the rule files of every env deployed there) or a `PrometheusRule`.
//!
//! Each alert gets a recording rule `alertlab:<alert>:value` holding its metric expression, and the
//! alerting rule compares that recorded series. The indirection is what lets generated promtool
//! tests feed recorded history straight into the alert, and keeps the alert expression readable.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::go_template::Template;
use super::{number, spec_label, EmitError, GeneratedFile};
use crate::band::promql::PromqlModel;
use crate::band::Direction;
use crate::conventions;
use crate::series::time::format_prometheus_duration;
use crate::spec::{AlertSet, AnomalyModel, Condition, ResolvedAlert};

/// Which wrappers to write besides plain rule files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrometheusOutputs {
    pub configmap: bool,
    pub prometheus_rule: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The alerting expression of a resolved alert, over its recorded value (and band).
pub fn alert_expr(alert: &ResolvedAlert) -> Result<String, EmitError> {
    let value = conventions::value_record(&alert.name);
    match &alert.condition {
        Condition::Threshold { op, value: threshold } => Ok(format!("{value} {} {}", op.symbol(), number(*threshold))),
        // The recorded expression has a series exactly when the original expression does.
        Condition::Present => Ok(value),
        Condition::Percentile { .. } => Err(unsupported(alert, "a `percentile` threshold is refitted by alertlab; use a static `threshold` for Prometheus")),
        Condition::Anomaly { model: AnomalyModel::Promql(m), k, direction } => Ok(band_alert_expr(&alert.name, m, *k, *direction)),
        Condition::Anomaly { model, .. } => Err(unsupported(
            alert,
            &format!("the `{}` band is CloudWatch's; Prometheus cannot compute it (use `model: promql`, or restrict the alert to CloudWatch)", model.name()),
        )),
    }
}

/// The alert expression of a `promql` band: the (smoothed) value outside `avg ± k * stddev`.
pub fn band_alert_expr(alert: &str, model: &PromqlModel, k: f64, direction: Direction) -> String {
    let value = if model.smooth_ms > 0 {
        conventions::smoothed_record(alert)
    } else {
        conventions::value_record(alert)
    };
    let (avg, sd, k) = (
        conventions::avg_record(alert),
        conventions::stddev_record(alert),
        number(k),
    );
    let above = format!("{value} > {avg} + {k} * {sd}");
    let below = format!("{value} < {avg} - {k} * {sd}");
    match direction {
        Direction::Above => above,
        Direction::Below => below,
        Direction::Both => format!("({above}) or ({below})"),
    }
}

/// Recording rules of a `promql` band (see `band::promql` for the offset and options).
pub fn band_rules(alert: &str, model: &PromqlModel, interval_ms: i64) -> Vec<Rule> {
    let value = conventions::value_record(alert);
    let range = format!(
        "[{}] offset {}",
        format_prometheus_duration(model.window_ms),
        format_prometheus_duration(model.offset_ms(interval_ms))
    );
    let record = |record: String, expr: String| Rule {
        record: Some(record),
        alert: None,
        expr,
        for_: None,
        keep_firing_for: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    let mut rules = vec![
        record(
            conventions::avg_record(alert),
            format!("avg_over_time({value}{range})"),
        ),
        record(
            conventions::stddev_record(alert),
            format!("stddev_over_time({value}{range})"),
        ),
    ];
    if model.smooth_ms > 0 {
        rules.push(record(
            conventions::smoothed_record(alert),
            format!(
                "avg_over_time({value}[{}])",
                format_prometheus_duration(model.smooth_ms)
            ),
        ));
    }
    rules
}

fn unsupported(alert: &ResolvedAlert, reason: &str) -> EmitError {
    EmitError {
        alert: alert.name.clone(),
        env: alert.env.clone(),
        target: "prometheus",
        reason: reason.into(),
    }
}

/// Labels of the generated alert (spec labels, severity, env).
pub fn alert_labels(alert: &ResolvedAlert) -> BTreeMap<String, String> {
    let mut labels = alert.labels.clone();
    labels.insert(conventions::ENV_LABEL.into(), alert.env.clone());
    labels
}

pub fn alert_annotations(alert: &ResolvedAlert) -> BTreeMap<String, String> {
    let mut a = BTreeMap::from([("summary".to_string(), alert.summary.clone())]);
    if let Some(d) = &alert.description {
        a.insert("description".into(), d.clone());
    }
    if let Some(r) = &alert.runbook_url {
        a.insert("runbook_url".into(), r.clone());
    }
    a
}

/// The rules of one alert: its value recording rule and its alerting rule.
pub fn alert_rules(alert: &ResolvedAlert) -> Result<Vec<Rule>, EmitError> {
    let metric = alert
        .prometheus
        .as_ref()
        .ok_or_else(|| unsupported(alert, "no `metric.prometheus.expr`"))?;
    let duration = |ms: i64| (ms > 0).then(|| format_prometheus_duration(ms));
    let expr = alert_expr(alert)?;
    let mut rules = vec![Rule {
        record: Some(conventions::value_record(&alert.name)),
        alert: None,
        expr: metric.expr.clone(),
        for_: None,
        keep_firing_for: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }];
    if let Condition::Anomaly {
        model: AnomalyModel::Promql(m),
        ..
    } = &alert.condition
    {
        rules.extend(band_rules(&alert.name, m, alert.prom.interval_ms));
    }
    rules.push(Rule {
        record: None,
        alert: Some(alert.name.clone()),
        expr,
        for_: duration(alert.prom.for_ms),
        keep_firing_for: duration(alert.prom.keep_firing_for_ms),
        labels: escape_templates(alert_labels(alert)),
        annotations: alert_annotations(alert)
            .into_iter()
            .map(|(k, v)| (k, annotation_as_written(alert, &v)))
            .collect(),
    });
    Ok(rules)
}

/// Prometheus expands alert labels and annotations as Go templates: user text is written so that it
/// expands to itself (`{{` becomes `{{ "{{" }}`, `}}` becomes `{{ "}}" }}`).
fn escape_templates(map: BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter()
        .map(|(k, v)| (k, escape_go_template(&v)))
        .collect()
}

/// An annotation as the rule carries it: a template alertlab can expand in its promtool tests
/// ([`written_through`]) as written, for Prometheus to expand; any other text literally, escaped.
pub fn annotation_as_written(alert: &ResolvedAlert, text: &str) -> String {
    match written_through(alert, text) {
        Some(_) => text.to_string(),
        None => escape_go_template(text),
    }
}

/// The template `text` is, when the rule carries it for Prometheus to expand: every action one
/// alertlab expands exactly ([`Template`]), and the alert's value the same on every Prometheus
/// version. A smoothed `promql` band compares `avg_over_time`, whose last digits changed between
/// Prometheus releases (an incremental mean, later a Kahan sum divided by the count), so
/// its `$value` could not be expected digit for digit in a promtool test: that text stays literal.
pub fn written_through(alert: &ResolvedAlert, text: &str) -> Option<Template> {
    let template = Template::parse(text).filter(Template::has_actions)?;
    let value_depends_on_version = matches!(
        &alert.condition,
        Condition::Anomaly { model: AnomalyModel::Promql(m), .. } if m.smooth_ms > 0
    );
    (!(template.uses_value() && value_depends_on_version)).then_some(template)
}

/// `text` as a Go template that renders `text` literally.
pub fn escape_go_template(text: &str) -> String {
    if !text.contains("{{") && !text.contains("}}") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("{{") {
            out.push_str(r#"{{ "{{" }}"#);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            out.push_str(r#"{{ "}}" }}"#);
            rest = r;
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The rule file of `set` for `env`: one group per evaluation interval. `None` when no alert of the
/// set has a Prometheus metric in that env.
pub fn rule_file(set: &AlertSet, env: &str) -> Result<Option<RuleFile>, EmitError> {
    let mut by_interval: BTreeMap<i64, Vec<Rule>> = BTreeMap::new();
    for alert in &set.alerts {
        let Some(resolved) = alert.per_env.get(env) else {
            continue;
        };
        if resolved.prometheus.is_none() {
            continue;
        }
        by_interval
            .entry(resolved.prom.interval_ms)
            .or_default()
            .extend(alert_rules(resolved)?);
    }
    if by_interval.is_empty() {
        return Ok(None);
    }
    let several = by_interval.len() > 1;
    let groups = by_interval
        .into_iter()
        .map(|(interval, rules)| {
            let base = conventions::rule_group(&set.name, env);
            let name = if several {
                format!("{base}-{}", format_prometheus_duration(interval))
            } else {
                base
            };
            RuleGroup {
                name,
                interval: Some(format_prometheus_duration(interval)),
                rules,
            }
        })
        .collect();
    Ok(Some(RuleFile { groups }))
}

/// The rule file of `set` for `env` as YAML text (no header), as ConfigMaps hold it.
pub fn rule_file_yaml(set: &AlertSet, env: &str) -> Result<Option<String>, EmitError> {
    Ok(rule_file(set, env)?.map(|f| yaml(&f)))
}

fn yaml<T: Serialize>(value: &T) -> String {
    serde_yaml_ng::to_string(value).expect("rule structures always serialise")
}

fn with_header(spec: &str, body: &str) -> String {
    format!("# {}\n{body}", conventions::header(spec))
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigMap {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    data: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: RuleFile,
}

pub fn k8s_labels(set: &AlertSet) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "alertlab".to_string(),
        ),
        (
            "alertlab/spec".to_string(),
            conventions::k8s_label_value(&set.name),
        ),
    ])
}

/// Every Prometheus file of `set` for the chosen envs.
pub fn generate(
    set: &AlertSet,
    envs: &[String],
    outputs: PrometheusOutputs,
) -> Result<Vec<GeneratedFile>, EmitError> {
    let spec = spec_label(&set.source);
    // Two envs must never become one Kubernetes object after the name mapping.
    let groups: Vec<String> = set
        .env_names(envs)
        .iter()
        .map(|env| conventions::rule_group(&set.name, env))
        .collect();
    conventions::k8s_names_unique(groups.iter().map(String::as_str)).map_err(|(a, b, name)| {
        EmitError {
            alert: "*".into(),
            env: "*".into(),
            target: "prometheus",
            reason: format!(
                "`{a}` and `{b}` both become the Kubernetes name `{name}`; rename one environment"
            ),
        }
    })?;
    let mut files = Vec::new();
    let mut by_cluster: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for env in &set.env_names(envs) {
        let Some(file) = rule_file(set, env)? else {
            continue;
        };
        let body = yaml(&file);
        debug_assert_eq!(Some(&body), rule_file_yaml(set, env)?.as_ref());
        let name = conventions::rule_file(&set.name, env);
        files.push(GeneratedFile {
            path: PathBuf::from("prometheus").join(&name),
            contents: with_header(&spec, &body),
        });
        // Envs without a cluster get a ConfigMap of their own.
        let cluster = set
            .environments
            .get(env)
            .and_then(|e| e.cluster.clone())
            .unwrap_or_else(|| env.clone());
        by_cluster.entry(cluster).or_default().insert(name, body);
        if outputs.prometheus_rule {
            let rule = PrometheusRule {
                api_version: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: Metadata {
                    name: conventions::k8s_name(&conventions::rule_group(&set.name, env)),
                    labels: k8s_labels(set),
                },
                spec: file,
            };
            files.push(GeneratedFile {
                path: PathBuf::from("prometheus")
                    .join(format!("{}-{env}.prometheusrule.yaml", set.name)),
                contents: with_header(&spec, &yaml(&rule)),
            });
        }
    }
    if outputs.configmap {
        for (cluster, data) in by_cluster {
            let cm = ConfigMap {
                api_version: "v1",
                kind: "ConfigMap",
                metadata: Metadata {
                    name: conventions::k8s_name(&conventions::rules_configmap(&set.name)),
                    labels: k8s_labels(set),
                },
                data,
            };
            files.push(GeneratedFile {
                path: PathBuf::from("prometheus")
                    .join(format!("{}-{cluster}.configmap.yaml", set.name)),
                contents: with_header(&spec, &yaml(&cm)),
            });
        }
    }
    Ok(files)
}
