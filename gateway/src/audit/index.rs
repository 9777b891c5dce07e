//! The query index: a SQLite file (`audit/index.sqlite`) next to the
//! segments, derived from them and never trusted over them.
//!
//! [`Index::open`] brings the index up to date before any read: a missing,
//! unreadable or old-schema file is rebuilt from scratch; a segment that
//! shrank, vanished, or whose last indexed line no longer hashes to what the
//! index remembers makes the index stale and it is rebuilt; new lines are
//! indexed incrementally. Only complete lines are indexed (a line being
//! written is picked up next time). The index holds only redacted values,
//! because it is built from the redacted segments.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::chain;
use super::error::{AuditError, Result};
use super::record::StoredRecord;
use super::segment::{self, Lines, Segment};

const SCHEMA_VERSION: &str = "1";

/// The rebuild reason of a fresh index.
const CREATED: &str = "the index did not exist";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE segments (
    name TEXT PRIMARY KEY,
    number INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    last_offset INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    segment TEXT NOT NULL,
    line INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    len INTEGER NOT NULL,
    ts TEXT NOT NULL,
    ts_us INTEGER,
    event TEXT NOT NULL,
    verdict TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    request_id TEXT,
    tenant TEXT NOT NULL,
    agent TEXT,
    session TEXT,
    route TEXT NOT NULL,
    model TEXT,
    upstream TEXT,
    latency_total_us INTEGER,
    has_replay INTEGER NOT NULL
);
CREATE TABLE tags (seq INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX records_ts ON records (ts_us);
CREATE INDEX records_decision ON records (decision_id);
CREATE INDEX tags_kind_value ON tags (kind, value, seq);
CREATE INDEX tags_seq ON tags (seq);
";

/// How an [`Index::open`] brought the index up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Why the index was rebuilt from scratch, if it was (a missing index
    /// is built, not rebuilt: see `created`).
    pub rebuilt: Option<String>,
    /// True when there was no index file.
    pub created: bool,
    /// Records added.
    pub indexed: u64,
    /// Lines that could not be read as records (left out; `verify` tells more).
    pub skipped: u64,
}

/// An open, up-to-date index.
pub struct Index {
    conn: Connection,
    audit_dir: PathBuf,
    /// How it was brought up to date.
    pub sync: SyncReport,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("audit_dir", &self.audit_dir)
            .field("sync", &self.sync)
            .finish()
    }
}

struct Indexed {
    number: u32,
    bytes: u64,
    lines: u64,
    last_offset: u64,
    last_hash: String,
}

impl Index {
    /// The index file of a data directory.
    pub fn path(data_dir: &Path) -> PathBuf {
        segment::audit_dir(data_dir).join("index.sqlite")
    }

    /// Opens the index of a data directory and brings it up to date with the segments.
    pub fn open(data_dir: &Path) -> Result<Index> {
        let audit_dir = segment::audit_dir(data_dir);
        std::fs::create_dir_all(&audit_dir).map_err(|e| AuditError::io(&audit_dir, e))?;
        let path = Index::path(data_dir);
        let (conn, fresh_reason) = match open_checked(&path) {
            Ok(Some(conn)) => (conn, None),
            Ok(None) => (create(&path)?, Some(CREATED.to_owned())),
            Err(why) => {
                remove_index_files(&path)?;
                (create(&path)?, Some(why))
            }
        };
        let mut index = Index {
            conn,
            audit_dir,
            sync: SyncReport::default(),
        };
        index.sync = index.catch_up(fresh_reason)?;
        Ok(index)
    }

    /// The index file inside an audit folder.
    pub fn path_in(audit_dir: &Path) -> PathBuf {
        audit_dir.join("index.sqlite")
    }

    /// The SQLite connection, for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The folder holding the segments.
    pub fn audit_dir(&self) -> &Path {
        &self.audit_dir
    }

    fn catch_up(&mut self, mut rebuilt: Option<String>) -> Result<SyncReport> {
        let segments = segment::list(&self.audit_dir)?;
        let known = self.indexed_segments()?;
        if rebuilt.is_none() {
            rebuilt = stale_reason(&segments, &known)?;
        }
        let path = self.audit_dir.join("index.sqlite");
        let sql_err = |source| AuditError::Index {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql_err)?;
        let created = rebuilt.as_deref() == Some(CREATED);
        let mut report = SyncReport {
            rebuilt: rebuilt.clone().filter(|_| !created),
            created,
            ..SyncReport::default()
        };
        if rebuilt.is_some() {
            tx.execute_batch("DELETE FROM records; DELETE FROM tags; DELETE FROM segments;")
                .map_err(sql_err)?;
        }
        for seg in &segments {
            let start = match (&rebuilt, known.get(&seg.name())) {
                (None, Some(k)) => Some(k),
                _ => None,
            };
            index_segment(&tx, seg, start, &mut report).map_err(|e| match e {
                IndexFault::Sql(source) => AuditError::Index {
                    path: path.clone(),
                    source,
                },
                IndexFault::Audit(e) => e,
            })?;
        }
        tx.commit().map_err(sql_err)?;
        Ok(report)
    }

    fn indexed_segments(&self) -> Result<HashMap<String, Indexed>> {
        let path = self.audit_dir.join("index.sqlite");
        let sql_err = |source| AuditError::Index {
            path: path.clone(),
            source,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT name, number, bytes, lines, last_offset, last_hash FROM segments")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Indexed {
                        number: r.get(1)?,
                        bytes: r.get::<_, i64>(2)? as u64,
                        lines: r.get::<_, i64>(3)? as u64,
                        last_offset: r.get::<_, i64>(4)? as u64,
                        last_hash: r.get(5)?,
                    },
                ))
            })
            .map_err(sql_err)?;
        let mut out = HashMap::new();
        for row in rows {
            let (name, indexed) = row.map_err(sql_err)?;
            out.insert(name, indexed);
        }
        Ok(out)
    }
}

/// Why the index no longer matches the segments, if it does not.
fn stale_reason(segments: &[Segment], known: &HashMap<String, Indexed>) -> Result<Option<String>> {
    let present: HashMap<String, &Segment> = segments.iter().map(|s| (s.name(), s)).collect();
    let newest_known = known.values().map(|k| k.number).max();
    for (name, k) in known {
        let Some(seg) = present.get(name) else {
            return Ok(Some(format!("segment {name} is gone")));
        };
        let len = std::fs::metadata(&seg.path)
            .map_err(|e| AuditError::io(&seg.path, e))?
            .len();
        if len < k.bytes {
            return Ok(Some(format!("segment {name} is shorter than when indexed")));
        }
        if k.lines > 0 {
            let line = segment::read_at(&seg.path, k.last_offset, k.bytes - k.last_offset)?;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let same = chain::check_line(body).is_ok_and(|info| info.hash == k.last_hash);
            if !same {
                return Ok(Some(format!("segment {name} changed where it was indexed")));
            }
        }
    }
    if let Some(newest) = newest_known
        && segments
            .iter()
            .any(|s| s.number < newest && !known.contains_key(&s.name()))
    {
        return Ok(Some(
            "a segment older than the indexed ones appeared".into(),
        ));
    }
    Ok(None)
}

enum IndexFault {
    Sql(rusqlite::Error),
    Audit(AuditError),
}

impl From<rusqlite::Error> for IndexFault {
    fn from(e: rusqlite::Error) -> Self {
        IndexFault::Sql(e)
    }
}

impl From<AuditError> for IndexFault {
    fn from(e: AuditError) -> Self {
        IndexFault::Audit(e)
    }
}

fn index_segment(
    tx: &Transaction<'_>,
    seg: &Segment,
    known: Option<&Indexed>,
    report: &mut SyncReport,
) -> Result<(), IndexFault> {
    let (offset, first_line) = known.map_or((0, 1), |k| (k.bytes, k.lines + 1));
    let mut lines = Lines::open(&seg.path, offset, first_line)?;
    let (mut bytes, mut count) = (offset, first_line - 1);
    let (mut last_offset, mut last_hash) =
        known.map_or((0, String::new()), |k| (k.last_offset, k.last_hash.clone()));
    let mut insert_record = tx.prepare_cached(
        "INSERT OR REPLACE INTO records (seq, segment, line, offset, len, ts, ts_us, event, verdict, decision_id,
            request_id, tenant, agent, session, route, model, upstream, latency_total_us, has_replay)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?;
    let mut insert_tag =
        tx.prepare_cached("INSERT INTO tags (seq, kind, value) VALUES (?1, ?2, ?3)")?;
    let name = seg.name();
    while let Some(line) = lines.next_line()? {
        if !line.complete {
            break;
        }
        bytes = line.offset + line.bytes.len() as u64 + 1;
        count = line.number;
        let stored: StoredRecord = match serde_json::from_slice(&line.bytes) {
            Ok(s) => s,
            Err(_) => {
                report.skipped += 1;
                continue;
            }
        };
        last_offset = line.offset;
        last_hash = stored.hash.clone();
        let r = &stored.record;
        let seq = stored.seq as i64;
        tx.execute("DELETE FROM tags WHERE seq = ?1", params![seq])?;
        insert_record.execute(params![
            seq,
            name,
            line.number as i64,
            line.offset as i64,
            line.bytes.len() as i64,
            r.ts,
            super::time::parse(&r.ts),
            r.event.name(),
            r.verdict.name(),
            r.decision_id,
            r.request_id,
            r.tenant,
            r.agent,
            r.session,
            r.route,
            r.model,
            r.upstream,
            r.latency_us.get("total").map(|v| *v as i64),
            r.replay.is_some(),
        ])?;
        let mut tags: Vec<(&str, &str)> = Vec::new();
        for step in &r.steps {
            tags.push(("tool", &step.tool));
            tags.extend(step.rules.iter().map(|x| ("rule", x.as_str())));
            tags.extend(step.category.iter().map(|x| ("category", x.as_str())));
            tags.extend(step.categories.iter().map(|x| ("category", x.as_str())));
            tags.extend(step.labels.iter().map(|x| ("label", x.as_str())));
        }
        tags.extend(r.policy.rules_fired.iter().map(|x| ("rule", x.as_str())));
        tags.sort_unstable();
        tags.dedup();
        for (kind, value) in tags {
            insert_tag.execute(params![seq, kind, value])?;
        }
        report.indexed += 1;
    }
    tx.execute(
        "INSERT OR REPLACE INTO segments (name, number, bytes, lines, last_offset, last_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            seg.number,
            bytes as i64,
            count as i64,
            last_offset as i64,
            last_hash
        ],
    )?;
    Ok(())
}

/// Opens an existing index; `Ok(None)` when there is none, `Err(why)` when
/// it cannot be used (corrupt, another schema) and must be rebuilt.
fn open_checked(path: &Path) -> Result<Option<Connection>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open(path).map_err(|e| format!("the index could not be opened: {e}"))?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| format!("the index is unreadable: {e}"))?;
    match version.as_deref() {
        Some(SCHEMA_VERSION) => {
            tune(&conn).map_err(|e| e.to_string())?;
            Ok(Some(conn))
        }
        other => Err(format!(
            "the index has schema version {other:?}, not {SCHEMA_VERSION}"
        )),
    }
}

fn create(path: &Path) -> Result<Connection> {
    let sql_err = |source| AuditError::Index {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(path).map_err(sql_err)?;
    tune(&conn).map_err(sql_err)?;
    conn.execute_batch(SCHEMA).map_err(sql_err)?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
        params![SCHEMA_VERSION],
    )
    .map_err(sql_err)?;
    Ok(conn)
}

/// The index is derived data: durability is the segments' job, so SQLite
/// may skip its own syncs.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA journal_mode = DELETE; PRAGMA busy_timeout = 5000;",
    )
}

fn remove_index_files(path: &Path) -> Result<()> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AuditError::io(PathBuf::from(p), e)),
        }
    }
    Ok(())
}
