//! A pass over a Parquet file's footer and page headers before polars decodes it.
//!
//! polars trusts the counts a file declares: a page header saying `num_values: -207` becomes a
//! bitmap reservation of 2^61 bytes, and the allocator aborts the process — no panic to catch, no
//! error to report. A user's corrupt or hostile file must end in exit 2 with a message, so every
//! count polars sizes an allocation by is checked here first, with polars' own metadata and page
//! readers (no second Parquet implementation): counts are never negative, pages add up to their
//! column chunk, a flat column holds one value per row, and a file declares no more rows than its
//! bytes can plausibly encode.

use std::io::Cursor;

use polars_buffer::Buffer;
use polars_parquet::parquet::page::{CompressedPage, DataPageHeader};
use polars_parquet::parquet::read::{read_metadata, PageReader};

/// Rows per byte of file beyond which a file's declared row count is taken as corrupt: far above
/// what any real encoding reaches for timestamp/value/series data (a run-length encoded all-null
/// column is the densest case), far below the counts that make allocations fail.
const MAX_ROWS_PER_BYTE: u64 = 1024;

/// `Err(what is wrong)` when the counts declared by the file `bytes` cannot be trusted. polars'
/// thrift decoder panics on some malformed headers; that is a corrupt file too.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    crate::quiet_panics(|| {
        let meta = read_metadata(&mut Cursor::new(bytes)).map_err(|e| e.to_string())?;
        Buffer::with_slice(bytes, |buffer| {
            check_counts(&meta, bytes.len() as u64, |range| {
                Ok(buffer
                    .clone()
                    .sliced(range.start as usize..range.end as usize))
            })
        })
    })
    .unwrap_or_else(|_| Err("its metadata cannot be decoded".into()))
}

/// [`check`] of a file on disk, one column chunk in memory at a time: a multi-gigabyte fleet file
/// is never mapped whole (mapped pages would count in the process' memory).
pub fn check_file(file: &std::fs::File) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    crate::quiet_panics(|| {
        let meta = read_metadata(&mut std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
        check_counts(&meta, len, |range| {
            let mut chunk = vec![0u8; (range.end - range.start) as usize];
            file.read_exact_at(&mut chunk, range.start)
                .map_err(|e| e.to_string())?;
            Ok(Buffer::from_vec(chunk))
        })
    })
    .unwrap_or_else(|_| Err("its metadata cannot be decoded".into()))
}

/// The checks, over column chunks handed out by `chunk` (byte ranges inside the file, checked).
fn check_counts(
    meta: &polars_parquet::parquet::metadata::FileMetadata,
    file_len: u64,
    mut chunk: impl FnMut(std::ops::Range<u64>) -> Result<Buffer<u8>, String>,
) -> Result<(), String> {
    let declared: u64 = meta.row_groups.iter().map(|g| g.num_rows() as u64).sum();
    if declared > file_len.saturating_mul(MAX_ROWS_PER_BYTE) {
        return Err(format!(
            "the file declares {declared} rows in {file_len} bytes; it is corrupt"
        ));
    }
    for (g, group) in meta.row_groups.iter().enumerate() {
        for column in group.parquet_columns() {
            let name = &column.descriptor().path_in_schema.join(".");
            let whole = |what: String| format!("row group {g}, column `{name}`: {what}");
            let declared = column.num_values();
            let flat = column.descriptor().descriptor.max_rep_level == 0;
            if declared < 0 || (flat && declared as u64 != group.num_rows() as u64) {
                return Err(whole(format!(
                    "{declared} values for {} rows",
                    group.num_rows()
                )));
            }
            let range = column.byte_range();
            if range.start > range.end || range.end > file_len {
                return Err(whole("the column chunk lies outside the file".into()));
            }
            let bytes = chunk(range).map_err(whole)?;
            let pages = PageReader::new(Cursor::new(bytes), column, vec![], file_len as usize);
            let mut seen: i64 = 0;
            for page in pages {
                let page = page.map_err(|e| whole(e.to_string()))?;
                let CompressedPage::Data(page) = page else {
                    continue;
                };
                let (values, nulls, rows) = match page.header() {
                    DataPageHeader::V1(h) => (h.num_values, 0, 0),
                    DataPageHeader::V2(h) => (h.num_values, h.num_nulls, h.num_rows),
                };
                if values < 0 || nulls < 0 || rows < 0 || nulls > values {
                    return Err(whole(format!(
                        "a page declares {values} values ({nulls} null, {rows} rows)"
                    )));
                }
                seen += values as i64;
                if seen > declared {
                    return Err(whole(format!(
                        "its pages hold more values than the {declared} the chunk declares"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{write_series, OutputLayout, Series};

    fn parquet_of(rows: i64) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        let s = Series::from_sorted(
            "s",
            (0..rows).map(|i| i * 60_000).collect(),
            (0..rows).map(|i| i as f64).collect(),
        );
        write_series(&path, &[s], OutputLayout::Long).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_file_alertlab_writes_passes() {
        assert_eq!(check(&parquet_of(1000)), Ok(()));
    }

    #[test]
    fn a_row_group_whose_columns_disagree_with_its_row_count_is_refused() {
        // The row group's row count in the footer (thrift zigzag varint of 1000 = 2000, `d0 0f`)
        // lowered to 999: every flat column now declares more values than the group has rows.
        let bytes = parquet_of(1000);
        let n = bytes.len();
        let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
        let footer_start = n - 8 - footer_len;
        let mut bad = bytes.clone();
        let pos = footer_start
            + bad[footer_start..]
                .windows(2)
                .rposition(|w| w == [0xd0, 0x0f])
                .expect("the row group's row count");
        bad[pos..pos + 2].copy_from_slice(&[0xce, 0x0f]);
        let err = check(&bad).unwrap_err();
        assert!(err.contains("values for 999 rows"), "{err}");
    }
}
