//! Choosing where a statement's rows come from. Conditions with
//! parameters are sorted into equalities (hash keys), a range on one
//! column (ordered keys) and the rest; the rest would need a scan, so the
//! statement is refused unless the server allows scans. Conditions
//! without parameters are folded into the view.

use super::from::FromClause;
use super::view::{plan_view, Conjunct};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::expr::{CmpOp, Expr};
use crate::plan::{Cost, Grouping, RangeBounds, SortKey, Source};
use crate::structure::{AggFunc, AggSpec, AggregateSpec, IndexRef, OutputOrder, SortSpec, StructureSpec, ViewSpec};
use crate::structure_registry::StructureRegistry;

/// What the query does above its rows.
pub(crate) struct QueryShape {
    pub aggregated: bool,
    /// Aggregates without GROUP BY: one row even for no input.
    pub global: bool,
    pub group: Vec<Expr>,
    pub aggs: Vec<AggSpec>,
    /// Over group rows.
    pub having: Option<Expr>,
    /// Over output rows (view rows, or group rows when aggregated).
    pub order_by: Vec<SortKey>,
    pub limited: bool,
}

impl QueryShape {
    pub(crate) fn plain() -> QueryShape {
        QueryShape {
            aggregated: false,
            global: false,
            group: Vec::new(),
            aggs: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limited: false,
        }
    }
}

pub(crate) struct SourceChoice {
    pub view: Option<ViewSpec>,
    pub source: Source,
    pub guard: Option<Expr>,
    pub residual: Option<Expr>,
    pub grouping: Option<Grouping>,
    pub having: Option<Expr>,
    pub order_by: Vec<SortKey>,
    pub presorted: bool,
    pub cost: Cost,
}

/// A condition `column op expression-over-parameters`.
struct KeyCondition {
    index: usize,
    column: usize,
    op: CmpOp,
    value: Expr,
}

fn key_condition(index: usize, c: &Conjunct) -> Option<KeyCondition> {
    let Expr::Compare { op, left, right } = &c.expr else { return None };
    if *op == CmpOp::NotEq {
        return None;
    }
    let is_value = |e: &Expr| !e.reads_columns();
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column(col), v) if is_value(v) => Some(KeyCondition { index, column: *col, op: *op, value: v.clone() }),
        (v, Expr::Column(col)) if is_value(v) => {
            Some(KeyCondition { index, column: *col, op: op.flipped(), value: v.clone() })
        }
        _ => None,
    }
}

fn scan_message(c: &Conjunct, scope_hint: &str) -> Error {
    Error::ScanRequired(format!(
        "the condition `{}` needs a scan{scope_hint}: aotdb answers conditions with parameters through \
         `column = parameter` keys and one range `column < parameter` per statement; \
         rewrite it, or run the server with --allow-scans",
        c.text
    ))
}

pub(crate) fn choose_source(
    catalog: &Catalog,
    from: &FromClause<'_>,
    on: Vec<Vec<Conjunct>>,
    conditions: Vec<Conjunct>,
    shape: QueryShape,
    registry: &mut StructureRegistry<'_>,
) -> Result<SourceChoice> {
    let mut guard = Vec::new();
    let mut filters = Vec::new();
    let mut with_params = Vec::new();
    for c in conditions {
        match (c.expr.reads_columns(), c.expr.reads_params()) {
            (false, _) => guard.push(c.expr),
            (true, false) => filters.push(c),
            (true, true) => with_params.push(c),
        }
    }
    let guard = Expr::and_all(guard);
    let grouping = shape.aggregated.then(|| Grouping { group: shape.group.clone(), aggs: shape.aggs.clone() });

    if from.tables.is_empty() {
        let residual = Expr::and_all(filters.into_iter().chain(with_params).map(|c| c.expr).collect());
        return Ok(SourceChoice {
            view: None,
            source: Source::Constant,
            guard,
            residual,
            grouping,
            having: shape.having,
            order_by: shape.order_by,
            presorted: false,
            cost: Cost::Constant,
        });
    }

    let keys: Vec<KeyCondition> = with_params.iter().enumerate().filter_map(|(i, c)| key_condition(i, c)).collect();

    // A unique key fixed by equalities: one probe, then the joins.
    let candidates: Vec<usize> = if from.has_outer_joins() { vec![0] } else { (0..from.tables.len()).collect() };
    for t in candidates {
        let st = &from.scope.tables[t];
        for (u, unique) in st.table.uniques.iter().enumerate() {
            let found: Vec<&KeyCondition> = unique
                .columns
                .iter()
                .filter_map(|col| keys.iter().find(|k| k.op == CmpOp::Eq && k.column == st.offset + col))
                .collect();
            if found.len() != unique.columns.len() {
                continue;
            }
            let planned = plan_view(from, on.clone(), filters.clone(), Some(t), registry)?;
            let used: Vec<usize> = found.iter().map(|k| k.index).collect();
            let key = found.iter().map(|k| k.value.clone()).collect();
            let residual = Expr::and_all(
                with_params
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used.contains(i))
                    .map(|(_, c)| c.expr.clone())
                    .collect(),
            );
            let single_row =
                planned.view.steps[1..].iter().all(|s| matches!(s.lookup_index, Some(IndexRef::Unique { .. })));
            return Ok(SourceChoice {
                view: Some(planned.view),
                source: Source::Lookup { unique: u, key },
                guard,
                residual,
                grouping,
                having: shape.having,
                order_by: shape.order_by,
                presorted: false,
                cost: if single_row { Cost::Constant } else { Cost::LogPlusK },
            });
        }
    }

    // Otherwise a maintained structure over the view.
    let planned = plan_view(from, on, filters, None, registry)?;
    let view = planned.view;
    match structure_source(&view, &with_params, &keys, &shape, registry) {
        Ok((source, having, order_by, presorted, cost)) => Ok(SourceChoice {
            view: Some(view),
            source,
            guard,
            residual: None,
            grouping: None,
            having,
            order_by,
            presorted,
            cost,
        }),
        Err(e @ Error::ScanRequired(_)) if catalog.allow_scans() => {
            let _ = e;
            Ok(SourceChoice {
                view: Some(view),
                source: Source::Scan,
                guard,
                residual: Expr::and_all(with_params.into_iter().map(|c| c.expr).collect()),
                grouping,
                having: shape.having,
                order_by: shape.order_by,
                presorted: false,
                cost: Cost::Linear,
            })
        }
        Err(e) => Err(e),
    }
}

type StructureChoice = (Source, Option<Expr>, Vec<SortKey>, bool, Cost);

fn structure_source(
    view: &ViewSpec,
    with_params: &[Conjunct],
    keys: &[KeyCondition],
    shape: &QueryShape,
    registry: &mut StructureRegistry<'_>,
) -> Result<StructureChoice> {
    if let Some(step) = view.steps.iter().skip(1).find(|s| s.back.is_none()) {
        let _ = step;
        return Err(Error::ScanRequired(
            "a join condition does not compare a column with a column of an earlier table, so changes to the \
             joined table cannot be followed into a maintained view without a scan"
                .into(),
        ));
    }
    // Equalities first (one per column), then a range on one column.
    let mut used = vec![false; with_params.len()];
    let mut eq: Vec<(usize, Expr)> = Vec::new();
    for k in keys.iter().filter(|k| k.op == CmpOp::Eq) {
        if !eq.iter().any(|(c, _)| *c == k.column) {
            eq.push((k.column, k.value.clone()));
            used[k.index] = true;
        }
    }
    let range_column =
        keys.iter().find(|k| k.op != CmpOp::Eq && !eq.iter().any(|(c, _)| *c == k.column)).map(|k| k.column);
    let mut range = RangeBounds { lower: None, upper: None };
    if let Some(rc) = range_column {
        for k in keys.iter().filter(|k| k.column == rc && k.op != CmpOp::Eq) {
            let slot = match k.op {
                CmpOp::Gt | CmpOp::GtEq => &mut range.lower,
                _ => &mut range.upper,
            };
            if slot.is_none() {
                *slot = Some((k.value.clone(), matches!(k.op, CmpOp::GtEq | CmpOp::LtEq)));
                used[k.index] = true;
            }
        }
    }
    if let Some((i, _)) = used.iter().enumerate().find(|(_, u)| !**u) {
        return Err(scan_message(&with_params[i], ""));
    }
    let range = range_column.map(|_| range);
    let eq_exprs: Vec<Expr> = eq.iter().map(|(c, _)| Expr::Column(*c)).collect();
    let eq_values: Vec<Expr> = eq.into_iter().map(|(_, v)| v).collect();

    if !shape.aggregated {
        let (order, presorted) = match range_column {
            Some(rc) => match shape.order_by.first() {
                Some(first) if first.expr == Expr::Column(rc) => (specs(&shape.order_by), true),
                Some(_) if shape.limited => {
                    return Err(Error::ScanRequired(
                        "ORDER BY ... LIMIT with a range on a different column needs to read the whole range; \
                         order by the range column first, or drop LIMIT"
                            .into(),
                    ))
                }
                Some(_) => (vec![SortSpec { expr: Expr::Column(rc), descending: false, nulls_first: false }], false),
                None => (vec![SortSpec { expr: Expr::Column(rc), descending: false, nulls_first: false }], true),
            },
            None => (specs(&shape.order_by), true),
        };
        let structure = registry.get(StructureSpec::RowIndex { view: view.clone(), eq: eq_exprs, order });
        let source = Source::Rows { structure, eq: eq_values, range };
        return Ok((source, None, shape.order_by.clone(), presorted, Cost::LogPlusK));
    }

    if range.is_some() && shape.aggs.iter().any(|a| a.func == AggFunc::CountDistinct) {
        return Err(Error::ScanRequired(
            "COUNT(DISTINCT ...) over a parameterised range cannot be kept as running totals; it would need a scan of the range"
                .into(),
        ));
    }
    if shape.having.as_ref().is_some_and(|h| h.reads_params()) {
        return Err(Error::ScanRequired(
            "HAVING with parameters must look at every group; use a constant in HAVING".into(),
        ));
    }
    let group_order: Vec<SortKey> = (0..shape.group.len())
        .map(|i| SortKey { expr: Expr::Column(i), descending: false, nulls_first: false })
        .collect();
    let follows_groups =
        shape.order_by.len() <= group_order.len() && shape.order_by[..] == group_order[..shape.order_by.len()];
    let (output, having, presorted) = if !shape.global && range.is_none() && (shape.limited || shape.having.is_some()) {
        let order = if shape.order_by.is_empty() { specs(&group_order) } else { specs(&shape.order_by) };
        (Some(OutputOrder { order, having: shape.having.clone() }), None, true)
    } else if range.is_some() && shape.limited && !follows_groups {
        return Err(Error::ScanRequired(
            "ORDER BY over aggregates with LIMIT over a parameterised range would rank every group on every read"
                .into(),
        ));
    } else {
        (None, shape.having.clone(), shape.global || follows_groups)
    };
    let cost = match (shape.global, range.is_some()) {
        (true, false) => Cost::Constant,
        (true, true) => Cost::Log,
        (false, false) => Cost::LogPlusK,
        (false, true) => Cost::KLogN,
    };
    let mut spec = AggregateSpec {
        view: view.clone(),
        eq: eq_exprs,
        group: shape.group.clone(),
        aggs: shape.aggs.clone(),
        range: range_column.map(Expr::Column),
        output,
    };
    if crate::partials::partial_plan(&spec).is_some() {
        // Storage follows the joined table's changes through the partials,
        // never by walking back to the fact rows: the way back, and the
        // index on the fact table it would need, are not kept.
        for step in &mut spec.view.steps[1..] {
            if let Some(back) = step.back.take() {
                if let IndexRef::Derived(id) = back.index {
                    registry.release_if_unreferenced(id);
                }
            }
        }
    }
    let structure = registry.get(StructureSpec::Aggregate(spec));
    let source = Source::Groups { structure, eq: eq_values, range };
    Ok((source, having, shape.order_by.clone(), presorted, cost))
}

fn specs(keys: &[SortKey]) -> Vec<SortSpec> {
    keys.iter()
        .map(|k| SortSpec { expr: k.expr.clone(), descending: k.descending, nulls_first: k.nulls_first })
        .collect()
}
