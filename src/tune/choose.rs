//! From pooled tallies to the report: per (alert, env, engine) the recommendation (or the picked
//! setting), its current setting, the Pareto front and, with `--all`, every setting — from one
//! run's tallies or from every shard's and batch's added up (`pool::merge`). An (alert, env) tuned
//! on both engines has the keys both read chosen once (`joint`).

use super::pool::{self, Pool};
use super::{joint, read_by_both_engines, select};
use super::{Outcome, ParetoPoint, Recommendation, Tried, TuneReport};
use crate::score::rate;

/// The recommendation, Pareto front (and with `keep_all` every setting) of each pooled (alert,
/// env, engine): from one run's tallies, or from every shard's added up (`pool::merge`).
pub fn choose(pool: &Pool) -> TuneReport {
    let mut report = TuneReport {
        injected: (pool.injected.asked > 0).then(|| pool.injected.clone()),
        ..TuneReport::default()
    };
    let outcomes: Vec<Vec<Outcome>> = pool
        .groups
        .iter()
        .map(|group| {
            group
                .settings
                .iter()
                .map(|(params, t)| t.outcome(params))
                .collect()
        })
        .collect();
    let choices = choices(pool, &outcomes);
    for ((group, outcomes), choice) in pool.groups.iter().zip(&outcomes).zip(choices) {
        let engine = pool::engine_name(&group.engine);
        let Some(mut current) = outcomes.first().cloned() else {
            continue;
        };
        // In the keys tuned, so current and recommended read side by side.
        current.params = group.current.clone();
        let Some(Choice {
            index: best,
            within_budget,
            shared_keys,
        }) = choice
        else {
            continue;
        };
        let chosen = &outcomes[best];
        report.recommendations.push(Recommendation {
            alert: group.alert.clone(),
            env: group.env.clone(),
            engine,
            params: chosen.params.clone(),
            figures: chosen.figures.clone(),
            configs_evaluated: outcomes.len(),
            incidents: chosen.incidents,
            caught: chosen.caught,
            configs_skipped: group.skipped,
            incidents_in_warm_up: chosen.incidents_in_warm_up,
            incidents_point_labels: chosen.incidents_point_labels,
            incidents_late: chosen.incidents_late,
            recall_by_kind: chosen.recall_by_kind.clone(),
            warnings: chosen.warnings.clone(),
            within_budget,
            picked: pool.pick,
            shared_keys,
            budget: pool.budget,
            max_time_in_alarm: pool.max_time_in_alarm,
            noise_difference_uncertain: rate::indistinguishable(
                current.figures.alerts_per_week,
                current.figures.alerts_per_week_ci,
                chosen.figures.alerts_per_week,
                chosen.figures.alerts_per_week_ci,
            ),
            current,
        });
        if pool.keep_all {
            report.settings.extend(outcomes.iter().map(|o| Tried {
                alert: group.alert.clone(),
                env: group.env.clone(),
                engine,
                outcome: o.clone(),
            }));
        }
        for i in select::pareto(outcomes, pool.limits()) {
            let o = &outcomes[i];
            report.pareto.push(ParetoPoint {
                alert: group.alert.clone(),
                env: group.env.clone(),
                engine,
                params: o.params.clone(),
                figures: o.figures.clone(),
            });
        }
    }
    report
}

/// What was chosen for one (alert, env, engine): an index into its outcomes, whether it meets the
/// budget, and the keys chosen jointly with the alert's other engine.
struct Choice {
    index: usize,
    within_budget: bool,
    shared_keys: Vec<String>,
}

/// The choice of each group of `pool` (`outcomes` per group; `[0]` the current setting): a picked
/// setting, or the recommendation — for an (alert, env) tuned on both engines, with the keys both
/// read chosen once for both (`joint::recommend_shared`).
fn choices(pool: &Pool, outcomes: &[Vec<Outcome>]) -> Vec<Option<Choice>> {
    let alone = |i: usize| {
        let (index, within_budget) = if pool.pick {
            select::picked(&outcomes[i], pool.limits())
        } else {
            select::recommend(&outcomes[i], pool.limits(), pool.objective)
        }?;
        Some(Choice {
            index,
            within_budget,
            shared_keys: Vec::new(),
        })
    };
    let mut out: Vec<Option<Choice>> = (0..pool.groups.len()).map(alone).collect();
    if pool.pick {
        return out;
    }
    let groups = &pool.groups;
    for a in 0..groups.len() {
        let Some(b) = (a + 1..groups.len()).find(|&b| {
            groups[b].alert == groups[a].alert
                && groups[b].env == groups[a].env
                && groups[b].engine != groups[a].engine
        }) else {
            continue;
        };
        let engine = |i: usize| joint::EngineOutcomes {
            outcomes: &outcomes[i],
            current: &groups[i].current,
        };
        let Some(pair) = joint::recommend_shared(
            [engine(a), engine(b)],
            &read_by_both_engines,
            pool.limits(),
            pool.objective,
        ) else {
            continue;
        };
        let shared_keys: Vec<String> = groups[a]
            .current
            .keys()
            .filter(|key| read_by_both_engines(key))
            .cloned()
            .collect();
        for (i, (index, within_budget)) in [a, b].into_iter().zip(pair) {
            out[i] = Some(Choice {
                index,
                within_budget,
                shared_keys: shared_keys.clone(),
            });
        }
    }
    out
}
