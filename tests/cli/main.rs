//! CLI tests: the built binary driven like a user would, each test in its own temp dir.

mod bad_input;
mod ci_recipe;
mod docs;
mod exactness;
mod fetch;
mod fetch_cloudwatch;
mod generate;
mod import;
mod notebooks;
mod plot;
mod report;
mod shard;
mod stream;
mod tune;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn alertlab() -> Command {
    Command::cargo_bin("alertlab").unwrap()
}

/// What `cmd` printed on stdout, after checking it succeeded (its stderr is the failure message).
fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The JSON `cmd` printed, after checking it succeeded.
fn json_of(cmd: &mut Command) -> serde_json::Value {
    serde_json::from_slice(&stdout_of(cmd)).unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn nab(file: &str) -> PathBuf {
    root().join("data/nab/realAWSCloudwatch").join(file)
}

#[test]
fn inspect_reports_nab_duplicates_and_gaps_as_json() {
    let out = alertlab()
        .arg("inspect")
        .arg(nab("ec2_network_in_5abac7.csv"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["series"][0];
    assert_eq!(s["rows"], 4730);
    assert_eq!(s["duplicate_timestamps"], 11);
    assert_eq!(s["gaps"], 1);
    assert_eq!(s["median_step_s"], 300.0);
}

#[test]
fn inspect_table_is_aligned_for_people() {
    alertlab()
        .arg("inspect")
        .arg(nab("ec2_cpu_utilization_825cc2.csv"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("series")
                .and(predicate::str::contains("ec2_cpu_utilization_825cc2"))
                .and(predicate::str::contains("2014-04-10T00:04:00Z")),
        );
}

#[test]
fn bad_input_exits_2_with_file_and_line_and_no_panic() {
    let bad = root().join("tests/fixtures/data/bad/bad_value.csv");
    alertlab().arg("inspect").arg(&bad).assert().code(2).stderr(
        predicate::str::contains("line 4")
            .and(predicate::str::contains("`lots` is not a number"))
            .and(predicate::str::contains("panicked").not()),
    );
    alertlab()
        .args(["inspect", "/nonexistent/file.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/file.csv"));
}

#[test]
fn usage_errors_exit_2() {
    alertlab()
        .args(["inspect", "--no-such-flag"])
        .assert()
        .code(2);
    alertlab()
        .args(["synth", "--out", "x.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".csv or .parquet"));
}

#[test]
fn synth_is_seeded_and_loadable() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for path in [&a, &b] {
        alertlab()
            .args([
                "synth", "--series", "2", "--days", "1", "--step", "60", "--seed", "7", "--out",
            ])
            .arg(path)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let pq = dir.path().join("c.parquet");
    alertlab()
        .args([
            "synth", "--series", "2", "--days", "1", "--seed", "7", "--out",
        ])
        .arg(&pq)
        .assert()
        .success();
    let out = alertlab()
        .arg("inspect")
        .arg(&pq)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "header + two series: {text}");
    assert!(text.contains(",1440,1440,"), "{text}");
}

#[test]
fn backtest_json_matches_the_golden_file() {
    let dir = root().join("tests/fixtures/backtest/simple");
    let stdout = stdout_of(
        alertlab()
            .arg("backtest")
            .arg("--spec")
            .arg(dir.join("spec.yaml"))
            .args(["--format", "json"]),
    );
    let expected = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    assert_eq!(String::from_utf8(stdout).unwrap(), expected);
}

/// The incidents an alarm misses are named: all of them in the JSON (`incidents.missed`, windows in
/// RFC 3339), the first few in a note under the table. NAB's `ec2_disk_write_bytes_c0d644` stops
/// writing (exactly 0) before its third window, which no band alarm sees.
#[test]
fn backtest_names_the_incidents_it_misses() {
    let args = |format: &str| {
        vec![
            "backtest".to_string(),
            "--spec".into(),
            root().join("examples/nab/nab.yaml").display().to_string(),
            "--data".into(),
            nab("ec2_disk_write_bytes_c0d644.csv").display().to_string(),
            "--engine".into(),
            "cloudwatch".into(),
            "--format".into(),
            format.into(),
        ]
    };
    let v = json_of(alertlab().args(args("json")));
    let inc = &v["results"][0]["incidents"];
    assert_eq!((&inc["incidents"], &inc["caught"]), (&3.into(), &2.into()));
    assert_eq!(
        inc["missed"],
        serde_json::json!([{"start": "2014-04-12T21:25:00Z", "end": "2014-04-13T08:35:00Z"}])
    );
    let table = String::from_utf8(stdout_of(alertlab().args(args("table")))).unwrap();
    assert!(
        table.contains(
            "`ec2_disk_write_bytes_c0d644`: missed the incident 2014-04-12T21:25:00Z to 2014-04-13T08:35:00Z"
        ),
        "{table}"
    );
}

#[test]
fn backtest_json_contract_fields() {
    let v = json_of(
        alertlab()
            .args(["backtest", "--spec"])
            .arg(root().join("alerts"))
            .args(["--format", "json", "--env", "prod"]),
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        5,
        "2 CloudWatch-only anomaly alerts, 1 Prometheus-only band, 1 alert on both engines, for prod"
    );
    for r in results {
        for key in [
            "alert",
            "env",
            "engine",
            "series",
            "episodes",
            "transitions",
            "notifications",
            "alerts_per_week",
            "time_in_alarm_s",
        ] {
            assert!(r.get(key).is_some(), "missing `{key}` in {r}");
        }
        assert_eq!(r["env"], "prod");
        let states: &[&str] = if r["engine"] == "cloudwatch" {
            &["ALARM", "OK", "INSUFFICIENT_DATA"]
        } else {
            &["pending", "firing", "inactive"]
        };
        for t in r["transitions"].as_array().unwrap() {
            assert!(states.contains(&t["to"].as_str().unwrap()));
            assert!(t["at"].as_str().unwrap().ends_with('Z'));
        }
    }
}

#[test]
fn the_tuned_alarm_is_quieter_than_the_noisy_one() {
    let out = alertlab()
        .args(["backtest", "--spec"])
        .arg(root().join("alerts"))
        .args(["--format", "json", "--engine", "cloudwatch"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let per_week = |alert: &str, env: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["alert"] == alert && r["env"] == env)
            .unwrap()["alerts_per_week"]
            .as_f64()
            .unwrap()
    };
    for env in ["dev", "staging", "prod"] {
        assert!(
            per_week("lambda-concurrency-anomaly", env) * 3.0
                < per_week("lambda-concurrency-noisy", env),
            "{env}"
        );
    }
}

#[test]
fn backtest_csv_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    alertlab()
        .arg("backtest")
        .arg("--spec")
        .arg(root().join("tests/fixtures/backtest/simple/spec.yaml"))
        .args(["--format", "csv", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "alert,env,engine,series,condition,episodes,alerts_per_week,alerts_per_week_ci_low,alerts_per_week_ci_high,notifications,time_in_alarm_s,time_in_alarm_ratio,flaps,longest_episode_s,incidents,caught,recall,precision,false_alerts_per_week,median_delay_s"
    );
    assert!(
        !text.contains('"'),
        "no quoted cell in this fixture: {text}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    // Data, not the table's `6h45m` cells: each cell is the JSON's figure in its unit.
    let json = json_of(
        alertlab()
            .arg("backtest")
            .arg("--spec")
            .arg(root().join("tests/fixtures/backtest/simple/spec.yaml"))
            .args(["--format", "json"]),
    );
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), rows.len());
    for (row, r) in rows.iter().zip(results) {
        let inc = &r["incidents"];
        let expected = [
            &r["alerts_per_week"],
            &r["alerts_per_week_ci"][0],
            &r["alerts_per_week_ci"][1],
            &r["notifications"],
            &r["time_in_alarm_s"],
            &r["time_in_alarm_ratio"],
            &r["flaps"],
            &r["longest_episode_s"],
            &inc["incidents"],
            &inc["caught"],
            &inc["recall"],
            &inc["precision"],
            &inc["false_alerts_per_week"],
            &inc["median_delay_s"],
        ];
        assert_eq!(
            row[..2],
            [r["alert"].as_str().unwrap(), r["env"].as_str().unwrap()]
        );
        for (got, want) in row[6..].iter().zip(expected) {
            match want.as_f64() {
                Some(want) => assert_eq!(got.parse::<f64>().unwrap(), want, "{row:?}"),
                None => assert_eq!(*got, "", "{row:?}: {want}"),
            }
        }
    }
    assert!(
        results
            .iter()
            .any(|r| r["incidents"]["caught"].as_u64() > Some(0)),
        "the fixture's incidents make the figures worth comparing"
    );
}

#[test]
fn backtest_with_a_missing_data_file_names_alert_env_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(root().join("tests/fixtures/backtest/simple/spec.yaml"))
        .unwrap()
        .replace("series.csv", "\"nope_{{env}}.csv\"");
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    let out_file = dir.path().join("out.json");
    alertlab()
        .arg("backtest")
        .arg("--spec")
        .arg(&path)
        .arg("--out")
        .arg(&out_file)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("alert `high`, env `dev`")
                .and(predicate::str::contains("nope_dev.csv")),
        );
    assert!(!out_file.exists(), "nothing is written on error");
}

#[test]
fn backtest_bad_spec_exits_2_with_line() {
    alertlab()
        .arg("backtest")
        .arg("--spec")
        .arg(root().join("tests/fixtures/spec/bad/unknown_key.yaml"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("line 12")
                .and(predicate::str::contains("did you mean `threshold`?")),
        );
}

#[test]
fn backtest_scores_nab_against_its_labelled_windows() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("nab.yaml");
    std::fs::write(
        &spec,
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: nab}\nalerts:\n  - name: cpu\n    metric: {cloudwatch: {namespace: AWS/EC2, name: CPUUtilization, stat: Average, period: 300}}\n    condition: {anomaly: {k: 3, direction: above}}\n    evaluation: {datapoints_to_alarm: 2, evaluation_periods: 3}\n",
    )
    .unwrap();
    let backtest = |file: &str| {
        let mut cmd = alertlab();
        cmd.arg("backtest")
            .arg("--spec")
            .arg(&spec)
            .arg("--data")
            .arg(nab(file))
            .arg("--incidents")
            .arg(root().join("data/nab/labels/combined_windows.json"));
        cmd
    };
    let v = json_of(backtest("ec2_cpu_utilization_24ae8d.csv").args(["--format", "json"]));
    let inc = &v["results"][0]["incidents"];
    assert_eq!(inc["incidents"], 2);
    assert!(inc["caught"].as_u64().unwrap() >= 1, "{inc}");
    // NAB labels no window in `ec2_cpu_utilization_c6585a`: the file says nothing of it, and the
    // backtest (which, unlike tune, still has an answer) says recall is not scored.
    backtest("ec2_cpu_utilization_c6585a.csv")
        .assert()
        .success()
        .stderr(
            predicate::str::contains("`ec2_cpu_utilization_c6585a`: `").and(
                predicate::str::contains(
                    "combined_windows.json` has no windows for this series: recall is not scored",
                ),
            ),
        );
}

#[test]
fn band_csv_has_the_contract_columns_and_no_band_during_warm_up() {
    let out = alertlab()
        .arg("band")
        .arg(root().join("data/lambda_dev.csv"))
        .args(["--model", "seasonal", "--k", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,value,lower,upper"));
    assert!(
        lines.next().unwrap().ends_with(",,"),
        "no band before enough history"
    );
    let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
    let (lower, upper): (f64, f64) = (last[2].parse().unwrap(), last[3].parse().unwrap());
    assert!(lower >= 0.0 && upper > lower);
    assert!(String::from_utf8_lossy(&out.stderr).contains("seasonality daily"));
}

#[test]
fn band_parquet_and_json_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("band.parquet");
    alertlab()
        .arg("band")
        .arg(root().join("tests/fixtures/data/wide.csv"))
        .args([
            "--model",
            "percentile",
            "--p",
            "50",
            "--format",
            "parquet",
            "--out",
        ])
        .arg(&pq)
        .assert()
        .success();
    assert!(std::fs::metadata(&pq).unwrap().len() > 0);
    let out = alertlab()
        .arg("band")
        .arg(nab("ec2_cpu_utilization_24ae8d.csv"))
        .args(["--k", "2", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["series"][0];
    assert_eq!(s["points"].as_array().unwrap().len(), 4032);
    assert!(s["warm_up_points"].as_u64().unwrap() > 0);
    alertlab()
        .arg("band")
        .arg(nab("ec2_cpu_utilization_24ae8d.csv"))
        .args(["--format", "parquet"])
        .assert()
        .code(2);
    alertlab()
        .arg("band")
        .arg(nab("ec2_cpu_utilization_24ae8d.csv"))
        .args(["--model", "replay"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--band-data"));
}

#[test]
fn replay_band_from_get_metric_data_json() {
    let out = alertlab()
        .arg("band")
        .arg(root().join("tests/fixtures/data/replay_series.csv"))
        .args(["--model", "replay", "--k0", "2", "--k", "4", "--band-data"])
        .arg(root().join("tests/fixtures/data/replay_band.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // fetched at k0 = 2: [8, 12] → center 10, σ 1 → at k = 4: [6, 14]
    assert!(text.contains("2024-05-01T10:00:00Z,11,6,14"), "{text}");
}

#[test]
fn data_coarser_than_the_alarm_period_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("fine.yaml");
    std::fs::write(
        &spec,
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: fine}\nalerts:\n  - name: cpu-high\n    metric: {cloudwatch: {namespace: AWS/EC2, name: CPUUtilization, stat: Average, period: 60}}\n    condition: {threshold: {op: \">\", value: 90}}\n",
    )
    .unwrap();
    alertlab()
        .arg("backtest")
        .arg("--spec")
        .arg(&spec)
        .arg("--data")
        .arg(nab("rds_cpu_utilization_e47b3b.csv"))
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: alert `cpu-high`").and(
            predicate::str::contains("data step 5m is coarser than the alarm period 1m"),
        ));
}

/// A history of one point covers no evaluation of a Prometheus rule: its rate per week has no upper
/// bound, which JSON writes as `null`. The table and CSV, printed from that JSON form, show it as
/// unbounded instead of failing to read it back.
#[test]
fn a_history_covering_no_time_has_an_unbounded_interval() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("one.csv"),
        "timestamp,value\n1700000000,5\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: s}\nalerts:\n  - name: high\n    metric: {prometheus: {expr: m}}\n    condition: {threshold: {op: \">\", value: 3}}\n    backtest: {data: one.csv}\n",
    )
    .unwrap();
    let run = |format: &str| {
        String::from_utf8(stdout_of(
            alertlab()
                .current_dir(dir.path())
                .args(["backtest", "--spec", "s.yaml", "--format", format]),
        ))
        .unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let result = &json["results"][0];
    assert_eq!(result["covered_s"], 0.0);
    assert_eq!(result["alerts_per_week_ci"], serde_json::json!([0.0, null]));
    assert!(run("table").contains("[0, inf]"), "{}", run("table"));
    assert!(
        run("csv").lines().nth(1).unwrap().contains(",0,inf,"),
        "{}",
        run("csv")
    );
}

/// A time column of row numbers (1, 2, 3, … as benchmark files ship them) reads as seconds after
/// 1970: the replay runs, and says why its few minutes of history are all warm-up. A number far
/// above epoch milliseconds of today is warned about too; compact `YYYYMMDDHHMMSS` times are read
/// as such.
#[test]
fn implausible_timestamps_get_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("timestamp,value\n");
    for i in 1..=1420 {
        csv.push_str(&format!("{i},{}\n", 100 + i % 7));
    }
    std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: s}\nalerts:\n  - name: band\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}\n    condition: {anomaly: {model: seasonal, k: 2}}\n    backtest: {data: rows.csv}\n",
    )
    .unwrap();
    let warned = predicate::str::contains(
        "the data starts at 1970-01-01T00:00:01Z, long before any CloudWatch or Prometheus history: if its time column holds row numbers, pass how far apart the rows are (`--row-step 1h`) or give times",
    );
    alertlab()
        .current_dir(dir.path())
        .args(["backtest", "--spec", "s.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: alert `band`").and(warned.clone()));
    alertlab()
        .current_dir(dir.path())
        .args(["tune", "--spec", "s.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("warning: band in default (cloudwatch), current and recommended: the data starts at 1970").and(warned.clone()));
    // A chart of it says so too, of one file and of a spec's alarms.
    alertlab()
        .current_dir(dir.path())
        .args(["plot", "rows.csv", "--out", "rows.svg"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: rows.svg: ").and(warned.clone()));
    alertlab()
        .current_dir(dir.path())
        .args(["plot", "--spec", "s.yaml", "--out", "charts"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("warning: band-default-cloudwatch-rows.png: ").and(warned),
        );
    // Real epoch times are not warned about.
    alertlab()
        .args(["backtest", "--spec"])
        .arg(root().join("alerts"))
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
    // Nor are compact `YYYYMMDDHHMMSS` times (read as such); a number that is neither reads as
    // epoch milliseconds far in the future, which is warned about.
    for (time, says) in [
        (
            (|m| format!("201810{:02}{:02}{:02}00", 1 + m / 1440, m / 60 % 24, m % 60))
                as fn(i64) -> String,
            None,
        ),
        (
            |m| format!("{}", 30_000_000_000_000i64 + m * 60_000),
            Some("the data starts at 2920-08-30T05:20:00Z, far in the future: if its time column holds another unit or spelling, give times"),
        ),
    ] {
        let mut csv = String::from("timestamp,value\n");
        for m in 0..3 * 1440 {
            csv.push_str(&format!("{},{}\n", time(m), 100 + m % 7));
        }
        std::fs::write(dir.path().join("rows.csv"), &csv).unwrap();
        let run = alertlab()
            .current_dir(dir.path())
            .args(["backtest", "--spec", "s.yaml"])
            .assert()
            .success();
        match says {
            None => run.stderr(predicate::str::contains("warning").not()),
            Some(says) => run.stderr(predicate::str::contains(says)),
        };
    }
}
