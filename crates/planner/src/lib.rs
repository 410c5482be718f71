//! The ahead-of-time planner: SQL text in, catalog changes and compiled
//! statements out. It binds names and types, chooses each statement's
//! access path and proves its cost. Pure: no I/O, no storage.

mod bind;
mod catalog;
mod error;
pub mod eval;
mod explain;
mod expr;
mod plan;
mod script;
mod timestamp;
mod types;
mod value;

pub use catalog::{Catalog, ColumnDef, TableDef, TableId, UniqueDef};
pub use error::{Error, Result};
pub use explain::{explain, Explain};
pub use expr::{ArithOp, CmpOp, Expr, Function};
pub use plan::{
    Access, Cost, DeletePlan, InsertPlan, OutputColumn, Plan, SelectPlan, SortKey, Statement,
    UpdatePlan,
};
pub use script::{apply_script, deallocate, prepare, Change};
pub use types::DataType;
pub use value::{coerce_for_column, format_float, parse_value, real_for_output, Value};
