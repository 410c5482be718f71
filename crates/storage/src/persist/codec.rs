//! Binary encoding shared by the command log and snapshots: little-endian
//! integers, length-prefixed byte strings, tagged values, and checksummed
//! frames (`length, crc32c, payload`).

use aotdb_planner::{ArcStr, Value};

/// Largest frame accepted when reading; a larger length is damage.
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder { buf: Vec::new() }
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.buf.extend_from_slice(b);
    }

    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(0),
            Value::Bool(false) => self.u8(1),
            Value::Bool(true) => self.u8(2),
            Value::Int(i) => {
                self.u8(3);
                self.u64(*i as u64);
            }
            Value::Float(x) => {
                self.u8(4);
                self.u64(x.to_bits());
            }
            Value::Text(s) => {
                self.u8(5);
                self.bytes(s.as_bytes());
            }
            Value::Bytes(b) => {
                self.u8(6);
                self.bytes(b);
            }
            Value::Timestamp(t) => {
                self.u8(7);
                self.u64(*t as u64);
            }
        }
    }
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder::new()
    }
}

/// Appends a frame whose payload `write` encodes, in place: the same bytes
/// as `frame`, without a buffer of its own for the payload (every logged
/// write makes one).
pub fn frame_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Encoder)) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    let mut e = Encoder { buf: std::mem::take(out) };
    write(&mut e);
    *out = e.buf;
    let payload = &out[start + 8..];
    let (len, crc) = ((payload.len() as u32).to_le_bytes(), crc32c::crc32c(payload).to_le_bytes());
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + 8].copy_from_slice(&crc);
}

/// Appends `payload` as a frame: length, crc32c of the payload, payload.
pub fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    frame_with(out, |e| e.buf.extend_from_slice(payload));
}

/// A frame read back: its payload, or why it is not there.
pub enum FrameRead<'a> {
    /// A complete frame with a good checksum, and the offset after it.
    Frame(&'a [u8], usize),
    /// The data ends exactly here.
    End,
    /// The data ends inside the frame (a torn write).
    Truncated,
    /// The frame is whole but its checksum or length is wrong.
    Damaged(String),
}

pub fn read_frame(data: &[u8], at: usize) -> FrameRead<'_> {
    if at == data.len() {
        return FrameRead::End;
    }
    let Some(header) = data.get(at..at + 8) else { return FrameRead::Truncated };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_FRAME {
        return FrameRead::Damaged(format!("frame length {len} is impossible"));
    }
    let Some(payload) = data.get(at + 8..at + 8 + len) else { return FrameRead::Truncated };
    if crc32c::crc32c(payload) != crc {
        return FrameRead::Damaged("checksum mismatch".into());
    }
    FrameRead::Frame(payload, at + 8 + len)
}

/// Reads what `Encoder` wrote; every method fails cleanly on short input.
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

pub type DecodeResult<T> = Result<T, String>;

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8]) -> Decoder<'a> {
        Decoder { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or("record ends early")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> DecodeResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> DecodeResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub fn bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn string(&mut self) -> DecodeResult<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "text is not UTF-8".to_string())
    }

    pub fn value(&mut self) -> DecodeResult<Value> {
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(self.u64()? as i64),
            4 => Value::Float(f64::from_bits(self.u64()?)),
            5 => {
                let s = std::str::from_utf8(self.bytes()?).map_err(|_| "text is not UTF-8")?;
                Value::Text(ArcStr::from(s))
            }
            6 => Value::Bytes(std::sync::Arc::new(Box::from(self.bytes()?))),
            7 => Value::Timestamp(self.u64()? as i64),
            tag => return Err(format!("unknown value tag {tag}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_written_in_place_is_the_frame_of_its_payload() {
        let mut payload = Encoder::new();
        payload.u64(7);
        payload.bytes(b"record_payment");
        // The layout spelled out (`frame` is built on `frame_with`):
        // length, crc32c of the payload, payload.
        let mut whole = b"earlier frames".to_vec();
        whole.extend_from_slice(&(payload.buf.len() as u32).to_le_bytes());
        whole.extend_from_slice(&crc32c::crc32c(&payload.buf).to_le_bytes());
        whole.extend_from_slice(&payload.buf);
        let mut framed = b"earlier frames".to_vec();
        frame(&mut framed, &payload.buf);
        assert_eq!(framed, whole);
        let mut in_place = b"earlier frames".to_vec();
        frame_with(&mut in_place, |e| {
            e.u64(7);
            e.bytes(b"record_payment");
        });
        assert_eq!(in_place, whole);
        match read_frame(&in_place, 14) {
            FrameRead::Frame(read, end) => assert_eq!((read, end), (&payload.buf[..], in_place.len())),
            _ => panic!("the frame does not read back"),
        }
    }
}
