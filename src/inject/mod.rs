//! Seeded synthetic anomalies, to measure recall where no incident is labelled: spikes, level
//! shifts, gradual drifts, dropouts (missing data — where `treat_missing_data` matters) and bursts
//! of variance, each sized in robust standard deviations of the series ([`robust_sigma`]), placed at
//! random times away from labelled windows, from one another and from the start of the history
//! (where bands are still warming up). The same seed gives the same anomalies.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::band::seasonal::sigma_from;
use crate::rng::Rng;
use crate::score::Incident;
use crate::series::time::{format_prometheus_duration, parse_duration, HOUR_MS};
use crate::series::Series;

mod place;

/// A kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A few samples far above the level.
    Spike,
    /// The level moves by `size` σ for hours.
    Shift,
    /// The level ramps up to `size` σ over hours, then back.
    Drift,
    /// No samples for `size` (a duration).
    Drop,
    /// The noise around the level grows `size`-fold for hours.
    Variance,
}

impl Kind {
    pub const NAMES: &'static [&'static str] = &["spike", "shift", "drift", "drop", "variance"];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Spike => "spike",
            Kind::Shift => "shift",
            Kind::Drift => "drift",
            Kind::Drop => "drop",
            Kind::Variance => "variance",
        })
    }
}

/// One anomaly to inject: its kind and size (σ, or a duration in ms for `drop`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    pub kind: Kind,
    pub size: f64,
}

impl Anomaly {
    /// How it is written: `spike:4`, `drop:30m`.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Drop => format!("drop:{}", format_prometheus_duration(self.size as i64)),
            k => format!("{k}:{}", self.size),
        }
    }
}

impl FromStr for Anomaly {
    type Err = String;
    /// `KIND:SIZE`: `spike:4`, `shift:3`, `drift:2`, `variance:3` (σ), `drop:30m` (a duration).
    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, size) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}`: expected KIND:SIZE, e.g. `spike:4` or `drop:30m`"))?;
        let kind = match kind.trim() {
            "spike" => Kind::Spike,
            "shift" => Kind::Shift,
            "drift" => Kind::Drift,
            "drop" | "dropout" => Kind::Drop,
            "variance" => Kind::Variance,
            other => {
                return Err(format!(
                    "`{other}` is no anomaly kind; expected one of {}",
                    Kind::NAMES.join(", ")
                ))
            }
        };
        let size = if kind == Kind::Drop {
            parse_duration(size)
                .filter(|d| *d > 0 && *d <= 7 * 24 * HOUR_MS)
                .ok_or_else(|| {
                    format!("`{text}`: a dropout lasts a duration up to a week, like `30m`")
                })? as f64
        } else {
            size.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1000.0)
                .ok_or_else(|| format!("`{text}`: the size is a positive number of σ up to 1000"))?
        };
        Ok(Anomaly { kind, size })
    }
}

/// Parse `spike:4,shift:3,drop:30m`.
pub fn parse_list(text: &str) -> Result<Vec<Anomaly>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// An anomaly placed in a series: where, what and how big.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Injected {
    pub start: i64,
    pub end: i64,
    pub kind: Kind,
    pub size: f64,
}

impl Injected {
    pub fn incident(&self) -> Incident {
        Incident::window(self.start, self.end)
    }

    pub fn label(&self) -> String {
        Anomaly {
            kind: self.kind,
            size: self.size,
        }
        .label()
    }
}

/// Robust σ of the real values about their median, by the seasonal band's own rule
/// ([`sigma_from`]: the MAD, or the mean absolute deviation when more than half the values are the
/// same). `None` when the values do not vary at all or there are none: a size in σ means nothing
/// there.
pub fn robust_sigma(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let median = v[v.len() / 2];
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    // Summed before the deviations are sorted: the order the injected sizes were measured with.
    let mean_abs = dev.iter().sum::<f64>() / dev.len() as f64;
    dev.sort_by(f64::total_cmp);
    let sigma = sigma_from(dev[dev.len() / 2], || mean_abs);
    (sigma > 0.0 && sigma.is_finite()).then_some(sigma)
}

/// A note naming the series no anomaly could be sized for ([`robust_sigma`] is `None`: their values
/// do not vary, or there are none), or `None` when there are none.
pub fn unsized_note(series: &[String]) -> Option<String> {
    let mut names: Vec<&str> = series.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    const SHOWN: usize = 5;
    let more = names.len().saturating_sub(SHOWN);
    (!names.is_empty()).then(|| {
        let listed: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
        format!(
            "no anomaly went into {} series whose values do not vary (or that hold none), as sizes in robust σ mean nothing there: {}{}",
            names.len(),
            listed.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        )
    })
}

/// The closest two anomalies (or an anomaly and a labelled window) are placed when a day apart
/// leaves no room: by then an alarm over the first has ended (M of N periods, a `for` of minutes)
/// and a trailing band of up to six hours (the widest window the default grid tries) no longer
/// holds it, so each is judged on its own. Two weeks of history — what CloudWatch keeps at one
/// minute — held only four of ten anomalies a day apart (five kinds, two each).
pub const MIN_GAP_MS: i64 = 6 * HOUR_MS;

/// How long an anomaly of `kind` lasts, in ms, for a series sampled every `step` ms.
fn duration_ms(a: &Anomaly, step: i64) -> i64 {
    match a.kind {
        Kind::Spike => 3 * step,
        Kind::Shift => 6 * HOUR_MS,
        Kind::Drift => 6 * HOUR_MS,
        Kind::Variance => 2 * HOUR_MS,
        Kind::Drop => a.size as i64,
    }
}

/// `series` with `count` of each anomaly injected at seeded random times, and where they are.
/// Anomalies are placed after the first 40 % of the history (bands need history), apart from each
/// other and from `avoid` (labelled windows) by a day or a quarter of the history, whichever is
/// less; when that leaves no room, by less, down to [`MIN_GAP_MS`]; an anomaly that still finds no
/// free place is left out ([`shortfall`] says which). They are placed a round at a time — one of
/// each anomaly, then the second of each — so that when the history has room for only some, every
/// kind asked for gets its first place before any gets a second (placing all of one kind first
/// left the last kinds out on a two-week history).
pub fn inject(
    series: &Series,
    anomalies: &[Anomaly],
    count: usize,
    seed: u64,
    avoid: &[Incident],
) -> Injection {
    inject_within(series, anomalies, count, seed, avoid, (i64::MIN, i64::MAX))
}

/// A series with anomalies injected, and where they went.
#[derive(Debug)]
pub struct Injection {
    pub series: Series,
    pub placed: Vec<Injected>,
    /// No anomaly could be sized: the values do not vary, or there are none ([`robust_sigma`] is
    /// `None`), so none was placed.
    pub no_spread: bool,
}

/// [`inject`] into the part of the history inside `within` (`[start, end]`, UTC ms): the span a
/// backtest evaluates (`--start`/`--end`), so that every anomaly is one the replay can judge.
/// Over the whole history it places exactly what [`inject`] does.
pub fn inject_within(
    series: &Series,
    anomalies: &[Anomaly],
    count: usize,
    seed: u64,
    avoid: &[Incident],
    within: (i64, i64),
) -> Injection {
    let mut out = series.clone();
    let mut placed: Vec<Injected> = Vec::new();
    let Some(sigma) = robust_sigma(&series.values) else {
        return Injection {
            series: out,
            placed,
            no_spread: true,
        };
    };
    let nothing = |series| Injection {
        series,
        placed: Vec::new(),
        no_spread: false,
    };
    let (Some(&origin), Some(&series_last)) = (series.timestamps.first(), series.timestamps.last())
    else {
        return nothing(out);
    };
    let (first, last) = (origin.max(within.0), series_last.min(within.1));
    if first >= last {
        return nothing(out);
    }
    let step = crate::series::median_step_ms(series)
        .unwrap_or(60_000)
        .max(1);
    let span = last - first;
    let gap = (24 * HOUR_MS).min(span / 4);
    // The seed and the series name make each series' anomalies different but reproducible.
    let name_hash = series.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng::new(seed ^ name_hash);
    let earliest = first + span * 2 / 5;
    let busy = |placed: &[Injected]| -> Vec<(i64, i64)> {
        avoid
            .iter()
            .map(|i| (i.start, i.end))
            .chain(placed.iter().map(|p| (p.start, p.end)))
            .collect()
    };
    let mut left = Vec::new();
    for _round in 0..count {
        for a in anomalies {
            let len = duration_ms(a, step);
            if earliest + len > last {
                continue;
            }
            let taken = busy(&placed);
            let mut spot = None;
            for _ in 0..200 {
                let s = rng.int(earliest, last - len);
                let s = origin + (s - origin) / step * step; // on a sample
                if !taken.iter().any(|b| place::too_close(s, len, gap, *b)) {
                    spot = Some(s);
                    break;
                }
            }
            match spot {
                Some(start) => put(&mut out, &mut placed, a, (start, len), sigma, &mut rng),
                None => left.push(a),
            }
        }
    }
    // What the random tries found no room for takes the room there is, found exactly: at the same
    // gap, then at half of it, down to MIN_GAP_MS (after every other placement, so the anomalies
    // placed by the tries are the same whether or not some are left over).
    let mut narrower = gap;
    while !left.is_empty() && narrower >= gap.min(MIN_GAP_MS) {
        let mut still = Vec::new();
        for a in left {
            let len = duration_ms(a, step);
            let free = place::free_starts(
                (earliest, last - len),
                len,
                narrower,
                busy(&placed).into_iter(),
                (origin, step),
            );
            match place::pick(&free, step, &mut rng) {
                Some(start) => put(&mut out, &mut placed, a, (start, len), sigma, &mut rng),
                None => still.push(a),
            }
        }
        left = still;
        narrower /= 2;
    }
    placed.sort_by_key(|p| p.start);
    Injection {
        series: out,
        placed,
        no_spread: false,
    }
}

/// Of `count` of each of `anomalies` asked for, how many of each found no place (by label, e.g.
/// `drift:4` → 2), given what [`inject`] placed.
pub fn shortfall(
    anomalies: &[Anomaly],
    count: usize,
    placed: &[Injected],
) -> BTreeMap<String, usize> {
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    for a in anomalies {
        *missing.entry(a.label()).or_default() += count;
    }
    for p in placed {
        if let Some(n) = missing.get_mut(&p.label()) {
            *n = n.saturating_sub(1);
        }
    }
    missing.retain(|_, n| *n > 0);
    missing
}

/// A sentence for anomalies that found no place (`missing` from [`shortfall`], summed over series,
/// of `asked` in all), or `None` when all were placed.
pub fn shortfall_note(missing: &BTreeMap<String, usize>, asked: usize) -> Option<String> {
    let left_out: usize = missing.values().sum();
    (left_out > 0).then(|| {
        let which: Vec<String> = missing.iter().map(|(l, n)| format!("{l} ×{n}")).collect();
        format!(
            "{left_out} of {asked} injected anomalies found no place ({}): they go after the first 40 % of a series, 6 hours to a day apart from each other and from any labelled window; a longer history or a smaller count places them all",
            which.join(", ")
        )
    })
}

/// What a setting misses of the injected anomalies, from its recall per kind and size
/// (`shift:2` → 0.5): `misses every spike:3; 50 % of shift:2`; `None` when it caught them all.
/// The sizes say where the setting's reach ends ("misses the level shifts under 3σ").
pub fn misses_note(recall_by_kind: &BTreeMap<String, f64>) -> Option<String> {
    let mut all = Vec::new();
    let mut some = Vec::new();
    for (label, recall) in recall_by_kind {
        if *recall <= 0.0 {
            all.push(label.clone());
        } else if *recall < 1.0 {
            some.push(format!("{:.0} % of {label}", (1.0 - recall) * 100.0));
        }
    }
    let mut parts = Vec::new();
    if !all.is_empty() {
        parts.push(format!("every {}", all.join(", ")));
    }
    if !some.is_empty() {
        parts.push(some.join(", "));
    }
    (!parts.is_empty()).then(|| format!("misses {}", parts.join("; ")))
}

/// Why a Prometheus rule misses injected dropouts whatever its setting, when it does: a rule fires
/// only on what its expression returns, and a metric that stopped returns nothing (no `for` or
/// band width changes that); `absent_over_time` is the rule that sees it.
pub fn dropout_hint(engine: &str, recall_by_kind: &BTreeMap<String, f64>) -> Option<&'static str> {
    let missed = recall_by_kind
        .iter()
        .any(|(label, recall)| label.starts_with("drop:") && *recall < 1.0);
    (engine == "prometheus" && missed).then_some(
        "a rule fires only on what its expression returns and a stopped metric returns nothing: dropouts take an `absent_over_time(...)` rule beside this one",
    )
}

/// Inject `a` over `[start, start + len)` and record where it went.
fn put(
    out: &mut Series,
    placed: &mut Vec<Injected>,
    a: &Anomaly,
    (start, len): (i64, i64),
    sigma: f64,
    rng: &mut Rng,
) {
    let end = start + len;
    apply(out, a, start, end, sigma, rng);
    placed.push(Injected {
        start,
        end,
        kind: a.kind,
        size: a.size,
    });
}

fn apply(s: &mut Series, a: &Anomaly, start: i64, end: i64, sigma: f64, rng: &mut Rng) {
    let lo = s.timestamps.partition_point(|&t| t < start);
    let hi = s.timestamps.partition_point(|&t| t < end);
    let len = (end - start).max(1) as f64;
    for i in lo..hi {
        let v = &mut s.values[i];
        if v.is_nan() && a.kind != Kind::Drop {
            continue;
        }
        let at = (s.timestamps[i] - start) as f64 / len;
        match a.kind {
            Kind::Spike | Kind::Shift => *v += a.size * sigma,
            // Up over the first half, back over the second.
            Kind::Drift => *v += a.size * sigma * (1.0 - (2.0 * at - 1.0).abs()),
            Kind::Variance => *v += (a.size - 1.0).max(0.0) * sigma * rng.normal(),
            Kind::Drop => *v = f64::NAN,
        }
    }
    if a.kind == Kind::Drop {
        s.nan_samples.retain(|&i| i < lo || i >= hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(n: i64) -> Series {
        let mut rng = Rng::new(1);
        Series::from_sorted(
            "s",
            (0..n).map(|i| i * 60_000).collect(),
            (0..n).map(|_| 100.0 + rng.normal()).collect(),
        )
    }

    #[test]
    fn anomalies_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_list("spike:4,drop:30m").unwrap(),
            vec![
                Anomaly {
                    kind: Kind::Spike,
                    size: 4.0
                },
                Anomaly {
                    kind: Kind::Drop,
                    size: 1_800_000.0
                }
            ]
        );
        assert!(parse_list("spike").is_err());
        assert!(parse_list("wobble:3").is_err());
        assert!(parse_list("shift:-1").is_err());
        assert!(parse_list("drop:3").is_err());
    }

    /// A series that is mostly one value (an error count of 0 with bursts) has a MAD of 0: its σ
    /// falls back to the mean absolute deviation, so injected anomalies are sized like its bursts,
    /// not at 1e-9. A series that does not vary gets none, and says so.
    #[test]
    fn sigma_falls_back_on_mostly_flat_series_and_flat_ones_get_no_anomaly() {
        let mut counts = vec![0.0; 90];
        counts.extend([4.0; 10]);
        let sigma = robust_sigma(&counts).unwrap();
        assert!((sigma - 1.2533 * 0.4).abs() < 1e-12, "{sigma}");
        let mut rng = Rng::new(3);
        let normal: Vec<f64> = (0..10_000).map(|_| 50.0 + 2.0 * rng.normal()).collect();
        let sigma = robust_sigma(&normal).unwrap();
        assert!(
            (sigma - 2.0).abs() < 0.1,
            "MAD × 1.4826 estimates σ: {sigma}"
        );
        for values in [vec![7.0; 100], vec![f64::NAN; 100], Vec::new()] {
            assert_eq!(robust_sigma(&values), None);
        }
        let constant = Series::from_sorted(
            "c",
            (0..4000).map(|i| i * 60_000).collect(),
            vec![7.0; 4000],
        );
        let spike = [Anomaly {
            kind: Kind::Spike,
            size: 4.0,
        }];
        let flat_out = inject(&constant, &spike, 1, 1, &[]);
        assert!(flat_out.no_spread && flat_out.placed.is_empty());
        assert_eq!(flat_out.series.values, constant.values);
        let note = unsized_note(&["c".into(), "b".into(), "c".into()]).unwrap();
        assert!(
            note.contains("2 series") && note.contains("`b`, `c`"),
            "{note}"
        );
        assert_eq!(unsized_note(&[]), None);
    }

    #[test]
    fn injection_is_seeded_sized_in_sigma_and_avoids_labels() {
        let s = flat(4 * 1440);
        let kinds = parse_list("shift:5,drop:30m,spike:8").unwrap();
        let avoid = [Incident::window(
            3 * 1440 * 60_000,
            3 * 1440 * 60_000 + 3_600_000,
        )];
        let Injection {
            series: a, placed, ..
        } = inject(&s, &kinds, 1, 7, &avoid);
        let Injection {
            series: b,
            placed: again,
            ..
        } = inject(&s, &kinds, 1, 7, &avoid);
        assert_eq!(placed, again, "same seed, same anomalies");
        assert_eq!(a.values.len(), b.values.len());
        assert!(!placed.is_empty());
        for p in &placed {
            assert!(p.start >= s.timestamps[s.len() * 2 / 5] - 60_000);
            assert!(p.end < avoid[0].start || p.start > avoid[0].end);
            let i = s.timestamps.partition_point(|&t| t < p.start);
            match p.kind {
                Kind::Shift => {
                    assert!(a.values[i] - s.values[i] > 4.0 * robust_sigma(&s.values).unwrap())
                }
                Kind::Drop => assert!(a.values[i].is_nan()),
                _ => {}
            }
        }
    }

    /// Injected into a span, every anomaly lies inside it; over the whole history the span changes
    /// nothing.
    #[test]
    fn injection_within_a_span_stays_inside_it() {
        let s = flat(14 * 1440);
        let kinds = parse_list("shift:5,drift:4,drop:30m").unwrap();
        let whole = inject(&s, &kinds, 2, 3, &[]);
        let same = inject_within(&s, &kinds, 2, 3, &[], (i64::MIN, i64::MAX));
        assert_eq!(whole.placed, same.placed);
        let span = (2 * 1440 * 60_000, 7 * 1440 * 60_000);
        let placed = inject_within(&s, &kinds, 2, 3, &[], span).placed;
        assert!(!placed.is_empty());
        for p in &placed {
            assert!(
                p.start >= span.0 && p.end <= span.1,
                "{p:?} outside {span:?}"
            );
        }
        assert!(inject_within(&s, &kinds, 2, 3, &[], (5, 5))
            .placed
            .is_empty());
    }

    /// Two weeks of history (CloudWatch's one-minute retention) hold five kinds twice: what a day
    /// apart leaves no room for goes closer, never under [`MIN_GAP_MS`]; a history with room a
    /// day apart keeps them a day apart.
    #[test]
    fn two_weeks_hold_every_kind_twice_at_least_six_hours_apart() {
        let kinds = parse_list("spike:4,shift:3,drift:3,variance:3,drop:30m").unwrap();
        let gaps = |placed: &[Injected]| -> Vec<i64> {
            placed.windows(2).map(|w| w[1].start - w[0].end).collect()
        };
        let day_ten = 10 * 1440 * 60_000;
        let labelled = [Incident::window(day_ten, day_ten + 3 * HOUR_MS)];
        for seed in 1..=20 {
            let placed = inject(&flat(14 * 1440), &kinds, 2, seed, &labelled).placed;
            assert_eq!(placed.len(), 10, "seed {seed}: {placed:?}");
            assert!(placed[0].start >= 14 * 1440 * 60_000 * 2 / 5);
            assert!(gaps(&placed).iter().all(|g| *g > MIN_GAP_MS), "seed {seed}");
            for p in &placed {
                assert!(
                    !place::too_close(
                        p.start,
                        p.end - p.start,
                        MIN_GAP_MS,
                        (labelled[0].start, labelled[0].end)
                    ),
                    "seed {seed}: {p:?}"
                );
            }
            let roomy = inject(&flat(60 * 1440), &kinds, 2, seed, &[]).placed;
            assert_eq!(roomy.len(), 10);
            assert!(
                gaps(&roomy).iter().all(|g| *g > 24 * HOUR_MS),
                "seed {seed}"
            );
        }
    }

    /// A history with room for only some of the anomalies asked gives every kind its first place
    /// before any gets a second, and the shortfall names what was left out.
    #[test]
    fn a_short_history_places_one_of_each_kind_first_and_says_what_it_left_out() {
        // Six days of minutes: placements start at day 2.4, a day apart or down to 6 hours when
        // a day leaves no room (room for 6–7 of the 9).
        let s = flat(6 * 1440);
        let kinds = parse_list("shift:4,drift:4,variance:3").unwrap();
        for seed in 1..=20 {
            let placed = inject(&s, &kinds, 3, seed, &[]).placed;
            assert!(
                placed.len() < 9,
                "seed {seed}: the history holds fewer than 9"
            );
            let missing = shortfall(&kinds, 3, &placed);
            let placed_of = |label: &str| placed.iter().filter(|p| p.label() == label).count();
            for a in &kinds {
                let label = a.label();
                assert_eq!(
                    placed_of(&label) + missing.get(&label).copied().unwrap_or(0),
                    3,
                    "seed {seed}: {label}"
                );
            }
            // With room for one of each, every kind has one.
            if placed.len() >= kinds.len() {
                for a in &kinds {
                    assert!(placed_of(&a.label()) >= 1, "seed {seed}: {placed:?}");
                }
            }
            let note = shortfall_note(&missing, 9).unwrap();
            assert!(
                note.starts_with(&format!(
                    "{} of 9 injected anomalies found no place",
                    9 - placed.len()
                )),
                "{note}"
            );
        }
        let all = inject(&flat(30 * 1440), &kinds, 1, 1, &[]).placed;
        assert_eq!(all.len(), 3);
        assert!(shortfall(&kinds, 1, &all).is_empty());
        assert_eq!(shortfall_note(&BTreeMap::new(), 3), None);
    }

    #[test]
    fn the_dropout_hint_is_for_prometheus_rules_that_missed_a_dropout() {
        let missed: BTreeMap<String, f64> =
            [("drop:30m".to_string(), 0.0), ("shift:3".to_string(), 1.0)].into();
        let caught: BTreeMap<String, f64> = [("drop:30m".to_string(), 1.0)].into();
        assert!(dropout_hint("prometheus", &missed).is_some());
        assert_eq!(dropout_hint("cloudwatch", &missed), None);
        assert_eq!(dropout_hint("prometheus", &caught), None);
    }

    #[test]
    fn the_misses_note_names_what_was_missed_by_kind_and_size() {
        let recall: BTreeMap<String, f64> = [
            ("shift:2", 0.0),
            ("shift:4", 1.0),
            ("spike:3", 0.5),
            ("spike:6", 0.0),
            ("drift:3", 0.75),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(
            misses_note(&recall).as_deref(),
            Some("misses every shift:2, spike:6; 25 % of drift:3, 50 % of spike:3")
        );
        let caught: BTreeMap<String, f64> = [("shift:4".to_string(), 1.0)].into();
        assert_eq!(misses_note(&caught), None);
        assert_eq!(misses_note(&BTreeMap::new()), None);
    }
}
