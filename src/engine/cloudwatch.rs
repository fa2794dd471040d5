//! The CloudWatch metric alarm state machine.
//!
//! Input is one breach classification per period (`Breach`), on a regular grid of datapoint
//! timestamps (period starts). The alarm is evaluated once per datapoint and each evaluation is
//! stamped with the newest datapoint's timestamp; over complete history this is what the real
//! once-a-minute evaluation sees. The rules, which reproduce every row of AWS's published
//! missing-data examples (see the tests), are:
//!
//! 1. Look at the evaluation range: the newest `R` periods (`R` = `evaluation_range`, default N + 2).
//! 2. No real datapoint in the range: `missing` → INSUFFICIENT_DATA, `ignore` → keep the state,
//!    `breaching` → ALARM, `notBreaching` → OK.
//! 3. At least N real datapoints in the range: the newest N real ones decide (ALARM when ≥ M breach);
//!    TreatMissingData plays no part.
//! 4. Fewer than N real datapoints: `breaching`/`notBreaching` fill the missing N − real slots as
//!    breaching/good. Under `missing`/`ignore`, M breaching real datapoints give ALARM. With fewer,
//!    and every real datapoint in the range breaching, AWS's premature-alarm rule decides: when the
//!    oldest of them is at least M periods old the alarm goes to ALARM (`missing`) or keeps its
//!    state (`ignore`); when it is younger, CloudWatch waits — INSUFFICIENT_DATA (`missing`) or
//!    the state kept (`ignore`), never OK. A non-breaching real datapoint in the range gives OK.
//!
//! Every cell of every published version of AWS's examples table (2018, 2019, 2020, 2023) is a
//! test below; where two versions disagree the newest wins and the superseded cell is listed.
//!
//! Metrics in the `AWS/DynamoDB` namespace always behave as `ignore` (the caller passes that).
//! With a wall-clock window the alarm is evaluated only at the end of each window of N periods
//! aligned to the UTC epoch, and keeps its state in between.

use std::fmt;
use std::str::FromStr;

use super::mofn::{Classified, MAX_N};
use super::{Detail, EpisodeBuilder, Timeline, Transition};

/// One datapoint's relation to the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Breach {
    Good = 0,
    Breaching = 1,
    Missing = 2,
}

/// CloudWatch alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn name(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TreatMissingData {
    #[default]
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl TreatMissingData {
    pub const NAMES: &'static [&'static str] = &["missing", "ignore", "breaching", "notBreaching"];
}

impl FromStr for TreatMissingData {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "missing" => Ok(TreatMissingData::Missing),
            "ignore" => Ok(TreatMissingData::Ignore),
            "breaching" => Ok(TreatMissingData::Breaching),
            "notBreaching" => Ok(TreatMissingData::NotBreaching),
            _ => Err(format!("`{s}` is not a TreatMissingData option; expected one of missing, ignore, breaching, notBreaching")),
        }
    }
}

impl fmt::Display for TreatMissingData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::Ignore => "ignore",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::NotBreaching => "notBreaching",
        })
    }
}

/// The evaluation settings of one alarm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloudWatchConfig {
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: usize,
    /// `DatapointsToAlarm` (M ≤ N).
    pub datapoints_to_alarm: usize,
    /// Evaluation range R ≥ N; AWS's examples use N + 2.
    pub evaluation_range: usize,
    pub treat_missing_data: TreatMissingData,
    /// `EvaluationWindow: WallClockWindow`.
    pub wall_clock: bool,
}

impl CloudWatchConfig {
    pub fn new(n: usize, m: usize, treat_missing_data: TreatMissingData) -> CloudWatchConfig {
        CloudWatchConfig {
            evaluation_periods: n,
            datapoints_to_alarm: m,
            evaluation_range: n + 2,
            treat_missing_data,
            wall_clock: false,
        }
    }
}

/// Decide the state from the evaluation range `window` (oldest first) — the rules in the module docs.
/// `None` means "keep the current state".
pub fn decide(window: &[Breach], cfg: &CloudWatchConfig) -> Option<AlarmState> {
    let (mut real, mut real_breaching, mut oldest_real) = (0usize, 0usize, None);
    for (i, b) in window.iter().enumerate() {
        if *b != Breach::Missing {
            real += 1;
            real_breaching += (*b == Breach::Breaching) as usize;
            oldest_real.get_or_insert(i);
        }
    }
    let newest_n_breaching = || {
        window
            .iter()
            .rev()
            .filter(|b| **b != Breach::Missing)
            .take(cfg.evaluation_periods)
            .filter(|b| **b == Breach::Breaching)
            .count()
    };
    // The newest period has age 1.
    let oldest_age = oldest_real.map_or(0, |i| window.len() - i);
    apply_rules(cfg, real, real_breaching, newest_n_breaching, oldest_age)
}

/// [`decide`] on a range of `r` ≤ 64 periods given as bit masks (bit 0 the oldest): `present`, the
/// periods with a datapoint, and `breaching` (a subset). The same rules, counted with popcounts
/// instead of a pass over a copied range: sparse metrics (a datapoint only when there is
/// activity) put most evaluations here. Tested against [`decide`] on random ranges.
pub fn decide_bits(
    present: u64,
    breaching: u64,
    r: usize,
    cfg: &CloudWatchConfig,
) -> Option<AlarmState> {
    let breaching = breaching & present;
    let real = present.count_ones() as usize;
    let newest_n_breaching = || {
        // The newest N real datapoints: drop the oldest (lowest) real − N of them.
        let mut newest = present;
        for _ in 0..real.saturating_sub(cfg.evaluation_periods) {
            newest &= newest - 1;
        }
        (breaching & newest).count_ones() as usize
    };
    apply_rules(
        cfg,
        real,
        breaching.count_ones() as usize,
        newest_n_breaching,
        r - present.trailing_zeros().min(r as u32) as usize,
    )
}

/// The rules of the module docs, from what they read of a range: its real datapoints, how many of
/// them breach, how many of its newest N real ones breach (asked only when there are N), and the
/// age of the oldest real one (the newest period has age 1).
fn apply_rules(
    cfg: &CloudWatchConfig,
    real: usize,
    real_breaching: usize,
    newest_n_breaching: impl FnOnce() -> usize,
    oldest_age: usize,
) -> Option<AlarmState> {
    let n = cfg.evaluation_periods;
    let m = cfg.datapoints_to_alarm;
    let verdict = |breaching: usize| {
        Some(if breaching >= m {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        })
    };
    if real == 0 {
        return match cfg.treat_missing_data {
            TreatMissingData::Missing => Some(AlarmState::InsufficientData),
            TreatMissingData::Ignore => None,
            TreatMissingData::Breaching => Some(AlarmState::Alarm),
            TreatMissingData::NotBreaching => Some(AlarmState::Ok),
        };
    }
    if real >= n {
        return verdict(newest_n_breaching());
    }
    match cfg.treat_missing_data {
        TreatMissingData::Breaching => verdict(real_breaching + (n - real)),
        TreatMissingData::NotBreaching => verdict(real_breaching),
        TreatMissingData::Missing | TreatMissingData::Ignore if real_breaching >= m => {
            Some(AlarmState::Alarm)
        }
        TreatMissingData::Missing | TreatMissingData::Ignore => {
            if real_breaching < real {
                // A real non-breaching datapoint: fewer than M breach, and nothing is premature.
                return verdict(real_breaching);
            }
            match (oldest_age >= m, cfg.treat_missing_data) {
                (true, TreatMissingData::Missing) => Some(AlarmState::Alarm),
                (false, TreatMissingData::Missing) => Some(AlarmState::InsufficientData),
                // `ignore` keeps the state either way.
                _ => None,
            }
        }
    }
}

/// Run the alarm over `breach` (one entry per period, the first at `start_ms`).
///
/// One pass with two running counts: breaching datapoints among the newest N, and the position of
/// the newest missing one. A range without a missing period (the common case, before and after a
/// gap) is decided by the count alone in a few instructions; a range with one goes through
/// [`decide`]'s rules on bit masks ([`decide_bits`], the range slid one period at a time), and
/// after a range with no datapoint at all the pass jumps to the next datapoint (the decision
/// cannot change before it); asked for episodes only ([`evaluate_classified`] with
/// [`Detail::Episodes`], as tune asks), it also jumps from a range without a breaching datapoint
/// to the next one, so a sparse metric costs tune what a dense one does. The range before the
/// first datapoint counts as missing. Property tests check this against applying [`decide`] to
/// every range, and the episodes-only runs against the full ones.
pub fn evaluate(
    breach: &[Breach],
    start_ms: i64,
    period_ms: i64,
    cfg: &CloudWatchConfig,
) -> Timeline {
    evaluate_classified(
        &Classified::new(breach),
        start_ms,
        period_ms,
        cfg,
        Detail::Full,
    )
}

/// Alarm when `on`, OK otherwise.
fn alarm_if(on: bool) -> AlarmState {
    if on {
        AlarmState::Alarm
    } else {
        AlarmState::Ok
    }
}

/// A change of state to `to` at `at`: a transition when they are kept, and the episodes.
fn record(
    timeline: &mut Timeline,
    episodes: &mut EpisodeBuilder,
    transitions: bool,
    at: i64,
    to: AlarmState,
) {
    if transitions {
        timeline.transitions.push(Transition { at, to: to.name() });
    }
    episodes.observe(at, to == AlarmState::Alarm);
}

thread_local! {
    /// [`evaluate_classified`]'s buffer of change positions.
    static CHANGES: std::cell::Cell<Vec<usize>> = const { std::cell::Cell::new(Vec::new()) };
}

/// [`evaluate`] over a classification that carries its bits (built once per band and rule, shared
/// by every M-of-N setting): a stretch without missing datapoints is decided 64 periods per word
/// ([`Classified::changes_into`]) when N ≤ [`super::mofn::MAX_N`]. `detail` says whether the
/// transitions are kept (the episodes always are).
pub fn evaluate_classified(
    breach: &Classified,
    start_ms: i64,
    period_ms: i64,
    cfg: &CloudWatchConfig,
    detail: Detail,
) -> Timeline {
    let transitions = detail == Detail::Full;
    let mut timeline = Timeline {
        step_ms: period_ms,
        ..Timeline::default()
    };
    if breach.is_empty() {
        return timeline;
    }
    let n = cfg.evaluation_periods.max(1);
    let r = cfg.evaluation_range.max(n);
    let m = cfg.datapoints_to_alarm as u32;
    let window_ms = n as i64 * period_ms;
    // Index of the newest missing period at or before i; the padding before 0 is missing.
    let no_missing_yet: i64 = if r > 1 { -1 } else { i64::MIN / 2 };
    let mut last_missing = no_missing_yet;
    let mut breaching_in_n = 0u32;
    let mut state = AlarmState::InsufficientData;
    let mut episodes = EpisodeBuilder::default();
    let mut range: Vec<Breach> = Vec::with_capacity(r);
    // The range ending at the previous period as bit masks (present, breaching; bit 0 the oldest),
    // slid one period at a time through stretches with gaps; `None` after a jump (and for ranges
    // past one word).
    let mut slide: Option<(u64, u64)> = None;
    // Where the M-of-N count crosses M in a stretch: the thread's buffer, reused by every
    // stretch and every evaluation (tuning runs hundreds per series).
    let mut changes = CHANGES.take();
    let mut i = 0;
    while i < breach.len() {
        // A stretch where every range is whole (no gap since r periods, none arriving): only the
        // count decides (rule 3), so only the positions where it crosses M are visited — 64
        // periods per word for N ≤ MAX_N.
        if !cfg.wall_clock
            && last_missing + (r as i64) <= i as i64
            && i >= n
            && breach.get(i) != Breach::Missing
        {
            let end = breach.next_missing(i);
            // The first decided evaluation is a transition whatever it decides.
            let first = (state == AlarmState::InsufficientData)
                .then(|| breach.breaching_between(i + 1 - n, i + 1) >= m);
            let before = first.unwrap_or(state == AlarmState::Alarm);
            let from = i + usize::from(first.is_some());
            changes.clear();
            if n <= MAX_N {
                breach.changes_into(n, m as usize, from, end, before, &mut changes);
            } else {
                // N past one word: a running count, period by period.
                let mut count = breach.breaching_between(from - n, from);
                let mut previous = before;
                for j in from..end {
                    count += (breach.get(j) == Breach::Breaching) as u32;
                    count -= (breach.get(j - n) == Breach::Breaching) as u32;
                    let now = count >= m;
                    if now != previous {
                        changes.push(j);
                        previous = now;
                    }
                }
            }
            let at = |j: usize| start_ms + j as i64 * period_ms;
            if let Some(now) = first {
                record(
                    &mut timeline,
                    &mut episodes,
                    transitions,
                    at(i),
                    alarm_if(now),
                );
            }
            // From `before`, every change flips the state.
            if transitions {
                let states = (0..).map(|c| alarm_if(before ^ (c % 2 == 0)));
                for (j, to) in changes.iter().zip(states) {
                    let (at, to) = (at(*j), to.name());
                    timeline.transitions.push(Transition { at, to });
                }
            }
            episodes.toggle_at(changes.iter().map(|j| at(*j)));
            state = alarm_if(before ^ (changes.len() % 2 == 1));
            breaching_in_n = breach.breaching_between(end - n, end);
            i = end;
            slide = None;
            continue;
        }
        let b = breach.get(i);
        breaching_in_n += (b == Breach::Breaching) as u32;
        let masks = match slide {
            // Slide by one: the period N back is bit r − N of the previous range (N ≤ r; the
            // padding before the first period reads as neither present nor breaching).
            Some((present, breaching)) => {
                breaching_in_n -= ((breaching >> (r - n)) & 1) as u32;
                let newest = |on: bool| (on as u64) << (r - 1);
                Some((
                    (present >> 1) | newest(b != Breach::Missing),
                    (breaching >> 1) | newest(b == Breach::Breaching),
                ))
            }
            None => {
                if i >= n {
                    breaching_in_n -= (breach.get(i - n) == Breach::Breaching) as u32;
                }
                (r <= 64).then(|| breach.range_bits(i + 1, r))
            }
        };
        slide = masks;
        if b == Breach::Missing {
            last_missing = i as i64;
        }
        let at = start_ms + i as i64 * period_ms;
        if cfg.wall_clock && (at + period_ms).rem_euclid(window_ms) != 0 {
            i += 1;
            continue;
        }
        let next = if last_missing + (r as i64) <= i as i64 {
            Some(if breaching_in_n >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            })
        } else if let Some((present, breaching)) = masks {
            decide_bits(present, breaching, r, cfg)
        } else {
            range.clear();
            range.extend(std::iter::repeat_n(
                Breach::Missing,
                (r - 1).saturating_sub(i),
            ));
            range.extend(((i + 1).saturating_sub(r)..=i).map(|j| breach.get(j)));
            decide(&range, cfg)
        };
        if let Some(next) = next {
            if next != state {
                state = next;
                record(&mut timeline, &mut episodes, transitions, at, state);
            }
        }
        i += 1;
        // Episodes only (what tune asks for), out of ALARM, with no breaching datapoint in the
        // range: no rule reaches ALARM before a breaching datapoint enters the range (only
        // `breaching` counts a missing period as one), and which state short of ALARM the alarm
        // is in meanwhile changes no episode, so skip to that datapoint.
        if !transitions
            && !cfg.wall_clock
            && state != AlarmState::Alarm
            && cfg.treat_missing_data != TreatMissingData::Breaching
            && masks.is_some_and(|(_, breaching)| breaching == 0)
        {
            let next_breaching = breach.next_breaching(i);
            if next_breaching > i {
                i = next_breaching;
                // The newest N before it hold no breaching period (the range did not, nor did
                // anything since).
                breaching_in_n = 0;
                last_missing = breach
                    .last_missing_before(i)
                    .map_or(no_missing_yet, |j| j as i64);
                slide = None;
            }
            continue;
        }
        // A range with no datapoint decides the same until one arrives (rule 2): skip to it. The
        // ranges in between hold none either, and no breaching period is among the newest N.
        if !cfg.wall_clock && masks.is_some_and(|(present, _)| present == 0) {
            let next_present = breach.next_present(i);
            if next_present > i {
                i = next_present;
                last_missing = i as i64 - 1;
                breaching_in_n = 0;
                slide = Some((0, 0));
            }
        }
    }
    CHANGES.set(changes);
    timeline.first_eval = Some(start_ms);
    timeline.last_eval = Some(start_ms + (breach.len() as i64 - 1) * period_ms);
    timeline.episodes = episodes.finish();
    timeline
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous implementation (a padded copy of the breaches and rolling counts), kept as the
    /// reference the fast pass must equal.
    ///
    /// Rolling counts of missing datapoints in the range and of breaching ones in the newest N keep the
    /// common case (no gap in the range) at O(1) per evaluation; ranges with gaps go through [`decide`].
    fn evaluate_reference(
        breach: &[Breach],
        start_ms: i64,
        period_ms: i64,
        cfg: &CloudWatchConfig,
    ) -> Timeline {
        let mut timeline = Timeline {
            step_ms: period_ms,
            ..Timeline::default()
        };
        if breach.is_empty() {
            return timeline;
        }
        let n = cfg.evaluation_periods.max(1);
        let r = cfg.evaluation_range.max(n);
        // The range before the first datapoint is padded with missing periods.
        let mut padded = vec![Breach::Missing; r - 1];
        padded.extend_from_slice(breach);
        let mut missing_in_range = r - 1;
        let mut breaching_in_n = 0usize;
        let mut state = AlarmState::InsufficientData;
        let mut episodes = EpisodeBuilder::default();
        let window_ms = n as i64 * period_ms;
        for i in 0..breach.len() {
            let newest = padded[i + r - 1];
            missing_in_range += (newest == Breach::Missing) as usize;
            breaching_in_n += (newest == Breach::Breaching) as usize;
            if i > 0 {
                missing_in_range -= (padded[i - 1] == Breach::Missing) as usize;
            }
            if i + r > n {
                breaching_in_n -= (padded[i + r - n - 1] == Breach::Breaching) as usize;
            }
            let at = start_ms + i as i64 * period_ms;
            if cfg.wall_clock && (at + period_ms).rem_euclid(window_ms) != 0 {
                continue;
            }
            let next = if missing_in_range == 0 {
                Some(if breaching_in_n >= cfg.datapoints_to_alarm {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                })
            } else {
                decide(&padded[i..i + r], cfg)
            };
            if let Some(next) = next {
                if next != state {
                    timeline.transitions.push(Transition {
                        at,
                        to: next.name(),
                    });
                    state = next;
                    // Episodes only change with the state.
                    episodes.observe(at, state == AlarmState::Alarm);
                }
            }
        }
        timeline.first_eval = Some(start_ms);
        timeline.last_eval = Some(start_ms + (breach.len() as i64 - 1) * period_ms);
        timeline.episodes = episodes.finish();
        timeline
    }

    /// One of the four missing-data rules (the AWS table's columns, [`OPTIONS`]), at random.
    fn any_treatment(rng: &mut crate::rng::Rng) -> TreatMissingData {
        *rng.pick(&OPTIONS)
    }

    /// `len` random classes: missing at `gap_rate`, else breaching at `breach_rate`.
    fn random_breaches(
        rng: &mut crate::rng::Rng,
        len: usize,
        gap_rate: f64,
        breach_rate: f64,
    ) -> Vec<Breach> {
        (0..len)
            .map(|_| {
                if rng.chance(gap_rate) {
                    Breach::Missing
                } else if rng.chance(breach_rate) {
                    Breach::Breaching
                } else {
                    Breach::Good
                }
            })
            .collect()
    }

    /// Every range decided by `decide` directly, for random sequences and settings.
    #[test]
    fn the_fast_pass_equals_deciding_every_range() {
        let mut rng = crate::rng::Rng::new(99);
        for case in 0..3000 {
            let len = rng.int(1, 80) as usize;
            let gap_rate = *rng.pick(&[0.0, 0.05, 0.3, 0.8]);
            let breach = random_breaches(&mut rng, len, gap_rate, 0.4);
            let n = rng.int(1, 7) as usize;
            let m = rng.int(1, n as i64) as usize;
            let cfg = CloudWatchConfig {
                evaluation_range: n + rng.int(0, 4) as usize,
                wall_clock: rng.chance(0.2),
                ..CloudWatchConfig::new(n, m, any_treatment(&mut rng))
            };
            let fast = evaluate(&breach, 0, 60_000, &cfg);
            let reference = evaluate_reference(&breach, 0, 60_000, &cfg);
            assert_eq!(fast, reference, "case {case}: {breach:?} {cfg:?}");
            assert_episodes_only_is_the_same_run(&breach, &cfg, &fast);
        }
    }

    /// Long windows and wide ranges (up to 70 periods: past one word, where the copied range and
    /// [`decide`] take over from [`decide_bits`]) equal the reference too.
    #[test]
    fn wide_ranges_equal_deciding_every_range() {
        let mut rng = crate::rng::Rng::new(7);
        for case in 0..400 {
            let len = rng.int(1, 300) as usize;
            let gap_rate = *rng.pick(&[0.3, 0.6, 0.9]);
            let breach = random_breaches(&mut rng, len, gap_rate, 0.5);
            let n = rng.int(1, 40) as usize;
            let m = rng.int(1, n as i64) as usize;
            let treat = any_treatment(&mut rng);
            let cfg = CloudWatchConfig {
                evaluation_range: (n + rng.int(0, 30) as usize).min(70),
                ..CloudWatchConfig::new(n, m, treat)
            };
            let fast = evaluate(&breach, 0, 60_000, &cfg);
            let reference = evaluate_reference(&breach, 0, 60_000, &cfg);
            assert_eq!(fast, reference, "case {case}: {breach:?} {cfg:?}");
            assert_episodes_only_is_the_same_run(&breach, &cfg, &fast);
        }
    }

    /// Rare breaches among gaps — a sparse metric's usual replay, where tune's episodes-only pass
    /// jumps from one breaching datapoint to the next — give the full run's episodes.
    #[test]
    fn rare_breaches_among_gaps_give_the_same_episodes() {
        let mut rng = crate::rng::Rng::new(23);
        for case in 0..3000 {
            let len = rng.int(1, 400) as usize;
            let gap_rate = *rng.pick(&[0.2, 0.5, 0.8]);
            let breach_rate = *rng.pick(&[0.02, 0.1, 0.3]);
            let breach = random_breaches(&mut rng, len, gap_rate, breach_rate);
            let n = rng.int(1, 12) as usize;
            let m = rng.int(1, n as i64) as usize;
            let cfg = CloudWatchConfig {
                evaluation_range: n + rng.int(0, 4) as usize,
                ..CloudWatchConfig::new(n, m, any_treatment(&mut rng))
            };
            let full = evaluate(&breach, 0, 60_000, &cfg);
            assert_eq!(
                full,
                evaluate_reference(&breach, 0, 60_000, &cfg),
                "case {case}"
            );
            assert_episodes_only_is_the_same_run(&breach, &cfg, &full);
        }
    }

    /// The bit-mask rules are [`decide`]'s on every range, padding before the first period
    /// included.
    #[test]
    fn deciding_on_bits_equals_deciding_on_the_range() {
        let mut rng = crate::rng::Rng::new(11);
        for case in 0..20_000 {
            let len = rng.int(1, 200) as usize;
            let gap_rate = *rng.pick(&[0.1, 0.5, 0.9]);
            let breach = random_breaches(&mut rng, len, gap_rate, 0.5);
            let classified = Classified::new(&breach);
            let r = rng.int(1, 64) as usize;
            let n = rng.int(1, r as i64) as usize;
            let cfg =
                CloudWatchConfig::new(n, rng.int(1, n as i64) as usize, any_treatment(&mut rng));
            let end = rng.int(1, len as i64) as usize;
            let mut range = vec![Breach::Missing; r.saturating_sub(end)];
            range.extend_from_slice(&breach[end.saturating_sub(r)..end]);
            let (present, breaching) = classified.range_bits(end, r);
            assert_eq!(
                decide_bits(present, breaching, r, &cfg),
                decide(&range, &cfg),
                "case {case}: {range:?} {cfg:?}"
            );
        }
    }

    /// What tune asks for ([`Detail::Episodes`]) is the same run without the transitions.
    fn assert_episodes_only_is_the_same_run(
        breach: &[Breach],
        cfg: &CloudWatchConfig,
        full: &Timeline,
    ) {
        let episodes =
            evaluate_classified(&Classified::new(breach), 0, 60_000, cfg, Detail::Episodes);
        assert!(episodes.transitions.is_empty());
        let without_transitions = Timeline {
            transitions: Vec::new(),
            ..full.clone()
        };
        assert_eq!(episodes, without_transitions, "{breach:?} {cfg:?}");
    }

    /// The same over long stretches, so the word pass crosses many words, with N up to past
    /// `mofn::MAX_N` (the scalar loop's share).
    #[test]
    fn the_word_pass_equals_deciding_every_range_over_long_stretches() {
        let mut rng = crate::rng::Rng::new(5);
        for case in 0..600 {
            let len = rng.int(1, 700) as usize;
            let gap_rate = *rng.pick(&[0.0, 0.002, 0.02]);
            let breach_rate = *rng.pick(&[0.002, 0.02, 0.3, 0.7]);
            let breach = random_breaches(&mut rng, len, gap_rate, breach_rate);
            let n = rng.int(1, 80) as usize;
            let m = rng.int(1, n as i64) as usize;
            let cfg = CloudWatchConfig {
                evaluation_range: n + rng.int(0, 3) as usize,
                ..CloudWatchConfig::new(n, m, TreatMissingData::Missing)
            };
            let fast = evaluate(&breach, 0, 60_000, &cfg);
            let reference = evaluate_reference(&breach, 0, 60_000, &cfg);
            assert_eq!(fast, reference, "case {case}: n {n} m {m} len {len}");
            assert_episodes_only_is_the_same_run(&breach, &cfg, &fast);
        }
    }

    fn parse(text: &str) -> Vec<Breach> {
        text.split_whitespace()
            .map(|c| match c {
                "0" => Breach::Good,
                "X" => Breach::Breaching,
                "-" => Breach::Missing,
                _ => panic!("bad cell {c}"),
            })
            .collect()
    }

    /// AWS's published examples, every row of every version of the CloudWatch user guide's table
    /// (awsdocs/amazon-cloudwatch-user-guide, `AlarmThatSendsEmail.md`): evaluation range 5, newest
    /// datapoint on the right, columns missing / ignore / breaching / notBreaching; "keep" keeps the
    /// current state. The last field names the versions that print the row.
    const AWS_TABLE: &[(usize, usize, &str, [&str; 4], &str)] = &[
        (3, 3, "0 - X - X", ["OK", "OK", "OK", "OK"], "2018–2023"),
        (3, 3, "0 - - - -", ["OK", "OK", "OK", "OK"], "2018–2023"),
        (
            3,
            3,
            "- - - - -",
            ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"],
            "2018–2023",
        ),
        (
            3,
            3,
            "0 X X - X",
            ["ALARM", "ALARM", "ALARM", "ALARM"],
            "2018–2023",
        ),
        (
            3,
            3,
            "- - - - X",
            ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"],
            "2018–2019-06",
        ),
        (
            3,
            3,
            "X - - - -",
            ["ALARM", "keep", "ALARM", "OK"],
            "2019-01",
        ),
        (
            3,
            3,
            "- - X - -",
            ["ALARM", "keep", "ALARM", "OK"],
            "2019-07–2023",
        ),
        (
            3,
            2,
            "0 - X - X",
            ["ALARM", "ALARM", "ALARM", "ALARM"],
            "2018–2023",
        ),
        (
            3,
            2,
            "0 0 X 0 X",
            ["ALARM", "ALARM", "ALARM", "ALARM"],
            "2018–2023",
        ),
        (3, 2, "0 - X - -", ["OK", "OK", "ALARM", "OK"], "2018–2023"),
        (3, 2, "- - - - 0", ["OK", "OK", "ALARM", "OK"], "2018–2023"),
        (
            3,
            2,
            "- - - - X",
            ["INSUFFICIENT_DATA", "keep", "ALARM", "OK"],
            "2018–2019-06",
        ),
        (
            3,
            2,
            "- - X - -",
            ["ALARM", "keep", "ALARM", "OK"],
            "2019-07–2020-04",
        ),
        (
            3,
            2,
            "- - - X -",
            ["ALARM", "keep", "ALARM", "OK"],
            "2020-09–2023",
        ),
    ];

    /// The table's columns, in order.
    const OPTIONS: [TreatMissingData; 4] = [
        TreatMissingData::Missing,
        TreatMissingData::Ignore,
        TreatMissingData::Breaching,
        TreatMissingData::NotBreaching,
    ];

    /// Cells that one version printed and a later version corrected; the newer value is in
    /// `AWS_TABLE`. 2019-07 to 2020-04 printed `ALARM` under `ignore` for N = M = 3 `- - X - -`
    /// (2020-09 on: retain the state, as the text around the table says `ignore` does), and 2019-07
    /// printed `OK` under `missing` for N = 3, M = 2 `- - X - -` (2020-04: `ALARM`, the premature
    /// rule: the breaching datapoint is 3 ≥ M periods old).
    const SUPERSEDED: &[(usize, usize, &str, usize, &str)] = &[
        (3, 3, "- - X - -", 1, "ALARM"),
        (3, 2, "- - X - -", 0, "OK"),
    ];

    #[test]
    fn every_row_of_the_aws_missing_data_table() {
        for (n, m, data, expected, versions) in AWS_TABLE {
            for (option, want) in OPTIONS.iter().zip(expected) {
                let cfg = CloudWatchConfig::new(*n, *m, *option);
                let got = decide(&parse(data), &cfg).map_or("keep", AlarmState::name);
                assert_eq!(got, *want, "N={n} M={m} `{data}` {option} ({versions})");
            }
        }
        // The superseded cells are rows of the table above, and we give the newer answer.
        for (n, m, data, column, old) in SUPERSEDED {
            let row = AWS_TABLE
                .iter()
                .find(|r| r.0 == *n && r.1 == *m && r.2 == *data)
                .expect("a superseded cell belongs to a row of the table");
            assert_ne!(row.3[*column], *old);
        }
    }

    /// The same rows through the whole engine: the range before the first datapoint is missing, so
    /// each row is the tail of a longer history, and the state after the row's newest datapoint is
    /// what the table says (`keep` = the state before it, here forced to `OK` by good history).
    #[test]
    fn every_row_of_the_aws_table_through_the_engine() {
        for (n, m, data, expected, _) in AWS_TABLE {
            for (option, want) in OPTIONS.iter().zip(expected) {
                let cfg = CloudWatchConfig::new(*n, *m, *option);
                // Five good periods first: the state before the row is OK.
                let mut history = parse("0 0 0 0 0");
                history.extend(parse(data));
                let t = evaluate(&history, 0, 60_000, &cfg);
                let last = t.transitions.last().map_or("INSUFFICIENT_DATA", |x| x.to);
                let want = if *want == "keep" {
                    // The state before the row's newest datapoint.
                    let before = evaluate(&history[..history.len() - 1], 0, 60_000, &cfg);
                    before
                        .transitions
                        .last()
                        .map_or("INSUFFICIENT_DATA", |x| x.to)
                } else {
                    want
                };
                assert_eq!(last, want, "N={n} M={m} `{data}` {option}");
            }
        }
    }

    /// A young lone breaching datapoint after missing data is not OK under `missing`: CloudWatch
    /// waits (INSUFFICIENT_DATA) until it is M periods old, then alarms.
    #[test]
    fn premature_alarm_waits_then_alarms() {
        let cfg = CloudWatchConfig::new(3, 3, TreatMissingData::Missing);
        let t = evaluate(&parse("- - - - X - - - - - - -"), 0, 60_000, &cfg);
        let to: Vec<(i64, &str)> = t
            .transitions
            .iter()
            .map(|x| (x.at / 60_000, x.to))
            .collect();
        // X at 4 (age 1 at 4, 2 at 5, 3 at 6 → ALARM), out of the range of 5 at 9 → INSUFFICIENT_DATA.
        assert_eq!(to, vec![(6, "ALARM"), (9, "INSUFFICIENT_DATA")]);
    }

    #[test]
    fn m_of_n_counts_non_consecutive_breaches_in_the_last_n() {
        let cfg = CloudWatchConfig::new(5, 3, TreatMissingData::Missing);
        let t = evaluate(&parse("0 X 0 X 0 X 0 0 0 0"), 0, 60_000, &cfg);
        // ALARM at index 5 (X 0 X 0 X in the last five), OK again at index 6 (0 X 0 X 0: two).
        let to: Vec<(i64, &str)> = t
            .transitions
            .iter()
            .map(|x| (x.at / 60_000, x.to))
            .collect();
        assert_eq!(to, vec![(0, "OK"), (5, "ALARM"), (6, "OK")]);
        assert_eq!(t.episodes.len(), 1);
        assert_eq!(t.episodes[0].start, 5 * 60_000);
        assert_eq!(t.episodes[0].end, Some(6 * 60_000));
    }

    #[test]
    fn a_new_alarm_starts_in_insufficient_data_and_open_episodes_stay_open() {
        let cfg = CloudWatchConfig::new(1, 1, TreatMissingData::Missing);
        let t = evaluate(&parse("X X"), 0, 60_000, &cfg);
        assert_eq!(t.transitions[0].to, "ALARM");
        assert_eq!(
            t.episodes,
            vec![super::super::Episode {
                start: 0,
                end: None
            }]
        );
    }

    /// Found by the property test "raising a threshold never adds alarm time": with fewer than N
    /// datapoints, `ignore` kept the state through the premature-alarm rule even when M datapoints
    /// already breached.
    #[test]
    fn ignore_with_m_breaching_datapoints_alarms_even_when_fewer_than_n_exist() {
        let cfg = CloudWatchConfig {
            evaluation_range: 3,
            ..CloudWatchConfig::new(3, 1, TreatMissingData::Ignore)
        };
        assert_eq!(decide(&parse("- X X"), &cfg), Some(AlarmState::Alarm));
        assert_eq!(decide(&parse("- X 0"), &cfg), Some(AlarmState::Alarm));
    }

    #[test]
    fn wall_clock_window_evaluates_at_window_ends_only() {
        let cfg = CloudWatchConfig {
            wall_clock: true,
            ..CloudWatchConfig::new(2, 2, TreatMissingData::Missing)
        };
        // windows [0,1], [2,3], [4,5]; breaches at 1 and 2 straddle a boundary: never ALARM.
        let t = evaluate(&parse("0 X X 0 0 0"), 0, 60_000, &cfg);
        assert!(t.episodes.is_empty());
        let sliding = evaluate(
            &parse("0 X X 0 0 0"),
            0,
            60_000,
            &CloudWatchConfig::new(2, 2, TreatMissingData::Missing),
        );
        assert_eq!(sliding.episodes.len(), 1);
    }
}
