//! `alertlab plot`: SVG structure (band, one span per backtest episode, labels, legend figures),
//! PNG content, charts of a whole spec, and bad input.

use std::path::Path;

use predicates::prelude::*;

use super::{alertlab, json_of, root};

const EPISODE_RECT: &str = r##"opacity="0.25" fill="#D62728""##;

/// The same alarm as `plot FILE --k 3 --period 300 --stat Maximum` draws, as a spec.
fn backtest_of_the_chart(dir: &Path, data: &Path) -> serde_json::Value {
    backtest_of(
        dir,
        data,
        "metric: {cloudwatch: {namespace: Chart, name: value, stat: Maximum, period: 300}}\n    condition: {anomaly: {model: seasonal, k: 3, direction: both}}",
    )
}

/// The backtest JSON of a one-alert spec over `data` (`alert` holds its metric, condition and
/// evaluation lines).
fn backtest_of(dir: &Path, data: &Path, alert: &str) -> serde_json::Value {
    let spec = dir.join("same.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: same}}\nalerts:\n  - name: same\n    {alert}\n    backtest: {{data: {}}}\n",
            serde_json::to_string(&data.to_string_lossy()).unwrap()
        ),
    )
    .unwrap();
    json_of(
        alertlab()
            .args(["backtest", "--format", "json", "--spec"])
            .arg(&spec),
    )
}

#[test]
fn svg_shows_the_band_one_span_per_episode_and_the_backtest_figures() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("data/lambda_prod.csv");
    let svg_path = dir.path().join("c.svg");
    alertlab()
        .arg("plot")
        .arg(&data)
        .args([
            "--k",
            "3",
            "--period",
            "300",
            "--stat",
            "Maximum",
            "--incidents",
        ])
        .arg(root().join("data/lambda_prod.incidents.csv"))
        .arg("--out")
        .arg(&svg_path)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let bt = backtest_of_the_chart(dir.path(), &data);
    let r = &bt["results"][0];
    let episodes = r["episodes"].as_array().unwrap().len();
    assert!(episodes > 3, "the chart has episodes to show: {episodes}");
    assert_eq!(
        svg.matches(EPISODE_RECT).count(),
        episodes,
        "one span per episode"
    );
    assert!(svg.contains("<polygon"), "the band is a shaded polygon");
    let legend = format!(
        "ALARM: {episodes} episodes, {:.1} alerts/week",
        r["alerts_per_week"].as_f64().unwrap()
    );
    assert!(svg.contains(&legend), "legend `{legend}`");
    for text in [
        "time (UTC)",
        "seasonal k=3 both, 1 of 1",
        "concurrency-prod-0",
        "incidents: 1",
    ] {
        assert!(svg.contains(text), "missing `{text}`");
    }
}

#[test]
fn png_has_the_requested_size_content_and_band_colour() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("c.png");
    alertlab()
        .arg("plot")
        .arg(root().join("data/nab/realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv"))
        .args(["--size", "900x500", "--out"])
        .arg(&png)
        .assert()
        .success();
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (900, 500));
    let pixels: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    let distinct: std::collections::BTreeSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 20, "not blank: {} colours", distinct.len());
    // The band: green at 25 % over white is about (202, 231, 202).
    let band = pixels
        .iter()
        .filter(|p| p[0].abs_diff(202) <= 4 && p[1].abs_diff(231) <= 4 && p[2].abs_diff(202) <= 4)
        .count();
    assert!(band > 1000, "band colour present: {band} pixels");
}

#[test]
fn a_spec_gives_one_chart_per_alarm_env_and_series_and_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("charts");
    alertlab()
        .args(["plot", "--spec"])
        .arg(root().join("alerts"))
        .args(["--format", "svg", "--out"])
        .arg(&out)
        .assert()
        .success();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let charts: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "svg"))
        .collect();
    assert_eq!(
        charts.len(),
        15,
        "3 CloudWatch alarms and 2 Prometheus rules × 3 envs"
    );
    for c in &charts {
        let name = c.file_name().to_string_lossy().to_string();
        assert!(index.contains(&name), "index lists {name}");
    }
    let cloudwatch_only = dir.path().join("cw");
    alertlab()
        .args(["plot", "--engine", "cloudwatch", "--spec"])
        .arg(root().join("alerts"))
        .arg("--out")
        .arg(&cloudwatch_only)
        .assert()
        .success();
    let pngs = std::fs::read_dir(&cloudwatch_only)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert_eq!(pngs, 9, "3 CloudWatch alarms × 3 envs");
}

/// A Prometheus rule's chart: one firing span per episode and one lighter pending span per
/// `pending` transition of the backtest of the same rule, the band polygon and the rule's timing.
#[test]
fn a_prometheus_chart_shows_firing_and_pending_as_the_backtest_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("data/lambda_prod.csv");
    let svg_path = dir.path().join("p.svg");
    alertlab()
        .arg("plot")
        .arg(&data)
        .args(["--model", "promql", "--k", "3", "--for", "2m", "--out"])
        .arg(&svg_path)
        .assert()
        .success();
    let bt = backtest_of(
        dir.path(),
        &data,
        "metric: {prometheus: {expr: value}}\n    condition: {anomaly: {model: promql, k: 3, window: 1h, direction: both}}\n    evaluation: {interval: 1m, for: 2m}",
    );
    let r = &bt["results"][0];
    assert_eq!(r["engine"], "prometheus");
    let episodes = r["episodes"].as_array().unwrap().len();
    let pending = r["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["to"] == "pending")
        .count();
    assert!(
        episodes > 3 && pending > episodes,
        "{episodes} episodes, {pending} pending"
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg.matches(EPISODE_RECT).count(), episodes);
    assert_eq!(
        svg.matches(r##"opacity="0.08" fill="#D62728""##).count(),
        pending,
        "one lighter span per pending period"
    );
    assert!(svg.contains("<polygon"), "the band is a shaded polygon");
    for text in [
        format!(
            "firing: {episodes} episodes, {:.1} alerts/week",
            r["alerts_per_week"].as_f64().unwrap()
        ),
        format!("pending: {pending}"),
        "promql k=3 both window=1h, every 1m, for 2m".to_string(),
    ] {
        assert!(svg.contains(&text), "missing `{text}`");
    }
}

#[test]
fn bad_plot_input_is_exit_2_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("data/lambda_prod.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--series".into(),
                "nope".into(),
                "--out".into(),
                "a.png".into(),
            ],
            "matches `nope`",
        ),
        (
            vec![
                "--from".into(),
                "2030-01-01T00:00:00Z".into(),
                "--out".into(),
                "b.png".into(),
            ],
            "holds no datapoint",
        ),
        (vec!["--out".into(), "c.jpg".into()], ".png or .svg"),
        (
            vec![
                "--size".into(),
                "10x10".into(),
                "--out".into(),
                "d.png".into(),
            ],
            "200 to 8000",
        ),
        (
            vec![
                "--engine".into(),
                "both".into(),
                "--out".into(),
                "e.png".into(),
            ],
            "one engine's alarm",
        ),
        (
            vec![
                "--model".into(),
                "promql".into(),
                "--interval".into(),
                "0s".into(),
                "--out".into(),
                "f.png".into(),
            ],
            "`--interval` must be at least 1s",
        ),
    ];
    for (args, message) in cases {
        alertlab()
            .current_dir(dir.path())
            .arg("plot")
            .arg(&data)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial file"
    );
    // An output that cannot be written is exit 1, as for every command:
    // `an_unwritable_chart_is_exit_1_and_a_wrong_extension_exit_2`.
}

/// The README's chart is made by the command the README gives, byte for byte.
#[test]
fn the_readme_chart_command_still_makes_the_committed_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lambda-prod.png");
    alertlab()
        .current_dir(root())
        .args([
            "plot",
            "data/lambda_prod.csv",
            "--period",
            "300",
            "--stat",
            "Maximum",
            "--k",
            "3.5",
            "--incidents",
            "data/lambda_prod.incidents.csv",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(root().join("docs/img/lambda-prod.png")).unwrap(),
        "regenerate docs/img/lambda-prod.png with the command in the README"
    );
}

/// `--compare` stacks one chart per setting on a shared time axis, each legend with its figures.
#[test]
fn compare_stacks_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("cmp.svg");
    let out = alertlab()
        .arg("plot")
        .arg(root().join("data/lambda_prod.csv"))
        .args([
            "--period",
            "300",
            "--stat",
            "Maximum",
            "--compare",
            "k=2,k=6",
            "--size",
            "900x300",
            "--out",
        ])
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("height=\"600\""), "two charts of 300 px");
    assert!(text.contains("[k=2]") && text.contains("[k=6]"));
    let legends = text.matches("alerts/week").count();
    assert_eq!(legends, 2, "one legend per setting");
    alertlab()
        .arg("plot")
        .arg(root().join("data/lambda_prod.csv"))
        .args(["--compare", "kk=2", "--out"])
        .arg(dir.path().join("bad.svg"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown grid key `kk`"));
}

/// A history too short for one evaluation (a single sample between two evaluation times) still
/// gets its chart, saying there is nothing to draw, instead of failing the plot and the report.
#[test]
fn a_span_without_evaluations_charts_as_nothing_to_draw() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("one.csv"), "timestamp,value\n1700000000,-5\n").unwrap();
    std::fs::write(
        p.join("one.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: one}\nalerts:\n  - name: a\n    metric: {prometheus: {expr: 'm'}}\n    condition: {anomaly: {model: promql, k: 3, window: 1h}}\n    backtest: {data: one.csv}\n",
    )
    .unwrap();
    alertlab()
        .current_dir(p)
        .args([
            "plot", "--spec", "one.yaml", "--format", "svg", "--out", "charts",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(p.join("charts/a-default-prometheus-one.svg")).unwrap();
    assert!(
        svg.contains("no evaluation in the span: nothing to draw"),
        "{svg}"
    );
    alertlab()
        .current_dir(p)
        .args(["report", "--spec", "one.yaml", "--out", "one.html"])
        .assert()
        .success();
    let html = std::fs::read_to_string(p.join("one.html")).unwrap();
    assert!(html.contains("no evaluation in the span: nothing to draw"));
}

/// A chart that cannot be written is a runtime failure (exit 1, the path named); an output name
/// that is no chart format is the user's to fix (exit 2).
#[test]
fn an_unwritable_chart_is_exit_1_and_a_wrong_extension_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "not a folder").unwrap();
    let data = root().join("data/lambda_dev.csv");
    alertlab()
        .current_dir(dir.path())
        .arg("plot")
        .arg(&data)
        .args(["--out", "file/chart.png"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("writing `file/chart.png`"));
    alertlab()
        .current_dir(dir.path())
        .arg("plot")
        .arg(&data)
        .args(["--out", "chart.gif"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a chart is written as .png or .svg",
        ));
    assert!(!dir.path().join("chart.gif").exists());
}
