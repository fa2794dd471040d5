//! Parquet loading through polars (same layouts as CSV; typed columns are used as they are).

use std::path::Path;

use polars::prelude as pl;
use polars::prelude::SerReader;

use super::error::LoadError;
use super::frame::{frame_to_series, RowNaming};
use super::Series;

pub fn load(path: &Path) -> Result<Vec<Series>, LoadError> {
    let file = std::fs::File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    // polars may panic on some malformed files; a user's bad file must never crash us.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pl::ParquetReader::new(file).finish()
    }));
    let df = match read {
        Ok(Ok(df)) => df,
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
