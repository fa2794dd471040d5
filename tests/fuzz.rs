//! Bounded fuzzing of every parser that reads user files: the data loaders (CSV, Prometheus and
//! CloudWatch JSON, Parquet), the spec loader and the incidents loader. Each target gets arbitrary
//! bytes and mutations of a real file (bytes flipped, inserted, deleted; hostile tokens spliced in:
//! huge numbers, far-away times, NaN, separators, unicode). A parser may refuse its input but never
//! panic; a crash proptest finds is shrunk and kept in `tests/fuzz.proptest-regressions`, so it stays
//! a regression test. The run is bounded (cases per target below); the whole file takes seconds.
//!
//! An abort (an allocation failure inside a dependency) kills the process before proptest can shrink
//! or save the case: set `ALERTLAB_FUZZ_LAST=FILE` and the Parquet target writes each case there
//! first, so the last one is the culprit (that is how `tests/fixtures/data/bad/
//! negative_page_count.parquet` was found, at 20,000 cases).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

/// Cases per target, from a fixed seed so that every run (and CI) tries the same inputs; raise it
/// locally with `ALERTLAB_FUZZ_CASES`.
fn cases() -> u32 {
    std::env::var("ALERTLAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_126),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn seed(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap()
}

/// Tokens that broke parsers before (see the bad-input corpus) or are likely to.
const HOSTILE: &[&str] = &[
    "1e300",
    "-9223372036854775808",
    "9223372036854775807",
    "1e400",
    "NaN",
    "-Inf",
    "0026-01-01T00:00:00Z",
    "9999-12-31T23:59:59+99:99",
    "\"",
    ",",
    "\n",
    "{{env}}",
    "\u{2028}",
    "\u{0}",
    ": [",
    "}",
    "-",
    "0",
    "999999999999999999999999999999",
];

/// A mutation of `base`: a few edits at random places.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    prop::collection::vec((0..len, 0u8..4, any::<u8>(), 0..HOSTILE.len()), 1..8).prop_map(
        move |edits| {
            let mut b = base.clone();
            for (at, kind, byte, token) in edits {
                let at = at.min(b.len());
                match kind {
                    0 if at < b.len() => b[at] = byte,
                    1 => b.insert(at, byte),
                    2 if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {
                        let t = HOSTILE[token].as_bytes();
                        b.splice(at..at, t.iter().copied());
                    }
                }
            }
            b
        },
    )
}

fn bytes_or_mutation(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        4 => mutated(base),
    ]
}

/// A tuned overlay of the bundled spec as `tune --write` writes one (the fuzzer's seed).
const OVERLAY: &str = "apiVersion: alertlab/v1
kind: TunedOverlay
spec:
  file: lambda.yaml
  fnv1a64: 824d1e589e770ac0
data:
- file: ../data/lambda_prod.csv
  fnv1a64: b398478115d7600d
tuned:
  lambda-concurrency-noisy:
    prod:
      budget_per_week: 1.0
      objective: recall
      data:
      - file: ../data/lambda_prod.csv
        fnv1a64: b398478115d7600d
alerts:
  lambda-concurrency-noisy:
    prod:
      evaluation:
        datapoints_to_alarm: 3
        evaluation_periods: 3
      condition:
        anomaly:
          k: 2.0
      metric:
        cloudwatch:
          period: 900
";

/// Write `bytes` as `name` in a fresh folder and run `f` on it.
fn with_file<T>(name: &str, bytes: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    f(&path)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_loader_never_panics(bytes in bytes_or_mutation(seed("tests/fixtures/data/long_labels.csv"))) {
        let _ = with_file("f.csv", &bytes, |p| alertlab::series::load(p, None));
    }

    #[test]
    fn nab_csv_loader_never_panics(bytes in mutated(seed("data/nab/realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv")[..4000].to_vec())) {
        let _ = with_file("f.csv", &bytes, |p| alertlab::series::load(p, None));
    }

    #[test]
    fn prometheus_json_loader_never_panics(bytes in bytes_or_mutation(seed("tests/fixtures/data/prometheus_query_range.json"))) {
        let _ = with_file("f.json", &bytes, |p| alertlab::series::load(p, None));
    }

    #[test]
    fn cloudwatch_json_loader_never_panics(bytes in bytes_or_mutation(seed("tests/fixtures/data/cloudwatch_get_metric_data.json"))) {
        let _ = with_file("f.json", &bytes, |p| alertlab::series::load(p, None));
    }

    #[test]
    fn parquet_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = with_file("f.parquet", &bytes, |p| alertlab::series::load(p, None));
    }

    #[test]
    fn spec_loader_never_panics(bytes in bytes_or_mutation(seed("alerts/lambda.yaml"))) {
        let _ = with_file("s.yaml", &bytes, alertlab::spec::load_file);
    }

    #[test]
    fn merged_spec_loader_never_panics(bytes in bytes_or_mutation(seed("tests/fixtures/spec/merge_keys.yaml"))) {
        let _ = with_file("s.yaml", &bytes, alertlab::spec::load_file);
    }

    #[test]
    fn incidents_loader_never_panics(bytes in bytes_or_mutation(seed("data/nab/labels/combined_windows.json")[..3000].to_vec())) {
        let _ = with_file("w.json", &bytes, alertlab::score::load_incidents);
    }

    #[test]
    fn point_labels_loader_never_panics(bytes in bytes_or_mutation(seed("data/nab/labels/combined_labels.json"))) {
        let _ = with_file("l.json", &bytes, alertlab::score::load_incidents);
    }

    #[test]
    fn incidents_csv_loader_never_panics(bytes in bytes_or_mutation(seed("data/lambda_prod.incidents.csv"))) {
        let _ = with_file("w.csv", &bytes, alertlab::score::load_incidents);
    }

    #[test]
    fn flagged_incidents_loader_never_panics(bytes in mutated(b"timestamp,value,is_anomaly\n2024-01-01T00:00:00Z,1,0\n2024-01-01T00:01:00Z,9,1\n2024-01-01T00:02:00Z,1,0\n".to_vec())) {
        let _ = with_file("w.csv", &bytes, alertlab::score::load_incidents);
    }

    /// A tuned overlay beside the bundled spec, mutated: loading the spec merges or refuses it, and
    /// `tune --no-tuned --write` (which does not read it first) rewrites it, never a panic.
    #[test]
    fn overlay_reader_and_writer_never_panic(bytes in bytes_or_mutation(OVERLAY.as_bytes().to_vec())) {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("lambda.yaml");
        std::fs::write(&spec, seed("alerts/lambda.yaml")).unwrap();
        std::fs::write(dir.path().join("lambda.tuned.yaml"), &bytes).unwrap();
        let _ = alertlab::spec::load_file(&spec);
        let tuned = alertlab::spec::overlay::Tuned {
            over: Some(serde_json::json!({"condition": {"anomaly": {"k": 3.0}}})),
            data: vec![spec.clone()],
        };
        let entries = std::collections::BTreeMap::from([(
            "lambda-concurrency-anomaly".to_string(),
            std::collections::BTreeMap::from([("prod".to_string(), tuned)]),
        )]);
        for replace in [false, true] {
            let _ = alertlab::spec::overlay::write(
                &spec,
                &entries,
                serde_json::json!({"budget_per_week": 1.0}),
                replace,
                &|alert, _| alert.starts_with("lambda"),
            );
        }
    }

    /// Shard outputs read back by `merge` (streamed, a result at a time), mutated: each is merged
    /// or refused, never a panic.
    #[test]
    fn merge_shard_reader_never_panics(bytes in bytes_or_mutation(seed("tests/fixtures/backtest/simple/expected.json"))) {
        let _ = with_file("shard.json", &bytes, |p| alertlab::fleet::shards::read(&[p.to_path_buf()]));
    }

    /// `tune --grid` flags and `--inject` lists: any text is a value or an error, never a panic.
    #[test]
    fn grid_and_inject_parsers_never_panic(
        flags in prop::collection::vec("(k|for|window|period|stat|evaluation_periods|x)(\\+?=)[-0-9a-z.,:]{0,12}|.{0,16}", 0..4),
        inject in "((spike|shift|drift|drop|variance|x):[-0-9a-z.]{0,6},?){0,4}|.{0,16}",
    ) {
        let _ = alertlab::tune::grid::parse_grid_flags(&flags);
        let _ = alertlab::inject::parse_list(&inject);
    }

    /// Annotation templates: any text either expands (for any value, NaN and infinities too) or
    /// is written escaped; and one made of the actions alertlab knows always parses.
    #[test]
    fn annotation_templates_never_panic(
        text in "([^{}]{0,6}|\\{\\{ ?(\\$value|\\.Value|\\$labels\\.[a-z_]{0,4}|humanize|\\||-){0,3} ?\\}\\}|\\{|\\}){0,6}",
        value in prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), -1e30f64..1e30],
    ) {
        use alertlab::emit::go_template::Template;
        if let Some(t) = Template::parse(&text) {
            let labels = std::collections::BTreeMap::from([("job".to_string(), "x".to_string())]);
            let _ = t.expand(&labels, value);
        }
        let _ = alertlab::emit::prometheus::escape_go_template(&text);
    }
}

/// A Parquet file that the loader reads, then mutated: the reader must refuse, not crash.
#[test]
fn mutated_parquet_never_panics() {
    use alertlab::series::{write_series, OutputLayout, Series};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let s = Series::from_sorted(
        "s",
        (0..200).map(|i| 1_704_067_200_000 + i * 60_000).collect(),
        (0..200).map(|i| i as f64).collect(),
    );
    write_series(&path, &[s], OutputLayout::Long).unwrap();
    let base = std::fs::read(&path).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(&mutated(base), |bytes| {
            if let Ok(p) = std::env::var("ALERTLAB_FUZZ_LAST") {
                std::fs::write(p, &bytes).unwrap();
            }
            let _ = with_file("f.parquet", &bytes, |p| alertlab::series::load(p, None));
            Ok(())
        })
        .unwrap();
}
