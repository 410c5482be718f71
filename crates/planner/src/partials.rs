//! Partial aggregates under a many-to-one join. An aggregate view over
//! `fact JOIN dimension ON dimension.key = fact.column` whose groups take
//! values from the dimension (`GROUP BY merchants.category`) would, when a
//! dimension row changes, have to move every fact row that joins it from
//! one group to another. When the view's shape allows, storage also keeps
//! the fact rows' aggregates per (join key, the view's fact-side keys): a
//! dimension change then moves one partial per fact-side key instead of
//! one contribution per fact row (one per account that paid the merchant,
//! not one per payment).
//!
//! The shape: two tables, an inner join through a unique index of the
//! dimension (at most one dimension row per key), no range column, every
//! aggregate argument over the fact table, every key expression and every
//! condition over one side only, and no fact-side expression that can fail
//! (partials are kept for fact rows that join nothing, which the view never
//! evaluates).

use crate::expr::Expr;
use crate::structure::{AggregateSpec, IndexRef};

/// How storage keeps and moves the partials of one aggregate view.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialPlan {
    /// The join key, over the fact (anchor) row.
    pub join: Vec<Expr>,
    /// Columns of the dimension row matched by `join`, in the same order.
    pub join_columns: Vec<usize>,
    /// Conditions over the fact row alone.
    pub fact_filter: Option<Expr>,
    /// Conditions over the dimension's columns alone (over a view row).
    pub dimension_filter: Option<Expr>,
    /// The fact-side key expressions (over the fact row): a partial's key
    /// besides the join key.
    pub fact_keys: Vec<Expr>,
    /// For each of the view's eq then group expressions, where its value
    /// comes from.
    pub key_sources: Vec<KeySource>,
    /// Where the dimension's columns sit in a view row, and its width.
    pub dimension_offset: usize,
    pub width: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// The `n`-th of `fact_keys`.
    Fact(usize),
    /// An expression over the dimension's columns (over a view row).
    Dimension(Expr),
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Fact,
    Dimension,
    Both,
}

/// The partial plan for an aggregate view, or `None` when its shape does
/// not allow one (storage then follows dimension changes row by row).
pub fn partial_plan(spec: &AggregateSpec) -> Option<PartialPlan> {
    let view = &spec.view;
    let [fact, dim] = view.steps.as_slice() else { return None };
    // A self-join's changes are both fact and dimension changes; those
    // keep the row-by-row path.
    if dim.outer || dim.lookup.is_empty() || spec.range.is_some() || dim.table == fact.table {
        return None;
    }
    if !matches!(dim.lookup_index, Some(IndexRef::Unique { table, .. }) if table == dim.table) {
        return None;
    }
    let side = |e: &Expr| -> Side {
        let cols = e.columns();
        let in_fact = |c: &usize| *c >= fact.offset && *c < fact.offset + fact.columns;
        let in_dim = |c: &usize| *c >= dim.offset && *c < dim.offset + dim.columns;
        if cols.iter().all(in_fact) {
            Side::Fact
        } else if cols.iter().all(in_dim) {
            Side::Dimension
        } else {
            Side::Both
        }
    };
    // The fact row is the view row's first columns, so expressions over
    // it evaluate on the fact row alone.
    if fact.offset != 0 {
        return None;
    }
    if spec.aggs.iter().filter_map(|a| a.arg.as_ref()).any(|e| side(e) != Side::Fact) {
        return None;
    }
    if dim.lookup.iter().any(|(_, e)| side(e) != Side::Fact) {
        return None;
    }
    let mut fact_conditions = Vec::new();
    let mut dimension_conditions = Vec::new();
    let conditions = [&fact.condition, &dim.condition, &view.filter];
    for part in conditions.into_iter().flatten().flat_map(|c| c.clone().conjuncts()) {
        match side(&part) {
            Side::Fact => fact_conditions.push(part),
            Side::Dimension => dimension_conditions.push(part),
            Side::Both => return None,
        }
    }
    // A partial is kept for every fact row, joined or not, so its
    // expressions run for rows the view itself would never evaluate: an
    // expression that can fail (division, overflow, a cast) would refuse
    // writes that are fine without partials.
    let fact_side = spec
        .aggs
        .iter()
        .filter_map(|a| a.arg.as_ref())
        .chain(dim.lookup.iter().map(|(_, e)| e))
        .chain(fact_conditions.iter())
        .chain(spec.eq.iter().chain(&spec.group).filter(|e| side(e) == Side::Fact));
    for e in fact_side {
        if may_fail(e) {
            return None;
        }
    }
    let mut fact_keys = Vec::new();
    let mut key_sources = Vec::new();
    for e in spec.eq.iter().chain(&spec.group) {
        match side(e) {
            Side::Fact => {
                key_sources.push(KeySource::Fact(fact_keys.len()));
                fact_keys.push(e.clone());
            }
            Side::Dimension => key_sources.push(KeySource::Dimension(e.clone())),
            Side::Both => return None,
        }
    }
    Some(PartialPlan {
        join: dim.lookup.iter().map(|(_, e)| e.clone()).collect(),
        join_columns: dim.lookup.iter().map(|(c, _)| *c).collect(),
        fact_filter: Expr::and_all(fact_conditions),
        dimension_filter: Expr::and_all(dimension_conditions),
        fact_keys,
        key_sources,
        dimension_offset: dim.offset,
        width: view.width,
    })
}

/// Whether evaluating `e` can raise an error (rather than give a value or
/// NULL): arithmetic can overflow or divide by zero, casts and functions
/// can reject their input.
fn may_fail(e: &Expr) -> bool {
    let mut fails = false;
    e.walk(&mut |x| {
        fails |= matches!(
            x,
            Expr::Arith { .. } | Expr::Negate { .. } | Expr::Cast { .. } | Expr::Call { .. } | Expr::Like { .. }
        )
    });
    fails
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::script::apply_script;
    use crate::structure::StructureSpec;

    const TABLES: &str = "
        CREATE TABLE m (id BIGINT PRIMARY KEY, category TEXT, risk INTEGER);
        CREATE TABLE p (id BIGINT PRIMARY KEY, account BIGINT, merchant BIGINT, amount BIGINT, at BIGINT);";

    /// Whether the one aggregate view the statement needs keeps partials.
    fn keeps_partials(select: &str) -> bool {
        let script = format!("{TABLES} PREPARE q (BIGINT) AS {select};");
        let (catalog, _) = apply_script(&Catalog::new(), &script).unwrap_or_else(|e| panic!("{e}"));
        let views: Vec<bool> = catalog
            .structures()
            .filter_map(|(_, entry)| match entry.spec.as_ref() {
                StructureSpec::Aggregate(a) => Some(partial_plan(a).is_some()),
                _ => None,
            })
            .collect();
        assert_eq!(views.len(), 1, "{select}");
        views[0]
    }

    #[test]
    fn joined_groups_keep_partials() {
        assert!(keeps_partials(
            "SELECT m.category, COUNT(*), SUM(p.amount) FROM p JOIN m ON p.merchant = m.id \
             WHERE p.account = $1 AND p.amount > 5 AND m.risk < 50 GROUP BY m.category"
        ));
    }

    #[test]
    fn shapes_without_partials() {
        // An argument from the joined table.
        assert!(!keeps_partials(
            "SELECT m.category, SUM(m.risk) FROM p JOIN m ON p.merchant = m.id WHERE p.account = $1 GROUP BY m.category"
        ));
        // A condition over both tables.
        assert!(!keeps_partials(
            "SELECT m.category, COUNT(*) FROM p JOIN m ON p.merchant = m.id \
             WHERE p.account = $1 AND p.amount > m.risk GROUP BY m.category"
        ));
        // An argument that can fail for a payment that joins no merchant.
        assert!(!keeps_partials(
            "SELECT m.category, SUM(p.amount / p.at) FROM p JOIN m ON p.merchant = m.id \
             WHERE p.account = $1 GROUP BY m.category"
        ));
        // A range column (running totals per group).
        assert!(!keeps_partials(
            "SELECT COUNT(*) FROM p JOIN m ON p.merchant = m.id WHERE m.category = 'x' AND p.at >= $1"
        ));
    }
}
