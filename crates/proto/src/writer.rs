//! Streaming reply encoding for the hot path: rows of scalar values written
//! straight into the output buffer, with no reply tree in between. Every
//! other reply goes through `Reply` and `redis-protocol`.

use bytes::{BufMut, BytesMut};

use crate::reply::{format_double, Protocol};

pub struct RespWriter<'a> {
    out: &'a mut BytesMut,
    protocol: Protocol,
}

impl<'a> RespWriter<'a> {
    pub fn new(out: &'a mut BytesMut, protocol: Protocol) -> RespWriter<'a> {
        RespWriter { out, protocol }
    }

    fn number_line(&mut self, prefix: u8, n: i64) {
        let mut digits = itoa::Buffer::new();
        self.out.put_u8(prefix);
        self.out.put_slice(digits.format(n).as_bytes());
        self.out.put_slice(b"\r\n");
    }

    pub fn array(&mut self, len: usize) {
        self.number_line(b'*', len as i64);
    }

    pub fn int(&mut self, i: i64) {
        self.number_line(b':', i);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.number_line(b'$', data.len() as i64);
        self.out.put_slice(data);
        self.out.put_slice(b"\r\n");
    }

    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.out.put_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.out.put_slice(b"_\r\n"),
        }
    }

    pub fn bool(&mut self, b: bool) {
        match self.protocol {
            Protocol::Resp2 => self.int(b as i64),
            Protocol::Resp3 => self.out.put_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    pub fn double(&mut self, x: f64) {
        let text = format_double(x);
        match self.protocol {
            Protocol::Resp2 => self.bulk(text.as_bytes()),
            Protocol::Resp3 => {
                self.out.put_u8(b',');
                self.out.put_slice(text.as_bytes());
                self.out.put_slice(b"\r\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{encode, Reply};

    /// The writer produces the same bytes as the reply encoder.
    #[test]
    fn matches_redis_protocol_encoding() {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let mut a = BytesMut::new();
            let mut w = RespWriter::new(&mut a, protocol);
            w.array(6);
            w.int(-42);
            w.bulk(b"hi\r\nthere");
            w.null();
            w.bool(true);
            w.double(0.1);
            w.double(f64::INFINITY);
            let mut b = BytesMut::new();
            let reply = Reply::Array(vec![
                Reply::Int(-42),
                Reply::Bulk(bytes::Bytes::from_static(b"hi\r\nthere")),
                Reply::Null,
                Reply::Bool(true),
                Reply::Double(0.1),
                Reply::Double(f64::INFINITY),
            ]);
            encode(&reply, protocol, &mut b);
            assert_eq!(a, b, "{protocol:?}");
        }
    }
}
