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

/// Names already given to imported alerts, so that each is unique in the spec.
#[derive(Debug, Default)]
pub struct AlertNames {
    given: std::collections::BTreeSet<String>,
}

impl AlertNames {
    /// `source` (an alarm or rule name) as a spec alert name: letters, digits, `-` and `_`, each run
    /// of other characters as one `-` (CloudWatch and Prometheus take any text; the spec's names become
    /// Terraform and file names), then `-2`, `-3` … until it is a name not given yet. The reason,
    /// when it is not `source` itself.
    pub fn give(&mut self, source: &str) -> (String, Option<String>) {
        // A run of other characters (`ö`, `ß`, a space) becomes one `-`.
        let mut mapped = String::with_capacity(source.len());
        let mut in_run = false;
        for c in source.chars() {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                mapped.push(c);
                in_run = false;
            } else if !in_run {
                mapped.push('-');
                in_run = true;
            }
        }
        let mapped = match mapped.trim_matches('-') {
            "" => "alert".to_string(),
            m => m.to_string(),
        };
        let name = (1..)
            .map(|n| match n {
                1 => mapped.clone(),
                n => format!("{mapped}-{n}"),
            })
            .find(|name| !self.given.contains(name))
            .expect("a free suffix");
        self.given.insert(name.clone());
        let why = if mapped != source {
            Some(format!(
                "a spec name holds letters, digits, `-` and `_` only: imported as `{name}`"
            ))
        } else if name != source {
            Some(format!(
                "an alert of that name was imported already: imported as `{name}`"
            ))
        } else {
            None
        };
        (name, why)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Alarm and rule names become spec names: other characters as `-`, and every name unique
    /// (a later alert literally named like an earlier one's suffixed name included).
    #[test]
    fn imported_names_are_spec_names_and_unique() {
        let mut names = AlertNames::default();
        let mut give = |n: &str| names.give(n);
        assert_eq!(give("api-latency"), ("api-latency".into(), None));
        let (name, why) = give("High Error Rate");
        assert_eq!(name, "High-Error-Rate");
        assert!(why.unwrap().contains("letters, digits"));
        let (name, why) = give("High-Error-Rate");
        assert_eq!(name, "High-Error-Rate-2");
        assert!(why.unwrap().contains("imported already"));
        assert_eq!(give("High-Error-Rate-2").0, "High-Error-Rate-2-2");
        assert_eq!(give("über").0, "ber");
        assert_eq!(give("ü").0, "alert");
        assert_eq!(give("ü").0, "alert-2");
    }
}
