//! Parquet loading through polars (same layouts as CSV; typed columns are used as they are).

use std::path::Path;

use polars::prelude as pl;
use polars::prelude::SerReader;

use super::error::LoadError;
use super::frame::{frame_to_series, stem_of, RowNaming};
use super::parquet_check;
use super::source::Source;
use super::Series;

pub fn load(path: &Path, source: Source) -> Result<Vec<Series>, LoadError> {
    let input = checked_input(path, source)?;
    let df = read_frame(path, input, Part::default())?;
    if df.height() == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    frame_to_series(path, &df, RowNaming::ParquetRow(0), stem_of(path))
}

/// The input for polars, after the counts polars sizes allocations by were checked
/// (`parquet_check`). A regular file is read in place (polars maps it); a stream was read into
/// memory.
pub(super) fn checked_input(
    path: &Path,
    source: Source,
) -> Result<Box<dyn polars::io::mmap::MmapBytesReader>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |message: String| LoadError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    match source {
        Source::File(p) => {
            let file = std::fs::File::open(p).map_err(io)?;
            if file.metadata().map_err(io)?.len() == 0 {
                return Err(LoadError::Empty {
                    path: path.to_path_buf(),
                });
            }
            parquet_check::check_file(&file).map_err(corrupt)?;
            Ok(Box::new(file))
        }
        Source::Bytes(b) if b.is_empty() => Err(LoadError::Empty {
            path: path.to_path_buf(),
        }),
        Source::Bytes(b) => {
            parquet_check::check(&b).map_err(corrupt)?;
            Ok(Box::new(std::io::Cursor::new(b)))
        }
    }
}

/// Which part of a file to read: rows `[offset, offset + len)` and some columns (all by default).
#[derive(Debug, Clone, Default)]
pub(super) struct Part {
    pub rows: Option<(usize, usize)>,
    pub columns: Option<Vec<String>>,
}

/// The row counts of the file's row groups and its column names (from the footer only).
pub(super) fn layout(
    path: &Path,
    input: Box<dyn polars::io::mmap::MmapBytesReader>,
) -> Result<(Vec<usize>, Vec<String>), LoadError> {
    let fail = |message: String| LoadError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let read = crate::quiet_panics(|| -> polars::prelude::PolarsResult<_> {
        let mut reader = pl::ParquetReader::new(input);
        let columns = reader
            .schema()?
            .iter_names()
            .map(|n| n.to_string())
            .collect();
        let groups = reader
            .get_metadata()?
            .row_groups
            .iter()
            .map(|g| g.num_rows())
            .collect();
        Ok((groups, columns))
    });
    match read {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(fail(e.to_string().lines().next().unwrap_or("").to_string())),
        Err(_) => Err(fail("the reader failed on its content".into())),
    }
}

/// Read `part` of a checked input into a frame. polars may panic on some malformed files; a user's
/// bad file must never crash us (and its panic message is kept off the user's terminal: see
/// `quiet_panics`).
pub(super) fn read_frame(
    path: &Path,
    input: Box<dyn polars::io::mmap::MmapBytesReader>,
    part: Part,
) -> Result<pl::DataFrame, LoadError> {
    let read = crate::quiet_panics(|| {
        let mut reader = pl::ParquetReader::new(input)
            .with_slice(part.rows)
            .with_columns(part.columns);
        let schema = reader.schema()?;
        if let Some(field) = schema.iter_values().find(|f| !readable(&f.dtype)) {
            return Ok(Err(LoadError::Parquet {
                path: path.to_path_buf(),
                message: format!(
                    "column `{}` has the type {:?}; alertlab reads numbers, text and timestamps (one value per cell)",
                    field.name, field.dtype
                ),
            }));
        }
        reader.finish().map(Ok)
    });
    match read {
        Ok(Ok(Ok(df))) => Ok(df),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(e)) => Err(LoadError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string().lines().next().unwrap_or("").to_string(),
        }),
        Err(_) => Err(LoadError::Parquet {
            path: path.to_path_buf(),
            message: "the reader failed on its content".into(),
        }),
    }
}

/// Column types the frame reader turns into series; nested and binary columns are refused before
/// any data is decoded.
fn readable(dtype: &polars::prelude::ArrowDataType) -> bool {
    use polars::prelude::ArrowDataType as T;
    !matches!(
        dtype,
        T::List(_)
            | T::LargeList(_)
            | T::FixedSizeList(_, _)
            | T::Struct(_)
            | T::Map(_, _)
            | T::Union(_)
            | T::Binary
            | T::LargeBinary
            | T::FixedSizeBinary(_)
            | T::BinaryView
            | T::Decimal(_, _)
            | T::Decimal32(_, _)
            | T::Decimal64(_, _)
            | T::Decimal256(_, _)
            | T::Extension(_)
    )
}
