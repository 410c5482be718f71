//! Request framing: splits the bytes a client sent into requests, each a
//! list of arguments. Multibulk requests (`*N` then N `$len` bulks) are
//! checked against the limits before anything is allocated for them; once
//! a request is complete its arguments are slices of the one buffer the
//! request arrived in (no copy). Anything else is an inline command line
//! (`PING` typed into telnet).
//!
//! Requests are only ever arrays of bulk strings, so this is all of RESP a
//! server has to read; a general decoder (redis-protocol's, used for
//! replies) would parse every request a second time.

use bytes::{Bytes, BytesMut};

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
    let Some((count, total)) = walk_multibulk(buf, limits, |_, _| {})? else {
        return Ok(None);
    };
    let request = buf.split_to(total).freeze();
    let mut args = Vec::with_capacity(count);
    // The same walk again over bytes now known complete and valid: it
    // cannot fail or stop short.
    walk_multibulk(&request, limits, |start, end| args.push(request.slice(start..end)))?;
    Ok(Some(args))
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
    let n = parse_length(&buf[at + 1..end]).ok_or_else(|| ProtocolError(format!("invalid {what} length")))?;
    Ok(Some((n, end + 2)))
}

/// A decimal length header: an optional minus sign and 1 to 18 digits.
fn parse_length(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as i64;
    }
    Some(if negative { -n } else { n })
}

/// Validates the shape and declared sizes of a multibulk request; once
/// all of it is in `buf`, returns its argument count and total length,
/// having passed each argument's byte range to `on_arg`.
fn walk_multibulk(
    buf: &[u8],
    limits: &Limits,
    mut on_arg: impl FnMut(usize, usize),
) -> Result<Option<(usize, usize)>, ProtocolError> {
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
        on_arg(data, end);
        pos = end + 2;
    }
    Ok(Some((count.max(0) as usize, pos)))
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
    fn length_headers() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"-1"), Some(-1));
        assert_eq!(parse_length(b"123456789012345678"), Some(123456789012345678));
        for bad in [&b""[..], b"-", b"1x", b"+1", b" 1", b"1234567890123456789"] {
            assert_eq!(parse_length(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_all(b"*-1\r\n").unwrap(), vec![Vec::<Bytes>::new()]);
        assert_eq!(parse_all(b"*0\r\n").unwrap(), vec![Vec::<Bytes>::new()]);
    }

    #[test]
    fn inline_commands() {
        let reqs = parse_all(b"PING\r\nECHO \"hello world\"\n\r\n").unwrap();
        assert_eq!(reqs[0], vec![Bytes::from_static(b"PING")]);
        assert_eq!(reqs[1][1].as_ref(), b"hello world");
        assert!(reqs[2].is_empty());
    }
}
