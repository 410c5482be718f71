//! Bytes from a client: framing (with small limits, so the limit checks
//! are reached) and command parsing must never panic, whatever arrives.
#![no_main]

use aotdb_proto::{next_request, Command, Limits};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bulk_len: 4096, max_args: 64, max_inline_len: 1024, max_request_len: 64 * 1024 };
    let mut buf = BytesMut::from(data);
    // Each call takes a request off the front or stops.
    while let Ok(Some(args)) = next_request(&mut buf, &limits) {
        if !args.is_empty() {
            let _ = Command::parse(args);
        }
    }
});
