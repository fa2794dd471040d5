//! Results of a run too large to hold: each result is written to a temporary file as it is made
//! (one compact JSON record), only its sort key and position stay in memory, and the report is read
//! back in the order one in-memory run sorts it — so the output is the same bytes either way.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use crate::backtest::BacktestResult;

/// What orders results: alert, env, engine, series (as `backtest::run` sorts).
type Key = (String, String, &'static str, String);

pub struct Spill {
    file: BufWriter<File>,
    index: Vec<(Key, u64, u32)>,
    written: u64,
}

impl Spill {
    /// A spill file in the system's temporary folder, removed when the process ends.
    pub fn new() -> std::io::Result<Spill> {
        Ok(Spill {
            file: BufWriter::new(tempfile::tempfile()?),
            index: Vec::new(),
            written: 0,
        })
    }

    pub fn push(&mut self, r: &BacktestResult) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(r)?;
        self.file.write_all(&bytes)?;
        let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
        self.index.push((
            (r.alert.clone(), r.env.clone(), r.engine, r.series.clone()),
            self.written,
            len,
        ));
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// The results in report order.
    pub fn sorted(mut self) -> std::io::Result<SortedResults> {
        self.file.flush()?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        self.index.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(SortedResults {
            file,
            index: self.index,
        })
    }
}

pub struct SortedResults {
    file: File,
    index: Vec<(Key, u64, u32)>,
}

impl SortedResults {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Each result's JSON, in order.
    pub fn iter(&self) -> impl Iterator<Item = std::io::Result<serde_json::Value>> + '_ {
        self.index.iter().map(|(_, offset, len)| {
            let mut buf = vec![0u8; *len as usize];
            self.file.read_exact_at(&mut buf, *offset)?;
            Ok(serde_json::from_slice(&buf)?)
        })
    }

    /// The report as `serde_json::to_string_pretty(&Report)` writes it (plus a newline), written
    /// to `w` one result at a time.
    pub fn write_pretty(&self, w: &mut dyn Write) -> std::io::Result<()> {
        if self.is_empty() {
            return w.write_all(b"{\n  \"results\": []\n}\n");
        }
        w.write_all(b"{\n  \"results\": [\n")?;
        for (i, value) in self.iter().enumerate() {
            if i > 0 {
                w.write_all(b",\n")?;
            }
            // A result nested two levels deep: its own pretty form, every line indented by four.
            let text = serde_json::to_string_pretty(&value?)?;
            for (j, line) in text.lines().enumerate() {
                if j > 0 {
                    w.write_all(b"\n")?;
                }
                w.write_all(b"    ")?;
                w.write_all(line.as_bytes())?;
            }
        }
        w.write_all(b"\n  ]\n}\n")
    }
}
