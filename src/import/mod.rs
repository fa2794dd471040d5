//! Importing what users already run into an `alertlab/v1` spec: Prometheus alerting rules
//! (`prometheus`) and CloudWatch alarms as `aws cloudwatch describe-alarms` prints them
//! (`cloudwatch`). What the spec cannot express is listed with the reason, never dropped silently.
//! The written spec is loaded back by the spec loader before it is written, so an import never
//! leaves a file that `alertlab` itself refuses.

pub mod cloudwatch;
pub mod cloudwatch_live;
pub mod prometheus;

use std::path::Path;

use serde_json::{Map, Value};

/// A spec being built, and what could not go into it.
#[derive(Debug, Default)]
pub struct Imported {
    /// `metadata.name`.
    pub name: String,
    /// `environments` (env name → its keys).
    pub environments: Map<String, Value>,
    /// The alerts, each in the spec's shape.
    pub alerts: Vec<Value>,
    /// `notifications`, when the source names them.
    pub notifications: Option<Value>,
    /// `(what, why)` for everything left out or changed.
    pub notes: Vec<(String, String)>,
    /// Where it came from, for the header.
    pub source: String,
}

impl Imported {
    /// An empty spec named `name`, imported from `source`.
    pub fn new(name: String, source: &str) -> Imported {
        Imported {
            name,
            source: source.to_string(),
            ..Imported::default()
        }
    }

    /// The spec as YAML: a header naming the source, the notes as comments, then the spec.
    pub fn to_yaml(&self) -> Result<String, String> {
        let mut doc = Map::new();
        doc.insert("apiVersion".into(), "alertlab/v1".into());
        doc.insert("kind".into(), "AlertSet".into());
        doc.insert("metadata".into(), serde_json::json!({ "name": self.name }));
        if !self.environments.is_empty() {
            doc.insert(
                "environments".into(),
                Value::Object(self.environments.clone()),
            );
        }
        if let Some(n) = &self.notifications {
            doc.insert("notifications".into(), n.clone());
        }
        doc.insert("alerts".into(), Value::Array(self.alerts.clone()));
        let body = serde_yaml_ng::to_string(&Value::Object(doc)).map_err(|e| e.to_string())?;
        let mut out = format!(
            "# Imported by alertlab from {}. Review it, then `alertlab backtest` and `alertlab generate`.\n",
            one_line(&self.source)
        );
        if !self.notes.is_empty() {
            out.push_str("#\n# Not imported as it was:\n");
            for (what, why) in &self.notes {
                out.push_str(&format!("# - {}: {}\n", one_line(what), one_line(why)));
            }
        }
        out.push_str(&body);
        Ok(out)
    }
}

/// Text for a one-line YAML comment.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Check that `yaml` loads as a spec (through the real loader, from a temporary copy named like
/// `out`), returning the loader's message if not.
pub fn check_loads(yaml: &str, out: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "imported.yaml".into());
    let path = dir.path().join(name);
    std::fs::write(&path, yaml).map_err(|e| e.to_string())?;
    crate::spec::load_file(&path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A spec name from an output path: its stem, lower case, other characters as `-`.
pub fn name_from(out: &Path) -> String {
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("imported");
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "imported".into()
    } else {
        name
    }
}
