//! Writing series to CSV or Parquet (atomically), in the long layout the loaders read back:
//! `timestamp,series,value` (RFC 3339 UTC timestamps in CSV, millisecond datetimes in Parquet).

use std::io::Write;
use std::path::Path;

use polars::prelude as pl;
use polars::prelude::{DataType, IntoColumn, NamedFrom, TimeUnit};

use super::time::format_rfc3339;
use super::Series;
use crate::fsutil::write_atomic;

/// How series are laid out in a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLayout {
    /// One row per (timestamp, series): `timestamp,series,value`.
    Long,
    /// One row per timestamp, one column per series (series must share timestamps).
    Wide,
}

/// Write to `path`; the format follows the extension (`.csv` or `.parquet`).
pub fn write_series(path: &Path, series: &[Series], layout: OutputLayout) -> std::io::Result<()> {
    write_series_with(path, series, layout, None)
}

/// [`write_series`] with Parquet row groups of `row_group_rows` rows (polars' default when `None`):
/// smaller groups let a streamed read (`--memory`) take smaller bites.
pub fn write_series_with(
    path: &Path,
    series: &[Series],
    layout: OutputLayout,
    row_group_rows: Option<usize>,
) -> std::io::Result<()> {
    match layout {
        OutputLayout::Long => {
            write_long_batches(path, row_group_rows, std::iter::once(Ok(series.to_vec())))
        }
        OutputLayout::Wide => write_whole(path, series, layout),
    }
}

/// A long-layout file written a batch of series at a time (a fleet larger than memory): CSV rows
/// or Parquet row groups, atomically. A batch that fails to come stops the write.
pub fn write_long_batches(
    path: &Path,
    row_group_rows: Option<usize>,
    batches: impl Iterator<Item = std::io::Result<Vec<Series>>>,
) -> std::io::Result<()> {
    match extension(path).as_str() {
        "csv" => write_atomic(path, |w| {
            writeln!(w, "timestamp,series,value")?;
            for batch in batches {
                write_csv_long_rows(w, &batch?)?;
            }
            Ok(())
        }),
        "parquet" | "pq" => write_atomic(path, |w| {
            let rows = row_group_rows.unwrap_or(512 * 512).max(1);
            let mut batches = batches;
            let first = match batches.next() {
                Some(batch) => long_frame(&batch?)?,
                None => long_frame(&[])?,
            };
            let mut out = pl::ParquetWriter::new(w)
                .batched(first.schema())
                .map_err(to_io)?;
            let mut write = |df: &pl::DataFrame| -> std::io::Result<()> {
                let mut start = 0;
                while start < df.height() {
                    let len = rows.min(df.height() - start);
                    out.write_batch(&df.slice(start as i64, len))
                        .map_err(to_io)?;
                    start += len;
                }
                Ok(())
            };
            write(&first)?;
            for batch in batches {
                write(&long_frame(&batch?)?)?;
            }
            out.finish().map(|_| ()).map_err(to_io)
        }),
        _ => Err(unknown_extension(path)),
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn unknown_extension(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("`{}`: output must end in .csv or .parquet", path.display()),
    )
}

/// The wide layout, which needs every series at once.
fn write_whole(path: &Path, series: &[Series], layout: OutputLayout) -> std::io::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => write_atomic(path, |w| write_csv(w, series, layout)),
        "parquet" | "pq" => write_atomic(path, |w| write_parquet(w, series, layout)),
        _ => Err(unknown_extension(path)),
    }
}

/// Shortest decimal that reads back as the same f64; empty for NaN.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn check_wide(series: &[Series]) -> std::io::Result<()> {
    if series
        .windows(2)
        .any(|w| w[0].timestamps != w[1].timestamps)
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the wide layout needs series with identical timestamps",
        ));
    }
    Ok(())
}

fn write_csv(w: &mut dyn Write, series: &[Series], layout: OutputLayout) -> std::io::Result<()> {
    match layout {
        OutputLayout::Long => {
            writeln!(w, "timestamp,series,value")?;
            write_csv_long_rows(w, series)?;
        }
        OutputLayout::Wide => {
            check_wide(series)?;
            let header: Vec<String> = series.iter().map(|s| csv_field(&s.name)).collect();
            writeln!(w, "timestamp,{}", header.join(","))?;
            if let Some(first) = series.first() {
                for (i, t) in first.timestamps.iter().enumerate() {
                    let cells: Vec<String> =
                        series.iter().map(|s| format_value(s.values[i])).collect();
                    writeln!(w, "{},{}", format_rfc3339(*t), cells.join(","))?;
                }
            }
        }
    }
    Ok(())
}

/// The rows of `series` in the long CSV layout (no header).
fn write_csv_long_rows(w: &mut dyn Write, series: &[Series]) -> std::io::Result<()> {
    for s in series {
        let name = csv_field(&s.name);
        let samples = s.samples();
        for (i, (t, v)) in s.timestamps.iter().zip(&s.values).enumerate() {
            // A NaN sample reads back as a sample; an empty cell as a missing value.
            let cell = if v.is_nan() && samples.is_sample(i) {
                "NaN".to_string()
            } else {
                format_value(*v)
            };
            writeln!(w, "{},{},{}", format_rfc3339(*t), name, cell)?;
        }
    }
    Ok(())
}

/// Quote a CSV field when it needs it.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn to_io(e: pl::PolarsError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn datetime_column(name: &str, ms: Vec<i64>) -> std::io::Result<pl::Column> {
    pl::Series::new(name.into(), ms)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .map(|s| s.into_column())
        .map_err(to_io)
}

/// `timestamp,series,value` columns of `series` (missing values as nulls).
fn long_frame(series: &[Series]) -> std::io::Result<pl::DataFrame> {
    let total: usize = series.iter().map(|s| s.len()).sum();
    let (mut ts, mut names, mut values) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for s in series {
        ts.extend_from_slice(&s.timestamps);
        names.extend(std::iter::repeat_n(s.name.as_str(), s.len()));
        values.extend(
            s.values
                .iter()
                .map(|v| if v.is_nan() { None } else { Some(*v) }),
        );
    }
    let cols = vec![
        datetime_column("timestamp", ts)?,
        pl::Series::new("series".into(), names).into_column(),
        pl::Series::new("value".into(), values).into_column(),
    ];
    pl::DataFrame::new_infer_height(cols).map_err(to_io)
}

fn write_parquet(
    w: &mut dyn Write,
    series: &[Series],
    layout: OutputLayout,
) -> std::io::Result<()> {
    let mut df = match layout {
        OutputLayout::Long => long_frame(series)?,
        OutputLayout::Wide => {
            check_wide(series)?;
            let mut cols = vec![datetime_column(
                "timestamp",
                series
                    .first()
                    .map(|s| s.timestamps.clone())
                    .unwrap_or_default(),
            )?];
            for s in series {
                let values: Vec<Option<f64>> = s
                    .values
                    .iter()
                    .map(|v| if v.is_nan() { None } else { Some(*v) })
                    .collect();
                cols.push(pl::Series::new(s.name.as_str().into(), values).into_column());
            }
            pl::DataFrame::new_infer_height(cols).map_err(to_io)?
        }
    };
    pl::ParquetWriter::new(w).finish(&mut df).map_err(to_io)?;
    Ok(())
}
