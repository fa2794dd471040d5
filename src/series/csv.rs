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
    let (df, lines) = without_blank_rows(df).map_err(|e| LoadError::Csv {
        path: path.to_path_buf(),
        message: first_line(&e.to_string()),
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
    let naming = match &lines {
        Some(lines) => RowNaming::CsvLines(lines),
        None => RowNaming::CsvLine,
    };
    frame_to_series(path, &df, naming, stem_of(path))
}

/// `df` without its blank rows — lines with no text at all, or only separators, which polars
/// reads as rows of empty cells (a file's trailing blank line, a blank line between blocks) — and,
/// when there were any, the file line of each row left, for messages.
fn without_blank_rows(df: pl::DataFrame) -> pl::PolarsResult<(pl::DataFrame, Option<Vec<usize>>)> {
    let mut columns = df.columns().iter();
    let Some(first) = columns.next() else {
        return Ok((df, None));
    };
    let mut blank = first.is_null();
    for c in columns {
        blank = &blank & &c.is_null();
    }
    if !blank.any() {
        return Ok((df, None));
    }
    let lines = blank
        .iter()
        .enumerate()
        .filter(|(_, b)| *b != Some(true))
        .map(|(row, _)| row + 2)
        .collect();
    Ok((df.filter(&!&blank)?, Some(lines)))
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

    fn load_text(text: &str) -> Result<Vec<Series>, LoadError> {
        load(Path::new("m.csv"), Source::Bytes(text.as_bytes().to_vec()))
    }

    /// A trailing blank line (as editors and some exports leave), a blank line between blocks and
    /// a line of separators alone are no rows; a bad cell after them is named by its own line.
    #[test]
    fn blank_lines_are_no_rows_and_later_lines_keep_their_numbers() {
        let series = load_text("timestamp,value\n60,1\n\n120,2\n,\n180,3\n\n\n").unwrap();
        assert_eq!(series[0].timestamps, [60_000, 120_000, 180_000]);
        assert_eq!(series[0].values, [1.0, 2.0, 3.0]);
        let bad = load_text("timestamp,value\n60,1\n\n120,x\n").unwrap_err();
        assert!(bad.to_string().contains("line 4: column `value`"), "{bad}");
        let nothing = load_text("timestamp,value\n\n\n").unwrap_err();
        assert!(
            nothing.to_string().contains("a header but no data rows"),
            "{nothing}"
        );
    }
}
