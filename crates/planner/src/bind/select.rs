//! Binding SELECT: the select list, WHERE, ORDER BY, LIMIT and OFFSET.

use std::sync::Arc;

use sqlparser::ast;

use super::access::unique_access;
use super::expr::{is_aggregate_name, Bound, ExprBinder};
use super::params::Params;
use super::scope::Scope;
use super::{ident_name, object_name};
use crate::catalog::{Catalog, TableDef, TableId};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Access, OutputColumn, Plan, SelectPlan, SortKey};
use crate::types::DataType;

pub(crate) fn bind_select(
    catalog: &Catalog,
    query: &ast::Query,
    params: &mut Params,
) -> Result<(Plan, Vec<OutputColumn>, Vec<TableId>)> {
    if query.with.is_some() {
        return Err(Error::Unsupported("WITH is not supported".into()));
    }
    if query.fetch.is_some() || !query.locks.is_empty() || query.for_clause.is_some() {
        return Err(Error::Unsupported(
            "FETCH, FOR UPDATE and FOR clauses are not supported".into(),
        ));
    }
    let select = match query.body.as_ref() {
        ast::SetExpr::Select(s) => s,
        ast::SetExpr::Query(_) => {
            return Err(Error::Unsupported(
                "nested queries are not supported".into(),
            ))
        }
        ast::SetExpr::SetOperation { op, .. } => {
            return Err(Error::Unsupported(format!("{op} is not supported")))
        }
        ast::SetExpr::Values(_) => {
            return Err(Error::Unsupported(
                "a bare VALUES list is not supported".into(),
            ))
        }
        other => {
            return Err(Error::Unsupported(format!(
                "query {other} is not supported"
            )))
        }
    };
    let distinct = match &select.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(ast::Distinct::On(_)) => {
            return Err(Error::Unsupported("DISTINCT ON is not supported".into()))
        }
    };
    match &select.group_by {
        ast::GroupByExpr::Expressions(exprs, modifiers)
            if exprs.is_empty() && modifiers.is_empty() => {}
        _ => return Err(Error::Unsupported("GROUP BY is not supported yet".into())),
    }
    if select.having.is_some() {
        return Err(Error::Unsupported("HAVING is not supported yet".into()));
    }
    if select.top.is_some()
        || select.into.is_some()
        || select.qualify.is_some()
        || !select.named_window.is_empty()
    {
        return Err(Error::Unsupported(
            "TOP, INTO, QUALIFY and WINDOW are not supported".into(),
        ));
    }

    let (scope, table) = from_clause(catalog, &select.from)?;
    let mut binder = ExprBinder {
        scope: &scope,
        params,
    };

    let (access, filter) = match &table {
        None => {
            let filter = select
                .selection
                .as_ref()
                .map(|s| binder.bind_predicate(s, "WHERE"))
                .transpose()?;
            (Access::Constant, filter)
        }
        Some(t) => unique_access(&mut binder, t, &scope, select.selection.as_ref(), "SELECT")?,
    };

    let mut projection = Vec::new();
    let mut columns = Vec::new();
    for item in &select.projection {
        bind_select_item(&mut binder, &scope, item, &mut projection, &mut columns)?;
    }

    let mut order_by = Vec::new();
    if let Some(ob) = &query.order_by {
        let exprs = match &ob.kind {
            ast::OrderByKind::Expressions(exprs) => exprs,
            ast::OrderByKind::All(_) => {
                return Err(Error::Unsupported("ORDER BY ALL is not supported".into()))
            }
        };
        for o in exprs {
            let expr = order_key(&mut binder, &o.expr, &projection, &columns, distinct)?;
            let descending = match &o.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(_) => {
                    return Err(Error::Unsupported(
                        "ORDER BY ... USING is not supported".into(),
                    ))
                }
            };
            // PostgreSQL: NULLs sort as larger than everything, so last
            // ascending and first descending unless told otherwise.
            let nulls_first = o.options.nulls_first.unwrap_or(descending);
            order_by.push(SortKey {
                expr,
                descending,
                nulls_first,
            });
        }
    }

    let (limit, offset) = limit_offset(&mut binder, query.limit_clause.as_ref())?;
    let tables = table.iter().map(|t| t.id).collect();
    let plan = SelectPlan {
        access,
        filter,
        projection,
        distinct,
        order_by,
        offset,
        limit,
    };
    Ok((Plan::Select(plan), columns, tables))
}

/// The FROM clause: nothing, or one table (joins come with the planner).
fn from_clause(
    catalog: &Catalog,
    from: &[ast::TableWithJoins],
) -> Result<(Scope, Option<Arc<TableDef>>)> {
    match from {
        [] => Ok((Scope::default(), None)),
        [twj] => {
            if !twj.joins.is_empty() {
                return Err(Error::Unsupported("joins are not supported yet".into()));
            }
            let (table, alias) = table_factor(catalog, &twj.relation)?;
            Ok((Scope::single(table.clone(), alias), Some(table)))
        }
        _ => Err(Error::Unsupported("joins are not supported yet".into())),
    }
}

/// A plain table reference with an optional alias.
pub(crate) fn table_factor(
    catalog: &Catalog,
    factor: &ast::TableFactor,
) -> Result<(Arc<TableDef>, Option<String>)> {
    let ast::TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = factor
    else {
        return Err(Error::Unsupported(format!(
            "FROM {factor} is not supported; name a table"
        )));
    };
    let table = lookup_table(catalog, name)?;
    let alias = match alias {
        None => None,
        Some(a) if a.columns.is_empty() => Some(ident_name(&a.name)),
        Some(_) => {
            return Err(Error::Unsupported(
                "column aliases in FROM are not supported".into(),
            ))
        }
    };
    Ok((table, alias))
}

pub(crate) fn lookup_table(catalog: &Catalog, name: &ast::ObjectName) -> Result<Arc<TableDef>> {
    let name = object_name(name)?;
    catalog
        .table_by_name(&name)
        .cloned()
        .ok_or_else(|| Error::Schema(format!("relation \"{name}\" does not exist")))
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
                return Err(Error::Syntax(
                    "SELECT * with no tables specified is not valid".into(),
                ));
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
        other => {
            return Err(Error::Unsupported(format!(
                "select item {other} is not supported"
            )))
        }
    };
    reject_aggregates(expr)?;
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
        return Err(Error::Unsupported(
            "wildcard options are not supported".into(),
        ));
    }
    Ok(())
}

/// Aggregates come with the planner's GROUP BY support; until then they
/// are refused with a message that says so.
fn reject_aggregates(e: &ast::Expr) -> Result<()> {
    if let ast::Expr::Function(f) = e {
        if let Ok(name) = object_name(&f.name) {
            if is_aggregate_name(&name) {
                return Err(Error::Unsupported(format!(
                    "aggregate function {name}() is not supported yet"
                )));
            }
        }
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
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => {
                default_column_name(expr)
            }
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
    distinct: bool,
) -> Result<Expr> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            let position: usize = n
                .parse()
                .map_err(|_| Error::Syntax(format!("ORDER BY position {n} is not an integer")))?;
            if position == 0 || position > projection.len() {
                return Err(Error::Syntax(format!(
                    "ORDER BY position {position} is not in select list"
                )));
            }
            return Ok(projection[position - 1].clone());
        }
    }
    if let ast::Expr::Identifier(ident) = e {
        let name = ident_name(ident);
        let matches: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == name)
            .map(|(i, _)| i)
            .collect();
        if let [only] = matches[..] {
            // Prefer the output column, as PostgreSQL does, unless it is
            // just the same input column anyway.
            return Ok(projection[only].clone());
        }
    }
    let bound = binder.bind(e, None)?.expr;
    if distinct && !projection.contains(&bound) {
        return Err(Error::Syntax(
            "for SELECT DISTINCT, ORDER BY expressions must appear in select list".into(),
        ));
    }
    Ok(bound)
}

fn limit_offset(
    binder: &mut ExprBinder<'_>,
    clause: Option<&ast::LimitClause>,
) -> Result<(Option<Expr>, Option<Expr>)> {
    let (limit, offset) = match clause {
        None => return Ok((None, None)),
        Some(ast::LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(Error::Unsupported("LIMIT BY is not supported".into()));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    };
    let mut bind_count = |e: Option<&ast::Expr>, what: &str| -> Result<Option<Expr>> {
        let Some(e) = e else { return Ok(None) };
        let b = binder.bind(e, Some(DataType::BigInt))?;
        if b.expr.reads_columns() {
            return Err(Error::Syntax(format!(
                "argument of {what} must not contain variables"
            )));
        }
        match b.ty {
            None => Ok(None), // LIMIT NULL means no limit
            Some(t) if t.is_integer() => Ok(Some(b.expr)),
            Some(t) => Err(Error::Type(format!(
                "argument of {what} must be type bigint, not type {}",
                t.sql_name()
            ))),
        }
    };
    Ok((bind_count(limit, "LIMIT")?, bind_count(offset, "OFFSET")?))
}
