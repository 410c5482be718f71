//! The command log: every committed write, as the request that made it
//! (statement name and arguments, a MULTI block, or a catalog change),
//! with a sequence number, in checksummed frames. Execution is
//! deterministic, so replaying the records after a snapshot rebuilds the
//! exact state.
//!
//! Files are `log-<first seq>.aol` in the data directory, each starting
//! with a magic header.

use super::codec::{frame_with, read_frame, Decoder, Encoder, FrameRead};

pub const LOG_MAGIC: &[u8; 8] = b"AOTDBLOG";
pub const LOG_VERSION: u32 = 1;
pub const LOG_HEADER_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq)]
pub enum LogRecord {
    Execute {
        name: String,
        args: Vec<Vec<u8>>,
    },
    /// A MULTI/EXEC block or a function call: its writes, `(statement,
    /// arguments)` in order (logs from before 2026-12-02 also hold a
    /// block's reads, which replay leaves out).
    Transaction(Vec<(String, Vec<Vec<u8>>)>),
    Define(String),
    Prepare {
        name: String,
        sql: String,
    },
    Deallocate(String),
    FunctionLoad {
        code: String,
        replace: bool,
    },
    FunctionDelete(String),
    FunctionFlush,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRecord {
    pub seq: u64,
    pub record: LogRecord,
}

pub fn log_header() -> Vec<u8> {
    let mut h = LOG_MAGIC.to_vec();
    h.extend_from_slice(&LOG_VERSION.to_le_bytes());
    h
}

pub fn log_file_name(first_seq: u64) -> String {
    format!("log-{first_seq:020}.aol")
}

pub fn parse_log_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("log-")?.strip_suffix(".aol")?.parse().ok()
}

fn encode_args<A: AsRef<[u8]>>(e: &mut Encoder, name: &str, args: &[A]) {
    e.bytes(name.as_bytes());
    e.u32(args.len() as u32);
    for a in args {
        e.bytes(a.as_ref());
    }
}

/// Appends one framed record to `out`.
pub fn encode_record(seq: u64, record: &LogRecord, out: &mut Vec<u8>) {
    match record {
        LogRecord::Execute { name, args } => encode_execute(seq, name, args, out),
        LogRecord::Transaction(items) => {
            encode_transaction(seq, items.iter().map(|(name, args)| (name.as_str(), args.as_slice())), out)
        }
        LogRecord::Define(script) => record_frame(out, seq, 3, |e| e.bytes(script.as_bytes())),
        LogRecord::Prepare { name, sql } => record_frame(out, seq, 4, |e| {
            e.bytes(name.as_bytes());
            e.bytes(sql.as_bytes());
        }),
        LogRecord::Deallocate(name) => record_frame(out, seq, 5, |e| e.bytes(name.as_bytes())),
        LogRecord::FunctionLoad { code, replace } => record_frame(out, seq, 6, |e| {
            e.bytes(code.as_bytes());
            e.u8(*replace as u8);
        }),
        LogRecord::FunctionDelete(name) => record_frame(out, seq, 7, |e| e.bytes(name.as_bytes())),
        LogRecord::FunctionFlush => record_frame(out, seq, 8, |_| {}),
    }
}

/// Appends a record's frame: its sequence number, its kind's tag, then
/// what `body` encodes.
fn record_frame(out: &mut Vec<u8>, seq: u64, tag: u8, body: impl FnOnce(&mut Encoder)) {
    frame_with(out, |e| {
        e.u64(seq);
        e.u8(tag);
        body(e);
    });
}

/// Appends the record of one statement's write (`LogRecord::Execute`),
/// encoded from the request's own name and arguments: the executor logs
/// every write this way, with no record built first.
pub fn encode_execute<A: AsRef<[u8]>>(seq: u64, name: &str, args: &[A], out: &mut Vec<u8>) {
    record_frame(out, seq, 1, |e| encode_args(e, name, args));
}

/// Appends the record of a MULTI block or a function's writes
/// (`LogRecord::Transaction`): `(statement, arguments)` in order. The
/// items are walked twice (counted, then encoded), so a caller can pass a
/// filter over its own lists without collecting them.
pub fn encode_transaction<'a, A: AsRef<[u8]> + 'a>(
    seq: u64,
    items: impl Iterator<Item = (&'a str, &'a [A])> + Clone,
    out: &mut Vec<u8>,
) {
    record_frame(out, seq, 2, |e| {
        e.u32(items.clone().count() as u32);
        for (name, args) in items {
            encode_args(e, name, args);
        }
    });
}

fn decode_args(d: &mut Decoder<'_>) -> Result<(String, Vec<Vec<u8>>), String> {
    let name = d.string()?;
    let n = d.u32()? as usize;
    let mut args = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        args.push(d.bytes()?.to_vec());
    }
    Ok((name, args))
}

pub fn decode_record(payload: &[u8]) -> Result<LoggedRecord, String> {
    let mut d = Decoder::new(payload);
    let seq = d.u64()?;
    let record = match d.u8()? {
        1 => {
            let (name, args) = decode_args(&mut d)?;
            LogRecord::Execute { name, args }
        }
        2 => {
            let n = d.u32()? as usize;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                items.push(decode_args(&mut d)?);
            }
            LogRecord::Transaction(items)
        }
        3 => LogRecord::Define(d.string()?),
        4 => LogRecord::Prepare { name: d.string()?, sql: d.string()? },
        5 => LogRecord::Deallocate(d.string()?),
        6 => LogRecord::FunctionLoad { code: d.string()?, replace: d.u8()? != 0 },
        7 => LogRecord::FunctionDelete(d.string()?),
        8 => LogRecord::FunctionFlush,
        kind => return Err(format!("unknown record kind {kind}")),
    };
    if !d.is_empty() {
        return Err("record has trailing bytes".into());
    }
    Ok(LoggedRecord { seq, record })
}

/// How a log file ends.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEnd {
    Clean,
    /// The last record was cut short by a crash: everything from `offset`
    /// on is to be cut off.
    TornTail {
        offset: u64,
        reason: String,
    },
    /// A record in the middle is damaged: valid records follow it.
    Damaged {
        offset: u64,
        reason: String,
    },
}

/// Hands each record of a log file's contents to `visit` in order, as it
/// is decoded, and says how the file ends. A replay holds one decoded
/// record at a time this way: decoding a whole file first held every
/// record at once, several times the file's size, and a restart from the
/// log kept that memory. An error from `visit` stops the scan.
pub fn for_each_record<E>(data: &[u8], mut visit: impl FnMut(LoggedRecord) -> Result<(), E>) -> Result<LogEnd, E> {
    if data.len() < LOG_HEADER_LEN {
        // Created but the header never made it to disk.
        return Ok(if data.is_empty() {
            LogEnd::Clean
        } else {
            LogEnd::TornTail { offset: 0, reason: "header incomplete".into() }
        });
    }
    if &data[..8] != LOG_MAGIC {
        return Ok(LogEnd::Damaged { offset: 0, reason: "not an aotdb log file".into() });
    }
    let version = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
    if version != LOG_VERSION {
        return Ok(LogEnd::Damaged { offset: 8, reason: format!("log format version {version} is not supported") });
    }
    let mut at = LOG_HEADER_LEN;
    let mut last_seq: Option<u64> = None;
    loop {
        let problem = match read_frame(data, at) {
            FrameRead::End => return Ok(LogEnd::Clean),
            FrameRead::Frame(payload, next) => match decode_record(payload) {
                Ok(r) => {
                    if let Some(last) = last_seq {
                        if r.seq != last + 1 {
                            let reason = format!("sequence jumps from {last} to {}", r.seq);
                            return Ok(LogEnd::Damaged { offset: at as u64, reason });
                        }
                    }
                    last_seq = Some(r.seq);
                    visit(r)?;
                    at = next;
                    continue;
                }
                Err(e) => e,
            },
            FrameRead::Truncated => "record cut short".to_string(),
            FrameRead::Damaged(e) => e,
        };
        // A bad record is a torn tail only if no good record follows it.
        return Ok(if valid_record_after(data, at + 1, last_seq) {
            LogEnd::Damaged { offset: at as u64, reason: problem }
        } else {
            LogEnd::TornTail { offset: at as u64, reason: problem }
        });
    }
}

/// Whether a well-formed record newer than `after_seq` starts anywhere
/// at or after `from`.
fn valid_record_after(data: &[u8], from: usize, after_seq: Option<u64>) -> bool {
    (from..data.len().saturating_sub(8)).any(|at| match read_frame(data, at) {
        FrameRead::Frame(payload, _) => decode_record(payload).is_ok_and(|r| after_seq.is_none_or(|s| r.seq > s)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole file's records and its end, for checking the scan.
    #[derive(Debug)]
    struct LogScan {
        records: Vec<LoggedRecord>,
        end: LogEnd,
    }

    fn scan_log(data: &[u8]) -> LogScan {
        let mut records = Vec::new();
        let end = match for_each_record(data, |r| {
            records.push(r);
            Ok::<(), std::convert::Infallible>(())
        }) {
            Ok(end) => end,
            Err(never) => match never {},
        };
        LogScan { records, end }
    }

    fn log_of(n: u64) -> Vec<u8> {
        let mut data = log_header();
        for seq in 1..=n {
            let record =
                LogRecord::Execute { name: "put".into(), args: vec![seq.to_string().into_bytes(), b"x".to_vec()] };
            encode_record(seq, &record, &mut data);
        }
        data
    }

    #[test]
    fn records_round_trip() {
        let mut data = log_header();
        let records = vec![
            LogRecord::Define("CREATE TABLE t (id INT PRIMARY KEY)".into()),
            LogRecord::Transaction(vec![("a".into(), vec![b"1".to_vec()]), ("b".into(), vec![])]),
            LogRecord::Prepare { name: "q".into(), sql: "SELECT 1".into() },
            LogRecord::Deallocate("q".into()),
            LogRecord::FunctionLoad { code: "#!lua name=l\n".into(), replace: true },
            LogRecord::FunctionDelete("l".into()),
            LogRecord::FunctionFlush,
        ];
        for (i, r) in records.iter().enumerate() {
            encode_record(i as u64 + 1, r, &mut data);
        }
        let scan = scan_log(&data);
        assert_eq!(scan.end, LogEnd::Clean);
        assert_eq!(scan.records.iter().map(|r| r.record.clone()).collect::<Vec<_>>(), records);
    }

    #[test]
    fn a_cut_tail_is_torn_and_a_flipped_byte_in_the_middle_is_damage() {
        let data = log_of(50);
        for cut in [data.len() - 1, data.len() - 5, data.len() - 20] {
            let scan = scan_log(&data[..cut]);
            assert_eq!(scan.records.len(), 49, "cut at {cut}");
            assert!(matches!(scan.end, LogEnd::TornTail { .. }), "{:?}", scan.end);
        }
        let mut flipped = data.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        let scan = scan_log(&flipped);
        assert!(matches!(scan.end, LogEnd::Damaged { .. }), "{:?}", scan.end);
        assert!(scan.records.len() < 50);
        // The last record damaged in place is a torn tail.
        let mut last = data.clone();
        let n = last.len();
        last[n - 2] ^= 1;
        assert!(matches!(scan_log(&last).end, LogEnd::TornTail { .. }));
    }

    #[test]
    fn records_are_visited_in_order_and_a_visitor_error_stops_the_scan() {
        let data = log_of(50);
        let mut seen = Vec::new();
        let end = for_each_record(&data, |r| {
            seen.push(r.seq);
            if r.seq == 20 {
                return Err("stop");
            }
            Ok(())
        });
        assert_eq!(end.unwrap_err(), "stop");
        assert_eq!(seen, (1..=20).collect::<Vec<u64>>());
        let mut all = Vec::new();
        let end = for_each_record(&data, |r| {
            all.push(r.seq);
            Ok::<(), ()>(())
        });
        assert!(matches!(end, Ok(LogEnd::Clean)));
        assert_eq!(all, scan_log(&data).records.iter().map(|r| r.seq).collect::<Vec<_>>());
    }
}
