//! Loading every supported format, round trips, the shared NAB data, and bad input.

use std::path::{Path, PathBuf};

use alertlab::series::time::parse_timestamp;
use alertlab::series::{self, inspect, write_series, Format, OutputLayout};
use alertlab::synth::{generate, SynthOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(name)
}

fn ts(text: &str) -> i64 {
    parse_timestamp(text).unwrap()
}

#[test]
fn cloudwatch_get_metric_data_pages_are_joined_and_sorted() {
    let s = series::load(&fixture("cloudwatch_get_metric_data.json"), None).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].name, "ConcurrentExecutions");
    assert_eq!(s[0].labels["id"], "m1");
    assert_eq!(
        s[0].timestamps,
        (0..5)
            .map(|i| ts("2024-05-01T10:00:00Z") + i * 300_000)
            .collect::<Vec<_>>()
    );
    assert_eq!(s[0].values, vec![10.0, 20.0, 30.0, 40.0, 50.0]);
    assert!(s[0].stats.unsorted, "CloudWatch returns newest first");
    assert_eq!(s[1].labels["id"], "ad1");
}

#[test]
fn cloudwatch_get_metric_statistics_gives_one_series_per_statistic() {
    let s = series::load(&fixture("cloudwatch_get_metric_statistics.json"), None).unwrap();
    let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["CPUUtilization:Average", "CPUUtilization:Maximum"]
    );
    assert_eq!(s[1].values, vec![4.0, 9.0]);
}

#[test]
fn prometheus_query_range_values_and_special_floats() {
    let s = series::load(&fixture("prometheus_query_range.json"), None).unwrap();
    assert_eq!(
        s[0].name,
        r#"aws_lambda_concurrent_executions_maximum{env="dev"}"#
    );
    assert_eq!(
        s[0].timestamps,
        vec![
            1_714_557_600_000,
            1_714_557_660_500,
            1_714_557_720_000,
            1_714_557_780_000
        ]
    );
    assert_eq!(s[0].values[0], 10.0);
    assert!(s[0].values[1].is_nan());
    assert_eq!(s[0].values[2], f64::INFINITY);
    assert_eq!(s[0].values[3], 12.25);
    assert_eq!(s[1].labels["env"], "prod");
}

#[test]
fn csv_wide_long_and_epoch_layouts() {
    let wide = series::load(&fixture("wide.csv"), None).unwrap();
    assert_eq!(
        wide.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        vec!["dev", "prod"]
    );
    assert!(
        wide[0].values[1].is_nan(),
        "an empty cell is a missing datapoint"
    );
    assert_eq!(wide[0].stats.empty_values, 1);
    let long = series::load(&fixture("long_labels.csv"), None).unwrap();
    assert_eq!(long.len(), 2, "one series per (series, region)");
    let eu = long
        .iter()
        .find(|s| s.labels["region"] == "eu-west-1")
        .unwrap();
    assert_eq!(
        eu.values,
        vec![2.0, 2.0],
        "sorted; the duplicate 10:00 rows averaged (1 and 3)"
    );
    assert_eq!(eu.stats.duplicate_rows, 1);
    let epoch = series::load(&fixture("epoch_ms.csv"), None).unwrap();
    assert_eq!(
        epoch[0].timestamps,
        vec![1_714_557_600_000, 1_714_557_660_000]
    );
}

#[test]
fn synth_csv_parquet_round_trip_is_lossless() {
    let dir = tempfile::tempdir().unwrap();
    let original = generate(&SynthOptions {
        series: 3,
        days: 2.0,
        step_s: 60,
        missing_rate: 0.01,
        ..SynthOptions::default()
    });
    let csv = dir.path().join("a.csv");
    write_series(&csv, &original, OutputLayout::Long).unwrap();
    let from_csv = series::load(&csv, None).unwrap();
    let parquet = dir.path().join("b.parquet");
    write_series(&parquet, &from_csv, OutputLayout::Long).unwrap();
    let from_parquet = series::load(&parquet, None).unwrap();
    let wide = dir.path().join("c.parquet");
    write_series(&wide, &from_parquet, OutputLayout::Wide).unwrap();
    let from_wide = series::load(&wide, None).unwrap();
    for loaded in [&from_csv, &from_parquet, &from_wide] {
        assert_eq!(loaded.len(), original.len());
        for (a, b) in original.iter().zip(loaded.iter()) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.timestamps, b.timestamps);
            assert_eq!(a.values.len(), b.values.len());
            for (x, y) in a.values.iter().zip(&b.values) {
                assert!(
                    x.total_cmp(y).is_eq() || (x.is_nan() && y.is_nan()),
                    "{x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn every_nab_file_loads_and_inspect_finds_the_known_duplicates_and_gaps() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/nab/realAWSCloudwatch");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("data/nab is bundled with the repository") {
        let path = entry.unwrap().path();
        let s = series::load(&path, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.len(), 1);
        let r = inspect(&s[0]);
        let stem = path.file_stem().unwrap().to_str().unwrap();
        match stem {
            "ec2_disk_write_bytes_1ef3de" | "ec2_network_in_5abac7" => {
                assert_eq!(r.duplicate_timestamps, 11, "{stem}");
                assert!(
                    r.largest_gap_s.unwrap() >= 3000.0 && r.largest_gap_s.unwrap() <= 4200.0,
                    "{stem}: ~1 h gap, got {:?}",
                    r.largest_gap_s
                );
                assert_eq!(r.rows, 4730);
            }
            "ec2_cpu_utilization_825cc2"
            | "ec2_cpu_utilization_ac20cd"
            | "ec2_network_in_257a54"
            | "elb_request_count_8c0756"
            | "rds_cpu_utilization_cc0c53" => {
                assert!(r.gaps >= 1, "{stem} has gaps");
                assert!(r.largest_gap_s.unwrap() <= 1200.0, "{stem}: 10–20 min gaps");
                assert_eq!(r.duplicate_timestamps, 0);
            }
            _ => assert_eq!((r.gaps, r.duplicate_timestamps), (0, 0), "{stem}"),
        }
        assert_eq!(r.median_step_s, Some(300.0));
        files += 1;
    }
    assert_eq!(files, 17);
}

fn load_err(path: &Path, format: Option<Format>) -> String {
    series::load(path, format)
        .expect_err(&format!("{} must fail", path.display()))
        .to_string()
}

#[test]
fn bad_inputs_name_the_file_row_and_expectation() {
    let cases: &[(&str, &[&str])] = &[
        ("empty.csv", &["is empty"]),
        ("no_header.csv", &["missing header", "2024-05-01 10:00:00"]),
        (
            "bad_timestamp.csv",
            &[
                "line 3",
                "column `timestamp`",
                "`yesterday` is not a timestamp",
            ],
        ),
        (
            "bad_value.csv",
            &["line 4", "column `value`", "`lots` is not a number"],
        ),
        ("unknown_format.xlsx", &["unknown format", "xlsx"]),
        ("wrong_shape.json", &["expected", "MetricDataResults"]),
        ("wrong_type.json", &["line 1", "expected"]),
        // Cut short: no key tells the shape, so the JSON's own error tells what is wrong.
        (
            "cut_short.json",
            &["line 1", "expected JSON (EOF while parsing"],
        ),
        (
            "prometheus_error_answer.json",
            &["not a Prometheus error answer (`bad_data`: 1:5: parse error"],
        ),
        ("truncated.parquet", &["not a readable Parquet file"]),
        // Found by the fuzzer (20k cases): polars sized a bitmap by this count and the process
        // aborted on a 2^61-byte allocation.
        (
            "negative_page_count.parquet",
            &[
                "not a readable Parquet file",
                "column `timestamp`",
                "-207 values",
            ],
        ),
    ];
    for (file, parts) in cases {
        let path = fixture(&format!("bad/{file}"));
        let msg = load_err(&path, None);
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        for part in *parts {
            assert!(msg.contains(part), "{file}: expected `{part}` in `{msg}`");
        }
    }
}

#[test]
fn a_parquet_file_cut_short_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.parquet");
    write_series(
        &whole,
        &generate(&SynthOptions {
            days: 1.0,
            ..SynthOptions::default()
        }),
        OutputLayout::Long,
    )
    .unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 3, 10] {
        let path = dir.path().join(format!("cut{cut}.parquet"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(load_err(&path, None).contains("not a readable Parquet file"));
    }
}

#[test]
fn interleaved_long_rows_group_by_series_and_labels_across_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("interleaved.csv");
    let mut text = String::from("timestamp,series,region,value\n");
    for i in 0..50 {
        let t = format!("2024-05-01T10:{i:02}:00Z");
        text.push_str(&format!(
            "{t},a,eu,{i}\n{t},b,eu,{}\n{t},a,us,{}\n",
            100 + i,
            200 + i
        ));
    }
    std::fs::write(&path, text).unwrap();
    let loaded = series::load(&path, None).unwrap();
    let names: Vec<(String, String)> = loaded
        .iter()
        .map(|s| (s.name.clone(), s.labels["region"].clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("a".into(), "eu".into()),
            ("b".into(), "eu".into()),
            ("a".into(), "us".into())
        ],
        "first-appearance order"
    );
    for (s, base) in loaded.iter().zip([0.0, 100.0, 200.0]) {
        assert_eq!(s.len(), 50);
        assert_eq!(
            s.values,
            (0..50).map(|i| base + i as f64).collect::<Vec<_>>()
        );
        assert!(s.timestamps.windows(2).all(|w| w[1] - w[0] == 60_000));
    }
}

/// A literal NaN is a sample and an empty cell a missing value, from CSV and Prometheus JSON, and
/// the long CSV writer keeps them apart when it writes the series back.
#[test]
fn literal_nan_is_a_sample_and_round_trips_through_csv() {
    use alertlab::series::{load, write_series, OutputLayout};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("n.csv");
    std::fs::write(
        &csv,
        "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,NaN\n2024-01-01T00:02:00Z,\n2024-01-01T00:03:00Z,+Inf\n",
    )
    .unwrap();
    let s = &load(&csv, None).unwrap()[0];
    assert_eq!(s.nan_samples, vec![1]);
    assert!(s.values[2].is_nan() && !s.samples().is_sample(2));
    assert_eq!(s.values[3], f64::INFINITY);
    assert_eq!(s.stats.empty_values, 1);
    let back = dir.path().join("back.csv");
    write_series(&back, std::slice::from_ref(s), OutputLayout::Long).unwrap();
    let again = &load(&back, None).unwrap()[0];
    assert_eq!(again.nan_samples, vec![1]);
    let json = dir.path().join("p.json");
    std::fs::write(
        &json,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[1704067200,"1"],[1704067260,"NaN"],[1704067320,"+Inf"]]}]}}"#,
    )
    .unwrap();
    let p = &load(&json, None).unwrap()[0];
    assert_eq!(p.nan_samples, vec![1]);
    assert_eq!(p.values[2], f64::INFINITY);
}
