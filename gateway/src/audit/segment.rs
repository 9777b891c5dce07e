//! Segment files: naming, listing, reading lines, and cutting a torn tail.
//!
//! A segment is `audit/segment-NNNNNNNN.jsonl`, append-only, one record a
//! line, every line ending in `\n`. Segments are ordered by their number and
//! the hash chain runs through them in that order. A crash can leave only one
//! kind of damage the writer repairs: a last line without its newline (a
//! write cut short). Anything else is for `verify` to report, never to fix.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::{AuditError, Result};

/// The audit folder inside a data directory.
pub fn audit_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its number (from 1).
    pub number: u32,
    /// Its path.
    pub path: PathBuf,
}

impl Segment {
    /// The segment with this number in `dir`.
    pub fn new(dir: &Path, number: u32) -> Self {
        Segment {
            number,
            path: dir.join(format!("segment-{number:08}.jsonl")),
        }
    }

    /// The file name, as reports print it.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The segments in `dir`, in chain order. A missing folder has none.
pub fn list(dir: &Path) -> Result<Vec<Segment>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(dir, e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let number = name
            .strip_prefix("segment-")
            .and_then(|rest| rest.strip_suffix(".jsonl"))
            .filter(|digits| digits.len() == 8)
            .and_then(|digits| digits.parse::<u32>().ok());
        if let Some(number) = number {
            segments.push(Segment {
                number,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.number);
    Ok(segments)
}

/// One line read from a segment.
#[derive(Debug)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// Byte offset of the line's start.
    pub offset: u64,
    /// The bytes, without the newline.
    pub bytes: Vec<u8>,
    /// False for a last line that has no newline (a torn write, or a write
    /// still in progress).
    pub complete: bool,
}

/// Reads a segment line by line from a byte offset (which must be a line
/// start), numbering lines from `first_number`.
pub struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    offset: u64,
    number: u64,
}

impl Lines {
    /// Opens `path` at `offset`.
    pub fn open(path: &Path, offset: u64, first_number: u64) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| AuditError::io(path, e))?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| AuditError::io(path, e))?;
        }
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 16, file),
            path: path.to_owned(),
            offset,
            number: first_number,
        })
    }

    /// The next line, `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<Line>> {
        let mut bytes = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| AuditError::io(&self.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        let complete = bytes.last() == Some(&b'\n');
        if complete {
            bytes.pop();
        }
        let line = Line {
            number: self.number,
            offset: self.offset,
            bytes,
            complete,
        };
        self.offset += n as u64;
        self.number += 1;
        Ok(Some(line))
    }
}

/// Byte length of the file up to and including its last newline.
pub fn complete_len(path: &Path) -> Result<u64> {
    let mut file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    let len = file.metadata().map_err(|e| AuditError::io(path, e))?.len();
    // Scan backwards in blocks for the last newline.
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .map_err(|e| AuditError::io(path, e))?;
        file.read_exact(chunk)
            .map_err(|e| AuditError::io(path, e))?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// A torn last line that was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment's file name.
    pub segment: String,
    /// Where the cut line started.
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
}

/// Cuts a last line that has no newline, and syncs the file. Lines before
/// it are not touched. Returns what was cut, if anything.
pub fn repair_tail(segment: &Segment) -> Result<Option<TornTail>> {
    let path = &segment.path;
    let len = std::fs::metadata(path)
        .map_err(|e| AuditError::io(path, e))?
        .len();
    let keep = complete_len(path)?;
    if keep == len {
        return Ok(None);
    }
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| AuditError::io(path, e))?;
    file.set_len(keep)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, e))?;
    Ok(Some(TornTail {
        segment: segment.name(),
        offset: keep,
        bytes: len - keep,
    }))
}

/// The last complete line of a segment: its offset and bytes (no newline).
pub fn last_line(path: &Path) -> Result<Option<(u64, Vec<u8>)>> {
    let end = complete_len(path)?;
    if end == 0 {
        return Ok(None);
    }
    let mut file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    // Find the newline before the last line's newline.
    let body_end = end - 1;
    let mut start = body_end;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let from = start.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(start - from) as usize];
        file.seek(SeekFrom::Start(from))
            .map_err(|e| AuditError::io(path, e))?;
        file.read_exact(chunk)
            .map_err(|e| AuditError::io(path, e))?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            start = from + i as u64 + 1;
            break;
        }
        start = from;
        if from == 0 {
            break;
        }
    }
    let mut line = vec![0u8; (body_end - start) as usize];
    file.seek(SeekFrom::Start(start))
        .map_err(|e| AuditError::io(path, e))?;
    file.read_exact(&mut line)
        .map_err(|e| AuditError::io(path, e))?;
    Ok(Some((start, line)))
}

/// Reads `len` bytes at `offset` (one indexed line).
pub fn read_at(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| AuditError::io(path, e))?;
    let mut buf = vec![0u8; len as usize];
    file.read_exact(&mut buf)
        .map_err(|e| AuditError::io(path, e))?;
    Ok(buf)
}

/// Syncs a folder, so a file created in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))?;
    Ok(())
}
