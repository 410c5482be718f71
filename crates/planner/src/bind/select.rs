//! Binding SELECT: FROM and joins, WHERE split into conditions, grouping
//! and aggregates, the select list, ORDER BY, LIMIT and OFFSET; then the
//! source (a lookup, a maintained structure, or a scan) is chosen.

use std::sync::Arc;

use sqlparser::ast;

use super::expr::{is_aggregate_name, Bound, ExprBinder, AGGREGATE_MARK, GROUP_MARK};
use super::from::bind_from;
use super::params::Params;
use super::scope::Scope;
use super::source::{choose_source, QueryShape, SourceChoice};
use super::view::Conjunct;
use super::{ident_name, object_name};
use crate::catalog::{Catalog, TableDef, TableId};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Cost, OutputColumn, Plan, SelectPlan, SortKey};
use crate::structure::AggSpec;
use crate::structure_registry::StructureRegistry;
use crate::types::DataType;

pub(crate) struct BoundSelect {
    pub plan: Plan,
    pub columns: Vec<OutputColumn>,
    pub tables: Vec<TableId>,
    pub cost: Cost,
}

pub(crate) fn bind_select(
    catalog: &Catalog,
    query: &ast::Query,
    params: &mut Params,
    registry: &mut StructureRegistry<'_>,
) -> Result<BoundSelect> {
    if query.with.is_some() {
        return Err(Error::Unsupported("WITH is not supported".into()));
    }
    if query.fetch.is_some() || !query.locks.is_empty() || query.for_clause.is_some() {
        return Err(Error::Unsupported("FETCH, FOR UPDATE and FOR clauses are not supported".into()));
    }
    let select = match query.body.as_ref() {
        ast::SetExpr::Select(s) => s,
        ast::SetExpr::Query(_) => return Err(Error::Unsupported("nested queries are not supported".into())),
        ast::SetExpr::SetOperation { op, .. } => return Err(Error::Unsupported(format!("{op} is not supported"))),
        ast::SetExpr::Values(_) => return Err(Error::Unsupported("a bare VALUES list is not supported".into())),
        other => return Err(Error::Unsupported(format!("query {other} is not supported"))),
    };
    let distinct = match &select.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(ast::Distinct::On(_)) => return Err(Error::Unsupported("DISTINCT ON is not supported".into())),
    };
    if select.top.is_some() || select.into.is_some() || select.qualify.is_some() || !select.named_window.is_empty() {
        return Err(Error::Unsupported("TOP, INTO, QUALIFY and WINDOW are not supported".into()));
    }
    let group_by_asts: &[ast::Expr] = match &select.group_by {
        ast::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs,
        _ => return Err(Error::Unsupported("GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS are not supported".into())),
    };

    let from = bind_from(catalog, &select.from)?;
    let scope = from.scope.clone();
    let mut binder = ExprBinder { scope: &scope, params, aggregates: None };

    // ON conditions: no parameters (a view is kept without them).
    let mut on: Vec<Vec<Conjunct>> = Vec::with_capacity(from.tables.len());
    for t in &from.tables {
        let mut conds = Vec::new();
        if let Some(e) = t.on {
            for c in bind_conjuncts(&mut binder, e, "JOIN/ON")? {
                if c.expr.reads_params() {
                    return Err(Error::Unsupported(format!(
                        "parameters in ON conditions are not supported (`{}`); put the condition in WHERE",
                        c.text
                    )));
                }
                conds.push(c);
            }
        }
        on.push(conds);
    }
    let conditions = match &select.selection {
        Some(e) => bind_conjuncts(&mut binder, e, "WHERE")?,
        None => Vec::new(),
    };

    // Grouping.
    let has_aggregates = select.projection.iter().any(|i| match i {
        ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => contains_aggregate(e),
        _ => false,
    }) || select.having.is_some()
        || query.order_by.as_ref().is_some_and(|o| match &o.kind {
            ast::OrderByKind::Expressions(list) => list.iter().any(|x| contains_aggregate(&x.expr)),
            _ => false,
        });
    let mut group: Vec<Expr> = Vec::new();
    for g in group_by_asts {
        let e = group_by_target(g, &select.projection)?;
        let b = binder.bind(e, None)?;
        if !group.contains(&b.expr) {
            group.push(b.expr);
        }
    }
    let grouped = has_aggregates || !group_by_asts.is_empty();

    let mut projection = Vec::new();
    let mut columns = Vec::new();
    if grouped {
        binder.aggregates = Some(Vec::new());
    }
    for item in &select.projection {
        bind_select_item(&mut binder, &scope, item, &mut projection, &mut columns)?;
    }
    let having = match &select.having {
        Some(h) => Some(binder.bind_predicate(h, "HAVING")?),
        None => None,
    };

    // ORDER BY keys, over the same row the select list is over.
    let mut order_by = Vec::new();
    if let Some(ob) = &query.order_by {
        let exprs = match &ob.kind {
            ast::OrderByKind::Expressions(exprs) => exprs,
            ast::OrderByKind::All(_) => return Err(Error::Unsupported("ORDER BY ALL is not supported".into())),
        };
        for o in exprs {
            let expr = order_key(&mut binder, &o.expr, &projection, &columns)?;
            if expr.reads_params() {
                return Err(Error::Unsupported("ORDER BY must not depend on parameters".into()));
            }
            let descending = match &o.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(_) => return Err(Error::Unsupported("ORDER BY ... USING is not supported".into())),
            };
            // PostgreSQL: NULLs sort as larger than everything, so last
            // ascending and first descending unless told otherwise.
            let nulls_first = o.options.nulls_first.unwrap_or(descending);
            order_by.push(SortKey { expr, descending, nulls_first });
        }
    }
    let aggs: Vec<AggSpec> = binder.aggregates.take().unwrap_or_default();
    let (limit, offset) = limit_offset(&mut binder, query.limit_clause.as_ref())?;

    // Rewrite everything above the grouping over group rows.
    let (group, aggs, projection, having, order_by, global, read_distinct) = if grouped {
        let n = group.len();
        let projection: Vec<Expr> = projection.iter().map(|e| regroup(e, &group, n, &scope)).collect::<Result<_>>()?;
        let having = having.map(|h| regroup(&h, &group, n, &scope)).transpose()?;
        let order_by = order_by
            .into_iter()
            .map(|k| Ok(SortKey { expr: regroup(&k.expr, &group, n, &scope)?, ..k }))
            .collect::<Result<Vec<_>>>()?;
        let global = group.is_empty();
        (group, aggs, projection, having, order_by, global, distinct)
    } else if distinct {
        // SELECT DISTINCT is grouping by the select list.
        let mut group: Vec<Expr> = Vec::new();
        for e in &projection {
            if !group.contains(e) {
                group.push(e.clone());
            }
        }
        let projection: Vec<Expr> =
            projection.iter().map(|e| Expr::Column(group.iter().position(|g| g == e).unwrap_or(0))).collect();
        let order_by = order_by
            .into_iter()
            .map(|k| {
                let e = k.expr.replace_subexpressions(&group, GROUP_MARK);
                if e.columns().iter().any(|c| *c < GROUP_MARK) {
                    return Err(Error::Syntax(
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list".into(),
                    ));
                }
                Ok(SortKey { expr: e.map_columns(&|c| c - GROUP_MARK), ..k })
            })
            .collect::<Result<Vec<_>>>()?;
        (group, Vec::new(), projection, None, order_by, false, false)
    } else {
        (Vec::new(), Vec::new(), projection, None, order_by, false, false)
    };
    let aggregated = grouped || distinct;

    let shape =
        QueryShape { aggregated, global, group, aggs, having, order_by, limited: limit.is_some() || offset.is_some() };
    let tables: Vec<TableId> = from.tables.iter().map(|t| t.table.id).collect();
    let choice: SourceChoice = choose_source(catalog, &from, on, conditions, shape, registry)?;
    let plan = SelectPlan {
        view: choice.view,
        source: choice.source,
        guard: choice.guard,
        residual: choice.residual,
        grouping: choice.grouping,
        aggregated,
        global_aggregate: global,
        having: choice.having,
        order_by: choice.order_by,
        presorted: choice.presorted,
        distinct: read_distinct,
        projection,
        offset,
        limit,
    };
    Ok(BoundSelect { plan: Plan::Select(plan), columns, tables, cost: choice.cost })
}

/// Binds a WHERE/ON clause as a list of conditions, each with its SQL.
pub(crate) fn bind_conjuncts(binder: &mut ExprBinder<'_>, e: &ast::Expr, clause: &str) -> Result<Vec<Conjunct>> {
    let mut asts = Vec::new();
    split_and(e, &mut asts);
    let mut out = Vec::new();
    for a in asts {
        let bound = binder.bind_predicate(a, clause)?;
        let text = a.to_string();
        for part in bound.conjuncts() {
            out.push(Conjunct { expr: part, text: text.clone() });
        }
    }
    Ok(out)
}

fn split_and<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    match e {
        ast::Expr::BinaryOp { left, op: ast::BinaryOperator::And, right } => {
            split_and(left, out);
            split_and(right, out);
        }
        ast::Expr::Nested(inner)
            if matches!(inner.as_ref(), ast::Expr::BinaryOp { op: ast::BinaryOperator::And, .. }) =>
        {
            split_and(inner, out)
        }
        other => out.push(other),
    }
}

fn contains_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as A;
    match e {
        A::Function(f) => {
            if object_name(&f.name).is_ok_and(|n| is_aggregate_name(&n)) {
                return true;
            }
            match &f.args {
                ast::FunctionArguments::List(list) => list.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => contains_aggregate(x),
                    _ => false,
                }),
                _ => false,
            }
        }
        A::BinaryOp { left, right, .. } => contains_aggregate(left) || contains_aggregate(right),
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::Cast { expr, .. }
        | A::IsNull(expr)
        | A::IsNotNull(expr)
        | A::IsTrue(expr)
        | A::IsNotTrue(expr)
        | A::IsFalse(expr)
        | A::IsNotFalse(expr) => contains_aggregate(expr),
        A::Between { expr, low, high, .. } => [expr, low, high].iter().any(|x| contains_aggregate(x)),
        A::In { expr, target: ast::InTarget::List(list), .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        A::Like { expr, pattern, .. } | A::ILike { expr, pattern, .. } => {
            contains_aggregate(expr) || contains_aggregate(pattern)
        }
        A::Case { operand, conditions, else_result, .. } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || conditions.iter().any(|w| contains_aggregate(&w.condition) || contains_aggregate(&w.result))
                || else_result.as_deref().is_some_and(contains_aggregate)
        }
        A::IsDistinctFrom(l, r) | A::IsNotDistinctFrom(l, r) => contains_aggregate(l) || contains_aggregate(r),
        _ => false,
    }
}

/// A GROUP BY item: an ordinal or an output alias stands for that select
/// item's expression.
fn group_by_target<'a>(g: &'a ast::Expr, projection: &'a [ast::SelectItem]) -> Result<&'a ast::Expr> {
    if let ast::Expr::Value(v) = g {
        if let ast::Value::Number(n, _) = &v.value {
            let i: usize = n.parse().map_err(|_| Error::Syntax(format!("GROUP BY position {n} is not an integer")))?;
            return match projection.get(i.wrapping_sub(1)) {
                Some(ast::SelectItem::UnnamedExpr(e)) | Some(ast::SelectItem::ExprWithAlias { expr: e, .. }) => Ok(e),
                _ => Err(Error::Syntax(format!("GROUP BY position {i} is not in select list"))),
            };
        }
    }
    if let ast::Expr::Identifier(ident) = g {
        let name = ident_name(ident);
        for item in projection {
            if let ast::SelectItem::ExprWithAlias { expr, alias } = item {
                if ident_name(alias) == name {
                    return Ok(expr);
                }
            }
        }
    }
    Ok(g)
}

/// Rewrites an expression bound over view rows (with aggregates as
/// marked columns) to run over group rows: GROUP BY expressions become
/// the first columns, aggregates the ones after. A view column left over
/// is a column neither grouped nor aggregated.
fn regroup(e: &Expr, group: &[Expr], n: usize, scope: &Scope) -> Result<Expr> {
    let replaced = e.replace_subexpressions(group, GROUP_MARK);
    if let Some(c) = replaced.columns().into_iter().find(|c| *c < GROUP_MARK) {
        let name = scope.column_name(c).unwrap_or_else(|| format!("#{c}"));
        return Err(Error::Syntax(format!(
            "column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"
        )));
    }
    Ok(replaced.map_columns(&|c| if c >= AGGREGATE_MARK { n + (c - AGGREGATE_MARK) } else { c - GROUP_MARK }))
}

/// A plain table reference with an optional alias.
pub(crate) fn table_factor(catalog: &Catalog, factor: &ast::TableFactor) -> Result<(Arc<TableDef>, Option<String>)> {
    let ast::TableFactor::Table { name, alias, args: None, .. } = factor else {
        return Err(Error::Unsupported(format!("FROM {factor} is not supported; name a table")));
    };
    let table = lookup_table(catalog, name)?;
    let alias = match alias {
        None => None,
        Some(a) if a.columns.is_empty() => Some(ident_name(&a.name)),
        Some(_) => return Err(Error::Unsupported("column aliases in FROM are not supported".into())),
    };
    Ok((table, alias))
}

pub(crate) fn lookup_table(catalog: &Catalog, name: &ast::ObjectName) -> Result<Arc<TableDef>> {
    let name = object_name(name)?;
    catalog.table_by_name(&name).cloned().ok_or_else(|| Error::Schema(format!("relation \"{name}\" does not exist")))
}

/// Binds one select-list item, appending its expressions and columns.
pub(crate) fn bind_select_item(
    binder: &mut ExprBinder<'_>,
    scope: &Scope,
    item: &ast::SelectItem,
    projection: &mut Vec<Expr>,
    columns: &mut Vec<OutputColumn>,
) -> Result<()> {
    let (expr, alias) = match item {
        ast::SelectItem::Wildcard(opts) => {
            reject_wildcard_options(opts)?;
            if scope.tables.is_empty() {
                return Err(Error::Syntax("SELECT * with no tables specified is not valid".into()));
            }
            for (name, position, ty) in scope.columns(None)? {
                projection.push(Expr::Column(position));
                columns.push(OutputColumn { name, ty });
            }
            return Ok(());
        }
        ast::SelectItem::QualifiedWildcard(kind, opts) => {
            reject_wildcard_options(opts)?;
            let ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                return Err(Error::Unsupported(format!("{item} is not supported")));
            };
            let qualifier = object_name(name)?;
            for (name, position, ty) in scope.columns(Some(&qualifier))? {
                projection.push(Expr::Column(position));
                columns.push(OutputColumn { name, ty });
            }
            return Ok(());
        }
        ast::SelectItem::UnnamedExpr(e) => (e, None),
        ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(ident_name(alias))),
        other => return Err(Error::Unsupported(format!("select item {other} is not supported"))),
    };
    let Bound { expr: bound, ty } = binder.bind(expr, None)?;
    projection.push(bound);
    columns.push(OutputColumn {
        name: alias.unwrap_or_else(|| default_column_name(expr)),
        // An untyped NULL is reported as text, as PostgreSQL does.
        ty: ty.unwrap_or(DataType::Text),
    });
    Ok(())
}

fn reject_wildcard_options(opts: &ast::WildcardAdditionalOptions) -> Result<()> {
    if opts.opt_exclude.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
        || opts.opt_ilike.is_some()
    {
        return Err(Error::Unsupported("wildcard options are not supported".into()));
    }
    Ok(())
}

/// The column name PostgreSQL would report for an unaliased expression.
pub(crate) fn default_column_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => ident_name(i),
        ast::Expr::CompoundIdentifier(path) => path.last().map(ident_name).unwrap_or_default(),
        ast::Expr::Function(f) => object_name(&f.name).unwrap_or_else(|_| "?column?".into()),
        ast::Expr::Nested(inner) => default_column_name(inner),
        ast::Expr::Cast { expr, .. } => match expr.as_ref() {
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => default_column_name(expr),
            _ => "?column?".into(),
        },
        ast::Expr::Case { .. } => "case".into(),
        _ => "?column?".into(),
    }
}

/// An ORDER BY key: an output column by position or name, or an
/// expression over the input row.
fn order_key(
    binder: &mut ExprBinder<'_>,
    e: &ast::Expr,
    projection: &[Expr],
    columns: &[OutputColumn],
) -> Result<Expr> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            let position: usize =
                n.parse().map_err(|_| Error::Syntax(format!("ORDER BY position {n} is not an integer")))?;
            if position == 0 || position > projection.len() {
                return Err(Error::Syntax(format!("ORDER BY position {position} is not in select list")));
            }
            return Ok(projection[position - 1].clone());
        }
    }
    if let ast::Expr::Identifier(ident) = e {
        let name = ident_name(ident);
        let matches: Vec<usize> = columns.iter().enumerate().filter(|(_, c)| c.name == name).map(|(i, _)| i).collect();
        if let [only] = matches[..] {
            return Ok(projection[only].clone());
        }
    }
    Ok(binder.bind(e, None)?.expr)
}

fn limit_offset(
    binder: &mut ExprBinder<'_>,
    clause: Option<&ast::LimitClause>,
) -> Result<(Option<Expr>, Option<Expr>)> {
    let (limit, offset) = match clause {
        None => return Ok((None, None)),
        Some(ast::LimitClause::LimitOffset { limit, offset, limit_by }) => {
            if !limit_by.is_empty() {
                return Err(Error::Unsupported("LIMIT BY is not supported".into()));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    };
    let saved = binder.aggregates.take();
    let mut bind_count = |e: Option<&ast::Expr>, what: &str| -> Result<Option<Expr>> {
        let Some(e) = e else { return Ok(None) };
        let b = binder.bind(e, Some(DataType::BigInt))?;
        if b.expr.reads_columns() {
            return Err(Error::Syntax(format!("argument of {what} must not contain variables")));
        }
        match b.ty {
            None => Ok(None), // LIMIT NULL means no limit
            Some(t) if t.is_integer() => Ok(Some(b.expr)),
            Some(t) => Err(Error::Type(format!("argument of {what} must be type bigint, not type {}", t.sql_name()))),
        }
    };
    let result = (bind_count(limit, "LIMIT")?, bind_count(offset, "OFFSET")?);
    binder.aggregates = saved;
    Ok(result)
}
