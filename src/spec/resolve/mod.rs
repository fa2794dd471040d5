//! From the decoded v1 spec to the version-free model: apply per-env overrides, fill defaults,
//! validate every value against what CloudWatch and Prometheus accept, and locate each error.
//!
//! [`resolve`] walks the set; each alert in each env is a [`Site`] (where its errors point) handed to
//! `alert`, which resolves its parts with `condition` and `evaluation`; `environments` decides who
//! owns shared resources.

mod alert;
mod condition;
mod environments;
mod evaluation;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::*;
use super::v1::{self, Merge};
use super::{find_line, tunable, SpecError};
use crate::series::time::{parse_duration, DAY_MS, MAX_DURATION_MS, SECOND_MS};
use alert::resolve_alert;
use environments::resolve_environments;

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    /// `metadata.labels`: labels of every alert of the set (an alert's own `labels` win).
    set_labels: &'a BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// An error at `key` inside alert `alert` (and env override `env`, when given).
    fn err(
        &self,
        alert: Option<&str>,
        env: Option<&str>,
        key: &str,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        let alert_key = alert.map(|a| format!("name: {a}"));
        let mut path: Vec<&str> = Vec::new();
        if let Some(a) = &alert_key {
            path.push(a);
        }
        if let Some(e) = env {
            path.push("overrides");
            path.push(e);
        }
        path.push(key);
        let line =
            find_line(self.text, &path).or_else(|| find_line(self.text, &path[..path.len() - 1]));
        self.located(line, alert, env, message, hint)
    }

    /// An error at `line`, its message scoped to `alert` (and `env`).
    fn located(
        &self,
        line: Option<usize>,
        alert: Option<&str>,
        env: Option<&str>,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        let scope = match (alert, env) {
            (Some(a), Some(e)) => format!("alert `{a}`, env `{e}`: "),
            (Some(a), None) => format!("alert `{a}`: "),
            _ => String::new(),
        };
        SpecError {
            path: self.path.to_path_buf(),
            line,
            message: format!("{scope}{message}"),
            hint,
        }
    }
}

/// Resolve `raw` (decoded from `text`, a tuned overlay merged in when `written`, the spec before
/// it, is given).
pub fn resolve(
    path: &Path,
    text: &str,
    raw: v1::AlertSetV1,
    written: Option<v1::AlertSetV1>,
) -> Result<AlertSet, SpecError> {
    let ctx = Ctx {
        path,
        text,
        set_labels: &raw.metadata.labels,
    };
    let raw_spec = std::sync::Arc::new(RawSpec {
        text: text.to_string(),
        v1: raw.clone(),
        written,
    });
    if raw.kind != "AlertSet" {
        return Err(ctx.err(
            None,
            None,
            "kind",
            format!("`kind` must be `AlertSet`, got `{}`", raw.kind),
            None,
        ));
    }
    safe_component(&ctx, "name", "`metadata.name`", &raw.metadata.name)?;
    let environments = resolve_environments(&ctx, &raw.environments)?;
    if raw.alerts.is_empty() {
        return Err(ctx.err(None, None, "alerts", "`alerts` is empty".into(), None));
    }
    let mut alerts: Vec<Alert> = Vec::new();
    let mut names: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for a in &raw.alerts {
        if !a
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || a.name.is_empty()
        {
            return Err(ctx.err(
                Some(&a.name),
                None,
                "name",
                format!(
                    "alert name `{}` may use only letters, digits, `-` and `_`",
                    a.name
                ),
                None,
            ));
        }
        if !names.insert(a.name.as_str()) {
            return Err(ctx.err(
                Some(&a.name),
                None,
                "name",
                format!("alert `{}` is defined twice", a.name),
                None,
            ));
        }
        // A spec without environments has the one called `default` (what a tuned overlay of it
        // names).
        let known = |env: &str| {
            environments.contains_key(env) || (environments.is_empty() && env == DEFAULT_ENV)
        };
        for env in a.overrides.keys().chain(a.environments.iter().flatten()) {
            if !known(env) {
                return Err(ctx.err(
                    Some(&a.name),
                    None,
                    env,
                    format!("unknown environment `{env}`"),
                    Some(if environments.is_empty() {
                        format!("this spec has no `environments`: its one environment is `{DEFAULT_ENV}`")
                    } else {
                        format!(
                            "environments of this spec: {}",
                            environments.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }),
                ));
            }
        }
        let mut per_env = BTreeMap::new();
        let env_names: Vec<String> = if environments.is_empty() {
            vec![DEFAULT_ENV.to_string()]
        } else {
            environments.keys().cloned().collect()
        };
        for env_name in env_names {
            if a.environments
                .as_ref()
                .is_some_and(|only| !only.contains(&env_name))
            {
                continue;
            }
            let over = a.overrides.get(&env_name);
            if over.and_then(|o| o.enabled) == Some(false) {
                continue;
            }
            let site = Site {
                ctx: &ctx,
                alert: &a.name,
                override_env: over.map(|_| env_name.as_str()),
                env_name: &env_name,
                env: environments.get(&env_name),
            };
            let resolved = resolve_alert(&site, a, over)?;
            per_env.insert(env_name.clone(), resolved);
        }
        alerts.push(Alert {
            name: a.name.clone(),
            per_env,
            tune: resolve_tune_block(&ctx, a)?,
        });
    }
    let notifications = raw
        .notifications
        .map(|n| Notifications {
            sns_topic: n.sns_topic,
            slack: n.slack.map(|s| (s.workspace_id, s.channel_id)),
        })
        .unwrap_or_default();
    Ok(AlertSet {
        name: raw.metadata.name,
        source: path.to_path_buf(),
        raw: raw_spec,
        tuned: None,
        tuned_on_other_spec: false,
        environments,
        notifications,
        alerts,
    })
}

/// An alert's `tune:` block, each value read as its key takes it (`tune` searches it; a typo in it is
/// a spec error for every command, at the line of its key).
fn resolve_tune_block(ctx: &Ctx, alert: &v1::AlertV1) -> Result<Option<tunable::Grid>, SpecError> {
    let Some(block) = &alert.tune else {
        return Ok(None);
    };
    let mut grid = Vec::with_capacity(block.len());
    for (key, values) in block {
        let err = |message: String| {
            let name = format!("name: {}", alert.name);
            let line = find_line(ctx.text, &[&name, "tune", key])
                .or_else(|| find_line(ctx.text, &[&name, "tune"]));
            let message = format!("`tune:` block: {message}");
            ctx.located(line, Some(&alert.name), None, message, None)
        };
        if values.is_empty() {
            return Err(err(format!("grid key `{key}` lists no values")));
        }
        let parsed = values
            .iter()
            .map(|v| tunable::parse_value(key, &v.0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        grid.push((key.clone(), parsed));
    }
    Ok(Some(grid))
}

/// Names that become file names of generated output (`metadata.name`, `cluster`) must be one safe
/// path component: letters, digits, `.`, `-`, `_`, not starting with `.` or `-`, at most 100
/// characters — so nothing is ever written outside the output folder.
fn safe_component(ctx: &Ctx, key: &str, what: &str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        return Ok(());
    }
    Err(ctx.err(
        None,
        None,
        key,
        format!(
            "{what} `{}` becomes a file name: use letters, digits, `.`, `-` and `_` (starting with a letter or digit, at most 100 characters)",
            value.escape_debug()
        ),
        None,
    ))
}

/// One alert in one env as the resolver sees it: where its errors point (the alert, and the env's
/// override when its values came through one) and what its placeholders are filled with.
struct Site<'a> {
    ctx: &'a Ctx<'a>,
    alert: &'a str,
    /// The env whose `overrides` entry was merged in: errors point into it.
    override_env: Option<&'a str>,
    env_name: &'a str,
    env: Option<&'a Environment>,
}

impl Site<'_> {
    /// An error at `key` of this alert (inside its env's override, when it has one).
    fn err(&self, key: &str, message: String, hint: Option<String>) -> SpecError {
        self.ctx
            .err(Some(self.alert), self.override_env, key, message, hint)
    }

    /// An error about the alert as a whole (in this env), at its `name:` line.
    fn err_at_name(&self, message: String, hint: Option<String>) -> SpecError {
        let name = format!("name: {}", self.alert);
        let line = find_line(self.ctx.text, &[&name]);
        self.ctx
            .located(line, Some(self.alert), self.override_env, message, hint)
    }

    /// The duration at `key`, `default_ms` when unset; at most [`MAX_DURATION_MS`].
    fn duration(
        &self,
        key: &str,
        d: &Option<v1::Duration>,
        default_ms: i64,
    ) -> Result<i64, SpecError> {
        match d {
            None => Ok(default_ms),
            Some(v1::Duration(text)) => {
                let ms = parse_duration(text).ok_or_else(|| {
                    self.err(
                        key,
                        format!("`{key}`: `{text}` is not a non-negative duration"),
                        Some("write it like `30s`, `15m`, `1h30m` or `0`".into()),
                    )
                })?;
                if ms > MAX_DURATION_MS {
                    return Err(self.err(
                        key,
                        format!("`{key}`: `{text}` is longer than a year, the longest duration alertlab accepts"),
                        None,
                    ));
                }
                Ok(ms)
            }
        }
    }

    /// Substitute `{{env}}`, `{{account}}`, `{{region}}` and `{{alert}}`; any other `{{…}}` is an error.
    fn template(&self, key: &str, text: &str) -> Result<String, SpecError> {
        self.substitute(key, text, false)
    }

    /// [`Site::template`] for text people read (`summary`, `description`, `runbook_url`): the same
    /// placeholders, and any other `{{…}}` left as written — a Prometheus template such as
    /// `{{ $labels.instance }}` (which no placeholder name looks like) is the rule's to expand.
    fn text_template(&self, key: &str, text: &str) -> Result<String, SpecError> {
        self.substitute(key, text, true)
    }

    fn substitute(&self, key: &str, text: &str, keep_others: bool) -> Result<String, SpecError> {
        let (ctx, alert, env, e) = (self.ctx, self.alert, self.env_name, self.env);
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else {
                if keep_others {
                    // Text, not a placeholder: written as it is (and escaped for Prometheus).
                    out.push_str(&rest[start..]);
                    return Ok(out);
                }
                return Err(ctx.err(
                    Some(alert),
                    None,
                    key,
                    format!("`{key}`: unclosed `{{{{` in `{text}`"),
                    None,
                ));
            };
            let name = rest[start + 2..start + end].trim();
            let value = match name {
                "env" => env.to_string(),
                "alert" => alert.to_string(),
                "account" => e.map(|e| e.account.clone()).unwrap_or_default(),
                "region" => e.map(|e| e.region.clone()).unwrap_or_default(),
                _ if keep_others => rest[start..start + end + 2].to_string(),
                _ => {
                    return Err(ctx.err(
                        Some(alert),
                        None,
                        key,
                        format!("`{key}`: unknown placeholder `{{{{{name}}}}}`"),
                        Some("placeholders: {{env}}, {{account}}, {{region}}, {{alert}}".into()),
                    ))
                }
            };
            out.push_str(&value);
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Whether `seconds` is a CloudWatch period: 10, 20 or 30 (high resolution) or a whole number of
/// minutes.
pub fn is_cloudwatch_period(seconds: i64) -> bool {
    matches!(seconds, 10 | 20 | 30) || (seconds > 0 && seconds % 60 == 0)
}

/// The longest a CloudWatch alarm may look back, `period` × `evaluation_periods`, in seconds: a day
/// for periods under an hour, a week otherwise (PutMetricAlarm's limits).
pub fn evaluation_limit_s(period_s: i64) -> i64 {
    if period_s < 3600 {
        DAY_MS / SECOND_MS
    } else {
        7 * DAY_MS / SECOND_MS
    }
}

/// Largest `evaluation_periods` / `evaluation_range` (a week of 1-minute periods; CloudWatch's own
/// limits are far lower).
const MAX_EVALUATION_PERIODS: usize = 10_080;

fn relative_to_spec(spec: &Path, file: &str) -> PathBuf {
    let p = PathBuf::from(file);
    if p.is_absolute() {
        p
    } else {
        spec.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Resolve one alert in one env with `extra` merged over the env's override (see
/// [`super::resolve_with`]).
pub fn resolve_with(
    path: &Path,
    text: &str,
    raw: &v1::AlertSetV1,
    alert: &str,
    env: &str,
    extra: &v1::OverrideV1,
) -> Result<ResolvedAlert, SpecError> {
    let ctx = Ctx {
        path,
        text,
        set_labels: &raw.metadata.labels,
    };
    let environments = resolve_environments(&ctx, &raw.environments)?;
    let a = raw
        .alerts
        .iter()
        .find(|a| a.name == alert)
        .ok_or_else(|| ctx.err(None, None, "alerts", format!("no alert `{alert}`"), None))?;
    let mut over = a.overrides.get(env).cloned().unwrap_or_default();
    over.merge(extra);
    let site = Site {
        ctx: &ctx,
        alert: &a.name,
        override_env: Some(env),
        env_name: env,
        env: environments.get(env),
    };
    resolve_alert(&site, a, Some(&over))
}
