//! Derived structures: the indexes and maintained views the planner asks
//! storage to keep for registered statements. Specs are plain values with
//! equality, so statements that need the same structure share one.

use std::fmt;

use crate::catalog::TableId;
use crate::expr::Expr;
use crate::types::DataType;

/// Structures are numbered by the catalog; numbers are never reused.
pub type StructureId = u32;

/// A join of base tables, filtered by conditions without parameters.
/// Every row of the view has the columns of all its tables side by side
/// (in FROM order); `steps` say how a row is built from one row of the
/// anchor table (`steps[0]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewSpec {
    pub steps: Vec<JoinStep>,
    /// Conditions over the whole view row (WHERE without parameters).
    pub filter: Option<Expr>,
    /// Columns in a view row.
    pub width: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinStep {
    pub table: TableId,
    /// Position of the table's first column in the view row.
    pub offset: usize,
    /// Number of columns of the table.
    pub columns: usize,
    /// LEFT JOIN: keep the row with NULLs when nothing matches.
    pub outer: bool,
    /// `(column of this table, expression over earlier steps)` pairs that
    /// find this step's rows by an index probe. Empty for the anchor.
    pub lookup: Vec<(usize, Expr)>,
    /// Index used for the lookup.
    pub lookup_index: Option<IndexRef>,
    /// The other join conditions, checked once this step's row is in.
    pub condition: Option<Expr>,
    /// How to find, from a row of this table, the rows of an earlier step
    /// that join it: `(earlier step, column of the earlier table, column
    /// of this table)` plus the index on the earlier table's column.
    pub back: Option<BackLink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackLink {
    pub step: usize,
    pub earlier_column: usize,
    pub own_column: usize,
    pub index: IndexRef,
}

/// An index on a base table: one of its unique indexes, or a derived hash
/// index structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexRef {
    Unique { table: TableId, unique: usize },
    Derived(StructureId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFunc {
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::CountStar | AggFunc::Count | AggFunc::CountDistinct => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AggSpec {
    pub func: AggFunc,
    /// The argument over the view row; `None` for COUNT(*).
    pub arg: Option<Expr>,
    /// Type of the argument (decides integer or float sums).
    pub arg_ty: Option<DataType>,
    /// Type of the result.
    pub ty: DataType,
}

/// One key of an ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortSpec {
    pub expr: Expr,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StructureSpec {
    /// Rows of a table by the values of some columns (join lookups and
    /// writes that find rows by a non-unique column).
    TableIndex { table: TableId, columns: Vec<usize> },
    /// View rows by `eq` values, each group kept in `order` (then by row
    /// identity). Reads take one group, or a range of it on the first
    /// ordering key.
    RowIndex { view: ViewSpec, eq: Vec<Expr>, order: Vec<SortSpec> },
    /// Aggregates of view rows by `eq` and `group` values.
    Aggregate(AggregateSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AggregateSpec {
    pub view: ViewSpec,
    pub eq: Vec<Expr>,
    pub group: Vec<Expr>,
    pub aggs: Vec<AggSpec>,
    /// A column filtered by a parameterised range: each group keeps its
    /// rows ordered by it with running aggregates.
    pub range: Option<Expr>,
    /// Groups kept in this order (over the group row: group values then
    /// aggregate values), for ORDER BY ... LIMIT over aggregates; only the
    /// groups passing `having` are kept in it.
    pub output: Option<OutputOrder>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutputOrder {
    pub order: Vec<SortSpec>,
    pub having: Option<Expr>,
}

impl StructureSpec {
    /// The view a structure is kept over, if any.
    pub fn view(&self) -> Option<&ViewSpec> {
        match self {
            StructureSpec::TableIndex { .. } => None,
            StructureSpec::RowIndex { view, .. } => Some(view),
            StructureSpec::Aggregate(a) => Some(&a.view),
        }
    }

    /// Tables whose changes this structure must follow.
    pub fn tables(&self) -> Vec<TableId> {
        match self {
            StructureSpec::TableIndex { table, .. } => vec![*table],
            other => other.view().map(|v| v.steps.iter().map(|s| s.table).collect()).unwrap_or_default(),
        }
    }
}

impl ViewSpec {
    pub fn anchor(&self) -> TableId {
        self.steps[0].table
    }

    /// Step holding view column `column`.
    pub fn step_of_column(&self, column: usize) -> Option<usize> {
        self.steps.iter().position(|s| column >= s.offset && column < s.offset + s.columns)
    }

    /// Per step, the table columns that decide which view rows exist and
    /// what they hold for `extra` expressions (keys, groups, aggregates):
    /// an update that changes none of them changes nothing in the view.
    pub fn used_columns(&self, extra: &[&Expr]) -> Vec<Vec<usize>> {
        let mut used: Vec<Vec<usize>> = vec![Vec::new(); self.steps.len()];
        let mut note = |c: usize| {
            if let Some(s) = self.step_of_column(c) {
                let col = c - self.steps[s].offset;
                if !used[s].contains(&col) {
                    used[s].push(col);
                }
            }
        };
        for (i, step) in self.steps.iter().enumerate() {
            for (col, e) in &step.lookup {
                note(step.offset + col);
                e.columns().into_iter().for_each(&mut note);
            }
            if let Some(c) = &step.condition {
                c.columns().into_iter().for_each(&mut note);
            }
            if let Some(b) = &step.back {
                note(step.offset + b.own_column);
                let earlier = &self.steps[b.step];
                note(earlier.offset + b.earlier_column);
            }
            let _ = i;
        }
        if let Some(f) = &self.filter {
            f.columns().into_iter().for_each(&mut note);
        }
        for e in extra {
            e.columns().into_iter().for_each(&mut note);
        }
        used
    }
}

impl fmt::Display for AggFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
