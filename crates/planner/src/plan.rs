//! Compiled statements: what the executor runs for each registered name, and
//! the cost the planner proved for it.

use std::fmt;

use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::structure::{AggSpec, StructureId, ViewSpec};
use crate::types::DataType;
use crate::value::{parse_value, Value};

/// A statement's bound arguments: inline for up to six (no allocation per
/// call for the usual statement).
pub type Params = smallvec::SmallVec<[Value; 6]>;

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
    /// Derived structures the statement reads or maintains.
    pub structures: Vec<StructureId>,
    pub plan: Plan,
    /// Cost class of a read (or of finding a write's rows).
    pub cost: Cost,
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

/// Where a statement's rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// No FROM clause: one row with no columns.
    Constant,
    /// One probe of a unique index of the view's anchor table, then the
    /// view rows built from the row found.
    Lookup {
        /// Position in the anchor table's `uniques`.
        unique: usize,
        /// One expression per key column, over parameters and constants.
        key: Vec<Expr>,
    },
    /// View rows from a row index: the group of `eq`, or a range of it.
    Rows { structure: StructureId, eq: Vec<Expr>, range: Option<RangeBounds> },
    /// Groups from an aggregate structure.
    Groups { structure: StructureId, eq: Vec<Expr>, range: Option<RangeBounds> },
    /// Every view row: only with --allow-scans.
    Scan,
}

/// Bounds on the first ordering key of a structure, from parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBounds {
    /// `(bound, inclusive)`
    pub lower: Option<(Expr, bool)>,
    pub upper: Option<(Expr, bool)>,
}

/// Aggregation done when the statement runs (over the few rows a lookup
/// or a scan finds).
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub group: Vec<Expr>,
    pub aggs: Vec<AggSpec>,
}

#[derive(Debug, Clone)]
pub struct SelectPlan {
    /// The join the rows come from (`None` without FROM).
    pub view: Option<ViewSpec>,
    pub source: Source,
    /// Conditions on parameters alone, checked once before anything is
    /// read.
    pub guard: Option<Expr>,
    /// Conditions with parameters, checked on each view row found.
    pub residual: Option<Expr>,
    /// Aggregation at read time, for Lookup and Scan sources. Rows after
    /// it (and all rows of a Groups source) are group rows: the group
    /// values, then the aggregate values.
    pub grouping: Option<Grouping>,
    /// Whether the statement aggregates (so an empty input still gives
    /// one row when there is no GROUP BY).
    pub aggregated: bool,
    pub global_aggregate: bool,
    /// HAVING over group rows (when the structure does not apply it).
    pub having: Option<Expr>,
    /// ORDER BY over output rows (view rows or group rows).
    pub order_by: Vec<SortKey>,
    /// The source yields rows already in ORDER BY order.
    pub presorted: bool,
    /// DISTINCT applied to output rows (only for grouped queries; a plain
    /// SELECT DISTINCT is a grouping by its select list).
    pub distinct: bool,
    pub projection: Vec<Expr>,
    pub offset: Option<Expr>,
    pub limit: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
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
    pub on_conflict: Option<OnConflict>,
}

/// INSERT ... ON CONFLICT.
#[derive(Debug, Clone)]
pub struct OnConflict {
    /// The unique index whose conflict is handled; `None`: any of them.
    pub unique: Option<usize>,
    pub action: ConflictAction,
}

#[derive(Debug, Clone)]
pub enum ConflictAction {
    Nothing,
    /// Assignments and condition over the existing row followed by the
    /// proposed one (`EXCLUDED`).
    Update {
        assignments: Vec<(usize, Expr)>,
        filter: Option<Expr>,
    },
}

/// How UPDATE and DELETE find their rows: a single-table view of the
/// target and a source over it.
#[derive(Debug, Clone)]
pub struct RowFinder {
    pub view: ViewSpec,
    pub source: Source,
    pub guard: Option<Expr>,
    pub residual: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct UpdatePlan {
    pub table: TableId,
    pub finder: RowFinder,
    /// `(column, new value over the old row)`, all evaluated before any is
    /// applied.
    pub assignments: Vec<(usize, Expr)>,
    pub returning: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub struct DeletePlan {
    pub table: TableId,
    pub finder: RowFinder,
    pub returning: Vec<Expr>,
}

/// Cost class of a read, in the size n of the tables it reads and the
/// number k of rows it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cost {
    Constant,
    Log,
    LogPlusK,
    KLogN,
    Linear,
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cost::Constant => "O(1)",
            Cost::Log => "O(log n)",
            Cost::LogPlusK => "O(log n + k)",
            Cost::KLogN => "O(k log n)",
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

    /// `PREPARE "name" (types) AS sql`: the statement as a script line.
    pub fn prepare_sql(&self) -> String {
        let types: Vec<String> = self.params.iter().map(|t| t.sql_name()).collect();
        let name = self.name.replace('"', "\"\"");
        if types.is_empty() {
            format!("PREPARE \"{name}\" AS {}", self.sql)
        } else {
            format!("PREPARE \"{name}\" ({}) AS {}", types.join(", "), self.sql)
        }
    }

    /// Parses a client's arguments into typed parameter values.
    ///
    /// An argument that is exactly `\N` is NULL (as in PostgreSQL's COPY);
    /// exactly `\\N` is the two characters `\N`; anything else is the
    /// parameter's input text.
    pub fn bind_args<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Params> {
        if args.len() != self.params.len() {
            return Err(Error::Arguments(format!(
                "statement \"{}\" takes {} argument{}, got {}",
                self.name,
                self.params.len(),
                if self.params.len() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let mut values = Params::with_capacity(args.len());
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
        let what = if ty.is_integer() && raw.iter().all(|b| b.is_ascii_digit() || b"+- ".contains(b)) {
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
