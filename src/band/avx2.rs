//! The per-`k` classification ([`super::classified`]) four periods per instruction, on CPUs with
//! AVX2 (checked at run time; the binary's floor is x86-64-v2, which has none).
//!
//! Tuning classifies every series once per `k` (20 times a series on the default grid), and the
//! portable loop — a class code per period, then eight codes packed per multiplication — was two
//! fifths of a tuning replay. Here each comparison's lane mask goes straight into the bit words
//! (`movemask`). The arithmetic is the portable loop's, operation for operation (`k·s`, then
//! `c ± k·s`, no fused multiply-add; ordered comparisons, so a NaN bound compares false), so the
//! bits are the same on every CPU; a test checks it on random data with NaN and ±∞.

use std::arch::x86_64::*;

use super::{Band, Direction, Rule};
use crate::engine::mofn::Classified;

/// The classification of `values` against `band`, or `None` when this CPU has no AVX2.
pub fn classified(values: &[f64], band: &Band, rule: &Rule) -> Option<Classified> {
    if !is_x86_feature_detected!("avx2") {
        return None;
    }
    let len = values.len();
    let (center, spread) = (&band.center[..len], &band.spread[..len]);
    let words = len.div_ceil(64);
    let whole = len / 64;
    let (mut breaching, mut missing) = (vec![0u64; words], vec![0u64; words]);
    let (k, floor) = (rule.k, rule.floor.unwrap_or(f64::NAN));
    let words_of = words_of_side(rule);
    // SAFETY: the CPU has AVX2 (checked above).
    unsafe {
        words_of(
            values,
            center,
            spread,
            k,
            floor,
            &mut breaching[..whole],
            &mut missing[..whole],
        )
    };
    if whole < words {
        // The last, partial word: the portable loop.
        let from = whole * 64;
        let mut codes = [0u8; 64];
        let codes = &mut codes[..len - from];
        super::classifier(rule)(
            &values[from..],
            &center[from..],
            &spread[from..],
            rule,
            codes,
        );
        (breaching[whole], missing[whole]) = Classified::pack_codes(codes);
    }
    Some(Classified::from_words(len, breaching, missing))
}

/// Writes the breaching and missing words of the whole words of `values` (see [`words_of`]).
type WordsOf = unsafe fn(&[f64], &[f64], &[f64], f64, f64, &mut [u64], &mut [u64]);

/// [`words_of`] for the rule's side and strictness (as `super::classifier` picks the portable
/// loop).
fn words_of_side(rule: &Rule) -> WordsOf {
    super::for_side!(rule, words_of)
}

/// The breaching and missing words of the whole words of `values` (`breaching.len()` of them).
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn words_of<const ABOVE: bool, const BELOW: bool, const INCLUSIVE: bool>(
    values: &[f64],
    center: &[f64],
    spread: &[f64],
    k: f64,
    floor: f64,
    breaching: &mut [u64],
    missing: &mut [u64],
) {
    let (k, floor) = (_mm256_set1_pd(k), _mm256_set1_pd(floor));
    let words = values
        .chunks_exact(64)
        .zip(center.chunks_exact(64))
        .zip(spread.chunks_exact(64));
    for ((((v, c), s), b), m) in words.zip(breaching.iter_mut()).zip(missing.iter_mut()) {
        let (mut bits, mut gaps) = (0u64, 0u64);
        for q in 0..16 {
            let at = 4 * q;
            let v = _mm256_loadu_pd(v[at..at + 4].as_ptr());
            let c = _mm256_loadu_pd(c[at..at + 4].as_ptr());
            let s = _mm256_loadu_pd(s[at..at + 4].as_ptr());
            let ks = _mm256_mul_pd(k, s);
            let mut outside = _mm256_setzero_pd();
            if ABOVE {
                let upper = _mm256_add_pd(c, ks);
                let above = if INCLUSIVE {
                    _mm256_cmp_pd::<_CMP_GE_OQ>(v, upper)
                } else {
                    _mm256_cmp_pd::<_CMP_GT_OQ>(v, upper)
                };
                outside = _mm256_or_pd(outside, above);
            }
            if BELOW {
                let lower = _mm256_sub_pd(c, ks);
                // `if lower < floor { lower = floor }`: a NaN on either side keeps `lower`.
                let lower =
                    _mm256_blendv_pd(lower, floor, _mm256_cmp_pd::<_CMP_LT_OQ>(lower, floor));
                let below = if INCLUSIVE {
                    _mm256_cmp_pd::<_CMP_LE_OQ>(v, lower)
                } else {
                    _mm256_cmp_pd::<_CMP_LT_OQ>(v, lower)
                };
                outside = _mm256_or_pd(outside, below);
            }
            bits |= u64::from(_mm256_movemask_pd(outside) as u32) << at;
            gaps |= u64::from(_mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(v, v)) as u32) << at;
        }
        *b = bits;
        *m = gaps;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value of every kind the data can hold: ordinary, equal to a bound, NaN, ±∞, ±0.
    fn awkward(rng: &mut crate::rng::Rng) -> f64 {
        let ordinary = rng.normal() * 3.0;
        *rng.pick(&[
            ordinary,
            ordinary,
            ordinary,
            1.0,
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ])
    }

    #[test]
    fn bits_equal_the_portable_loops() {
        if !is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        let mut rng = crate::rng::Rng::new(17);
        for case in 0..300 {
            let len = rng.int(0, 700) as usize;
            let values: Vec<f64> = (0..len).map(|_| awkward(&mut rng)).collect();
            let band = Band {
                center: (0..len).map(|_| awkward(&mut rng)).collect(),
                spread: (0..len).map(|_| awkward(&mut rng).abs()).collect(),
            };
            let direction = *rng.pick(&[Direction::Above, Direction::Below, Direction::Both]);
            let rule = Rule {
                k: *rng.pick(&[0.0, 0.5, 1.0, 2.5, 7.0]),
                direction,
                inclusive: rng.chance(0.5),
                floor: *rng.pick(&[None, Some(0.0), Some(-1.5), Some(f64::NAN)]),
            };
            let fast = classified(&values, &band, &rule).expect("AVX2");
            let portable = super::super::classified_portable(&values, &band, &rule);
            assert_eq!(fast, portable, "case {case}: {len} periods, {rule:?}");
        }
    }
}
