//! Incremental Server-Sent Events parsing, shared by the stream adapters.
//!
//! [`SseParser::push`] takes bytes exactly as they come off the socket,
//! split anywhere (inside a line, inside a UTF-8 character, inside a
//! `\r\n`) and returns each complete event once its blank line arrives,
//! together with the exact bytes it was made of, so a proxy can forward an
//! event it does not need to change byte for byte.
//!
//! Field handling follows the WHATWG EventSource rules: `data` lines are
//! joined with `\n`, one leading space after the colon is dropped, comment
//! lines (`:`) are kept in the raw bytes but yield no field.

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
    /// The exact bytes of the event, blank line included.
    pub raw: Vec<u8>,
}

impl SseEvent {
    /// True when the event carries no data and no event name (a comment or
    /// keep-alive only).
    pub fn is_empty(&self) -> bool {
        self.event.is_none() && self.data.is_empty()
    }
}

/// An incremental SSE parser. Memory is bounded by the largest single event.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Start of the event being accumulated inside `buf`.
    scanned: usize,
    current: SseEvent,
    has_field: bool,
    /// A `data` line was seen in the current event (the next one adds `\n`).
    seen_data: bool,
    /// 1-based line counter, for error messages of callers.
    line: usize,
}

impl SseParser {
    /// A new parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of complete lines seen so far.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Feeds bytes; returns the events completed by them, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut event_start = 0;
        loop {
            let Some(rel) = memchr::memchr2(b'\n', b'\r', &self.buf[self.scanned..]) else {
                break;
            };
            let end = self.scanned + rel;
            // A lone `\r` at the very end may be the first half of `\r\n`.
            let term_len = if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => break,
                }
            } else {
                1
            };
            let line = String::from_utf8_lossy(&self.buf[self.scanned..end]).into_owned();
            self.scanned = end + term_len;
            self.line += 1;
            if line.is_empty() {
                let mut ev = std::mem::take(&mut self.current);
                ev.raw = self.buf[event_start..self.scanned].to_vec();
                event_start = self.scanned;
                if self.has_field || !ev.raw.is_empty() {
                    events.push(ev);
                }
                self.has_field = false;
                self.seen_data = false;
            } else {
                self.field(&line);
            }
        }
        // Keep only the unfinished event's bytes.
        self.buf.drain(..event_start);
        self.scanned -= event_start;
        events
    }

    /// Flushes an event left without its closing blank line at end of stream.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf[self.scanned..].is_empty() {
            let tail = String::from_utf8_lossy(&self.buf[self.scanned..]).into_owned();
            self.field(&tail);
        }
        let mut ev = std::mem::take(&mut self.current);
        ev.raw = std::mem::take(&mut self.buf);
        self.scanned = 0;
        self.seen_data = false;
        let had = std::mem::take(&mut self.has_field);
        had.then_some(ev)
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => {
                if self.seen_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_field = true;
                self.seen_data = true;
            }
            "event" => {
                self.current.event = Some(value.to_owned());
                self.has_field = true;
            }
            "id" => {
                self.current.id = Some(value.to_owned());
                self.has_field = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "event: a\ndata: {\"x\":\"h\u{e9}llo \u{1f600}\"}\n\n: keep-alive\n\ndata: one\r\ndata: two\r\n\r\ndata: [DONE]\n\n";

    fn all_at_once() -> Vec<SseEvent> {
        SseParser::new().push(STREAM.as_bytes())
    }

    #[test]
    fn parses_events_fields_and_multiline_data() {
        let evs = all_at_once();
        assert_eq!(evs.len(), 4);
        assert_eq!(evs[0].event.as_deref(), Some("a"));
        assert_eq!(evs[0].data, "{\"x\":\"h\u{e9}llo \u{1f600}\"}");
        assert!(evs[1].is_empty());
        assert_eq!(evs[2].data, "one\ntwo");
        assert_eq!(evs[3].data, "[DONE]");
        let raw: Vec<u8> = evs.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(raw, STREAM.as_bytes(), "raw bytes round-trip exactly");
    }

    #[test]
    fn same_events_when_split_at_every_byte() {
        let whole = all_at_once();
        let bytes = STREAM.as_bytes();
        for split in 0..=bytes.len() {
            let mut p = SseParser::new();
            let mut evs = p.push(&bytes[..split]);
            evs.extend(p.push(&bytes[split..]));
            assert_eq!(evs, whole, "split at byte {split}");
        }
        let mut p = SseParser::new();
        let evs: Vec<_> = bytes.iter().flat_map(|b| p.push(std::slice::from_ref(b))).collect();
        assert_eq!(evs, whole, "one byte at a time");
    }

    #[test]
    fn finish_flushes_an_unterminated_event() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: tail").is_empty());
        let ev = p.finish().expect("event");
        assert_eq!(ev.data, "tail");
        assert!(p.finish().is_none());
    }
}
