//! Incident windows (labelled or injected) and how well a timeline caught them.
//!
//! An incident is caught when an episode starts inside its window, up to `lead` before it or up
//! to `grace` after it ([`Reach`]); delay = episode start − window start. An episode overlapping no
//! window so extended is a false alert.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::engine::Episode;
use crate::series::time::{parse_timestamp, WEEK_MS};
use crate::series::{line_of_offset, LoadError};
use crate::series::{parse_flag, ANOMALY_FLAG_COLUMNS, TIMESTAMP_COLUMNS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub start: i64,
    pub end: i64,
    /// Whether this is anomalous points rather than a drawn window: a run of flagged rows, or a
    /// point label. Points are caught by an episode whose evaluation saw one of them (see
    /// [`Reach`]); a window (`start,end`, NAB's windows, an injected anomaly) by one starting in it.
    #[serde(skip)]
    pub points: bool,
}

impl Incident {
    /// A window from `start` to `end`, as a labeller drew it.
    pub fn window(start: i64, end: i64) -> Incident {
        Incident {
            start,
            end,
            points: false,
        }
    }

    /// Anomalous points from `start` to `end` (a run of flagged rows; one point when equal).
    pub fn points(start: i64, end: i64) -> Incident {
        Incident {
            start,
            end,
            points: true,
        }
    }

    /// Whether an episode that saw one of its points catches it, rather than one starting inside
    /// it: flagged rows, point labels, and any zero-length window (a window of one instant is a
    /// point, however it was written).
    pub fn is_points(&self) -> bool {
        self.points || self.start == self.end
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentScore {
    pub incidents: usize,
    pub caught: usize,
    pub recall: Option<f64>,
    pub precision: Option<f64>,
    pub false_alerts: usize,
    pub false_alerts_per_week: f64,
    pub median_delay_s: Option<f64>,
    /// Incidents whose window closes before the band exists (the model's warm-up at the start of
    /// the history): missed by every setting of that band, so a user sees that the history, not
    /// the alarm, is too short for them.
    pub in_warm_up: usize,
    /// Incidents of the list whose window lies wholly outside the evaluated span (before
    /// `--start`, after `--end`, beyond the data): not scored, since no setting can be judged on
    /// them (they are neither caught nor missed).
    #[serde(skip_serializing_if = "is_zero")]
    pub outside_span: usize,
    /// Of the incidents, point labels ([`Incident::is_points`]) judged by the alarm's view of
    /// them, as no grace was given ([`Reach`]): the reports say how they were judged.
    #[serde(skip_serializing_if = "is_zero")]
    pub point_labels: usize,
    /// Every caught incident's delay, seconds (for pooling over series).
    #[serde(skip)]
    pub delays_s: Vec<f64>,
}

pub(crate) fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the reports say of `in_warm_up` of `incidents` closing before the band existed (the
/// backtest and tune tables word it alike).
pub fn warm_up_phrase(in_warm_up: usize, incidents: usize) -> String {
    format!(
        "{in_warm_up} of {incidents} incidents closed before the band existed (its warm-up at the start of the history): no width or M of N catches them"
    )
}

/// What the reports say of `points` of `incidents` that are point labels (single timestamps, or
/// runs of flagged rows) judged by each alarm's view of them (the backtest and tune tables word it
/// alike).
pub fn point_labels_phrase(points: usize, incidents: usize) -> String {
    format!(
        "{points} of {incidents} incidents are point labels (single timestamps, or runs of flagged rows): each is caught by an episode starting while the alarm's evaluations saw one of its points (CloudWatch: from the first point's period to N − 1 periods after the last; Prometheus: up to `for` + one evaluation interval after the last), as no grace is given (`--grace` or `backtest.grace` sets one reach for every incident)"
    )
}

/// How far around an incident's window an episode may start and still catch it (`backtest.lead`
/// and `backtest.grace`). Labels rarely match an alarm's reach: a window may open a little after
/// the trouble began (lead), and a point label (a flagged row or a short run of them,
/// [`Incident::is_points`]) would otherwise be caught only by an episode starting at that very
/// instant, which an alarm that waits for M of N datapoints never does. Unless a grace is given,
/// points are therefore caught by an episode whose evaluation saw one of them: one starting within
/// the alarm's view of them (`view_ms`, set per alarm by [`Reach::viewing`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    pub lead_ms: i64,
    /// `None` when neither the spec nor the command line gives one: windows then get none, and
    /// point labels the alarm's view.
    pub grace_ms: Option<i64>,
    /// How long before and after a point an episode of this alarm that saw the point may start
    /// (see [`Reach::viewing`]); `(0, 0)` until set.
    pub view_ms: (i64, i64),
}

impl Reach {
    /// This reach for an alarm that sees a point `before` ms before it and up to `after` ms after
    /// it: a CloudWatch evaluation is stamped with the start of its newest datapoint's period, so
    /// the one whose newest period holds the point starts up to a period before it, and the point
    /// stays in view for the N − 1 evaluations after; a Prometheus rule fires from `for` after the
    /// first evaluation that sees it.
    pub fn viewing(self, before: i64, after: i64) -> Reach {
        Reach {
            view_ms: (before.max(0), after.max(0)),
            ..self
        }
    }

    /// The earliest and latest start of an episode that catches `incident`.
    pub fn starts(&self, incident: &Incident) -> (i64, i64) {
        let (lead, grace) = match self.grace_ms {
            Some(grace) => (self.lead_ms, grace),
            None if incident.is_points() => (self.lead_ms.max(self.view_ms.0), self.view_ms.1),
            None => (self.lead_ms, 0),
        };
        (
            incident.start.saturating_sub(lead),
            incident.end.saturating_add(grace),
        )
    }
}

/// How many of `incidents` are out of reach before `band_from`, the first evaluation with a band
/// (`None`: the condition has no warm-up): the latest start that would catch them comes first.
pub fn count_in_warm_up(incidents: &[Incident], reach: Reach, band_from: Option<i64>) -> usize {
    band_from.map_or(0, |from| {
        incidents
            .iter()
            .filter(|i| reach.starts(i).1 < from)
            .count()
    })
}

/// The episode that catches `incident`: the first to start within its [`Reach`].
pub fn first_catch<'a>(
    episodes: &'a [Episode],
    incident: &Incident,
    reach: Reach,
) -> Option<&'a Episode> {
    let (from, to) = reach.starts(incident);
    episodes.iter().find(|e| e.start >= from && e.start <= to)
}

pub fn match_incidents(
    episodes: &[Episode],
    incidents: &[Incident],
    reach: Reach,
    horizon: i64,
    covered_ms: i64,
) -> IncidentScore {
    let mut delays = Vec::new();
    for inc in incidents {
        if let Some(first) = first_catch(episodes, inc, reach) {
            delays.push(first.start - inc.start);
        }
    }
    let touching = |e: &Episode| {
        incidents.iter().any(|inc| {
            let (from, to) = reach.starts(inc);
            e.start <= to && e.end.unwrap_or(horizon) > from
        })
    };
    let true_alerts = episodes.iter().filter(|e| touching(e)).count();
    let false_alerts = episodes.len() - true_alerts;
    delays.sort_unstable();
    let median_delay_s = if delays.is_empty() {
        None
    } else if delays.len() % 2 == 1 {
        Some(delays[delays.len() / 2] as f64 / 1000.0)
    } else {
        Some((delays[delays.len() / 2 - 1] + delays[delays.len() / 2]) as f64 / 2000.0)
    };
    IncidentScore {
        incidents: incidents.len(),
        caught: delays.len(),
        recall: (!incidents.is_empty()).then(|| delays.len() as f64 / incidents.len() as f64),
        precision: (!episodes.is_empty()).then(|| true_alerts as f64 / episodes.len() as f64),
        false_alerts,
        false_alerts_per_week: if covered_ms > 0 {
            false_alerts as f64 * WEEK_MS as f64 / covered_ms as f64
        } else {
            0.0
        },
        median_delay_s,
        in_warm_up: 0,
        outside_span: 0,
        point_labels: 0,
        delays_s: delays.iter().map(|d| *d as f64 / 1000.0).collect(),
    }
}

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

/// Whether the evaluated `span` can judge `incident`: an episode inside it can start within the
/// incident's [`Reach`]. The others (before `--start`, after `--end`, beyond the data) are neither
/// caught nor missed.
pub fn judged_in(incident: &Incident, span: (i64, i64), reach: Reach) -> bool {
    let (from, to) = reach.starts(incident);
    to >= span.0 && from <= span.1
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

/// NAB's `combined_windows.json` (`{"<dir>/<file>.csv": [[start, end], ...]}`) or
/// `combined_labels.json` (`{"<dir>/<file>.csv": [t, ...]}`), keyed by the file's stem. A point
/// label is [`Incident::points`] of one instant, judged by the alarm's view of it unless a grace is
/// given ([`Reach`]).
fn json_windows(path: &Path, text: &str) -> Result<BTreeMap<String, Vec<Incident>>, LoadError> {
    let bad = |line: usize, expected: String| LoadError::JsonShape {
        path: path.to_path_buf(),
        line,
        expected,
    };
    let raw: BTreeMap<String, Vec<JsonLabel>> = serde_json::from_str(text).map_err(|e| {
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
            return Err(bad(
                // The line of whichever entry comes second in the file.
                line_of(&key, "").max(line_of(&first, "")),
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

    #[test]
    fn recall_precision_delay() {
        let m = 60_000;
        let incidents = [
            Incident::window(10 * m, 20 * m),
            Incident::window(100 * m, 110 * m),
        ];
        let episodes = [
            Episode {
                start: 12 * m,
                end: Some(15 * m),
            },
            Episode {
                start: 50 * m,
                end: Some(51 * m),
            },
        ];
        let s = match_incidents(&episodes, &incidents, Reach::default(), 200 * m, WEEK_MS);
        assert_eq!(s.caught, 1);
        assert_eq!(s.recall, Some(0.5));
        assert_eq!(s.precision, Some(0.5));
        assert_eq!(s.false_alerts, 1);
        assert_eq!(s.median_delay_s, Some(120.0));
        // Only a window that closes before the band exists is out of every setting's reach.
        assert_eq!(count_in_warm_up(&incidents, Reach::default(), None), 0);
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(20 * m)),
            0
        );
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(20 * m + 1)),
            1
        );
        assert_eq!(
            count_in_warm_up(&incidents, Reach::default(), Some(500 * m)),
            2
        );
    }

    /// Lead and grace widen where a catching episode may start, on either side of the window; an
    /// episode starting within them is neither a miss nor a false alert, and delay still counts
    /// from the window's start.
    #[test]
    fn reach_extends_the_window_both_ways() {
        let m = 60_000;
        let point = [Incident::points(100 * m, 100 * m)];
        let episode = |start: i64| Episode {
            start: start * m,
            end: Some((start + 5) * m),
        };
        let reach = Reach {
            lead_ms: 10 * m,
            grace_ms: Some(30 * m),
            // A grace given wins over the alarm's view.
            view_ms: (50 * m, 50 * m),
        };
        for (start, caught) in [
            (84, false),
            (90, true),
            (100, true),
            (130, true),
            (131, false),
        ] {
            let s = match_incidents(&[episode(start)], &point, reach, 500 * m, WEEK_MS);
            assert_eq!(s.caught, caught as usize, "episode at {start}");
            // Not caught and wholly outside the reach: a false alert (84–89 ends before it opens).
            assert_eq!(s.false_alerts, !caught as usize, "episode at {start}");
            if caught {
                assert_eq!(s.median_delay_s, Some((start - 100) as f64 * 60.0));
            }
        }
        // A grace of 0 given: only an episode starting at the point itself catches it.
        let strict = Reach {
            grace_ms: Some(0),
            ..reach
        };
        let exact = match_incidents(&[episode(101)], &point, strict, 500 * m, WEEK_MS);
        assert_eq!(exact.caught, 0);
        // None given: the alarm's view of the point, which a window does not get.
        let viewed = Reach::default().viewing(5 * m, 20 * m);
        for (start, caught) in [(94, false), (95, true), (120, true), (121, false)] {
            let s = match_incidents(&[episode(start)], &point, viewed, 500 * m, WEEK_MS);
            assert_eq!(s.caught, caught as usize, "episode at {start}");
        }
        let window = Incident::window(100 * m, 110 * m);
        assert_eq!(viewed.starts(&window), (100 * m, 110 * m));
        assert_eq!(viewed.starts(&point[0]), (95 * m, 120 * m));
        // A run of flagged rows is points too: the view reaches from its first to past its last.
        let run = Incident::points(100 * m, 110 * m);
        assert_eq!(viewed.starts(&run), (95 * m, 130 * m));
        // A window of one instant is a point, however it was written.
        assert!(Incident::window(100 * m, 100 * m).is_points());
        // A span ending before the point still judges it while an episode can start in reach.
        assert!(judged_in(&point[0], (0, 95 * m), reach));
        assert!(!judged_in(&point[0], (0, 89 * m), reach));
        assert!(judged_in(&point[0], (125 * m, 200 * m), reach));
        assert!(!judged_in(&point[0], (131 * m, 200 * m), reach));
        // Out of reach in the warm-up only once the grace has passed too.
        assert_eq!(count_in_warm_up(&point, reach, Some(130 * m)), 0);
        assert_eq!(count_in_warm_up(&point, reach, Some(131 * m)), 1);
    }

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
                ["line 2", "`test/a.csv` and `train/a.csv`, both `a`"],
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
