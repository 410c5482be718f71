//! Run-time values: their SQL comparison (three-valued, NULL-aware), a total
//! order and hash for index keys, and conversion to and from the text forms
//! PostgreSQL uses.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use arcstr::ArcStr;

use crate::error::Error;
use crate::timestamp;
use crate::types::DataType;

/// One SQL value. Every integer width is an `Int`; REAL and DOUBLE
/// PRECISION are both `Float` (REAL values are rounded to `f32` when stored).
///
/// Text and bytes are behind thin shared pointers so a value is 16 bytes:
/// rows, keys and view entries are arrays of values, and their size is
/// most of the server's memory.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(ArcStr),
    Bytes(Arc<Box<[u8]>>),
    /// Microseconds since 1970-01-01 00:00:00 (no time zone).
    Timestamp(i64),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn text(s: &str) -> Value {
        Value::Text(ArcStr::from(s))
    }

    /// SQL comparison: `None` when either side is NULL (the result is
    /// unknown). Integers and floats compare numerically; text bytewise
    /// (the C collation).
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => Some(float_cmp(*a, *b)),
            (Value::Int(a), Value::Float(b)) => Some(float_cmp(*a as f64, *b)),
            (Value::Float(a), Value::Int(b)) => Some(float_cmp(*a, *b as f64)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Value::Bytes(a), Value::Bytes(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            // The binder only lets comparable types meet; anything else is
            // ordered by kind so the result is at least deterministic.
            (a, b) => Some(a.kind_rank().cmp(&b.kind_rank())),
        }
    }

    /// SQL equality: `None` when either side is NULL.
    pub fn sql_eq(&self, other: &Value) -> Option<bool> {
        self.sql_cmp(other).map(|o| o == Ordering::Equal)
    }

    fn kind_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::Text(_) => 3,
            Value::Bytes(_) => 4,
            Value::Timestamp(_) => 5,
        }
    }

    /// The text PostgreSQL prints for this value (NULL prints as nothing).
    pub fn to_pg_text(&self) -> String {
        self.to_string()
    }
}

/// Floats order as PostgreSQL orders them: NaN equals NaN and is greater
/// than every other value, and -0 equals 0.
fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Index-key equality: NULL equals NULL here (the planner never probes a
/// unique index with NULL, and grouping treats NULLs as one group, as SQL
/// does).
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        // Two integers (ids, the usual key) compare as integers, without
        // the general order's dispatch.
        if let (Value::Int(a), Value::Int(b)) = (self, other) {
            return a == b;
        }
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

/// A total order for index keys: NULL after everything (PostgreSQL's
/// default for ascending order), then by the SQL order.
impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (a, b) => a.sql_cmp(b).unwrap_or(Ordering::Equal),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            Value::Bool(b) => state.write_u8(2 + *b as u8),
            // Integers and integral floats hash alike because they compare
            // equal.
            Value::Int(i) => state.write_i64(*i),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    state.write_i64(*f as i64)
                } else if f.is_nan() {
                    state.write_u64(u64::MAX)
                } else {
                    state.write_u64(f.to_bits())
                }
            }
            Value::Text(s) => s.as_bytes().hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Timestamp(t) => {
                state.write_u8(5);
                state.write_i64(*t)
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(true) => f.write_str("t"),
            Value::Bool(false) => f.write_str("f"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_float(*x)),
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                for byte in b.iter() {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
            Value::Timestamp(t) => f.write_str(&timestamp::format(*t)),
        }
    }
}

/// Shortest text that reads back as the same double, with PostgreSQL's
/// spellings of the special values.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{x}")
    }
}

/// The value a REAL result shows: the shortest decimal that reads back as
/// the same `f32`, held as the `f64` nearest to it (so `0.1::real` prints
/// `0.1`, as in PostgreSQL, not the `f32`'s exact binary expansion).
pub fn real_for_output(v: Value) -> Value {
    match v {
        Value::Float(x) if x.is_finite() => {
            let shortest = format!("{}", x as f32);
            Value::Float(shortest.parse().unwrap_or(x))
        }
        other => other,
    }
}

/// Parses a client's argument text into a value of type `ty`, following
/// PostgreSQL's input rules (surrounding blanks allowed for numbers and
/// booleans, sign and leading zeros allowed for integers).
pub fn parse_value(text: &[u8], ty: DataType) -> Result<Value, ParseValueError> {
    let bad = || ParseValueError { ty };
    match ty {
        DataType::Bytea => return Ok(Value::Bytes(Arc::new(Box::from(text)))),
        DataType::Text | DataType::Varchar(_) => {
            let s = std::str::from_utf8(text).map_err(|_| bad())?;
            return Ok(Value::Text(ArcStr::from(s)));
        }
        DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            if let Some(v) = plain_integer(text) {
                let (lo, hi) = ty.integer_range();
                return if v < lo || v > hi { Err(bad()) } else { Ok(Value::Int(v)) };
            }
        }
        _ => {}
    }
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    let trimmed = s.trim();
    match ty {
        DataType::SmallInt | DataType::Integer | DataType::BigInt => {
            let v: i64 = trimmed.parse().map_err(|_| bad())?;
            let (lo, hi) = ty.integer_range();
            if v < lo || v > hi {
                return Err(bad());
            }
            Ok(Value::Int(v))
        }
        DataType::Real | DataType::Double => {
            let v = parse_float(trimmed).ok_or_else(bad)?;
            Ok(Value::Float(if ty == DataType::Real { v as f32 as f64 } else { v }))
        }
        DataType::Boolean => parse_bool(trimmed).map(Value::Bool).ok_or_else(bad),
        DataType::Timestamp => timestamp::parse(trimmed).map(Value::Timestamp).ok_or_else(bad),
        DataType::Text | DataType::Varchar(_) | DataType::Bytea => unreachable!("handled above"),
    }
}

/// The value of an argument that is only an optional minus sign and up to
/// 18 digits (every id and amount a client sends), which cannot overflow;
/// anything else goes through the general parser.
fn plain_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if negative { -v } else { v })
}

fn parse_float(s: &str) -> Option<f64> {
    let is = |word: &str| s.eq_ignore_ascii_case(word);
    if is("nan") {
        Some(f64::NAN)
    } else if is("infinity") || is("+infinity") || is("inf") || is("+inf") {
        Some(f64::INFINITY)
    } else if is("-infinity") || is("-inf") {
        Some(f64::NEG_INFINITY)
    } else {
        // Rust accepts "inf"/"nan" spellings we handled above and
        // nothing else unusual, so its parser matches PostgreSQL's.
        let v: f64 = s.parse().ok()?;
        v.is_finite().then_some(v)
    }
}

/// PostgreSQL's boolean input: true/false, yes/no, on/off, 1/0 and any
/// unique prefix of the words, case-insensitive.
pub fn parse_bool(s: &str) -> Option<bool> {
    let lower = s.to_ascii_lowercase();
    let l = lower.as_str();
    if l.is_empty() {
        return None;
    }
    let prefix_of = |word: &str| word.starts_with(l);
    if l == "1" || prefix_of("true") || prefix_of("yes") || l == "on" {
        Some(true)
    } else if l == "0" || prefix_of("false") || prefix_of("no") || l == "off" || l == "of" {
        Some(false)
    } else {
        None
    }
}

/// An argument that is not valid input for its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseValueError {
    pub ty: DataType,
}

/// Converts `value` for storage in a column of type `ty`: range checks for
/// integers, rounding for REAL, length checks for VARCHAR(n). Errors use
/// PostgreSQL's wording.
pub fn coerce_for_column(value: Value, ty: DataType) -> Result<Value, Error> {
    match (value, ty) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Int(i), t) if t.is_integer() => {
            let (lo, hi) = t.integer_range();
            if i < lo || i > hi {
                Err(Error::Data(format!("{} out of range", t.sql_name())))
            } else {
                Ok(Value::Int(i))
            }
        }
        (Value::Float(x), t) if t.is_integer() => {
            let rounded = x.round_ties_even();
            let (lo, hi) = t.integer_range();
            if !rounded.is_finite() || rounded < lo as f64 || rounded > hi as f64 {
                Err(Error::Data(format!("{} out of range", t.sql_name())))
            } else {
                Ok(Value::Int(rounded as i64))
            }
        }
        (Value::Int(i), DataType::Real) => Ok(Value::Float(i as f32 as f64)),
        (Value::Int(i), DataType::Double) => Ok(Value::Float(i as f64)),
        (Value::Float(x), DataType::Real) => {
            let narrowed = x as f32;
            if narrowed.is_infinite() && x.is_finite() {
                return Err(Error::Data("value out of range: overflow".into()));
            }
            Ok(Value::Float(narrowed as f64))
        }
        (Value::Float(x), DataType::Double) => Ok(Value::Float(x)),
        (Value::Text(s), DataType::Varchar(Some(n))) => {
            if s.chars().count() > n as usize {
                Err(Error::Data(format!("value too long for type character varying({n})")))
            } else {
                Ok(Value::Text(s))
            }
        }
        (v @ Value::Text(_), DataType::Text | DataType::Varchar(None)) => Ok(v),
        (v @ Value::Bool(_), DataType::Boolean) => Ok(v),
        (v @ Value::Bytes(_), DataType::Bytea) => Ok(v),
        (v @ Value::Timestamp(_), DataType::Timestamp) => Ok(v),
        (v, t) => Err(Error::Internal(format!("value {v:?} cannot be stored as {}", t.sql_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_two_words() {
        // Rows, keys and view entries are arrays of values; this size is
        // most of the server's memory.
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn integers_accept_sign_blanks_and_leading_zeros() {
        assert_eq!(parse_value(b"000000001234", DataType::BigInt), Ok(Value::Int(1234)));
        assert_eq!(parse_value(b" -42 ", DataType::Integer), Ok(Value::Int(-42)));
        assert_eq!(parse_value(b"+7", DataType::SmallInt), Ok(Value::Int(7)));
        assert!(parse_value(b"40000", DataType::SmallInt).is_err());
        assert!(parse_value(b"12a", DataType::BigInt).is_err());
        assert!(parse_value(b"", DataType::BigInt).is_err());
    }

    #[test]
    fn plain_digits_parse_as_the_general_parser_does() {
        let general = |text: &str| text.trim().parse::<i64>().ok();
        let cases = [
            "0",
            "-0",
            "7",
            "-7",
            "000123",
            "123456789012345678",
            "-123456789012345678",
            "999999999999999999",
            "1234567890123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-",
            "",
            "--1",
            "1-",
            "12 ",
            "+12",
            "1_000",
            "١٢",
        ];
        for text in cases {
            let fast = parse_value(text.as_bytes(), DataType::BigInt).ok();
            assert_eq!(fast, general(text).map(Value::Int), "{text:?}");
        }
        assert!(parse_value(b"2147483648", DataType::Integer).is_err());
        assert_eq!(parse_value(b"-2147483648", DataType::Integer), Ok(Value::Int(-2147483648)));
        assert!(parse_value(b"-32769", DataType::SmallInt).is_err());
    }

    #[test]
    fn float_spellings_need_no_lower_case_copy() {
        assert_eq!(parse_float("NaN").map(f64::is_nan), Some(true));
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("+INF"), Some(f64::INFINITY));
        assert_eq!(parse_float("1.5E3"), Some(1500.0));
        assert_eq!(parse_float("1e999"), None);
        assert_eq!(parse_float("one"), None);
    }

    #[test]
    fn booleans_follow_postgres_spellings() {
        for t in ["true", "t", "TRUE", "1", "yes", "on", "y"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "f", "0", "no", "off", "n"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("o"), None);
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn sql_comparison_is_three_valued_and_numeric_across_widths() {
        assert_eq!(Value::Int(1).sql_eq(&Value::Null), None);
        assert_eq!(Value::Int(2).sql_cmp(&Value::Float(2.5)), Some(Ordering::Less));
        assert_eq!(Value::Float(f64::NAN).sql_cmp(&Value::Float(1e300)), Some(Ordering::Greater));
        assert_eq!(Value::text("a").sql_cmp(&Value::text("B")), Some(Ordering::Greater));
    }

    #[test]
    fn equal_numbers_hash_alike() {
        use std::hash::BuildHasher;
        let s = std::collections::hash_map::RandomState::new();
        assert_eq!(s.hash_one(Value::Int(3)), s.hash_one(Value::Float(3.0)));
        assert_eq!(Value::Int(3), Value::Float(3.0));
    }

    #[test]
    fn coercion_checks_ranges_and_lengths() {
        assert!(coerce_for_column(Value::Int(70000), DataType::SmallInt).is_err());
        assert!(coerce_for_column(Value::text("abcd"), DataType::Varchar(Some(3))).is_err());
        assert!(coerce_for_column(Value::text("abc"), DataType::Varchar(Some(3))).is_ok());
        assert_eq!(coerce_for_column(Value::Float(2.5), DataType::Integer).ok(), Some(Value::Int(2)));
    }
}
