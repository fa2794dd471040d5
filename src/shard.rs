//! Sharding a run across machines: `--shard i/n` keeps the series whose stable hash falls in shard
//! `i` of `n`, so a CI matrix, Kubernetes Indexed Job or AWS Batch array job runs `n` copies of the
//! same command and `alertlab merge` puts the outputs back together as one run would have made them.
//!
//! The hash is FNV-1a (64 bit) of the series name: the same on every machine, platform and release
//! (never Rust's randomly seeded `HashMap` hasher), and independent of file paths, which differ
//! between machines. All alerts reading one series run in the same shard, so a series is loaded,
//! resampled and fitted once across the whole fleet run.

use std::fmt;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// Environment variables that schedulers set to a job's 0-based index, in the order `auto` reads
/// them.
pub const SCHEDULER_INDEX: &[(&str, &str)] = &[
    ("JOB_COMPLETION_INDEX", "Kubernetes Indexed Job"),
    ("AWS_BATCH_JOB_ARRAY_INDEX", "AWS Batch array job"),
];

impl Shard {
    /// `i/n` (1 ≤ i ≤ n), or `auto/n`: the index from the scheduler's environment (0-based there,
    /// hence shard index + 1), read through `env`.
    pub fn parse_with(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected `i/n` (e.g. `2/8`) or `auto/n`"))?;
        let count: u64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                format!("`{text}`: the shard count is a whole number from 1 to 1000000")
            })?;
        let index = if i.trim() == "auto" {
            let (var, value) = SCHEDULER_INDEX
                .iter()
                .find_map(|(var, _)| env(var).map(|v| (*var, v)))
                .ok_or_else(|| {
                    format!(
                        "`--shard {text}`: no scheduler index is set ({}); give the shard as `i/{count}`",
                        SCHEDULER_INDEX
                            .iter()
                            .map(|(v, who)| format!("`{v}` for a {who}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            let zero_based: u64 = value.trim().parse().map_err(|_| {
                format!("`--shard {text}`: `{var}` is `{value}`, not a 0-based index")
            })?;
            zero_based + 1
        } else {
            i.trim()
                .parse()
                .map_err(|_| format!("`{text}`: the shard index is a whole number or `auto`"))?
        };
        if index == 0 || index > count {
            return Err(format!(
                "`{text}`: shard {index} of {count} does not exist (shards are 1 to {count}; scheduler indices are 0-based)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the series named `name` belongs to this shard.
    pub fn holds(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % self.count == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bit.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn every_series_lands_in_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=4)
            .map(|i| Shard::parse_with(&format!("{i}/4"), no_env).unwrap())
            .collect();
        let mut per_shard = [0usize; 4];
        for s in 0..1000 {
            let name = format!("svc-{s}");
            let holders: Vec<usize> = (0..4).filter(|&k| shards[k].holds(&name)).collect();
            assert_eq!(holders.len(), 1, "{name}");
            per_shard[holders[0]] += 1;
        }
        assert!(per_shard.iter().all(|&n| n > 200), "{per_shard:?}");
    }

    #[test]
    fn the_hash_is_fnv1a_and_stable() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn auto_reads_the_schedulers_zero_based_index() {
        let k8s = |v: &str| (v == "JOB_COMPLETION_INDEX").then(|| "2".to_string());
        assert_eq!(
            Shard::parse_with("auto/4", k8s).unwrap(),
            Shard { index: 3, count: 4 }
        );
        let batch = |v: &str| (v == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "0".to_string());
        assert_eq!(Shard::parse_with("auto/2", batch).unwrap().index, 1);
        let err = Shard::parse_with("auto/4", no_env).unwrap_err();
        assert!(err.contains("JOB_COMPLETION_INDEX") && err.contains("AWS_BATCH_JOB_ARRAY_INDEX"));
        let high = |_: &str| Some("4".to_string());
        assert!(Shard::parse_with("auto/4", high)
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn bad_shards_are_refused_with_the_expected_form() {
        for bad in ["0/4", "5/4", "1/0", "x/4", "1-4", "-1/4"] {
            assert!(Shard::parse_with(bad, no_env).is_err(), "{bad}");
        }
    }
}
