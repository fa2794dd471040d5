//! Why a metric file could not be loaded, with the file, row and field to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is empty\nhint: a metric file needs a header and at least one row", path.display())]
    Empty { path: PathBuf },
    #[error("`{}` is empty\nhint: an incidents file is a CSV with a header `start,end[,series]` and a window per row, or NAB's JSON `{{\"<file>.csv\": [[start, end], ...]}}`", path.display())]
    EmptyIncidents { path: PathBuf },
    #[error("`{}` is {what}, not a metric file", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("`{}` holds no series", path.display())]
    NoSeries { path: PathBuf },
    #[error("`{}`: unknown format for extension `{extension}`\nhint: use .csv, .parquet or .json, or name the format: `--input-format csv|parquet|cloudwatch-json|prometheus-json` (`backtest.format` in a spec)", path.display())]
    UnknownFormat { path: PathBuf, extension: String },
    #[error("`{}`: no timestamp column; expected one named `timestamp` (or `time`, `ts`, `date`, `datetime`, `timestamps`) in the header `{header}`", path.display())]
    MissingTimestampColumn { path: PathBuf, header: String },
    #[error("`{}` {at}: column `{column}`: `{value}` is not a timestamp\nhint: use RFC 3339 (`2024-01-01T00:05:00Z`), `YYYY-MM-DD HH:MM:SS` (UTC) or epoch seconds/milliseconds", path.display())]
    BadTimestamp {
        path: PathBuf,
        at: String,
        column: String,
        value: String,
    },
    #[error("`{}` {at}: column `{column}`: `{value}` is not a number (leave the cell empty for \"no datapoint\")", path.display())]
    BadValue {
        path: PathBuf,
        at: String,
        column: String,
        value: String,
    },
    #[error("`{}`: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    /// A column beside `value` that the long layout would read as a label, whose numbers make
    /// nearly every row a series of its own: a second measurement, not a name.
    #[error("`{}`: column `{column}` holds {distinct} different numbers over {rows} rows: read as a label, nearly every row would be a series of its own\nhint: a label column names series (a host, a job); keep `timestamp`, `value` and such columns, or rename `value` to read every numeric column as a series of its own (the wide layout)", path.display())]
    MeasurementColumn {
        path: PathBuf,
        column: String,
        distinct: usize,
        rows: usize,
    },
    #[error("`{}`: series `{series}` has a time, {time}, where `--row-step` reads row numbers (whole numbers from 0, read as seconds before 2000)\nhint: `--row-step` is for files that number their rows instead of stamping them; drop it for this file", path.display())]
    NotRowNumbers {
        path: PathBuf,
        series: String,
        time: String,
    },
    #[error("`{}`: not a readable Parquet file ({message})\nhint: the file may be truncated or not Parquet at all", path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("`{}` row {row}: series `{series}` appears again after other series; streaming reads a file whose rows are grouped by series\nhint: sort it once, e.g. `python3 -c \"import polars as pl; pl.scan_parquet('{}').sort('series', 'timestamp').sink_parquet('sorted.parquet')\"`, or raise `--memory` above the file's size to load it whole", path.display(), path.display())]
    NotGrouped {
        path: PathBuf,
        row: usize,
        series: String,
    },
    #[error("`{}` line {line}: expected {expected}", path.display())]
    JsonShape {
        path: PathBuf,
        line: usize,
        expected: String,
    },
}

/// 1-based line of a byte offset in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
