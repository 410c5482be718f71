//! The ahead-of-time planner: SQL text in, catalog changes and compiled
//! statements out. It binds names and types, chooses each statement's
//! access path and proves its cost. Pure: no I/O, no storage.

mod bind;
mod catalog;
mod display;
mod error;
pub mod estimate;
pub mod eval;
mod explain;
mod expr;
mod partials;
mod plan;
mod script;
mod structure;
mod structure_registry;
mod timestamp;
mod types;
mod value;

pub use catalog::{
    Catalog, CheckDef, ColumnDef, ForeignKeyDef, RefAction, StructureEntry, TableDef, TableId, UniqueDef,
};
pub use display::expr_sql;
pub use error::{Error, Result};
pub use explain::{describe_structure, explain, structure_name, Explain};
pub use expr::{ArithOp, CmpOp, Expr, Function};
pub use partials::{partial_plan, KeySource, PartialPlan};
pub use plan::{
    ConflictAction, Cost, DeletePlan, Grouping, InsertPlan, OnConflict, OutputColumn, Params, Plan, RangeBounds,
    RowFinder, SelectPlan, SortKey, Source, Statement, UpdatePlan,
};
pub use script::{apply_script, deallocate, prepare, Change};
pub use structure::{
    AggFunc, AggSpec, AggregateSpec, BackLink, IndexRef, JoinStep, OutputOrder, SortSpec, StructureId, StructureSpec,
    ViewSpec,
};
pub use types::DataType;
pub use value::{coerce_for_column, format_float, parse_value, real_for_output, ArcStr, Value};
