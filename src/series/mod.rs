//! Metric series: the in-memory model, loaders for every input format, resampling and inspection.
//!
//! A [`Series`] is UTC epoch-millisecond timestamps plus `f64` values where NaN means "no datapoint
//! at this time" — except at the indices listed in [`Series::nan_samples`], which are real samples
//! whose value is NaN. The two differ in Prometheus (a NaN sample makes the series present, and
//! poisons `*_over_time`; a missing one lets the lookback reach an older sample), so a literal `NaN`
//! in a file is kept apart from an empty cell. CloudWatch has no NaN datapoints (PutMetricData
//! rejects NaN and ±Inf), so its engine treats a NaN or infinite sample as no datapoint.
//!
//! Loaders normalise every format into that shape: rows sorted by time, duplicate timestamps merged
//! by the rule in [`merge_duplicates`], and what was found on the way kept in a [`LoadStats`] so
//! `alertlab inspect` can report it. Loaders hand a literal NaN to the constructors as
//! [`nan_sample`], a NaN with its own bit pattern; the constructors turn it into `nan_samples`.

mod cloudwatch_json;
mod csv;
mod error;
mod frame;
mod inspect;
mod parquet;
mod parquet_check;
mod prometheus_json;
mod resample;
pub mod rows;
mod source;
pub mod stream;
pub mod time;
mod write;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{line_of_offset, LoadError};
pub(crate) use frame::{is_named, stem_of};
pub use frame::{
    parse_flag, ANOMALY_FLAG_COLUMNS, SERIES_COLUMNS, TIMESTAMP_COLUMNS, VALUE_COLUMN,
};
pub use inspect::{inspect, SeriesReport};
/// Prometheus API responses (one or several JSON documents, e.g. the chunks of a long range) as
/// series; `path` names the source in messages.
pub use prometheus_json::load as from_prometheus_json;
pub use resample::{median_step_ms, period_count, resample, resample_span, Statistic, MAX_PERIODS};
pub use write::{
    csv_field, format_value, write_long_batches, write_series, write_series_with, OutputLayout,
};

/// One metric series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Display name: the `series` column, a CloudWatch label or a PromQL selector.
    pub name: String,
    /// Labels or dimensions, sorted by key.
    pub labels: BTreeMap<String, String>,
    /// UTC epoch milliseconds, strictly increasing.
    pub timestamps: Vec<i64>,
    /// One value per timestamp; NaN means "no datapoint" unless the index is in `nan_samples`.
    pub values: Vec<f64>,
    /// Sorted indices of samples whose value is NaN (a literal `NaN` in the input). Empty for most
    /// series.
    pub nan_samples: Vec<usize>,
    /// What the loader saw before normalising.
    pub stats: LoadStats,
}

/// Facts about the raw rows of one series, gathered while loading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadStats {
    /// Rows read for this series, including duplicates and empty cells.
    pub rows: usize,
    /// Timestamps that occurred more than once (each counted once per extra row).
    pub duplicate_rows: usize,
    /// Rows whose value cell was empty (kept as NaN).
    pub empty_values: usize,
    /// Whether the rows arrived out of time order (they are sorted on load).
    pub unsorted: bool,
}

impl Series {
    /// Build a series from rows in any order; sorts them and merges duplicate timestamps.
    pub fn from_rows(
        name: impl Into<String>,
        labels: BTreeMap<String, String>,
        mut rows: Vec<(i64, f64)>,
    ) -> Series {
        let raw_rows = rows.len();
        let empty_values = rows
            .iter()
            .filter(|(_, v)| v.is_nan() && !is_nan_sample(*v))
            .count();
        let unsorted = rows.windows(2).any(|w| w[1].0 < w[0].0);
        if unsorted {
            rows.sort_by_key(|&(t, _)| t);
        }
        let (timestamps, mut values, duplicate_rows) = merge_duplicates(&rows);
        let nan_samples = take_nan_samples(&mut values);
        Series {
            name: name.into(),
            labels,
            timestamps,
            values,
            nan_samples,
            stats: LoadStats {
                rows: raw_rows,
                duplicate_rows,
                empty_values,
                unsorted,
            },
        }
    }

    /// Like [`Series::from_rows`] for rows already split into columns: sorted, duplicate-free input
    /// (the usual case) is taken as it is, without copying.
    pub fn from_columns(
        name: impl Into<String>,
        labels: BTreeMap<String, String>,
        timestamps: Vec<i64>,
        values: Vec<f64>,
    ) -> Series {
        if timestamps.windows(2).all(|w| w[0] < w[1]) {
            let mut s = Series::from_sorted(name, timestamps, values);
            s.labels = labels;
            return s;
        }
        Series::from_rows(name, labels, timestamps.into_iter().zip(values).collect())
    }

    /// A series whose rows are known to be sorted and unique (synthetic data, resampling output).
    pub fn from_sorted(
        name: impl Into<String>,
        timestamps: Vec<i64>,
        mut values: Vec<f64>,
    ) -> Series {
        debug_assert_eq!(timestamps.len(), values.len());
        debug_assert!(timestamps.windows(2).all(|w| w[0] < w[1]));
        let rows = timestamps.len();
        let nan_samples = take_nan_samples(&mut values);
        let empty_values = values.iter().filter(|v| v.is_nan()).count() - nan_samples.len();
        Series {
            name: name.into(),
            labels: BTreeMap::new(),
            timestamps,
            values,
            nan_samples,
            stats: LoadStats {
                rows,
                empty_values,
                ..LoadStats::default()
            },
        }
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Number of real (non-NaN) datapoints.
    pub fn points(&self) -> usize {
        self.values.iter().filter(|v| !v.is_nan()).count()
    }

    /// The samples as Prometheus sees them (NaN samples included).
    pub fn samples(&self) -> Samples<'_> {
        Samples {
            timestamps: &self.timestamps,
            values: &self.values,
            nan_samples: &self.nan_samples,
        }
    }

    /// First and last row timestamps (missing rows included): the default evaluation span.
    pub fn row_span(&self) -> Option<(i64, i64)> {
        Some((*self.timestamps.first()?, *self.timestamps.last()?))
    }
}

/// Samples of one series as Prometheus stores them: index `i` is a sample when `values[i]` is a
/// number or `i` is in `nan_samples` (a NaN-valued sample); any other NaN is no sample.
#[derive(Debug, Clone, Copy)]
pub struct Samples<'a> {
    pub timestamps: &'a [i64],
    pub values: &'a [f64],
    /// Sorted indices of NaN-valued samples.
    pub nan_samples: &'a [usize],
}

impl<'a> Samples<'a> {
    /// Samples where every NaN is a missing value (no NaN-valued samples).
    pub fn plain(timestamps: &'a [i64], values: &'a [f64]) -> Samples<'a> {
        Samples {
            timestamps,
            values,
            nan_samples: &[],
        }
    }

    /// Whether index `i` holds a sample.
    pub fn is_sample(&self, i: usize) -> bool {
        !self.values[i].is_nan() || self.nan_samples.binary_search(&i).is_ok()
    }
}

/// The bit pattern loaders use for a literal NaN sample (a quiet NaN with a payload no arithmetic
/// produces), turned into [`Series::nan_samples`] by the constructors.
const NAN_SAMPLE_BITS: u64 = 0x7ff8_0000_0a1e_4a1b;

/// A literal NaN sample, as loaders hand it to [`Series`] constructors.
pub fn nan_sample() -> f64 {
    f64::from_bits(NAN_SAMPLE_BITS)
}

fn is_nan_sample(v: f64) -> bool {
    v.to_bits() == NAN_SAMPLE_BITS
}

/// The indices of [`nan_sample`] values, which become plain NaN.
fn take_nan_samples(values: &mut [f64]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, v) in values.iter_mut().enumerate() {
        if is_nan_sample(*v) {
            out.push(i);
            *v = f64::NAN;
        }
    }
    out
}

/// Duplicate timestamps are merged into one datapoint whose value is the mean of the duplicates'
/// real values (a NaN sample when only NaN samples and empty cells remain, NaN when all are empty). A duplicate is most often the same sample written twice by
/// an exporter retry, for which the mean is the sample itself; for genuinely different samples the
/// mean is what CloudWatch's `Average` of that minute would report. `inspect` counts them.
fn merge_duplicates(rows: &[(i64, f64)]) -> (Vec<i64>, Vec<f64>, usize) {
    let mut timestamps = Vec::with_capacity(rows.len());
    let mut values = Vec::with_capacity(rows.len());
    let mut duplicates = 0;
    let mut i = 0;
    while i < rows.len() {
        let t = rows[i].0;
        let mut j = i + 1;
        while j < rows.len() && rows[j].0 == t {
            j += 1;
        }
        let value = if j - i == 1 {
            rows[i].1
        } else {
            duplicates += j - i - 1;
            let real: Vec<f64> = rows[i..j]
                .iter()
                .map(|r| r.1)
                .filter(|v| !v.is_nan())
                .collect();
            if real.is_empty() {
                // A NaN sample among missing duplicates is still a sample.
                rows[i..j]
                    .iter()
                    .map(|r| r.1)
                    .find(|v| is_nan_sample(*v))
                    .unwrap_or(f64::NAN)
            } else {
                real.iter().sum::<f64>() / real.len() as f64
            }
        };
        timestamps.push(t);
        values.push(value);
        i = j;
    }
    (timestamps, values, duplicates)
}

/// Labels or dimensions of a series.
pub type Labels = BTreeMap<String, String>;

/// Collects rows of several series by name, in order of first appearance; used by the JSON loaders,
/// whose pages may repeat a series.
#[derive(Default)]
pub(crate) struct SeriesAssembler {
    order: Vec<String>,
    by_name: BTreeMap<String, (Labels, Vec<(i64, f64)>)>,
}

impl SeriesAssembler {
    /// The rows of series `name`, created with `labels` on first use.
    pub fn rows(
        &mut self,
        name: &str,
        labels: impl FnOnce() -> BTreeMap<String, String>,
    ) -> &mut Vec<(i64, f64)> {
        if !self.by_name.contains_key(name) {
            self.order.push(name.to_string());
            self.by_name
                .insert(name.to_string(), (labels(), Vec::new()));
        }
        &mut self.by_name.get_mut(name).expect("inserted above").1
    }

    pub fn finish(mut self) -> Vec<Series> {
        self.order
            .into_iter()
            .filter_map(|name| {
                self.by_name
                    .remove(&name)
                    .map(|(labels, rows)| Series::from_rows(name, labels, rows))
            })
            .collect()
    }
}

/// Input formats alertlab reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    /// `aws cloudwatch get-metric-data` or `get-metric-statistics` output.
    CloudWatchJson,
    /// Prometheus HTTP API `query_range` (or `query` matrix) output.
    PrometheusJson,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &[
        "csv",
        "parquet",
        "cloudwatch-json",
        "prometheus-json",
        "json",
    ];

    /// Parse a `--format` value; `json` means "detect which JSON from its content".
    pub fn from_name(name: &str) -> Option<Option<Format>> {
        match name {
            "csv" => Some(Some(Format::Csv)),
            "parquet" => Some(Some(Format::Parquet)),
            "cloudwatch-json" | "cloudwatch" => Some(Some(Format::CloudWatchJson)),
            "prometheus-json" | "prometheus" => Some(Some(Format::PrometheusJson)),
            "json" => Some(None),
            _ => None,
        }
    }
}

/// Load every series in `path`, detecting the format from the extension (and, for JSON, the content)
/// unless `format` says otherwise.
pub fn load(path: &Path, format: Option<Format>) -> Result<Vec<Series>, LoadError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(LoadError::NotAFile {
            path: path.to_path_buf(),
            what: "a directory",
        });
    }
    let format = match format {
        Some(f) => f,
        None => match ext.as_str() {
            "csv" | "tsv" | "txt" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "json" => return load_json_detect(path),
            _ => {
                return Err(LoadError::UnknownFormat {
                    path: path.to_path_buf(),
                    extension: ext,
                });
            }
        },
    };
    let source = source::open(path)?;
    let series = match format {
        Format::Csv => csv::load(path, source)?,
        Format::Parquet => parquet::load(path, source)?,
        Format::CloudWatchJson => cloudwatch_json::load(path, &read_text(path, source)?)?,
        Format::PrometheusJson => prometheus_json::load(path, &read_text(path, source)?)?,
    };
    if series.is_empty() {
        return Err(LoadError::NoSeries {
            path: path.to_path_buf(),
        });
    }
    Ok(series)
}

fn load_json_detect(path: &Path) -> Result<Vec<Series>, LoadError> {
    let text = read_text(path, source::open(path)?)?;
    // The whole text is searched: a key may come after any amount of other content.
    let series = if text.contains("\"MetricDataResults\"") || text.contains("\"Datapoints\"") {
        cloudwatch_json::load(path, &text)?
    } else if text.contains("\"resultType\"") || text.contains("\"result\"") {
        prometheus_json::load(path, &text)?
    } else {
        return Err(unknown_json(path, &text));
    };
    if series.is_empty() {
        return Err(LoadError::NoSeries {
            path: path.to_path_buf(),
        });
    }
    Ok(series)
}

/// Why `text` (JSON in neither CloudWatch's nor Prometheus's shape) cannot be read: not JSON at
/// all (a file cut short, say: serde_json's message and line), a Prometheus API error answer
/// (saved instead of the data: its own message), or another shape.
fn unknown_json(path: &Path, text: &str) -> LoadError {
    let shape = |line: usize, expected: String| LoadError::JsonShape {
        path: path.to_path_buf(),
        line,
        expected,
    };
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => return shape(e.line().max(1), format!("JSON ({e})")),
        Ok(value) => value,
    };
    if value["status"] == "error" {
        let said = |key: &str| value[key].as_str().unwrap_or("").to_string();
        return shape(
            1,
            format!(
                "metric data, not a Prometheus error answer (`{}`: {})",
                said("errorType"),
                said("error")
            ),
        );
    }
    shape(
        1,
        "CloudWatch `MetricDataResults`/`Datapoints` or Prometheus `data.result`".into(),
    )
}

fn read_text(path: &Path, source: source::Source) -> Result<String, LoadError> {
    let bytes = source.into_bytes(path)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|e| LoadError::JsonShape {
        path: path.to_path_buf(),
        line: 1,
        expected: format!(
            "UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Canonical PromQL-style name of a label set: `name{a="1",b="2"}`.
pub fn selector_name(name: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A per-row anomaly flag column (labelled datasets) is not a label; a text column of that
    /// name is.
    #[test]
    fn anomaly_flag_columns_are_not_labels_or_series() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            load(&path, None).unwrap()
        };
        let long = write(
            "yahoo.csv",
            "timestamp,value,is_anomaly\n2024-01-01T00:00:00Z,1,0\n2024-01-01T01:00:00Z,9,1\n2024-01-01T02:00:00Z,2,0\n",
        );
        assert_eq!(long.len(), 1);
        assert_eq!((long[0].name.as_str(), long[0].labels.len()), ("yahoo", 0));
        assert_eq!(long[0].values, vec![1.0, 9.0, 2.0]);
        let wide = write(
            "wide.csv",
            "timestamp,cpu,label\n2024-01-01T00:00:00Z,1,false\n2024-01-01T01:00:00Z,9,true\n",
        );
        assert_eq!(wide.len(), 1);
        assert_eq!(wide[0].name, "cpu");
        let text_label = write(
            "hosts.csv",
            "timestamp,value,label\n2024-01-01T00:00:00Z,1,web\n2024-01-01T00:00:00Z,2,db\n",
        );
        assert_eq!(text_label.len(), 2, "a text `label` column names series");
        let plural = write(
            "a3.csv",
            "timestamps,value,anomaly\n1416722400,1,0\n1416726000,9,1\n",
        );
        assert_eq!(
            plural[0].timestamps,
            vec![1_416_722_400_000, 1_416_726_000_000]
        );
        assert_eq!(
            plural[0].values,
            vec![1.0, 9.0],
            "headed `timestamps` as Yahoo's A3 is"
        );
    }

    /// A numeric column beside `value` whose numbers differ on most rows is a second measurement,
    /// not a label: read as one it would make every row a series of one point, so it is refused
    /// by name. Labels (text, or numbers that repeat), and small files, are read as before.
    #[test]
    fn a_measurement_beside_value_is_not_read_as_a_label() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, header: &str, row: &dyn Fn(usize) -> String, rows: usize| {
            let path = dir.path().join(name);
            let body: String = (0..rows).map(|i| row(i) + "\n").collect();
            std::fs::write(&path, format!("{header}\n{body}")).unwrap();
            load(&path, None)
        };
        let t = |i: usize| 1_700_000_000 + 60 * i;
        let e = file(
            "count.csv",
            "timestamp,value,count",
            &|i| format!("{},{},{}", t(i), i % 7, i * 37 % 101),
            40,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("column `count` holds 40 different numbers over 40 rows"),
            "{e}"
        );
        let yahoo_a3 = file(
            "a3.csv",
            "timestamps,value,anomaly,changepoint,trend",
            &|i| format!("{},{},0,0,{}.5", t(i), i % 5, i),
            40,
        )
        .unwrap_err()
        .to_string();
        assert!(yahoo_a3.contains("column `trend`"), "{yahoo_a3}");
        let hosts = file(
            "hosts.csv",
            "timestamp,value,host,port",
            &|i| format!("{},{},h{i},{}", t(0), i, 8000 + i % 2),
            40,
        )
        .unwrap();
        assert_eq!(
            hosts.len(),
            40,
            "text labels, one row per series, stay labels"
        );
        let small = file(
            "small.csv",
            "timestamp,value,count",
            &|i| format!("{},{},{}", t(i), i, i),
            5,
        )
        .unwrap();
        assert_eq!(small.len(), 5, "too few rows to tell");
    }

    #[test]
    fn rows_are_sorted_and_duplicates_averaged() {
        let s = Series::from_rows(
            "s",
            BTreeMap::new(),
            vec![(3, 1.0), (1, 2.0), (3, 3.0), (2, f64::NAN)],
        );
        assert_eq!(s.timestamps, vec![1, 2, 3]);
        assert_eq!(s.values[0], 2.0);
        assert!(s.values[1].is_nan());
        assert_eq!(s.values[2], 2.0);
        assert_eq!(
            s.stats,
            LoadStats {
                rows: 4,
                duplicate_rows: 1,
                empty_values: 1,
                unsorted: true
            }
        );
    }

    #[test]
    fn selector_names_are_promql() {
        let labels = BTreeMap::from([
            ("job".to_string(), "api".to_string()),
            ("env".to_string(), "dev".to_string()),
        ]);
        assert_eq!(selector_name("up", &labels), r#"up{env="dev",job="api"}"#);
    }
}
