//! `alertlab tune`: its figures are backtest's, its recommendations meet their budget when re-run
//! through backtest (with the overlay it writes), the JSON contract, and bad grids and incidents.

use std::collections::BTreeMap;
use std::path::Path;

use alertlab::rng::Rng;
use predicates::prelude::*;

use super::alertlab;

/// A folder with a spec (a CloudWatch seasonal band alert and a Prometheus threshold alert), a
/// week of synthetic 5-minute data with injected anomalies, and their windows.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    synth_with_anomalies(p, ("9", "300", "3"), ("shift,spike,drift", "4,8,4", "5"));
    std::fs::write(
        p.join("s.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments: {dev: {account: "111111111111", region: eu-west-1}}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}
    condition: {anomaly: {model: seasonal, k: 2, direction: both}}
    evaluation: {datapoints_to_alarm: 1, evaluation_periods: 1}
    backtest: {data: data.csv, incidents: data.windows.csv}
  - name: ceiling
    metric: {prometheus: {expr: 'm'}}
    condition: {threshold: {op: ">", value: 500}}
    backtest: {data: data.csv, incidents: data.windows.csv}
"#,
    )
    .unwrap();
    dir
}

/// `data.csv` in `dir`: `alertlab synth` (days, step in seconds, seed) with two of each anomaly
/// injected by `alertlab inject` (kinds, sizes, seed), and their windows in `data.windows.csv`.
fn synth_with_anomalies(dir: &Path, synth: (&str, &str, &str), inject: (&str, &str, &str)) {
    let (days, step, seed) = synth;
    alertlab()
        .current_dir(dir)
        .args([
            "synth", "--days", days, "--step", step, "--seed", seed, "--out", "raw.csv",
        ])
        .assert()
        .success();
    let (kinds, sizes, seed) = inject;
    alertlab()
        .current_dir(dir)
        .args([
            "inject", "raw.csv", "--kind", kinds, "--size", sizes, "--count", "2", "--seed", seed,
            "--out", "data.csv",
        ])
        .assert()
        .success();
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = alertlab().current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The incident figures of the first result of `backtest --spec s.yaml` in `dir`, with `extra`.
fn backtest_incidents(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["backtest", "--spec", "s.yaml", "--format", "json"];
    args.extend_from_slice(extra);
    json(dir, &args)["results"][0]["incidents"].clone()
}

/// `alertlab tune --spec s.yaml --format json` with `args` after, in `dir`.
fn tune_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["tune", "--spec", "s.yaml", "--format", "json"];
    all.extend_from_slice(args);
    json(dir, &all)
}

fn backtest_row<'a>(v: &'a serde_json::Value, alert: &str, engine: &str) -> &'a serde_json::Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alert"] == alert && r["engine"] == engine)
        .unwrap()
}

/// The spec's own keys for a flat setting, written by hand (not by alertlab's mapping).
fn as_override(params: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut anomaly = Vec::new();
    let mut condition = Vec::new();
    let mut evaluation = Vec::new();
    for (k, v) in params {
        let text = v.as_str().map_or(v.to_string(), String::from);
        match k.as_str() {
            "k" | "window" | "smooth" | "season" => anomaly.push(format!("{k}: {text}")),
            "value" => condition.push(format!("threshold: {{value: {v}}}")),
            _ => evaluation.push(format!("{k}: {text}")),
        }
    }
    if !anomaly.is_empty() {
        condition.push(format!("anomaly: {{{}}}", anomaly.join(", ")));
    }
    let mut parts = Vec::new();
    if !condition.is_empty() {
        parts.push(format!("condition: {{{}}}", condition.join(", ")));
    }
    if !evaluation.is_empty() {
        parts.push(format!("evaluation: {{{}}}", evaluation.join(", ")));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The values `key` took in the settings tune tried (`--all`) for `alert`, as JSON text.
fn tried(tuned: &serde_json::Value, alert: &str, key: &str) -> std::collections::BTreeSet<String> {
    tuned["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["alert"] == alert)
        .filter_map(|s| s["params"].get(key).map(|v| v.to_string()))
        .collect()
}

/// One figure of tune's and backtest's JSON: the same number to the last digit printed.
fn same(a: &serde_json::Value, b: &serde_json::Value, what: &str) {
    assert_eq!(a, b, "{what}");
}

/// For random settings of every alert, the figures tune reports are exactly those backtest gives
/// when the setting is pasted into the spec as an override.
#[test]
fn tune_figures_equal_backtest_for_random_settings() {
    let dir = workspace();
    let p = dir.path();
    let tuned = tune_json(
        p,
        &[
            "--all",
            "--grid",
            "k=1.5,2,3,5",
            "--grid",
            "evaluation_periods=1,3,5",
            "--grid",
            "datapoints_to_alarm=1,2,3",
            "--grid",
            "value=300,500,800",
            "--grid",
            "for=0m,10m",
        ],
    );
    let settings = tuned["settings"].as_array().unwrap();
    assert!(settings.len() > 30, "{}", settings.len());
    let mut rng = Rng::new(11);
    let spec = std::fs::read_to_string(p.join("s.yaml")).unwrap();
    // Every Prometheus setting (settings of one threshold share its presence across `for`), and
    // random others.
    let prometheus = settings.iter().filter(|s| s["engine"] == "prometheus");
    assert!(prometheus.clone().count() >= 6, "value × for");
    let random: Vec<&serde_json::Value> = (0..8).map(|_| rng.pick(settings)).collect();
    // And each current setting, which the report gives in the keys tuned: pasted back, the same.
    let recommendations = tuned["recommendations"].as_array().unwrap();
    let current: Vec<(&serde_json::Value, &serde_json::Value)> =
        recommendations.iter().map(|r| (r, &r["current"])).collect();
    let current_params = |alert: &str| {
        let (_, c) = current.iter().find(|(r, _)| r["alert"] == alert).unwrap();
        c["params"].clone()
    };
    assert_eq!(
        current_params("band"),
        serde_json::json!({"k": 2.0, "datapoints_to_alarm": 1, "evaluation_periods": 1})
    );
    assert_eq!(
        current_params("ceiling"),
        serde_json::json!({"value": 500.0, "for": "0m"})
    );
    let tried = prometheus
        .map(|s| (s, s))
        .chain(random.into_iter().map(|s| (s, s)));
    for (which, s) in tried.chain(current) {
        let (alert, engine) = (
            which["alert"].as_str().unwrap(),
            which["engine"].as_str().unwrap(),
        );
        let params = s["params"].as_object().unwrap();
        // Paste the setting into the alert's dev override and backtest that spec.
        let marker = format!("  - name: {alert}\n");
        let pasted = spec.replace(
            &marker,
            &format!("{marker}    overrides: {{dev: {}}}\n", as_override(params)),
        );
        std::fs::write(p.join("pasted.yaml"), pasted).unwrap();
        let bt = json(
            p,
            &[
                "backtest",
                "--spec",
                "pasted.yaml",
                "--format",
                "json",
                "--alert",
                alert,
                "--engine",
                engine,
            ],
        );
        let row = backtest_row(&bt, alert, engine);
        same(
            &s["alerts_per_week"],
            &row["alerts_per_week"],
            "alerts_per_week",
        );
        same(
            &s["alerts_per_week_ci"][1],
            &row["alerts_per_week_ci"][1],
            "ci",
        );
        same(
            &s["time_in_alarm_ratio"],
            &row["time_in_alarm_ratio"],
            "time_in_alarm_ratio",
        );
        let inc = &row["incidents"];
        same(
            &s["false_alerts_per_week"],
            &inc["false_alerts_per_week"],
            "false_alerts_per_week",
        );
        same(&s["recall"], &inc["recall"], "recall");
        same(
            &s["median_delay_s"],
            &inc["median_delay_s"],
            "median_delay_s",
        );
    }
}

/// A `promql` band rule's settings share one band per window (a `season` shifts it) and one
/// smoothing per `smooth` in tune; backtest computes each from scratch. Both give the same figures
/// for every setting.
#[test]
fn promql_band_tune_figures_equal_backtest_for_every_window_season_and_smooth() {
    let dir = workspace();
    let p = dir.path();
    let spec = r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: pq}
environments: {dev: {account: "111111111111", region: eu-west-1}}
alerts:
  - name: rule
    metric: {prometheus: {expr: 'm'}}
    condition: {anomaly: {model: promql, k: 3, window: 1h, direction: both}}
    evaluation: {interval: 1m}
    backtest: {data: data.csv, incidents: data.windows.csv}
"#;
    std::fs::write(p.join("pq.yaml"), spec).unwrap();
    let tuned = json(
        p,
        &[
            "tune",
            "--spec",
            "pq.yaml",
            "--format",
            "json",
            "--all",
            "--grid",
            "k=2,4",
            "--grid",
            "window=30m,3h",
            "--grid",
            "smooth=0m,15m,1h",
            "--grid",
            "for=0m,10m",
            "--grid",
            "season=0m,1d",
        ],
    );
    let settings = tuned["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 1 + 2 * 2 * 3 * 2 * 2);
    let mut alerts = std::collections::BTreeSet::new();
    let mut by_season = std::collections::BTreeMap::new();
    for s in settings {
        let params = s["params"].as_object().unwrap();
        let marker = "  - name: rule\n";
        let pasted = spec.replace(
            marker,
            &format!("{marker}    overrides: {{dev: {}}}\n", as_override(params)),
        );
        std::fs::write(p.join("pasted.yaml"), pasted).unwrap();
        let bt = json(
            p,
            &["backtest", "--spec", "pasted.yaml", "--format", "json"],
        );
        let row = backtest_row(&bt, "rule", "prometheus");
        same(
            &s["alerts_per_week"],
            &row["alerts_per_week"],
            "alerts_per_week",
        );
        let inc = &row["incidents"];
        same(&s["recall"], &inc["recall"], "recall");
        same(
            &s["median_delay_s"],
            &inc["median_delay_s"],
            "median_delay_s",
        );
        alerts.insert(s["alerts_per_week"].to_string());
        let season = params.get("season").and_then(|v| v.as_str()).unwrap_or("-");
        by_season
            .entry(season.to_string())
            .or_insert_with(Vec::new)
            .push(s["alerts_per_week"].to_string());
    }
    assert!(alerts.len() > 4, "the settings differ: {alerts:?}");
    assert_ne!(
        by_season["0m"], by_season["1d"],
        "the window a day earlier is another band"
    );
}

/// The JSON contract, and every recommendation within budget stays within it when backtest reads
/// the overlay `--write` put beside the spec (which it never touches).
#[test]
fn recommendations_meet_their_budget_through_the_overlay() {
    let dir = workspace();
    let p = dir.path();
    let spec_before = std::fs::read_to_string(p.join("s.yaml")).unwrap();
    let tune_args = [
        "tune", "--spec", "s.yaml", "--format", "json", "--budget", "1", "--write", "--all",
    ];
    let tuned = json(p, &tune_args);
    assert_eq!(
        std::fs::read_to_string(p.join("s.yaml")).unwrap(),
        spec_before
    );
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    assert!(
        overlay.starts_with("# Code generated by alertlab"),
        "{overlay}"
    );
    let recs = tuned["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    for r in recs {
        for key in [
            "alert",
            "env",
            "engine",
            "params",
            "alerts_per_week",
            "false_alerts_per_week",
            "recall",
            "median_delay_s",
            "configs_evaluated",
        ] {
            assert!(r.get(key).is_some(), "recommendation lacks `{key}`: {r}");
        }
        assert!(r["configs_evaluated"].as_u64().unwrap() > 10);
        // Recall as counts, which add up over files (the NAB procedure pools windows caught).
        let (incidents, caught) = (
            r["incidents"].as_u64().unwrap(),
            r["caught"].as_u64().unwrap(),
        );
        assert!(incidents > 0 && caught <= incidents, "{r}");
        same(
            &serde_json::json!(caught as f64 / incidents as f64),
            &r["recall"],
            "caught / incidents",
        );
    }
    for p_ in tuned["pareto"].as_array().unwrap() {
        for key in [
            "alert",
            "env",
            "engine",
            "params",
            "alerts_per_week",
            "recall",
            "median_delay_s",
        ] {
            assert!(p_.get(key).is_some(), "pareto point lacks `{key}`");
        }
    }
    let bt = json(p, &["backtest", "--spec", "s.yaml", "--format", "json"]);
    for r in recs {
        let row = backtest_row(
            &bt,
            r["alert"].as_str().unwrap(),
            r["engine"].as_str().unwrap(),
        );
        same(
            &r["alerts_per_week"],
            &row["alerts_per_week"],
            "through the overlay",
        );
        if r["within_budget"] == true {
            assert!(row["incidents"]["false_alerts_per_week"].as_f64().unwrap() <= 1.0 + 1e-9);
            let share = row["time_in_alarm_ratio"].as_f64().unwrap();
            assert!(share <= r["max_time_in_alarm"].as_f64().unwrap(), "{row}");
        }
    }
    // `--no-tuned` reads the spec alone again.
    let plain = json(
        p,
        &[
            "backtest",
            "--spec",
            "s.yaml",
            "--format",
            "json",
            "--no-tuned",
        ],
    );
    let first = tuned["recommendations"][0]["current"]["alerts_per_week"].clone();
    let alert = tuned["recommendations"][0]["alert"].as_str().unwrap();
    let engine = tuned["recommendations"][0]["engine"].as_str().unwrap();
    same(
        &first,
        &backtest_row(&plain, alert, engine)["alerts_per_week"],
        "no-tuned",
    );
    // Tuning again reads its own overlay as the current setting, but searches the settings of the
    // spec as written (the threshold around its value, the periods from its period), so it
    // recommends the same and writes the same overlay instead of drifting further each run.
    let again = json(p, &tune_args);
    let searched = |v: &serde_json::Value| -> Vec<String> {
        let mut s: Vec<String> = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| !s["params"].as_object().unwrap().is_empty())
            .map(|s| format!("{} {} {}", s["alert"], s["engine"], s["params"]))
            .collect();
        s.sort();
        s
    };
    assert_eq!(searched(&again), searched(&tuned), "the grid moved");
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--budget", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "note: current includes the tuned overlay `s.tuned.yaml`",
        ));
    assert_eq!(
        std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap(),
        overlay,
        "a second --write changed the overlay"
    );
    // generate carries the tuned values, and `--check` notices when the overlay goes stale.
    alertlab()
        .current_dir(p)
        .args(["generate", "--spec", "s.yaml", "--out", "out"])
        .assert()
        .success();
    alertlab()
        .current_dir(p)
        .args(["generate", "--spec", "s.yaml", "--out", "out", "--check"])
        .assert()
        .success();
    // New labels judge the settings anew: the overlay is stale, naming the windows file.
    let windows = std::fs::read_to_string(p.join("data.windows.csv")).unwrap();
    let mut relabelled = windows.clone();
    relabelled.push_str(windows.lines().nth(1).unwrap());
    relabelled.push('\n');
    std::fs::write(p.join("data.windows.csv"), relabelled).unwrap();
    let check_calls_stale = |file: &str| {
        alertlab()
            .current_dir(p)
            .args([
                "generate",
                "--spec",
                "s.yaml",
                "--out",
                "out",
                "--check",
                "--no-tests",
            ])
            .assert()
            .code(1)
            .stdout(
                predicate::str::contains("stale tuned overlay").and(predicate::str::contains(
                    format!("data file `{file}` changed since it was tuned"),
                )),
            );
    };
    check_calls_stale("data.windows.csv");
    std::fs::write(p.join("data.windows.csv"), windows).unwrap();
    let mut data = std::fs::read_to_string(p.join("data.csv")).unwrap();
    data.push_str("2030-01-01T00:00:00Z,synth-0,1\n");
    std::fs::write(p.join("data.csv"), data).unwrap();
    check_calls_stale("data.csv");
}

#[test]
fn bad_grids_and_incidents_are_usage_errors_naming_them() {
    let dir = workspace();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--grid", "kk=1,2"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown grid key `kk`")
                .and(predicate::str::contains("did you mean `k`")),
        );
    alertlab()
        .current_dir(p)
        .args([
            "tune",
            "--spec",
            "s.yaml",
            "--grid",
            "evaluation_periods=three",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`three` is not a positive whole number",
        ));
    // Windows of another series, no windows at all (a bare header), and windows only outside the
    // history: each leaves recall unknown, which tune must not answer silently.
    for (file, windows, says) in [
        (
            "other.csv",
            "start,end,series\n2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,somewhere-else\n",
            "has no windows for series `synth-0` (alert",
        ),
        (
            "bare.csv",
            "start,end\n",
            "has no windows for series `synth-0` (alert",
        ),
        (
            "old.csv",
            "start,end\n1999-01-01T00:00:00Z,1999-01-01T01:00:00Z\n",
            "has no windows for series `synth-0` inside its evaluated span",
        ),
    ] {
        std::fs::write(p.join(file), windows).unwrap();
        alertlab()
            .current_dir(p)
            .args(["tune", "--spec", "s.yaml", "--incidents", file])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(file).and(predicate::str::contains(says)));
    }
    // A point label is judged by the alarm's view of it: one inside the last 5-minute period
    // (the history's last datapoint is stamped 23:55) is seen by the last evaluation; one a
    // period later is not.
    for (point, judged) in [
        ("2026-01-13T23:57:00Z", true),
        ("2026-01-14T00:01:00Z", false),
    ] {
        std::fs::write(
            p.join("point.csv"),
            format!("timestamp,value,is_anomaly\n{point},0,1\n"),
        )
        .unwrap();
        let out = alertlab()
            .current_dir(p)
            .args(["tune", "--spec", "s.yaml", "--alert", "band"])
            .args(["--incidents", "point.csv", "--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(if judged { 0 } else { 2 }),
            "{point}: {stderr}"
        );
    }
    std::fs::write(p.join("empty.csv"), "").unwrap();
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--incidents", "empty.csv"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("`empty.csv` is empty").and(predicate::str::contains(
                "an incidents file is a CSV with a header `start,end",
            )),
        );
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--inject", "wobble:3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`wobble` is no anomaly kind"));
}

/// Hourly data under a 5-minute alarm: most periods have no datapoint, so the default grid also
/// tries the data's step as the period, and the recommendation (period 3600) reproduces through
/// the overlay.
#[test]
fn data_coarser_than_the_period_tries_the_data_step_as_period() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    synth_with_anomalies(p, ("21", "3600", "4"), ("shift", "6", "2"));
    std::fs::write(
        p.join("s.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}
    condition: {anomaly: {model: seasonal, k: 2, direction: both}}
    backtest: {data: data.csv, incidents: data.windows.csv}
"#,
    )
    .unwrap();
    let tuned = tune_json(p, &["--all", "--write"]);
    assert_eq!(
        tried(&tuned, "band", "period")
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["300", "3600"],
        "the spec's period and the data's step are both tried"
    );
    let r = &tuned["recommendations"][0];
    assert_eq!(r["params"]["period"], 3600, "{r}");
    // The current 5-minute alarm lives by its missing-data rule on hourly data: the replay's
    // warning comes with it, as backtest gives it; the hourly recommendation has none.
    assert_eq!(
        r["current"]["warnings"],
        serde_json::json!([
            "data step 1h is coarser than the alarm period 5m: most periods have no datapoint"
        ]),
        "{r}"
    );
    assert!(r.get("warnings").is_none(), "{r}");
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--no-tuned"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning: band in default (cloudwatch), current: data step 1h is coarser than the alarm period 5m",
        ));
    let bt = json(p, &["backtest", "--spec", "s.yaml", "--format", "json"]);
    same(
        &r["alerts_per_week"],
        &backtest_row(&bt, "band", "cloudwatch")["alerts_per_week"],
        "through the overlay",
    );
}

/// Daily data under a 5-minute alarm: the data's step is tried as the period, and where that with
/// N periods would look back further than CloudWatch allows (a week for periods of an hour or
/// more) the combination is skipped, as M > N is, instead of failing the run.
#[test]
fn combinations_cloudwatch_refuses_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args([
            "synth", "--days", "60", "--step", "86400", "--seed", "3", "--out", "d.csv",
        ])
        .assert()
        .success();
    std::fs::write(
        p.join("s.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: d}
alerts:
  - name: daily
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}
    condition: {threshold: {op: ">", value: 500}}
    backtest: {data: d.csv}
"#,
    )
    .unwrap();
    let tuned = tune_json(p, &["--all"]);
    let daily: Vec<i64> = tuned["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["params"]["period"] == 86400)
        .map(|s| s["params"]["evaluation_periods"].as_i64().unwrap())
        .collect();
    assert!(!daily.is_empty(), "the data's step is tried as the period");
    assert!(daily.iter().all(|n| *n <= 7), "{daily:?}");
    assert!(daily.contains(&5), "{daily:?}");
    let rec = &tuned["recommendations"][0];
    let (evaluated, skipped) = (
        rec["configs_evaluated"].as_u64().unwrap(),
        rec["configs_skipped"].as_u64().unwrap(),
    );
    assert_eq!(
        evaluated as usize,
        tuned["settings"].as_array().unwrap().len()
    );
    assert!(skipped > 0, "M > N and week-long look-backs: {rec}");
    // A grid whose every setting is refused leaves the current one, and the table says why.
    let args = [
        "tune",
        "--spec",
        "s.yaml",
        "--grid",
        "period=86400",
        "--grid",
        "evaluation_periods=8,9",
    ];
    let only = json(p, &[&args[..], &["--format", "json"]].concat());
    assert_eq!(only["recommendations"][0]["configs_evaluated"], 1);
    assert_eq!(only["recommendations"][0]["configs_skipped"], 2);
    let out = alertlab().current_dir(p).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("all 2 settings of the grid were skipped"),
        "{text}"
    );
    // So is an evaluation range shorter than N: the grid's own, or the spec's beside the grid's N
    // (with none written it follows N, N + 2, and every N is tried).
    let ranges = json(
        p,
        &[
            "tune",
            "--spec",
            "s.yaml",
            "--grid",
            "evaluation_periods=3,5",
            "--grid",
            "evaluation_range=4,6",
            "--format",
            "json",
            "--all",
        ],
    );
    let tried: Vec<(i64, i64)> = ranges["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["params"].get("evaluation_range").is_some())
        .map(|s| {
            let n = s["params"]["evaluation_periods"].as_i64().unwrap();
            (n, s["params"]["evaluation_range"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(tried, [(3, 4), (3, 6), (5, 6)], "{ranges}");
    let spec = std::fs::read_to_string(p.join("s.yaml")).unwrap();
    std::fs::write(
        p.join("s.yaml"),
        spec.replace(
            "    backtest:",
            "    evaluation: {evaluation_range: 4}\n    backtest:",
        ),
    )
    .unwrap();
    let given = json(
        p,
        &[
            "tune",
            "--spec",
            "s.yaml",
            "--grid",
            "evaluation_periods=3,5",
            "--grid",
            "datapoints_to_alarm=1",
            "--format",
            "json",
        ],
    );
    assert_eq!(given["recommendations"][0]["configs_skipped"], 1, "{given}");
}

/// The default grid tries coarser periods for a band or an averaged threshold, never for a static
/// threshold on a sum, whose value would mean something else over a longer period.
#[test]
fn coarser_and_finer_periods_are_tried_except_for_thresholds_on_sums() {
    let dir = workspace();
    let p = dir.path();
    std::fs::write(
        p.join("sums.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: sums}
alerts:
  - name: mean
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}
    condition: {threshold: {op: ">", value: 500}}
    backtest: {data: data.csv}
  - name: total
    metric: {cloudwatch: {namespace: X, name: Y, stat: Sum, period: 300}}
    condition: {threshold: {op: ">", value: 500}}
    backtest: {data: data.csv}
  - name: hourly
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 3600}}
    condition: {anomaly: {model: seasonal, k: 3, direction: both}}
    backtest: {data: data.csv}
"#,
    )
    .unwrap();
    let tuned = json(
        p,
        &["tune", "--spec", "sums.yaml", "--format", "json", "--all"],
    );
    let periods = |alert| {
        tried(&tuned, alert, "period")
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(periods("mean"), vec!["300", "3600", "900"]);
    let total = tried(&tuned, "total", "period");
    assert!(total.is_empty(), "{total:?}");
    // An hourly alarm on 5-minute data: a third and a twelfth of its period as well.
    assert_eq!(periods("hourly"), vec!["1200", "300", "3600"]);
}

/// `--grid` replaces the default grid as a whole: naming only `for` compares exactly those values
/// of the rule as written (prometheus/prometheus#15545's question), nothing else.
#[test]
fn a_grid_flag_varies_only_the_keys_it_names() {
    let dir = workspace();
    let p = dir.path();
    let tuned = tune_json(
        p,
        &[
            "--all",
            "--alert",
            "ceiling",
            "--engine",
            "prometheus",
            "--grid",
            "for=0m,5m,10m",
        ],
    );
    let settings = tuned["settings"].as_array().unwrap();
    let mut fors = Vec::new();
    for s in settings {
        let params = s["params"].as_object().unwrap();
        assert!(params.keys().all(|k| k == "for"), "{params:?}");
        fors.extend(params.get("for").map(|v| v.to_string()));
    }
    assert_eq!(fors, vec!["\"0m\"", "\"5m\"", "\"10m\""]);
    let rec = &tuned["recommendations"][0];
    assert_eq!(rec["configs_evaluated"], 4, "the current setting and three");
}

/// One `--grid` serves every alert, so a key no selected alert takes is dropped from each grid; a
/// key dropped everywhere (a typo of intent: `p` with no percentile condition, `for` when only
/// CloudWatch alarms are tuned) is said on stderr rather than silently giving untuned results.
#[test]
fn a_grid_key_no_selected_alert_takes_is_warned_about() {
    let dir = workspace();
    let run = |args: &[&str]| {
        let out = alertlab()
            .current_dir(dir.path())
            .args(["tune", "--spec", "s.yaml", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let warned = |stderr: &str, key: &str| stderr.contains(&format!("warning: `--grid {key}`"));
    let stderr = run(&[
        "--grid",
        "p=95",
        "--grid",
        "for=5m",
        "--grid",
        "k=3",
        "--engine",
        "cloudwatch",
    ]);
    assert!(warned(&stderr, "p"), "{stderr}");
    assert!(warned(&stderr, "for"), "{stderr}");
    assert!(!warned(&stderr, "k"), "{stderr}");
    // `for` tunes the Prometheus rule once that engine runs; `value` tunes the threshold.
    let stderr = run(&["--grid", "for=5m", "--grid", "value=400"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    // `k` tunes only the band, which `--alert ceiling` leaves out.
    let stderr = run(&["--grid", "k=3", "--alert", "ceiling"]);
    assert!(warned(&stderr, "k"), "{stderr}");
}

/// `kpi.csv` in `p`: four weeks of an hourly metric with a daily cycle and noise (seeded), shifted
/// up over each of the anomalies' hours, and the rows `flagged` says marked in an `is_anomaly`
/// column, as labelled datasets ship them.
fn write_hourly_kpi(
    p: &Path,
    seed: u64,
    (anomalies, shift): (&[std::ops::Range<i64>], f64),
    flagged: impl Fn(i64) -> bool,
) {
    let mut rng = Rng::new(seed);
    let mut csv = String::from("timestamp,value,is_anomaly\n");
    let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z
    for h in 0..24 * 28 {
        let daily = 50.0 * (std::f64::consts::TAU * (h % 24) as f64 / 24.0).sin();
        let shifted = anomalies.iter().any(|a| a.contains(&h));
        let value = 200.0 + daily + 5.0 * rng.normal() + if shifted { shift } else { 0.0 };
        csv.push_str(&format!(
            "{},{value:.3},{}\n",
            t0 + h * 3600,
            u8::from(flagged(h))
        ));
    }
    std::fs::write(p.join("kpi.csv"), csv).unwrap();
}

/// A labelled dataset as such datasets ship (`timestamp,value,is_anomaly`): the flag column is not
/// a series, and the same file given as `--incidents` labels its flagged runs as windows.
#[test]
fn a_file_with_per_row_anomaly_flags_is_its_own_incidents_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let anomaly = 500..506;
    write_hourly_kpi(p, 5, (std::slice::from_ref(&anomaly), 150.0), |h| {
        anomaly.contains(&h)
    });
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nalerts:\n  - name: kpi\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 3600}}\n    condition: {anomaly: {model: seasonal, k: 2, direction: both}}\n    backtest: {data: kpi.csv}\n",
    )
    .unwrap();
    let report = json(
        p,
        &[
            "tune",
            "--spec",
            "s.yaml",
            "--incidents",
            "kpi.csv",
            "--format",
            "json",
        ],
    );
    let r = &report["recommendations"][0];
    assert_eq!(r["current"]["incidents"], 1, "{r}");
    assert_eq!(r["recall"], 1.0, "{r}");
    assert_eq!(r["within_budget"], true, "{r}");
}

/// A file that numbers its rows instead of stamping them (Yahoo's S5 A1 set: `timestamp` 1, 2, 3,
/// … an hour apart) reads, with `--row-step 1h`, exactly as the same file with times from
/// 2000-01-01: backtest and tune give the same bytes, its flagged rows labelling it. Without the
/// step the replay warns and names the flag; with it, a file of real times is refused.
#[test]
fn row_numbers_read_with_a_row_step_are_the_times_of_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let anomaly = 500..503;
    write_hourly_kpi(p, 9, (std::slice::from_ref(&anomaly), 150.0), |h| {
        anomaly.contains(&h)
    });
    let kpi = std::fs::read_to_string(p.join("kpi.csv")).unwrap();
    for (folder, time) in [
        (
            "real",
            &(|n: i64| (946_684_800 + n * 3600).to_string()) as &dyn Fn(i64) -> String,
        ),
        ("rows", &|n: i64| n.to_string()),
    ] {
        let mut csv = String::from("timestamp,value,is_anomaly\n");
        for (n, line) in kpi.lines().skip(1).enumerate() {
            let (_, rest) = line.split_once(',').unwrap();
            csv.push_str(&format!("{},{rest}\n", time(n as i64 + 1)));
        }
        std::fs::create_dir(p.join(folder)).unwrap();
        std::fs::write(p.join(folder).join("kpi.csv"), csv).unwrap();
    }
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nalerts:\n  - name: kpi\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 3600}}\n    condition: {anomaly: {model: seasonal, k: 2, direction: both}}\n",
    )
    .unwrap();
    let run = |command: &str, folder: &str, extra: &[&str]| {
        let file = format!("{folder}/kpi.csv");
        let mut args = vec![
            command,
            "--spec",
            "s.yaml",
            "--data",
            &file,
            "--incidents",
            &file,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        alertlab().current_dir(p).args(&args).output().unwrap()
    };
    for command in ["backtest", "tune"] {
        let real = run(command, "real", &[]);
        let rows = run(command, "rows", &["--row-step", "1h"]);
        assert!(
            rows.status.success(),
            "{}",
            String::from_utf8_lossy(&rows.stderr)
        );
        assert_eq!(
            String::from_utf8(rows.stdout).unwrap(),
            String::from_utf8(real.stdout).unwrap(),
            "{command}"
        );
    }
    let caught: serde_json::Value =
        serde_json::from_slice(&run("backtest", "rows", &["--row-step", "1h"]).stdout).unwrap();
    assert_eq!(caught["results"][0]["incidents"]["incidents"], 1);
    let unread = run("backtest", "rows", &[]);
    let warning = String::from_utf8_lossy(&unread.stderr);
    assert!(
        warning.contains("holds row numbers, pass how far apart the rows are (`--row-step 1h`)"),
        "{warning}"
    );
    let refused = run("backtest", "real", &["--row-step", "1h"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("`real/kpi.csv`: series `kpi` has a time, 2000-01-01T01:00:00Z, where `--row-step` reads row numbers"),
        "{err}"
    );
    // `inspect` shows and `plot` draws the file at the same times.
    let shown = alertlab()
        .current_dir(p)
        .args([
            "inspect",
            "rows/kpi.csv",
            "--row-step",
            "1h",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["series"][0]["start"], "2000-01-01T01:00:00Z");
    let drawn = alertlab()
        .current_dir(p)
        .args([
            "plot",
            "rows/kpi.csv",
            "--row-step",
            "1h",
            "--period",
            "3600",
            "--out",
            "k.svg",
        ])
        .output()
        .unwrap();
    // Read as 1970, the whole file would be the band's warm-up: no episode at all.
    let said = String::from_utf8_lossy(&drawn.stderr);
    assert!(
        drawn.status.success() && !said.contains(": 0 episodes"),
        "{said}"
    );
    assert!(std::fs::read_to_string(p.join("k.svg"))
        .unwrap()
        .contains("2000-01-"));
    // The overlay records the step the history was read at, as it does a grace.
    assert!(run("tune", "rows", &["--row-step", "1h", "--write"])
        .status
        .success());
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    assert!(overlay.contains("row_step: 1h"), "{overlay}");
    let zero = run("backtest", "rows", &["--row-step", "0s"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("rows must be some time apart"));
    // `band` and `inject` read the rows at the same times: the same bytes as of the real file.
    for folder in ["real", "rows"] {
        let file = format!("{folder}/kpi.csv");
        let [band, shifted, windows] =
            ["band.csv", "shifted.csv", "w.csv"].map(|name| format!("{folder}-{name}"));
        let step: &[&str] = if folder == "rows" {
            &["--row-step", "1h"]
        } else {
            &[]
        };
        for command in [
            vec!["band", &file, "--period", "3600", "--out", &band],
            vec![
                "inject",
                &file,
                "--kind",
                "shift",
                "--size",
                "4",
                "--out",
                &shifted,
                "--windows",
                &windows,
            ],
        ] {
            let done = alertlab()
                .current_dir(p)
                .args(&command)
                .args(step)
                .output()
                .unwrap();
            assert!(
                done.status.success(),
                "{command:?}: {}",
                String::from_utf8_lossy(&done.stderr)
            );
        }
    }
    for out in ["band.csv", "shifted.csv", "w.csv"] {
        let read = |folder: &str| std::fs::read(p.join(format!("{folder}-{out}"))).unwrap();
        assert_eq!(read("real"), read("rows"), "{out}");
    }
    let windows = std::fs::read_to_string(p.join("rows-w.csv")).unwrap();
    assert!(windows.contains(",2000-01-"), "{windows}");
}

/// `kpi.csv` in `p`: nine weeks of hourly data with three anomalies whose first hours are flagged
/// (point labels); the anomalies' hours.
fn point_labelled_kpi(p: &Path) -> [std::ops::Range<i64>; 3] {
    let anomalies = [300..310, 450..456, 600..612];
    write_hourly_kpi(p, 9, (&anomalies, 120.0), |h| {
        anomalies.iter().any(|a| a.start == h)
    });
    anomalies
}

/// A spec alarming on [`point_labelled_kpi`] after 3 of 3 hourly datapoints, with `extra` keys
/// after `backtest`'s data and incidents (`, grace: 6h`).
fn point_label_spec(extra: &str) -> String {
    format!("apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: t}}\nalerts:\n  - name: kpi\n    metric: {{cloudwatch: {{namespace: X, name: Y, stat: Average, period: 3600}}}}\n    condition: {{anomaly: {{model: seasonal, k: 3, direction: above}}}}\n    evaluation: {{datapoints_to_alarm: 3, evaluation_periods: 3}}\n    backtest: {{data: kpi.csv, incidents: kpi.csv{extra}}}\n")
}

/// Point labels (single flagged rows, as many datasets ship them) are zero-length windows: an
/// alarm that waits for 3 of 3 hourly datapoints never starts an episode at that very hour. Unless
/// a grace is given, a point is caught by an episode whose evaluation saw it (here up to two hours
/// after it); a grace given (`backtest.grace` or `--grace`) replaces that, 0 being strict, and
/// backtest over the tuned overlay then gives tune's figures.
#[test]
fn point_labels_are_caught_within_the_alarms_view_or_the_grace_given() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let anomalies = point_labelled_kpi(p);
    let spec = point_label_spec;
    let tune = [
        "tune", "--spec", "s.yaml", "--grid", "k=3,4", "--format", "json",
    ];
    let recommendation = |out: &std::process::Output| {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["recommendations"][0]
            .clone()
    };
    // No grace given: the alarm's view of each point.
    std::fs::write(p.join("s.yaml"), spec("")).unwrap();
    let out = alertlab().current_dir(p).args(tune).output().unwrap();
    let viewed = recommendation(&out);
    assert_eq!(
        (&viewed["incidents"], &viewed["caught"]),
        (&3.into(), &3.into()),
        "{viewed}"
    );
    // Three datapoints of three: the episode starts two hours after the point.
    assert_eq!(viewed["median_delay_s"], 7200.0, "{viewed}");
    // The report says how the points were judged.
    assert_eq!(viewed["incidents_point_labels"], 3, "{viewed}");
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--grid", "k=3,4"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 of 3 incidents are point labels (single timestamps, or runs of flagged rows): each is caught by an episode starting while the alarm's evaluations saw one of its points",
        ));
    // A grace of 0 given is strict: no episode starts at the point's very hour.
    let mut strict = tune.to_vec();
    strict.extend(["--grace", "0s"]);
    let r = json(p, &strict)["recommendations"][0].clone();
    assert_eq!(
        (&r["incidents"], &r["caught"]),
        (&3.into(), &0.into()),
        "{r}"
    );
    assert!(r.get("incidents_point_labels").is_none(), "{r}");
    std::fs::write(p.join("s.yaml"), spec(", grace: 6h")).unwrap();
    let out = alertlab()
        .current_dir(p)
        .args(tune)
        .arg("--write")
        .output()
        .unwrap();
    let r = &recommendation(&out);
    assert_eq!(
        (&r["incidents"], &r["caught"]),
        (&3.into(), &3.into()),
        "{r}"
    );
    assert_eq!(r["median_delay_s"], 7200.0, "{r}");
    let bt = json(p, &["backtest", "--spec", "s.yaml", "--format", "json"]);
    let inc = &bt["results"][0]["incidents"];
    assert_eq!(inc["caught"], 3, "{inc}");
    assert_eq!(
        inc["false_alerts_per_week"], r["false_alerts_per_week"],
        "{inc}"
    );
    assert_eq!(inc["median_delay_s"], r["median_delay_s"], "{inc}");
    // The command line wins over the spec: a grace of 0, no catch.
    let bt = json(
        p,
        &[
            "backtest", "--spec", "s.yaml", "--grace", "0s", "--format", "json",
        ],
    );
    assert_eq!(bt["results"][0]["incidents"]["caught"], 0, "{bt}");
    // `--grace` on the command line is the spec's key for every alert: the same answer.
    let with_key = r.clone();
    std::fs::write(p.join("s.yaml"), spec("")).unwrap();
    let mut args = tune.to_vec();
    args.extend(["--no-tuned", "--grace", "6h"]);
    let report = json(p, &args);
    assert_eq!(report["recommendations"][0], with_key);
    // The same points as NAB's `combined_labels.json` writes them (one timestamp per anomaly):
    // zero-length windows too, the same answer.
    let points: Vec<String> = anomalies
        .iter()
        .map(|a| format!("\"{}\"", 1_704_067_200 + a.start * 3600))
        .collect();
    std::fs::write(
        p.join("labels.json"),
        format!("{{\"data/kpi.csv\": [{}]}}", points.join(", ")),
    )
    .unwrap();
    args.extend(["--incidents", "labels.json"]);
    let report = json(p, &args);
    assert_eq!(report["recommendations"][0], with_key);
    // A written overlay records it beside the budget: part of what judged the values.
    alertlab()
        .current_dir(p)
        .args([
            "tune", "--spec", "s.yaml", "--grace", "6h", "--lead", "30m", "--pick", "k=4",
            "--write",
        ])
        .assert()
        .success();
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    assert!(
        overlay.contains("lead: 30m") && overlay.contains("grace: 6h"),
        "{overlay}"
    );
    for (grace, says) in [
        ("soon", "`soon` is not a duration such as `30m`"),
        ("400d", "`400d` is longer than a year"),
    ] {
        alertlab()
            .current_dir(p)
            .args(["tune", "--spec", "s.yaml", "--grace", grace])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

/// A Prometheus rule sees a point label at its next evaluation and fires `for` later: unless a
/// grace is given, that is the reach of a point, so a `for: 10m` rule catches it ten minutes in;
/// `--grace 0s` is strict.
#[test]
fn a_prometheus_rule_catches_a_point_label_within_for_and_one_interval() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z
    let mut csv = String::from("timestamp,value,is_anomaly\n");
    for m in 0..2 * 1440 {
        let high = (1000..1030).contains(&m);
        csv.push_str(&format!(
            "{},{},{}\n",
            t0 + m * 60,
            if high { 100 } else { 10 },
            u8::from(m == 1000)
        ));
    }
    std::fs::write(p.join("kpi.csv"), csv).unwrap();
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nalerts:\n  - name: kpi\n    metric: {prometheus: {expr: kpi}}\n    condition: {threshold: {op: \">\", value: 50}}\n    evaluation: {for: 10m}\n    backtest: {data: kpi.csv, incidents: kpi.csv}\n",
    )
    .unwrap();
    let viewed = backtest_incidents(p, &[]);
    assert_eq!(
        (
            &viewed["caught"],
            &viewed["median_delay_s"],
            &viewed["point_labels"]
        ),
        (&1.into(), &600.0.into(), &1.into()),
        "{viewed}"
    );
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 of 1 incidents are point labels",
        ));
    assert_eq!(backtest_incidents(p, &["--grace", "0s"])["caught"], 0);
}

/// NAB's `iio` file is 4.3 days long and both its labelled windows close on its second day, before
/// the seasonal band's one-day warm-up (and the next refit) is over: backtest and tune say that no
/// setting could catch them, beside recall 0.
#[test]
fn incidents_before_the_band_exists_are_reported_as_in_warm_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = |command: &str| {
        vec![
            command.to_string(),
            "--spec".into(),
            root.join("examples/nab/nab.yaml").display().to_string(),
            "--data".into(),
            root.join("data/nab/realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv")
                .display()
                .to_string(),
            "--engine".into(),
            "cloudwatch".into(),
        ]
    };
    let run = |args: Vec<String>| {
        let out = alertlab().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let mut json_args = args("backtest");
    json_args.extend(["--format".into(), "json".into()]);
    let bt: serde_json::Value = serde_json::from_slice(&run(json_args)).unwrap();
    let inc = &bt["results"][0]["incidents"];
    assert_eq!(
        (&inc["incidents"], &inc["in_warm_up"]),
        (&2.into(), &2.into())
    );
    let mut json_args = args("tune");
    json_args.extend(["--format".into(), "json".into()]);
    let tuned: serde_json::Value = serde_json::from_slice(&run(json_args)).unwrap();
    let rec = &tuned["recommendations"][0];
    assert_eq!(rec["incidents_in_warm_up"], 2);
    assert_eq!(rec["current"]["incidents_in_warm_up"], 2);
    assert_eq!(rec["recall"], 0.0);
    let table = String::from_utf8(run(args("tune"))).unwrap();
    assert!(
        table.contains("2 of 2 incidents closed before the band existed"),
        "{table}"
    );
}

/// An alert budget counts episodes, and M of N can hold one open for days: on NAB's
/// `ec2_cpu_utilization_c6585a` (quantised: 0.066 % or 0.134 % and little else, one burst to
/// 1.4 % a night, no labelled windows) the most sensitive setting within 1.5 alerts a week, unlimited, is in ALARM
/// most of the fortnight. By default a recommendation is in ALARM at most a quarter of the time
/// (what `backtest` measures for it); `--max-time-in-alarm` moves the limit and bad values are
/// usage errors.
#[test]
fn a_recommendation_is_not_an_alarm_held_in_alarm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = root.join("examples/nab/nab.yaml").display().to_string();
    let data = root
        .join("data/nab/realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv")
        .display()
        .to_string();
    let tune = |limit: &[&str]| {
        let mut args = vec![
            "tune",
            "--spec",
            &spec,
            "--data",
            &data,
            "--engine",
            "cloudwatch",
            "--budget",
            "1.5",
            "--format",
            "json",
        ];
        args.extend_from_slice(limit);
        json(root, &args)["recommendations"][0].clone()
    };
    let unlimited = tune(&["--max-time-in-alarm", "100%"]);
    assert!(
        unlimited["time_in_alarm_ratio"].as_f64().unwrap() > 0.5,
        "{unlimited}"
    );
    let limited = tune(&[]);
    assert_eq!(limited["max_time_in_alarm"], 0.25);
    assert_eq!(limited["within_budget"], true);
    let share = limited["time_in_alarm_ratio"].as_f64().unwrap();
    assert!(share <= 0.25, "{limited}");
    assert!(limited["alerts_per_week"].as_f64().unwrap() <= 1.5);
    // What backtest measures for the recommendation, written as the spec's overlay.
    let dir = tempfile::tempdir().unwrap();
    let copy = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("../../data", &root.join("data").display().to_string());
    std::fs::write(dir.path().join("nab.yaml"), copy).unwrap();
    let common = [
        "--spec",
        "nab.yaml",
        "--data",
        &data,
        "--engine",
        "cloudwatch",
        "--format",
        "json",
    ];
    let written = json(
        dir.path(),
        &[&["tune", "--budget", "1.5", "--write"], &common[..]].concat(),
    );
    assert_eq!(written["recommendations"][0]["params"], limited["params"]);
    let bt = json(dir.path(), &[&["backtest"], &common[..]].concat());
    assert_eq!(
        bt["results"][0]["time_in_alarm_ratio"],
        limited["time_in_alarm_ratio"]
    );
    assert_eq!(
        bt["results"][0]["alerts_per_week"],
        limited["alerts_per_week"]
    );
    // The overlay records a limit other than the default, as it does the budget.
    let overlay = || std::fs::read_to_string(dir.path().join("nab.tuned.yaml")).unwrap();
    assert!(!overlay().contains("max_time_in_alarm"), "{}", overlay());
    json(
        dir.path(),
        &[
            &[
                "tune",
                "--budget",
                "1.5",
                "--max-time-in-alarm",
                "50%",
                "--write",
            ],
            &common[..],
        ]
        .concat(),
    );
    assert!(
        overlay().contains("max_time_in_alarm: 0.5"),
        "{}",
        overlay()
    );
    // Backtest's table says so of such a setting (1 of 8 over 15 minutes at k = 3.5 here).
    let held = format!(
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: held}}\nalerts:\n  - name: held\n    metric: {{cloudwatch: {{namespace: NAB, name: value, stat: Average, period: 900}}}}\n    condition: {{anomaly: {{model: seasonal, k: 3.5, direction: both}}}}\n    evaluation: {{datapoints_to_alarm: 1, evaluation_periods: 8}}\n    backtest: {{data: {data}}}\n"
    );
    std::fs::write(dir.path().join("held.yaml"), held).unwrap();
    let out = alertlab()
        .current_dir(dir.path())
        .args(["backtest", "--spec", "held.yaml"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("in ALARM 87% of the evaluated time: it cannot page for anything new"),
        "{table}"
    );
    for bad in ["1.5", "-0.1", "half", "150%"] {
        let out = alertlab()
            .args(["tune", "--spec", &spec, "--max-time-in-alarm", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--max-time-in-alarm") && err.contains(bad),
            "{err}"
        );
    }
}

/// The default objective is the quietest setting that still catches the most (DESIGN.md): against
/// `recall-soonest`, which spends the budget on answering sooner, it catches as many, raises no more
/// false alerts and may answer later; and among the settings tried that catch as many, none is
/// quieter. `quiet` names the default.
#[test]
fn the_default_objective_is_the_quietest_that_catches_the_most() {
    // The bundled story: staging's band is where the two objectives part.
    let spec = super::root().join("alerts");
    let spec = spec.to_str().unwrap();
    let p = super::root();
    let run = |objective: &str| {
        let args = [
            "tune",
            "--spec",
            spec,
            "--alert",
            "lambda-concurrency-anomaly",
        ];
        let rest = ["--format", "json", "--all", "--objective", objective];
        json(&p, &[&args[..], &rest].concat())
    };
    let (quietest, soonest) = (run("recall"), run("recall-soonest"));
    assert_eq!(quietest, run("quiet"));
    let recommendations = |v: &serde_json::Value| v["recommendations"].as_array().unwrap().clone();
    let number = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap_or(f64::INFINITY);
    let mut differ = false;
    for (q, s) in recommendations(&quietest)
        .iter()
        .zip(&recommendations(&soonest))
    {
        let key =
            |v: &serde_json::Value| (v["alert"].clone(), v["env"].clone(), v["engine"].clone());
        assert_eq!(key(q), key(s));
        assert_eq!(q["recall"], s["recall"], "{}", q["alert"]);
        assert!(number(q, "false_alerts_per_week") <= number(s, "false_alerts_per_week"));
        assert!(number(s, "median_delay_s") <= number(q, "median_delay_s"));
        differ |= q["params"] != s["params"];
        // No setting tried within budget catches as many with fewer false alerts (where incidents
        // are known; without, the most sensitive setting within budget is recommended).
        for t in quietest["settings"].as_array().unwrap() {
            if key(t) == key(q)
                && !q["recall"].is_null()
                && t["recall"] == q["recall"]
                && number(t, "false_alerts_per_week") <= 1.0
            {
                assert!(
                    number(t, "false_alerts_per_week") >= number(q, "false_alerts_per_week"),
                    "{t}"
                );
            }
        }
    }
    assert!(differ, "the two objectives part somewhere on this data");
}

/// `KEY+=...` adds values to the default grid, which stays the base; `KEY=` beside it sets that key
/// within the default grid instead of replacing the grid.
#[test]
fn a_plus_grid_flag_adds_to_the_default_grid() {
    let dir = workspace();
    let p = dir.path();
    let tune = |extra: &[&str]| {
        let mut args = vec![
            "tune",
            "--spec",
            "s.yaml",
            "--format",
            "json",
            "--all",
            "--alert",
            "band",
            "--engine",
            "cloudwatch",
        ];
        args.extend_from_slice(extra);
        json(p, &args)
    };
    let default = tune(&[]);
    let added = tune(&["--grid", "k+=12"]);
    let mut ks = tried(&default, "band", "k");
    ks.insert("12.0".to_string());
    assert_eq!(tried(&added, "band", "k"), ks);
    for key in ["evaluation_periods", "datapoints_to_alarm", "period"] {
        assert_eq!(
            tried(&added, "band", key),
            tried(&default, "band", key),
            "{key}"
        );
    }
    let set_within = tune(&["--grid", "k+=12", "--grid", "evaluation_periods=1"]);
    assert_eq!(tried(&set_within, "band", "k"), ks);
    let n: Vec<String> = tried(&set_within, "band", "evaluation_periods")
        .into_iter()
        .collect();
    assert_eq!(n, vec!["1"]);
}

/// `tune --spec alerts/` answers for every alert and env of the bundled spec on one screen: the
/// fronts shortened to the recommendation's next neighbours when the table shows many, those of
/// envs without incidents (dev: only the quietest setting) and those that are only the
/// recommendation left out, each with a note; one alert and env keeps the longer front.
#[test]
fn a_whole_spec_fits_one_screen_and_one_alert_keeps_its_longer_front() {
    let table = |args: &[&str]| {
        let out = alertlab()
            .args(["tune", "--spec"])
            .arg(super::root().join("alerts"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let front_rows = |text: &str| -> BTreeMap<(String, String, String), usize> {
        let mut rows = BTreeMap::new();
        for line in text.split("Pareto front").nth(1).unwrap_or("").lines() {
            let cells: Vec<&str> = line.split_whitespace().collect();
            if cells.len() > 3 && cells[0].starts_with("lambda-") {
                let key = (cells[0].into(), cells[1].into(), cells[2].into());
                *rows.entry(key).or_insert(0) += 1;
            }
        }
        rows
    };
    let whole = table(&[]);
    assert!(whole.lines().count() <= 60, "{whole}");
    let rows = front_rows(&whole);
    assert!(rows.len() > 2, "{whole}");
    assert!(rows.values().all(|n| *n <= 3), "{rows:?}");
    assert!(rows.keys().all(|(_, env, _)| env != "dev"), "{rows:?}");
    assert!(
        whole.contains("note: 5 fronts without incidents not shown"),
        "{whole}"
    );
    let one = table(&["--alert", "lambda-concurrency-anomaly", "--env", "prod"]);
    let rows = front_rows(&one);
    assert_eq!(rows.len(), 1, "{one}");
    assert!(rows.values().all(|n| *n > 3 && *n <= 6), "{one}");
}

/// The table shows the current setting in the keys tuned (`k=2 ...`, not "as in the spec") and
/// as many points of each Pareto front as `--front` asks, saying how many it leaves out; JSON holds
/// them all.
#[test]
fn the_table_shows_current_values_and_a_front_of_the_asked_length() {
    let dir = workspace();
    let p = dir.path();
    let grid = [
        "--grid",
        "k=1.5,2,3,5",
        "--grid",
        "evaluation_periods=1,3,5",
        "--grid",
        "datapoints_to_alarm=1,2,3",
    ];
    let front_len = json(
        p,
        &[
            &[
                "tune", "--spec", "s.yaml", "--alert", "band", "--format", "json",
            ][..],
            &grid,
        ]
        .concat(),
    )["pareto"]
        .as_array()
        .unwrap()
        .len();
    assert!(front_len > 2, "{front_len}");
    let table = |front: &str| {
        let args = [
            &[
                "tune", "--spec", "s.yaml", "--alert", "band", "--front", front,
            ][..],
            &grid,
        ]
        .concat();
        let out = alertlab().current_dir(p).args(args).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let front_rows = text
            .split("Pareto front")
            .nth(1)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("band "))
            .count();
        (text, front_rows)
    };
    let (text, rows) = table("2");
    assert!(
        text.lines().any(|l| l.contains(" current ")
            && l.contains("datapoints_to_alarm=1 evaluation_periods=1 k=2 ")),
        "{text}"
    );
    assert_eq!(rows, 2, "{text}");
    assert!(
        text.contains(&format!(
            "note: {} noisier points of the front not shown",
            front_len - 2
        )),
        "{text}"
    );
    let (text, rows) = table("0");
    assert_eq!(rows, front_len, "{text}");
    assert!(!text.contains("not shown"), "{text}");
}

/// `--format csv` is data: the JSON's figures in its units, a cell each (empty when unknown), one
/// row per setting — current, recommended, the whole Pareto front and with `--all` every setting.
#[test]
fn csv_rows_carry_the_json_figures() {
    let dir = workspace();
    let p = dir.path();
    let v = tune_json(p, &["--all"]);
    let out = alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--all", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "alert,env,engine,setting,params,alerts_per_week,alerts_per_week_ci_low,alerts_per_week_ci_high,false_alerts_per_week,recall,median_delay_s,within_budget,time_in_alarm_ratio"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let of = |setting: &str| rows.iter().filter(|r| r[3] == setting).count();
    let count = |key: &str| v[key].as_array().unwrap().len();
    assert_eq!(of("current"), count("recommendations"));
    assert_eq!(of("recommended"), count("recommendations"));
    assert_eq!(of("pareto"), count("pareto"));
    assert_eq!(of("tried"), count("settings"));
    let cell = |x: &serde_json::Value| match x.as_f64() {
        Some(n) => n,
        None => {
            assert!(x.is_null(), "{x}");
            f64::NAN
        }
    };
    for r in v["recommendations"].as_array().unwrap() {
        let row = rows
            .iter()
            .find(|c| c[0] == r["alert"] && c[1] == r["env"] && c[3] == "recommended")
            .unwrap();
        let ci = r["alerts_per_week_ci"].as_array().unwrap();
        let expected = [
            cell(&r["alerts_per_week"]),
            cell(&ci[0]),
            cell(&ci[1]),
            cell(&r["false_alerts_per_week"]),
            cell(&r["recall"]),
            cell(&r["median_delay_s"]),
        ];
        for (got, want) in row[5..11].iter().zip(expected) {
            if want.is_nan() {
                assert_eq!(*got, "", "{row:?}");
            } else {
                assert_eq!(got.parse::<f64>().unwrap(), want, "{row:?}");
            }
        }
        assert_eq!(row[11], r["within_budget"].to_string(), "{row:?}");
        assert_eq!(
            row[12].parse::<f64>().unwrap(),
            cell(&r["time_in_alarm_ratio"]),
            "{row:?}"
        );
    }
}

/// `--inject` asking for more anomalies than a history holds: every kind still gets a place (one
/// of each before a second of any), and the report says how many found none.
#[test]
fn injected_anomalies_without_room_are_reported() {
    let dir = unlabelled_band(9, "3", "2", "{}");
    let p = dir.path();
    let args = [
        "tune",
        "--spec",
        "s.yaml",
        "--inject",
        "shift:3,drift:3,variance:3,spike:6",
        "--inject-count",
        "3",
    ];
    let tuned = json(p, &[&args[..], &["--format", "json"]].concat());
    let injected = &tuned["injected"];
    assert_eq!(injected["asked"], 12, "{injected}");
    let left_out: u64 = injected["not_placed"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert!(left_out > 0 && left_out < 12, "{injected}");
    let kinds = tuned["recommendations"][0]["recall_by_kind"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(kinds, ["drift:3", "shift:3", "spike:6", "variance:3"]);
    let out = alertlab().current_dir(p).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "note: {left_out} of 12 injected anomalies found no place"
        )),
        "{text}"
    );
    assert!(text.contains("; current: "), "{text}");
}

/// A series that does not vary has no spread to size anomalies in: none go into it, the JSON lists
/// it and the table says why its anomalies are missing.
#[test]
fn a_flat_series_gets_no_injected_anomaly_and_is_named() {
    let dir = unlabelled_band(9, "3", "2", "{}");
    let p = dir.path();
    let mut flat = String::from("timestamp,value\n");
    for i in 0..2592 {
        flat.push_str(&format!("{},7\n", 1_700_000_000 + i * 300));
    }
    std::fs::write(p.join("flat.csv"), flat).unwrap();
    let args = [
        "tune", "--spec", "s.yaml", "--data", "flat.csv", "--inject", "spike:4",
    ];
    let tuned = json(p, &[&args[..], &["--format", "json"]].concat());
    let injected = &tuned["injected"];
    assert_eq!(injected["asked"], 2, "{injected}");
    assert_eq!(injected["not_placed"]["spike:4"], 2, "{injected}");
    assert_eq!(
        injected["unsized_series"],
        serde_json::json!(["flat"]),
        "{injected}"
    );
    let out = alertlab().current_dir(p).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("note: no anomaly went into 1 series whose values do not vary (or that hold none), as sizes in robust σ mean nothing there: `flat`"),
        "{text}"
    );
}

/// `tune --inject` is `alertlab inject` then `backtest` against the windows it wrote: the same
/// seeded anomalies in the same places, the same figures (one code path for injected recall too).
#[test]
fn tune_with_injected_anomalies_equals_backtest_of_the_injected_file() {
    let dir = unlabelled_band(
        14,
        "4",
        "3",
        "{datapoints_to_alarm: 2, evaluation_periods: 3}",
    );
    let p = dir.path();
    let tuned = json(
        p,
        &[
            "tune",
            "--spec",
            "s.yaml",
            "--inject",
            "shift:3,spike:6",
            "--inject-count",
            "2",
            "--seed",
            "5",
            "--format",
            "json",
        ],
    );
    alertlab()
        .current_dir(p)
        .args([
            "inject",
            "raw.csv",
            "--kind",
            "shift,spike",
            "--size",
            "3,6",
            "--count",
            "2",
            "--seed",
            "5",
            "--out",
            "inj.csv",
        ])
        .assert()
        .success();
    let bt = json(
        p,
        &[
            "backtest",
            "--spec",
            "s.yaml",
            "--data",
            "inj.csv",
            "--incidents",
            "inj.windows.csv",
            "--format",
            "json",
        ],
    );
    let current = &tuned["recommendations"][0]["current"];
    let row = backtest_row(&bt, "band", "cloudwatch");
    assert_eq!(row["incidents"]["incidents"], 4, "two of each placed");
    same(
        &current["alerts_per_week"],
        &row["alerts_per_week"],
        "alerts_per_week",
    );
    for key in ["false_alerts_per_week", "recall", "median_delay_s"] {
        same(&current[key], &row["incidents"][key], key);
    }
}

/// A folder with `days` of synthetic 5-minute data (`raw.csv`, synth seed `seed`) and a spec
/// (`s.yaml`) of one CloudWatch seasonal band alarm over it at width `k` with `evaluation` (a YAML
/// flow mapping), and no labelled windows.
fn unlabelled_band(days: u32, seed: &str, k: &str, evaluation: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args([
            "synth",
            "--days",
            &days.to_string(),
            "--step",
            "300",
            "--seed",
            seed,
        ])
        .args(["--out", "raw.csv"])
        .assert()
        .success();
    std::fs::write(
        p.join("s.yaml"),
        format!(
            r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {{name: t}}
environments: {{dev: {{account: "111111111111", region: eu-west-1}}}}
alerts:
  - name: band
    metric: {{cloudwatch: {{namespace: X, name: Y, stat: Average, period: 300}}}}
    condition: {{anomaly: {{model: seasonal, k: {k}, direction: both}}}}
    evaluation: {evaluation}
    backtest: {{data: raw.csv}}
"#
        ),
    )
    .unwrap();
    dir
}

/// `--chart DIR` draws one trade-off chart per alert, env and engine with known incidents, and
/// leaves the report as it would be without it (the settings it needed are not printed).
#[test]
fn chart_draws_the_trade_off_of_each_tuned_alert() {
    let dir = workspace();
    let p = dir.path();
    let args = ["tune", "--spec", "s.yaml", "--format", "json"];
    let plain = json(p, &args);
    let charted = json(p, &[&args[..], &["--chart", "charts"]].concat());
    assert_eq!(plain, charted);
    let mut names: Vec<String> = std::fs::read_dir(p.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "band-dev-cloudwatch-tradeoff.svg",
            "ceiling-dev-prometheus-tradeoff.svg"
        ]
    );
    let svg = std::fs::read_to_string(p.join("charts/band-dev-cloudwatch-tradeoff.svg")).unwrap();
    let tried = plain["recommendations"][0]["configs_evaluated"]
        .as_u64()
        .unwrap();
    assert!(svg.contains(&format!("settings tried: {tried}")), "{tried}");
    assert!(svg.contains("recommended") && svg.contains("current setting"));
}

/// The overlay says what its values were judged on; with `--inject`, enough to inject the same
/// anomalies again (kinds and sizes, count, seed).
#[test]
fn an_overlay_tuned_with_injected_anomalies_records_them() {
    let dir = workspace();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args([
            "tune",
            "--spec",
            "s.yaml",
            "--alert",
            "band",
            "--inject",
            "shift:4,spike:6",
            "--inject-count",
            "1",
            "--seed",
            "3",
            "--write",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    let overlay: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    // A spec named without a folder: paths relative to the overlay, never absolute (a committed
    // overlay must hold in any checkout).
    assert_eq!(overlay["spec"]["file"], "s.yaml", "{text}");
    assert_eq!(overlay["data"][0]["file"], "data.csv", "{text}");
    assert_eq!(
        overlay["tuned"]["band"]["dev"]["inject"],
        serde_json::json!({"anomalies": "shift:4,spike:6", "count": 1, "seed": 3}),
        "{text}"
    );
    // Without injection the entry's record has no `inject` key.
    std::fs::remove_file(p.join("s.tuned.yaml")).unwrap();
    alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--alert", "band", "--write"])
        .assert()
        .success();
    let text = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    let overlay: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let record = &overlay["tuned"]["band"]["dev"];
    assert_eq!(record["budget_per_week"], 1.0, "{text}");
    assert!(record.get("inject").is_none(), "{text}");
}

/// The workspace's `band` alert tuned with `--write`, then its spec edited by hand (`from` → `to`):
/// how each overlay test below starts.
fn tuned_then_edited(p: &Path, from: &str, to: &str) {
    let out = alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--alert", "band", "--write"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p.join("s.tuned.yaml").is_file(), "tune wrote an overlay");
    let spec = std::fs::read_to_string(p.join("s.yaml")).unwrap();
    assert!(spec.contains(from), "{from}");
    std::fs::write(p.join("s.yaml"), spec.replace(from, to)).unwrap();
}

/// A spec edited after tuning: the overlay's values still override it, and every command that
/// reads it says so on stderr (the output is unchanged); tuning again renews the fingerprint.
#[test]
fn an_overlay_tuned_on_an_earlier_spec_is_warned_about() {
    let dir = workspace();
    let p = dir.path();
    let stderr = |args: &[&str]| {
        let out = alertlab().current_dir(p).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let warning = "`s.tuned.yaml` was tuned on an earlier version of `s.yaml`";
    tuned_then_edited(p, "name: t}", "name: t}");
    assert!(!stderr(&["backtest", "--spec", "s.yaml"]).contains(warning));
    tuned_then_edited(p, "name: t}", "name: t, labels: {team: a}}");
    for args in [
        &["backtest", "--spec", "s.yaml"][..],
        &["generate", "--spec", "s.yaml", "--out", "out"],
        &["tune", "--spec", "s.yaml", "--alert", "band"],
    ] {
        assert!(stderr(args).contains(warning), "{args:?}");
    }
    stderr(&["tune", "--spec", "s.yaml", "--alert", "band", "--write"]);
    assert!(!stderr(&["backtest", "--spec", "s.yaml"]).contains(warning));
}

/// An overlay tuned for a seasonal band, after the human made the alert a threshold: merged, it
/// would turn the alert back into a band (with defaults for every key it does not set), silently.
/// Every command that reads it refuses, naming the alert, env and both kinds (exit 2); tuning from
/// the spec as written (`--no-tuned --write`) replaces the entry and the alert is the human's again.
#[test]
fn an_overlay_that_would_change_the_condition_kind_is_refused() {
    let dir = workspace();
    let p = dir.path();
    let run = |args: &[&str]| alertlab().current_dir(p).args(args).output().unwrap();
    tuned_then_edited(
        p,
        "condition: {anomaly: {model: seasonal, k: 2, direction: both}}",
        "condition: {threshold: {op: \">\", value: 500}}",
    );
    for args in [
        &["backtest", "--spec", "s.yaml"][..],
        &["generate", "--spec", "s.yaml", "--out", "out"],
    ] {
        let out = run(args);
        let command = args[0];
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("the overlay tunes alert `band` in env `dev` with a condition `anomaly`, but the spec's condition is `threshold`"),
            "{command}: {stderr}"
        );
    }
    let out = run(&[
        "tune",
        "--spec",
        "s.yaml",
        "--alert",
        "band",
        "--no-tuned",
        "--write",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(
        p,
        &[
            "backtest", "--spec", "s.yaml", "--alert", "band", "--format", "json",
        ],
    );
    for r in v["results"].as_array().unwrap() {
        assert!(r["condition"].as_str().unwrap().starts_with('>'), "{r}");
    }
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap_or_default();
    assert!(!overlay.contains("anomaly"), "{overlay}");
}

/// An alert renamed after tuning: the overlay names an alert the spec no longer has, every command
/// refuses it (exit 2) with the way out, and `tune --no-tuned --write` drops the entry.
#[test]
fn an_overlay_of_a_renamed_alert_is_refused_until_tuned_again() {
    let dir = workspace();
    let p = dir.path();
    let run = |args: &[&str]| alertlab().current_dir(p).args(args).output().unwrap();
    tuned_then_edited(p, "name: band", "name: bands");
    let out = run(&["backtest", "--spec", "s.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the overlay tunes alert `band`, which the spec no longer has")
            && stderr.contains("alertlab tune --no-tuned --write"),
        "{stderr}"
    );
    let out = run(&["tune", "--spec", "s.yaml", "--no-tuned", "--write"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run(&["backtest", "--spec", "s.yaml"]).status.success());
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap_or_default();
    assert!(!overlay.contains("  band:"), "{overlay}");
}

/// A person picks another point of the Pareto front than the recommendation, pasted as the table
/// prints it: `--pick` reports exactly that point's figures (flagged `picked`, over budget or not)
/// and `--write` puts it in the overlay, so backtest gives the same figures.
#[test]
fn a_picked_point_of_the_front_is_measured_and_written() {
    let dir = workspace();
    let p = dir.path();
    let tuned = tune_json(p, &["--alert", "band", "--engine", "cloudwatch"]);
    let rec = &tuned["recommendations"][0];
    let point = tuned["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|q| q["params"] != rec["params"])
        .expect("the front has more than the recommendation");
    let params = point["params"].as_object().unwrap();
    let pasted = params
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), String::from)))
        .collect::<Vec<_>>()
        .join(" ");
    let picked = tune_json(
        p,
        &[
            "--alert",
            "band",
            "--engine",
            "cloudwatch",
            "--pick",
            &pasted,
            "--write",
        ],
    );
    let r = &picked["recommendations"][0];
    assert_eq!(r["picked"], true, "{r}");
    let csv = alertlab()
        .current_dir(p)
        .args([
            "tune",
            "--spec",
            "s.yaml",
            "--alert",
            "band",
            "--engine",
            "cloudwatch",
        ])
        .args(["--pick", &pasted, "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("band,dev,cloudwatch,picked,")),
        "{csv}"
    );
    assert_eq!(r["params"], point["params"], "{r}");
    for key in [
        "alerts_per_week",
        "false_alerts_per_week",
        "recall",
        "median_delay_s",
    ] {
        same(&r[key], &point[key], key);
    }
    let within = r["false_alerts_per_week"].as_f64().unwrap() <= 1.0;
    assert_eq!(r["within_budget"], within, "{r}");
    let bt = json(
        p,
        &[
            "backtest",
            "--spec",
            "s.yaml",
            "--alert",
            "band",
            "--engine",
            "cloudwatch",
            "--format",
            "json",
        ],
    );
    let b = &bt["results"][0];
    same(
        &b["alerts_per_week"],
        &point["alerts_per_week"],
        "backtest alerts/week",
    );
    same(
        &b["incidents"]["false_alerts_per_week"],
        &point["false_alerts_per_week"],
        "backtest false alerts/week",
    );
    // A pick is one setting: a list, a repeated key or a `--grid` beside it is a usage error.
    for args in [
        &["--pick", "k=2,3"][..],
        &["--pick", "k=2", "--pick", "k=3"],
        &["--pick", "k=2", "--grid", "k=3"],
        &["--pick", "k"],
    ] {
        let mut all = vec!["tune", "--spec", "s.yaml"];
        all.extend_from_slice(args);
        alertlab().current_dir(p).args(&all).assert().code(2);
    }
}

/// Tuning one env again (`--env prod --write`) renews that env's record only: the other env keeps
/// the fingerprints of the data it was tuned on, so a change to its data still makes the overlay
/// stale, naming the alert and env; tuning it again on the new data, even when the setting stays,
/// renews its record and the overlay is current again.
#[test]
fn a_partial_write_keeps_the_other_envs_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    synth_with_anomalies(p, ("9", "300", "3"), ("shift,spike", "4,8", "5"));
    for env in ["dev", "prod"] {
        std::fs::copy(p.join("data.csv"), p.join(format!("data_{env}.csv"))).unwrap();
    }
    std::fs::write(
        p.join("s.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments:
  dev: {account: "111111111111", region: eu-west-1}
  prod: {account: "222222222222", region: eu-west-1}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 300}}
    condition: {anomaly: {model: seasonal, k: 2, direction: both}}
    evaluation: {datapoints_to_alarm: 1, evaluation_periods: 1}
    backtest: {data: "data_{{env}}.csv", incidents: data.windows.csv}
"#,
    )
    .unwrap();
    let run = |args: &[&str]| alertlab().current_dir(p).args(args).output().unwrap();
    let write = |extra: &[&str]| {
        let mut args = vec!["tune", "--spec", "s.yaml", "--write"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let check = || {
        run(&[
            "generate",
            "--spec",
            "s.yaml",
            "--out",
            "out",
            "--check",
            "--no-tests",
        ])
    };
    write(&[]);
    assert!(
        run(&["generate", "--spec", "s.yaml", "--out", "out", "--no-tests"])
            .status
            .success()
    );
    assert!(check().status.success());
    // prod tuned again with another objective: dev keeps its record.
    write(&["--env", "prod", "--objective", "delay", "--budget", "50"]);
    let overlay: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap()).unwrap();
    assert_eq!(overlay["tuned"]["band"]["dev"]["objective"], "recall");
    assert_eq!(overlay["tuned"]["band"]["prod"]["objective"], "delay");
    let files: Vec<&str> = overlay["tuned"]["band"]["dev"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["data.windows.csv", "data_dev.csv"]);
    // dev's data changes: stale, naming dev.
    let mut data = std::fs::read_to_string(p.join("data_dev.csv")).unwrap();
    data = data.replacen(",synth-0,", ",synth-0,0", 1);
    std::fs::write(p.join("data_dev.csv"), data).unwrap();
    let out = check();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .contains("alert `band` in `dev`: data file `data_dev.csv` changed since it was tuned"),
        "{stdout}"
    );
    assert!(!stdout.contains("in `prod`"), "{stdout}");
    // Tuned again on the new data: its record is renewed whether or not the setting changed.
    write(&["--env", "dev"]);
    assert!(
        run(&["generate", "--spec", "s.yaml", "--out", "out", "--no-tests"])
            .status
            .success()
    );
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A metric that stops reporting is caught only by the missing-data rule: with dropouts among the
/// injected anomalies the default grid also tries `treat_missing_data: breaching` (and the
/// recommendation catches dropouts with it); without them it leaves the rule as written.
#[test]
fn injected_dropouts_add_the_breaching_missing_data_rule_to_the_default_grid() {
    let dir = unlabelled_band(
        21,
        "5",
        "3",
        "{datapoints_to_alarm: 3, evaluation_periods: 5}",
    );
    let p = dir.path();
    let rules = |tuned: &serde_json::Value| -> std::collections::BTreeSet<String> {
        tuned["settings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["params"]["treat_missing_data"].as_str().map(String::from))
            .collect()
    };
    let tune = |inject: &str| {
        tune_json(
            p,
            &[
                "--all",
                "--inject",
                inject,
                "--inject-count",
                "2",
                "--seed",
                "3",
            ],
        )
    };
    let with_drops = tune("drop:3h");
    assert_eq!(
        rules(&with_drops),
        ["breaching", "missing"].map(String::from).into(),
        "the alarm's own rule and breaching"
    );
    let rec = &with_drops["recommendations"][0];
    assert_eq!(rec["params"]["treat_missing_data"], "breaching", "{rec}");
    assert_eq!(rec["recall_by_kind"]["drop:3h"], 1.0, "{rec}");
    assert_eq!(rec["current"]["recall_by_kind"]["drop:3h"], 0.0, "{rec}");
    assert!(
        rules(&tune("shift:4")).is_empty(),
        "the rule stays as written"
    );
}

/// A Prometheus rule cannot see a metric stop (its expression returns nothing): with dropouts
/// injected, the table says what catches them instead of leaving a recall of 0 unexplained.
#[test]
fn a_rule_that_misses_dropouts_is_pointed_to_absent_over_time() {
    let out = alertlab()
        .args(["tune", "--spec"])
        .arg(super::root().join("alerts"))
        .args([
            "--alert",
            "lambda-concurrency-band",
            "--env",
            "prod",
            "--inject",
            "drop:2h,shift:4",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("misses every drop:2h"), "{table}");
    assert!(table.contains("`absent_over_time(...)` rule"), "{table}");
}

/// Incidents outside the evaluated span (`--start`/`--end`) are not scored — neither caught nor
/// missed — and injected anomalies go inside it: both were judged as misses of every setting.
#[test]
fn incidents_outside_the_span_are_not_scored_and_injections_stay_inside_it() {
    let spec = super::root().join("alerts");
    // prod's labelled level shift is on 2026-01-10; the span ends the day before.
    let span = [
        "--alert",
        "lambda-concurrency-anomaly",
        "--env",
        "prod",
        "--engine",
        "cloudwatch",
        "--start",
        "2026-01-05T00:00:00Z",
        "--end",
        "2026-01-09T00:00:00Z",
        "--format",
        "json",
    ];
    let out = alertlab()
        .arg("backtest")
        .arg("--spec")
        .arg(&spec)
        .args(span)
        .output()
        .unwrap();
    assert!(out.status.success());
    let backtest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scored = &backtest["results"][0]["incidents"];
    assert_eq!(scored["outside_span"], 1, "{scored}");
    assert_eq!(scored["incidents"], 0, "{scored}");
    assert!(scored["recall"].is_null(), "{scored}");
    let out = alertlab()
        .arg("tune")
        .arg("--spec")
        .arg(&spec)
        .args(span)
        .args(["--inject", "shift:8", "--inject-count", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let tuned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &tuned["recommendations"][0];
    assert!(
        rec["current"]["recall_by_kind"]["shift:8"]
            .as_f64()
            .unwrap()
            > 0.0,
        "an 8σ shift inside the span is caught: {rec}"
    );
}

/// An alert generated both as a CloudWatch alarm and as a Prometheus rule has one threshold. On
/// the bundled dev history the two engines, tuned apart, want different ones (CloudWatch 810 over
/// 12-minute periods, Prometheus 720 at `for: 15m`); one overlay cannot hold both, and writing either
/// changed the other engine's rule to a setting no replay measured (24 alerts a week where tune
/// had said 0). The value is now chosen for both, each engine's timing for itself, and backtest
/// over the overlay gives every figure tune reported, per engine.
#[test]
fn an_alert_on_both_engines_gets_one_threshold_both_were_measured_at() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::copy(super::root().join("data/lambda_dev.csv"), p.join("dev.csv")).unwrap();
    std::fs::write(
        p.join("s.yaml"),
        r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: t}
environments: {dev: {account: "111111111111", region: eu-west-1}}
alerts:
  - name: ceiling
    metric:
      cloudwatch: {namespace: AWS/Lambda, name: ConcurrentExecutions, stat: Maximum, period: 60}
      prometheus: {expr: 'sum(concurrency)'}
    condition: {threshold: {op: ">", value: 900}}
    evaluation: {datapoints_to_alarm: 2, evaluation_periods: 3, treat_missing_data: notBreaching, for: 2m}
    backtest: {data: dev.csv}
"#,
    )
    .unwrap();
    let value_of = |r: &serde_json::Value| {
        r["params"]
            .get("value")
            .or_else(|| r["current"]["params"].get("value"))
            .and_then(|v| v.as_f64())
            .unwrap()
    };
    // Apart (one engine per run), the engines disagree: the case this test is about.
    let apart: Vec<f64> = ["cloudwatch", "prometheus"]
        .iter()
        .map(|engine| value_of(&tune_json(p, &["--engine", engine])["recommendations"][0]))
        .collect();
    assert_ne!(
        apart[0], apart[1],
        "the engines alone want one threshold each"
    );
    // A run over one engine says that its threshold changes the other's rule too: in the table,
    // and again when it writes it.
    let one_engine = "changes its Prometheus rule too, which this run did not replay";
    alertlab()
        .current_dir(p)
        .args([
            "tune",
            "--spec",
            "s.yaml",
            "--engine",
            "cloudwatch",
            "--write",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(one_engine))
        .stderr(predicate::str::contains(one_engine));
    // Together: one threshold, both engines' timing written, every figure reproduced.
    let tuned = tune_json(p, &["--no-tuned", "--write"]);
    let recs = tuned["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(value_of(&recs[0]), value_of(&recs[1]), "{recs:?}");
    for r in recs {
        assert_eq!(r["shared_keys"], serde_json::json!(["value"]));
    }
    let overlay = std::fs::read_to_string(p.join("s.tuned.yaml")).unwrap();
    let engine_keys = |engine: &str| {
        let r = recs.iter().find(|r| r["engine"] == engine).unwrap();
        r["params"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for key in engine_keys("cloudwatch")
        .into_iter()
        .chain(engine_keys("prometheus"))
        .filter(|k| k != "value")
    {
        assert!(
            overlay.contains(&format!("{key}:")),
            "{key} missing:\n{overlay}"
        );
    }
    let backtest = json(p, &["backtest", "--spec", "s.yaml", "--format", "json"]);
    for r in recs {
        let row = backtest_row(&backtest, "ceiling", r["engine"].as_str().unwrap());
        same(
            &row["alerts_per_week"],
            &r["alerts_per_week"],
            "alerts per week",
        );
        assert!(r["within_budget"].as_bool().unwrap(), "{r}");
    }
    let table = alertlab()
        .current_dir(p)
        .args(["tune", "--spec", "s.yaml", "--no-tuned"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("`value` is chosen for both"));
    alertlab()
        .current_dir(p)
        .args(["report", "--spec", "s.yaml", "--out", "r.html"])
        .assert()
        .success();
    let page = std::fs::read_to_string(p.join("r.html")).unwrap();
    assert!(page.contains("`value` is chosen for both"));
}

/// A labelled file of many series (the AIOps KPI data: `timestamp,value,label,KPI ID`) tuned one
/// series at a time with `--series`: each series is judged on its own anomalies only, and gets what
/// a file holding that series alone gets.
#[test]
fn series_of_a_labelled_file_are_tuned_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z
    let mut rng = Rng::new(4);
    let (mut both, mut alone) = (
        String::from("timestamp,value,label,KPI ID\n"),
        String::from("timestamp,value,label\n"),
    );
    for (id, shift_at) in [("a1", 900), ("b2", 1300)] {
        for h in 0..24 * 70 {
            let daily = 30.0 * (std::f64::consts::TAU * (h % 24) as f64 / 24.0).sin();
            let shifted = (shift_at..shift_at + 8).contains(&h);
            let v = 100.0 + daily + 3.0 * rng.normal() + if shifted { 60.0 } else { 0.0 };
            let row = format!("{},{v:.3},{}", t0 + h * 3600, u8::from(h == shift_at));
            both.push_str(&format!("{row},{id}\n"));
            if id == "b2" {
                alone.push_str(&format!("{row}\n"));
            }
        }
    }
    std::fs::write(p.join("kpi.csv"), both).unwrap();
    std::fs::write(p.join("b2.csv"), alone).unwrap();
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nalerts:\n  - name: kpi\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 3600}}\n    condition: {anomaly: {model: seasonal, k: 3, direction: above}}\n",
    )
    .unwrap();
    let tune = |data: &str, series: Option<&str>| {
        let mut args = vec![
            "tune",
            "--spec",
            "s.yaml",
            "--data",
            data,
            "--incidents",
            data,
            "--grid",
            "k=3,5",
            "--format",
            "json",
        ];
        if let Some(s) = series {
            args.extend(["--series", s]);
        }
        json(p, &args)["recommendations"][0].clone()
    };
    let pooled = tune("kpi.csv", None);
    assert_eq!(pooled["incidents"], 2, "{pooled}");
    let b2 = tune("kpi.csv", Some("KPI ID=\"b2\""));
    assert_eq!(b2["incidents"], 1, "{b2}");
    let same = tune("b2.csv", None);
    for key in [
        "params",
        "alerts_per_week",
        "recall",
        "median_delay_s",
        "caught",
    ] {
        assert_eq!(b2[key], same[key], "{key}: {b2} vs {same}");
    }
    // A filter that matches nothing says so.
    alertlab()
        .current_dir(p)
        .args([
            "tune", "--spec", "s.yaml", "--data", "kpi.csv", "--series", "c3",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no series in `kpi.csv` matches `c3`",
        ));
}

/// A run of flagged rows is anomalous points too, not a window drawn around them: a run of two
/// hourly rows is caught by a 3-of-3 hourly alarm that saw them (its episode starts an hour after
/// the run's last row), as a single flagged row is; strictly (`--grace 0s`) it is missed.
#[test]
fn a_short_run_of_flagged_rows_is_judged_as_points() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let anomalies = [300..310, 450..456, 600..612];
    write_hourly_kpi(p, 9, (&anomalies, 120.0), |h| {
        anomalies.iter().any(|a| a.start == h || a.start + 1 == h)
    });
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nalerts:\n  - name: kpi\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 3600}}\n    condition: {anomaly: {model: seasonal, k: 3, direction: above}}\n    evaluation: {datapoints_to_alarm: 3, evaluation_periods: 3}\n    backtest: {data: kpi.csv, incidents: kpi.csv}\n",
    )
    .unwrap();
    let viewed = backtest_incidents(p, &[]);
    assert_eq!(
        (
            &viewed["incidents"],
            &viewed["caught"],
            &viewed["point_labels"]
        ),
        (&3.into(), &3.into(), &3.into()),
        "{viewed}"
    );
    assert_eq!(viewed["median_delay_s"], 7200.0, "{viewed}");
    assert_eq!(backtest_incidents(p, &["--grace", "0s"])["caught"], 0);
}

/// "We must know within an hour": with a maximum delay (`--max-delay` or `backtest.max_delay`), an
/// alarm that pages two hours into each incident (3 of 3 hourly datapoints) catches none, and its
/// late episodes are no false alerts; tune then prefers a setting that pages in time (1 of 3), and
/// backtest over the overlay it writes gives tune's figures.
#[test]
fn a_maximum_delay_makes_late_pages_misses_and_tune_pages_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    point_labelled_kpi(p);
    let spec = point_label_spec;
    std::fs::write(p.join("s.yaml"), spec("")).unwrap();
    let backtest = ["backtest", "--spec", "s.yaml", "--format", "json"];
    let in_time = |args: &[&str]| json(p, args)["results"][0]["incidents"].clone();
    let unbounded = in_time(&backtest);
    assert_eq!(
        (&unbounded["caught"], &unbounded["median_delay_s"]),
        (&3.into(), &7200.0.into())
    );
    let mut bounded = backtest.to_vec();
    bounded.extend(["--max-delay", "1h"]);
    let late = in_time(&bounded);
    assert_eq!(
        (&late["caught"], &late["late"]),
        (&0.into(), &3.into()),
        "{late}"
    );
    assert_eq!(
        late["false_alerts_per_week"], unbounded["false_alerts_per_week"],
        "{late}"
    );
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml", "--max-delay", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(3 of them paged about later than the maximum delay)",
        ));
    // The spec's key says the same, and the command line wins over it.
    std::fs::write(p.join("s.yaml"), spec(", max_delay: 1h")).unwrap();
    assert_eq!(in_time(&backtest), late);
    let mut longer = backtest.to_vec();
    longer.extend(["--max-delay", "2h"]);
    assert_eq!(in_time(&longer), unbounded);
    // Tune looks for settings that page in time, and its figures are backtest's.
    let tune = [
        "tune",
        "--spec",
        "s.yaml",
        "--grid",
        "k=3,4",
        "--grid",
        "datapoints_to_alarm=1,3",
        "--grid",
        "evaluation_periods=3",
        "--budget",
        "5",
        "--format",
        "json",
        "--write",
    ];
    // With only 3 of 3 to choose from, every incident is paged about late, and tune says so.
    let late_only = [
        "tune",
        "--spec",
        "s.yaml",
        "--grid",
        "k=3",
        "--grid",
        "datapoints_to_alarm=3",
        "--grid",
        "evaluation_periods=3",
    ];
    let late =
        json(p, &[&late_only[..], &["--format", "json"]].concat())["recommendations"][0].clone();
    assert_eq!(
        (&late["caught"], &late["incidents_late"]),
        (&0.into(), &3.into()),
        "{late}"
    );
    alertlab()
        .current_dir(p)
        .args(late_only)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 of 3 incidents were paged about later than the maximum delay",
        ));
    let r = json(p, &tune)["recommendations"][0].clone();
    assert_eq!(r["params"]["datapoints_to_alarm"], 1, "{r}");
    assert!(r.get("incidents_late").is_none(), "{r}");
    assert_eq!(
        (&r["incidents"], &r["caught"]),
        (&3.into(), &3.into()),
        "{r}"
    );
    let bt = in_time(&backtest);
    assert_eq!(bt["caught"], 3, "{bt}");
    for key in ["false_alerts_per_week", "median_delay_s", "recall"] {
        assert_eq!(bt[key], r[key], "{key}: {bt} vs {r}");
    }
}
