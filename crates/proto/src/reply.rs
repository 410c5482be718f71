//! Replies: a protocol-neutral reply tree, encoded for RESP2 or RESP3 with
//! `redis-protocol`. RESP3 types that RESP2 lacks are mapped the way Redis
//! maps them: maps become flat arrays, booleans integers, doubles bulk
//! strings.

use bytes::{Bytes, BytesMut};
use redis_protocol::resp2::encode::extend_encode as encode2;
use redis_protocol::resp2::types::BytesFrame as Frame2;
use redis_protocol::resp3::encode::complete::extend_encode as encode3;
use redis_protocol::resp3::types::{BytesFrame as Frame3, FrameMap, VerbatimStringFormat};

/// The protocol a connection speaks (HELLO switches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(&'static str),
    SimpleOwned(String),
    /// A whole error line, code first: `ERR unknown command ...`.
    Error(String),
    Int(i64),
    Bulk(Bytes),
    Null,
    /// RESP2's null array (`*-1`), RESP3's null: EXEC after a WATCH abort.
    NullArray,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Bool(bool),
    Double(f64),
    /// Text meant for people (INFO, CLIENT INFO): a verbatim string in
    /// RESP3, a bulk string in RESP2.
    Text(String),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK")
    }

    pub fn bulk_str(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// An error reply with `code` (upper case, as Redis errors start).
    pub fn error(code: &str, message: impl std::fmt::Display) -> Reply {
        Reply::Error(format!("{code} {message}"))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Appends the encoding of `reply` to `out`.
pub fn encode(reply: &Reply, protocol: Protocol, out: &mut BytesMut) {
    // Encoding a frame we built ourselves cannot fail: the only errors are
    // for buffers too small, which extend_encode grows.
    match protocol {
        Protocol::Resp2 => {
            let _ = encode2(out, &to_resp2(reply), false);
        }
        Protocol::Resp3 => {
            let _ = encode3(out, &to_resp3(reply), false);
        }
    }
}

/// A double as Redis prints one in RESP2: shortest text that reads back
/// as the same value.
pub fn format_double(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x}")
    }
}

/// Error and simple-string lines cannot hold line breaks.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

fn to_resp2(reply: &Reply) -> Frame2 {
    match reply {
        Reply::Simple(s) => Frame2::SimpleString(Bytes::from_static(s.as_bytes())),
        Reply::SimpleOwned(s) => Frame2::SimpleString(Bytes::from(one_line(s))),
        Reply::Error(e) => Frame2::Error(one_line(e).into()),
        Reply::Int(i) => Frame2::Integer(*i),
        Reply::Bulk(b) => Frame2::BulkString(b.clone()),
        Reply::Null | Reply::NullArray => Frame2::Null,
        Reply::Array(items) => Frame2::Array(items.iter().map(to_resp2).collect()),
        Reply::Map(pairs) => Frame2::Array(pairs.iter().flat_map(|(k, v)| [to_resp2(k), to_resp2(v)]).collect()),
        Reply::Bool(b) => Frame2::Integer(*b as i64),
        Reply::Double(x) => Frame2::BulkString(Bytes::from(format_double(*x))),
        Reply::Text(s) => Frame2::BulkString(Bytes::copy_from_slice(s.as_bytes())),
    }
}

fn to_resp3(reply: &Reply) -> Frame3 {
    match reply {
        Reply::Simple(s) => Frame3::SimpleString { data: Bytes::from_static(s.as_bytes()), attributes: None },
        Reply::SimpleOwned(s) => Frame3::SimpleString { data: Bytes::from(one_line(s)), attributes: None },
        Reply::Error(e) => Frame3::SimpleError { data: one_line(e).into(), attributes: None },
        Reply::Int(i) => Frame3::Number { data: *i, attributes: None },
        Reply::Bulk(b) => Frame3::BlobString { data: b.clone(), attributes: None },
        Reply::Null | Reply::NullArray => Frame3::Null,
        Reply::Array(items) => Frame3::Array { data: items.iter().map(to_resp3).collect(), attributes: None },
        Reply::Map(pairs) => {
            let mut map = FrameMap::with_capacity(pairs.len());
            for (k, v) in pairs {
                map.insert(to_resp3(k), to_resp3(v));
            }
            Frame3::Map { data: map, attributes: None }
        }
        Reply::Bool(b) => Frame3::Boolean { data: *b, attributes: None },
        Reply::Double(x) => Frame3::Double { data: *x, attributes: None },
        Reply::Text(s) => Frame3::VerbatimString {
            data: Bytes::copy_from_slice(s.as_bytes()),
            format: VerbatimStringFormat::Text,
            attributes: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(reply: &Reply, protocol: Protocol) -> String {
        let mut out = BytesMut::new();
        encode(reply, protocol, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn resp2_maps_resp3_types_like_redis() {
        let r = Reply::Array(vec![Reply::Int(1), Reply::Null, Reply::Bool(true), Reply::Double(0.1)]);
        assert_eq!(bytes(&r, Protocol::Resp2), "*4\r\n:1\r\n$-1\r\n:1\r\n$3\r\n0.1\r\n");
        assert_eq!(bytes(&r, Protocol::Resp3), "*4\r\n:1\r\n_\r\n#t\r\n,0.1\r\n");
        let m = Reply::Map(vec![(Reply::bulk_str("a"), Reply::Int(2))]);
        assert_eq!(bytes(&m, Protocol::Resp2), "*2\r\n$1\r\na\r\n:2\r\n");
        assert_eq!(bytes(&m, Protocol::Resp3), "%1\r\n$1\r\na\r\n:2\r\n");
    }

    #[test]
    fn errors_stay_on_one_line() {
        let e = Reply::error("ERR", "bad\r\nthing");
        assert_eq!(bytes(&e, Protocol::Resp2), "-ERR bad  thing\r\n");
    }
}
