//! Incident labels from files: windows (`start,end` CSV, NAB's `combined_windows.json`), point
//! labels (NAB's `combined_labels.json`) and per-row anomaly flags of a metric file, keyed by the
//! series (or file) they label.

use std::collections::BTreeMap;
use std::path::Path;

use super::Incident;
use crate::series::time::parse_timestamp;
use crate::series::{line_of_offset, LoadError};
use crate::series::{parse_flag, ANOMALY_FLAG_COLUMNS, TIMESTAMP_COLUMNS};

/// Incident windows per key. Three formats: NAB's `combined_windows.json` (`{"<dir>/<file>.csv":
/// [[start, end], ...]}`; keys are matched by file name) or `combined_labels.json` (points), a
/// CSV with `start,end` columns and an optional `series` column (rows without one apply to every
/// series, under the key `*`), and a metric CSV with per-row anomaly flags ([`flagged_windows`]).
pub fn load_incidents(path: &Path) -> Result<BTreeMap<String, Vec<Incident>>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(LoadError::EmptyIncidents {
            path: path.to_path_buf(),
        });
    }
    if text.trim_start().starts_with('{') {
        return json_windows(path, &text);
    }
    let mut out: BTreeMap<String, Vec<Incident>> = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    let written: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let header: Vec<String> = written.iter().map(|c| c.to_ascii_lowercase()).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let series_col = col("series");
    let (Some(si), Some(ei)) = (col("start"), col("end")) else {
        let flag = ANOMALY_FLAG_COLUMNS.iter().find_map(|f| col(f));
        if let (Some(ts), Some(flag)) = (TIMESTAMP_COLUMNS.iter().find_map(|t| col(t)), flag) {
            let columns = FlaggedColumns::of(path, &written, ts, flag);
            return flagged_windows(path, lines, &columns, &header);
        }
        return Err(LoadError::Csv {
            path: path.to_path_buf(),
            message: format!(
                "expected a header with `start` and `end` columns, or a timestamp and a per-row \
                 anomaly flag (`is_anomaly`, `anomaly` or `label`), got `{}`",
                header.join(",")
            ),
        });
    };
    // A CSV with a header and no rows labels every series as having had no incident.
    out.insert("*".into(), Vec::new());
    for row in csv_rows(lines) {
        let incident = Incident::window(
            row.timestamp(path, si, "start")?,
            row.timestamp(path, ei, "end")?,
        );
        if incident.end < incident.start {
            return Err(LoadError::Csv {
                path: path.to_path_buf(),
                message: format!(
                    "line {}: column `end`: `{}` is before `start` `{}` (a window runs from start to end)",
                    row.line,
                    row.cell(ei),
                    row.cell(si)
                ),
            });
        }
        out.entry(row.key(series_col).to_string())
            .or_default()
            .push(incident);
    }
    if out.len() > 1 && out["*"].is_empty() {
        out.remove("*");
    }
    Ok(out)
}

/// One entry of a JSON labels file: a window `[start, end]`, or a point label (NAB's
/// `combined_labels.json` gives one timestamp per anomaly), points of one instant as a flagged CSV
/// row is.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonLabel {
    Window(String, String),
    Point(String),
}

/// A labels file's entries in file order, a key listed twice kept twice (a map would keep the last
/// list and silently drop the other's windows).
struct JsonEntries(Vec<(String, Vec<JsonLabel>)>);

impl<'de> serde::Deserialize<'de> for JsonEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonEntries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(JsonEntries(out))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// NAB's `combined_windows.json` (`{"<dir>/<file>.csv": [[start, end], ...]}`) or
/// `combined_labels.json` (`{"<dir>/<file>.csv": [t, ...]}`), keyed by the file's stem. A point
/// label is [`Incident::points`] of one instant, judged by the alarm's view of it unless a grace is
/// given ([`super::Reach`]).
fn json_windows(path: &Path, text: &str) -> Result<BTreeMap<String, Vec<Incident>>, LoadError> {
    let bad = |line: usize, expected: String| LoadError::JsonShape {
        path: path.to_path_buf(),
        line,
        expected,
    };
    let JsonEntries(raw) = serde_json::from_str(text).map_err(|e| {
        bad(
            e.line(),
            format!(
                "an object of file name → windows [[start, end], ...] (NAB's \
                 `combined_windows.json`) or timestamps [t, ...] (`combined_labels.json`) ({e})"
            ),
        )
    })?;
    // The line of a window's text, for messages: its first occurrence after the file's key (the
    // same timestamp earlier in that list would name the earlier line, close enough to find it).
    let line_of = |key: &str, needle: &str| {
        let from = text.find(&format!("\"{key}\"")).unwrap_or(0);
        let at = text[from..].find(needle).map_or(from, |i| from + i);
        line_of_offset(text, at)
    };
    let timestamp = |key: &str, text: &str| {
        parse_timestamp(text).ok_or_else(|| {
            bad(
                line_of(key, &format!("\"{text}\"")),
                format!("timestamps in the labels of `{key}`, got `{text}`"),
            )
        })
    };
    let mut out: BTreeMap<String, Vec<Incident>> = BTreeMap::new();
    // Data is matched to its labels by file name: two keys of one name (`train/m.csv`,
    // `test/m.csv`) cannot be told apart, and merging them would score one file on both lists.
    let mut named_by: BTreeMap<String, String> = BTreeMap::new();
    for (key, labels) in raw {
        let name = key
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&key)
            .trim_end_matches(".csv")
            .to_string();
        if let Some(first) = named_by.insert(name.clone(), key.clone()) {
            if first == key {
                // The line of its second listing.
                let at = text.rfind(&format!("\"{key}\"")).unwrap_or(0);
                return Err(bad(
                    line_of_offset(text, at),
                    format!("each file listed once, got `{key}` twice"),
                ));
            }
            return Err(bad(
                // Entries come in file order: this one is the second.
                line_of(&key, ""),
                format!(
                    "one entry per file name, got `{first}` and `{key}`, both `{name}`: data is \
                     matched to its labels by file name, so keep only the entry of the file you \
                     replay"
                ),
            ));
        }
        for label in labels {
            let incident = match &label {
                JsonLabel::Point(at) => {
                    let at = timestamp(&key, at)?;
                    Incident::points(at, at)
                }
                JsonLabel::Window(s, e) => {
                    let (start, end) = (timestamp(&key, s)?, timestamp(&key, e)?);
                    if end < start {
                        return Err(bad(
                            line_of(&key, &format!("\"{e}\"")),
                            format!("windows of `{key}` as [start, end], got [`{s}`, `{e}`], which ends before it starts"),
                        ));
                    }
                    Incident::window(start, end)
                }
            };
            out.entry(name.clone()).or_default().push(incident);
        }
    }
    Ok(out)
}

/// The columns of a metric file with per-row anomaly flags, as the metric loader reads the same
/// file (`series::frame_to_series`): so that each flagged row labels the series its value belongs
/// to, under that series' name.
struct FlaggedColumns<'a> {
    timestamp: usize,
    flag: usize,
    /// The series-name column (`series`, `name` or `metric`).
    series: Option<usize>,
    /// Every other column but the value and the flags, by its name as written: the labels that
    /// tell a file's series apart (the AIOps KPI data's `KPI ID`), `stem{label="…"}`.
    labels: Vec<(usize, &'a str)>,
    /// The file's stem, which names a series without a series-name column.
    stem: String,
}

impl<'a> FlaggedColumns<'a> {
    fn of(path: &Path, written: &[&'a str], timestamp: usize, flag: usize) -> FlaggedColumns<'a> {
        let named = |c: &str, names: &[&str]| names.iter().any(|n| crate::series::is_named(c, n));
        let series = written
            .iter()
            .position(|c| named(c, crate::series::SERIES_COLUMNS));
        let labels = written
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != timestamp
                    && *i != flag
                    && Some(*i) != series
                    && !named(c, &[crate::series::VALUE_COLUMN])
                    && !named(c, ANOMALY_FLAG_COLUMNS)
            })
            .map(|(i, c)| (i, *c))
            .collect();
        FlaggedColumns {
            timestamp,
            flag,
            series,
            labels,
            stem: crate::series::stem_of(path).to_string(),
        }
    }

    /// The name of the series `row` belongs to: its series-name cell, else the file's stem with
    /// the row's labels; `*` (every series) in a file of one series.
    fn key(&self, row: &CsvRow) -> String {
        if let Some(name) = self.series.map(|c| row.cell(c)).filter(|s| !s.is_empty()) {
            return name.to_string();
        }
        if self.labels.is_empty() {
            return "*".to_string();
        }
        let labels: BTreeMap<String, String> = self
            .labels
            .iter()
            .filter(|(i, _)| !row.cell(*i).is_empty())
            .map(|(i, name)| (name.to_string(), row.cell(*i).to_string()))
            .collect();
        crate::series::selector_name(&self.stem, &labels)
    }
}

/// Windows from per-row anomaly flags (a metric file as labelled datasets ship it:
/// `timestamp,value,is_anomaly`): each run of consecutive flagged rows, in time order, is one
/// window from its first flagged timestamp to its last, under the name of the row's series
/// ([`FlaggedColumns::key`]).
fn flagged_windows<'a>(
    path: &Path,
    lines: impl Iterator<Item = (usize, &'a str)>,
    columns: &FlaggedColumns,
    header: &[String],
) -> Result<BTreeMap<String, Vec<Incident>>, LoadError> {
    let (ti, fi) = (columns.timestamp, columns.flag);
    let mut rows: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
    for row in csv_rows(lines) {
        let at = row.timestamp(path, ti, &header[ti])?;
        let flagged = parse_flag(row.cell(fi)).ok_or_else(|| LoadError::Csv {
            path: path.to_path_buf(),
            message: format!(
                "line {}: column `{}`: `{}` is not an anomaly flag (1/0, true/false)",
                row.line,
                header[fi],
                row.cell(fi)
            ),
        })?;
        rows.entry(columns.key(&row))
            .or_default()
            .push((at, flagged));
    }
    let mut out = BTreeMap::new();
    for (key, mut rows) in rows {
        rows.sort_by_key(|(at, _)| *at);
        let mut windows: Vec<Incident> = Vec::new();
        let mut open: Option<Incident> = None;
        for (at, flagged) in rows {
            match (&mut open, flagged) {
                (Some(w), true) => w.end = at,
                (None, true) => open = Some(Incident::points(at, at)),
                (Some(_), false) => windows.extend(open.take()),
                (None, false) => {}
            }
        }
        windows.extend(open);
        out.insert(key, windows);
    }
    Ok(out)
}

/// One data line of an incidents CSV: its trimmed cells and its line number (for messages).
struct CsvRow<'a> {
    line: usize,
    cells: Vec<&'a str>,
}

impl CsvRow<'_> {
    /// Cell `idx`, empty when the line is short.
    fn cell(&self, idx: usize) -> &str {
        self.cells.get(idx).copied().unwrap_or("")
    }

    /// Cell `idx` as a timestamp; `column` names it in the error.
    fn timestamp(&self, path: &Path, idx: usize, column: &str) -> Result<i64, LoadError> {
        parse_timestamp(self.cell(idx)).ok_or_else(|| LoadError::BadTimestamp {
            path: path.to_path_buf(),
            at: format!("line {}", self.line),
            column: column.into(),
            value: self.cell(idx).into(),
        })
    }

    /// The series the row labels: its `series` cell, or `*` (every series) without one.
    fn key(&self, series_col: Option<usize>) -> &str {
        series_col
            .map(|c| self.cell(c))
            .filter(|s| !s.is_empty())
            .unwrap_or("*")
    }
}

/// The non-blank data lines of an incidents CSV (`lines` numbered from 0, header consumed).
fn csv_rows<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> impl Iterator<Item = CsvRow<'a>> {
    lines
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| CsvRow {
            line: i + 1,
            cells: line.split(',').map(str::trim).collect(),
        })
}

/// The incidents of one series: the windows listed under its name, its file's stem or `*`.
/// `None` when the file lists none of those keys (the series is not labelled at all, as opposed to
/// labelled with no incident).
pub fn incidents_for(
    all: &BTreeMap<String, Vec<Incident>>,
    series: &str,
    file_stem: &str,
) -> Option<Vec<Incident>> {
    let keys = [series, file_stem, "*"];
    if !keys.iter().any(|k| all.contains_key(*k)) {
        return None;
    }
    let mut out: Vec<Incident> = Vec::new();
    for key in keys {
        if let Some(list) = all.get(key) {
            for incident in list {
                if !out.contains(incident) {
                    out.push(*incident);
                }
            }
        }
    }
    out.sort_by_key(|i| i.start);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A metric file with per-row flags: each run of flagged rows is a window, per series.
    #[test]
    fn windows_from_per_row_anomaly_flags() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("flags.csv");
        std::fs::write(
            &p,
            "timestamp,value,is_anomaly,series\n\
             2024-01-01T03:00:00Z,5,1,a\n\
             2024-01-01T00:00:00Z,1,0,a\n\
             2024-01-01T01:00:00Z,9,1,a\n\
             2024-01-01T02:00:00Z,8,true,a\n\
             2024-01-01T04:00:00Z,1,0,a\n\
             2024-01-01T05:00:00Z,7,1,a\n\
             2024-01-01T00:00:00Z,1,0,b\n",
        )
        .unwrap();
        let w = load_incidents(&p).unwrap();
        let hour = 3_600_000;
        let t0 = parse_timestamp("2024-01-01T00:00:00Z").unwrap();
        let at = |h: i64| t0 + h * hour;
        assert_eq!(
            w["a"],
            vec![
                Incident::points(at(1), at(3)),
                Incident::points(at(5), at(5))
            ]
        );
        assert_eq!(w["b"], vec![], "labelled, no incident");
        std::fs::write(
            &p,
            "timestamp,value,is_anomaly\n2024-01-01T00:00:00Z,1,maybe\n",
        )
        .unwrap();
        let e = load_incidents(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("`is_anomaly`") && e.contains("`maybe`"),
            "{e}"
        );
    }

    /// A flagged file whose series are told apart by a label column (the AIOps KPI data's
    /// `timestamp,value,label,KPI ID`) or a `name` column: each flagged row labels its own series,
    /// under the name the metric loader gives that series, so one series' anomalies are never
    /// another's.
    #[test]
    fn flagged_rows_label_the_series_the_metric_loader_names() {
        let dir = tempfile::tempdir().unwrap();
        for (file, header, ids) in [
            ("kpi.csv", "timestamp,value,label,KPI ID", ["a1", "b2"]),
            (
                "named.csv",
                "timestamp,name,value,is_anomaly",
                ["cpu", "mem"],
            ),
        ] {
            let p = dir.path().join(file);
            let mut text = format!("{header}\n");
            for (k, id) in ids.iter().enumerate() {
                for m in 0..10 {
                    let flag = u8::from(m == 3 + k);
                    let row = if header.contains("KPI ID") {
                        format!("{},{m},{flag},{id}", 1_700_000_000 + m * 60)
                    } else {
                        format!("{},{id},{m},{flag}", 1_700_000_000 + m * 60)
                    };
                    text.push_str(&row);
                    text.push('\n');
                }
            }
            std::fs::write(&p, text).unwrap();
            let windows = load_incidents(&p).unwrap();
            let series = crate::series::load(&p, None).unwrap();
            assert_eq!(series.len(), 2, "{file}");
            for (k, s) in series.iter().enumerate() {
                let at = (1_700_000_000 + (3 + k as i64) * 60) * 1000;
                assert_eq!(
                    incidents_for(&windows, &s.name, "kpi"),
                    Some(vec![Incident::points(at, at)]),
                    "{file}: {} in {windows:?}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn loads_nab_windows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        std::fs::write(&p, r#"{"realAWSCloudwatch/a_b.csv": [["2014-02-26 13:45:00.000000", "2014-02-27 06:25:00.000000"]]}"#).unwrap();
        let w = load_incidents(&p).unwrap();
        assert_eq!(w["a_b"].len(), 1);
        assert_eq!(incidents_for(&w, "a_b", "a_b").map(|l| l.len()), Some(1));
        assert_eq!(incidents_for(&w, "other", "other"), None, "not labelled");
    }

    /// Messages name the line of the offending window or timestamp, and a shape that is neither
    /// windows nor points says what was expected.
    #[test]
    fn json_label_errors_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        let error_of = |text: &str| {
            std::fs::write(&p, text).unwrap();
            load_incidents(&p).unwrap_err().to_string()
        };
        for (text, says) in [
            (
                "{\n  \"x/a.csv\": [\n    [\"2014-02-26 13:45:00\", \"2014-02-27 06:25:00\"],\n    [\"2014-03-01 00:00:00\", \"soon\"]\n  ]\n}\n",
                ["line 4", "`soon`"],
            ),
            (
                "{\n\"x/a.csv\": [\n\"2014-02-26 13:45:00\",\n\"later\"]}",
                ["line 4", "`later`"],
            ),
            (
                "{\"x/a.csv\": [[\"2014-02-26 13:45:00\", \"2014-02-25 00:00:00\"]]}",
                ["ends before it starts", "`x/a.csv`"],
            ),
            (
                "{\"x/a.csv\": [[1, 2, 3]]}",
                ["combined_windows.json", "combined_labels.json"],
            ),
            (
                "{\"train/a.csv\": [],\n \"test/a.csv\": [\"2014-02-26 13:45:00\"]}",
                ["line 2", "`train/a.csv` and `test/a.csv`, both `a`"],
            ),
            (
                "{\"x/a.csv\": [\"2014-02-26 13:45:00\"],\n\n \"x/a.csv\": []}",
                ["line 3", "`x/a.csv` twice"],
            ),
        ] {
            let e = error_of(text);
            assert!(says.iter().all(|s| e.contains(s)), "{text}: {e}");
        }
    }

    /// NAB's point labels (`combined_labels.json`) are zero-length windows, as a flagged CSV row
    /// is, and may sit beside windows in one file.
    #[test]
    fn json_point_labels_are_zero_length_windows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.json");
        std::fs::write(
            &p,
            r#"{"realTraffic/a.csv": ["2015-09-17 07:00:00.000000", "2015-09-18 00:00:00"],
                "realTraffic/b.csv": [["2015-09-17 07:00:00", "2015-09-17 08:00:00"], "2015-09-19 00:00:00"],
                "realTraffic/c.csv": []}"#,
        )
        .unwrap();
        let w = load_incidents(&p).unwrap();
        let at = parse_timestamp("2015-09-17 07:00:00").unwrap();
        assert_eq!(w["a"][0], Incident::points(at, at));
        assert_eq!(w["a"].len(), 2);
        assert_eq!(w["b"][0].end - w["b"][0].start, 3_600_000);
        assert_eq!(w["b"][1].start, w["b"][1].end);
        // An empty list names no window, as before (the acceptance asks an explicit incidents
        // file without windows for a series to be refused).
        assert!(!w.contains_key("c"));
    }
}
