//! CSV loading through polars. Every cell is read as text and parsed here, so that a bad cell is
//! reported with its line and column instead of silently turning a column into strings.

use std::path::Path;

use polars::prelude as pl;
use polars::prelude::{NullValues, SerReader};

use super::error::LoadError;
use super::frame::{frame_to_series, RowNaming};
use super::source::Source;
use super::Series;

pub fn load(path: &Path, source: Source) -> Result<Vec<Series>, LoadError> {
    let empty = match &source {
        Source::File(p) => {
            std::fs::metadata(p)
                .map_err(|e| LoadError::Io {
                    path: path.to_path_buf(),
                    source: e,
                })?
                .len()
                == 0
        }
        Source::Bytes(b) => b.is_empty(),
    };
    if empty {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let separator = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
    {
        b'\t'
    } else {
        b','
    };
    let parse = pl::CsvParseOptions::default()
        .with_separator(separator)
        .with_missing_is_null(true)
        .with_null_values(Some(NullValues::AllColumnsSingle("".into())));
    let options = pl::CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(parse);
    let read = match source {
        Source::File(p) => options
            .try_into_reader_with_file_path(Some(p))
            .and_then(|r| r.finish()),
        Source::Bytes(b) => options
            .into_reader_with_file_handle(std::io::Cursor::new(b))
            .finish(),
    };
    let df = read.map_err(|e| LoadError::Csv {
        path: path.to_path_buf(),
        message: first_line(&e.to_string()),
    })?;
    if df.width() == 0 || df.height() == 0 {
        if df.width() <= 1 && df.height() == 0 {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        return Err(LoadError::Csv {
            path: path.to_path_buf(),
            message: "a header but no data rows".into(),
        });
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("series");
    frame_to_series(path, &df, RowNaming::CsvLine, stem)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}
