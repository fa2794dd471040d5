//! CSV loading through polars. Every cell is read as text and parsed here, so that a bad cell is
//! reported with its line and column instead of silently turning a column into strings.

use std::path::Path;

use polars::prelude as pl;
use polars::prelude::{NullValues, SerReader};

use super::error::LoadError;
use super::frame::{frame_to_series, stem_of, RowNaming};
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
    let read = match &source {
        Source::File(p) => options
            .try_into_reader_with_file_path(Some(p.clone()))
            .and_then(|r| r.finish()),
        Source::Bytes(b) => options
            .into_reader_with_file_handle(std::io::Cursor::new(b.as_slice()))
            .finish(),
    };
    let df = read.map_err(|e| LoadError::Csv {
        path: path.to_path_buf(),
        // polars names neither line nor column; find them in the text (only when it failed).
        message: diagnose(&source_bytes(&source), separator)
            .unwrap_or_else(|| first_line(&e.to_string())),
    })?;
    if let Some(repeated) = repeated_column(&df) {
        return Err(LoadError::Csv {
            path: path.to_path_buf(),
            message: format!("line 1: column `{repeated}` appears twice in the header"),
        });
    }
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
    frame_to_series(path, &df, RowNaming::CsvLine, stem_of(path))
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}

/// The file's bytes again, to explain a failed read (an unreadable file explains nothing more).
fn source_bytes(source: &Source) -> std::borrow::Cow<'_, [u8]> {
    match source {
        Source::File(p) => std::borrow::Cow::Owned(std::fs::read(p).unwrap_or_default()),
        Source::Bytes(b) => std::borrow::Cow::Borrowed(b),
    }
}

/// Where a CSV that polars refused goes wrong: the first byte that is not UTF-8, or the first
/// record with more fields than the header, with its line.
fn diagnose(bytes: &[u8], separator: u8) -> Option<String> {
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        return Some(format!(
            "line {line}: not UTF-8 text (byte {} of the file)\nhint: save it as UTF-8 CSV",
            e.valid_up_to() + 1
        ));
    }
    let mut records = records(bytes, separator);
    let (_, header_fields) = records.next()?;
    // A shorter record is read with empty cells, each then reported by its line; a longer one fails.
    records
        .find(|&(_, fields)| fields > header_fields)
        .map(|(line, fields)| {
            format!("line {line}: {fields} fields where the header has {header_fields}")
        })
}

/// Each record's first line and number of fields; a quoted field may hold separators and line
/// breaks. Blank lines are skipped: one empty field is never too many.
fn records(bytes: &[u8], separator: u8) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    let mut line = 1;
    std::iter::from_fn(move || loop {
        if pos >= bytes.len() {
            return None;
        }
        let (start_line, mut fields, mut quoted, mut empty) = (line, 1, false, true);
        while pos < bytes.len() {
            let b = bytes[pos];
            pos += 1;
            match b {
                b'"' => quoted = !quoted,
                b'\n' => {
                    line += 1;
                    if !quoted {
                        break;
                    }
                }
                b'\r' => continue,
                b if b == separator && !quoted => fields += 1,
                _ => {}
            }
            empty = false;
        }
        if !empty {
            return Some((start_line, fields));
        }
    })
}

/// A header naming a column twice, which polars reads as a second column `<name>_duplicated_0`.
fn repeated_column(df: &pl::DataFrame) -> Option<String> {
    df.get_column_names()
        .iter()
        .find_map(|n| n.as_str().split_once("_duplicated_").map(|(base, _)| base))
        .filter(|base| df.get_column_names().iter().any(|n| n.as_str() == *base))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnosis_names_the_line_of_a_ragged_record_or_a_bad_byte() {
        let ragged = b"timestamp,series,value\n1,\"a,b\",2\n\n2,a\n3,a,4,5\n";
        assert_eq!(
            diagnose(ragged, b','),
            Some("line 5: 4 fields where the header has 3".into())
        );
        let quoted_break = b"timestamp,series,value\n1,\"a\nb\",2\n2,a,3,4\n";
        assert_eq!(
            diagnose(quoted_break, b','),
            Some("line 4: 4 fields where the header has 3".into())
        );
        let crlf = b"timestamp,value\r\n1,2\r\n";
        assert_eq!(diagnose(crlf, b','), None);
        let binary = b"timestamp,value\n1,2\n3,\xff\n";
        assert!(diagnose(binary, b',')
            .unwrap()
            .starts_with("line 3: not UTF-8"));
    }
}
