//! `alertlab import`: round trips through the real tools. Prometheus: the rules alertlab generates
//! from an imported rule file pass the same `promtool test rules` as the original file (same
//! alerts, labels, annotations at the same times). CloudWatch: every alarm of a describe-alarms
//! file that the spec can express comes back out of `generate` with the same fields (read with
//! HashiCorp's HCL parser); the rest is listed, not dropped.

use std::path::Path;
use std::process::Command as Process;

use predicates::prelude::*;
use serde_json::Value;

use super::{alertlab, root};

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("tests/fixtures/import").join(name)
}

/// `promtool test rules` of the fixture test against `rules`.
fn promtool_test(dir: &Path, rules: &Path) -> std::process::Output {
    let test = std::fs::read_to_string(fixture("rules.test.yml"))
        .unwrap()
        .replace("RULES", &rules.to_string_lossy());
    let path = dir.join("t.test.yml");
    std::fs::write(&path, test).unwrap();
    Process::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("promtool is installed by scripts/test.sh")
}

#[test]
fn imported_prometheus_rules_fire_as_the_originals_under_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let original = promtool_test(p, &fixture("rules.yml"));
    assert!(
        original.status.success(),
        "the test holds for the original rules: {}",
        String::from_utf8_lossy(&original.stdout)
    );
    alertlab()
        .current_dir(p)
        .args(["import", "prometheus"])
        .arg(fixture("rules.yml"))
        .args(["--env", "prod", "--out", "alerts/api.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "recording rule `job:errors:rate5m`",
        ));
    let spec = std::fs::read_to_string(p.join("alerts/api.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&spec).unwrap();
    let alert = |name: &str| {
        doc["alerts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|a| a["name"].as_str() == Some(name))
            .unwrap()
            .clone()
    };
    assert_eq!(
        alert("ApiErrorsHigh")["condition"]["threshold"]["op"].as_str(),
        Some(">")
    );
    assert_eq!(
        alert("LatencyLow")["condition"]["threshold"]["op"].as_str(),
        Some("<"),
        "0.2 > x is x < 0.2"
    );
    assert!(alert("ApiDown")["condition"]["present"].is_mapping());
    assert!(
        spec.contains("env=\"{{env}}\""),
        "the env matcher became a placeholder"
    );
    alertlab()
        .current_dir(p)
        .args(["generate", "--spec", "alerts", "--out", "gen"])
        .assert()
        .success();
    let generated = promtool_test(p, &p.join("gen/prometheus/api-prod.rules.yml"));
    assert!(
        generated.status.success(),
        "the generated rules fire as the originals: {}{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    // Importing again does not overwrite the (hand-edited) spec without --force.
    alertlab()
        .current_dir(p)
        .args(["import", "prometheus"])
        .arg(fixture("rules.yml"))
        .args(["--out", "alerts/api.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
}

/// The generated Terraform, parsed by HashiCorp's parser: alarm resources by `alarm_name`.
fn alarms(main_tf: &Path) -> Vec<Value> {
    let out = Process::new("node")
        .arg(root().join("scripts/hcl/hcl.js"))
        .arg("parse")
        .arg(main_tf)
        .output()
        .expect("node runs scripts/hcl/hcl.js");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = parsed.as_object().unwrap().values().next().unwrap();
    file["resource"]["aws_cloudwatch_metric_alarm"]
        .as_object()
        .unwrap()
        .values()
        .map(|blocks| blocks[0].clone())
        .collect()
}

#[test]
fn imported_cloudwatch_alarms_generate_the_same_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args(["import", "cloudwatch", "--from-file"])
        .arg(fixture("describe-alarms.json"))
        .args(["--env", "prod", "--out", "alerts/shop.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "alarm `error-ratio-prod`: metric math",
        ))
        .stderr(predicate::str::contains("composite alarm `shop-degraded`"));
    alertlab()
        .current_dir(p)
        .args(["generate", "--spec", "alerts", "--out", "gen"])
        .assert()
        .success();
    let generated = alarms(&p.join("gen/terraform/shop/main.tf"));
    let source: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("describe-alarms.json")).unwrap())
            .unwrap();
    let mut compared = 0;
    for original in source["MetricAlarms"].as_array().unwrap() {
        let name = original["AlarmName"].as_str().unwrap();
        let Some(tf) = generated.iter().find(|a| a["alarm_name"] == name) else {
            assert_eq!(
                name, "error-ratio-prod",
                "only the inexpressible alarm is missing"
            );
            continue;
        };
        compared += 1;
        let same = |tf_key: &str, aws_key: &str| {
            assert_eq!(
                tf[tf_key], original[aws_key],
                "{name}: {tf_key} vs {aws_key}"
            );
        };
        same("comparison_operator", "ComparisonOperator");
        same("evaluation_periods", "EvaluationPeriods");
        same("datapoints_to_alarm", "DatapointsToAlarm");
        same("treat_missing_data", "TreatMissingData");
        same("alarm_description", "AlarmDescription");
        for (tf_key, aws_key) in [
            ("ok_actions", "OKActions"),
            ("alarm_actions", "AlarmActions"),
            ("insufficient_data_actions", "InsufficientDataActions"),
        ] {
            let wanted = original[aws_key].as_array().is_some_and(|a| !a.is_empty());
            assert_eq!(tf.get(tf_key).is_some(), wanted, "{name}: {tf_key}");
        }
        if original.get("MetricName").is_some() {
            same("metric_name", "MetricName");
            same("namespace", "Namespace");
            same("period", "Period");
            assert_eq!(
                tf["threshold"].as_f64(),
                original["Threshold"].as_f64(),
                "{name}: threshold"
            );
            match original.get("ExtendedStatistic") {
                Some(p) => assert_eq!(&tf["extended_statistic"], p),
                None => same("statistic", "Statistic"),
            }
            let dims: serde_json::Map<String, Value> = original["Dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| (d["Name"].as_str().unwrap().to_string(), d["Value"].clone()))
                .collect();
            if !dims.is_empty() {
                assert_eq!(tf["dimensions"], Value::Object(dims), "{name}: dimensions");
            }
        } else {
            // The band's width and the metric under it.
            let queries = tf["metric_query"].as_array().unwrap();
            let band = queries
                .iter()
                .find(|q| q["id"] == tf["threshold_metric_id"])
                .unwrap();
            let source_band = original["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["Id"] == original["ThresholdMetricId"])
                .unwrap();
            assert_eq!(
                band["expression"], source_band["Expression"],
                "{name}: band"
            );
            let metric = &queries.iter().find(|q| q["metric"].is_array()).unwrap()["metric"][0];
            let stat = &original["Metrics"][0]["MetricStat"];
            assert_eq!(metric["metric_name"], stat["Metric"]["MetricName"]);
            assert_eq!(metric["namespace"], stat["Metric"]["Namespace"]);
            assert_eq!(metric["period"], stat["Period"]);
            assert_eq!(metric["stat"], stat["Stat"]);
        }
    }
    assert_eq!(compared, 3, "three alarms are expressible");
}

#[test]
fn bad_import_input_is_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("bad.json"), "{\"Alarms\": []}").unwrap();
    alertlab()
        .current_dir(p)
        .args([
            "import",
            "cloudwatch",
            "--from-file",
            "bad.json",
            "--out",
            "x.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `MetricAlarms`"));
    std::fs::write(
        p.join("bad.yml"),
        "groups:\n- name: g\n  rules: [{alert: A, expr: 'sum(('}]\n",
    )
    .unwrap();
    alertlab()
        .current_dir(p)
        .args(["import", "prometheus", "bad.yml", "--out", "x.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid PromQL"))
        .stderr(predicate::str::contains("nothing could be imported"));
    assert!(!p.join("x.yaml").exists(), "nothing written");
}

/// CloudWatch takes any text as an alarm name and statistics alertlab cannot resample (trimmed
/// means): an alarm with such a name is imported under a spec name, with a note, and one with such
/// a statistic is listed with the reason — never a spec the loader refuses.
#[test]
fn odd_alarm_names_are_mapped_and_unreplayable_statistics_listed() {
    let dir = tempfile::tempdir().unwrap();
    let alarms: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("describe-alarms.json")).unwrap())
            .unwrap();
    let base = alarms["MetricAlarms"][0].clone();
    let mut named = base.clone();
    named["AlarmName"] = "Größe überschritten-prod".into();
    let mut trimmed = base.clone();
    trimmed["AlarmName"] = "trimmed-prod".into();
    trimmed.as_object_mut().unwrap().remove("Statistic");
    trimmed["ExtendedStatistic"] = "TM(10%:90%)".into();
    std::fs::write(
        dir.path().join("alarms.json"),
        serde_json::json!({"MetricAlarms": [named, trimmed]}).to_string(),
    )
    .unwrap();
    alertlab()
        .current_dir(dir.path())
        .args(["import", "cloudwatch", "--from-file", "alarms.json"])
        .args(["--env", "prod", "--out", "spec.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "a spec name holds letters, digits, `-` and `_` only: imported as `Gr-e-berschritten` (generated, the alarm is named `Gr-e-berschritten-prod`)",
        ))
        .stderr(predicate::str::contains(
            "alarm `trimmed-prod`: statistic `TM(10%:90%)` cannot be replayed",
        ));
    alertlab()
        .current_dir(dir.path())
        .args(["backtest", "--spec", "spec.yaml", "--data"])
        .arg(root().join("data/lambda_prod.csv"))
        .assert()
        .success();
}
