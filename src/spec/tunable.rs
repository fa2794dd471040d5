//! The spec keys `alertlab tune` may vary (an alert's `tune:` block, `--grid`) and the kind of value
//! each takes. They are spec keys, so the spec's loader checks a `tune:` block with them as it checks
//! every other key: a typo there fails `backtest` and `generate --check` too, not only `tune`.

use serde::{Deserialize, Serialize};

/// One value of a tuned key, as the spec spells it.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Num(f64),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Num(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
        }
    }
}

/// A grid: keys with the values to try (every combination is one setting); an alert's `tune:`
/// block, read.
pub type Grid = Vec<(String, Vec<Value>)>;

/// What kind of value a key takes.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Count,
    Duration,
    Text,
}

/// Every key `tune` can vary: (key, value kind, what it is).
const KEYS: &[(&str, Kind, &str)] = &[
    (
        "k",
        Kind::Number,
        "anomaly band width in standard deviations",
    ),
    ("value", Kind::Number, "static threshold"),
    ("p", Kind::Number, "percentile of the percentile threshold"),
    ("factor", Kind::Number, "factor on the percentile threshold"),
    (
        "training_days",
        Kind::Number,
        "training window of seasonal and percentile models",
    ),
    ("window", Kind::Duration, "promql band window"),
    ("season", Kind::Duration, "promql band season offset"),
    ("smooth", Kind::Duration, "promql band smoothing"),
    ("datapoints_to_alarm", Kind::Count, "M of M-of-N"),
    ("evaluation_periods", Kind::Count, "N of M-of-N"),
    (
        "evaluation_range",
        Kind::Count,
        "CloudWatch evaluation range",
    ),
    (
        "treat_missing_data",
        Kind::Text,
        "missing, ignore, breaching or notBreaching",
    ),
    ("period", Kind::Count, "CloudWatch period in seconds"),
    ("stat", Kind::Text, "CloudWatch statistic"),
    ("for", Kind::Duration, "Prometheus `for`"),
    (
        "keep_firing_for",
        Kind::Duration,
        "Prometheus `keep_firing_for`",
    ),
];

/// The keys, for messages.
pub fn key_names() -> Vec<&'static str> {
    KEYS.iter().map(|k| k.0).collect()
}

/// What `key` is, in words (`p`: "percentile of the percentile threshold").
pub fn key_meaning(key: &str) -> &'static str {
    KEYS.iter().find(|k| k.0 == key).map_or("", |k| k.2)
}

/// Why a value of a tunable key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("unknown grid key `{key}`{suggestion}; tunable keys: {}", key_names().join(", "))]
    UnknownKey { key: String, suggestion: String },
    #[error("grid key `{key}`: `{value}` is not {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}

fn kind_of(key: &str) -> Option<Kind> {
    KEYS.iter().find(|k| k.0 == key).map(|k| k.1)
}

/// Parse one value of `key` as the spec would take it.
pub fn parse_value(key: &str, text: &str) -> Result<Value, ValueError> {
    let kind = kind_of(key).ok_or_else(|| unknown(key))?;
    let bad = |expected| ValueError::BadValue {
        key: key.to_string(),
        value: text.to_string(),
        expected,
    };
    let text = text.trim();
    Ok(match kind {
        Kind::Number => Value::Num(
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad("a finite number"))?,
        ),
        Kind::Count => Value::Int(
            text.parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| bad("a positive whole number"))?,
        ),
        Kind::Duration => {
            crate::series::time::parse_duration(text)
                .ok_or_else(|| bad("a duration like `30s`, `5m`, `1h`"))?;
            Value::Text(text.to_string())
        }
        Kind::Text => {
            if text.is_empty() {
                return Err(bad("a word"));
            }
            Value::Text(text.to_string())
        }
    })
}

fn unknown(key: &str) -> ValueError {
    let nearest = KEYS
        .iter()
        .map(|k| (strsim::levenshtein(key, k.0), k.0))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    ValueError::UnknownKey {
        key: key.to_string(),
        suggestion: nearest,
    }
}
