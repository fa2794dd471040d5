use std::path::{Path, PathBuf};

use super::*;
use crate::band::Comparison;
use crate::engine::cloudwatch::TreatMissingData;
use crate::series::time::MINUTE_MS;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec")
}

#[test]
fn the_bundled_lambda_spec_resolves_per_env_with_overrides() {
    let set = load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/lambda.yaml")).unwrap();
    assert_eq!(set.environments.len(), 3);
    assert!(
        set.environments["dev"].owns_shared,
        "first env of the shared account owns shared resources"
    );
    assert!(!set.environments["staging"].owns_shared);
    assert!(set.environments["prod"].owns_shared);
    let tuned = set
        .alerts
        .iter()
        .find(|a| a.name == "lambda-concurrency-anomaly")
        .unwrap();
    let k = |env: &str| match &tuned.per_env[env].condition {
        Condition::Anomaly { k, .. } => *k,
        _ => panic!("anomaly expected"),
    };
    assert_eq!(k("dev"), 4.0);
    assert_eq!(k("prod"), 3.5);
    let dev = &tuned.per_env["dev"];
    assert_eq!(
        (
            dev.cw.evaluation_periods,
            dev.cw.datapoints_to_alarm,
            dev.cw.evaluation_range
        ),
        (5, 3, 7)
    );
    assert_eq!(dev.cw.treat_missing_data, TreatMissingData::NotBreaching);
    assert_eq!(dev.prom.for_ms, 15 * MINUTE_MS);
    assert!(
        dev.prometheus.is_none(),
        "anomaly bands of CloudWatch are CloudWatch-only"
    );
    let band = &set
        .alerts
        .iter()
        .find(|a| a.name == "lambda-concurrency-band")
        .unwrap()
        .per_env["staging"];
    assert_eq!(
        band.prometheus.as_ref().unwrap().expr,
        r#"sum(aws_lambda_concurrent_executions_maximum{env="staging"})"#
    );
    assert!(matches!(
        &band.condition,
        Condition::Anomaly { model: AnomalyModel::Promql(m), k, .. } if m.window_ms == 60 * MINUTE_MS && *k == 3.0
    ));
    assert!(dev
        .backtest
        .as_ref()
        .unwrap()
        .data
        .ends_with("alerts/../data/lambda_dev.csv"));
}

#[test]
fn a_json_spec_loads_too() {
    let set = load_file(&fixtures().join("good/lambda.json")).unwrap();
    let alert = &set.alerts[0];
    assert_eq!(alert.per_env["dev"].prom.for_ms, 5 * MINUTE_MS);
    assert_eq!(alert.per_env["prod"].prom.for_ms, MINUTE_MS);
    assert_eq!(
        alert.per_env["prod"].condition,
        Condition::Threshold {
            op: Comparison::Less,
            value: 1.0
        }
    );
}

/// Each file in `bad/` starts with `# expect: a|b|c`: every part must appear in the error.
#[test]
fn every_bad_spec_fails_with_its_message() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures().join("bad")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# expect: ")
            .to_string();
        let err = load_file(&path)
            .expect_err(&format!("{} should fail", path.display()))
            .to_string();
        for part in expect.split('|') {
            assert!(
                err.contains(part),
                "{}: expected `{part}` in:\n{err}",
                path.display()
            );
        }
        assert!(
            err.contains(&path.display().to_string()),
            "the message names the file: {err}"
        );
        checked += 1;
    }
    assert!(checked >= 10);
}

/// CloudWatch's high-resolution periods are 10, 20 and 30 s; any other period is a whole minute.
#[test]
fn high_resolution_periods_are_10_20_and_30_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    for (period, ok) in [(10, true), (20, true), (30, true), (45, false), (120, true)] {
        std::fs::write(
            &path,
            format!(
                r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {{name: t}}
alerts:
  - name: a
    metric: {{cloudwatch: {{namespace: X, name: Y, stat: Average, period: {period}}}}}
    condition: {{threshold: {{op: ">", value: 1}}}}
"#
            ),
        )
        .unwrap();
        assert_eq!(load_file(&path).is_ok(), ok, "period {period}");
    }
}

#[test]
fn overrides_can_switch_the_condition_kind_and_disable_an_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments:
  dev: {account: "111111111111", region: eu-west-1}
  prod: {account: "222222222222", region: eu-west-1}
  qa: {account: "111111111111", region: eu-west-1, owns_shared: true}
alerts:
  - name: a
    metric: {cloudwatch: {namespace: AWS/DynamoDB, name: ThrottledRequests, stat: Sum, period: 60}}
    condition: {anomaly: {k: 3}}
    evaluation: {treat_missing_data: breaching}
    overrides:
      prod: {condition: {threshold: {op: ">=", value: 10}}}
      dev: {enabled: false}
"#,
    )
    .unwrap();
    let set = load_file(&path).unwrap();
    let a = &set.alerts[0];
    assert!(!a.per_env.contains_key("dev"));
    assert_eq!(
        a.per_env["prod"].condition,
        Condition::Threshold {
            op: Comparison::GreaterOrEqual,
            value: 10.0
        }
    );
    assert_eq!(
        a.per_env["qa"].cw.treat_missing_data,
        TreatMissingData::Ignore,
        "AWS/DynamoDB always ignores missing data"
    );
    assert!(set.environments["qa"].owns_shared && !set.environments["dev"].owns_shared);
}

#[test]
fn prometheus_version_and_backtest_span_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments:
  dev: {account: "111111111111", region: eu-west-1}
alerts:
  - name: a
    metric: {prometheus: {expr: m}}
    condition: {anomaly: {model: promql, k: 3}}
    evaluation: {prometheus_version: 3}
    backtest: {data: x.csv, start: "2024-01-01T00:00:00Z", end: 1704153600}
"#,
    )
    .unwrap();
    let set = load_file(&path).unwrap();
    let a = &set.alerts[0].per_env["dev"];
    use crate::engine::prometheus::PrometheusVersion;
    assert_eq!(a.prom.version, PrometheusVersion::V3);
    match &a.condition {
        Condition::Anomaly {
            model: AnomalyModel::Promql(m),
            ..
        } => assert_eq!(
            m.version,
            PrometheusVersion::V3,
            "the band follows the alert"
        ),
        other => panic!("{other:?}"),
    }
    let b = a.backtest.as_ref().unwrap();
    assert_eq!(b.start_ms, Some(1_704_067_200_000));
    assert_eq!(b.end_ms, Some(1_704_153_600_000));
}

#[test]
fn metadata_labels_reach_every_alert_and_an_alerts_own_labels_win() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t, labels: {team: payments, tier: "1"}}
alerts:
  - name: a
    labels: {tier: "0"}
    metric: {prometheus: {expr: up}}
    condition: {threshold: {op: "<", value: 1}}
"#,
    )
    .unwrap();
    let set = load_file(&path).unwrap();
    let labels = &set.alerts[0].per_env["default"].labels;
    assert_eq!(labels["team"], "payments");
    assert_eq!(labels["tier"], "0");
    assert_eq!(labels["severity"], "warning");
    std::fs::write(
        &path,
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t, labels: {team-name: x}}\nalerts:\n  - name: a\n    metric: {prometheus: {expr: up}}\n    condition: {threshold: {op: '<', value: 1}}\n",
    )
    .unwrap();
    let err = load_file(&path).unwrap_err();
    assert!(
        err.message
            .contains("`team-name` is not a Prometheus label name"),
        "{err}"
    );
}

/// `{{env}}`, `{{alert}}`, `{{account}}` and `{{region}}` fill in text people read as they do
/// paths and expressions; any other `{{…}}` there (a Prometheus template) is left for the rule,
/// and an unclosed `{{` is text.
#[test]
fn placeholders_fill_in_summaries_and_prometheus_templates_stay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments: {prod: {account: "222222222222", region: eu-west-1}}
alerts:
  - name: a
    summary: '{{alert}} high in {{ env }} ({{region}}): {{ $value | humanize }} on {{ $labels.instance }}'
    description: 'account {{account}}, literal {{ unclosed'
    runbook_url: 'https://runbooks/{{env}}/{{alert}}'
    metric: {prometheus: {expr: up}}
    condition: {threshold: {op: "<", value: 1}}
"#,
    )
    .unwrap();
    let set = load_file(&path).unwrap();
    let a = &set.alerts[0].per_env["prod"];
    assert_eq!(
        a.summary,
        "a high in prod (eu-west-1): {{ $value | humanize }} on {{ $labels.instance }}"
    );
    assert_eq!(
        a.description.as_deref(),
        Some("account 222222222222, literal {{ unclosed")
    );
    assert_eq!(a.runbook_url.as_deref(), Some("https://runbooks/prod/a"));
}

/// A key is found after the previous one on the same line (flow mappings) before the lines below,
/// so an error inside `tune: {k: [..]}` or `prod: {evaluation: {..}}` points at that line, not at
/// the next alert's key of the same name.
#[test]
fn find_line_follows_flow_mappings_on_one_line() {
    let text = "alerts:\n  - name: a1\n    tune: {k: [2]}\n    condition: {anomaly: {k: 3}}\n  - name: a2\n    condition: {anomaly: {k: 4}}\n";
    assert_eq!(find_line(text, &["name: a1", "tune", "k"]), Some(3));
    assert_eq!(find_line(text, &["name: a1", "condition", "k"]), Some(4));
    assert_eq!(find_line(text, &["name: a2", "condition", "k"]), Some(6));
    assert_eq!(find_line(text, &["name: a2", "tune"]), None);
    assert_eq!(find_line(text, &["name: a3"]), None);
    // A key is a whole word: `k` is not found inside `kk:` or `seek:`.
    assert_eq!(
        find_line("a: {kk: 1, seek: 2}\nb: {k: 3}\n", &["k"]),
        Some(2)
    );
    // JSON spellings, and keys after multi-byte text.
    let json = "{\"alerts\": [\n  {\"name\": \"a1\", \"summary\": \"é k: ü\",\n   \"tune\": {\"k\": [2]}}]}\n";
    assert_eq!(find_line(json, &["name: a1", "tune", "k"]), Some(3));
    assert_eq!(find_line("é: {ü: 1}\n", &["ü"]), Some(1));
}

/// Alerts sharing their metric and condition through YAML merge keys (`<<: *common`, with the
/// anchor under a top-level `x-` key or on an earlier alert) resolve as if written out; keys of
/// the alert win over merged ones, and mistakes in merged blocks are still named.
#[test]
fn merge_keys_and_extension_keys_share_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let head = "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: m}\nenvironments: {dev: {account: \"111111111111\", region: eu-west-1}}\n";
    let written = load_file(&write(
        "written.yaml",
        &format!("{head}alerts:\n  - name: a\n    metric: {{cloudwatch: {{namespace: X, name: m, period: 60}}}}\n    condition: {{threshold: {{op: '>', value: 5}}}}\n  - name: b\n    metric: {{cloudwatch: {{namespace: X, name: m, period: 60}}}}\n    condition: {{threshold: {{op: '>', value: 9}}}}\n"),
    ))
    .unwrap();
    let merged = load_file(&write(
        "merged.yaml",
        &format!("{head}x-common: &common\n  metric: {{cloudwatch: {{namespace: X, name: m, period: 60}}}}\n  condition: {{threshold: {{op: '>', value: 5}}}}\nalerts:\n  - name: a\n    <<: *common\n  - <<: *common\n    name: b\n    condition: {{threshold: {{op: '>', value: 9}}}}\n"),
    ))
    .unwrap();
    let on_alert = load_file(&write(
        "on_alert.yaml",
        &format!("{head}alerts:\n  - &a\n    name: a\n    metric: {{cloudwatch: {{namespace: X, name: m, period: 60}}}}\n    condition: {{threshold: {{op: '>', value: 5}}}}\n  - <<: *a\n    name: b\n    condition: {{threshold: {{op: '>', value: 9}}}}\n"),
    ))
    .unwrap();
    for set in [&merged, &on_alert] {
        for (got, want) in set.alerts.iter().zip(&written.alerts) {
            let (got, want) = (&got.per_env["dev"], &want.per_env["dev"]);
            assert_eq!(
                (&got.name, &got.cloudwatch, &got.condition),
                (&want.name, &want.cloudwatch, &want.condition)
            );
        }
    }
    let err = load_file(&write(
        "bad.yaml",
        &format!("{head}x-common: &common\n  metric: {{cloudwatch: {{namespace: X, name: m}}}}\n  condition: {{threshold: {{op: '>', value: five}}}}\nalerts:\n  - name: a\n    <<: *common\n"),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("alerts[0].condition.threshold.value: invalid type: string \"five\""),
        "{err}"
    );
    let err = load_file(&write(
        "unknown.yaml",
        &format!("{head}x-common: &common\n  metric: {{cloudwatch: {{namespace: X, name: m}}}}\n  colour: red\nalerts:\n  - name: a\n    <<: *common\n"),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 7: alerts[0]: unknown field `colour`"),
        "{err}"
    );
}
