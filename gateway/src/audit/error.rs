//! The audit log's error type: one enum for the writer, the reader, the
//! index and verification, so callers (the server, the CLI) match on one thing.

use std::path::PathBuf;

/// Everything that can go wrong in the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file or folder could not be read or written.
    #[error("audit log I/O on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The writer's queue is full: the record was not taken. Requests that
    /// need a durable record must fail closed on this.
    #[error("audit log is overloaded: the writer queue ({capacity} records) is full")]
    Backpressure {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The writer has stopped (shut down, or failed earlier); nothing more is written.
    #[error("audit writer has stopped: {0}")]
    WriterStopped(String),
    /// Another process holds the data directory's writer lock.
    #[error("audit log in {0} is already open for writing by another process")]
    Locked(PathBuf),
    /// A record could not be serialized.
    #[error("audit record could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// A setting is invalid.
    #[error("invalid audit setting `{key}`: {reason}")]
    Setting {
        /// The setting's name.
        key: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The SQLite index failed.
    #[error("audit index {path}: {source}")]
    Index {
        /// The index file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A segment holds something that is not a record where a record must be
    /// (outside verification, which reports it as a finding instead).
    #[error("audit segment {segment} line {line}: {reason}")]
    Corrupt {
        /// The segment file name.
        segment: String,
        /// The 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A bad filter or argument (time range, format name).
    #[error("{0}")]
    BadInput(String),
}

impl AuditError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The audit log's result type.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;
