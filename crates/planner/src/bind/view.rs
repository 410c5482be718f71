//! Join planning: turns the tables of a FROM clause and the conditions
//! without parameters into a view spec: an anchor table and, for every
//! other table, the index probe that finds its rows from the rows before
//! it, and the way back from its rows to the anchor's (so a change to any
//! table can be followed into the view).

use super::from::{FromClause, JoinKind};
use super::scope::Scope;
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::expr::{CmpOp, Expr};
use crate::structure::{BackLink, IndexRef, JoinStep, StructureSpec, ViewSpec};
use crate::structure_registry::StructureRegistry;

/// A bound condition and the SQL it came from (for messages).
#[derive(Debug, Clone)]
pub(crate) struct Conjunct {
    pub expr: Expr,
    pub text: String,
}

/// A view and, for each step, the position of its table in FROM.
pub(crate) struct PlannedView {
    pub view: ViewSpec,
    pub from_order: Vec<usize>,
}

/// Which tables (by FROM position) an expression reads.
fn tables_of(scope: &Scope, e: &Expr) -> Vec<usize> {
    let mut out: Vec<usize> = e
        .columns()
        .into_iter()
        .filter_map(|c| scope.tables.iter().position(|t| c >= t.offset && c < t.offset + t.table.columns.len()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `t.col = expr over other tables`: the column (table-relative) and expr.
fn equality_on(scope: &Scope, e: &Expr, table: usize, placed: &[usize]) -> Option<(usize, Expr)> {
    let Expr::Compare { op: CmpOp::Eq, left, right } = e else { return None };
    let t = &scope.tables[table];
    let range = t.offset..t.offset + t.table.columns.len();
    for (a, b) in [(left, right), (right, left)] {
        if let Expr::Column(c) = a.as_ref() {
            if range.contains(c) {
                let others = tables_of(scope, b);
                if !others.is_empty() && others.iter().all(|o| placed.contains(o)) {
                    return Some((c - t.offset, b.as_ref().clone()));
                }
            }
        }
    }
    None
}

fn unique_covering(table: &TableDef, columns: &[usize]) -> Option<usize> {
    table.uniques.iter().position(|u| u.columns.iter().all(|c| columns.contains(c)))
}

/// An index on `columns` of `table`: a unique index if one has exactly
/// these columns, else a derived hash index.
fn index_for(table: &TableDef, columns: &[usize], registry: &mut StructureRegistry<'_>) -> IndexRef {
    if let Some(u) = table.uniques.iter().position(|u| {
        let mut a = u.columns.clone();
        let mut b = columns.to_vec();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }) {
        return IndexRef::Unique { table: table.id, unique: u };
    }
    IndexRef::Derived(registry.get(StructureSpec::TableIndex { table: table.id, columns: columns.to_vec() }))
}

/// Builds the steps of a join in the given order; conditions are placed at
/// the first step where all their tables are present.
struct StepBuilder<'s> {
    scope: &'s Scope,
    placed: Vec<usize>,
    steps: Vec<JoinStep>,
}

impl<'s> StepBuilder<'s> {
    fn add(
        &mut self,
        table: usize,
        outer: bool,
        pool: &mut Vec<Conjunct>,
        registry: &mut StructureRegistry<'_>,
    ) -> Result<()> {
        let scope = self.scope;
        let st = &scope.tables[table];
        let mut lookup: Vec<(usize, Expr)> = Vec::new();
        let mut lookup_index = None;
        if !self.placed.is_empty() {
            let mut equalities: Vec<(usize, usize, Expr)> = Vec::new();
            for (i, c) in pool.iter().enumerate() {
                if let Some((col, e)) = equality_on(scope, &c.expr, table, &self.placed) {
                    if !equalities.iter().any(|(_, c2, _)| *c2 == col) {
                        equalities.push((i, col, e));
                    }
                }
            }
            if equalities.is_empty() {
                return Err(Error::ScanRequired(format!(
                    "table \"{}\" is joined without an equality between one of its columns and a column of the tables before it; \
                     each of its rows would have to be paired with a scan",
                    st.alias
                )));
            }
            let cols: Vec<usize> = equalities.iter().map(|(_, c, _)| *c).collect();
            let chosen: Vec<&(usize, usize, Expr)> = match unique_covering(&st.table, &cols) {
                Some(u) => st.table.uniques[u]
                    .columns
                    .iter()
                    .filter_map(|c| equalities.iter().find(|(_, col, _)| col == c))
                    .collect(),
                None => equalities.iter().collect(),
            };
            let chosen_cols: Vec<usize> = chosen.iter().map(|(_, c, _)| *c).collect();
            lookup_index = Some(index_for(&st.table, &chosen_cols, registry));
            let mut used: Vec<usize> = chosen.iter().map(|(i, _, _)| *i).collect();
            lookup = chosen.iter().map(|(_, c, e)| (*c, e.clone())).collect();
            used.sort_unstable();
            for i in used.into_iter().rev() {
                pool.remove(i);
            }
        }
        self.placed.push(table);
        // Conditions whose tables are all present now.
        let mut here = Vec::new();
        let mut i = 0;
        while i < pool.len() {
            if tables_of(scope, &pool[i].expr).iter().all(|t| self.placed.contains(t)) {
                here.push(pool.remove(i).expr);
            } else {
                i += 1;
            }
        }
        let back = self.back_link(table, &lookup, registry);
        self.steps.push(JoinStep {
            table: st.table.id,
            offset: st.offset,
            columns: st.table.columns.len(),
            outer,
            lookup,
            lookup_index,
            condition: Expr::and_all(here),
            back,
        });
        Ok(())
    }

    /// The way from a row of `table` back to the rows of an earlier step
    /// that join it: the first lookup equality that compares two columns.
    fn back_link(
        &self,
        table: usize,
        lookup: &[(usize, Expr)],
        registry: &mut StructureRegistry<'_>,
    ) -> Option<BackLink> {
        let _ = table;
        for (own, e) in lookup {
            if let Expr::Column(v) = e {
                let step = self.steps.iter().position(|s| *v >= s.offset && *v < s.offset + s.columns)?;
                let earlier_table = &self.scope.tables[self.placed[step]].table;
                let earlier_column = v - self.steps[step].offset;
                let index = index_for(earlier_table, &[earlier_column], registry);
                return Some(BackLink { step, earlier_column, own_column: *own, index });
            }
        }
        None
    }
}

/// Plans the join. `anchor` forces the anchor table (a unique lookup
/// found it); otherwise inner joins are ordered from the table whose
/// probes are cheapest to maintain (usually the one with the most rows,
/// joined to the others by their keys).
pub(crate) fn plan_view(
    from: &FromClause<'_>,
    on: Vec<Vec<Conjunct>>,
    filters: Vec<Conjunct>,
    anchor: Option<usize>,
    registry: &mut StructureRegistry<'_>,
) -> Result<PlannedView> {
    let scope = &from.scope;
    let width = scope.tables.iter().map(|t| t.table.columns.len()).sum();
    if from.has_outer_joins() {
        if anchor.is_some_and(|a| a != 0) {
            return Err(Error::Internal("outer joins are anchored at the first table".into()));
        }
        let mut builder = StepBuilder { scope, placed: Vec::new(), steps: Vec::new() };
        for (i, (t, mut conds)) in from.tables.iter().zip(on).enumerate() {
            let outer = t.kind == JoinKind::Left;
            builder.add(i, outer, &mut conds, registry)?;
            if let Some(c) = conds.first() {
                return Err(Error::Unsupported(format!("the ON condition `{}` refers to tables joined later", c.text)));
            }
        }
        let filter = Expr::and_all(filters.into_iter().map(|c| c.expr).collect());
        return Ok(PlannedView {
            view: ViewSpec { steps: builder.steps, filter, width },
            from_order: (0..from.tables.len()).collect(),
        });
    }

    let pool: Vec<Conjunct> = on.into_iter().flatten().chain(filters).collect();
    let candidates: Vec<usize> = match anchor {
        Some(a) => vec![a],
        None => (0..from.tables.len()).collect(),
    };
    let mut best: Option<(usize, PlannedView)> = None;
    let mut first_error = None;
    for a in candidates {
        // Plans are built against a scratch registry so a rejected
        // candidate's indexes are not requested.
        let mut scratch = StructureRegistry::new_scratch(registry);
        match order_from(from, a, pool.clone(), &mut scratch) {
            Ok((planned, cost)) => {
                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                    best = Some((cost, planned));
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((_, chosen)) = best else {
        return Err(first_error.unwrap_or_else(|| Error::Internal("no join order".into())));
    };
    // Replay the chosen order against the real registry.
    let anchor_table = chosen.from_order[0];
    let (planned, _) = order_from(from, anchor_table, pool, registry)?;
    Ok(planned)
}

/// Greedy order from `anchor`: at each step the next table reachable by
/// an equality, preferring one reached through a unique key. Returns the
/// view and its maintenance cost (probes that are not unique).
fn order_from(
    from: &FromClause<'_>,
    anchor: usize,
    mut pool: Vec<Conjunct>,
    registry: &mut StructureRegistry<'_>,
) -> Result<(PlannedView, usize)> {
    let scope = &from.scope;
    let width = scope.tables.iter().map(|t| t.table.columns.len()).sum();
    let mut builder = StepBuilder { scope, placed: Vec::new(), steps: Vec::new() };
    builder.add(anchor, false, &mut pool, registry)?;
    let mut cost = 0;
    while builder.placed.len() < from.tables.len() {
        let mut next: Option<(usize, usize)> = None;
        for t in 0..from.tables.len() {
            if builder.placed.contains(&t) {
                continue;
            }
            let cols: Vec<usize> = pool
                .iter()
                .filter_map(|c| equality_on(scope, &c.expr, t, &builder.placed).map(|(col, _)| col))
                .collect();
            if cols.is_empty() {
                continue;
            }
            let score = if unique_covering(&scope.tables[t].table, &cols).is_some() { 0 } else { 1 };
            if next.is_none_or(|(_, s)| score < s) {
                next = Some((t, score));
            }
        }
        let Some((t, score)) = next else {
            let missing = (0..from.tables.len()).find(|t| !builder.placed.contains(t)).unwrap_or(0);
            return Err(Error::ScanRequired(format!(
                "table \"{}\" is not joined to the others by an equality between columns; pairing its rows needs a scan",
                scope.tables[missing].alias
            )));
        };
        cost += score;
        builder.add(t, false, &mut pool, registry)?;
    }
    let from_order = builder.placed.clone();
    Ok((PlannedView { view: ViewSpec { steps: builder.steps, filter: None, width }, from_order }, cost))
}
