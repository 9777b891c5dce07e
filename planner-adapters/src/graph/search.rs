//! Fast multi-needle substring search over lowercased text.
//!
//! Provenance and injection detection both ask "where do these few strings
//! occur in hundreds of kilobytes of tool output?". A plain Aho-Corasick scan
//! is slow on prose when needles start with common letters (`rep...` matches
//! every "report"), because its SIMD prefilter keys on each pattern's first
//! bytes. So each needle is searched by its *rarest* short window (the
//! anchor: digits, `@`, `/` beat `e`, `t` and spaces), and every anchor hit is
//! verified against the whole needle. Callers lowercase both sides with
//! `to_ascii_lowercase`, which keeps byte offsets unchanged.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memmem;

/// Longest anchor.
const ANCHOR: usize = 8;

/// Most patterns in one automaton. Aho-Corasick's SIMD (Teddy) prefilter
/// only serves small pattern sets; past that the scan falls back to a
/// byte-at-a-time automaton and gets ~6x slower, so larger sets are split
/// into several automata, each scanned separately.
const PER_AUTOMATON: usize = 48;

/// Below this many needle-bytes of work (needles times haystack length), a
/// value search runs one `memmem` finder per needle instead of building the
/// automaton: on a small conversation building the automaton costs more than
/// scanning the text once per needle.
const SMALL_WORK: usize = 32 * 1024;

/// English letter order by frequency: a byte's rank here is its commonness.
const COMMON: &[u8] = b" etaoinshrdlcumwfgypbvkjxqz";

/// How rare a byte is in ordinary text (higher is rarer).
fn rarity(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => 24,
        b'.' | b',' | b'\n' => 8,
        b'a'..=b'z' => COMMON.iter().position(|c| *c == b).map_or(20, |i| i as u32),
        0x80.. => 14,
        _ => 30,
    }
}

/// Offset of the rarest window of a needle (scored on its first 3 bytes,
/// what the SIMD prefilter looks at).
fn anchor_offset(needle: &[u8]) -> usize {
    let len = needle.len();
    if len <= 3 {
        return 0;
    }
    (0..=len - 3)
        .max_by_key(|&o| {
            let score: u32 = needle[o..o + 3].iter().map(|b| rarity(*b)).sum();
            // Prefer the earliest among equals: max_by_key keeps the last max,
            // so break ties with the negated offset.
            (score, usize::MAX - o)
        })
        .unwrap_or(0)
}

/// A compiled set of needles (already lowercased).
#[derive(Debug)]
pub struct Needles {
    /// The automata, built on the first search that needs them.
    compiled: OnceLock<Compiled>,
    needles: Vec<Vec<u8>>,
    /// One finder per needle (value mode only; `None` for empty needles),
    /// for haystacks too small to be worth an automaton.
    finders: Vec<Option<memmem::Finder<'static>>>,
    /// Whole-phrase mode: leftmost-first, non-overlapping (much faster:
    /// overlapping search cannot skip ahead with the prefilter as well).
    whole: bool,
}

/// The automaton side of [`Needles`].
#[derive(Debug)]
struct Compiled {
    /// Automata over consecutive groups of anchors, with each group's first
    /// anchor index.
    acs: Vec<(AhoCorasick, usize)>,
    /// For each anchor pattern: the needles it belongs to and where in each.
    owners: Vec<Vec<(usize, usize)>>,
}

impl Needles {
    /// Compiles the needles, each searched by its rarest window; empty
    /// needles never match. Best for values (addresses, paths, numbers).
    pub fn new<S: AsRef<[u8]>>(needles: &[S]) -> Self {
        Self::build(needles, true)
    }

    /// Compiles the needles searched whole, from their first byte. Best for
    /// phrases of words, whose short inner windows (`w in`, `s for`) are
    /// common in prose while their opening words are not.
    pub fn whole<S: AsRef<[u8]>>(needles: &[S]) -> Self {
        Self::build(needles, false)
    }

    fn build<S: AsRef<[u8]>>(needles: &[S], anchored: bool) -> Self {
        let needles: Vec<Vec<u8>> = needles.iter().map(|n| n.as_ref().to_vec()).collect();
        let finders = if anchored {
            needles
                .iter()
                .map(|n| (!n.is_empty()).then(|| memmem::Finder::new(n).into_owned()))
                .collect()
        } else {
            Vec::new()
        };
        Needles {
            compiled: OnceLock::new(),
            needles,
            finders,
            whole: !anchored,
        }
    }

    /// The anchors and their automata, built on first use.
    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let anchored = !self.whole;
            let mut anchors: Vec<&[u8]> = Vec::new();
            let mut owners: Vec<Vec<(usize, usize)>> = Vec::new();
            for (i, n) in self.needles.iter().enumerate() {
                if n.is_empty() {
                    continue;
                }
                let (off, anchor) = if anchored {
                    let off = anchor_offset(n);
                    (off, &n[off..(off + ANCHOR).min(n.len())])
                } else {
                    (0, n.as_slice())
                };
                match anchors.iter().position(|a| *a == anchor) {
                    Some(a) => owners[a].push((i, off)),
                    None => {
                        anchors.push(anchor);
                        owners.push(vec![(i, off)]);
                    }
                }
            }
            let kind = if anchored {
                MatchKind::Standard
            } else {
                MatchKind::LeftmostFirst
            };
            // Value needles are compiled on every call (they are the
            // arguments being judged): a DFA costs more to build than a
            // small conversation costs to scan, and with the prefilter
            // skipping between anchor hits the automaton only confirms
            // candidates, so an NFA searches about as fast. Phrase sets are
            // static (built once), so they take the default (a DFA).
            let automaton = anchored.then_some(AhoCorasickKind::NoncontiguousNFA);
            let acs = anchors
                .chunks(PER_AUTOMATON)
                .enumerate()
                .filter_map(|(i, group)| {
                    let ac = AhoCorasickBuilder::new()
                        .match_kind(kind)
                        .kind(automaton)
                        .build(group)
                        .ok()?;
                    Some((ac, i * PER_AUTOMATON))
                })
                .collect();
            Compiled { acs, owners }
        })
    }

    /// Calls `hit(needle, start, end)` for every occurrence of every needle
    /// in `lower` (overlapping occurrences included, each reported once; in
    /// [`Needles::whole`] mode, non-overlapping leftmost-first occurrences).
    pub fn for_each(&self, lower: &[u8], mut hit: impl FnMut(usize, usize, usize)) {
        if !self.whole && self.needles.len().saturating_mul(lower.len()) <= SMALL_WORK {
            // Same hits as the automaton, in needle order rather than text
            // order (callers do not depend on the order).
            for (needle, finder) in self.finders.iter().enumerate() {
                let Some(finder) = finder else { continue };
                let len = finder.needle().len();
                let mut at = 0;
                while let Some(i) = lower.get(at..).and_then(|rest| finder.find(rest)) {
                    hit(needle, at + i, at + i + len);
                    at += i + 1;
                }
            }
            return;
        }
        let Compiled { acs, owners } = self.compiled();
        for (ac, base) in acs {
            if self.whole {
                for m in ac.find_iter(lower) {
                    for &(needle, _) in &owners[base + m.pattern().as_usize()] {
                        hit(needle, m.start(), m.end());
                    }
                }
                continue;
            }
            for m in ac.find_overlapping_iter(lower) {
                for &(needle, off) in &owners[base + m.pattern().as_usize()] {
                    let Some(start) = m.start().checked_sub(off) else {
                        continue;
                    };
                    let n = &self.needles[needle];
                    let end = start + n.len();
                    if lower.get(start..end) == Some(n.as_slice()) {
                        hit(needle, start, end);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(needles: &[&str], text: &str) -> Vec<(usize, usize, usize)> {
        let n = Needles::new(needles);
        let mut out = Vec::new();
        n.for_each(text.as_bytes(), |i, s, e| out.push((i, s, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn anchors_prefer_rare_bytes() {
        assert_eq!(anchor_offset(b"report part-17"), 11);
        let off = anchor_offset(b"ops@acme.example");
        assert!(b"ops@acme.example"[off..off + 3].contains(&b'@'));
    }

    #[test]
    fn finds_every_occurrence_of_every_needle() {
        let text =
            "the report on reports/q3/part-1.txt; see reports/q3/part-1.txt and ops@acme.example";
        let got = all(
            &[
                "reports/q3/part-1.txt",
                "ops@acme.example",
                "report",
                "zzzz",
            ],
            text,
        );
        assert_eq!(
            got,
            [
                (0, 14, 35),
                (0, 41, 62),
                (1, 67, 83),
                (2, 4, 10),
                (2, 14, 20),
                (2, 41, 47)
            ]
        );
    }

    #[test]
    fn needles_sharing_an_anchor_are_all_verified() {
        let got = all(&["abc-1234", "xyz-1234", "1234"], "xyz-1234 abc-1234");
        assert_eq!(got, [(0, 9, 17), (1, 0, 8), (2, 4, 8), (2, 13, 17)]);
    }

    #[test]
    fn large_sets_are_split_across_automata_and_all_found() {
        let needles: Vec<String> = (0..130).map(|i| format!("token-{i:03}x")).collect();
        let text: String = needles.iter().rev().map(|n| format!("{n} ")).collect();
        let n = Needles::whole(&needles);
        let mut found = Vec::new();
        n.for_each(text.as_bytes(), |i, _, _| found.push(i));
        found.sort_unstable();
        assert_eq!(found, (0..130).collect::<Vec<_>>());
    }

    #[test]
    fn automaton_and_finders_report_the_same_hits() {
        let needles = [
            "reports/q3/part-1.txt",
            "ops@acme.example",
            "report",
            "1234",
            "abc-1234",
        ];
        let unit = "the report on reports/q3/part-1.txt; ops@acme.example abc-1234 xyz-1234. ";
        // Small enough for the finders, then large enough for the automaton.
        let small = unit.repeat(2);
        let large = unit.repeat(SMALL_WORK / unit.len() + 1);
        assert!(needles.len() * small.len() <= SMALL_WORK);
        assert!(needles.len() * large.len() > SMALL_WORK);
        let from_large: Vec<_> = all(&needles, &large)
            .into_iter()
            .filter(|&(_, _, e)| e <= small.len())
            .collect();
        assert_eq!(all(&needles, &small), from_large);
        assert_eq!(from_large.len(), 2 * 7);
    }

    #[test]
    fn a_needle_at_the_very_start_or_end_is_found() {
        assert_eq!(all(&["4477"], "4477"), [(0, 0, 4)]);
        assert_eq!(all(&["abc"], "xxabc"), [(0, 2, 5)]);
        assert!(all(&[""], "anything").is_empty());
    }
}
