//! Mapping `sqlparser` data types onto aotdb's.

use sqlparser::ast;

use crate::error::{Error, Result};
use crate::types::DataType;

pub(crate) fn convert_type(ty: &ast::DataType) -> Result<DataType> {
    use ast::DataType as A;
    Ok(match ty {
        A::SmallInt(_) | A::Int2(_) => DataType::SmallInt,
        A::Int(_) | A::Integer(_) | A::Int4(_) => DataType::Integer,
        A::BigInt(_) | A::Int8(_) => DataType::BigInt,
        A::Real | A::Float4 => DataType::Real,
        A::DoublePrecision | A::Float8 | A::Double(ast::ExactNumberInfo::None) => DataType::Double,
        A::Float(info) => match info {
            ast::ExactNumberInfo::Precision(p) if *p <= 24 => DataType::Real,
            _ => DataType::Double,
        },
        A::Bool | A::Boolean => DataType::Boolean,
        A::Text | A::String(None) => DataType::Text,
        A::Varchar(len) | A::CharacterVarying(len) | A::CharVarying(len) => {
            DataType::Varchar(varchar_length(len.as_ref())?)
        }
        A::Bytea => DataType::Bytea,
        A::Timestamp(precision, tz) => {
            if !matches!(tz, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) {
                return Err(Error::Unsupported(
                    "TIMESTAMP WITH TIME ZONE is not supported yet; use TIMESTAMP".into(),
                ));
            }
            if precision.is_some_and(|p| p != 6) {
                return Err(Error::Unsupported(
                    "TIMESTAMP(p) with p other than 6 is not supported yet".into(),
                ));
            }
            DataType::Timestamp
        }
        A::Numeric(_) | A::Decimal(_) | A::Dec(_) => {
            return Err(Error::Unsupported(
                "NUMERIC is not supported yet; use BIGINT (for example, amounts in cents) or DOUBLE PRECISION".into(),
            ))
        }
        other => {
            return Err(Error::Unsupported(format!(
                "type {other} is not supported; aotdb has SMALLINT, INTEGER, BIGINT, REAL, DOUBLE PRECISION, BOOLEAN, TEXT, VARCHAR(n), BYTEA, TIMESTAMP"
            )))
        }
    })
}

fn varchar_length(len: Option<&ast::CharacterLength>) -> Result<Option<u32>> {
    match len {
        None => Ok(None),
        Some(ast::CharacterLength::IntegerLength { length, unit: None }) => {
            if *length == 0 || *length > 10_485_760 {
                return Err(Error::Type(format!(
                    "length for type varchar must be between 1 and 10485760, got {length}"
                )));
            }
            Ok(Some(*length as u32))
        }
        Some(other) => Err(Error::Unsupported(format!("VARCHAR({other}) is not supported"))),
    }
}
