//! Parquet loading through polars (same layouts as CSV; typed columns are used as they are).

use std::path::Path;

use polars::prelude as pl;
use polars::prelude::SerReader;

use super::error::LoadError;
use super::frame::{frame_to_series, RowNaming};
use super::parquet_check;
use super::source::Source;
use super::Series;

pub fn load(path: &Path, source: Source) -> Result<Vec<Series>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |message: String| LoadError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    // A regular file is read in place (polars maps it); a stream was read into memory. Either way
    // the counts polars sizes allocations by are checked first (`parquet_check`).
    let input: Box<dyn polars::io::mmap::MmapBytesReader> = match source {
        Source::File(p) => {
            let file = std::fs::File::open(p).map_err(io)?;
            if file.metadata().map_err(io)?.len() == 0 {
                return Err(LoadError::Empty {
                    path: path.to_path_buf(),
                });
            }
            // SAFETY: the map is read-only and dropped before polars reads the file; a file
            // truncated meanwhile by another process is the one hazard, as for polars' own map.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            parquet_check::check(&map).map_err(corrupt)?;
            drop(map);
            Box::new(file)
        }
        Source::Bytes(b) if b.is_empty() => {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            })
        }
        Source::Bytes(b) => {
            parquet_check::check(&b).map_err(corrupt)?;
            Box::new(std::io::Cursor::new(b))
        }
    };
    // polars may panic on some malformed files; a user's bad file must never crash us (and its
    // panic message is kept off the user's terminal: see `quiet_panics`).
    let read = crate::quiet_panics(|| {
        let mut reader = pl::ParquetReader::new(input);
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
    let df = match read {
        Ok(Ok(Ok(df))) => df,
        Ok(Ok(Err(e))) => return Err(e),
        Ok(Err(e)) => {
            return Err(LoadError::Parquet {
                path: path.to_path_buf(),
                message: e.to_string().lines().next().unwrap_or("").to_string(),
            })
        }
        Err(_) => {
            return Err(LoadError::Parquet {
                path: path.to_path_buf(),
                message: "the reader failed on its content".into(),
            })
        }
    };
    if df.height() == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("series");
    frame_to_series(path, &df, RowNaming::ParquetRow, stem)
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
