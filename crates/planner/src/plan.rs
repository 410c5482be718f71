//! Compiled statements: what the executor runs for each registered name, and
//! the cost the planner proved for it.

use std::fmt;

use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::types::DataType;
use crate::value::{parse_value, Value};

/// A registered statement, ready to execute.
#[derive(Debug, Clone)]
pub struct Statement {
    pub name: String,
    /// The statement's SQL, as normalised by the parser.
    pub sql: String,
    pub params: Vec<DataType>,
    /// Result columns (of a SELECT, or of RETURNING); empty for a write
    /// that returns a row count.
    pub columns: Vec<OutputColumn>,
    /// Every table the statement reads or writes.
    pub tables: Vec<TableId>,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub ty: DataType,
}

#[derive(Debug, Clone)]
pub enum Plan {
    Select(SelectPlan),
    Insert(InsertPlan),
    Update(UpdatePlan),
    Delete(DeletePlan),
}

/// How a statement finds the rows it reads or changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// No FROM clause: one row with no columns.
    Constant,
    /// One probe of the primary key or a UNIQUE index.
    UniqueLookup {
        table: TableId,
        /// Position in the table's `uniques`.
        unique: usize,
        /// One expression per key column, over parameters and constants.
        key: Vec<Expr>,
    },
}

#[derive(Debug, Clone)]
pub struct SelectPlan {
    pub access: Access,
    /// Residual predicate over the row found.
    pub filter: Option<Expr>,
    pub projection: Vec<Expr>,
    pub distinct: bool,
    /// Sort keys, evaluated over the input row.
    pub order_by: Vec<SortKey>,
    pub offset: Option<Expr>,
    pub limit: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub struct InsertPlan {
    pub table: TableId,
    /// One expression per table column, per VALUES row (defaults filled in).
    pub rows: Vec<Vec<Expr>>,
    /// RETURNING expressions over the inserted row.
    pub returning: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub struct UpdatePlan {
    pub table: TableId,
    pub access: Access,
    pub filter: Option<Expr>,
    /// `(column, new value over the old row)`, all evaluated before any is
    /// applied.
    pub assignments: Vec<(usize, Expr)>,
    pub returning: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub struct DeletePlan {
    pub table: TableId,
    pub access: Access,
    pub filter: Option<Expr>,
    pub returning: Vec<Expr>,
}

/// Cost class of a read, in the size n of the tables it reads and the
/// number k of rows it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cost {
    Constant,
    Log,
    LogPlusK,
    Linear,
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cost::Constant => "O(1)",
            Cost::Log => "O(log n)",
            Cost::LogPlusK => "O(log n + k)",
            Cost::Linear => "O(n)",
        })
    }
}

impl Statement {
    pub fn is_read_only(&self) -> bool {
        matches!(self.plan, Plan::Select(_))
    }

    /// Whether the reply is rows (a query or RETURNING) rather than a count.
    pub fn returns_rows(&self) -> bool {
        match &self.plan {
            Plan::Select(_) => true,
            Plan::Insert(p) => !p.returning.is_empty(),
            Plan::Update(p) => !p.returning.is_empty(),
            Plan::Delete(p) => !p.returning.is_empty(),
        }
    }

    /// Parses a client's arguments into typed parameter values.
    ///
    /// An argument that is exactly `\N` is NULL (as in PostgreSQL's COPY);
    /// exactly `\\N` is the two characters `\N`; anything else is the
    /// parameter's input text.
    pub fn bind_args<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Vec<Value>> {
        if args.len() != self.params.len() {
            return Err(Error::Arguments(format!(
                "statement \"{}\" takes {} argument{}, got {}",
                self.name,
                self.params.len(),
                if self.params.len() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let mut values = Vec::with_capacity(args.len());
        for (i, (arg, &ty)) in args.iter().zip(&self.params).enumerate() {
            let raw = arg.as_ref();
            let value = match raw {
                b"\\N" => Value::Null,
                b"\\\\N" => parse_value(b"\\N", ty).map_err(|_| self.bad_arg(i, ty, raw))?,
                _ => parse_value(raw, ty).map_err(|_| self.bad_arg(i, ty, raw))?,
            };
            values.push(value);
        }
        Ok(values)
    }

    fn bad_arg(&self, index: usize, ty: DataType, raw: &[u8]) -> Error {
        const SHOWN: usize = 64;
        let text = String::from_utf8_lossy(&raw[..raw.len().min(SHOWN)]);
        let more = if raw.len() > SHOWN { "..." } else { "" };
        let what =
            if ty.is_integer() && raw.iter().all(|b| b.is_ascii_digit() || b"+- ".contains(b)) {
                "value out of range for type"
            } else {
                "invalid input for type"
            };
        Error::Type(format!(
            "statement \"{}\", parameter ${}: {what} {}: \"{text}{more}\"",
            self.name,
            index + 1,
            ty.sql_name()
        ))
    }
}
