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

/// Up to this many value needles, the per-needle finders are used on any
/// haystack: an overlapping automaton search costs about 7 instructions a
/// byte on prose (3 needles over 190 KB of tool output, callgrind), a
/// `memmem` pass about 0.4 per needle.
const FEW_NEEDLES: usize = 8;

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
    /// Keywords to anchor needles by, in order of preference
    /// ([`Needles::with_anchors`]); empty for the rarest-window choice.
    keywords: Vec<Vec<u8>>,
}

/// The automaton side of [`Needles`].
#[derive(Debug)]
struct Compiled {
    /// Automata over consecutive groups of anchors, with each group's first
    /// anchor index.
    acs: Vec<(AhoCorasick, usize)>,
    /// For each anchor pattern: the needles it belongs to and where in each.
    owners: Vec<Vec<(usize, usize)>>,
    /// Keyword mode only: the anchors themselves, and for each one the other
    /// anchors of its automaton that can start where it starts (one is a
    /// prefix of the other), which a leftmost-first match would hide.
    anchors: Vec<Vec<u8>>,
    related: Vec<Vec<usize>>,
    /// Keyword mode with few enough anchors: one fat Teddy searcher over
    /// all of them (16 buckets: fewer false candidates than the 8 of the
    /// slim one the automaton's prefilter picks for up to 32 patterns).
    packed: Option<aho_corasick::packed::Searcher>,
}

impl Needles {
    /// Compiles the needles, each searched by its rarest window; empty
    /// needles never match. Best for values (addresses, paths, numbers).
    pub fn new<S: AsRef<[u8]>>(needles: &[S]) -> Self {
        Self::build(needles, true)
    }

    /// Compiles the needles, each searched by the first of `keywords` it
    /// contains (else by its rarest window), and reports every occurrence
    /// like [`Needles::new`]. For a static set of phrases: phrases that share
    /// a keyword share one anchor, so a few dozen keywords keep a large
    /// phrase table within one SIMD-prefiltered pass (more than 32 patterns
    /// halve its speed, more than 64 disable it).
    pub fn with_anchors<S: AsRef<[u8]>>(needles: &[S], keywords: &[&str]) -> Self {
        let mut n = Self::build(needles, true);
        n.keywords = keywords.iter().map(|k| k.as_bytes().to_vec()).collect();
        n
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
            keywords: Vec::new(),
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
                let keyword = self
                    .keywords
                    .iter()
                    .find_map(|k| memmem::find(n, k).map(|off| (off, &n[off..off + k.len()])));
                let (off, anchor) = if let Some(found) = keyword {
                    found
                } else if anchored {
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
            // Keyword mode searches leftmost-first and restarts one byte
            // after each match (see `for_each`): an overlapping search would
            // walk the automaton byte by byte, since common letters start
            // keywords and the automaton seldom rests in its start state,
            // where the prefilter is consulted.
            let keyword_mode = !self.keywords.is_empty();
            let kind = if anchored && !keyword_mode {
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
            let automaton =
                (anchored && self.keywords.is_empty()).then_some(AhoCorasickKind::NoncontiguousNFA);
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
            let packed = if keyword_mode && anchors.len() <= 64 {
                let mut b = aho_corasick::packed::Config::new()
                    .only_teddy_fat(Some(true))
                    .builder();
                b.extend(&anchors);
                b.build()
            } else {
                None
            };
            // Anchors searched together: all of them in the fat searcher,
            // else each automaton's group.
            let together = if packed.is_some() {
                usize::MAX
            } else {
                PER_AUTOMATON
            };
            let related = if keyword_mode {
                (0..anchors.len())
                    .map(|a| {
                        (0..anchors.len())
                            .filter(|&b| {
                                b != a
                                    && b / together == a / together
                                    && (anchors[a].starts_with(anchors[b])
                                        || anchors[b].starts_with(anchors[a]))
                            })
                            .collect()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Compiled {
                packed,
                acs,
                owners,
                anchors: if keyword_mode {
                    anchors.iter().map(|a| a.to_vec()).collect()
                } else {
                    Vec::new()
                },
                related,
            }
        })
    }

    /// Calls `hit(needle, start, end)` for every occurrence of every needle
    /// in `lower` (overlapping occurrences included, each reported once; in
    /// [`Needles::whole`] mode, non-overlapping leftmost-first occurrences).
    pub fn for_each(&self, lower: &[u8], mut hit: impl FnMut(usize, usize, usize)) {
        if !self.whole
            && self.keywords.is_empty()
            && (self.needles.len() <= FEW_NEEDLES
                || self.needles.len().saturating_mul(lower.len()) <= SMALL_WORK)
        {
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
        let Compiled {
            acs,
            owners,
            anchors,
            related,
            packed,
        } = self.compiled();
        let mut verify = |anchor: usize, at: usize| {
            for &(needle, off) in &owners[anchor] {
                let Some(start) = at.checked_sub(off) else {
                    continue;
                };
                let n = &self.needles[needle];
                let end = start + n.len();
                if lower.get(start..end) == Some(n.as_slice()) {
                    hit(needle, start, end);
                }
            }
        };
        if let Some(packed) = packed {
            let mut at = 0;
            while let Some(m) = packed.find_in(lower, aho_corasick::Span::from(at..lower.len())) {
                let (p, a) = (m.start(), m.pattern().as_usize());
                verify(a, p);
                for &b in &related[a] {
                    if lower[p..].starts_with(&anchors[b]) {
                        verify(b, p);
                    }
                }
                at = p + 1;
            }
            return;
        }
        for (ac, base) in acs {
            if !self.keywords.is_empty() {
                // Every start position of every anchor: leftmost-first finds
                // the next position where some anchor starts (and reports
                // the first listed); the anchors it hides there are the
                // related ones, checked by hand; the search resumes one byte
                // later, so overlapping occurrences are all seen.
                let mut at = 0;
                while at < lower.len() {
                    let input = aho_corasick::Input::new(lower).span(at..lower.len());
                    let Some(m) = ac.find(input) else { break };
                    let (p, a) = (m.start(), base + m.pattern().as_usize());
                    verify(a, p);
                    for &b in &related[a] {
                        if lower[p..].starts_with(&anchors[b]) {
                            verify(b, p);
                        }
                    }
                    at = p + 1;
                }
                continue;
            }
            if self.whole {
                for m in ac.find_iter(lower) {
                    // The anchor is the whole needle: this only re-reads it.
                    verify(base + m.pattern().as_usize(), m.start());
                }
                continue;
            }
            for m in ac.find_overlapping_iter(lower) {
                verify(base + m.pattern().as_usize(), m.start());
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
            "q3/part",
            "acme.example",
            "xyz-1",
            "part-1.txt;",
            "never-there",
        ];
        assert!(needles.len() > FEW_NEEDLES);
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
        assert_eq!(from_large.len(), 2 * 11);
        // Few needles take the finders on any text: same hits again.
        let few = &needles[..5];
        let from_few: Vec<_> = all(few, &large)
            .into_iter()
            .filter(|&(_, _, e)| e <= small.len())
            .collect();
        assert_eq!(all(few, &small), from_few);
        assert_eq!(from_few.len(), 2 * 7);
    }

    fn keyed(needles: &[&str], keywords: &[&str], text: &str) -> Vec<(usize, usize, usize)> {
        let n = Needles::with_anchors(needles, keywords);
        let mut out = Vec::new();
        n.for_each(text.as_bytes(), |i, s, e| out.push((i, s, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn keyword_anchors_find_what_rarest_windows_find() {
        // A keyword that is a prefix of another starts where it does: the
        // leftmost-first search reports one, the other is checked by hand.
        let needles = ["xabcdy", "abcdefz", "zz abcd", "nothing-here"];
        let keywords = ["abcdef", "abcd"];
        let unit = "xabcdefz xabcdy zz abcdy abcdefz. ";
        for text in [unit.to_owned(), unit.repeat(SMALL_WORK / unit.len() + 1)] {
            assert_eq!(keyed(&needles, &keywords, &text), all(&needles, &text));
        }
        assert_eq!(keyed(&needles, &keywords, unit).len(), 4);
        // An anchor hidden by another that starts at the same byte and comes
        // first, the two 50 anchors apart (the fat searcher holds up to 64;
        // automata hold 48 each).
        let fillers: Vec<String> = (1..51).map(|i| format!("tok-{i:02}z")).collect();
        let mut needles: Vec<&str> = vec!["x tok-00"];
        needles.extend(fillers.iter().map(String::as_str));
        needles.push("tok-00yy");
        let mut words: Vec<&str> = vec!["tok-00y", "tok-00"];
        words.extend(fillers.iter().map(String::as_str));
        let text = "x tok-00yy x tok-00y tok-07z ".repeat(SMALL_WORK / 20);
        let found = keyed(&needles, &words, &text);
        assert_eq!(found, all(&needles, &text));
        assert_eq!(found.len(), 4 * (SMALL_WORK / 20));
        // More anchors than one fat searcher holds: the automata path.
        let many: Vec<String> = (0..70).map(|i| format!("token-{i:03}x")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let text: String = many.iter().rev().map(|n| format!("{n} {n}")).collect();
        let text = text.repeat(20);
        assert_eq!(keyed(&many, &many, &text), all(&many, &text));
        assert_eq!(keyed(&many, &many, &text).len(), 70 * 2 * 20);
    }

    #[test]
    fn a_needle_at_the_very_start_or_end_is_found() {
        assert_eq!(all(&["4477"], "4477"), [(0, 0, 4)]);
        assert_eq!(all(&["abc"], "xxabc"), [(0, 2, 5)]);
        assert!(all(&[""], "anything").is_empty());
    }
}
