//! Fidelity of the Prometheus engine against the real `promtool test rules` (Prometheus 2.42 from
//! Debian). Seeded random cases — series with gaps longer than the 5m lookback, NaN and infinite
//! samples, thresholds of every comparison, `for`, `keep_firing_for` and evaluation intervals — are
//! written as one rule file and one promtool test file whose expected alerts are what our engine
//! says fires; promtool must agree. The generated promtool tests of `alertlab generate` are run the
//! same way over random histories, and must fail when one expectation is flipped.

use std::fmt::Write as _;
use std::process::Command;

use alertlab::band::{self, Band, Comparison, Rule};
use alertlab::engine::cloudwatch::Breach;
use alertlab::engine::prometheus::{evaluate, instant_indices, PrometheusConfig};
use alertlab::engine::Detail;
use alertlab::rng::Rng;
use alertlab::series::time::{format_prometheus_duration, MINUTE_MS};
use alertlab::series::Samples;

const CASES: usize = 240;

/// One input sample in promtool notation.
#[derive(Clone, Copy)]
enum Sample {
    Missing,
    Value(i64),
    NaN,
    Inf(bool),
}

struct Case {
    values: Vec<Sample>,
    op: Comparison,
    threshold: i64,
    cfg: PrometheusConfig,
}

fn random_sample(rng: &mut Rng, level: &mut i64) -> Sample {
    if rng.chance(0.04) {
        Sample::NaN
    } else if rng.chance(0.01) {
        Sample::Inf(rng.chance(0.5))
    } else {
        *level = (*level + rng.int(-3, 3)).clamp(0, 10);
        Sample::Value(*level)
    }
}

fn random_case(rng: &mut Rng) -> Case {
    let len = rng.int(30, 90) as usize;
    let mut values = Vec::with_capacity(len);
    let mut level = rng.int(0, 10);
    while values.len() < len {
        if rng.chance(0.08) {
            // a gap: short ones stay within the 5m lookback, long ones make the series absent
            let gap = *rng.pick(&[1, 2, 4, 5, 6, 8, 12]);
            values.extend(std::iter::repeat_n(Sample::Missing, gap));
        } else {
            values.push(random_sample(rng, &mut level));
        }
    }
    values.truncate(len);
    let cfg = PrometheusConfig {
        interval_ms: *rng.pick(&[MINUTE_MS, MINUTE_MS, 2 * MINUTE_MS, 30_000]),
        for_ms: *rng.pick(&[0, MINUTE_MS, 2 * MINUTE_MS, 3 * MINUTE_MS, 5 * MINUTE_MS]),
        keep_firing_for_ms: *rng.pick(&[0, 0, MINUTE_MS, 3 * MINUTE_MS, 7 * MINUTE_MS]),
        ..PrometheusConfig::default()
    };
    Case {
        values,
        op: *rng.pick(&[
            Comparison::Greater,
            Comparison::GreaterOrEqual,
            Comparison::Less,
            Comparison::LessOrEqual,
        ]),
        threshold: rng.int(2, 8),
        cfg,
    }
}

/// The samples as alertlab's series model holds them: NaN for missing, NaN samples listed apart.
fn to_series(values: &[Sample]) -> (Vec<i64>, Vec<f64>, Vec<usize>) {
    let timestamps: Vec<i64> = (0..values.len() as i64).map(|i| i * MINUTE_MS).collect();
    let mut nan_samples = Vec::new();
    let vals = values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Sample::Missing => f64::NAN,
            Sample::Value(v) => *v as f64,
            Sample::NaN => {
                nan_samples.push(i);
                f64::NAN
            }
            Sample::Inf(up) => {
                if *up {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                }
            }
        })
        .collect();
    (timestamps, vals, nan_samples)
}

/// Our engine's firing state at each evaluation time (1-minute samples from t = 0).
fn simulate(case: &Case) -> (Vec<i64>, Vec<bool>) {
    let (timestamps, values, nan_samples) = to_series(&case.values);
    let band = Band::constant(values.len(), case.threshold as f64);
    let rule = Rule {
        k: 0.0,
        direction: case.op.direction(),
        inclusive: case.op.inclusive(),
        floor: None,
    };
    let breach = band::breaches(&values, &band, &rule);
    let last = *timestamps.last().unwrap() + 6 * MINUTE_MS; // past the end: the series goes stale
    let eval_times = case.cfg.eval_times(0, last);
    let samples = Samples {
        timestamps: &timestamps,
        values: &values,
        nan_samples: &nan_samples,
    };
    let selected = instant_indices(&samples, &eval_times, &case.cfg);
    let present: Vec<bool> = selected
        .iter()
        .map(|s| s.is_some_and(|i| breach[i] == Breach::Breaching))
        .collect();
    let timeline = evaluate(&present, &eval_times, &case.cfg, Detail::Full);
    let firing = timeline.on_at(&eval_times);
    (eval_times, firing)
}

fn promtool_values(values: &[Sample]) -> String {
    values
        .iter()
        .map(|v| match v {
            Sample::Missing => "_".to_string(),
            Sample::Value(v) => v.to_string(),
            Sample::NaN => "NaN".to_string(),
            Sample::Inf(true) => "Inf".to_string(),
            Sample::Inf(false) => "-Inf".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run `promtool test rules` on `files` (in `dir`) on two threads; the failures' output.
fn run_promtool(dir: &std::path::Path, files: &[std::path::PathBuf]) -> Vec<String> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(files.len().div_ceil(2).max(1))
            .map(|part| {
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for file in part {
                        let out = Command::new("promtool")
                            .arg("test")
                            .arg("rules")
                            .arg(file)
                            .current_dir(dir)
                            .output()
                            .unwrap();
                        if !out.status.success() {
                            let stdout = String::from_utf8_lossy(&out.stdout);
                            failed.push(format!(
                                "{}:\n{}",
                                file.display(),
                                stdout.chars().take(3000).collect::<String>()
                            ));
                        }
                    }
                    failed
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn require_promtool() {
    if Command::new("promtool").arg("--version").output().is_err() {
        panic!("promtool is required (Debian package `prometheus`); the README's test command installs it");
    }
}

#[test]
fn prometheus_engine_agrees_with_promtool_on_generated_cases() {
    require_promtool();
    let mut rng = Rng::new(20_261_125);
    let cases: Vec<Case> = (0..CASES).map(|_| random_case(&mut rng)).collect();
    // promtool applies one evaluation interval per test file, and evaluates every rule of its rule
    // files for every test, so cases go in small files of one interval each, run two at a time.
    let dir = tempfile::tempdir().unwrap();
    let mut batches: Vec<(i64, Vec<(usize, &Case)>)> = Vec::new();
    for interval in [30_000, MINUTE_MS, 2 * MINUTE_MS] {
        let chosen: Vec<(usize, &Case)> = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.cfg.interval_ms == interval)
            .collect();
        for chunk in chosen.chunks(16) {
            batches.push((interval, chunk.to_vec()));
        }
    }
    let mut checked_evals = 0;
    let mut firing_evals = 0;
    let mut files = Vec::new();
    for (b, (interval, chunk)) in batches.iter().enumerate() {
        let mut rules = String::from("groups:\n  - name: fidelity\n    rules:\n");
        let mut tests = format!(
            "rule_files: [rules_{b}.yml]\nevaluation_interval: {}\ntests:\n",
            format_prometheus_duration(*interval)
        );
        for (i, case) in chunk {
            writeln!(
                rules,
                "      - alert: case_{i}\n        expr: m{{case=\"{i}\"}} {} {}",
                case.op.symbol(),
                case.threshold
            )
            .unwrap();
            writeln!(
                rules,
                "        for: {}\n        keep_firing_for: {}",
                format_prometheus_duration(case.cfg.for_ms),
                format_prometheus_duration(case.cfg.keep_firing_for_ms)
            )
            .unwrap();
            let (eval_times, firing) = simulate(case);
            writeln!(tests, "  - interval: 1m\n    input_series:\n      - series: 'm{{case=\"{i}\"}}'\n        values: '{}'\n    alert_rule_test:", promtool_values(&case.values)).unwrap();
            for (t, f) in eval_times.iter().zip(&firing) {
                let exp = if *f {
                    format!("[{{exp_labels: {{case: \"{i}\"}}}}]")
                } else {
                    "[]".into()
                };
                writeln!(
                    tests,
                    "      - eval_time: {}\n        alertname: case_{i}\n        exp_alerts: {exp}",
                    format_prometheus_duration(*t)
                )
                .unwrap();
                checked_evals += 1;
                firing_evals += *f as usize;
            }
        }
        std::fs::write(dir.path().join(format!("rules_{b}.yml")), rules).unwrap();
        let test_file = dir.path().join(format!("test_{b}.yml"));
        std::fs::write(&test_file, tests).unwrap();
        files.push(test_file);
    }
    let failures = run_promtool(dir.path(), &files);
    assert!(
        failures.is_empty(),
        "promtool disagrees with the engine:\n{}",
        failures.join("\n")
    );
    // The generated cases must exercise both outcomes substantially.
    assert!(checked_evals > 10_000, "{checked_evals}");
    assert!(
        firing_evals > 1_000 && firing_evals < checked_evals - 1_000,
        "{firing_evals} of {checked_evals} firing"
    );
}

/// The `promql` band's recording rules, evaluated by promtool on random series with gaps, record
/// exactly the mean and standard deviation our simulator computes (`promql_expr_test`, which
/// compares values exactly: a change in the last bit fails it), and the band alert fires exactly
/// when our engine says (`alert_rule_test`).
#[test]
fn promql_band_recording_rules_compute_what_the_simulator_computes() {
    use alertlab::band::promql::{self as promql_band, PromqlModel, Recorded};
    use alertlab::band::Direction;
    use alertlab::emit::prometheus::{band_alert_expr, band_rules};
    use alertlab::engine::prometheus::instant_values;

    let mut rng = Rng::new(7);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut compared = 0;
    for chunk in 0..4 {
        let mut rules = String::from("groups:\n  - name: band\n    rules:\n");
        let mut tests = String::from("rule_files: [RULES]\nevaluation_interval: 1m\ntests:\n");
        for c in 0..8 {
            let i = chunk * 8 + c;
            let name = format!("c{i}");
            let model = PromqlModel {
                window_ms: *rng.pick(&[5, 10, 30]) * MINUTE_MS,
                season_ms: *rng.pick(&[0, 0, 10, 20]) * MINUTE_MS,
                smooth_ms: *rng.pick(&[0, 0, 3]) * MINUTE_MS,
                ..PromqlModel::new(0)
            };
            let k = *rng.pick(&[1.0, 1.5, 2.0, 3.0]);
            let direction = *rng.pick(&[Direction::Above, Direction::Below, Direction::Both]);
            let len = rng.int(40, 80) as usize;
            let mut values: Vec<Option<f64>> = Vec::new();
            let mut nan_at = Vec::new();
            while values.len() < len {
                if rng.chance(0.06) {
                    values.extend(std::iter::repeat_n(None, *rng.pick(&[1usize, 3, 7])));
                } else if rng.chance(0.015) {
                    // a NaN sample: present, and it poisons every range holding it
                    nan_at.push(values.len());
                    values.push(Some(f64::NAN));
                } else {
                    let spike = if rng.chance(0.05) { 50.0 } else { 0.0 };
                    values.push(Some(
                        ((20.0 + 5.0 * rng.normal() + spike) * 100.0).round() / 100.0,
                    ));
                }
            }
            values.truncate(len);
            nan_at.retain(|&j| j < len);
            // What Prometheus records for `alertlab:<c>:value = m{case="<i>"}` at each evaluation.
            let ts: Vec<i64> = (0..len as i64).map(|j| j * MINUTE_MS).collect();
            let raw: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            let evals: Vec<i64> = ts.clone();
            let cfg = PrometheusConfig::default();
            let samples = Samples {
                timestamps: &ts,
                values: &raw,
                nan_samples: &nan_at,
            };
            let selected = instant_indices(&samples, &evals, &cfg);
            let recorded: Vec<f64> = instant_values(&samples, &evals, &cfg);
            let present: Vec<bool> = selected.iter().map(Option::is_some).collect();
            let rec = Recorded {
                timestamps: &evals,
                values: &recorded,
                present: &present,
            };
            let band = promql_band::band_recorded(&rec, MINUTE_MS, &model);
            // The same ranges with every NaN sample read as 0: NaN there means an empty range.
            let zeroed: Vec<f64> = recorded
                .iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect();
            let occupied = promql_band::band_recorded(
                &Recorded {
                    values: &zeroed,
                    ..rec
                },
                MINUTE_MS,
                &model,
            );
            writeln!(
                rules,
                "      - record: alertlab:{name}:value\n        expr: m{{case=\"{i}\"}}"
            )
            .unwrap();
            for r in band_rules(&name, &model, MINUTE_MS) {
                writeln!(
                    rules,
                    "      - record: {}\n        expr: {}",
                    r.record.unwrap(),
                    r.expr
                )
                .unwrap();
            }
            let (avg, sd) = (
                format!("alertlab:{name}:avg"),
                format!("alertlab:{name}:stddev"),
            );
            let expr = band_alert_expr(&name, &model, k, direction);
            writeln!(rules, "      - alert: band_{i}\n        expr: {expr}").unwrap();
            let rule = Rule {
                k,
                direction,
                inclusive: false,
                floor: None,
            };
            let breach =
                band::breaches(&promql_band::compared_recorded(&rec, &model), &band, &rule);
            let promtool_values: Vec<String> = values
                .iter()
                .map(|v| v.map_or("_".to_string(), |v| v.to_string()))
                .collect();
            writeln!(tests, "  - interval: 1m\n    input_series:\n      - series: 'm{{case=\"{i}\"}}'\n        values: '{}'\n    promql_expr_test:", promtool_values.join(" ")).unwrap();
            for (j, t) in evals.iter().enumerate().step_by(3) {
                for (metric, v, o) in [
                    (&avg, band.center[j], occupied.center[j]),
                    (&sd, band.spread[j], occupied.spread[j]),
                ] {
                    if v.is_nan() && !o.is_nan() {
                        // A NaN result: promtool cannot compare NaN values (the alert checks it).
                        continue;
                    }
                    let exp = if v.is_nan() {
                        "[]".to_string()
                    } else {
                        format!("[{{labels: '{metric}{{case=\"{i}\"}}', value: {v:?}}}]")
                    };
                    writeln!(
                        tests,
                        "      - expr: {metric}\n        eval_time: {}\n        exp_samples: {exp}",
                        format_prometheus_duration(*t)
                    )
                    .unwrap();
                    compared += 1;
                }
            }
            writeln!(tests, "    alert_rule_test:").unwrap();
            for (j, t) in evals.iter().enumerate() {
                let exp = if breach[j] == Breach::Breaching {
                    format!("[{{exp_labels: {{case: \"{i}\"}}}}]")
                } else {
                    "[]".into()
                };
                writeln!(
                    tests,
                    "      - eval_time: {}\n        alertname: band_{i}\n        exp_alerts: {exp}",
                    format_prometheus_duration(*t)
                )
                .unwrap();
            }
        }
        let rules_file = format!("band_rules_{chunk}.yml");
        std::fs::write(dir.path().join(&rules_file), rules).unwrap();
        let test_file = dir.path().join(format!("band_test_{chunk}.yml"));
        std::fs::write(&test_file, tests.replace("RULES", &rules_file)).unwrap();
        files.push(test_file);
    }
    let out = Command::new("promtool")
        .arg("test")
        .arg("rules")
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool disagrees with the promql band:\n{}",
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(4000)
            .collect::<String>()
    );
    assert!(compared > 500, "{compared}");
}

/// Annotation templates alertlab writes through (`emit::go_template`): for seeded values of every
/// magnitude and sign (and exact ties of the fourth digit, which Go rounds to even), the text our
/// expansion gives for `{{ $value }}`, `humanize`, `humanizePercentage`, `humanizeDuration` and
/// `printf` of `%.Nf` and `%.Ng` is what Prometheus's template engine renders.
#[test]
fn annotation_values_render_as_prometheus_renders_them() {
    use alertlab::emit::go_template::Template;
    let mut rng = Rng::new(20_261_208);
    let mut values: Vec<f64> = vec![
        0.0,
        1.0625,
        -1.0625,
        0.125,
        999.95,
        9999.5,
        1e21,
        1e-5,
        123456.0,
        1234567.0,
        0.5,
        1e-300,
        -7.25e12,
        100.0,
        1000.0,
        0.001,
        0.000123456,
        f64::INFINITY,
        f64::NEG_INFINITY,
        2.5,
        3725.5,
        59.99,
        60.0,
        86_400.0,
        -90_061.0,
        0.0015,
        1e30,
    ];
    while values.len() < 400 {
        let mantissa = 1.0 + 9.0 * rng.uniform();
        let exponent = rng.int(-14, 26) as i32;
        let v = mantissa * 10f64.powi(exponent);
        // Short decimals too (ties and trailing zeros), not only 17-digit ones.
        let v = if rng.chance(0.4) {
            (v * 16.0).round() / 16.0
        } else {
            v
        };
        values.push(if rng.chance(0.3) { -v } else { v });
    }
    let template = "{{ $value }}|{{ $value | humanize }}|{{ humanizePercentage .Value }}|{{ humanizeDuration $value }}|{{ printf \"%.2f\" $value }}|{{ $value | printf \"%.3g\" }}|{{ printf \"%.0f\" $value }}|{{ $labels.job }}";
    let expand = Template::parse(template).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        format!("groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: A\n    expr: m\n    annotations:\n      v: '{template}'\n"),
    )
    .unwrap();
    let notation = |v: f64| match v {
        v if v == f64::INFINITY => "Inf".to_string(),
        v if v == f64::NEG_INFINITY => "-Inf".to_string(),
        v => format!("{v:e}"),
    };
    let mut tests = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  - series: 'm{{job=\"x\"}}'\n    values: '{}'\n  alert_rule_test:\n",
        values.iter().map(|v| notation(*v)).collect::<Vec<_>>().join(" ")
    );
    let labels = std::collections::BTreeMap::from([("job".to_string(), "x".to_string())]);
    for (k, v) in values.iter().enumerate() {
        let text = serde_json::to_string(&expand.expand(&labels, *v)).unwrap();
        writeln!(
            tests,
            "  - {{eval_time: {k}m, alertname: A, exp_alerts: [{{exp_labels: {{job: x}}, exp_annotations: {{v: {text}}}}}]}}"
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("test.yml"), tests).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool renders other text:\n{}{}",
        String::from_utf8_lossy(&out.stdout)
            .chars()
            .take(4000)
            .collect::<String>(),
        String::from_utf8_lossy(&out.stderr)
    );
}
