//! Streaming (`--memory`): a Parquet file read a batch of whole series at a time gives the same
//! bytes as the file read whole — backtest and tune, long and wide layouts, random series counts,
//! spans, gaps and row-group sizes — and keeps to its budget under an address-space limit where the
//! whole file does not fit.

use std::path::Path;
use std::process::Command as Process;

use predicates::prelude::*;

use super::alertlab;

const SPEC: &str = "apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: stream}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: F, name: m, stat: Average, period: 300}}
    condition: {anomaly: {model: seasonal, k: 3, direction: above}}
    evaluation: {datapoints_to_alarm: 2, evaluation_periods: 3}
    backtest: {data: fleet.parquet}
  - name: ceiling
    metric: {cloudwatch: {namespace: F, name: m, stat: Maximum, period: 60}, prometheus: {expr: m}}
    condition: {threshold: {op: '>', value: 700}}
    evaluation: {for: 2m, treat_missing_data: breaching}
    backtest: {data: fleet.parquet}
  - name: some
    metric: {prometheus: {expr: m}}
    condition: {anomaly: {model: promql, k: 3, window: 30m, direction: both}}
    backtest: {data: fleet.parquet, series: '-1'}
";

fn json(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = alertlab()
        .current_dir(dir)
        .args(args)
        .args(["--spec", "s.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Deterministic pseudo-random cases (the seed names the case in a failure).
fn cases() -> Vec<(u64, usize, f64, f64, usize, &'static str)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    (0..5)
        .map(|seed| {
            (
                seed,
                // At least 8 × 3 × 1,440 points: more than a 1 MiB budget holds, so it streams.
                8 + next(20) as usize,
                3.0 + next(3) as f64,
                next(8) as f64 / 100.0,
                200 + next(5000) as usize,
                if seed == 4 { "wide" } else { "long" },
            )
        })
        .collect()
}

#[test]
fn streamed_runs_are_byte_for_byte_the_whole_file_runs() {
    for (seed, series, days, missing, row_groups, layout) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("s.yaml"), SPEC).unwrap();
        alertlab()
            .current_dir(p)
            .args(["synth", "--out", "fleet.parquet", "--layout", layout])
            .args(["--series", &series.to_string(), "--days", &days.to_string()])
            .args([
                "--missing-rate",
                &missing.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .args(["--row-group-rows", &row_groups.to_string()])
            .assert()
            .success();
        for cmd in [
            vec!["backtest"],
            vec!["tune", "--inject", "spike:4", "--all", "--budget", "5"],
        ] {
            let mut whole = cmd.clone();
            whole.extend(["--memory", "16G"]);
            // 1 MiB is about 16,000 points a batch: several batches of a few series each.
            let mut streamed = cmd.clone();
            streamed.extend(["--memory", "1M"]);
            assert!(
                json(p, &whole) == json(p, &streamed),
                "case {seed} ({series} series, {days} days, {missing} missing, {row_groups}-row groups, {layout}): {} streamed differs",
                cmd[0]
            );
        }
    }
}

#[test]
fn a_file_not_grouped_by_series_is_refused_when_streamed_and_read_whole_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write_four_series_parquet(&p.join("fleet.parquet"), true, None);
    std::fs::write(p.join("s.yaml"), SPEC.replace(", series: '-1'", "")).unwrap();
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml", "--memory", "1M"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("appears again after other series"))
        .stderr(predicate::str::contains("sort('series', 'timestamp')"));
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml", "--memory", "1G"])
        .assert()
        .success();
}

/// A long Parquet file of four series of 10,000 one-minute rows (40,000 rows: more than a 1 MiB
/// budget holds), in row groups of 1,000 rows; `interleaved`: the series' rows take turns,
/// otherwise each series' rows come together. `flag` adds an `is_anomaly` column: row `i`'s flag.
fn write_four_series_parquet(path: &Path, interleaved: bool, flag: Option<fn(usize) -> i64>) {
    let n = 40_000usize;
    // Row `i`'s series and minute.
    let place = |i: usize| {
        if interleaved {
            (i % 4, i / 4)
        } else {
            (i / 10_000, i % 10_000)
        }
    };
    let ts: Vec<i64> = (0..n)
        .map(|i| 1_767_225_600_000 + place(i).1 as i64 * 60_000)
        .collect();
    let names: Vec<String> = (0..n).map(|i| format!("svc{}", place(i).0)).collect();
    let values: Vec<f64> = (0..n).map(|i| (i % 97) as f64).collect();
    let flags = flag.map(|flag| (0..n).map(flag).collect());
    write_long_parquet(path, ts, names, values, flags);
}

/// A long-layout Parquet file (`timestamp`, `series`, `value`, and `is_anomaly` when `flags` are
/// given) in row groups of 1,000 rows.
fn write_long_parquet(
    path: &Path,
    timestamps: Vec<i64>,
    names: Vec<String>,
    values: Vec<f64>,
    flags: Option<Vec<i64>>,
) {
    use polars::prelude::*;
    let mut columns = vec![
        Series::new("timestamp".into(), timestamps)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
            .into_column(),
        Series::new("series".into(), names).into_column(),
        Series::new("value".into(), values).into_column(),
    ];
    if let Some(flags) = flags {
        columns.push(Series::new("is_anomaly".into(), flags).into_column());
    }
    let mut df = DataFrame::new_infer_height(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file)
        .with_row_group_size(Some(1000))
        .finish(&mut df)
        .unwrap();
}

/// A labelled dataset's per-row anomaly flag changes within a series; streamed, it neither splits
/// the series between batches nor names a series of its own (as read whole).
#[test]
fn a_per_row_anomaly_flag_streams_as_it_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("s.yaml"), SPEC.replace(", series: '-1'", "")).unwrap();
    // Flagged in runs of 700 rows.
    write_four_series_parquet(
        &p.join("fleet.parquet"),
        false,
        Some(|i| ((i / 700) % 2) as i64),
    );
    let whole = json(p, &["backtest", "--memory", "16G"]);
    let streamed = json(p, &["backtest", "--memory", "1M"]);
    assert!(whole == streamed, "streamed differs");
    let text = String::from_utf8(whole).unwrap();
    assert!(
        text.contains("svc3") && !text.contains("is_anomaly"),
        "four series, no flag label"
    );
}

/// Under an address-space limit of 700 MiB, a 1,000 × 20,160-point file (about 1.3 GB to replay
/// whole) runs streamed with `--memory 64M` and gives the unlimited run's bytes; read whole, it
/// cannot run at all.
#[test]
fn streaming_keeps_within_an_address_space_limit_the_whole_file_exceeds() {
    if Process::new("prlimit").arg("--version").output().is_err() {
        panic!("prlimit (util-linux) is needed for the memory test");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("s.yaml"), SPEC.replace(", series: '-1'", "")).unwrap();
    alertlab()
        .current_dir(p)
        .args([
            "synth",
            "--series",
            "1000",
            "--days",
            "14",
            "--row-group-rows",
            "100000",
        ])
        .args(["--out", "fleet.parquet"])
        .assert()
        .success();
    let unlimited = json(
        p,
        &["backtest", "--engine", "cloudwatch", "--memory", "64M"],
    );
    let limited = |memory: &str| {
        Process::new("prlimit")
            .arg(format!("--as={}", 700u64 << 20))
            .arg(env!("CARGO_BIN_EXE_alertlab"))
            .current_dir(p)
            .args([
                "backtest",
                "--spec",
                "s.yaml",
                "--format",
                "json",
                "--engine",
                "cloudwatch",
            ])
            .args(["--memory", memory])
            .output()
            .unwrap()
    };
    let streamed = limited("64M");
    assert!(
        streamed.status.success(),
        "streamed within 700 MiB: {}",
        String::from_utf8_lossy(&streamed.stderr)
    );
    assert!(streamed.stdout == unlimited, "same bytes under the limit");
    assert!(
        !limited("16G").status.success(),
        "the whole file does not fit in 700 MiB (else this test proves nothing)"
    );
}

/// Four series, two every minute and two every 5 minutes, each series' rows together, in row groups
/// of 1,000 rows: a streamed read's batches hold series of one step or the other.
fn write_mixed_step_parquet(path: &Path) {
    let per_series = 6_000usize;
    let (mut ts, mut names, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for s in 0..4usize {
        let step_ms = if s < 2 { 60_000 } else { 300_000 };
        for i in 0..per_series {
            ts.push(1_767_225_600_000 + i as i64 * step_ms);
            names.push(format!("svc{s}"));
            values.push(((i * (s + 3)) % 89) as f64 + if i % 1_500 < 20 { 400.0 } else { 0.0 });
        }
    }
    write_long_parquet(path, ts, names, values, None);
}

/// The default grid tries periods from the data's step over every series an alert reads: a batch
/// or a shard holding only the minutely series must try the same settings as the whole file (they
/// tried other periods, and the tallies could not be pooled: the streamed run failed).
#[test]
fn tuning_series_of_different_steps_streamed_or_sharded_is_the_whole_files_answer() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: mixed}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: F, name: m, stat: Average, period: 60}}
    condition: {anomaly: {model: seasonal, k: 3, direction: above}}
    backtest: {data: fleet.parquet}
",
    )
    .unwrap();
    write_mixed_step_parquet(&p.join("fleet.parquet"));
    let whole = json(p, &["tune", "--memory", "16G"]);
    // 1 MiB is about 16,000 points a batch: a batch holds two series or three.
    let streamed = json(p, &["tune", "--memory", "1M"]);
    assert!(whole == streamed, "streamed differs");
    let shards: Vec<std::path::PathBuf> = (1..=4)
        .map(|i| {
            let out = p.join(format!("shard{i}.json"));
            let shard = format!("{i}/4");
            let bytes = json(p, &["tune", "--shard", &shard]);
            std::fs::write(&out, bytes).unwrap();
            out
        })
        .collect();
    let merged = alertlab()
        .current_dir(p)
        .arg("merge")
        .args(&shards)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let figures = |bytes: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        (v["recommendations"].clone(), v["pareto"].clone())
    };
    assert_eq!(figures(&merged.stdout), figures(&whole));
    let tuned: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    let periods: std::collections::BTreeSet<String> = tuned["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["params"]["period"].as_i64().map(|v| v.to_string()))
        .collect();
    assert!(!periods.is_empty(), "the default grid varies the period");
}
