//! Binding INSERT, UPDATE and DELETE.

use sqlparser::ast;

use super::expr::ExprBinder;
use super::from::{bind_from, FromClause};
use super::params::Params;
use super::scope::{Scope, ScopeTable};
use super::select::{bind_conjuncts, bind_select_item, lookup_table, BoundSelect};
use super::source::{choose_source, QueryShape};
use super::{ident_name, object_name};
use crate::catalog::{Catalog, TableDef};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{
    ConflictAction, Cost, DeletePlan, InsertPlan, OnConflict, OutputColumn, Plan, RowFinder, UpdatePlan,
};
use crate::structure_registry::StructureRegistry;
use crate::value::Value;
use std::sync::Arc;

type Bound = BoundSelect;

/// How UPDATE and DELETE find their rows: the same choice a SELECT over
/// the one table would make.
fn row_finder(
    catalog: &Catalog,
    from: &FromClause<'_>,
    binder: &mut ExprBinder<'_>,
    selection: Option<&ast::Expr>,
    registry: &mut StructureRegistry<'_>,
) -> Result<(RowFinder, Cost)> {
    let conditions = match selection {
        Some(e) => bind_conjuncts(binder, e, "WHERE")?,
        None => Vec::new(),
    };
    let choice = choose_source(catalog, from, vec![Vec::new()], conditions, QueryShape::plain(), registry)?;
    let view = choice.view.ok_or_else(|| Error::Internal("write without a table".into()))?;
    Ok((RowFinder { view, source: choice.source, guard: choice.guard, residual: choice.residual }, choice.cost))
}

pub(crate) fn bind_insert(catalog: &Catalog, insert: &ast::Insert, params: &mut Params) -> Result<Bound> {
    if insert.or.is_some()
        || insert.ignore
        || insert.overwrite
        || insert.replace_into
        || insert.partitioned.is_some()
        || !insert.assignments.is_empty()
        || insert.overriding.is_some()
    {
        return Err(Error::Unsupported("only INSERT INTO table [(columns)] VALUES ... is supported".into()));
    }
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(Error::Unsupported("INSERT into a table function is not supported".into()));
    };
    let table = lookup_table(catalog, name)?;
    let alias = insert.table_alias.as_ref().map(|a| ident_name(&a.alias));
    let scope = Scope::single(table.clone(), alias);

    let targets: Vec<usize> = if insert.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut targets = Vec::with_capacity(insert.columns.len());
        for c in &insert.columns {
            let name = object_name(c)?;
            let i = table.column_index(&name).ok_or_else(|| {
                Error::Schema(format!("column \"{name}\" of relation \"{}\" does not exist", table.name))
            })?;
            if targets.contains(&i) {
                return Err(Error::Schema(format!("column \"{name}\" specified more than once")));
            }
            targets.push(i);
        }
        targets
    };

    let Some(source) = &insert.source else {
        return Err(Error::Syntax("INSERT needs VALUES".into()));
    };
    let ast::SetExpr::Values(values) = source.body.as_ref() else {
        return Err(Error::Unsupported("INSERT ... SELECT is not supported; use VALUES".into()));
    };
    if source.order_by.is_some() || source.limit_clause.is_some() || source.with.is_some() {
        return Err(Error::Unsupported("INSERT ... VALUES with ORDER BY/LIMIT/WITH is not supported".into()));
    }

    // Expressions in VALUES see no columns (PostgreSQL's rule).
    let empty = Scope::default();
    let mut binder = ExprBinder { scope: &empty, params, aggregates: None };
    let mut rows = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        if row.len() > targets.len() {
            return Err(Error::Syntax("INSERT has more expressions than target columns".into()));
        }
        if row.len() < targets.len() {
            return Err(Error::Syntax("INSERT has more target columns than expressions".into()));
        }
        let mut full: Vec<Expr> =
            table.columns.iter().map(|c| Expr::Const(c.default.clone().unwrap_or(Value::Null))).collect();
        for (e, &col) in row.iter().zip(&targets) {
            if is_default_keyword(e) {
                continue;
            }
            let column = &table.columns[col];
            full[col] = binder.bind_for_column(e, column.ty, &column.name)?;
        }
        rows.push(full);
    }

    let on_conflict = match &insert.on {
        None => None,
        Some(ast::OnInsert::OnConflict(oc)) => Some(bind_on_conflict(&table, &scope, params, oc)?),
        Some(other) => return Err(Error::Unsupported(format!("{other} is not supported; use ON CONFLICT"))),
    };
    let (returning, columns) = bind_returning(&scope, params, insert.returning.as_deref())?;
    let plan = InsertPlan { table: table.id, rows, returning, on_conflict };
    Ok(BoundSelect { plan: Plan::Insert(plan), columns, tables: vec![table.id], cost: Cost::Constant })
}

/// ON CONFLICT [target] DO NOTHING | DO UPDATE SET ... [WHERE ...]. The
/// target must name a unique index; DO UPDATE sees the existing row and
/// `EXCLUDED`, the row that was to be inserted.
fn bind_on_conflict(
    table: &Arc<TableDef>,
    scope: &Scope,
    params: &mut Params,
    oc: &ast::OnConflict,
) -> Result<OnConflict> {
    let no_match =
        || Error::Schema("there is no unique or exclusion constraint matching the ON CONFLICT specification".into());
    let unique = match &oc.conflict_target {
        None => None,
        Some(ast::ConflictTarget::Columns { columns, predicate }) => {
            if predicate.is_some() {
                return Err(Error::Unsupported("ON CONFLICT (...) WHERE is not supported".into()));
            }
            let mut cols = Vec::new();
            for c in columns {
                let name = ident_name(c);
                cols.push(
                    table
                        .column_index(&name)
                        .ok_or_else(|| Error::Schema(format!("column \"{name}\" does not exist")))?,
                );
            }
            cols.sort_unstable();
            let found = table.uniques.iter().position(|u| {
                let mut u = u.columns.clone();
                u.sort_unstable();
                u == cols
            });
            Some(found.ok_or_else(no_match)?)
        }
        Some(ast::ConflictTarget::OnConstraint(name)) => {
            let name = object_name(name)?;
            Some(table.uniques.iter().position(|u| u.name == name).ok_or_else(no_match)?)
        }
    };
    let action = match &oc.action {
        ast::OnConflictAction::DoNothing => ConflictAction::Nothing,
        ast::OnConflictAction::DoUpdate(update) => {
            if unique.is_none() {
                return Err(Error::Syntax(
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name".into(),
                ));
            }
            let mut both = scope.clone();
            both.tables.push(ScopeTable {
                alias: "excluded".into(),
                table: table.clone(),
                offset: table.columns.len(),
            });
            let mut binder = ExprBinder { scope: &both, params, aggregates: None };
            let mut assignments: Vec<(usize, Expr)> = Vec::new();
            for a in &update.assignments {
                let ast::AssignmentTarget::ColumnName(name) = &a.target else {
                    return Err(Error::Unsupported("assigning to a tuple of columns is not supported".into()));
                };
                let col = assignment_column(table, name)?;
                let column = &table.columns[col];
                let expr = if is_default_keyword(&a.value) {
                    Expr::Const(column.default.clone().unwrap_or(Value::Null))
                } else {
                    binder.bind_for_column(&a.value, column.ty, &column.name)?
                };
                assignments.push((col, expr));
            }
            let filter = update.selection.as_ref().map(|w| binder.bind_predicate(w, "WHERE")).transpose()?;
            ConflictAction::Update { assignments, filter }
        }
    };
    Ok(OnConflict { unique, action })
}

fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

pub(crate) fn bind_update(
    catalog: &Catalog,
    update: &ast::Update,
    params: &mut Params,
    registry: &mut StructureRegistry<'_>,
) -> Result<Bound> {
    if update.from.is_some() || !update.table.joins.is_empty() {
        return Err(Error::Unsupported("UPDATE ... FROM and joins in UPDATE are not supported".into()));
    }
    if update.or.is_some() || !update.order_by.is_empty() || update.limit.is_some() {
        return Err(Error::Unsupported("UPDATE with OR/ORDER BY/LIMIT is not supported".into()));
    }
    let from = bind_from(catalog, std::slice::from_ref(&update.table))?;
    let table = from.tables[0].table.clone();
    let scope = from.scope.clone();
    let mut binder = ExprBinder { scope: &scope, params, aggregates: None };
    let (finder, cost) = row_finder(catalog, &from, &mut binder, update.selection.as_ref(), registry)?;

    let mut assignments: Vec<(usize, Expr)> = Vec::new();
    for a in &update.assignments {
        let ast::AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(Error::Unsupported("assigning to a tuple of columns is not supported".into()));
        };
        let col = assignment_column(&table, name)?;
        if assignments.iter().any(|(c, _)| *c == col) {
            return Err(Error::Schema(format!("multiple assignments to same column \"{}\"", table.columns[col].name)));
        }
        let column = &table.columns[col];
        let expr = if is_default_keyword(&a.value) {
            Expr::Const(column.default.clone().unwrap_or(Value::Null))
        } else {
            binder.bind_for_column(&a.value, column.ty, &column.name)?
        };
        assignments.push((col, expr));
    }
    let (returning, columns) = bind_returning(&scope, params, update.returning.as_deref())?;
    let plan = UpdatePlan { table: table.id, finder, assignments, returning };
    Ok(BoundSelect { plan: Plan::Update(plan), columns, tables: vec![table.id], cost })
}

/// The column an assignment targets; a qualifier must name the table.
fn assignment_column(table: &TableDef, name: &ast::ObjectName) -> Result<usize> {
    let idents: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => Ok(ident_name(i)),
            other => Err(Error::Unsupported(format!("assignment target {other} is not supported"))),
        })
        .collect::<Result<_>>()?;
    let column = match idents.as_slice() {
        [c] => c,
        [_, c] => c,
        _ => return Err(Error::Unsupported(format!("assignment target {name} is not supported"))),
    };
    table
        .column_index(column)
        .ok_or_else(|| Error::Schema(format!("column \"{column}\" of relation \"{}\" does not exist", table.name)))
}

pub(crate) fn bind_delete(
    catalog: &Catalog,
    delete: &ast::Delete,
    params: &mut Params,
    registry: &mut StructureRegistry<'_>,
) -> Result<Bound> {
    if !delete.tables.is_empty() || delete.using.is_some() || !delete.order_by.is_empty() || delete.limit.is_some() {
        return Err(Error::Unsupported("DELETE with USING/ORDER BY/LIMIT or several tables is not supported".into()));
    }
    let from_items = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    if from_items.len() != 1 || !from_items[0].joins.is_empty() {
        return Err(Error::Unsupported("DELETE from several tables or with joins is not supported".into()));
    }
    let from = bind_from(catalog, from_items)?;
    let table = from.tables[0].table.clone();
    let scope = from.scope.clone();
    let mut binder = ExprBinder { scope: &scope, params, aggregates: None };
    let (finder, cost) = row_finder(catalog, &from, &mut binder, delete.selection.as_ref(), registry)?;
    let (returning, columns) = bind_returning(&scope, params, delete.returning.as_deref())?;
    let plan = DeletePlan { table: table.id, finder, returning };
    Ok(BoundSelect { plan: Plan::Delete(plan), columns, tables: vec![table.id], cost })
}

fn bind_returning(
    scope: &Scope,
    params: &mut Params,
    items: Option<&[ast::SelectItem]>,
) -> Result<(Vec<Expr>, Vec<OutputColumn>)> {
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    if let Some(items) = items {
        let mut binder = ExprBinder { scope, params, aggregates: None };
        for item in items {
            bind_select_item(&mut binder, scope, item, &mut exprs, &mut columns)?;
        }
    }
    Ok((exprs, columns))
}
