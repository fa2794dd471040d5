//! From a spec's text to the v1 types. YAML merge keys (`<<: *common`) are applied and top-level
//! keys starting with `x-` (a place to define anchors, as Compose files do) are dropped before
//! decoding; a spec using neither decodes straight from its text, so its errors keep the line
//! serde found them on.

use std::path::Path;

use serde_yaml_ng::Value;

use super::{find_line, v1, yaml_error, SpecError};

/// The set `text` (read from `path`) holds.
pub(super) fn decode(path: &Path, text: &str) -> Result<v1::AlertSetV1, SpecError> {
    let mut value: Value = serde_yaml_ng::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let dropped = drop_extension_keys(&mut value);
    if !dropped && !has_merge_key(&value) {
        return serde_yaml_ng::from_str(text).map_err(|e| yaml_error(path, &e));
    }
    value.apply_merge().map_err(|e| yaml_error(path, &e))?;
    serde_yaml_ng::from_value(value.clone()).map_err(|e| {
        // A value has no lines, and its errors no path: the merged spec is decoded again as text
        // for the path (`alerts[0].condition.threshold.value: invalid type …`), and an unknown key
        // is looked for in the spec's own text.
        let merged = serde_yaml_ng::to_string(&value).ok();
        let again = merged.and_then(|t| serde_yaml_ng::from_str::<v1::AlertSetV1>(&t).err());
        let mut err = yaml_error(path, again.as_ref().unwrap_or(&e));
        err.line = err
            .message
            .split("unknown field `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .and_then(|key| find_line(text, &[key]));
        err
    })
}

/// Removes the top-level `x-…` keys; whether there were any.
fn drop_extension_keys(value: &mut Value) -> bool {
    let Some(map) = value.as_mapping_mut() else {
        return false;
    };
    let before = map.len();
    map.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with("x-")));
    map.len() != before
}

/// Whether any mapping in `value` has a `<<` key.
fn has_merge_key(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(v)),
        Value::Sequence(items) => items.iter().any(has_merge_key),
        Value::Tagged(tagged) => has_merge_key(&tagged.value),
        _ => false,
    }
}
