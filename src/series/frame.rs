//! Turning a polars `DataFrame` (from CSV or Parquet) into series.
//!
//! Two layouts are accepted. **Long**: a `timestamp` column, a `value` column and optionally a
//! `series` column plus any other text columns, which become labels; each distinct (series, labels)
//! is one series. **Wide**: a `timestamp` column and one numeric column per series, named after it.
//! A file with a `value` column is long; any other file is wide.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use polars::prelude as pl;
use polars::prelude::{DataType, TimeUnit};
use rayon::prelude::*;

use super::error::LoadError;
use super::time::{epoch_number_to_ms, in_range, parse_timestamp};

/// How an out-of-range datetime cell is shown: its epoch milliseconds.
fn format_out_of_range(ms: i64) -> String {
    format!("{ms} ms since 1970 (outside 1970-01-01 to 9999-12-31)")
}
use super::{nan_sample, Series};

/// A number cell: a decimal, `NaN` or an infinity spelt out. A finite-looking number too large for
/// an `f64` (`1e400`, a thousand digits) is refused rather than read as infinity.
pub(crate) fn parse_value(text: &str) -> Option<f64> {
    let v: f64 = text.parse().ok()?;
    if v.is_infinite() {
        let word = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if word != "inf" && word != "infinity" {
            return None;
        }
    }
    Some(v)
}

/// A value read from a cell: a NaN there is a NaN sample, not a missing value.
fn literal_value(v: f64) -> f64 {
    if v.is_nan() {
        nan_sample()
    } else {
        v
    }
}

/// Header names accepted for the time column, in order of preference (`timestamps` is how Yahoo's
/// S5 benchmark heads it in its A3 and A4 sets).
pub const TIMESTAMP_COLUMNS: &[&str] =
    &["timestamp", "time", "ts", "date", "datetime", "timestamps"];
/// Header names accepted for the series-name column of the long layout.
pub const SERIES_COLUMNS: &[&str] = &["series", "name", "metric"];
/// The value column of the long layout.
pub const VALUE_COLUMN: &str = "value";
/// Per-row anomaly flags of labelled datasets (`timestamp,value,is_anomaly` as Yahoo's S5 benchmark
/// ships them, `timestamp,value,label` as the AIOps KPI data does): a numeric or boolean column so
/// named labels each row, so it is neither part of a series' identity nor a series of its own.
/// `--incidents` reads such a file as windows (`score::load_incidents`). A text column of that
/// name stays an ordinary label.
pub const ANOMALY_FLAG_COLUMNS: &[&str] = &["is_anomaly", "anomaly", "label"];

/// Whether `name` is a per-row anomaly flag of `df` ([`ANOMALY_FLAG_COLUMNS`]): so named, and
/// numeric, boolean, or text whose every cell is a flag (CSV columns are read as text).
pub(crate) fn is_flag_column(df: &pl::DataFrame, name: &str) -> bool {
    if !ANOMALY_FLAG_COLUMNS.iter().any(|f| is_named(name, f)) {
        return false;
    }
    let Ok(column) = df.column(name) else {
        return false;
    };
    let dtype = column.dtype();
    if dtype.is_primitive_numeric() || dtype.is_bool() {
        return true;
    }
    column.str().is_ok_and(|cells| {
        cells
            .iter()
            .all(|c| c.is_none_or(|c| parse_flag(c).is_some()))
    })
}

/// A per-row anomaly flag cell: `1`/`0`, `true`/`false` (any case), `1.0`/`0.0`; empty is no flag.
pub fn parse_flag(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "0.0" | "false" => Some(false),
        "1" | "1.0" | "true" => Some(true),
        _ => None,
    }
}

/// How a data row is named in messages: CSV rows by file line, Parquet rows by row number.
#[derive(Clone, Copy)]
pub enum RowNaming<'a> {
    /// Line = row index + 2 (the header is line 1).
    CsvLine,
    /// The line of each row, of a CSV whose blank lines were left out.
    CsvLines(&'a [usize]),
    /// Row = row index + 1 + the offset of the frame's first row in the file (frames read in
    /// slices name the file's rows).
    ParquetRow(usize),
}

impl RowNaming<'_> {
    fn name(self, row: usize) -> String {
        match self {
            RowNaming::CsvLine => format!("line {}", row + 2),
            RowNaming::CsvLines(lines) => format!("line {}", lines[row]),
            RowNaming::ParquetRow(offset) => format!("row {}", offset + row + 1),
        }
    }
}

pub(crate) fn find_column<'a>(names: &'a [String], wanted: &[&str]) -> Option<&'a String> {
    wanted
        .iter()
        .find_map(|w| names.iter().find(|n| is_named(n, w)))
}

/// The name of a long file's one series when it has no series column (with its labels, when it
/// has label columns): the file's stem. The incidents loader names a flagged file's series so too.
pub(crate) fn stem_of(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("series")
}

/// Whether column `name` is the one called `wanted`: spaces around it and case do not count.
pub(crate) fn is_named(name: &str, wanted: &str) -> bool {
    name.trim().eq_ignore_ascii_case(wanted)
}

/// Build series from a frame; `default_name` names the series of a long file without a series column.
pub fn frame_to_series(
    path: &Path,
    df: &pl::DataFrame,
    naming: RowNaming<'_>,
    default_name: &str,
) -> Result<Vec<Series>, LoadError> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let Some(ts_name) = find_column(&names, TIMESTAMP_COLUMNS) else {
        if let Some(first) = names.first() {
            if parse_timestamp(first).is_some() {
                return Err(LoadError::Csv {
                    path: path.to_path_buf(),
                    message: format!("missing header: the first line starts with `{first}`, which is data\nhint: add a header such as `timestamp,value`"),
                });
            }
        }
        return Err(LoadError::MissingTimestampColumn {
            path: path.to_path_buf(),
            header: names.join(","),
        });
    };
    if let Some(value_name) = find_column(&names, &[VALUE_COLUMN]) {
        // Two columns of millions of rows, each copied out of polars: one per thread.
        let (timestamps, values) = rayon::join(
            || timestamp_column(path, df, ts_name, naming),
            || value_column(path, df, value_name, naming),
        );
        let (timestamps, values) = (timestamps?, values?);
        let series_col = find_column(&names, SERIES_COLUMNS);
        let label_cols: Vec<&String> = names
            .iter()
            .filter(|n| *n != ts_name && *n != value_name && Some(*n) != series_col)
            .filter(|n| !is_flag_column(df, n))
            .collect();
        long_layout(
            path,
            df,
            &timestamps,
            &values,
            series_col,
            &label_cols,
            default_name,
        )
    } else {
        let timestamps = timestamp_column(path, df, ts_name, naming)?;
        let mut out = Vec::new();
        for name in names
            .iter()
            .filter(|n| *n != ts_name && !is_flag_column(df, n))
        {
            let values = value_column(path, df, name, naming)?;
            out.push(Series::from_columns(
                name.trim(),
                BTreeMap::new(),
                timestamps.clone(),
                values,
            ));
        }
        Ok(out)
    }
}

fn polars_err(path: &Path, e: pl::PolarsError) -> LoadError {
    LoadError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn timestamp_column(
    path: &Path,
    df: &pl::DataFrame,
    name: &str,
    naming: RowNaming<'_>,
) -> Result<Vec<i64>, LoadError> {
    let col = df.column(name).map_err(|e| polars_err(path, e))?;
    let bad = |row: usize, value: String| LoadError::BadTimestamp {
        path: path.to_path_buf(),
        at: naming.name(row),
        column: name.to_string(),
        value,
    };
    match col.dtype() {
        DataType::Datetime(unit, _) => {
            let divisor = match unit {
                TimeUnit::Nanoseconds => 1_000_000,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1,
            };
            // The physical integers as stored (no cast, which would copy the column once more).
            let ca = col.datetime().map_err(|e| polars_err(path, e))?.physical();
            if ca.null_count() == 0 {
                // No nulls: copy each chunk's buffer (one copy, no per-row branches).
                let mut out = Vec::with_capacity(ca.len());
                for arr in ca.downcast_iter() {
                    out.extend_from_slice(arr.values().as_slice());
                }
                if divisor != 1 {
                    out.iter_mut().for_each(|v| *v = v.div_euclid(divisor));
                }
                if let Some(row) = out.iter().position(|ms| !in_range(*ms)) {
                    return Err(bad(row, format_out_of_range(out[row])));
                }
                return Ok(out);
            }
            ca.iter()
                .enumerate()
                .map(|(row, v)| match v.map(|v| v.div_euclid(divisor)) {
                    Some(ms) if in_range(ms) => Ok(ms),
                    Some(ms) => Err(bad(row, format_out_of_range(ms))),
                    None => Err(bad(row, String::new())),
                })
                .collect()
        }
        dt if dt.is_primitive_numeric() => {
            let floats = col
                .cast(&DataType::Float64)
                .map_err(|e| polars_err(path, e))?;
            let ca = floats.f64().map_err(|e| polars_err(path, e))?;
            ca.iter()
                .enumerate()
                .map(|(row, v)| {
                    v.and_then(epoch_number_to_ms)
                        .ok_or_else(|| bad(row, v.map(|v| v.to_string()).unwrap_or_default()))
                })
                .collect()
        }
        _ => {
            let strings = col
                .cast(&DataType::String)
                .map_err(|e| polars_err(path, e))?;
            let ca = strings.str().map_err(|e| polars_err(path, e))?;
            let mut out = Vec::with_capacity(ca.len());
            let mut last: Option<(&str, i64)> = None;
            for (row, cell) in ca.iter().enumerate() {
                let cell = cell.unwrap_or("");
                let ms = match last {
                    Some((text, ms)) if text == cell => ms,
                    _ => parse_timestamp(cell).ok_or_else(|| bad(row, cell.to_string()))?,
                };
                last = Some((cell, ms));
                out.push(ms);
            }
            Ok(out)
        }
    }
}

fn value_column(
    path: &Path,
    df: &pl::DataFrame,
    name: &str,
    naming: RowNaming<'_>,
) -> Result<Vec<f64>, LoadError> {
    let col = df.column(name).map_err(|e| polars_err(path, e))?;
    if col.dtype().is_primitive_numeric() || col.dtype() == &DataType::Null {
        let floats = col
            .cast(&DataType::Float64)
            .map_err(|e| polars_err(path, e))?;
        let ca = floats.f64().map_err(|e| polars_err(path, e))?;
        // A null is a missing value; a NaN stored in the column is a NaN sample.
        if ca.null_count() == 0 {
            let mut out = Vec::with_capacity(ca.len());
            for arr in ca.downcast_iter() {
                out.extend_from_slice(arr.values().as_slice());
            }
            for v in out.iter_mut().filter(|v| v.is_nan()) {
                *v = nan_sample();
            }
            return Ok(out);
        }
        return Ok(ca
            .iter()
            .map(|v| v.map_or(f64::NAN, literal_value))
            .collect());
    }
    let strings = col
        .cast(&DataType::String)
        .map_err(|e| polars_err(path, e))?;
    let ca = strings.str().map_err(|e| polars_err(path, e))?;
    ca.iter()
        .enumerate()
        .map(|(row, cell)| match cell.map(str::trim) {
            None | Some("") => Ok(f64::NAN),
            Some(text) => parse_value(text)
                .map(literal_value)
                .ok_or_else(|| LoadError::BadValue {
                    path: path.to_path_buf(),
                    at: naming.name(row),
                    column: name.to_string(),
                    value: text.to_string(),
                }),
        })
        .collect()
}

/// A text column as polars holds it: categorical columns (what alertlab writes) stay categorical,
/// anything else is cast to strings.
fn string_column(path: &Path, df: &pl::DataFrame, name: &str) -> Result<pl::Series, LoadError> {
    let col = df.column(name).map_err(|e| polars_err(path, e))?;
    if matches!(col.dtype(), DataType::Categorical(_, _)) {
        return Ok(col.as_materialized_series().clone());
    }
    col.cast(&DataType::String)
        .map(|c| c.as_materialized_series().clone())
        .map_err(|e| polars_err(path, e))
}

/// The cells of a column from [`string_column`] as `&str`, without copying them.
type StrCells<'a> = Box<dyn Iterator<Item = Option<&'a str>> + 'a>;

fn str_cells<'a>(path: &Path, s: &'a pl::Series) -> Result<StrCells<'a>, LoadError> {
    let err = |e| polars_err(path, e);
    Ok(match s.dtype() {
        DataType::Categorical(_, _) => match s.dtype().to_physical() {
            DataType::UInt8 => Box::new(s.cat8().map_err(err)?.iter_str()),
            DataType::UInt16 => Box::new(s.cat16().map_err(err)?.iter_str()),
            _ => Box::new(s.cat32().map_err(err)?.iter_str()),
        },
        _ => Box::new(s.str().map_err(err)?.iter()),
    })
}

/// Groups of `len` rows keyed by the (series, labels) columns of `part`: the keys in order of
/// first appearance and the runs of consecutive rows of one key. Rows of one series are usually contiguous, so the
/// previous row's key is checked before the hash map.
fn group_rows<'a>(
    path: &Path,
    part: &'a (Option<pl::Series>, Vec<pl::Series>),
    len: usize,
) -> Result<(Vec<RowKey<'a>>, Vec<Run>), LoadError> {
    let mut series_iter = part.0.as_ref().map(|s| str_cells(path, s)).transpose()?;
    let mut label_iters: Vec<StrCells> = part
        .1
        .iter()
        .map(|s| str_cells(path, s))
        .collect::<Result<_, _>>()?;
    let mut index: HashMap<RowKey, u32> = HashMap::new();
    let mut keys: Vec<RowKey> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut previous: Option<u32> = None;
    let mut labels_now: Vec<Option<&str>> = Vec::with_capacity(label_iters.len());
    for row in 0..len {
        let name: &str = series_iter
            .as_mut()
            .and_then(|it| it.next().flatten())
            .unwrap_or("");
        labels_now.clear();
        labels_now.extend(label_iters.iter_mut().map(|it| it.next().flatten()));
        let group = match previous {
            Some(g) if keys[g as usize].0 == name && keys[g as usize].1 == labels_now => g,
            _ => {
                let key: RowKey = (name, labels_now.clone());
                *index.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    keys.len() as u32 - 1
                })
            }
        };
        match runs.last_mut() {
            Some(run) if run.group == group => run.end = row + 1,
            _ => runs.push(Run {
                group,
                start: row,
                end: row + 1,
            }),
        }
        previous = Some(group);
    }
    Ok((keys, runs))
}

/// Below this many rows, a file of one row per series is too small to tell a label from a
/// measurement.
const MEASUREMENT_MIN_ROWS: usize = 20;

/// The first label column that is a second measurement rather than a name: numbers in every cell,
/// more different ones than half the rows (`timestamp,value,count`; Yahoo S5's A3 `trend`, `noise`).
/// Read as a label it would make nearly every row a series of one point, silently.
fn measurement_as_label(
    path: &Path,
    columns: &[pl::Series],
    names: &[&String],
    rows: usize,
) -> Option<LoadError> {
    columns.iter().zip(names).find_map(|(column, name)| {
        let distinct = column.n_unique().ok()?;
        let numeric = || {
            str_cells(path, column).is_ok_and(|mut cells| {
                cells.all(|c| c.is_some_and(|c| c.trim().parse::<f64>().is_ok_and(f64::is_finite)))
            })
        };
        (distinct * 2 > rows && numeric()).then(|| LoadError::MeasurementColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            distinct,
            rows,
        })
    })
}

/// Consecutive rows `[start, end)` of one group.
#[derive(Clone, Copy)]
struct Run {
    group: u32,
    start: usize,
    end: usize,
}

/// A long-layout row's identity: series name and label values.
type RowKey<'a> = (&'a str, Vec<Option<&'a str>>);

fn long_layout(
    path: &Path,
    df: &pl::DataFrame,
    timestamps: &[i64],
    values: &[f64],
    series_col: Option<&String>,
    label_cols: &[&String],
    default_name: &str,
) -> Result<Vec<Series>, LoadError> {
    if series_col.is_none() && label_cols.is_empty() {
        let rows = timestamps
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect();
        return Ok(vec![Series::from_rows(default_name, BTreeMap::new(), rows)]);
    }
    let series_column = series_col
        .map(|name| string_column(path, df, name))
        .transpose()?;
    let label_columns: Vec<pl::Series> = label_cols
        .iter()
        .map(|c| string_column(path, df, c))
        .collect::<Result<_, _>>()?;
    // First pass: runs of rows of one group, in two halves on two threads; second: each group's
    // columns.
    let n = timestamps.len();
    let half = n / 2;
    let slice = |s: &pl::Series, from: usize, len: usize| s.slice(from as i64, len);
    let parts: Vec<(Option<pl::Series>, Vec<pl::Series>)> = [(0, half), (half, n - half)]
        .iter()
        .map(|&(from, len)| {
            (
                series_column.as_ref().map(|s| slice(s, from, len)),
                label_columns.iter().map(|s| slice(s, from, len)).collect(),
            )
        })
        .collect();
    let (first, second) = rayon::join(
        || group_rows(path, &parts[0], half),
        || group_rows(path, &parts[1], n - half),
    );
    let (mut keys, mut runs) = first?;
    let (second_keys, second_runs) = second?;
    // Merge: the second half's keys map onto the first half's (first appearance order is kept).
    let mut index: HashMap<RowKey, u32> = keys
        .iter()
        .cloned()
        .enumerate()
        .map(|(g, k)| (k, g as u32))
        .collect();
    let remap: Vec<u32> = second_keys
        .into_iter()
        .map(|k| {
            *index.entry(k.clone()).or_insert_with(|| {
                keys.push(k);
                keys.len() as u32 - 1
            })
        })
        .collect();
    runs.extend(second_runs.into_iter().map(|r| Run {
        group: remap[r.group as usize],
        start: r.start + half,
        end: r.end + half,
    }));
    // Checked only when series are that many (a column per row is no label): no cost otherwise.
    if n >= MEASUREMENT_MIN_ROWS && keys.len() * 2 > n {
        if let Some(e) = measurement_as_label(path, &label_columns, label_cols, n) {
            return Err(e);
        }
    }
    // Each group's runs, in row order; rows of one series usually come in long runs, each copied
    // as a slice, at the group's exact size (no reallocation of multi-million-row vectors), groups
    // on every thread (the copies are mostly first touches of fresh pages).
    let mut runs_of: Vec<Vec<Run>> = vec![Vec::new(); keys.len()];
    for r in runs {
        runs_of[r.group as usize].push(r);
    }
    let groups: Vec<(RowKey, Vec<Run>)> = keys.into_iter().zip(runs_of).collect();
    Ok(groups
        .into_par_iter()
        .map(|((name, label_values), runs)| {
            let rows: usize = runs.iter().map(|r| r.end - r.start).sum();
            let (mut ts, mut vs) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
            for r in &runs {
                ts.extend_from_slice(&timestamps[r.start..r.end]);
                vs.extend_from_slice(&values[r.start..r.end]);
            }
            let labels: BTreeMap<String, String> = label_cols
                .iter()
                .zip(label_values)
                .filter_map(|(k, v)| v.map(|v| (k.trim().to_string(), v.to_string())))
                .collect();
            let name = if name.is_empty() {
                super::selector_name(default_name, &labels)
            } else {
                name.to_string()
            };
            Series::from_columns(name, labels, ts, vs)
        })
        .collect())
}
