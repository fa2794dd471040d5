//! Reading a Parquet file a batch of whole series at a time, so a fleet file larger than memory is
//! replayed with memory bounded by the batch (`alertlab backtest --memory`), not by the file.
//!
//! Long layout (`timestamp,value,series[,labels...]`): row groups are read in slices of about
//! `target_points` rows; the rows of the last series of a slice are carried into the next slice
//! (raw rows, so duplicates across the seam merge exactly as a whole-file load merges them), and
//! only complete series are handed out. Rows must be grouped by series (any order of series, any
//! order of time within one); a series seen again after others is an error naming the row and the
//! command that sorts the file. Wide layout (one column per series): batches of columns.
//!
//! Each batch is what [`super::load`] gives for the same series: same series, same values, same
//! order within the batch (first appearance), so results over batches equal results over the
//! whole file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use polars::prelude as pl;
use polars::prelude::DataType;

use super::error::LoadError;
use super::frame::stem_of;
use super::frame::{
    find_column, frame_to_series, is_flag_column, RowNaming, TIMESTAMP_COLUMNS, VALUE_COLUMN,
};
use super::parquet::{checked_input, layout, read_frame, Part};
use super::source::Source;
use super::Series;

/// Batches of whole series of one Parquet file.
pub struct SeriesBatches {
    path: PathBuf,
    shape: Shape,
    /// Series handed out so far (name and labels), to notice a file not grouped by series.
    finished: HashSet<String>,
    /// Rows (long) or points (wide) per batch, about.
    target_points: usize,
    /// Total rows of the file (for progress).
    pub total_rows: usize,
    /// Rows read so far.
    pub rows_read: usize,
}

enum Shape {
    Long {
        /// Row range of each row group.
        groups: Vec<(usize, usize)>,
        next_group: usize,
        /// The columns that identify a series (series name and labels).
        key_columns: Vec<String>,
        /// Rows of a series not yet complete, and the file row of the first of them.
        carry: Option<(pl::DataFrame, usize)>,
    },
    Wide {
        timestamp: String,
        columns: Vec<String>,
        next_column: usize,
    },
    Done,
}

/// Open `path` (a Parquet file) for reading in batches of about `target_points` points.
pub fn parquet_batches(path: &Path, target_points: usize) -> Result<SeriesBatches, LoadError> {
    let input = checked_input(path, Source::File(path.to_path_buf()))?;
    let (group_rows, columns) = layout(path, input)?;
    let total_rows: usize = group_rows.iter().sum();
    let timestamp = find_column(&columns, TIMESTAMP_COLUMNS).cloned();
    let shape = match (timestamp, find_column(&columns, &[VALUE_COLUMN])) {
        (Some(ts), Some(value)) => {
            let mut start = 0;
            let groups = group_rows
                .iter()
                .map(|&n| {
                    start += n;
                    (start - n, n)
                })
                .collect();
            let value = value.clone();
            Shape::Long {
                groups,
                next_group: 0,
                key_columns: columns
                    .iter()
                    .filter(|c| **c != ts && **c != value)
                    .cloned()
                    .collect(),
                carry: None,
            }
        }
        (Some(ts), None) => Shape::Wide {
            columns: columns.iter().filter(|c| **c != ts).cloned().collect(),
            timestamp: ts,
            next_column: 0,
        },
        // No timestamp column: one whole read gives the loader's own message.
        (None, _) => {
            let input = checked_input(path, Source::File(path.to_path_buf()))?;
            let df = read_frame(path, input, Part::default())?;
            frame_to_series(path, &df, RowNaming::ParquetRow(0), stem_of(path))?;
            Shape::Done
        }
    };
    Ok(SeriesBatches {
        path: path.to_path_buf(),
        shape,
        finished: HashSet::new(),
        target_points: target_points.max(1),
        total_rows,
        rows_read: 0,
    })
}

/// A series' identity across batches: its name and labels.
fn identity(s: &Series) -> String {
    format!("{}\u{0}{:?}", s.name, s.labels)
}

/// Where the trailing run of rows with the last row's key starts. A per-row anomaly flag among the
/// columns is not part of the key, as `frame_to_series` reads the same rows.
fn trailing_run_start(
    df: &pl::DataFrame,
    key_columns: &[String],
) -> Result<usize, pl::PolarsError> {
    let key_columns: Vec<&String> = key_columns
        .iter()
        .filter(|c| !is_flag_column(df, c))
        .collect();
    let n = df.height();
    if n == 0 || key_columns.is_empty() {
        return Ok(if key_columns.is_empty() { 0 } else { n });
    }
    let keys: Vec<pl::Column> = key_columns
        .iter()
        .map(|c| df.column(c)?.cast(&DataType::String))
        .collect::<Result<_, _>>()?;
    let cells: Vec<&pl::StringChunked> = keys.iter().map(|c| c.str()).collect::<Result<_, _>>()?;
    let at = |row: usize| -> Vec<Option<&str>> { cells.iter().map(|c| c.get(row)).collect() };
    let last = at(n - 1);
    let mut start = n - 1;
    while start > 0 && at(start - 1) == last {
        start -= 1;
    }
    Ok(start)
}

impl SeriesBatches {
    fn polars(&self, e: pl::PolarsError) -> LoadError {
        LoadError::Parquet {
            path: self.path.clone(),
            message: e.to_string().lines().next().unwrap_or("").to_string(),
        }
    }

    fn read(&self, part: Part) -> Result<pl::DataFrame, LoadError> {
        let file = std::fs::File::open(&self.path).map_err(|source| LoadError::Io {
            path: self.path.clone(),
            source,
        })?;
        read_frame(&self.path, Box::new(file), part)
    }

    /// The series of `df` (whose first row is file row `offset`), complete and not seen before.
    fn convert(&mut self, df: &pl::DataFrame, offset: usize) -> Result<Vec<Series>, LoadError> {
        let stem = stem_of(&self.path).to_string();
        let series = frame_to_series(&self.path, df, RowNaming::ParquetRow(offset), &stem)?;
        self.complete(series, offset)
    }

    /// Hand out `series` (complete), checking none was handed out before.
    fn complete(
        &mut self,
        series: Vec<Series>,
        first_row: usize,
    ) -> Result<Vec<Series>, LoadError> {
        for s in &series {
            if !self.finished.insert(identity(s)) {
                return Err(LoadError::NotGrouped {
                    path: self.path.clone(),
                    row: first_row + 1,
                    series: s.name.clone(),
                });
            }
        }
        Ok(series)
    }

    fn next_long(&mut self) -> Option<Result<Vec<Series>, LoadError>> {
        loop {
            let Shape::Long {
                groups,
                next_group,
                key_columns,
                carry,
            } = &mut self.shape
            else {
                return None;
            };
            if *next_group >= groups.len() {
                // The end: what is carried is complete.
                let (df, offset) = carry.take()?;
                self.shape = Shape::Done;
                return Some(self.convert(&df, offset));
            }
            // Row groups up to about the target, at least one.
            let first = *next_group;
            let (offset, mut len) = groups[first];
            let mut last = first + 1;
            while last < groups.len() && len + groups[last].1 <= self.target_points {
                len += groups[last].1;
                last += 1;
            }
            *next_group = last;
            let at_end = last >= groups.len();
            let key_columns = key_columns.clone();
            let previous = carry.take();
            let slice = match self.read(Part {
                rows: Some((offset, len)),
                columns: None,
            }) {
                Ok(df) => df,
                Err(e) => return Some(Err(e)),
            };
            self.rows_read += len;
            let (mut df, df_offset) = match previous {
                Some((mut carried, carried_offset)) => {
                    if let Err(e) = carried.vstack_mut(&slice) {
                        return Some(Err(self.polars(e)));
                    }
                    (carried, carried_offset)
                }
                None => (slice, offset),
            };
            let split = if at_end {
                df.height()
            } else {
                match trailing_run_start(&df, &key_columns) {
                    Ok(s) => s,
                    Err(e) => return Some(Err(self.polars(e))),
                }
            };
            if split < df.height() {
                let tail = df.slice(split as i64, df.height() - split);
                df = df.slice(0, split);
                let Shape::Long { carry, .. } = &mut self.shape else {
                    unreachable!("the shape is long")
                };
                *carry = Some((tail, df_offset + split));
            } else if at_end {
                self.shape = Shape::Done;
            }
            if df.height() == 0 {
                // One series longer than the batch: keep reading.
                continue;
            }
            return Some(self.convert(&df, df_offset));
        }
    }

    fn next_wide(&mut self) -> Option<Result<Vec<Series>, LoadError>> {
        let total_rows = self.total_rows;
        let target = self.target_points;
        let Shape::Wide {
            timestamp,
            columns,
            next_column,
        } = &mut self.shape
        else {
            return None;
        };
        if *next_column >= columns.len() {
            self.shape = Shape::Done;
            return None;
        }
        let per_batch = (target / total_rows.max(1)).max(1);
        let end = (*next_column + per_batch).min(columns.len());
        let mut wanted = vec![timestamp.clone()];
        wanted.extend_from_slice(&columns[*next_column..end]);
        *next_column = end;
        let read_share = end as f64 / columns.len().max(1) as f64;
        let part = Part {
            rows: None,
            columns: Some(wanted),
        };
        let df = match self.read(part) {
            Ok(df) => df,
            Err(e) => return Some(Err(e)),
        };
        self.rows_read = (total_rows as f64 * read_share) as usize;
        Some(self.convert(&df, 0))
    }
}

impl Iterator for SeriesBatches {
    type Item = Result<Vec<Series>, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let out = match self.shape {
            Shape::Long { .. } => self.next_long(),
            Shape::Wide { .. } => self.next_wide(),
            Shape::Done => None,
        };
        if matches!(out, Some(Err(_))) {
            self.shape = Shape::Done;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{IntoColumn, NamedFrom, TimeUnit};

    /// A long file with `rows_per_group`-row row groups: series `s0..s{n}` in turn, each with a
    /// label, missing values, a duplicated timestamp and rows out of time order.
    fn long_file(dir: &Path, n: usize, points: i64, rows_per_group: usize) -> PathBuf {
        let (mut ts, mut names, mut hosts, mut values) = (vec![], vec![], vec![], vec![]);
        for s in 0..n {
            for i in 0..points {
                // Rows 3 and 4 swapped in time; the last point duplicated.
                let t = match i {
                    3 => 4,
                    4 => 3,
                    _ => i,
                };
                ts.push(1_700_000_000_000 + t * 60_000);
                names.push(format!("s{s}"));
                hosts.push(format!("h{}", s % 3));
                values.push(if (i + s as i64) % 7 == 0 {
                    None
                } else {
                    Some((i * (s as i64 + 1)) as f64)
                });
            }
            ts.push(1_700_000_000_000 + (points - 1) * 60_000);
            names.push(format!("s{s}"));
            hosts.push(format!("h{}", s % 3));
            values.push(Some(1000.0));
        }
        let cols = vec![
            pl::Series::new("timestamp".into(), ts)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap()
                .into_column(),
            pl::Series::new("series".into(), names).into_column(),
            pl::Series::new("host".into(), hosts).into_column(),
            pl::Series::new("value".into(), values).into_column(),
        ];
        write(dir, "long.parquet", cols, rows_per_group)
    }

    fn write(dir: &Path, name: &str, cols: Vec<pl::Column>, rows_per_group: usize) -> PathBuf {
        let mut df = pl::DataFrame::new_infer_height(cols).unwrap();
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        pl::ParquetWriter::new(file)
            .with_row_group_size(Some(rows_per_group))
            .finish(&mut df)
            .unwrap();
        path
    }

    /// Equal series (NaN equal to NaN: missing values are NaN), without printing megabytes on failure.
    fn same(a: &[Series], b: &[Series]) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    fn streamed(path: &Path, target: usize) -> Vec<Vec<Series>> {
        parquet_batches(path, target)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    #[test]
    fn long_batches_are_the_whole_load_cut_between_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = long_file(dir.path(), 9, 50, 37);
        let whole = super::super::load(&path, None).unwrap();
        for target in [1, 37, 100, 160, 10_000] {
            let batches = streamed(&path, target);
            let flat: Vec<Series> = batches.iter().flatten().cloned().collect();
            assert!(
                same(&flat, &whole),
                "target {target}: batches differ from the whole load"
            );
            if target <= 100 {
                assert!(
                    batches.len() >= 4,
                    "target {target}: {} batches",
                    batches.len()
                );
            }
        }
    }

    #[test]
    fn wide_batches_are_column_groups() {
        let dir = tempfile::tempdir().unwrap();
        let ts: Vec<i64> = (0..40).map(|i| 1_700_000_000_000 + i * 60_000).collect();
        let mut cols = vec![pl::Series::new("timestamp".into(), ts)
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
            .into_column()];
        for c in 0..7 {
            let v: Vec<Option<f64>> = (0..40)
                .map(|i| (i % 5 != c % 5).then_some((i * c) as f64))
                .collect();
            cols.push(pl::Series::new(format!("svc{c}").as_str().into(), v).into_column());
        }
        let path = write(dir.path(), "wide.parquet", cols, 16);
        let whole = super::super::load(&path, None).unwrap();
        let batches = streamed(&path, 80);
        assert_eq!(batches.len(), 4, "two columns of 40 rows per batch");
        let flat: Vec<Series> = batches.into_iter().flatten().collect();
        assert!(same(&flat, &whole), "batches differ from the whole load");
    }

    #[test]
    fn a_file_not_grouped_by_series_is_refused_with_the_row_and_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let ts: Vec<i64> = (0..60)
            .map(|i| 1_700_000_000_000 + (i / 3) * 60_000)
            .collect();
        let names: Vec<String> = (0..60).map(|i| format!("s{}", i % 3)).collect();
        let values: Vec<f64> = (0..60).map(|i| i as f64).collect();
        let cols = vec![
            pl::Series::new("timestamp".into(), ts)
                .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                .unwrap()
                .into_column(),
            pl::Series::new("series".into(), names).into_column(),
            pl::Series::new("value".into(), values).into_column(),
        ];
        let path = write(dir.path(), "mixed.parquet", cols, 10);
        let err = parquet_batches(&path, 10)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears again after other series"), "{err}");
        assert!(err.contains("sort('series', 'timestamp')"), "{err}");
    }
}
