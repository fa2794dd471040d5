//! `alertlab report`: one self-contained HTML file, opened in headless Chromium.

use std::process::Command as Process;

use predicates::prelude::*;

use super::{alertlab, root};

#[test]
fn the_report_is_self_contained_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    alertlab()
        .args(["report", "--spec"])
        .arg(root().join("alerts"))
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<table>") && html.contains("<svg"),
        "tables and inline charts"
    );
    assert!(html.contains("Pareto front"));
    // The incidents an alarm misses are named under the backtest table, as `backtest` does.
    assert!(
        html.contains("<p class=\"note\">lambda-concurrency-ceiling in prod (cloudwatch), <code>concurrency-prod-0</code>: missed the incident 2026-01-10T20:40:00Z to 2026-01-11T02:40:00Z.</p>"),
        "missed incidents named"
    );
    // Every alarm and rule has its section, and tuning is shown per engine: the Prometheus-only
    // band rule too, and the ceiling as an alarm and as a rule.
    assert!(html.contains("<h2>lambda-concurrency-band in prod</h2>"));
    let ceiling = html
        .split("<h2>lambda-concurrency-ceiling in dev</h2>")
        .nth(1)
        .unwrap()
        .split("<h2>")
        .next()
        .unwrap();
    for engine in ["CloudWatch alarm", "Prometheus rule"] {
        assert!(
            ceiling.contains(&format!("<h3>Tuning, {engine} (budget 1 per week)</h3>")),
            "{engine}"
        );
    }
    let band = html
        .split("<h2>lambda-concurrency-band in prod</h2>")
        .nth(1)
        .unwrap()
        .split("<h2>")
        .next()
        .unwrap();
    assert!(band.contains("<svg") && band.contains("<h3>Tuning, Prometheus rule"));
    // The trade-off chart where incidents are known (prod, staging), not where none are (dev).
    assert!(band.contains("trade-off of the settings tried"));
    assert!(band.contains("Pareto front (noise, recall, delay)"));
    assert!(
        !ceiling.contains("trade-off of the settings tried"),
        "dev has no incidents"
    );
    assert!(band.contains("<td>current</td><td>for=2m k=3 season=0m smooth=0m window=1h</td>"));
    // No external resource: the only URLs are SVG's XML namespace names (not requests).
    let external: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 40).min(html.len())])
        .filter(|s| !s.starts_with("http://www.w3.org/"))
        .collect();
    assert!(external.is_empty(), "external references: {external:?}");
    for tag in ["<script", "<link", "src=\"http", "<img"] {
        assert!(!html.contains(tag), "{tag}");
    }
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| {
        Process::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(chromium) = chromium else {
        eprintln!(
            "SKIPPED: Chromium is not installed (scripts/test.sh installs Debian's chromium)"
        );
        return;
    };
    let shot = dir.path().join("shot.png");
    let out = Process::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1600",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {log}");
    assert!(!log.contains("CONSOLE"), "console messages: {log}");
    let img = image::open(&shot).unwrap().to_rgb8();
    let distinct: std::collections::BTreeSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        distinct.len() > 50,
        "the screenshot is not blank ({} colours)",
        distinct.len()
    );
}

#[test]
fn a_report_must_be_html() {
    alertlab()
        .args(["report", "--spec"])
        .arg(root().join("alerts"))
        .args(["--out", "report.pdf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the report is an .html file"));
}

/// `--alert` and `--env` select the report's sections as they select backtest's rows.
#[test]
fn a_report_of_one_alert_in_one_env_has_only_its_section() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    alertlab()
        .args(["report", "--spec"])
        .arg(root().join("alerts"))
        .args([
            "--alert",
            "lambda-concurrency-band",
            "--env",
            "prod",
            "--out",
        ])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let sections: Vec<&str> = html
        .split("<h2>")
        .skip(1)
        .map(|s| s.split("</h2>").next().unwrap())
        .collect();
    assert_eq!(sections, ["Backtest", "lambda-concurrency-band in prod"]);
    assert!(html.contains("<h3>Tuning, Prometheus rule (budget 1 per week)</h3>"));
}

/// With `--inject` (as `tune` takes it), a tuning section gives recall per injected anomaly,
/// current against recommended — the figures `tune --inject` reports for the same seed — and says
/// what each setting misses.
#[test]
fn a_report_with_injected_anomalies_gives_recall_per_kind_and_what_is_missed() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let select = [
        "--alert",
        "lambda-concurrency-anomaly",
        "--env",
        "prod",
        "--engine",
        "cloudwatch",
        "--inject",
        "shift:2,shift:4,spike:3,drift:3",
        "--seed",
        "7",
    ];
    alertlab()
        .args(["report", "--spec"])
        .arg(root().join("alerts"))
        .args(select)
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let out = alertlab()
        .args(["tune", "--spec"])
        .arg(root().join("alerts"))
        .args(select)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let tuned: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &tuned["recommendations"][0];
    let by_kind = rec["recall_by_kind"].as_object().unwrap();
    assert!(by_kind.len() >= 3, "{by_kind:?}");
    let figure = |v: &serde_json::Value| {
        let v = v.as_f64().unwrap();
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    for (kind, recall) in by_kind {
        let current = &rec["current"]["recall_by_kind"][kind];
        let row = format!(
            "<tr><td>{kind}</td><td>{}</td><td>{}</td></tr>",
            figure(current),
            figure(recall)
        );
        assert!(html.contains(&row), "{row} in the report");
    }
    let missed_by_recommended = by_kind.values().any(|r| r.as_f64().unwrap() < 1.0);
    assert_eq!(
        html.contains("<p class=\"note\">The recommended setting misses "),
        missed_by_recommended
    );
    assert!(html.contains("anomalies injected into the histories"));
}

/// What backtest and tune warn of reaches the report too: a 1-minute alarm over 5-minute data
/// lives by its missing-data rule, which the backtest table's reader and the tuning section's
/// current row are told.
#[test]
fn the_report_carries_the_replay_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(
        dir.path().join("fine.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: fine}\nalerts:\n  - name: cpu-high\n    metric: {cloudwatch: {namespace: AWS/EC2, name: CPUUtilization, stat: Average, period: 60}}\n    condition: {threshold: {op: \">\", value: 90}}\n",
    )
    .unwrap();
    alertlab()
        .current_dir(dir.path())
        .args(["report", "--spec", "fine.yaml", "--data"])
        .arg(root().join("data/nab/realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv"))
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let warning =
        "data step 5m is coarser than the alarm period 1m: most periods have no datapoint";
    assert!(
        html.contains(&format!(
            "<p class=\"note\">Warning: cpu-high in default (cloudwatch): {warning}.</p>"
        )),
        "{html}"
    );
    let tuning = html.split("<h3>Tuning, CloudWatch alarm").nth(1).unwrap();
    assert!(
        tuning.contains(&format!(
            "Warning, current and recommended setting: {warning}."
        )),
        "{tuning}"
    );
}

/// An alert over a fleet charts only its noisiest series (`--max-charts`), saying so; the table
/// keeps every series. 0 charts them all.
#[test]
fn a_fleet_report_charts_the_noisiest_series() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .args([
            "synth",
            "--series",
            "5",
            "--days",
            "3",
            "--seed",
            "4",
            "--out",
            "fleet.csv",
        ])
        .assert()
        .success();
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: f}\nalerts:\n  - name: band\n    metric: {cloudwatch: {namespace: X, name: Y, stat: Average, period: 60}}\n    condition: {anomaly: {model: seasonal, k: 2, direction: both}}\n    backtest: {data: fleet.csv}\n",
    )
    .unwrap();
    let report = |max: &str| {
        alertlab()
            .current_dir(p)
            .args(["report", "--spec", "s.yaml", "--no-tune", "--out", "r.html"])
            .args(["--max-charts", max])
            .assert()
            .success();
        std::fs::read_to_string(p.join("r.html")).unwrap()
    };
    let html = report("2");
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    assert!(html.contains("Charts of the 2 noisiest of its 5 series"));
    assert_eq!(
        html.matches("<tr><td>band</td>").count(),
        5,
        "every series in the table"
    );
    // The two charted are the two with the most alerts per week.
    let bt = super::json_of(
        alertlab()
            .current_dir(p)
            .args(["backtest", "--spec", "s.yaml", "--format", "json"]),
    );
    let mut rows: Vec<(f64, String)> = bt["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["alerts_per_week"].as_f64().unwrap(),
                r["series"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (i, (_, series)) in rows.iter().enumerate() {
        let title = format!("band · default · cloudwatch · {series} ");
        assert_eq!(html.contains(&title), i < 2, "{series}");
    }
    let all = report("0");
    assert_eq!(all.matches("<svg").count(), 5);
    assert!(!all.contains("Charts of the"));
}

/// The tuning section says how incidents were judged, as the tune table does: NAB's point labels
/// (`combined_labels.json`) by each setting's view of them, and windows in the band's warm-up.
#[test]
fn the_report_says_how_point_labels_and_warm_up_incidents_were_judged() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let nab = root().join("data/nab");
    alertlab()
        .current_dir(root())
        .args(["report", "--spec", "examples/nab/nab.yaml", "--data"])
        .arg(nab.join("realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv"))
        .arg("--incidents")
        .arg(nab.join("labels/combined_labels.json"))
        .arg("--out")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let tuning = html.split("<h3>Tuning, CloudWatch alarm").nth(1).unwrap();
    assert!(
        tuning.contains("2 of 2 incidents are point labels (single timestamps"),
        "{tuning}"
    );
    assert!(
        // The second point is seen by settings whose view reaches past the warm-up.
        tuning.contains("of 2 incidents closed before the band existed"),
        "{tuning}"
    );
}
