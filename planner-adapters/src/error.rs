//! The adapter error type: every failure names the place in the input
//! (a JSON pointer, or a line/column for bytes that are not JSON) and the reason.

use thiserror::Error;

/// Why a document could not be read or written back.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// The bytes are not valid JSON (or not valid UTF-8).
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Valid JSON of the wrong shape: `path` is a JSON pointer to the culprit.
    #[error("{path}: {reason}")]
    Shape {
        /// JSON pointer (RFC 6901), `""` for the document root.
        path: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// The format could not be recognized (or `--format` named none we know).
    #[error("unknown format: {0}")]
    UnknownFormat(String),
    /// A stream or text format broken at a given line.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// The input is larger than the configured limit.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size seen.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl AdapterError {
    /// A shape error at `path`.
    pub fn shape(path: impl Into<String>, reason: impl Into<String>) -> Self {
        AdapterError::Shape {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// From a serde_json error on raw bytes.
    pub fn syntax(e: &serde_json::Error) -> Self {
        AdapterError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = AdapterError> = std::result::Result<T, E>;
