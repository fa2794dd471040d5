//! Choosing among measured settings: the recommendation under a budget and an objective, and the
//! Pareto front a person can pick another point from.

use super::Outcome;
use crate::score::rate;

/// What the recommendation optimises once the budget is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The quietest setting that still catches the most incidents: catch the most; then the fewest
    /// alerts (false alerts when incidents are known); then the shortest delay (DESIGN.md: "the
    /// quietest setting within an alert budget that keeps recall, ties broken by detection
    /// delay"). `--objective quiet` is the same.
    #[default]
    Recall,
    /// Catch the most incidents; then the shortest delay; then the fewest alerts: the budget is
    /// what the user will put up with, so it is spent on answering sooner.
    #[serde(rename = "recall-soonest")]
    RecallSoonest,
    /// Catch incidents the soonest (among settings that catch any); then the most; then the fewest
    /// alerts.
    Delay,
}

/// What a recommendation may not exceed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Alerts per week: false alerts when incidents are known, else all ([`noise`]).
    pub per_week: f64,
    /// Share of the evaluated time in ALARM (firing). A budget of alerts alone would take an
    /// alarm that M of N holds in ALARM for days on end as quiet — one episode — though it is red
    /// on every dashboard and can page for nothing new; and with incidents known, as catching
    /// them. A quarter of the time by default ([`DEFAULT_MAX_TIME_IN_ALARM`]).
    pub time_in_alarm: f64,
}

/// The default [`Budget::time_in_alarm`]: an alarm in ALARM more than a quarter of the time is
/// broken, whatever it catches. Incidents are rare (NAB's labelled windows, wide as they are,
/// cover about a tenth of each file), so an alarm on through every one and as long again outside
/// stays well under it.
pub const DEFAULT_MAX_TIME_IN_ALARM: f64 = 0.25;

impl Budget {
    /// A budget of `per_week` alerts and the default share of time in ALARM.
    pub fn per_week(per_week: f64) -> Budget {
        Budget {
            per_week,
            time_in_alarm: DEFAULT_MAX_TIME_IN_ALARM,
        }
    }

    /// Whether `o` is within both limits.
    pub fn allows(&self, o: &Outcome) -> bool {
        noise(o) <= self.per_week + 1e-9 && !self.keeps_on(o)
    }

    /// Whether `o` spends more of its time in ALARM than the budget lets it.
    pub fn keeps_on(&self, o: &Outcome) -> bool {
        o.figures.time_in_alarm_ratio > self.time_in_alarm + 1e-12
    }
}

/// The noise a budget limits: false alerts per week when incidents are known, else all alerts.
pub fn noise(o: &Outcome) -> f64 {
    o.figures
        .false_alerts_per_week
        .unwrap_or(o.figures.alerts_per_week)
}

fn delay(o: &Outcome) -> f64 {
    o.figures.median_delay_s.unwrap_or(f64::INFINITY)
}

fn recall(o: &Outcome) -> f64 {
    o.figures.recall.unwrap_or(0.0)
}

/// The index of the recommended outcome, and whether it meets the budget. `outcomes[0]` is the
/// current setting. Within the budget: with incidents, by the objective; without, the most
/// sensitive setting (the one alerting most while within budget: widening further only goes
/// blinder). Over budget everywhere: the quietest. Ties keep the earlier setting (the grid's
/// order), so the choice is deterministic. A current setting within the budget stays unless the
/// best one is better by more than chance: alerts per week whose 95 % intervals each hold the
/// other's estimate count as a tie there, so a few weeks of history do not move a setting back and
/// forth (re-tuning over an overlay after a day of new data).
pub fn recommend(
    outcomes: &[Outcome],
    budget: Budget,
    objective: Objective,
) -> Option<(usize, bool)> {
    let all: Vec<usize> = (0..outcomes.len()).collect();
    recommend_among(outcomes, &all, budget, objective)
}

/// [`recommend`] among the outcomes at `candidates` (in the grid's order; the current setting,
/// `outcomes[0]`, is kept unless beaten only when it is among them).
pub fn recommend_among(
    outcomes: &[Outcome],
    candidates: &[usize],
    budget: Budget,
    objective: Objective,
) -> Option<(usize, bool)> {
    let feasible: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| budget.allows(&outcomes[i]))
        .collect();
    let labelled = outcomes.iter().any(|o| o.figures.recall.is_some());
    if let Some(&first) = feasible.first() {
        let best = feasible.iter().copied().fold(first, |best, i| {
            if beats(&outcomes[i], &outcomes[best], labelled, objective, false) {
                i
            } else {
                best
            }
        });
        // A change must win on more than chance.
        if first == 0 && !beats(&outcomes[best], &outcomes[0], labelled, objective, true) {
            return Some((0, true));
        }
        return Some((best, true));
    }
    // Settings within the time limit first, then the fewest alerts.
    let key = |i: usize| {
        let o = &outcomes[i];
        (budget.keeps_on(o), noise(o), -recall(o))
    };
    let quietest = candidates.iter().copied().min_by(|&a, &b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })?;
    Some((quietest, false))
}

/// The index of a picked setting (`--pick`: `outcomes` is the current setting, then the one
/// picked, unless that was skipped as invalid) and whether it meets the budget: the person's
/// choice stands, the budget is only reported.
pub fn picked(outcomes: &[Outcome], budget: Budget) -> Option<(usize, bool)> {
    let i = outcomes
        .iter()
        .position(|o| !o.params.is_empty())
        .or_else(|| (!outcomes.is_empty()).then_some(0))?;
    Some((i, budget.allows(&outcomes[i])))
}

/// Whether `a` beats `b` by the objective's order: with incidents, catch the most, then the
/// fewest false alerts, then the soonest (`recall`), catch the most then the soonest then the
/// quietest (`recall-soonest`), or the soonest among those that catch any (`delay`); without, the
/// most alerts (the most sensitive setting, within budget). Criterion after criterion as a tuple
/// compares (`partial_cmp`). With `chance_ties`, alerts per week whose 95 % intervals each hold the
/// other's estimate ([`rate::indistinguishable`]) count as a tie on noise.
fn beats(
    a: &Outcome,
    b: &Outcome,
    labelled: bool,
    objective: Objective,
    chance_ties: bool,
) -> bool {
    use std::cmp::Ordering::{Equal, Less};
    let (fa, fb) = (&a.figures, &b.figures);
    let tied = chance_ties
        && rate::indistinguishable(
            fa.alerts_per_week,
            fa.alerts_per_week_ci,
            fb.alerts_per_week,
            fb.alerts_per_week_ci,
        );
    let unless_tied = |o| if tied { Some(Equal) } else { o };
    // Each criterion: Less when `a` is better.
    let quieter = unless_tied(noise(a).partial_cmp(&noise(b)));
    let catches = recall(b).partial_cmp(&recall(a));
    let sooner = delay(a).partial_cmp(&delay(b));
    let criteria = match (labelled, objective) {
        (true, Objective::Recall) => [catches, quieter, sooner],
        (true, Objective::RecallSoonest) => [catches, sooner, quieter],
        (true, Objective::Delay) => {
            let soonest = |o: &Outcome| {
                if recall(o) > 0.0 {
                    delay(o)
                } else {
                    f64::INFINITY
                }
            };
            [soonest(a).partial_cmp(&soonest(b)), catches, quieter]
        }
        (false, _) => [
            unless_tied(fb.alerts_per_week.partial_cmp(&fa.alerts_per_week)),
            Some(Equal),
            Some(Equal),
        ],
    };
    criteria.into_iter().find(|o| *o != Some(Equal)) == Some(Some(Less))
}

/// The settings no other setting beats on all of noise (lower), recall (higher) and delay (lower),
/// one per distinct (noise, recall, delay), quietest first.
///
/// Only settings within `budget`'s time limit are points (unless none is): one that holds the
/// alarm in ALARM most of the time is no trade-off to pick, however it scores.
pub fn pareto(outcomes: &[Outcome], budget: Budget) -> Vec<usize> {
    let point = |o: &Outcome| (noise(o), recall(o), delay(o));
    let mut candidates: Vec<usize> = (0..outcomes.len())
        .filter(|&i| !budget.keeps_on(&outcomes[i]))
        .collect();
    if candidates.is_empty() {
        candidates = (0..outcomes.len()).collect();
    }
    let dominated = |i: usize| {
        let (n, r, d) = point(&outcomes[i]);
        candidates.iter().any(|&j| {
            let (n2, r2, d2) = point(&outcomes[j]);
            n2 <= n && r2 >= r && d2 <= d && (n2 < n || r2 > r || d2 < d)
        })
    };
    let mut front: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| !dominated(i))
        .collect();
    front.sort_by(|&a, &b| {
        point(&outcomes[a])
            .partial_cmp(&point(&outcomes[b]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    front.dedup_by(|a, b| point(&outcomes[*a]) == point(&outcomes[*b]));
    front
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::grid::Params;

    fn o(apw: f64, false_pw: f64, recall: f64, delay: f64) -> Outcome {
        Outcome {
            params: Params::new(),
            figures: crate::tune::Figures {
                alerts_per_week: apw,
                alerts_per_week_ci: [0.0, 0.0],
                false_alerts_per_week: Some(false_pw),
                time_in_alarm_ratio: 0.0,
                recall: Some(recall),
                median_delay_s: Some(delay),
            },
            episodes: 0,
            incidents: 2,
            caught: 0,
            incidents_in_warm_up: 0,
            incidents_point_labels: 0,
            incidents_late: 0,
            recall_by_kind: Default::default(),
            warnings: Vec::new(),
        }
    }

    /// `o` with the exact interval of `episodes` alerts over two weeks as its alerts per week.
    fn over_two_weeks(episodes: usize, false_pw: Option<f64>, recall: Option<f64>) -> Outcome {
        let two_weeks = 14.0 * 86_400_000.0;
        let mut out = o(episodes as f64 / 2.0, 0.0, 0.0, 600.0);
        out.figures.alerts_per_week_ci = rate::per_week_interval(episodes, two_weeks);
        out.figures.false_alerts_per_week = false_pw;
        out.figures.recall = recall;
        out
    }

    #[test]
    fn a_current_setting_within_budget_stays_unless_another_is_better_by_more_than_chance() {
        // Without incidents: 1 alert in two weeks against 2 is chance, 1 against 14 is not.
        let current = over_two_weeks(1, None, None);
        let outs = [current.clone(), over_two_weeks(2, None, None)];
        assert_eq!(
            recommend(&outs, Budget::per_week(1.0), Objective::Recall),
            Some((0, true))
        );
        let outs = [current.clone(), over_two_weeks(14, None, None)];
        assert_eq!(
            recommend(&outs, Budget::per_week(7.0), Objective::Recall),
            Some((1, true))
        );
        // With incidents: quieter by chance stays; catching more or far quieter moves.
        let current = over_two_weeks(2, Some(1.0), Some(0.5));
        let quieter = over_two_weeks(1, Some(0.5), Some(0.5));
        assert_eq!(
            recommend(
                &[current.clone(), quieter],
                Budget::per_week(1.0),
                Objective::Recall
            ),
            Some((0, true))
        );
        let catches_more = over_two_weeks(2, Some(0.5), Some(1.0));
        assert_eq!(
            recommend(
                &[current.clone(), catches_more],
                Budget::per_week(1.0),
                Objective::Recall
            ),
            Some((1, true))
        );
        let noisy = over_two_weeks(40, Some(19.5), Some(0.5));
        let far_quieter = over_two_weeks(2, Some(0.5), Some(0.5));
        assert_eq!(
            recommend(
                &[noisy.clone(), far_quieter.clone()],
                Budget::per_week(20.0),
                Objective::Recall
            ),
            Some((1, true))
        );
        // Over budget, the current setting is never kept for being close.
        assert_eq!(
            recommend(
                &[noisy, far_quieter],
                Budget::per_week(1.0),
                Objective::Recall
            ),
            Some((1, true))
        );
        // Sooner by the objective's own measure is a real gain for `recall-soonest`.
        let mut sooner = over_two_weeks(2, Some(1.0), Some(0.5));
        sooner.figures.median_delay_s = Some(60.0);
        assert_eq!(
            recommend(
                &[current, sooner],
                Budget::per_week(1.0),
                Objective::RecallSoonest
            ),
            Some((1, true))
        );
    }

    #[test]
    fn the_best_recall_within_budget_then_the_quietest_or_the_soonest() {
        let outs = [
            o(10.0, 9.0, 1.0, 60.0), // over budget
            o(2.0, 1.0, 0.5, 600.0), // within, half
            o(2.5, 0.5, 1.0, 900.0), // within, all, slow
            o(3.0, 1.0, 1.0, 300.0), // within, all, faster
        ];
        assert_eq!(
            recommend(&outs, Budget::per_week(1.0), Objective::RecallSoonest),
            Some((3, true))
        );
        assert_eq!(
            recommend(&outs, Budget::per_week(1.0), Objective::Recall),
            Some((2, true))
        );
        assert_eq!(
            recommend(&outs, Budget::per_week(0.1), Objective::Recall),
            Some((2, false))
        );
        let front = pareto(&outs, Budget::per_week(1.0));
        assert!(front.contains(&3) && front.contains(&2) && front.contains(&0));
        assert!(!front.contains(&1), "index 3 beats it everywhere");
    }

    #[test]
    fn an_alarm_held_in_alarm_beyond_the_limit_is_never_the_answer_while_another_fits() {
        let mut stuck = o(1.0, 0.0, 1.0, 60.0); // one episode, catches all, on 60 % of the time
        stuck.figures.time_in_alarm_ratio = 0.6;
        let mut intermittent = o(2.0, 0.5, 0.5, 600.0);
        intermittent.figures.time_in_alarm_ratio = 0.02;
        let outs = [o(20.0, 19.0, 1.0, 60.0), stuck, intermittent];
        let budget = Budget::per_week(1.0);
        assert_eq!(recommend(&outs, budget, Objective::Recall), Some((2, true)));
        let unlimited = Budget {
            time_in_alarm: 1.0,
            ..budget
        };
        assert_eq!(
            recommend(&outs, unlimited, Objective::Recall),
            Some((1, true))
        );
        // Nothing fits the alert budget: the quietest of those that leave the alarm off first.
        let tight = Budget::per_week(0.1);
        assert_eq!(recommend(&outs, tight, Objective::Recall), Some((2, false)));
        assert!(
            !pareto(&outs, budget).contains(&1),
            "not a point of the front"
        );
        assert!(pareto(&outs, unlimited).contains(&1));
        // A person's pick stands, reported as over the budget.
        let mut pick = outs[1].clone();
        pick.params
            .insert("k".into(), crate::tune::grid::Value::Num(2.0));
        assert_eq!(picked(&[outs[0].clone(), pick], budget), Some((1, false)));
    }
}
