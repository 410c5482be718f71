//! Derived structures kept by storage: hash indexes on table columns, row
//! indexes over views, and aggregate views.

mod agg_state;
mod aggregate;
mod group_map;
mod ordered_set;
mod partials;
mod range_tree;
mod row_index;
pub(crate) mod sort_key;
mod table_index;

pub use agg_state::AggState as AggStateForRead;
pub use aggregate::{AggregateView, Contribution};
pub use partials::{PartialContribution, PartialMove};
pub use row_index::{RowIndex, RowIndexEntry};
pub use sort_key::Identity;
pub use table_index::TableIndex;
