//! Incident windows (labelled or injected) and how well a timeline caught them.
//!
//! An incident is caught when an episode starts inside its window, or up to `lead` before it;
//! delay = episode start − window start. An episode overlapping no (lead-extended) window is a
//! false alert.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::engine::Episode;
use crate::series::time::{parse_timestamp, WEEK_MS};
use crate::series::LoadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub start: i64,
    pub end: i64,
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
    /// Every caught incident's delay, seconds (for pooling over series).
    #[serde(skip)]
    pub delays_s: Vec<f64>,
}

/// The episode that catches `incident`: the first to start inside its window, or up to `lead_ms`
/// before it.
pub fn first_catch<'a>(
    episodes: &'a [Episode],
    incident: &Incident,
    lead_ms: i64,
) -> Option<&'a Episode> {
    episodes
        .iter()
        .find(|e| e.start >= incident.start - lead_ms && e.start <= incident.end)
}

pub fn match_incidents(
    episodes: &[Episode],
    incidents: &[Incident],
    lead_ms: i64,
    horizon: i64,
    covered_ms: i64,
) -> IncidentScore {
    let mut delays = Vec::new();
    for inc in incidents {
        if let Some(first) = first_catch(episodes, inc, lead_ms) {
            delays.push(first.start - inc.start);
        }
    }
    let touching = |e: &Episode| {
        incidents
            .iter()
            .any(|inc| e.start <= inc.end && e.end.unwrap_or(horizon) > inc.start - lead_ms)
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
        delays_s: delays.iter().map(|d| *d as f64 / 1000.0).collect(),
    }
}

/// Incident windows per key. Two formats: NAB's `combined_windows.json` (`{"<dir>/<file>.csv":
/// [[start, end], ...]}`; keys are matched by file name) and a CSV with `start,end` columns and an
/// optional `series` column (rows without one apply to every series, under the key `*`).
pub fn load_incidents(path: &Path) -> Result<BTreeMap<String, Vec<Incident>>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let bad = |line: usize, expected: String| LoadError::JsonShape {
        path: path.to_path_buf(),
        line,
        expected,
    };
    let mut out: BTreeMap<String, Vec<Incident>> = BTreeMap::new();
    if text.trim_start().starts_with('{') {
        let raw: BTreeMap<String, Vec<(String, String)>> =
            serde_json::from_str(&text).map_err(|e| {
                bad(
                    e.line(),
                    format!("an object of file name → [[start, end], ...] ({e})"),
                )
            })?;
        for (key, windows) in raw {
            let name = key
                .rsplit('/')
                .next()
                .unwrap_or(&key)
                .trim_end_matches(".csv")
                .to_string();
            for (s, e) in windows {
                let (Some(start), Some(end)) = (parse_timestamp(&s), parse_timestamp(&e)) else {
                    return Err(bad(
                        1,
                        format!("timestamps in the windows of `{key}`, got `{s}`, `{e}`"),
                    ));
                };
                out.entry(name.clone())
                    .or_default()
                    .push(Incident { start, end });
            }
        }
        return Ok(out);
    }
    let mut lines = text.lines().enumerate();
    let header: Vec<String> = lines
        .next()
        .map(|(_, h)| {
            h.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(si), Some(ei)) = (col("start"), col("end")) else {
        return Err(LoadError::Csv {
            path: path.to_path_buf(),
            message: format!(
                "expected a header with `start` and `end` columns, got `{}`",
                header.join(",")
            ),
        });
    };
    let series_col = col("series");
    // A CSV with a header and no rows labels every series as having had no incident.
    out.insert("*".into(), Vec::new());
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let at = format!("line {}", i + 1);
        let ts = |idx: usize, column: &str| {
            let cell = cells.get(idx).copied().unwrap_or("");
            parse_timestamp(cell).ok_or_else(|| LoadError::BadTimestamp {
                path: path.to_path_buf(),
                at: at.clone(),
                column: column.into(),
                value: cell.into(),
            })
        };
        let incident = Incident {
            start: ts(si, "start")?,
            end: ts(ei, "end")?,
        };
        let key = series_col
            .and_then(|c| cells.get(c))
            .filter(|s| !s.is_empty())
            .map_or("*".to_string(), |s| s.to_string());
        out.entry(key).or_default().push(incident);
    }
    if out.len() > 1 && out["*"].is_empty() {
        out.remove("*");
    }
    Ok(out)
}

/// The incidents that apply to a series: its own (by exact name or file stem) plus the `*` ones.
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
            Incident {
                start: 10 * m,
                end: 20 * m,
            },
            Incident {
                start: 100 * m,
                end: 110 * m,
            },
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
        let s = match_incidents(&episodes, &incidents, 0, 200 * m, WEEK_MS);
        assert_eq!(s.caught, 1);
        assert_eq!(s.recall, Some(0.5));
        assert_eq!(s.precision, Some(0.5));
        assert_eq!(s.false_alerts, 1);
        assert_eq!(s.median_delay_s, Some(120.0));
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
}
