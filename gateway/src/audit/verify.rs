//! `verify`: walks every segment in order and checks the chain: each line's
//! shape, its hash against its bytes, `prev` against the record before it,
//! and `seq` gapless from 1. Stops at the first problem and names it.
//!
//! A last line without a newline in the newest segment is the mark a crash
//! leaves (the writer cuts it at next start); it is reported as a warning,
//! not a break, since no acknowledged record can be in it.

use std::path::Path;

use serde::Serialize;

use super::chain::{self, GENESIS, LineFault};
use super::error::Result;
use super::segment::{self, Lines};

/// Where verification found the first problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The segment file name.
    pub segment: String,
    /// The 1-based line number.
    pub line: u64,
    /// The record's seq, when the line could be read.
    pub seq: Option<u64>,
    /// The record's decision id, when the line could be read.
    pub decision_id: Option<String>,
    /// What is wrong, in words.
    pub what: String,
}

/// A torn (unterminated) last line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornLine {
    /// The segment file name.
    pub segment: String,
    /// The 1-based line number.
    pub line: u64,
    /// Its length in bytes.
    pub bytes: u64,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Segments read.
    pub segments: usize,
    /// Records that checked out (before the first problem, if any).
    pub records: u64,
    /// The last good record's hash (the chain head).
    pub head: String,
    /// A torn last line (a crash mark, not a break).
    pub torn_tail: Option<TornLine>,
    /// The first problem; `None` means the chain is intact.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// True when the chain is intact.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// A chain position published earlier (`seq` and its hash, as `verify`
/// printed them), which the log must still contain. The chain alone cannot
/// show that records were cut from its end; an anchor kept elsewhere can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The record's seq.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    /// Reads `SEQ:HASH`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not SEQ:HASH"))?;
        let seq = seq
            .parse()
            .map_err(|_| format!("`{seq}` is not a record seq"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{hash}` is not a 64-digit hex SHA-256"));
        }
        Ok(Anchor {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// Verifies the log of a data directory.
pub fn verify(data_dir: &Path) -> Result<VerifyReport> {
    verify_with_anchor(data_dir, None)
}

/// Verifies the log and checks that it still holds `anchor`, unchanged.
pub fn verify_with_anchor(data_dir: &Path, anchor: Option<&Anchor>) -> Result<VerifyReport> {
    let segments = segment::list(&segment::audit_dir(data_dir))?;
    let mut report = VerifyReport {
        segments: segments.len(),
        records: 0,
        head: GENESIS.to_owned(),
        torn_tail: None,
        problem: None,
    };
    let mut expected_seq = 1u64;
    for (i, seg) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let mut lines = Lines::open(&seg.path, 0, 1)?;
        while let Some(line) = lines.next_line()? {
            let problem = |seq: Option<u64>, id: Option<String>, what: String| Problem {
                segment: seg.name(),
                line: line.number,
                seq,
                decision_id: id,
                what,
            };
            if !line.complete {
                if is_last {
                    report.torn_tail = Some(TornLine {
                        segment: seg.name(),
                        line: line.number,
                        bytes: line.bytes.len() as u64,
                    });
                    break;
                }
                report.problem = Some(problem(
                    None,
                    None,
                    "an unterminated line before the last segment's end".into(),
                ));
                return Ok(report);
            }
            let info = match chain::check_line(&line.bytes) {
                Ok(info) => info,
                Err(LineFault::Malformed(why)) => {
                    report.problem = Some(problem(None, None, why));
                    return Ok(report);
                }
                Err(LineFault::HashMismatch { info, actual }) => {
                    report.problem = Some(problem(
                        Some(info.seq),
                        Some(info.decision_id),
                        format!(
                            "the record was changed after it was written: its bytes hash to {actual}, the stored hash is {}",
                            info.hash
                        ),
                    ));
                    return Ok(report);
                }
            };
            if info.prev != report.head {
                let what = format!(
                    "the chain breaks here: `prev` is {} but the record before it (seq {}) hashes to {}; a record was deleted, inserted or reordered before this one",
                    info.prev,
                    expected_seq - 1,
                    report.head
                );
                report.problem = Some(problem(Some(info.seq), Some(info.decision_id), what));
                return Ok(report);
            }
            if info.seq != expected_seq {
                let what = format!("seq is {} where {expected_seq} was expected", info.seq);
                report.problem = Some(problem(Some(info.seq), Some(info.decision_id), what));
                return Ok(report);
            }
            if let Some(a) = anchor.filter(|a| a.seq == info.seq)
                && a.hash != info.hash
            {
                let what = format!(
                    "the anchor says seq {} hashed to {}, the log now holds {}: the log was rewritten up to here",
                    a.seq, a.hash, info.hash
                );
                report.problem = Some(problem(Some(info.seq), Some(info.decision_id), what));
                return Ok(report);
            }
            report.head = info.hash;
            report.records += 1;
            expected_seq += 1;
        }
    }
    if let Some(a) = anchor.filter(|a| a.seq > report.records) {
        report.problem = Some(Problem {
            segment: segments.last().map(|s| s.name()).unwrap_or_default(),
            line: 0,
            seq: None,
            decision_id: None,
            what: format!(
                "the log ends at seq {} but the anchor names seq {}: records were deleted from its end",
                report.records, a.seq
            ),
        });
    }
    Ok(report)
}
