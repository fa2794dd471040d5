//! Results of a run too large to hold: each result is written to a temporary file as it is made
//! (one compact JSON record), only its sort key and position stay in memory, and the report is read
//! back in the order one in-memory run sorts it — so the output is the same bytes either way.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

use crate::backtest::BacktestResult;

/// What orders results: alert, env, engine, series (as `backtest::run` sorts).
pub type Key = (String, String, String, String);

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
        let key = (
            r.alert.clone(),
            r.env.clone(),
            r.engine.to_string(),
            r.series.clone(),
        );
        self.push_record(key, &serde_json::to_vec(r)?)
    }

    /// A result already in JSON (a shard's, being merged) under its key.
    pub fn push_record(&mut self, key: Key, json: &[u8]) -> std::io::Result<()> {
        self.file.write_all(json)?;
        let len = u32::try_from(json.len()).map_err(std::io::Error::other)?;
        self.index.push((key, self.written, len));
        self.written += json.len() as u64;
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

    /// Each result's compact JSON, in order.
    pub fn records(&self) -> impl Iterator<Item = std::io::Result<Vec<u8>>> + '_ {
        self.index.iter().map(|(_, offset, len)| {
            let mut buf = vec![0u8; *len as usize];
            self.file.read_exact_at(&mut buf, *offset)?;
            Ok(buf)
        })
    }

    /// The report as `serde_json::to_string_pretty(&Report)` writes it (plus a newline), written
    /// to `w` one result at a time.
    pub fn write_pretty(&self, w: &mut dyn Write) -> std::io::Result<()> {
        if self.is_empty() {
            return w.write_all(b"{\n  \"results\": []\n}\n");
        }
        w.write_all(b"{\n  \"results\": [\n")?;
        let mut text = Vec::new();
        for (i, record) in self.records().enumerate() {
            if i > 0 {
                w.write_all(b",\n")?;
            }
            // A result nested two levels deep: its own pretty form, every line indented by four.
            text.clear();
            let record = record?;
            let mut from = serde_json::Deserializer::from_slice(&record);
            let mut to = serde_json::Serializer::pretty(&mut text);
            serde_transcode::transcode(&mut from, &mut to)?;
            let text = std::str::from_utf8(&text).map_err(std::io::Error::other)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::{self, BacktestOptions, Report};

    /// Spilled and read back, the bundled spec's results are the bytes `serde_json` writes of the
    /// report held whole: every kind of field (floats, nulls, nested incidents, transitions).
    #[test]
    fn a_spilled_report_is_the_pretty_json_of_the_report_held_whole() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let sets = crate::spec::load_path(&root.join("alerts")).unwrap();
        let report = backtest::run(&sets, &BacktestOptions::default()).unwrap();
        assert!(report.results.len() > 10);
        let mut spill = Spill::new().unwrap();
        // Pushed in reverse: the spill puts them back in report order.
        for r in report.results.iter().rev() {
            spill.push(r).unwrap();
        }
        let mut written = Vec::new();
        spill.sorted().unwrap().write_pretty(&mut written).unwrap();
        let whole = serde_json::to_string_pretty(&report).unwrap() + "\n";
        assert_eq!(String::from_utf8(written).unwrap(), whole);
        let empty = serde_json::to_string_pretty(&Report { results: vec![] }).unwrap() + "\n";
        let mut none = Vec::new();
        Spill::new()
            .unwrap()
            .sorted()
            .unwrap()
            .write_pretty(&mut none)
            .unwrap();
        assert_eq!(String::from_utf8(none).unwrap(), empty);
    }
}
