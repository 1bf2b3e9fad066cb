//! Server-sent events, as OpenAI-compatible servers stream them: `data: {json}` lines, a blank line between
//! events, `data: [DONE]` at the end.

use std::io::BufRead;

/// One event's payload.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// A `data:` payload (several `data:` lines of one event joined by newlines).
    Data(String),
    /// `data: [DONE]`.
    Done,
}

/// Reads events off a byte stream. `Ok(None)` is the end of the stream.
#[derive(Debug)]
pub(super) struct Reader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> Reader<R> {
    pub(super) fn new(inner: R) -> Self {
        Reader { inner, line: Vec::new() }
    }

    pub(super) fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        let mut data: Option<String> = None;
        loop {
            self.line.clear();
            let n = self.inner.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                // As the SSE spec says, an event not closed by a blank line is incomplete: drop it.
                return Ok(None);
            }
            let line = String::from_utf8_lossy(&self.line);
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if let Some(d) = data.take() {
                    return Ok(Some(into_event(d)));
                }
                continue;
            }
            if line.starts_with(':') {
                continue; // a comment, used as a keep-alive
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            if field == "data" {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                }
            }
            // `event:`, `id:` and `retry:` fields carry nothing these servers use.
        }
    }
}

fn into_event(data: String) -> Event {
    if data.trim() == "[DONE]" { Event::Done } else { Event::Data(data) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_on_blank_lines_and_end_at_done() {
        let stream =
            b": keep-alive\r\n\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
        let mut r = Reader::new(&stream[..]);
        assert_eq!(r.next_event().unwrap(), Some(Event::Data("{\"a\":1}".into())));
        assert_eq!(r.next_event().unwrap(), Some(Event::Data("line1\nline2".into())));
        assert_eq!(r.next_event().unwrap(), Some(Event::Done));
        assert_eq!(r.next_event().unwrap(), None);
    }

    #[test]
    fn an_event_cut_off_by_the_end_of_the_stream_is_dropped() {
        let mut r = Reader::new(&b"data: {\"x\":1}\n\ndata: {\"x\":2"[..]);
        assert_eq!(r.next_event().unwrap(), Some(Event::Data("{\"x\":1}".into())));
        assert_eq!(r.next_event().unwrap(), None);
    }
}
