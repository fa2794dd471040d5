//! Band and threshold models. Every model turns a period-grid series into a [`Band`] — a center and
//! a spread per point, NaN where the model has no band yet — using only data strictly before each
//! point. An alarm's bounds are `center ± k·spread`, so trying another `k` is one comparison pass
//! ([`classified`]) over the same band, never a refit.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod percentile;
pub mod promql;
pub mod replay;
pub mod seasonal;

use std::fmt;

use crate::engine::cloudwatch::Breach;
use crate::engine::mofn::Classified;

/// Which side of the band breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Above the upper bound (`GreaterThanUpperThreshold`, `>`).
    #[default]
    Above,
    /// Below the lower bound (`LessThanLowerThreshold`, `<`).
    Below,
    /// Outside either bound (`LessThanLowerOrGreaterThanUpperThreshold`).
    Both,
}

impl Direction {
    pub const NAMES: &'static [&'static str] = &["above", "below", "both"];

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "above" => Some(Direction::Above),
            "below" => Some(Direction::Below),
            "both" | "outside" => Some(Direction::Both),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Above => "above",
            Direction::Below => "below",
            Direction::Both => "both",
        })
    }
}

/// A static threshold comparison (`op` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Comparison {
    pub const NAMES: &'static [&'static str] = &[">", ">=", "<", "<="];

    pub fn parse(s: &str) -> Option<Comparison> {
        match s {
            ">" => Some(Comparison::Greater),
            ">=" => Some(Comparison::GreaterOrEqual),
            "<" => Some(Comparison::Less),
            "<=" => Some(Comparison::LessOrEqual),
            _ => None,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
        }
    }

    /// CloudWatch's `ComparisonOperator` name.
    pub fn cloudwatch_operator(self) -> &'static str {
        match self {
            Comparison::Greater => "GreaterThanThreshold",
            Comparison::GreaterOrEqual => "GreaterThanOrEqualToThreshold",
            Comparison::Less => "LessThanThreshold",
            Comparison::LessOrEqual => "LessThanOrEqualToThreshold",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Comparison::Greater | Comparison::GreaterOrEqual => Direction::Above,
            Comparison::Less | Comparison::LessOrEqual => Direction::Below,
        }
    }

    pub fn inclusive(self) -> bool {
        matches!(self, Comparison::GreaterOrEqual | Comparison::LessOrEqual)
    }
}

/// Per-point center and spread; NaN where there is no band (warm-up).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    pub center: Vec<f64>,
    pub spread: Vec<f64>,
}

impl Band {
    /// A constant band (static thresholds).
    pub fn constant(len: usize, value: f64) -> Band {
        Band {
            center: vec![value; len],
            spread: vec![0.0; len],
        }
    }

    /// Lower and upper bounds at width `k`.
    pub fn bounds(&self, i: usize, k: f64) -> (f64, f64) {
        let (c, s) = (self.center[i], self.spread[i]);
        (c - k * s, c + k * s)
    }

    /// Points with no band yet.
    pub fn warm_up_points(&self) -> usize {
        self.center.iter().take_while(|c| c.is_nan()).count()
    }
}

/// How a condition compares values to the band: side and strictness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub k: f64,
    pub direction: Direction,
    /// `>=`/`<=` instead of strictly outside (anomaly bands are always strict).
    pub inclusive: bool,
    /// Clamp the lower bound at this value (CloudWatch clamps bands to the metric's logical range).
    pub floor: Option<f64>,
}

/// Classify each point: missing value → `Missing`; no band yet → `Good` (the alarm cannot breach
/// before its model exists); otherwise breaching when outside the bounds on the rule's side.
///
/// One class per period, for reading; backtest and tune take the same classification as bits
/// ([`classified`]). The comparison is written to vectorise: NaN bounds compare false (no band →
/// not breaching) and the side and strictness are fixed per loop.
pub fn breaches(values: &[f64], band: &Band, rule: &Rule) -> Vec<Breach> {
    let mut codes = vec![0u8; values.len()];
    classifier(rule)(values, &band.center, &band.spread, rule, &mut codes);
    codes
        .into_iter()
        .map(|code| match code {
            0 => Breach::Good,
            1 => Breach::Breaching,
            _ => Breach::Missing,
        })
        .collect()
}

/// [`breaches`] as bits, 64 periods per word (the form the CloudWatch engine decides M-of-N on and
/// the Prometheus path reads), classified a chunk at a time with no class per period kept: the
/// per-`k` pass of every backtest and tuning run.
///
/// Four periods per instruction on CPUs with AVX2 ([`avx2`]); the same bits either way.
pub fn classified(values: &[f64], band: &Band, rule: &Rule) -> Classified {
    #[cfg(target_arch = "x86_64")]
    if let Some(bits) = avx2::classified(values, band, rule) {
        return bits;
    }
    classified_portable(values, band, rule)
}

/// [`classified`] on any CPU: a class code per period into a small buffer, packed into words.
fn classified_portable(values: &[f64], band: &Band, rule: &Rule) -> Classified {
    let classify = classifier(rule);
    Classified::build(values.len(), |from, chunk| {
        let to = from + chunk.len();
        classify(
            &values[from..to],
            &band.center[from..to],
            &band.spread[from..to],
            rule,
            chunk,
        )
    })
}

/// Writes the code of each value's class (`Breach as u8`) against (center, spread) into `out`.
type Classifier = fn(&[f64], &[f64], &[f64], &Rule, &mut [u8]);

/// `$loop::<ABOVE, BELOW, INCLUSIVE>` for `$rule`'s side and strictness: the comparison loops
/// fix both at compile time, so that each compiles to straight-line code.
macro_rules! for_side {
    ($rule:expr, $loop:ident) => {
        match ($rule.direction, $rule.inclusive) {
            (Direction::Above, false) => $loop::<true, false, false>,
            (Direction::Above, true) => $loop::<true, false, true>,
            (Direction::Below, false) => $loop::<false, true, false>,
            (Direction::Below, true) => $loop::<false, true, true>,
            (Direction::Both, false) => $loop::<true, true, false>,
            (Direction::Both, true) => $loop::<true, true, true>,
        }
    };
}
use for_side;

/// The classification loop for the rule's side and strictness.
fn classifier(rule: &Rule) -> Classifier {
    for_side!(rule, classify)
}

/// Branch-free so that it vectorises: a missing value compares false on every side, so its code
/// is 2 (missing) alone; otherwise 1 when outside, else 0.
fn classify<const ABOVE: bool, const BELOW: bool, const INCLUSIVE: bool>(
    values: &[f64],
    center: &[f64],
    spread: &[f64],
    rule: &Rule,
    out: &mut [u8],
) {
    let (k, floor) = (rule.k, rule.floor.unwrap_or(f64::NAN));
    for (o, (&v, (&c, &s))) in out
        .iter_mut()
        .zip(values.iter().zip(center.iter().zip(spread)))
    {
        let outside = outside::<ABOVE, BELOW, INCLUSIVE>(v, c, s, k, floor);
        *o = u8::from(outside) | (u8::from(v.is_nan()) << 1);
    }
}

/// Whether `v` lies outside `c ± k·s` on the rule's side, the lower bound clamped at `floor` (NaN:
/// no floor). A NaN bound (no band yet) compares false.
#[inline(always)]
fn outside<const ABOVE: bool, const BELOW: bool, const INCLUSIVE: bool>(
    v: f64,
    c: f64,
    s: f64,
    k: f64,
    floor: f64,
) -> bool {
    let upper = c + k * s;
    let mut lower = c - k * s;
    // NaN (no band) stays NaN: `NaN < f` is false; so does a NaN floor.
    if lower < floor {
        lower = floor;
    }
    let above = ABOVE && if INCLUSIVE { v >= upper } else { v > upper };
    let below = BELOW && if INCLUSIVE { v <= lower } else { v < lower };
    above || below
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_equal_the_classes_on_every_side() {
        let mut rng = crate::rng::Rng::new(11);
        let len = 333;
        let values: Vec<f64> = (0..len)
            .map(|_| {
                if rng.chance(0.1) {
                    f64::NAN
                } else {
                    rng.normal() * 3.0
                }
            })
            .collect();
        let band = Band {
            center: (0..len)
                .map(|i| if i < 40 { f64::NAN } else { 0.5 })
                .collect(),
            spread: vec![1.0; len],
        };
        for direction in [Direction::Above, Direction::Below, Direction::Both] {
            for inclusive in [false, true] {
                for floor in [None, Some(-1.0)] {
                    let rule = Rule {
                        k: 1.5,
                        direction,
                        inclusive,
                        floor,
                    };
                    let classes = breaches(&values, &band, &rule);
                    let bits = classified(&values, &band, &rule);
                    assert_eq!(bits, Classified::new(&classes), "{rule:?}");
                    assert_eq!(bits.iter().collect::<Vec<_>>(), classes, "{rule:?}");
                }
            }
        }
    }

    #[test]
    fn static_threshold_strict_and_inclusive() {
        let band = Band::constant(3, 10.0);
        let values = [9.0, 10.0, f64::NAN];
        let strict = breaches(
            &values,
            &band,
            &Rule {
                k: 0.0,
                direction: Direction::Above,
                inclusive: false,
                floor: None,
            },
        );
        assert_eq!(strict, vec![Breach::Good, Breach::Good, Breach::Missing]);
        let incl = breaches(
            &values,
            &band,
            &Rule {
                k: 0.0,
                direction: Direction::Above,
                inclusive: true,
                floor: None,
            },
        );
        assert_eq!(incl[1], Breach::Breaching);
    }

    #[test]
    fn band_sides() {
        let band = Band {
            center: vec![10.0, 10.0, f64::NAN],
            spread: vec![1.0, 1.0, 1.0],
        };
        let values = [13.0, 7.0, 100.0];
        let rule = |direction| Rule {
            k: 2.0,
            direction,
            inclusive: false,
            floor: None,
        };
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Above)),
            vec![Breach::Breaching, Breach::Good, Breach::Good]
        );
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Below)),
            vec![Breach::Good, Breach::Breaching, Breach::Good]
        );
        assert_eq!(
            breaches(&values, &band, &rule(Direction::Both)),
            vec![Breach::Breaching, Breach::Breaching, Breach::Good]
        );
    }
}
