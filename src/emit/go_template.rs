//! The part of Prometheus's alert templates alertlab writes through to its rules and expands in
//! the promtool tests it generates: `{{ $labels.NAME }}` (or `{{ .Labels.NAME }}`) and
//! `{{ $value }}` (or `{{ .Value }}`), the value optionally through `humanize`,
//! `humanizePercentage` or `humanizeDuration` (`{{ $value | humanize }}`, `{{ humanize $value }}`)
//! or `printf` with one `%.Nf` or `%.Ng` verb (`{{ printf "%.2f" $value }}`).
//!
//! Prometheus expands an alert's annotations as Go templates at every evaluation that returns the
//! alert's sample, with that sample's labels and value. A generated promtool test must expect the
//! expanded text, so alertlab writes a template through only when it can expand it exactly as Go
//! and Prometheus do (Go's `%v` and `%.4g` of a float64, Prometheus's SI prefixes); any other
//! action (`query`, `if`, other functions and verbs, trim markers) keeps the text literal,
//! escaped, as before.

use std::collections::BTreeMap;

/// Text with the actions alertlab can expand.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// `$labels.NAME`: the label's value, empty when the sample has no such label.
    Label(String),
    Value(ValueFormat),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ValueFormat {
    /// Go's `%v` of a float64.
    Plain,
    Humanize,
    HumanizePercentage,
    HumanizeDuration,
    /// `printf "%.Nf"`.
    Fixed(usize),
    /// `printf "%.Ng"`.
    Significant(usize),
}

impl Template {
    /// `text` as a template whose every action alertlab can expand; `None` when one is another
    /// (or a `{{` is never closed).
    pub fn parse(text: &str) -> Option<Template> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let end = rest[start..].find("}}")? + start;
            pieces.push(action(&rest[start + 2..end])?);
            rest = &rest[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Some(Template(pieces))
    }

    /// Whether the text holds an action at all (plain text is written escaped, as it always was).
    pub fn has_actions(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Piece::Text(_)))
    }

    /// Whether the text shows the alert's value (in any format).
    pub fn uses_value(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Piece::Value(_)))
    }

    /// What Prometheus renders for a sample with `labels` and `value`.
    pub fn expand(&self, labels: &BTreeMap<String, String>, value: f64) -> String {
        self.0
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Label(name) => labels.get(name).cloned().unwrap_or_default(),
                Piece::Value(ValueFormat::Plain) => go_float(value),
                Piece::Value(ValueFormat::Humanize) => humanize(value),
                Piece::Value(ValueFormat::HumanizePercentage) => humanize_percentage(value),
                Piece::Value(ValueFormat::HumanizeDuration) => humanize_duration(value),
                Piece::Value(ValueFormat::Fixed(n)) => go_f(value, *n),
                Piece::Value(ValueFormat::Significant(n)) => go_g(value, Some(*n)),
            })
            .collect()
    }
}

/// One action's inside (between `{{` and `}}`), when alertlab can expand it.
fn action(inside: &str) -> Option<Piece> {
    // `{{-` and `-}}` trim the text around the action: not expanded here.
    if inside.starts_with('-') || inside.ends_with('-') {
        return None;
    }
    // A pipe needs no spaces around it (`{{$value|humanize}}`).
    let spaced = inside.replace('|', " | ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let is_value = |w: &str| w == "$value" || w == ".Value";
    let format = |f: &str| match f {
        "humanize" => Some(ValueFormat::Humanize),
        "humanizePercentage" => Some(ValueFormat::HumanizePercentage),
        "humanizeDuration" => Some(ValueFormat::HumanizeDuration),
        _ => None,
    };
    // `"%.2f"`: one verb, nothing around it (Go's `%g` of precision 0 is precision 1).
    let verb = |quoted: &str| {
        let spec = quoted.strip_prefix("\"%.")?.strip_suffix('"')?;
        let (digits, kind) = spec.split_at(spec.len().checked_sub(1)?);
        let n: usize = digits.parse().ok().filter(|n| *n <= 20)?;
        match kind {
            "f" => Some(ValueFormat::Fixed(n)),
            "g" => Some(ValueFormat::Significant(n.max(1))),
            _ => None,
        }
    };
    match words.as_slice() {
        [w] if is_value(w) => Some(Piece::Value(ValueFormat::Plain)),
        [w] => {
            let name = w
                .strip_prefix("$labels.")
                .or_else(|| w.strip_prefix(".Labels."))?;
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with("__");
            valid.then(|| Piece::Label(name.to_string()))
        }
        [v, "|", f] if is_value(v) => format(f).map(Piece::Value),
        [f, v] if is_value(v) => format(f).map(Piece::Value),
        ["printf", spec, v] if is_value(v) => verb(spec).map(Piece::Value),
        [v, "|", "printf", spec] if is_value(v) => verb(spec).map(Piece::Value),
        _ => None,
    }
}

/// Go's `%v` of a float64 (`fmt.Sprint`): the shortest digits that read back as `v`, in `%e`
/// form when the exponent is below −4 or at least 6 (`1e+06`, but `123456`).
pub fn go_float(v: f64) -> String {
    go_g(v, None)
}

/// Go's `%g` of a float64 with `precision` significant digits (`None`: the shortest that reads
/// back, as `%v` prints): `%e` form (`1.235e+07`) when the exponent is below −4 or at least the
/// precision (6 for the shortest), `%f` otherwise, trailing zeros dropped either way.
fn go_g(v: f64, precision: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    // The significant digits (trailing zeros dropped) and the decimal exponent of the first.
    let scientific = match precision {
        Some(p) => format!("{:.*e}", p.max(1) - 1, v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mut digits, mut exponent) = digits_of(&scientific);
    if precision.is_none() {
        if let Some(even) = shortest_tie_to_even(v.abs(), digits.len()) {
            (digits, exponent) = even;
        }
    }
    if digits == "0" {
        return format!("{sign}0");
    }
    let nd = digits.len() as i32;
    let dp = exponent + 1;
    let (prec, eprec) = match precision {
        None => (nd, 6),
        Some(p) => {
            let p = p.max(1) as i32;
            let eprec = if p > nd && nd >= dp { nd } else { p };
            (p, eprec)
        }
    };
    if exponent < -4 || exponent >= eprec {
        let shown = prec.min(nd) as usize;
        let mut out = format!("{sign}{}", &digits[..1]);
        if shown > 1 {
            out.push('.');
            out.push_str(&digits[1..shown]);
        }
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        out.push_str(&format!("e{exp_sign}{:02}", exponent.abs()));
        return out;
    }
    let prec = if prec > dp { nd } else { prec };
    let decimals = (prec - dp).max(0) as usize;
    let digit = |i: i32| -> char {
        if i >= 0 && i < nd {
            digits.as_bytes()[i as usize] as char
        } else {
            '0'
        }
    };
    let integer: String = if dp > 0 {
        (0..dp).map(digit).collect()
    } else {
        "0".into()
    };
    let fraction: String = (dp..dp + decimals as i32).map(digit).collect();
    if fraction.is_empty() {
        format!("{sign}{integer}")
    } else {
        format!("{sign}{integer}.{fraction}")
    }
}

/// The significant digits of a `{:e}` text (trailing zeros dropped) and the decimal exponent of
/// the first.
fn digits_of(scientific: &str) -> (String, i32) {
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is a number");
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exponent)
}

/// When `v` lies exactly halfway between the two `n`-digit decimals around it (its exact value has
/// a 5 at digit n + 1 and nothing after), both read back as `v`; Go's shortest formatting takes
/// the one whose last digit is even (Rust's may take the other): that one, as digits and exponent.
fn shortest_tie_to_even(v: f64, n: usize) -> Option<(String, i32)> {
    // Exact: a tie has at most n + 1 ≤ 18 significant digits.
    let (exact, exponent) = digits_of(&format!("{v:.40e}"));
    if exact.len() != n + 1 || !exact.ends_with('5') {
        return None;
    }
    let lower = &exact[..n];
    if (lower.as_bytes()[n - 1] - b'0') % 2 == 0 {
        let (digits, _) = digits_of(&format!("{lower}e0"));
        return Some((digits, exponent));
    }
    // The upper neighbour, carried (`…9` + 1 is `…0`, a carry out of the first digit `1`).
    let (mut up, mut exponent) = (lower.as_bytes().to_vec(), exponent);
    let mut i = n;
    loop {
        if i == 0 {
            up.insert(0, b'1');
            exponent += 1;
            break;
        }
        i -= 1;
        if up[i] == b'9' {
            up[i] = b'0';
        } else {
            up[i] += 1;
            break;
        }
    }
    let up = String::from_utf8(up).ok()?;
    Some((digits_of(&format!("{up}e0")).0, exponent))
}

/// Prometheus's `humanize`: SI prefixes (`1.235M`, `500m`), four significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        (v, prefix) = submultiple(v);
    }
    format!("{}{prefix}", go_g(v, Some(4)))
}

/// `v` (below 1 in size) times 1000 per SI prefix (`m`, `u`, …, `y`) until it is at least 1, and
/// the prefix: how `humanize` and `humanizeDuration` write small values.
fn submultiple(mut v: f64) -> (f64, &'static str) {
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

/// Go's `%.Nf` of a float64 (`NaN`, `+Inf`, `-Inf` as Go writes them).
fn go_f(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return go_g(v, None);
    }
    format!("{v:.decimals$}")
}

/// Prometheus's `humanizeDuration`: seconds as `1d 2h 3m 4s` (whole seconds from a minute up),
/// four significant digits below (`1.5s`, `250ms`).
pub fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        // Go's int64 conversion truncates; beyond its range (292 billion years) it gives, on
        // amd64, the smallest int64, whose negative remainders Go prints as they are.
        let whole = if v < 9_223_372_036_854_775_808.0 {
            v.trunc() as i64
        } else {
            i64::MIN
        };
        let (seconds, minutes) = (whole % 60, (whole / 60) % 60);
        let (hours, days) = ((whole / 3600) % 24, whole / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v, Some(4)))
        };
    }
    let (v, prefix) = submultiple(v);
    format!("{}{prefix}s", go_g(v, Some(4)))
}

/// Prometheus's `humanizePercentage`: the value × 100 with four significant digits and `%`.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", go_g(v * 100.0, Some(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures read from `promtool test rules` (Prometheus 2.42) expanding these templates.
    #[test]
    fn values_render_as_prometheus_renders_them() {
        for (v, plain, human, percent) in [
            (1234567.0, "1.234567e+06", "1.235M", "1.235e+08%"),
            (0.5, "0.5", "500m", "50%"),
            (0.00001, "1e-05", "10u", "0.001%"),
            (100.0, "100", "100", "1e+04%"),
            (1e21, "1e+21", "1Z", "1e+23%"),
            (123456.0, "123456", "123.5k", "1.235e+07%"),
            (0.125, "0.125", "125m", "12.5%"),
            (1.0625, "1.0625", "1.062", "106.2%"),
            (999.95, "999.95", "1000", "1e+05%"),
            (0.000123456, "0.000123456", "123.5u", "0.01235%"),
        ] {
            assert_eq!(go_float(v), plain, "{v}");
            assert_eq!(humanize(v), human, "{v}");
            assert_eq!(humanize_percentage(v), percent, "{v}");
        }
        // Halfway between two shortest decimals, Go takes the even one (promtool: `…562e+12`).
        let tie: f64 = "9015427170161.5625".parse().unwrap();
        assert_eq!(go_float(tie), "9.015427170161562e+12");
        assert_eq!(go_float(-2.5), "-2.5");
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn only_actions_alertlab_can_expand_are_a_template() {
        let t = Template::parse("{{ $labels.job }} at {{$value|humanize}} ({{ humanizePercentage .Value }}) {{ .Labels.x }}").unwrap();
        assert!(t.has_actions());
        let labels = BTreeMap::from([("job".to_string(), "api".to_string())]);
        assert_eq!(t.expand(&labels, 0.5), "api at 500m (50%) ");
        assert!(!Template::parse("plain } text").unwrap().has_actions());
        let formats = Template::parse(
            "{{ printf \"%.2f\" $value }} {{ $value | printf \"%.3g\" }} {{ humanizeDuration $value }}",
        )
        .unwrap();
        assert_eq!(formats.expand(&labels, 3725.5), "3725.50 3.73e+03 1h 2m 5s");
        for other in [
            "{{ printf \"%d\" $value }}",
            "{{ printf \"%.2f %s\" $value }}",
            "{{ $value | humanize1024 }}",
            "{{- $value }}",
            "{{ $labels.__name__ }}",
            "{{ range query \"up\" }}{{ end }}",
            "{{ $value",
            "{{ $externalLabels.cluster }}",
        ] {
            assert_eq!(Template::parse(other), None, "{other}");
        }
    }
}
