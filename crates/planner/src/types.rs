//! SQL data types: what a column or expression holds, and the PostgreSQL
//! rules for combining them (numeric promotion, assignment casts).

use std::fmt;

/// The SQL types aotdb stores. Integers of every width are held as `i64` at
/// run time; the type remembers the width so overflow is caught where
/// PostgreSQL would catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Boolean,
    Text,
    /// `VARCHAR(n)`; `None` is an unbounded VARCHAR (same as TEXT).
    Varchar(Option<u32>),
    Bytea,
    Timestamp,
}

impl DataType {
    pub fn is_integer(self) -> bool {
        matches!(self, DataType::SmallInt | DataType::Integer | DataType::BigInt)
    }

    pub fn is_float(self) -> bool {
        matches!(self, DataType::Real | DataType::Double)
    }

    pub fn is_numeric(self) -> bool {
        self.is_integer() || self.is_float()
    }

    pub fn is_text(self) -> bool {
        matches!(self, DataType::Text | DataType::Varchar(_))
    }

    /// Rank in PostgreSQL's implicit numeric promotion order.
    fn numeric_rank(self) -> u8 {
        match self {
            DataType::SmallInt => 1,
            DataType::Integer => 2,
            DataType::BigInt => 3,
            DataType::Real => 4,
            DataType::Double => 5,
            _ => 0,
        }
    }

    /// The type two numeric operands are promoted to for arithmetic and
    /// comparison (`integer + bigint` is bigint, `integer + real` is double,
    /// as PostgreSQL resolves it through its implicit casts).
    pub fn promote_numeric(a: DataType, b: DataType) -> Option<DataType> {
        if !a.is_numeric() || !b.is_numeric() {
            return None;
        }
        if a == b {
            return Some(a);
        }
        if a.is_float() || b.is_float() {
            return Some(DataType::Double);
        }
        Some(if a.numeric_rank() >= b.numeric_rank() { a } else { b })
    }

    /// The common type of two branches (CASE, COALESCE, IN lists).
    pub fn unify(a: DataType, b: DataType) -> Option<DataType> {
        if a == b {
            return Some(a);
        }
        if a.is_text() && b.is_text() {
            return Some(DataType::Text);
        }
        DataType::promote_numeric(a, b)
    }

    /// Whether values of the two types can be compared with `=`, `<`, ...
    pub fn comparable(a: DataType, b: DataType) -> bool {
        DataType::unify(a, b).is_some()
    }

    /// Whether a value of type `from` may be stored in a column of type
    /// `self` without an explicit cast (PostgreSQL's assignment casts,
    /// restricted to the ones that cannot surprise: numeric to numeric and
    /// text to text).
    pub fn assignable_from(self, from: DataType) -> bool {
        self == from || (self.is_numeric() && from.is_numeric()) || (self.is_text() && from.is_text())
    }

    /// Name as PostgreSQL prints it.
    pub fn sql_name(self) -> String {
        match self {
            DataType::SmallInt => "smallint".into(),
            DataType::Integer => "integer".into(),
            DataType::BigInt => "bigint".into(),
            DataType::Real => "real".into(),
            DataType::Double => "double precision".into(),
            DataType::Boolean => "boolean".into(),
            DataType::Text => "text".into(),
            DataType::Varchar(None) => "character varying".into(),
            DataType::Varchar(Some(n)) => format!("character varying({n})"),
            DataType::Bytea => "bytea".into(),
            DataType::Timestamp => "timestamp without time zone".into(),
        }
    }

    /// Short name used in EXPLAIN output and error messages.
    pub fn short_name(self) -> String {
        match self {
            DataType::Double => "double".into(),
            DataType::Varchar(None) => "varchar".into(),
            DataType::Varchar(Some(n)) => format!("varchar({n})"),
            DataType::Timestamp => "timestamp".into(),
            other => other.sql_name(),
        }
    }

    /// Inclusive range of an integer type.
    pub fn integer_range(self) -> (i64, i64) {
        match self {
            DataType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
            DataType::Integer => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short_name())
    }
}

#[cfg(test)]
mod tests {
    use super::DataType::*;
    use super::*;

    #[test]
    fn numeric_promotion_follows_postgres() {
        assert_eq!(DataType::promote_numeric(Integer, BigInt), Some(BigInt));
        assert_eq!(DataType::promote_numeric(SmallInt, SmallInt), Some(SmallInt));
        assert_eq!(DataType::promote_numeric(Integer, Real), Some(Double));
        assert_eq!(DataType::promote_numeric(Real, Real), Some(Real));
        assert_eq!(DataType::promote_numeric(Text, Integer), None);
    }

    #[test]
    fn text_types_unify_to_text() {
        assert_eq!(DataType::unify(Varchar(Some(3)), Text), Some(Text));
        assert!(!DataType::comparable(Text, Boolean));
    }
}
