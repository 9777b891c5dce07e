//! BERT uncased tokenization: the `BertNormalizer` + `BertPreTokenizer` +
//! `WordPiece` pipeline that a BERT `tokenizer.json` describes, without the
//! `tokenizers` crate.
//!
//! Normalization follows the checkpoint: control characters are dropped and
//! whitespace becomes a space (`clean_text`), CJK ideographs are spaced out,
//! and with `lowercase` (and `strip_accents` unset or true) text is
//! NFD-decomposed, combining marks removed, and lowercased. Words split on
//! whitespace and punctuation; each word becomes its longest-match-first
//! WordPiece pieces (`##` continuation), or `[UNK]` when it has none.
//! Padding is not done here: the encoder pads a batch to its longest input.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::EncoderError;

/// A WordPiece vocabulary with BERT's normalization settings.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: HashMap<String, u32>,
    lowercase: bool,
    strip_accents: bool,
    handle_chinese_chars: bool,
    unk: u32,
    cls: u32,
    sep: u32,
    pad: u32,
    max_word_chars: usize,
    prefix: String,
}

impl Tokenizer {
    /// Reads `tokenizer.json` from `dir`, else `vocab.txt` (uncased BERT
    /// defaults).
    pub fn load(dir: &Path) -> Result<Tokenizer, EncoderError> {
        let json = dir.join("tokenizer.json");
        if json.is_file() {
            let bytes = std::fs::read(&json).map_err(|e| EncoderError::io(&json, &e))?;
            return Tokenizer::from_tokenizer_json(&bytes)
                .map_err(|reason| EncoderError::corrupt(&json, reason));
        }
        let txt = dir.join("vocab.txt");
        if txt.is_file() {
            let text = std::fs::read_to_string(&txt).map_err(|e| EncoderError::io(&txt, &e))?;
            let vocab = text
                .lines()
                .enumerate()
                .map(|(i, w)| (w.to_owned(), i as u32))
                .collect();
            return Tokenizer::new(vocab, true, true).map_err(|r| EncoderError::corrupt(&txt, r));
        }
        Err(EncoderError::Missing { path: json })
    }

    /// A tokenizer over `vocab` (token -> id).
    pub fn new(
        vocab: HashMap<String, u32>,
        lowercase: bool,
        strip_accents: bool,
    ) -> Result<Tokenizer, String> {
        let id = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| format!("the vocabulary has no {t} token"))
        };
        Ok(Tokenizer {
            unk: id("[UNK]")?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            pad: id("[PAD]")?,
            vocab,
            lowercase,
            strip_accents,
            handle_chinese_chars: true,
            max_word_chars: 100,
            prefix: "##".to_owned(),
        })
    }

    /// Parses a `tokenizer.json` with a BERT normalizer and a WordPiece model.
    pub fn from_tokenizer_json(bytes: &[u8]) -> Result<Tokenizer, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let model = &v["model"];
        if model["type"].as_str() != Some("WordPiece") {
            return Err(format!(
                "/model/type is {}, only WordPiece (BERT) tokenizers are supported",
                model["type"]
            ));
        }
        let Some(entries) = model["vocab"].as_object() else {
            return Err("/model/vocab is not an object".into());
        };
        let mut vocab = HashMap::with_capacity(entries.len());
        for (token, id) in entries {
            let id = id
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| format!("/model/vocab/{token} is not a token id"))?;
            vocab.insert(token.clone(), id);
        }
        let norm = &v["normalizer"];
        let lowercase = norm["lowercase"].as_bool().unwrap_or(true);
        // BERT: `strip_accents: null` means "follow lowercase".
        let strip_accents = norm["strip_accents"].as_bool().unwrap_or(lowercase);
        let mut t = Tokenizer::new(vocab, lowercase, strip_accents)?;
        t.handle_chinese_chars = norm["handle_chinese_chars"].as_bool().unwrap_or(true);
        if let Some(n) = model["max_input_chars_per_word"].as_u64() {
            t.max_word_chars = n as usize;
        }
        if let Some(p) = model["continuing_subword_prefix"].as_str() {
            t.prefix = p.to_owned();
        }
        if let Some(unk) = model["unk_token"].as_str() {
            t.unk = t
                .vocab
                .get(unk)
                .copied()
                .ok_or_else(|| format!("/model/unk_token {unk} is not in the vocabulary"))?;
        }
        Ok(t)
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The padding token id.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// `[CLS] pieces… [SEP]`, truncated to at most `max_len` ids.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        let budget = max_len.max(2) - 1;
        'words: for word in self.words(text) {
            for id in self.word_pieces(&word) {
                if ids.len() >= budget {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        ids
    }

    /// Normalized words and punctuation marks of `text`.
    pub fn words(&self, text: &str) -> Vec<String> {
        let normalized = self.normalize(text);
        let mut words = Vec::new();
        let mut current = String::new();
        for c in normalized.chars() {
            if c == ' ' {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            } else if is_punctuation(c) {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
        words
    }

    fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if c == '\0' || c == '\u{fffd}' || (is_control(c)) {
                continue;
            }
            if is_whitespace(c) {
                out.push(' ');
            } else if self.handle_chinese_chars && is_chinese_char(c) {
                out.push(' ');
                out.push(c);
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        if self.strip_accents {
            out = out.nfd().filter(|c| !is_combining_mark(*c)).collect();
        }
        if self.lowercase {
            out = out.to_lowercase();
        }
        out
    }

    /// Greedy longest-match-first WordPiece; `[UNK]` for the whole word when
    /// some part has no piece.
    fn word_pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > self.max_word_chars {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let from = chars[start].0;
                let to = chars.get(end).map_or(word.len(), |(i, _)| *i);
                candidate.clear();
                if start > 0 {
                    candidate.push_str(&self.prefix);
                }
                candidate.push_str(&word[from..to]);
                if let Some(id) = self.vocab.get(candidate.as_str()) {
                    found = Some(*id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        pieces
    }
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    // Cc, plus the common format characters (Cf) BERT also drops.
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}')
}

/// ASCII symbols BERT treats as punctuation, and the Unicode punctuation
/// blocks (General Punctuation, CJK, full-width forms, Latin-1 marks).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{a1}' | '\u{a7}' | '\u{ab}' | '\u{b6}' | '\u{b7}' | '\u{bb}' | '\u{bf}'
            | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}'
            | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301f}'
            | '\u{ff01}'..='\u{ff03}' | '\u{ff05}'..='\u{ff0a}' | '\u{ff0c}'..='\u{ff0f}'
            | '\u{ff1a}' | '\u{ff1b}' | '\u{ff1f}' | '\u{ff20}' | '\u{ff3b}'..='\u{ff3d}'
            | '\u{ff3f}' | '\u{ff5b}' | '\u{ff5d}')
}

fn is_chinese_char(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}' | '\u{2b740}'..='\u{2b81f}' | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}' | '\u{2f800}'..='\u{2fa1f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "send", "the", "report", "to", "bob", "@",
            "example", ".", "com", "un", "##want", "##ed", "cafe", ",",
        ];
        let vocab = words
            .iter()
            .enumerate()
            .map(|(i, w)| ((*w).to_owned(), i as u32))
            .collect();
        Tokenizer::new(vocab, true, true).expect("tokens")
    }

    #[test]
    fn lowercases_splits_punctuation_and_wraps_in_cls_sep() {
        let t = tiny();
        assert_eq!(
            t.encode("Send the REPORT to bob@example.com", 64),
            vec![2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3]
        );
    }

    #[test]
    fn splits_words_into_longest_wordpieces_and_unknown_words_into_unk() {
        let t = tiny();
        assert_eq!(t.encode("unwanted zzz", 64), vec![2, 13, 14, 15, 1, 3]);
    }

    #[test]
    fn strips_accents_and_drops_control_characters() {
        let t = tiny();
        assert_eq!(t.words("Caf\u{e9},\u{7}\tbob"), vec!["cafe", ",", "bob"]);
    }

    #[test]
    fn truncates_to_the_budget_and_keeps_sep() {
        let t = tiny();
        let ids = t.encode("send the report to bob", 4);
        assert_eq!(ids, vec![2, 4, 5, 3]);
    }
}
