//! Prometheus alerting rules → spec. A rule file (`groups:`) or a PrometheusRule object
//! (`spec.groups`, as `kubectl get prometheusrule -o yaml` prints it) is read; each alerting rule
//! becomes an alert: `<value> <op> <number>` (either way round) a `threshold` on the value, any
//! other expression kept whole under the condition `present` (fires while it returns a series);
//! `for`, `keep_firing_for` and the group's `interval` its evaluation; `severity` its severity,
//! other labels its labels; `summary`, `description`, `runbook_url` its text. Recording rules and
//! other annotations are listed as not imported. With `--env E`, matchers `="E"` become
//! `="{{env}}"` and the `env` label is left to the generated rules, so the spec serves every env.

use std::collections::BTreeMap;

use promql_parser::parser::{self, Expr};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::Imported;

#[derive(Deserialize)]
struct RuleFile {
    #[serde(default)]
    groups: Option<Vec<Group>>,
    /// A PrometheusRule object.
    #[serde(default)]
    spec: Option<Box<RuleFile>>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    interval: Option<String>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    record: Option<String>,
    alert: Option<String>,
    expr: serde_yaml_ng::Value,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The text annotations a spec carries.
const TEXT_ANNOTATIONS: &[&str] = &["summary", "description", "runbook_url"];

/// `<value> <op> <number>`: the value expression, the spec's comparison and the number.
fn threshold_of(expr: &Expr) -> Option<(String, &'static str, f64)> {
    let Expr::Binary(b) = expr else {
        return None;
    };
    if b.modifier.as_ref().is_some_and(|m| m.return_bool) {
        return None;
    }
    let op = b.op.to_string();
    let number = |e: &Expr| match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => match &*p.expr {
            Expr::NumberLiteral(n) => Some(n.val),
            _ => None,
        },
        _ => None,
    };
    let (value, number, op) = match (number(&b.lhs), number(&b.rhs)) {
        (None, Some(n)) => (&b.lhs, n, op.as_str()),
        // `5 < x` is `x > 5`.
        (Some(n), None) => (
            &b.rhs,
            n,
            match op.as_str() {
                ">" => "<",
                "<" => ">",
                ">=" => "<=",
                "<=" => ">=",
                other => other,
            },
        ),
        _ => return None,
    };
    let op: &'static str = match op {
        ">" => ">",
        ">=" => ">=",
        "<" => "<",
        "<=" => "<=",
        _ => return None,
    };
    number.is_finite().then(|| (value.to_string(), op, number))
}

/// The rule file `text` (from `source`) as a spec named `name`.
pub fn import(
    text: &str,
    source: &str,
    env: Option<&str>,
    name: String,
) -> Result<Imported, String> {
    let file: RuleFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" line {}", l.line()))
            .unwrap_or_default();
        format!("`{source}`{at}: not a Prometheus rule file ({e})")
    })?;
    let groups = match (file.groups, file.spec.and_then(|s| s.groups)) {
        (Some(g), _) | (None, Some(g)) => g,
        (None, None) => {
            return Err(format!(
                "`{source}`: no `groups` (a rule file) and no `spec.groups` (a PrometheusRule)"
            ))
        }
    };
    let mut out = Imported::new(name, source);
    if let Some(e) = env {
        out.environments.insert(e.to_string(), json!({}));
    }
    let mut names = super::AlertNames::default();
    for group in &groups {
        for rule in &group.rules {
            if let Some(record) = &rule.record {
                out.notes.push((
                    format!("recording rule `{record}` (group `{}`)", group.name),
                    "alertlab generates the recording rules its own alerts need; keep this one in your rule files".into(),
                ));
                continue;
            }
            let Some(alert) = &rule.alert else {
                out.notes.push((
                    format!("a rule of group `{}`", group.name),
                    "neither `alert` nor `record`".into(),
                ));
                continue;
            };
            match convert(rule, alert, group, env, &mut out.notes) {
                Ok(mut spec_alert) => {
                    let (name, why) = names.give(alert);
                    if let Some(why) = why {
                        out.notes.push((
                            format!("alert `{alert}` (group `{}`)", group.name),
                            format!("{why} (the `alertname` label of the generated rule)"),
                        ));
                    }
                    spec_alert["name"] = name.into();
                    out.alerts.push(spec_alert);
                }
                Err(why) => out
                    .notes
                    .push((format!("alert `{alert}` (group `{}`)", group.name), why)),
            }
        }
    }
    Ok(out)
}

/// One alerting rule as a spec alert.
fn convert(
    rule: &Rule,
    alert: &str,
    group: &Group,
    env: Option<&str>,
    notes: &mut Vec<(String, String)>,
) -> Result<Value, String> {
    let what = || format!("alert `{alert}` (group `{}`)", group.name);
    let mut expr = match &rule.expr {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        _ => return Err("`expr` is not a PromQL expression".into()),
    };
    if let Some(e) = env {
        let matcher = format!("=\"{e}\"");
        if expr.contains(&matcher) {
            expr = expr.replace(&matcher, "=\"{{env}}\"");
        }
    }
    // Parsed with the placeholder as written: `{{env}}` inside a quoted matcher is plain text.
    let parsed = parser::parse(&expr).map_err(|e| format!("`expr` is not valid PromQL: {e}"))?;
    let (metric_expr, condition) = match threshold_of(&parsed) {
        Some((value, op, number)) => (value, json!({"threshold": {"op": op, "value": number}})),
        None => (expr.trim().to_string(), json!({"present": {}})),
    };
    let mut a = Map::new();
    a.insert("name".into(), alert.into());
    let mut labels = rule.labels.clone();
    if let Some(sev) = labels.remove("severity") {
        a.insert("severity".into(), sev.into());
    }
    // alertlab sets `env` to the environment's name and Prometheus `alertname` to the rule's.
    match (labels.remove(crate::conventions::ENV_LABEL), env) {
        (Some(v), Some(e)) if v == e => {}
        (Some(v), Some(e)) => notes.push((
            what(),
            format!("label `env: {v}` differs from `--env {e}`: the generated rule carries `env: {e}`"),
        )),
        (Some(v), None) => notes.push((
            what(),
            format!("label `env: {v}`: alertlab sets `env` to the environment's name; import with `--env {v}` to keep it"),
        )),
        (None, _) => {}
    }
    if let Some(v) = labels.remove("alertname") {
        notes.push((
            what(),
            format!(
                "label `alertname: {v}` dropped: Prometheus sets `alertname` to the alert's name"
            ),
        ));
    }
    for key in TEXT_ANNOTATIONS {
        if let Some(text) = rule.annotations.get(*key) {
            let expandable = crate::emit::go_template::Template::parse(text).is_some();
            if text.contains("{{") && !expandable {
                notes.push((
                    what(),
                    format!("annotation `{key}` uses Go templates beyond `$labels.NAME`, `$value` and `humanize*`/`printf \"%.Nf\"` of it; alertlab writes this text literally (escaped)"),
                ));
            }
            a.insert((*key).into(), text.clone().into());
        }
    }
    for key in rule.annotations.keys() {
        if !TEXT_ANNOTATIONS.contains(&key.as_str()) {
            notes.push((
                what(),
                format!("annotation `{key}` not imported (the spec carries summary, description and runbook_url)"),
            ));
        }
    }
    if !labels.is_empty() {
        a.insert("labels".into(), json!(labels));
    }
    a.insert(
        "metric".into(),
        json!({"prometheus": {"expr": metric_expr}}),
    );
    a.insert("condition".into(), condition);
    let mut evaluation = Map::new();
    for (key, value) in [
        ("for", &rule.for_),
        ("keep_firing_for", &rule.keep_firing_for),
        ("interval", &group.interval),
    ] {
        if let Some(v) = value {
            evaluation.insert(key.into(), v.clone().into());
        }
    }
    if !evaluation.is_empty() {
        a.insert("evaluation".into(), Value::Object(evaluation));
    }
    Ok(Value::Object(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str, env: Option<&str>) -> (Value, Vec<(String, String)>) {
        let out = import(text, "t.yml", env, "t".into()).unwrap();
        (out.alerts[0].clone(), out.notes)
    }

    #[test]
    fn comparisons_with_a_number_become_thresholds_either_way_round() {
        let rules = |expr: &str| {
            format!("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr}'\n")
        };
        let (a, _) = first(&rules("sum(rate(errors_total[5m])) by (job) > 0.5"), None);
        assert_eq!(
            a["condition"],
            json!({"threshold": {"op": ">", "value": 0.5}})
        );
        assert_eq!(
            a["metric"]["prometheus"]["expr"],
            "sum by (job) (rate(errors_total[5m]))"
        );
        let (a, _) = first(&rules("10 <= up"), None);
        assert_eq!(
            a["condition"],
            json!({"threshold": {"op": ">=", "value": 10.0}})
        );
        for present in [
            "up == 0",
            "absent(up{job=\"x\"})",
            "a > b",
            "x > bool 3",
            "a and b > 1",
        ] {
            let (a, _) = first(&rules(present), None);
            assert_eq!(a["condition"], json!({"present": {}}), "{present}");
        }
    }

    #[test]
    fn env_matchers_become_placeholders_and_the_rest_is_listed() {
        let text = r#"
groups:
- name: api
  interval: 30s
  rules:
  - record: job:errors:rate5m
    expr: sum(rate(errors_total[5m])) by (job)
  - alert: ApiErrors
    expr: job:errors:rate5m{env="prod"} > 5
    for: 10m
    keep_firing_for: 5m
    labels: {severity: page, env: prod, team: api}
    annotations:
      summary: "Errors on {{ $labels.job }}"
      description: "{{ $value | humanize1024 }} errors a second"
      dashboard: https://grafana/x
"#;
        let (a, notes) = first(text, Some("prod"));
        assert_eq!(
            a["metric"]["prometheus"]["expr"],
            "job:errors:rate5m{env=\"{{env}}\"}"
        );
        assert_eq!(a["severity"], "page");
        assert_eq!(a["labels"], json!({"team": "api"}));
        assert_eq!(
            a["evaluation"],
            json!({"for": "10m", "keep_firing_for": "5m", "interval": "30s"})
        );
        let said = |s: &str| {
            notes
                .iter()
                .any(|(w, why)| w.contains(s) || why.contains(s))
        };
        assert!(said("job:errors:rate5m"), "the recording rule is listed");
        assert!(said("dashboard"), "the dropped annotation is listed");
        // Templates alertlab expands in its promtool tests are written through; others flagged.
        assert!(said("`description` uses Go templates"), "{notes:?}");
        assert!(!said("`summary` uses Go templates"), "{notes:?}");
    }

    /// `env` and `alertname` are set by alertlab and Prometheus: a rule's own are dropped with a
    /// note (a spec holding them is refused), `--env` decides what `env` becomes.
    #[test]
    fn labels_alertlab_or_prometheus_set_are_dropped_with_a_note() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[5m]) > 1\n    labels: {env: prod, team: api, alertname: other}\n";
        for env in [None, Some("prod"), Some("dev")] {
            let (a, notes) = first(text, env);
            assert_eq!(a["labels"], json!({"team": "api"}), "{env:?}");
            let said = |s: &str| notes.iter().any(|(_, why)| why.contains(s));
            assert!(said("label `alertname: other` dropped"), "{notes:?}");
            assert_eq!(said("label `env: prod`"), env != Some("prod"), "{notes:?}");
        }
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert!(import("groups: [", "x.yml", None, "t".into())
            .unwrap_err()
            .contains("line"));
        assert!(import("{}", "x.yml", None, "t".into())
            .unwrap_err()
            .contains("no `groups`"));
        let out = import(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'sum(('\n",
            "x.yml",
            None,
            "t".into(),
        )
        .unwrap();
        assert!(out.alerts.is_empty());
        assert!(out.notes[0].1.contains("not valid PromQL"));
    }
}
