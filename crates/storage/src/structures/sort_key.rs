//! Order-preserving keys for ordered structures (the ranked groups of a
//! top-N view, the entries of a row index), encoded as bytes whose plain
//! byte order is the structure's order. A key of a few numbers then sits
//! inline in 32 bytes and compares with one `memcmp`, where a key of
//! values took a slot per part and compared through SQL's comparison.
//!
//! Each part is a header byte, then its payload:
//! - The header places NULLs (first or last, whatever the direction) and
//!   orders the kinds of values as `Value::sql_cmp` does. Integers and
//!   floats share one kind, ordered by their numeric value. A range bound
//!   on one finds the other: a float bound takes in every integer that
//!   rounds to it, as `sql_cmp` compares them. An integer and a float that
//!   are equal get different keys, and an integer bound past 2^53 over
//!   floats is exact where `sql_cmp` rounds; the binder gives each
//!   position one type, so only bounds ever mix the two.
//! - A descending part has its payload's bits inverted.
//! - The row identity comes last, so equal sort values keep distinct
//!   entries.
//! - A key whose last parts a reader decodes (a ranking's group values,
//!   a row index's identity) ends with their length in one byte, so they
//!   are found without walking the parts before them. Those parts already
//!   tell any two entries of a set apart, so the byte never decides an
//!   order.
//! - Range bounds end in a byte below (`MIN`) or above (`MAX`) every
//!   header, so a bound on the first part's value covers every entry with
//!   that value, whatever follows it.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::Bound;

use aotdb_planner::{SortSpec, Value};
use smallvec::SmallVec;

use crate::row::RowId;

/// Which rows of a view a view row is made of: one slot per join step,
/// `NO_ROW` where a LEFT JOIN found nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    One(RowId),
    Many(Box<[RowId]>),
}

pub const NO_ROW: RowId = RowId::MAX;

impl Identity {
    pub fn from_ids(ids: &[RowId]) -> Identity {
        match ids {
            [one] => Identity::One(*one),
            many => Identity::Many(many.into()),
        }
    }

    pub fn ids(&self) -> &[RowId] {
        match self {
            Identity::One(id) => std::slice::from_ref(id),
            Identity::Many(ids) => ids,
        }
    }
}

// Headers. Bounds only: below and above every other header.
const MIN: u8 = 0x00;
const MAX: u8 = 0xFF;
const NULL_FIRST: u8 = 0x01;
const NULL_LAST: u8 = 0xF0;
const ID_ONE: u8 = 0xF4;
const ID_MANY: u8 = 0xF5;
// Kinds of values in `sql_cmp`'s order, ascending; a descending part's
// header is `DESCENDING_BASE - kind` (with the low nibble set to tell the
// two apart), which reverses the kinds' order.
const BOOL: u8 = 0x10;
const NUMBER: u8 = 0x20;
const TEXT: u8 = 0x30;
const BYTES: u8 = 0x40;
const TIMESTAMP: u8 = 0x50;
const DESCENDING_BASE: u8 = 0xB8;

/// A number's payload: its value rounded to a float, in bits that order
/// as the floats do, then a two-byte tail that orders the integers which
/// round to the same float (beyond 2^53) and tells an integer from a
/// float. The tail is `(offset + TAIL_ZERO) << 1 | is_integer`, where
/// `offset` is the integer minus its rounded value (at most 1,024 apart).
const NUMBER_LEN: usize = 10;
const TAIL_ZERO: i64 = 2048;

/// The bytes a key keeps without an allocation: a row index's two
/// numbers and row slot, or a ranking's number and one-number group.
const INLINE: usize = 30;

/// A key's last byte is the length of its tail, or this when the tail is
/// longer (read by walking every part).
const LONG_TAIL: u8 = 0xFF;

/// An encoded key. Equal keys have equal bytes.
#[derive(Clone)]
pub struct OrderedKey(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl OrderedKey {
    pub fn from_bytes(bytes: &[u8]) -> OrderedKey {
        if bytes.len() <= INLINE {
            let mut inline = [0u8; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            OrderedKey(Repr::Inline { len: bytes.len() as u8, bytes: inline })
        } else {
            OrderedKey(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(bytes) => bytes,
        }
    }

    /// Heap bytes beyond the key's own slot (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(bytes) => crate::memory::allocation(bytes.len()),
        }
    }

    /// The row identity the key ends with, if it has one.
    pub fn identity(&self) -> Option<Identity> {
        let (header, payload) = self.tail_parts().last()?;
        match header {
            ID_ONE => Some(Identity::One(read_u32(payload, 0)?)),
            ID_MANY => {
                let ids: Option<Vec<RowId>> =
                    (0..payload.len().saturating_sub(4) / 4).map(|i| read_u32(payload, 4 + 4 * i)).collect();
                Some(Identity::Many(ids?.into_boxed_slice()))
            }
            _ => None,
        }
    }

    /// The values of the key's last `n` parts (a ranking's group values),
    /// on the stack for the usual few.
    pub fn trailing_values(&self, n: usize) -> SmallVec<[Value; 4]> {
        // The tail holds just these, unless it was too long to mark.
        let mut values: SmallVec<[Value; 4]> = self.tail_parts().map(|(h, p)| decode_value(h, p)).collect();
        if values.len() > n {
            values.drain(..values.len() - n);
        }
        values
    }

    /// Every value of the key, in order (identities left out).
    #[cfg(test)]
    fn values(&self) -> Vec<Value> {
        let body = self.as_bytes().split_last().map_or(&[][..], |(_, body)| body);
        parts(body).filter(|(h, _)| !matches!(*h, ID_ONE | ID_MANY)).map(|(h, p)| decode_value(h, p)).collect()
    }

    /// The parts of the key's tail (see `KeyBuf::begin_tail`), found from
    /// its end; every part when the tail was too long to mark.
    fn tail_parts(&self) -> impl Iterator<Item = (u8, &[u8])> {
        let (body, tail) = match self.as_bytes().split_last() {
            Some((&len, body)) if len != LONG_TAIL => {
                let start = body.len().saturating_sub(len as usize);
                (body, start)
            }
            Some((_, body)) => (body, 0),
            None => (&[][..], 0),
        };
        parts(&body[tail..])
    }
}

impl PartialEq for OrderedKey {
    fn eq(&self, other: &OrderedKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for OrderedKey {}

impl Ord for OrderedKey {
    fn cmp(&self, other: &OrderedKey) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for OrderedKey {
    fn partial_cmp(&self, other: &OrderedKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Sets of keys are searched by a key being built (`KeyBuf::as_bytes`).
impl Borrow<[u8]> for OrderedKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for OrderedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.as_bytes().split_last().map_or(&[][..], |(_, body)| body);
        let mut list = f.debug_list();
        for (header, payload) in parts(body) {
            match header {
                ID_ONE | ID_MANY => list.entry(&self.identity()),
                _ => list.entry(&decode_value(header, payload)),
            };
        }
        list.finish()
    }
}

/// A key being built, on the stack for the usual sizes.
#[derive(Debug, Default)]
pub struct KeyBuf {
    bytes: SmallVec<[u8; 64]>,
    tail: usize,
}

impl KeyBuf {
    pub fn new() -> KeyBuf {
        KeyBuf::default()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.tail = 0;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn key(&self) -> OrderedKey {
        OrderedKey::from_bytes(&self.bytes)
    }

    /// Starts the key's tail: the parts a reader decodes (a ranking's
    /// group values, a row identity). They end the key's order (no two
    /// entries share them), so the key can end with their length after
    /// them and a reader finds them without walking the parts before.
    pub fn begin_tail(&mut self) {
        self.tail = self.bytes.len();
    }

    /// Ends the key with the length of its tail.
    pub fn end_tail(&mut self) {
        let len = self.bytes.len() - self.tail;
        self.bytes.push(u8::try_from(len).ok().filter(|l| *l != LONG_TAIL).unwrap_or(LONG_TAIL));
    }

    /// Appends a value ordered by `spec`.
    pub fn push_sorted(&mut self, value: &Value, spec: &SortSpec) {
        self.push_value(value, spec.descending, spec.nulls_first);
    }

    pub fn push_value(&mut self, value: &Value, descending: bool, nulls_first: bool) {
        self.push_part(value, descending, nulls_first, Tie::Exact);
    }

    pub fn push_identity(&mut self, identity: &Identity) {
        match identity {
            Identity::One(id) => {
                self.bytes.push(ID_ONE);
                self.bytes.extend_from_slice(&id.to_be_bytes());
            }
            Identity::Many(ids) => {
                // A view's row identity has a slot per join step: far
                // fewer than a u32 counts.
                let count = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                self.bytes.push(ID_MANY);
                self.bytes.extend_from_slice(&count.to_be_bytes());
                for id in ids.iter().take(count as usize) {
                    self.bytes.extend_from_slice(&id.to_be_bytes());
                }
            }
        }
    }

    /// Appends a range bound on `value`: below (`high` false) or above
    /// every entry whose part equals it, integer or float alike.
    fn push_bound(&mut self, value: &Value, spec: &SortSpec, high: bool) {
        // In index order, a descending part's "below" is its value's
        // largest encoding.
        let tie = if high != spec.descending { Tie::Highest } else { Tie::Lowest };
        self.push_part(value, spec.descending, spec.nulls_first, tie);
        self.bytes.push(if high { MAX } else { MIN });
    }

    fn push_part(&mut self, value: &Value, descending: bool, nulls_first: bool, tie: Tie) {
        let header = |kind: u8| if descending { DESCENDING_BASE - kind } else { kind };
        // Fixed-width parts are made whole on the stack and appended at
        // once.
        let mut fixed = [0u8; 1 + NUMBER_LEN];
        let len = match value {
            Value::Null => {
                self.bytes.push(if nulls_first { NULL_FIRST } else { NULL_LAST });
                return;
            }
            Value::Bool(b) => {
                fixed[1] = u8::from(*b);
                fixed[0] = header(BOOL);
                2
            }
            Value::Int(i) => {
                let (rounded, offset) = split_integer(*i);
                let tail = match tie {
                    Tie::Lowest => (offset + TAIL_ZERO) << 1,
                    Tie::Exact | Tie::Highest => ((offset + TAIL_ZERO) << 1) | 1,
                };
                fixed[0] = header(NUMBER);
                fixed[1..9].copy_from_slice(&float_bits(rounded).to_be_bytes());
                fixed[9..11].copy_from_slice(&(tail as u16).to_be_bytes());
                11
            }
            Value::Float(x) => {
                // A float equals (by `sql_cmp`) every integer that rounds
                // to it, so its bounds take in all of their tails.
                let tail = match tie {
                    Tie::Exact => TAIL_ZERO << 1,
                    Tie::Lowest => 0,
                    Tie::Highest => i64::from(u16::MAX),
                };
                fixed[0] = header(NUMBER);
                fixed[1..9].copy_from_slice(&float_bits(*x).to_be_bytes());
                fixed[9..11].copy_from_slice(&(tail as u16).to_be_bytes());
                11
            }
            Value::Timestamp(t) => {
                fixed[0] = header(TIMESTAMP);
                fixed[1..9].copy_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
                9
            }
            Value::Text(s) => return self.push_string(header(TEXT), s.as_bytes(), descending),
            Value::Bytes(b) => return self.push_string(header(BYTES), b, descending),
        };
        if descending {
            for b in &mut fixed[1..len] {
                *b = !*b;
            }
        }
        self.bytes.extend_from_slice(&fixed[..len]);
    }

    /// Text and byte strings: a zero byte becomes `00 FF`, and `00 00`
    /// ends the string, so a string sorts before every longer one it
    /// begins.
    fn push_string(&mut self, header: u8, bytes: &[u8], descending: bool) {
        let flip = if descending { 0xFF } else { 0 };
        self.bytes.reserve(bytes.len() + 3);
        self.bytes.push(header);
        for &b in bytes {
            self.bytes.push(b ^ flip);
            if b == 0 {
                self.bytes.push(0xFF ^ flip);
            }
        }
        self.bytes.extend_from_slice(&[flip, flip]);
    }
}

/// Which encoding of a number a part takes: its own, or (for a bound)
/// the lowest or highest of every number equal to it.
#[derive(Clone, Copy)]
enum Tie {
    Exact,
    Lowest,
    Highest,
}

/// Float bits that order as the floats do under `sql_cmp`: -0 equals 0,
/// and NaN equals NaN and is above every other value.
fn float_bits(x: f64) -> u64 {
    let x = if x == 0.0 {
        0.0
    } else if x.is_nan() {
        f64::NAN
    } else {
        x
    };
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// An integer as the float it rounds to and its distance from it (zero
/// up to 2^53, where every integer is a float).
fn split_integer(i: i64) -> (f64, i64) {
    let rounded = i as f64;
    if i.unsigned_abs() <= 1 << 53 {
        return (rounded, 0);
    }
    // 2^63 itself is past i64: count from it as an i128.
    (rounded, (i128::from(i) - float_to_i128(rounded)) as i64)
}

/// The integer a float that is one (as `split_integer` makes) stands for.
fn join_integer(rounded: f64, offset: i64) -> i64 {
    if offset == 0 && rounded.abs() <= (1u64 << 53) as f64 {
        return rounded as i64;
    }
    (float_to_i128(rounded) + i128::from(offset)) as i64
}

fn float_to_i128(x: f64) -> i128 {
    if x >= (1u64 << 63) as f64 {
        i128::from(i64::MAX) + 1
    } else {
        i128::from(x as i64)
    }
}

fn float_from_bits(ordered: u64) -> f64 {
    f64::from_bits(if ordered >> 63 == 1 { ordered & !(1 << 63) } else { !ordered })
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The parts of an encoded key: each header with its payload (still
/// inverted if descending).
fn parts(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let header = *bytes.get(at)?;
        let rest = &bytes[at + 1..];
        let len = part_len(header, rest);
        at += 1 + len;
        Some((header, &rest[..len]))
    })
}

/// The length of the payload after `header`, at the start of `rest` (no
/// longer than `rest`).
#[inline]
fn part_len(header: u8, rest: &[u8]) -> usize {
    let len = match header {
        NULL_FIRST | NULL_LAST | MIN | MAX => 0,
        ID_ONE => 4,
        ID_MANY => 4usize.saturating_add(4usize.saturating_mul(read_u32(rest, 0).map_or(0, |n| n as usize))),
        _ => match kind_of(header) {
            (BOOL, _) => 1,
            (NUMBER, _) => NUMBER_LEN,
            (TIMESTAMP, _) => 8,
            (_, descending) => {
                // An escaped string: up to and including `00 00` (`FF FF`
                // when inverted).
                let flip = if descending { 0xFF } else { 0 };
                let mut i = 0;
                loop {
                    match (rest.get(i).map(|b| b ^ flip), rest.get(i + 1).map(|b| b ^ flip)) {
                        (Some(0), Some(0)) => break i + 2,
                        (Some(0), Some(_)) => i += 2,
                        (Some(_), _) => i += 1,
                        (None, _) => break rest.len(),
                    }
                }
            }
        },
    };
    len.min(rest.len())
}

/// A value header's kind and whether it is descending.
fn kind_of(header: u8) -> (u8, bool) {
    match DESCENDING_BASE.checked_sub(header) {
        Some(kind) if header & 0x0F == DESCENDING_BASE & 0x0F => (kind, true),
        _ => (header, false),
    }
}

/// A number's payload (see `NUMBER_LEN`), its bytes inverted if `flip`
/// is 0xFF.
#[inline]
fn decode_number(payload: &[u8], flip: u8) -> Option<Value> {
    let bits =
        u64::from_be_bytes(<[u8; 8]>::try_from(payload.get(..8)?).ok()?) ^ (u64::from(flip) * 0x0101_0101_0101_0101);
    let &[t0, t1] = payload.get(8..NUMBER_LEN)? else { return None };
    let rounded = float_from_bits(bits);
    let tail = i64::from(u16::from_be_bytes([t0 ^ flip, t1 ^ flip]));
    Some(if tail & 1 == 1 { Value::Int(join_integer(rounded, (tail >> 1) - TAIL_ZERO)) } else { Value::Float(rounded) })
}

/// The value a part encodes. Ascending numbers (a ranking's group values,
/// mostly) are decoded in line; the rest out of line.
#[inline]
fn decode_value(header: u8, payload: &[u8]) -> Value {
    if header == NUMBER {
        return decode_number(payload, 0).unwrap_or(Value::Null);
    }
    decode_other(header, payload)
}

fn decode_other(header: u8, payload: &[u8]) -> Value {
    let (kind, descending) = kind_of(header);
    let flip = if descending { 0xFF } else { 0 };
    let word = |at: usize| {
        payload
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(|w| u64::from_be_bytes(w) ^ (flip as u64 * 0x0101_0101_0101_0101))
    };
    match kind {
        BOOL => payload.first().map_or(Value::Null, |b| Value::Bool(b ^ flip != 0)),
        NUMBER => decode_number(payload, flip).unwrap_or(Value::Null),
        TIMESTAMP => word(0).map_or(Value::Null, |w| Value::Timestamp((w ^ (1 << 63)) as i64)),
        TEXT | BYTES => {
            let mut raw = Vec::with_capacity(payload.len());
            let mut i = 0;
            while i + 1 < payload.len() {
                match (payload[i] ^ flip, payload[i + 1] ^ flip) {
                    (0, 0) => break,
                    (0, _) => {
                        raw.push(0);
                        i += 2;
                    }
                    (b, _) => {
                        raw.push(b);
                        i += 1;
                    }
                }
            }
            if kind == BYTES {
                Value::Bytes(std::sync::Arc::new(raw.into_boxed_slice()))
            } else {
                String::from_utf8(raw).map_or(Value::Null, |s| Value::text(&s))
            }
        }
        _ => Value::Null,
    }
}

/// A key: the sort values then the identity.
#[cfg(test)]
pub fn ordered_key(values: &[Value], specs: &[SortSpec], identity: &Identity) -> OrderedKey {
    let specs = &specs[..values.len().min(specs.len())];
    let mut values = values.iter();
    try_ordered_key(specs, identity, |_| values.next().cloned().ok_or(()))
        .unwrap_or_else(|()| OrderedKey::from_bytes(&[]))
}

/// A key: the value of each sort spec (`value` computes it), then the
/// identity.
pub fn try_ordered_key<E>(
    specs: &[SortSpec],
    identity: &Identity,
    mut value: impl FnMut(&SortSpec) -> Result<Value, E>,
) -> Result<OrderedKey, E> {
    let mut buf = KeyBuf::new();
    for s in specs {
        buf.push_sorted(&value(s)?, s);
    }
    buf.begin_tail();
    buf.push_identity(identity);
    buf.end_tail();
    Ok(buf.key())
}

/// Bounds, in index order, for the entries whose first sort value lies in
/// the SQL range `lower..upper` (each `(value, inclusive)`); NULLs never
/// qualify.
pub fn range_bounds(
    spec: &SortSpec,
    lower: Option<(Value, bool)>,
    upper: Option<(Value, bool)>,
) -> (Bound<OrderedKey>, Bound<OrderedKey>) {
    let bound = |v: &Value, high: bool| {
        let mut buf = KeyBuf::new();
        buf.push_bound(v, spec, high);
        Bound::Excluded(buf.key())
    };
    // In index order, "small" values come first for ASC and last for DESC.
    let (first, last) = if spec.descending { (upper, lower) } else { (lower, upper) };
    let start = match first {
        // Inclusive: from below every entry equal to the value.
        Some((v, inclusive)) => bound(&v, !inclusive),
        // No bound on this side: start after the NULLs if they sort first.
        None if spec.nulls_first => bound(&Value::Null, true),
        None => Bound::Unbounded,
    };
    let end = match last {
        Some((v, inclusive)) => bound(&v, inclusive),
        None if !spec.nulls_first => bound(&Value::Null, false),
        None => Bound::Unbounded,
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aotdb_planner::Expr;
    use std::collections::BTreeSet;

    fn spec(descending: bool, nulls_first: bool) -> SortSpec {
        SortSpec { expr: Expr::Column(0), descending, nulls_first }
    }

    /// The order the keys must follow: each part by `sql_cmp` with its
    /// direction and NULL placement (`sql_cmp`'s order of kinds for
    /// values of different kinds), then the identity.
    fn reference(a: &[Value], b: &[Value], specs: &[SortSpec]) -> Ordering {
        for ((x, y), s) in a.iter().zip(b).zip(specs) {
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if s.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if s.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                    if s.descending {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    fn sample_values() -> Vec<Value> {
        let mut v = vec![Value::Null, Value::Bool(false), Value::Bool(true)];
        for i in [i64::MIN, -1_000_000_007, -3, -1, 0, 1, 2, 3, 1 << 53, (1 << 53) + 1, i64::MAX - 1, i64::MAX] {
            v.push(Value::Int(i));
        }
        for x in [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 0.5, 1.0, 2.5, 1e300, f64::INFINITY, f64::NAN] {
            v.push(Value::Float(x));
        }
        for s in ["", "a", "a\0", "a\0b", "ab", "b", "\u{e9}", "zzz"] {
            v.push(Value::text(s));
        }
        for b in [&b""[..], b"\0", b"\0\0", b"\x01", b"\xff"] {
            v.push(Value::Bytes(std::sync::Arc::new(b.to_vec().into_boxed_slice())));
        }
        for t in [i64::MIN, -1, 0, 1_700_000_000_000_000, i64::MAX] {
            v.push(Value::Timestamp(t));
        }
        v
    }

    /// Integers beyond 2^53 meet floats inexactly in `sql_cmp` (it rounds
    /// the integer); the keys order them exactly instead. An integer and
    /// a float that are equal are told apart by their keys (a position's
    /// values all have the statement's one type; only bounds mix them).
    fn comparable_exactly(a: &Value, b: &Value) -> bool {
        let big = |v: &Value| matches!(v, Value::Int(i) if i.unsigned_abs() > 1 << 53);
        let mixed = matches!((a, b), (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)));
        !(mixed && (big(a) || big(b) || a.sql_cmp(b) == Some(Ordering::Equal)))
    }

    #[test]
    fn byte_order_is_sql_order_in_every_direction() {
        let values = sample_values();
        for (d, n) in [(false, false), (false, true), (true, true), (true, false)] {
            let specs = [spec(d, n), spec(!d, n)];
            for a in &values {
                for b in &values {
                    if !comparable_exactly(a, b) {
                        continue;
                    }
                    for tail in [Value::Int(1), Value::text("x")] {
                        let ka = ordered_key(&[a.clone(), tail.clone()], &specs, &Identity::One(1));
                        let kb = ordered_key(&[b.clone(), Value::Int(2)], &specs, &Identity::One(1));
                        let want = reference(&[a.clone(), tail.clone()], &[b.clone(), Value::Int(2)], &specs);
                        if want != Ordering::Equal {
                            assert_eq!(ka.cmp(&kb), want, "{a:?} {b:?} desc={d} nulls_first={n}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn integers_past_float_precision_keep_their_order() {
        let s = [spec(false, false)];
        let keys: Vec<OrderedKey> =
            [(1i64 << 53) - 1, 1 << 53, (1 << 53) + 1, (1 << 53) + 2, i64::MAX - 2, i64::MAX - 1, i64::MAX]
                .iter()
                .map(|i| ordered_key(&[Value::Int(*i)], &s, &Identity::One(0)))
                .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn values_and_identities_decode_to_what_was_encoded() {
        for v in sample_values() {
            for d in [false, true] {
                let specs = [spec(d, false), spec(false, true)];
                for id in [Identity::One(7), Identity::Many(vec![3, NO_ROW, 0].into_boxed_slice())] {
                    let key = ordered_key(&[v.clone(), Value::text("g\0")], &specs, &id);
                    assert_eq!(key.identity(), Some(id.clone()));
                    let back = key.values();
                    let want = match &v {
                        // -0 is stored as the 0 it equals.
                        Value::Float(x) if *x == 0.0 => Value::Float(0.0),
                        other => other.clone(),
                    };
                    match (&back[0], &want) {
                        (Value::Float(a), Value::Float(b)) if a.is_nan() => assert!(b.is_nan()),
                        (got, want) => assert_eq!(got, want),
                    }
                    assert_eq!(back[1], Value::text("g\0"));
                }
                let mut buf = KeyBuf::new();
                buf.push_value(&v, d, false);
                buf.begin_tail();
                buf.push_value(&Value::Int(-5), false, false);
                buf.end_tail();
                assert_eq!(buf.key().trailing_values(1)[0], Value::Int(-5));
            }
        }
    }

    #[test]
    fn short_keys_stay_inline() {
        assert_eq!(std::mem::size_of::<OrderedKey>(), 32);
        let s = [spec(true, false), spec(true, false)];
        let key = ordered_key(&[Value::Timestamp(1), Value::Int(2)], &s, &Identity::One(3));
        assert_eq!(key.heap_bytes(), 0);
        let long = ordered_key(&[Value::text(&"x".repeat(40))], &s, &Identity::One(3));
        assert!(long.heap_bytes() > 0);
        assert_eq!(long.values(), vec![Value::text(&"x".repeat(40))]);
        assert_eq!(long.identity(), Some(Identity::One(3)));
        // A tail too long to mark is found by walking every part.
        let mut buf = KeyBuf::new();
        buf.push_value(&Value::Int(9), true, false);
        buf.begin_tail();
        buf.push_value(&Value::Int(1), false, false);
        buf.push_value(&Value::text(&"y".repeat(300)), false, false);
        buf.end_tail();
        assert_eq!(buf.as_bytes().last(), Some(&LONG_TAIL));
        assert_eq!(buf.key().trailing_values(2).to_vec(), vec![Value::Int(1), Value::text(&"y".repeat(300))]);
    }

    /// The values a range finds, as sorted names (an integer and a float
    /// that are equal come in either order).
    fn run(s: &SortSpec, lower: Option<(Value, bool)>, upper: Option<(Value, bool)>) -> Vec<String> {
        let mut set = BTreeSet::new();
        let values = [
            Value::Int(1),
            Value::Float(2.0),
            Value::Int(2),
            Value::Float(2.5),
            Value::Int(3),
            Value::Null,
            Value::Int(5),
        ];
        for (i, v) in values.into_iter().enumerate() {
            set.insert(ordered_key(&[v], std::slice::from_ref(s), &Identity::One(i as u32)));
        }
        let (lo, hi) = range_bounds(s, lower, upper);
        names(set.range((lo, hi)).map(|k| k.values()[0].clone()).collect())
    }

    fn names(values: Vec<Value>) -> Vec<String> {
        let mut names: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        names.sort();
        names
    }

    #[test]
    fn ranges_in_every_direction_cover_equal_numbers_and_exclude_nulls() {
        let (i, f) = (Value::Int, Value::Float);
        for (d, n) in [(false, false), (false, true), (true, true), (true, false)] {
            let s = spec(d, n);
            let from_2 = names(vec![f(2.0), i(2), f(2.5), i(3), i(5)]);
            assert_eq!(run(&s, Some((i(2), true)), None), from_2, "desc={d} nulls_first={n} >=2");
            assert_eq!(run(&s, Some((f(2.0), true)), None), from_2, "desc={d} nulls_first={n} >=2.0");
            let inside = names(vec![f(2.5), i(3)]);
            assert_eq!(run(&s, Some((i(2), false)), Some((i(5), false))), inside, "desc={d} (2,5)");
            assert_eq!(run(&s, Some((f(2.0), false)), Some((f(5.0), false))), inside, "desc={d} (2.0,5.0)");
            let to_2 = names(vec![i(1), f(2.0), i(2)]);
            assert_eq!(run(&s, None, Some((i(2), true))), to_2, "desc={d} nulls_first={n} <=2");
            assert_eq!(run(&s, None, Some((f(2.0), true))), to_2, "desc={d} nulls_first={n} <=2.0");
            assert_eq!(run(&s, None, Some((i(2), false))), names(vec![i(1)]), "desc={d} nulls_first={n} <2");
            assert!(run(&s, None, Some((i(1), false))).is_empty(), "desc={d} nulls_first={n} <1");
        }
    }

    #[test]
    fn float_bounds_take_in_the_integers_that_round_to_them() {
        let big = 1i64 << 53;
        let entries: Vec<Value> = (-2..8).map(|d| Value::Int(big + d)).collect();
        for (d, n) in [(false, false), (false, true), (true, true), (true, false)] {
            let s = spec(d, n);
            let mut set = BTreeSet::new();
            for (i, v) in entries.iter().enumerate() {
                set.insert(ordered_key(std::slice::from_ref(v), std::slice::from_ref(&s), &Identity::One(i as u32)));
            }
            for bound in [big as f64, (big + 4) as f64, (big + 6) as f64] {
                let b = Value::Float(bound);
                for (lower, upper) in [
                    (Some((b.clone(), true)), None),
                    (Some((b.clone(), false)), None),
                    (None, Some((b.clone(), true))),
                    (None, Some((b.clone(), false))),
                ] {
                    let keep = |v: &Value| {
                        let ok = |(x, inclusive): &(Value, bool), want: Ordering| match v.sql_cmp(x) {
                            Some(Ordering::Equal) => *inclusive,
                            Some(o) => o == want,
                            None => false,
                        };
                        lower.as_ref().is_none_or(|l| ok(l, Ordering::Greater))
                            && upper.as_ref().is_none_or(|u| ok(u, Ordering::Less))
                    };
                    let want = names(entries.iter().filter(|v| keep(v)).cloned().collect());
                    let (lo, hi) = range_bounds(&s, lower.clone(), upper.clone());
                    let got = names(set.range((lo, hi)).map(|k| k.values()[0].clone()).collect());
                    assert_eq!(got, want, "desc={d} nulls_first={n} {lower:?} {upper:?}");
                }
            }
        }
    }

    #[test]
    fn stray_headers_decode_without_panicking() {
        for header in 0..=u8::MAX {
            for tail in [&[][..], &[0][..], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..], &[0, 0, 0, 9][..]] {
                let mut bytes = vec![header];
                bytes.extend_from_slice(tail);
                let key = OrderedKey::from_bytes(&bytes);
                let _ = (key.identity(), key.trailing_values(2), format!("{key:?}"));
            }
        }
    }
}
