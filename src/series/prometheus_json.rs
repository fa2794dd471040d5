//! Prometheus HTTP API output: `query_range` (`resultType: matrix`, `values: [[ts, "v"], ...]`)
//! and instant `query` vectors. Sample values are strings (`"1.5"`, `"NaN"`, `"+Inf"`); a `"NaN"`
//! sample is a sample (the series is present, its value NaN), kept apart from a missing one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::{line_of_offset, LoadError};
use super::{Series, SeriesAssembler};

#[derive(Deserialize)]
struct Response {
    status: Option<String>,
    error: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: Option<String>,
    result: Vec<SeriesResult>,
}

#[derive(Deserialize)]
struct SeriesResult {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Option<Vec<(f64, String)>>,
    value: Option<(f64, String)>,
}

pub fn load(path: &Path, text: &str) -> Result<Vec<Series>, LoadError> {
    let mut series = SeriesAssembler::default();
    for (doc, line) in read_documents::<Response>(path, text)? {
        let shape_error = |expected: String| LoadError::JsonShape {
            path: path.to_path_buf(),
            line,
            expected,
        };
        if doc.status.as_deref() == Some("error") {
            return Err(shape_error(format!(
                "a successful response, got the error `{}`",
                doc.error.unwrap_or_default()
            )));
        }
        let data = doc
            .data
            .ok_or_else(|| shape_error("a `data` object with `result`".into()))?;
        if let Some(kind) = data.result_type.as_deref() {
            if kind != "matrix" && kind != "vector" {
                return Err(shape_error(format!(
                    "`resultType` `matrix` or `vector`, got `{kind}`"
                )));
            }
        }
        for r in data.result {
            let mut labels = r.metric;
            let metric_name = labels.remove("__name__").unwrap_or_default();
            let name = super::selector_name(&metric_name, &labels);
            if !metric_name.is_empty() {
                labels.insert("__name__".into(), metric_name);
            }
            let rows = series.rows(&name, || labels);
            for (ts, value) in r.values.into_iter().flatten().chain(r.value) {
                let v = parse_sample(&value).ok_or_else(|| {
                    shape_error(format!(
                        "a numeric sample value in series `{name}`, got `{value}`"
                    ))
                })?;
                // Prometheus timestamps are always epoch seconds.
                let ms = (ts * 1000.0).round();
                if !(ms.is_finite() && super::time::in_range(ms as i64)) {
                    return Err(shape_error(format!(
                        "a sample time in epoch seconds between 1970 and 9999 in series `{name}`, got `{ts}`"
                    )));
                }
                rows.push((ms as i64, v));
            }
        }
    }
    Ok(series.finish())
}

fn parse_sample(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        // A NaN sample: the series is present, its value is NaN.
        "NaN" => Some(super::nan_sample()),
        _ => super::frame::parse_value(text)
            .map(|v| if v.is_nan() { super::nan_sample() } else { v }),
    }
}

/// Every JSON document in `text` (concatenated documents, or one top-level array of them), each
/// with the line it starts on. Type errors name the exact line serde_json found them on.
pub(super) fn read_documents<T: DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<Vec<(T, usize)>, LoadError> {
    let shape = |line: usize, expected: String| LoadError::JsonShape {
        path: path.to_path_buf(),
        line,
        expected,
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let start = line_of_offset(text, text.len() - trimmed.len());
        let docs: Vec<T> =
            serde_json::from_str(text).map_err(|e| shape(e.line().max(start), e.to_string()))?;
        return Ok(docs.into_iter().map(|d| (d, start)).collect());
    }
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<T>();
    loop {
        let start_offset = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(doc)) => {
                let skipped = text[start_offset..].len() - text[start_offset..].trim_start().len();
                out.push((doc, line_of_offset(text, start_offset + skipped)));
            }
            Some(Err(e)) => {
                return Err(shape(
                    e.line(),
                    format!("valid JSON of the expected shape ({e})"),
                ))
            }
        }
    }
    Ok(out)
}
