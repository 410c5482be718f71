//! Request framing: splits the bytes a client sent into requests, each a
//! list of arguments. Multibulk requests (`*N` then N `$len` bulks) are
//! checked against the limits before anything is allocated for them, then
//! decoded with `redis-protocol`; anything else is an inline command line
//! (`PING` typed into telnet).

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::decode::decode_bytes;
use redis_protocol::resp2::types::BytesFrame;

use crate::error::ProtocolError;
use crate::inline::split_inline;

/// Size limits on one request, checked from the declared lengths before
/// the data arrives.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest bulk string argument (Redis: proto-max-bulk-len).
    pub max_bulk_len: usize,
    /// Most arguments in one request.
    pub max_args: usize,
    /// Longest inline command line, and longest length header.
    pub max_inline_len: usize,
    /// Largest whole request.
    pub max_request_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_args: 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_request_len: 1024 * 1024 * 1024,
        }
    }
}

/// Takes the next complete request off the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some(args))` for a
/// request (empty for a blank line or `*0`, which clients may send and
/// which get no reply), and an error when the bytes can never be a valid
/// request.
pub fn next_request(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'*' {
        return next_inline(buf, limits);
    }
    let Some(total) = multibulk_extent(buf, limits)? else {
        return Ok(None);
    };
    let frame_bytes = buf.split_to(total).freeze();
    let decoded = decode_bytes(&frame_bytes).map_err(|e| ProtocolError(e.to_string()))?;
    let Some((frame, used)) = decoded else {
        return Err(ProtocolError("incomplete request after framing".into()));
    };
    if used != total {
        return Err(ProtocolError("request length mismatch".into()));
    }
    match frame {
        BytesFrame::Array(items) => items
            .into_iter()
            .map(|f| match f {
                BytesFrame::BulkString(b) => Ok(b),
                _ => Err(ProtocolError("expected bulk strings in request".into())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        BytesFrame::Null => Ok(Some(Vec::new())),
        _ => Err(ProtocolError("expected an array of bulk strings".into())),
    }
}

/// Finds a line ending at or after `from`; the index of its `\r`.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| from + p)
}

/// Reads a `<prefix><integer>\r\n` header at `at`: the integer and the
/// position after the header, or `None` if it is not all here yet.
fn read_header(buf: &[u8], at: usize, limits: &Limits, what: &str) -> Result<Option<(i64, usize)>, ProtocolError> {
    let Some(end) = find_crlf(buf, at + 1) else {
        if buf.len() - at > limits.max_inline_len.min(32) + 2 {
            return Err(ProtocolError(format!("invalid {what} length")));
        }
        return Ok(None);
    };
    let digits = &buf[at + 1..end];
    let n = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ProtocolError(format!("invalid {what} length")))?;
    Ok(Some((n, end + 2)))
}

/// Validates the shape and declared sizes of a multibulk request and
/// returns its total length once all of it is in `buf`.
fn multibulk_extent(buf: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
    let Some((count, mut pos)) = read_header(buf, 0, limits, "multibulk")? else {
        return Ok(None);
    };
    if count > limits.max_args as i64 {
        return Err(ProtocolError("invalid multibulk length".into()));
    }
    for _ in 0..count.max(0) {
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        if kind != b'$' {
            return Err(ProtocolError(format!("expected '$', got '{}'", kind.escape_ascii())));
        }
        let Some((len, data)) = read_header(buf, pos, limits, "bulk")? else {
            return Ok(None);
        };
        if len < 0 || len as u64 > limits.max_bulk_len as u64 {
            return Err(ProtocolError("invalid bulk length".into()));
        }
        let end = data + len as usize;
        if end > limits.max_request_len {
            return Err(ProtocolError("request too large".into()));
        }
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ProtocolError("bulk string not terminated by CRLF".into()));
        }
        pos = end + 2;
    }
    Ok(Some(pos))
}

fn next_inline(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > limits.max_inline_len {
            return Err(ProtocolError("too big inline request".into()));
        }
        return Ok(None);
    };
    if newline > limits.max_inline_len {
        return Err(ProtocolError("too big inline request".into()));
    }
    let line = buf.split_to(newline + 1);
    let mut line = &line[..newline];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args = split_inline(line)?;
    Ok(Some(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(req) = next_request(&mut buf, &Limits::default())? {
            out.push(req);
        }
        Ok(out)
    }

    #[test]
    fn pipelined_multibulk_requests() {
        let reqs = parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n").unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[1][1].as_ref(), b"a\r\n");
    }

    #[test]
    fn partial_requests_wait_for_more() {
        for cut in 1..20 {
            let full = b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n";
            let mut buf = BytesMut::from(&full[..cut.min(full.len() - 1)]);
            assert_eq!(next_request(&mut buf, &Limits::default()), Ok(None), "cut {cut}");
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        assert!(parse_all(b"*99999999999\r\n").is_err());
        assert!(parse_all(b"*1\r\n$99999999999\r\n").is_err());
        assert!(parse_all(b"*1\r\n$-5\r\n").is_err());
    }

    #[test]
    fn nesting_and_garbage_are_protocol_errors() {
        assert!(parse_all(b"*1\r\n*1\r\n$1\r\na\r\n").is_err());
        assert!(parse_all(b"*x\r\n").is_err());
        assert!(parse_all(b"*1\r\n$1\r\nabc").is_err());
    }

    #[test]
    fn inline_commands() {
        let reqs = parse_all(b"PING\r\nECHO \"hello world\"\n\r\n").unwrap();
        assert_eq!(reqs[0], vec![Bytes::from_static(b"PING")]);
        assert_eq!(reqs[1][1].as_ref(), b"hello world");
        assert!(reqs[2].is_empty());
    }
}
