//! How sure an alerts-per-week figure is. A few weeks of history hold a handful of episodes; the
//! count is treated as Poisson and given its exact (Garwood) 95 % interval, so two settings are not
//! called different when their intervals overlap heavily.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::series::time::WEEK_MS;

/// The exact two-sided 95 % interval of a rate per week for `count` events seen over `covered_ms`:
/// `[χ²(0.025; 2c)/2, χ²(0.975; 2c+2)/2] / weeks`, with 0 as the lower bound when `count` is 0.
pub fn per_week_interval(count: usize, covered_ms: f64) -> [f64; 2] {
    if covered_ms <= 0.0 {
        return [0.0, f64::INFINITY];
    }
    let weeks = covered_ms / WEEK_MS as f64;
    let [lower, upper] = count_interval(count);
    [lower / weeks, upper / weeks]
}

/// The 95 % interval of a Poisson count, memoised per thread: a tuning run asks for the same few
/// counts hundreds of thousands of times, and each is two χ² quantiles (a root search).
fn count_interval(count: usize) -> [f64; 2] {
    thread_local! {
        static KNOWN: std::cell::RefCell<Vec<Option<[f64; 2]>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    const MEMOISED: usize = 1 << 16;
    let compute = || {
        let c = count as f64;
        let lower = if count == 0 {
            0.0
        } else {
            ChiSquared::new(2.0 * c)
                .map(|d| d.inverse_cdf(0.025) / 2.0)
                .unwrap_or(0.0)
        };
        let upper = ChiSquared::new(2.0 * c + 2.0)
            .map(|d| d.inverse_cdf(0.975) / 2.0)
            .unwrap_or(f64::INFINITY);
        [lower, upper]
    };
    if count >= MEMOISED {
        return compute();
    }
    KNOWN.with(|known| {
        let mut known = known.borrow_mut();
        if known.len() <= count {
            known.resize(count + 1, None);
        }
        *known[count].get_or_insert_with(compute)
    })
}

/// Whether two rates cannot be told apart: each estimate lies inside the other's interval.
pub fn indistinguishable(a: f64, a_ci: [f64; 2], b: f64, b_ci: [f64; 2]) -> bool {
    (b_ci[0]..=b_ci[1]).contains(&a) && (a_ci[0]..=a_ci[1]).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garwood_interval_known_values() {
        // For 0 events: upper = 3.689 (the "rule of three" neighbour); for 10: [4.795, 18.390].
        let week = WEEK_MS as f64;
        let [lo, hi] = per_week_interval(0, week);
        assert_eq!(lo, 0.0);
        assert!((hi - 3.6889).abs() < 1e-3, "{hi}");
        let [lo, hi] = per_week_interval(10, week);
        assert!(
            (lo - 4.7954).abs() < 1e-3 && (hi - 18.3904).abs() < 1e-3,
            "{lo} {hi}"
        );
        // Two weeks halve the rate.
        let [lo2, hi2] = per_week_interval(10, 2.0 * week);
        assert!((lo2 - lo / 2.0).abs() < 1e-9 && (hi2 - hi / 2.0).abs() < 1e-9);
        assert!(indistinguishable(10.0, [4.8, 18.4], 12.0, [6.2, 21.0]));
        assert!(!indistinguishable(1.0, [0.03, 5.6], 40.0, [28.6, 54.5]));
    }
}
