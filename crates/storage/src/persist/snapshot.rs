//! Snapshots: the catalog (as the script that recreates it) and every
//! table's rows with their slots, in checksummed frames. Structures are
//! never stored: recovery rebuilds them from the rows.
//!
//! Layout: a header frame (magic, version, the log sequence number the
//! snapshot is consistent with, the catalog script), per table a table
//! frame (name, slot count, free slots) and row frames, then an end frame
//! with the row count. A file without its end frame is incomplete.

use aotdb_planner::Value;

use super::codec::{frame, read_frame, Decoder, Encoder, FrameRead};
use crate::row::{Row, RowId};

pub const SNAPSHOT_MAGIC: &[u8; 8] = b"AOTDBSNP";
pub const SNAPSHOT_VERSION: u32 = 1;

const HEADER: u8 = 1;
const TABLE: u8 = 2;
const ROWS: u8 = 3;
const END: u8 = 9;

pub fn snapshot_file_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

pub fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("snapshot-")?.strip_suffix(".snap")?.parse().ok()
}

/// Builds a snapshot's bytes piece by piece (the executor hands pieces to
/// a writer thread as it copies tables).
pub struct SnapshotEncoder;

impl SnapshotEncoder {
    pub fn header(seq: u64, created_unix: u64, catalog_script: &str, extra: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(HEADER);
        e.buf.extend_from_slice(SNAPSHOT_MAGIC);
        e.u32(SNAPSHOT_VERSION);
        e.u64(seq);
        e.u64(created_unix);
        e.bytes(catalog_script.as_bytes());
        e.bytes(extra);
        let mut out = Vec::new();
        frame(&mut out, &e.buf);
        out
    }

    pub fn table(name: &str, slots: u64, free: &[RowId]) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(TABLE);
        e.bytes(name.as_bytes());
        e.u64(slots);
        e.u32(free.len() as u32);
        for f in free {
            e.u32(*f);
        }
        let mut out = Vec::new();
        frame(&mut out, &e.buf);
        out
    }

    pub fn rows<'a>(rows: impl Iterator<Item = (RowId, &'a [Value])>) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(ROWS);
        let count_at = e.buf.len();
        e.u32(0);
        let mut n = 0u32;
        for (slot, row) in rows {
            e.u32(slot);
            e.u32(row.len() as u32);
            for v in row {
                e.value(v);
            }
            n += 1;
        }
        e.buf[count_at..count_at + 4].copy_from_slice(&n.to_le_bytes());
        let mut out = Vec::new();
        frame(&mut out, &e.buf);
        out
    }

    pub fn end(total_rows: u64) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(END);
        e.u64(total_rows);
        let mut out = Vec::new();
        frame(&mut out, &e.buf);
        out
    }
}

#[derive(Debug, Default)]
pub struct TableImage {
    pub name: String,
    pub slots: u64,
    pub free: Vec<RowId>,
    pub rows: Vec<(RowId, Row)>,
}

#[derive(Debug, Default)]
pub struct SnapshotImage {
    pub seq: u64,
    pub created_unix: u64,
    pub catalog_script: String,
    /// Other catalog state (procedure libraries), opaque here.
    pub extra: Vec<u8>,
    pub tables: Vec<TableImage>,
}

impl SnapshotImage {
    pub fn rows(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// Reads and checks a whole snapshot; the error names the byte offset.
pub fn read_snapshot(data: &[u8]) -> Result<SnapshotImage, String> {
    let mut image = SnapshotImage::default();
    let mut at = 0;
    let mut seen_header = false;
    loop {
        let (payload, next) = match read_frame(data, at) {
            FrameRead::Frame(p, next) => (p, next),
            FrameRead::End => return Err(format!("offset {at}: snapshot ends before its end marker")),
            FrameRead::Truncated => return Err(format!("offset {at}: snapshot is cut short")),
            FrameRead::Damaged(e) => return Err(format!("offset {at}: {e}")),
        };
        let mut d = Decoder::new(payload);
        let fail = |e: String| format!("offset {at}: {e}");
        let kind = d.u8().map_err(fail)?;
        if !seen_header && kind != HEADER {
            return Err(format!("offset {at}: not an aotdb snapshot"));
        }
        match kind {
            HEADER => {
                let magic = d.u64().map_err(fail)?.to_le_bytes();
                if &magic != SNAPSHOT_MAGIC {
                    return Err(format!("offset {at}: not an aotdb snapshot"));
                }
                let version = d.u32().map_err(fail)?;
                if version != SNAPSHOT_VERSION {
                    return Err(format!("offset {at}: snapshot format version {version} is not supported"));
                }
                image.seq = d.u64().map_err(fail)?;
                image.created_unix = d.u64().map_err(fail)?;
                image.catalog_script = d.string().map_err(fail)?;
                image.extra = d.bytes().map_err(fail)?.to_vec();
                seen_header = true;
            }
            TABLE => {
                let name = d.string().map_err(fail)?;
                let slots = d.u64().map_err(fail)?;
                let n = d.u32().map_err(fail)? as usize;
                let mut free = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    free.push(d.u32().map_err(fail)?);
                }
                image.tables.push(TableImage { name, slots, free, rows: Vec::new() });
            }
            ROWS => {
                let Some(table) = image.tables.last_mut() else {
                    return Err(format!("offset {at}: rows before any table"));
                };
                let n = d.u32().map_err(fail)?;
                for _ in 0..n {
                    let slot = d.u32().map_err(fail)?;
                    let width = d.u32().map_err(fail)? as usize;
                    let mut row = Vec::with_capacity(width.min(4096));
                    for _ in 0..width {
                        row.push(d.value().map_err(fail)?);
                    }
                    table.rows.push((slot, row.into_boxed_slice()));
                }
            }
            END => {
                let total = d.u64().map_err(fail)?;
                if total != image.rows() as u64 {
                    return Err(format!(
                        "offset {at}: end marker counts {total} rows, the snapshot holds {}",
                        image.rows()
                    ));
                }
                if next != data.len() {
                    return Err(format!("offset {next}: data after the end marker"));
                }
                return Ok(image);
            }
            other => return Err(format!("offset {at}: unknown frame kind {other}")),
        }
        at = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut data = SnapshotEncoder::header(7, 1, "CREATE TABLE t (id INT PRIMARY KEY)", b"");
        data.extend(SnapshotEncoder::table("t", 3, &[1]));
        let rows: Vec<(RowId, Vec<Value>)> = vec![(0, vec![Value::Int(1)]), (2, vec![Value::Int(3)])];
        data.extend(SnapshotEncoder::rows(rows.iter().map(|(s, r)| (*s, r.as_slice()))));
        data.extend(SnapshotEncoder::end(2));
        data
    }

    #[test]
    fn round_trip() {
        let image = read_snapshot(&sample()).unwrap();
        assert_eq!(image.seq, 7);
        assert_eq!(image.tables[0].free, vec![1]);
        assert_eq!(image.tables[0].rows[1].0, 2);
    }

    #[test]
    fn damage_and_truncation_are_caught() {
        let data = sample();
        assert!(read_snapshot(&data[..data.len() - 3]).is_err());
        for i in [10, data.len() / 2, data.len() - 3] {
            let mut bad = data.clone();
            bad[i] ^= 0x10;
            assert!(read_snapshot(&bad).is_err(), "flip at {i}");
        }
    }
}
