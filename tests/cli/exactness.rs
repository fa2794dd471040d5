//! Exactness at the edges (issue: "exact to the last period"): CloudWatch evaluates the whole span,
//! including periods after the data stops; a literal NaN is a Prometheus sample, not a gap; and the
//! promtool tests `generate` writes assert what Prometheus does, over random histories with gaps.

use std::path::Path;
use std::process::Command as Process;

use alertlab::rng::Rng;
use predicates::prelude::*;

use super::{alertlab, json_of};

const SPEC_HEAD: &str = "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nenvironments: {dev: {account: \"111111111111\", region: eu-west-1}}\nalerts:\n";

fn backtest_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    json_of(
        alertlab()
            .current_dir(dir)
            .args(["backtest", "--spec", "s.yaml", "--format", "json"])
            .args(args),
    )
}

fn transitions(v: &serde_json::Value, alert: &str, engine: &str) -> Vec<(String, String)> {
    let r = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alert"] == alert && r["engine"] == engine)
        .unwrap_or_else(|| panic!("no result for {alert} {engine}"));
    r["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["at"].as_str().unwrap()[11..16].to_string(),
                t["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn cloudwatch_alert(name: &str, treat: &str, data: &str) -> String {
    format!("  - name: {name}\n    metric: {{cloudwatch: {{namespace: X, name: Y, stat: Average, period: 300}}}}\n    condition: {{threshold: {{op: \">\", value: 5}}}}\n    evaluation: {{datapoints_to_alarm: 1, evaluation_periods: 1, treat_missing_data: {treat}}}\n    backtest: {{data: {data}}}\n")
}

fn write_spec(dir: &Path, alerts: &[String]) {
    std::fs::write(
        dir.join("s.yaml"),
        format!("{SPEC_HEAD}{}", alerts.concat()),
    )
    .unwrap();
}

/// Two real datapoints, then three rows with no value: the metric stopped reporting. Every option
/// decides the state once the evaluation range (N + 2 = 3 periods) holds no real datapoint.
#[test]
fn trailing_empty_rows_are_evaluated_by_treat_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tail.csv"),
        "timestamp,value\n2024-01-01T00:00:00Z,10\n2024-01-01T00:05:00Z,10\n2024-01-01T00:10:00Z,\n2024-01-01T00:15:00Z,\n2024-01-01T00:20:00Z,\n",
    )
    .unwrap();
    let alerts: Vec<String> = ["missing", "ignore", "breaching", "notBreaching"]
        .iter()
        .map(|t| cloudwatch_alert(t, t, "tail.csv"))
        .collect();
    write_spec(dir.path(), &alerts);
    let v = backtest_json(dir.path(), &[]);
    let at = |s: &str, to: &str| (s.to_string(), to.to_string());
    assert_eq!(
        transitions(&v, "missing", "cloudwatch"),
        vec![at("00:00", "ALARM"), at("00:20", "INSUFFICIENT_DATA")]
    );
    assert_eq!(
        transitions(&v, "ignore", "cloudwatch"),
        vec![at("00:00", "ALARM")]
    );
    assert_eq!(
        transitions(&v, "notBreaching", "cloudwatch"),
        vec![at("00:00", "ALARM"), at("00:20", "OK")]
    );
    // breaching: 10 > 5 alarms already; the dead metric keeps it in ALARM.
    assert_eq!(
        transitions(&v, "breaching", "cloudwatch"),
        vec![at("00:00", "ALARM")]
    );
    // --end past the last row evaluates the dead metric's periods too.
    let later = backtest_json(dir.path(), &["--end", "2024-01-01T01:00:00Z"]);
    let r = &later["results"][0];
    assert_eq!(r["evaluations"], 13);
    // --start/--end as epoch seconds cut the span.
    let cut = backtest_json(
        dir.path(),
        &["--start", "1704067500", "--end", "1704067500"],
    );
    assert_eq!(cut["results"][0]["evaluations"], 1);
}

/// A file whose rows have no value at all is valid input: the state over it is the
/// `treat_missing_data` answer. An empty file is still an error.
#[test]
fn an_all_missing_file_is_the_treat_missing_data_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dead.csv"),
        "timestamp,value\n2024-01-01T00:00:00Z,\n2024-01-01T00:05:00Z,\n2024-01-01T00:10:00Z,\n",
    )
    .unwrap();
    let alerts: Vec<String> = ["missing", "breaching", "notBreaching"]
        .iter()
        .map(|t| cloudwatch_alert(t, t, "dead.csv"))
        .collect();
    write_spec(dir.path(), &alerts);
    let v = backtest_json(dir.path(), &["--engine", "cloudwatch"]);
    assert!(
        transitions(&v, "missing", "cloudwatch").is_empty(),
        "stays INSUFFICIENT_DATA"
    );
    assert_eq!(
        transitions(&v, "breaching", "cloudwatch"),
        vec![("00:00".to_string(), "ALARM".to_string())]
    );
    assert_eq!(
        transitions(&v, "notBreaching", "cloudwatch"),
        vec![("00:00".to_string(), "OK".to_string())]
    );
    std::fs::write(dir.path().join("dead.csv"), "").unwrap();
    alertlab()
        .current_dir(dir.path())
        .args(["backtest", "--spec", "s.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("dead.csv").and(predicate::str::contains("empty")));
}

/// The minimal case: 10 at 00:00, a literal NaN at 00:01, 1 at 00:03, `> 5` every minute.
/// Prometheus fires only at 00:00 (the NaN sample hides the 10 from the lookback); an empty cell
/// instead lets the lookback reach the 10 until 00:03.
#[test]
fn a_literal_nan_is_a_prometheus_sample() {
    let dir = tempfile::tempdir().unwrap();
    let alert = |name: &str, data: &str| {
        format!("  - name: {name}\n    metric: {{prometheus: {{expr: 'm'}}}}\n    condition: {{threshold: {{op: \">\", value: 5}}}}\n    backtest: {{data: {data}}}\n")
    };
    std::fs::write(
        dir.path().join("nan.csv"),
        "timestamp,value\n2024-01-01T00:00:00Z,10\n2024-01-01T00:01:00Z,NaN\n2024-01-01T00:03:00Z,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("gap.csv"),
        "timestamp,value\n2024-01-01T00:00:00Z,10\n2024-01-01T00:01:00Z,\n2024-01-01T00:03:00Z,1\n",
    )
    .unwrap();
    write_spec(
        dir.path(),
        &[alert("nan", "nan.csv"), alert("gap", "gap.csv")],
    );
    let v = backtest_json(dir.path(), &[]);
    let at = |s: &str, to: &str| (s.to_string(), to.to_string());
    assert_eq!(
        transitions(&v, "nan", "prometheus"),
        vec![at("00:00", "firing"), at("00:01", "inactive")]
    );
    assert_eq!(
        transitions(&v, "gap", "prometheus"),
        vec![at("00:00", "firing"), at("00:03", "inactive")]
    );
}

/// Random 1-minute histories with gaps (some longer than the lookback) and NaN samples, through
/// `alertlab generate` for both rule families — thresholds and `promql` bands, fed raw through an
/// invertible expression and as recorded values through one that is not — then `promtool test
/// rules` on the generated tests. One flipped expectation must make promtool fail.
#[test]
fn generated_promtool_tests_pass_on_random_histories_and_catch_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(424_242);
    let mut alerts = Vec::new();
    for case in 0..12 {
        let mut csv = String::from("timestamp,value\n");
        let len = rng.int(60, 160);
        let mut level = 50.0;
        let mut t = 0;
        while t < len {
            if rng.chance(0.05) {
                t += *rng.pick(&[2, 4, 7, 12]); // a gap: no rows
                continue;
            }
            let cell = if rng.chance(0.03) {
                "NaN".to_string()
            } else if rng.chance(0.04) {
                String::new() // a row without a value
            } else {
                level = (level + 8.0 * rng.normal()).clamp(0.0, 100.0);
                let spike = if rng.chance(0.04) { 60.0 } else { 0.0 };
                format!("{}", ((level + spike) * 10.0).round() / 10.0)
            };
            csv.push_str(&format!("{},{cell}\n", 1_704_067_200 + 60 * t));
            t += 1;
        }
        std::fs::write(dir.path().join(format!("c{case}.csv")), csv).unwrap();
        let expr = if case % 3 == 2 {
            format!("m{{case=\"{case}\"}} * 1") // not invertible: fed as recorded values
        } else {
            format!("max(m{{case=\"{case}\"}})")
        };
        let condition = if case % 2 == 0 {
            format!("{{threshold: {{op: \">\", value: {}}}}}", rng.int(55, 80))
        } else {
            "{anomaly: {model: promql, k: 2, window: 15m, direction: both}}".to_string()
        };
        let for_ = *rng.pick(&["0m", "2m", "3m"]);
        let keep = *rng.pick(&["0m", "3m"]);
        alerts.push(format!("  - name: c{case}\n    metric: {{prometheus: {{expr: '{expr}'}}}}\n    condition: {condition}\n    evaluation: {{for: {for_}, keep_firing_for: {keep}}}\n    backtest: {{data: c{case}.csv}}\n"));
    }
    write_spec(dir.path(), &alerts);
    alertlab()
        .current_dir(dir.path())
        .args(["generate", "--spec", "s.yaml", "--out", "out"])
        .assert()
        .success();
    let test_file = dir.path().join("out/prometheus/tests/t-dev.test.yml");
    let text = std::fs::read_to_string(&test_file).unwrap();
    assert!(text.contains("series: \"m{case=\\\"0\\\"}\""), "raw feed");
    assert!(
        text.contains("series: \"alertlab:c2:value\""),
        "recorded feed"
    );
    assert!(text.contains("NaN"), "NaN samples reach promtool");
    let promtool = |cwd: &Path| {
        Process::new("promtool")
            .args(["test", "rules", "t-dev.test.yml"])
            .current_dir(cwd)
            .output()
            .expect("promtool is installed by scripts/test.sh")
    };
    let tests_dir = dir.path().join("out/prometheus/tests");
    let ok = promtool(&tests_dir);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let firing = text.matches("exp_alerts:\n          - exp_labels").count();
    assert!(firing > 10, "the histories fire: {firing}");
    // Flip the first firing expectation to "not firing": promtool must notice.
    let at = text.find("exp_alerts:\n          - exp_labels").unwrap();
    let end = text[at..]
        .find("\n      - eval_time")
        .map_or(text.len(), |e| at + e);
    let wrong = format!("{}exp_alerts: []{}", &text[..at], &text[end..]);
    std::fs::write(&test_file, wrong).unwrap();
    assert!(
        !promtool(&tests_dir).status.success(),
        "a wrong expectation fails"
    );
}

/// A FIFO nobody writes to is "empty" at once (it used to hang `inspect` and `backtest`), and a
/// pipe with data is read like a file.
#[cfg(unix)]
#[test]
fn fifos_and_pipes_are_read_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f.csv");
    let made = Process::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    alertlab()
        .arg("inspect")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is empty"));
    // A writer feeding the FIFO: its rows are read.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(
                &fifo,
                "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,2\n",
            )
            .unwrap();
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    alertlab()
        .args(["inspect", "--format", "json"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"rows\": 2"));
    writer.join().unwrap();
}
