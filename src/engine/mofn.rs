//! "At least M of the newest N" over bit planes, 64 datapoints per machine word.
//!
//! Over a stretch without missing datapoints a CloudWatch alarm's state is decided by that count
//! alone (rule 3 of `cloudwatch`), so the engine hands such stretches here. Each word of results
//! is the sum of N shifted copies of the breach bits, kept as a bit-sliced binary counter (one
//! plane per bit of the count), compared with M plane by plane; only the positions where the result
//! changes come back, so a tuning run pays a few dozen word operations per 64 datapoints instead of
//! a branch per datapoint. The engine's property test checks the result against deciding every
//! evaluation range one by one.

use super::cloudwatch::Breach;

/// Counts above this are left to the scalar loop (a shift by 64 or more would need two words).
pub const MAX_N: usize = 64;

/// The breaching count of the newest N at every position, bit-sliced: plane `p` holds bit `p` of
/// every position's count, 64 positions per word, plane after plane (only the planes a count up
/// to N needs: three for N ≤ 7). The same for every M.
#[derive(Debug, Clone, PartialEq)]
struct Planes {
    words: usize,
    width: usize,
    bits: Vec<u64>,
}

impl Planes {
    /// Word `w` of plane `p`.
    fn get(&self, p: usize, w: usize) -> u64 {
        self.bits[p * self.words + w]
    }
}

/// A breach classification as bits: which periods breach and which have no datapoint (a period
/// is good when neither bit is set).
#[derive(Debug, Clone)]
pub struct Classified {
    len: usize,
    breaching: Vec<u64>,
    missing: Vec<u64>,
    /// Count planes per N, computed on first use: the M-of-N settings of one N (one tuning grid
    /// has several) share them, and only the comparison with M is per setting.
    planes: std::cell::RefCell<Vec<Option<std::rc::Rc<Planes>>>>,
    /// The words whose count can be above 0 (computed on first use, shared by every setting).
    active: std::cell::OnceCell<Vec<usize>>,
}

/// Equal classifications: the same classes (whatever count planes either has cached).
impl PartialEq for Classified {
    fn eq(&self, other: &Classified) -> bool {
        (self.len, &self.breaching, &self.missing) == (other.len, &other.breaching, &other.missing)
    }
}

/// The first position at or after `from` whose bit is set in `words` (clear, when `invert`), or
/// `len`: a scan word by word.
fn first_set_from(words: &[u64], len: usize, from: usize, invert: bool) -> usize {
    if from >= len {
        return len;
    }
    let flip = if invert { !0u64 } else { 0 };
    let mut w = from / 64;
    let mut word = (words[w] ^ flip) & (!0u64 << (from % 64));
    loop {
        if word != 0 {
            return (w * 64 + word.trailing_zeros() as usize).min(len);
        }
        w += 1;
        if w == words.len() {
            return len;
        }
        word = words[w] ^ flip;
    }
}

impl Classified {
    /// From one class per period.
    pub fn new(classes: &[Breach]) -> Classified {
        Classified::build(classes.len(), |from, chunk| {
            for (code, class) in chunk.iter_mut().zip(&classes[from..]) {
                *code = *class as u8;
            }
        })
    }

    /// From `len` classes that `fill(from, chunk)` writes 64 at a time (the last chunk shorter) as
    /// codes of [`Breach`] (`Breach as u8`: 0 good, 1 breaching, 2 missing), `chunk` being
    /// positions `from..from + chunk.len()`: classifying into a small buffer of bytes keeps the
    /// comparison loop vectorised without a class per period in memory.
    pub fn build(len: usize, mut fill: impl FnMut(usize, &mut [u8])) -> Classified {
        let words = len.div_ceil(64);
        let (mut breaching, mut missing) = (vec![0u64; words], vec![0u64; words]);
        let mut buffer = [0u8; 64];
        for w in 0..words {
            let chunk = &mut buffer[..(len - 64 * w).min(64)];
            fill(64 * w, chunk);
            (breaching[w], missing[w]) = Classified::pack_codes(chunk);
        }
        Classified::from_words(len, breaching, missing)
    }

    /// Up to 64 class codes (as [`Classified::build`] takes them) as one word of each kind of bit:
    /// (breaching, missing).
    pub(crate) fn pack_codes(codes: &[u8]) -> (u64, u64) {
        debug_assert!(codes.len() <= 64);
        let (mut b, mut m) = (0u64, 0u64);
        let mut eights = codes.chunks_exact(8);
        for (e, c) in eights.by_ref().enumerate() {
            let (breaching_bytes, missing_bytes) = byte_flags(c);
            b |= pack_bytes(breaching_bytes) << (8 * e);
            m |= pack_bytes(missing_bytes) << (8 * e);
        }
        let done = codes.len() - eights.remainder().len();
        for (k, c) in eights.remainder().iter().enumerate() {
            b |= u64::from(*c == Breach::Breaching as u8) << (done + k);
            m |= u64::from(*c == Breach::Missing as u8) << (done + k);
        }
        (b, m)
    }

    /// From the bit words themselves (bit `j % 64` of word `j / 64` is period `j`; bits past
    /// `len` are 0; a period is never both breaching and missing).
    pub(crate) fn from_words(len: usize, breaching: Vec<u64>, missing: Vec<u64>) -> Classified {
        debug_assert!(breaching.len() == len.div_ceil(64) && missing.len() == breaching.len());
        debug_assert!(breaching.iter().zip(&missing).all(|(b, m)| b & m == 0));
        Classified {
            len,
            breaching,
            missing,
            planes: std::cell::RefCell::new(Vec::new()),
            active: std::cell::OnceCell::new(),
        }
    }

    /// Periods classified.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The class of period `j` (< `len`).
    pub fn get(&self, j: usize) -> Breach {
        let bit = |words: &[u64]| (words[j / 64] >> (j % 64)) & 1 == 1;
        if bit(&self.breaching) {
            Breach::Breaching
        } else if bit(&self.missing) {
            Breach::Missing
        } else {
            Breach::Good
        }
    }

    /// The range of `r` ≤ 64 periods ending before `end` (`end − r .. end`) as bit masks, bit 0 the
    /// oldest: the periods with a datapoint and the breaching ones. Periods before the first are
    /// missing (the padding CloudWatch's first evaluations see).
    pub fn range_bits(&self, end: usize, r: usize) -> (u64, u64) {
        debug_assert!((1..=64).contains(&r) && end <= self.len);
        let low = |bits: usize| {
            if bits >= 64 {
                !0u64
            } else {
                (1u64 << bits) - 1
            }
        };
        let window = |words: &[u64]| -> u64 {
            if end >= r {
                let start = end - r;
                let (w, offset) = (start / 64, start % 64);
                let mut bits = words[w] >> offset;
                if offset > 0 && w + 1 < words.len() {
                    bits |= words[w + 1] << (64 - offset);
                }
                bits & low(r)
            } else {
                // All within the first word, moved up past the padding.
                (words[0] & low(end)) << (r - end)
            }
        };
        let padding = low(r.saturating_sub(end));
        let breaching = window(&self.breaching);
        let present = ((!window(&self.missing) & low(r)) | breaching) & !padding;
        (present, breaching)
    }

    /// Every period's class, in order.
    pub fn iter(&self) -> impl Iterator<Item = Breach> + '_ {
        (0..self.len).map(|j| self.get(j))
    }

    /// The first position at or after `from` with no datapoint, or the length.
    pub fn next_missing(&self, from: usize) -> usize {
        first_set_from(&self.missing, self.len, from, false)
    }

    /// The first position at or after `from` with a datapoint, or the length.
    pub fn next_present(&self, from: usize) -> usize {
        first_set_from(&self.missing, self.len, from, true)
    }

    /// The first breaching position at or after `from`, or the length.
    pub fn next_breaching(&self, from: usize) -> usize {
        first_set_from(&self.breaching, self.len, from, false)
    }

    /// The newest position before `end` without a datapoint (`None`: every one before it has one).
    pub fn last_missing_before(&self, end: usize) -> Option<usize> {
        let end = end.min(self.len);
        if end == 0 {
            return None;
        }
        let mut w = (end - 1) / 64;
        let mut word = self.missing[w] & (!0u64 >> (63 - (end - 1) % 64));
        loop {
            if word != 0 {
                return Some(w * 64 + 63 - word.leading_zeros() as usize);
            }
            if w == 0 {
                return None;
            }
            w -= 1;
            word = self.missing[w];
        }
    }

    /// Breaching positions among `[from, to)`.
    pub fn breaching_between(&self, from: usize, to: usize) -> u32 {
        if from >= to {
            return 0;
        }
        let (first, last) = (from / 64, (to - 1) / 64);
        let low = !0u64 << (from % 64);
        let high = !0u64 >> (63 - (to - 1) % 64);
        if first == last {
            return (self.breaching[first] & low & high).count_ones();
        }
        (self.breaching[first] & low).count_ones()
            + self.breaching[first + 1..last]
                .iter()
                .map(|w| w.count_ones())
                .sum::<u32>()
            + (self.breaching[last] & high).count_ones()
    }

    /// Bit `k` of the result is breach bit `64·w + k − d` (0 before the start).
    fn shifted(&self, w: usize, d: usize) -> u64 {
        let here = self.breaching[w];
        if d == 0 {
            return here;
        }
        let before = if w > 0 { self.breaching[w - 1] } else { 0 };
        (here << d) | (before >> (64 - d))
    }

    /// Bits of a count of `n` (its planes).
    fn width(n: usize) -> usize {
        usize::BITS as usize - n.leading_zeros() as usize
    }

    /// The count planes of every word for `n`, computed once, from those of the largest smaller N
    /// already computed (a grid of N = 1…6 adds six shifted copies in all, not 21): a bit-sliced
    /// binary counter adding the shifted copies `known..n` of the breach bits, word by word.
    fn planes(&self, n: usize) -> std::rc::Rc<Planes> {
        let mut cache = self.planes.borrow_mut();
        if cache.len() <= n {
            cache.resize(n + 1, None);
        }
        if let Some(p) = &cache[n] {
            return p.clone();
        }
        let words = self.breaching.len();
        let width = Self::width(n);
        let mut bits = vec![0u64; width * words];
        let known = match (1..n).rev().find_map(|k| cache[k].clone().map(|p| (k, p))) {
            Some((known, base)) => {
                bits[..base.bits.len()].copy_from_slice(&base.bits);
                known
            }
            None => 0,
        };
        // Other words count 0: their planes stay 0.
        let active = self.active_words();
        for d in known..n {
            for &w in active {
                let mut carry = self.shifted(w, d);
                for p in 0..width {
                    let plane = &mut bits[p * words + w];
                    let next = *plane & carry;
                    *plane ^= carry;
                    carry = next;
                }
            }
        }
        let planes = std::rc::Rc::new(Planes { words, width, bits });
        cache[n] = Some(planes.clone());
        planes
    }

    /// "count ≥ m" for every position of a word, from its count planes, most significant first.
    fn at_least(planes: &Planes, w: usize, m: usize) -> u64 {
        if m == 0 {
            return !0;
        }
        let (mut greater, mut equal) = (0u64, !0u64);
        for p in (0..planes.width).rev() {
            let m_bit = if (m >> p) & 1 == 1 { !0u64 } else { 0 };
            let plane = planes.get(p, w);
            greater |= equal & plane & !m_bit;
            equal &= !(plane ^ m_bit);
        }
        greater | equal
    }

    /// The words holding a breach or following one, in order: with N ≤ 64 a window reaches back
    /// one word at most, so every other word counts 0 at every position. Above a few σ most words
    /// are such, and every setting of a classification skips them without looking.
    fn active_words(&self) -> &[usize] {
        self.active.get_or_init(|| {
            let b = &self.breaching;
            (0..b.len())
                .filter(|&w| b[w] | if w > 0 { b[w - 1] } else { 0 } != 0)
                .collect()
        })
    }

    /// Over positions `[from, to)` (with `from ≥ n − 1`), append to `changes` each position where
    /// "at least `m` of the newest `n` breach" differs from the position before, in order;
    /// `before` is its value just before `from`, so the values alternate from `!before`. A list
    /// rather than a callback: tuning's low k change state tens of millions of times, and the
    /// caller's loop over a list is tighter than a call per change.
    pub fn changes_into(
        &self,
        n: usize,
        m: usize,
        from: usize,
        to: usize,
        before: bool,
        changes: &mut Vec<usize>,
    ) {
        debug_assert!(n <= MAX_N && from + 1 >= n && to <= self.len);
        if from >= to {
            return;
        }
        let planes = self.planes(n);
        let (first_word, last_word) = (from / 64, (to - 1) / 64);
        // Word `w`: the positions where the result changes (given whether the position before
        // the word was on), and the result.
        let word = |w: usize, previous_top: u64| -> (u64, u64) {
            let on = Self::at_least(&planes, w, m);
            let mut shifted = (on << 1) | previous_top;
            let lo = if w == first_word { from % 64 } else { 0 };
            let hi = if w == last_word {
                (to - 1) % 64 + 1
            } else {
                64
            };
            if lo > 0 {
                // The position before `from` is `before`, whatever this word computed there.
                shifted = (shifted & !(1u64 << lo)) | (u64::from(before) << lo);
            }
            let mask = if hi == 64 { !0u64 } else { (1u64 << hi) - 1 } & (!0u64 << lo);
            ((on ^ shifted) & mask, on)
        };
        let mut emit = |w: usize, (mut bits, on): (u64, u64)| -> u64 {
            while bits != 0 {
                changes.push(w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
            on >> 63
        };
        if m == 0 {
            // Always on: no word is quiet.
            let mut top = u64::from(before);
            for w in first_word..=last_word {
                top = emit(w, word(w, top));
            }
            return;
        }
        // The first word whole (it may start inside), then the active words only. Any other word
        // counts 0 throughout, and so does the last position before it (its newest N ≤ 64 lie in
        // the word before, which holds no breach either): nothing changes there.
        let mut top = emit(first_word, word(first_word, u64::from(before)));
        let active = self.active_words();
        let after_first = active.partition_point(|&a| a <= first_word);
        let mut w = first_word;
        for &a in &active[after_first..] {
            if a > last_word {
                break;
            }
            debug_assert!(
                a == w + 1 || top == 0,
                "a quiet word follows a word ending on"
            );
            top = emit(a, word(a, top));
            w = a;
        }
    }
}

/// Eight class codes as two words of one flag byte each (0 or 1): breaching, missing.
fn byte_flags(c: &[u8]) -> (u64, u64) {
    let bytes = u64::from_le_bytes(std::array::from_fn(|k| c[k]));
    // Good = 0, Breaching = 1, Missing = 2.
    (bytes & !(bytes >> 1) & LOW_BITS, (bytes >> 1) & LOW_BITS)
}

/// The lowest bit of every byte.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;

/// The low bits of a word's eight bytes (each 0 or 1) as eight bits, byte `k` → bit `k`: the
/// multiplication moves byte `k`'s bit to bit 56 + k, with no other product term reaching bits
/// 56..64 or colliding.
fn pack_bytes(flags: u64) -> u64 {
    flags.wrapping_mul(0x0102_0408_1020_4080) >> 56
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` classes drawn from `choices`.
    fn random_classes(rng: &mut crate::rng::Rng, len: usize, choices: &[Breach]) -> Vec<Breach> {
        (0..len).map(|_| *rng.pick(choices)).collect()
    }

    /// The count, position by position.
    fn slow(classes: &[Breach], n: usize, m: usize, j: usize) -> bool {
        let from = (j + 1).saturating_sub(n);
        classes[from..=j]
            .iter()
            .filter(|c| **c == Breach::Breaching)
            .count()
            >= m
    }

    #[test]
    fn changes_are_where_the_count_crosses_m() {
        let mut rng = crate::rng::Rng::new(7);
        for case in 0..2000 {
            let len = rng.int(1, 400) as usize;
            let rate = *rng.pick(&[0.003, 0.02, 0.05, 0.3, 0.6, 0.95]);
            let classes: Vec<Breach> = (0..len)
                .map(|_| {
                    if rng.chance(rate) {
                        Breach::Breaching
                    } else {
                        Breach::Good
                    }
                })
                .collect();
            let c = Classified::new(&classes);
            let n = rng.int(1, MAX_N as i64) as usize;
            let m = rng.int(0, n as i64) as usize;
            if n > len {
                continue;
            }
            let from = rng.int(n as i64 - 1, len as i64 - 1) as usize;
            let to = rng.int(from as i64, len as i64) as usize;
            let before = rng.chance(0.5);
            let mut positions = Vec::new();
            c.changes_into(n, m, from, to, before, &mut positions);
            let got: Vec<(usize, bool)> = positions
                .iter()
                .zip((0..).map(|i| before ^ (i % 2 == 0)))
                .map(|(j, on)| (*j, on))
                .collect();
            let mut expected = Vec::new();
            let mut previous = before;
            for j in from..to {
                let on = slow(&classes, n, m, j);
                if on != previous {
                    expected.push((j, on));
                }
                previous = on;
            }
            assert_eq!(got, expected, "case {case}: n {n} m {m} [{from}, {to})");
        }
    }

    #[test]
    fn bits_are_packed_in_position_order() {
        let mut rng = crate::rng::Rng::new(3);
        let classes = random_classes(
            &mut rng,
            1000,
            &[Breach::Good, Breach::Breaching, Breach::Missing],
        );
        let c = Classified::new(&classes);
        for (j, class) in classes.iter().enumerate() {
            let bit = |words: &[u64]| (words[j / 64] >> (j % 64)) & 1 == 1;
            assert_eq!(bit(&c.breaching), *class == Breach::Breaching, "{j}");
            assert_eq!(bit(&c.missing), *class == Breach::Missing, "{j}");
            assert_eq!(c.get(j), *class, "{j}");
        }
        assert_eq!(c.iter().collect::<Vec<_>>(), classes);
    }

    #[test]
    fn breaching_between_counts_across_words() {
        let mut rng = crate::rng::Rng::new(5);
        let classes = random_classes(
            &mut rng,
            700,
            &[Breach::Good, Breach::Breaching, Breach::Missing],
        );
        let c = Classified::new(&classes);
        for _ in 0..2000 {
            let from = rng.int(0, 700) as usize;
            let to = rng.int(from as i64, 700) as usize;
            let slow = classes[from..to]
                .iter()
                .filter(|b| **b == Breach::Breaching)
                .count();
            assert_eq!(
                c.breaching_between(from, to) as usize,
                slow,
                "[{from}, {to})"
            );
        }
    }

    #[test]
    fn planes_built_from_a_smaller_n_equal_planes_from_scratch() {
        let mut rng = crate::rng::Rng::new(9);
        let classes = random_classes(&mut rng, 500, &[Breach::Good, Breach::Breaching]);
        let incremental = Classified::new(&classes);
        for n in [1, 2, 3, 5, 8, 12, 40, 64] {
            let fresh = Classified::new(&classes);
            assert_eq!(incremental.planes(n), fresh.planes(n), "n {n}");
        }
    }

    #[test]
    fn a_range_reads_as_bits_oldest_first_with_padding_before_the_start() {
        let mut rng = crate::rng::Rng::new(5);
        for _ in 0..2000 {
            let len = rng.int(1, 300) as usize;
            let classes = random_classes(
                &mut rng,
                len,
                &[Breach::Good, Breach::Breaching, Breach::Missing],
            );
            let c = Classified::new(&classes);
            let r = rng.int(1, 64) as usize;
            let end = rng.int(0, len as i64) as usize;
            let (present, breaching) = c.range_bits(end, r);
            for k in 0..64 {
                let class = (end + k)
                    .checked_sub(r)
                    .filter(|_| k < r)
                    .map(|j| classes[j]);
                let bit = |mask: u64| (mask >> k) & 1 == 1;
                assert_eq!(
                    bit(present),
                    matches!(class, Some(Breach::Good | Breach::Breaching))
                );
                assert_eq!(bit(breaching), class == Some(Breach::Breaching));
            }
        }
    }

    #[test]
    fn next_missing_finds_gaps_across_words() {
        let mut classes = vec![Breach::Good; 200];
        classes[3] = Breach::Missing;
        classes[130] = Breach::Missing;
        let c = Classified::new(&classes);
        assert_eq!(c.next_missing(0), 3);
        assert_eq!(c.next_missing(4), 130);
        assert_eq!(c.next_missing(131), 200);
        assert_eq!(c.next_missing(500), 200);
        let mut gaps = vec![Breach::Missing; 200];
        gaps[3] = Breach::Good;
        gaps[130] = Breach::Breaching;
        let c = Classified::new(&gaps);
        assert_eq!(c.next_present(0), 3);
        assert_eq!(c.next_present(4), 130);
        assert_eq!(c.next_present(131), 200);
        assert_eq!(c.next_present(500), 200);
        assert_eq!(c.next_breaching(0), 130);
        assert_eq!(c.next_breaching(131), 200);
        assert_eq!(c.last_missing_before(0), None);
        assert_eq!(c.last_missing_before(3), Some(2));
        assert_eq!(c.last_missing_before(131), Some(129));
        assert_eq!(c.last_missing_before(500), Some(199));
        let mut few = vec![Breach::Good; 200];
        few[70] = Breach::Missing;
        let c = Classified::new(&few);
        assert_eq!(c.last_missing_before(70), None);
        assert_eq!(c.last_missing_before(71), Some(70));
        assert_eq!(c.last_missing_before(199), Some(70));
    }
}
