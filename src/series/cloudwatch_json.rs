//! CloudWatch JSON as the AWS CLI prints it: `get-metric-data` (`MetricDataResults[]` with `Id`,
//! `Label`, `Timestamps`, `Values`) and `get-metric-statistics` (`Label`, `Datapoints[]`). Several
//! pages may be concatenated in one file (or given as a JSON array); results with the same `Id`
//! are joined.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::error::LoadError;
use super::time::parse_timestamp;
use super::{Series, SeriesAssembler};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    metric_data_results: Option<Vec<MetricDataResult>>,
    datapoints: Option<Vec<Datapoint>>,
    label: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDataResult {
    id: String,
    label: Option<String>,
    timestamps: Vec<String>,
    values: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Datapoint {
    timestamp: String,
    sample_count: Option<f64>,
    average: Option<f64>,
    sum: Option<f64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    #[serde(default)]
    extended_statistics: BTreeMap<String, f64>,
}

pub fn load(path: &Path, text: &str) -> Result<Vec<Series>, LoadError> {
    let mut series = SeriesAssembler::default();
    let pages = read_pages(path, text)?;
    for (page, start_line) in pages {
        let shape_error = |expected: &str| LoadError::JsonShape {
            path: path.to_path_buf(),
            line: start_line,
            expected: expected.into(),
        };
        if let Some(results) = page.metric_data_results {
            for r in results {
                if r.timestamps.len() != r.values.len() {
                    return Err(shape_error(&format!(
                        "`Timestamps` and `Values` of the same length in result `{}` ({} vs {})",
                        r.id,
                        r.timestamps.len(),
                        r.values.len()
                    )));
                }
                let name = r
                    .label
                    .clone()
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| r.id.clone());
                let entry = series.rows(&name, || {
                    let mut labels = BTreeMap::from([("id".to_string(), r.id.clone())]);
                    if let Some(label) = &r.label {
                        labels.insert("label".into(), label.clone());
                    }
                    labels
                });
                for (ts, v) in r.timestamps.iter().zip(&r.values) {
                    let ms = parse_timestamp(ts).ok_or_else(|| {
                        shape_error(&format!(
                            "an ISO 8601 timestamp in `Timestamps` of `{}`, got `{ts}`",
                            r.id
                        ))
                    })?;
                    entry.push((ms, *v));
                }
            }
        } else if let Some(points) = page.datapoints {
            let label = page.label.unwrap_or_else(|| "metric".into());
            for p in points {
                let ms = parse_timestamp(&p.timestamp).ok_or_else(|| {
                    shape_error(&format!("an ISO 8601 `Timestamp`, got `{}`", p.timestamp))
                })?;
                let stats = [
                    ("SampleCount", p.sample_count),
                    ("Average", p.average),
                    ("Sum", p.sum),
                    ("Minimum", p.minimum),
                    ("Maximum", p.maximum),
                ];
                let extended = p
                    .extended_statistics
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(*v)));
                for (stat, value) in stats.into_iter().chain(extended) {
                    if let Some(v) = value {
                        let labels = || {
                            BTreeMap::from([
                                ("label".to_string(), label.clone()),
                                ("stat".to_string(), stat.to_string()),
                            ])
                        };
                        series
                            .rows(&format!("{label}:{stat}"), labels)
                            .push((ms, v));
                    }
                }
            }
        } else {
            return Err(shape_error("a `MetricDataResults` array (get-metric-data) or a `Datapoints` array (get-metric-statistics)"));
        }
    }
    Ok(series.finish())
}

/// Pages in file order with the line each starts on. A top-level array is a list of pages.
fn read_pages(path: &Path, text: &str) -> Result<Vec<(Page, usize)>, LoadError> {
    super::prometheus_json::read_documents::<Page>(path, text)
}
