//! The hash chain: how a record becomes a segment line, and how a line is
//! checked.
//!
//! A line is `{"seq":N,"prev":"<hex>","record":{...},"hash":"<hex>"}` and
//! `hash` is the SHA-256 of the line's own bytes with the `,"hash":"..."`
//! field cut out (`{"seq":N,"prev":"<hex>","record":{...}}`). Hashing the
//! exact bytes, not a re-serialization, means no canonical-JSON rules are
//! needed: any change to a byte of the record changes its hash, and `prev`
//! ties each record to the one before it, across segment files.

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `prev` of the very first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length of the `,"hash":"<64 hex>"}` suffix every line ends with.
const SUFFIX_LEN: usize = 9 + 64 + 2;

/// Appends the line for a record (with its trailing newline) to `out` and
/// returns the record's hash. `record_json` is the serialized, redacted record.
pub fn append_line(out: &mut Vec<u8>, seq: u64, prev: &str, record_json: &[u8]) -> String {
    let start = out.len();
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(seq.to_string().as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(prev.as_bytes());
    out.extend_from_slice(b"\",\"record\":");
    out.extend_from_slice(record_json);
    let mut h = Sha256::new();
    h.update(&out[start..]);
    h.update(b"}");
    let hash = hex::encode(h.finalize());
    out.extend_from_slice(b",\"hash\":\"");
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(b"\"}\n");
    hash
}

/// What a well-formed line says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// The record's position.
    pub seq: u64,
    /// The previous record's hash, as this line claims it.
    pub prev: String,
    /// This record's hash (checked against the bytes).
    pub hash: String,
    /// The record's decision id.
    pub decision_id: String,
}

/// Why a line is not a valid chain link on its own (the links between lines
/// are checked by `verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFault {
    /// Not JSON, or not the shape of a stored record.
    Malformed(String),
    /// The bytes do not hash to the stored hash: the record was changed.
    HashMismatch {
        /// The line as parsed (what it claims).
        info: LineInfo,
        /// What the bytes hash to.
        actual: String,
    },
}

#[derive(Deserialize)]
struct Header {
    seq: u64,
    prev: String,
    record: RecordHeader,
    hash: String,
}

#[derive(Deserialize)]
struct RecordHeader {
    #[serde(default)]
    decision_id: String,
}

/// Checks one line (without its newline): its shape, and that its bytes
/// hash to its `hash` field.
pub fn check_line(line: &[u8]) -> Result<LineInfo, LineFault> {
    let header: Header = serde_json::from_slice(line)
        .map_err(|e| LineFault::Malformed(format!("not a stored record: {e}")))?;
    let info = LineInfo {
        seq: header.seq,
        prev: header.prev,
        hash: header.hash,
        decision_id: header.record.decision_id,
    };
    let n = line.len();
    let well_placed = n > SUFFIX_LEN
        && line[n - SUFFIX_LEN..].starts_with(b",\"hash\":\"")
        && &line[n - 66..n - 2] == info.hash.as_bytes()
        && line.ends_with(b"\"}");
    if !well_placed || info.hash.len() != 64 {
        return Err(LineFault::Malformed(
            "the `hash` field is not the line's last field of 64 hex digits".into(),
        ));
    }
    let mut h = Sha256::new();
    h.update(&line[..n - SUFFIX_LEN]);
    h.update(b"}");
    let actual = hex::encode(h.finalize());
    if actual != info.hash {
        return Err(LineFault::HashMismatch { info, actual });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_line_checks_and_any_changed_byte_is_caught() {
        let mut out = Vec::new();
        let hash = append_line(
            &mut out,
            7,
            GENESIS,
            br#"{"decision_id":"d-1","verdict":"block"}"#,
        );
        assert_eq!(out.last(), Some(&b'\n'));
        let line = &out[..out.len() - 1];
        let info = check_line(line).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (info.seq, info.hash.as_str(), info.decision_id.as_str()),
            (7, hash.as_str(), "d-1")
        );

        let tampered = String::from_utf8_lossy(line).replace("block", "allow");
        assert!(matches!(
            check_line(tampered.as_bytes()),
            Err(LineFault::HashMismatch { .. })
        ));
        assert!(matches!(
            check_line(b"{\"seq\":1"),
            Err(LineFault::Malformed(_))
        ));
    }
}
