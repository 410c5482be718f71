//! Binding CREATE TABLE into a table definition.

use sqlparser::ast;

use super::expr::ExprBinder;
use super::params::Params;
use super::scope::Scope;
use super::sql_type::convert_type;
use super::{ident_name, object_name};
use crate::catalog::{ColumnDef, TableDef, TableId, UniqueDef};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::value::coerce_for_column;

pub(crate) fn bind_create_table(create: &ast::CreateTable, id: TableId) -> Result<TableDef> {
    if create.or_replace
        || create.temporary
        || create.external
        || create.query.is_some()
        || create.like.is_some()
        || create.clone.is_some()
    {
        return Err(Error::Unsupported("only CREATE TABLE name (columns, constraints) is supported".into()));
    }
    let name = object_name(&create.name)?;
    let mut columns: Vec<ColumnDef> = Vec::with_capacity(create.columns.len());
    let mut uniques: Vec<UniqueDef> = Vec::new();

    for c in &create.columns {
        let col_name = ident_name(&c.name);
        if columns.iter().any(|x| x.name == col_name) {
            return Err(Error::Schema(format!("column \"{col_name}\" specified more than once")));
        }
        let ty = convert_type(&c.data_type).map_err(|e| e.context(format!("column \"{col_name}\"")))?;
        columns.push(ColumnDef { name: col_name, ty, not_null: false, default: None });
    }
    if columns.is_empty() {
        return Err(Error::Schema(format!("table \"{name}\" needs at least one column")));
    }

    for (index, c) in create.columns.iter().enumerate() {
        for opt in &c.options {
            let constraint_name = opt.name.as_ref().map(ident_name);
            match &opt.option {
                ast::ColumnOption::NotNull => columns[index].not_null = true,
                ast::ColumnOption::Null => {}
                ast::ColumnOption::Default(e) => {
                    let column = &columns[index];
                    let value = constant_default(e, column)?;
                    columns[index].default = Some(value);
                }
                ast::ColumnOption::PrimaryKey(_) => {
                    add_unique(&name, &mut uniques, constraint_name, vec![index], true, &columns)?
                }
                ast::ColumnOption::Unique(_) => {
                    add_unique(&name, &mut uniques, constraint_name, vec![index], false, &columns)?
                }
                ast::ColumnOption::Check(_) => {
                    return Err(Error::Unsupported("CHECK constraints are not supported yet".into()))
                }
                ast::ColumnOption::ForeignKey(_) => {
                    return Err(Error::Unsupported("FOREIGN KEY constraints are not supported yet".into()))
                }
                other => return Err(Error::Unsupported(format!("column option {other} is not supported"))),
            }
        }
    }

    for constraint in &create.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(pk) => {
                let cols = constraint_columns(&columns, &pk.columns)?;
                add_unique(&name, &mut uniques, pk.name.as_ref().map(ident_name), cols, true, &columns)?;
            }
            ast::TableConstraint::Unique(u) => {
                let cols = constraint_columns(&columns, &u.columns)?;
                add_unique(&name, &mut uniques, u.name.as_ref().map(ident_name), cols, false, &columns)?;
            }
            ast::TableConstraint::Check(_) => {
                return Err(Error::Unsupported("CHECK constraints are not supported yet".into()))
            }
            ast::TableConstraint::ForeignKey(_) => {
                return Err(Error::Unsupported("FOREIGN KEY constraints are not supported yet".into()))
            }
            other => return Err(Error::Unsupported(format!("constraint {other} is not supported"))),
        }
    }

    // Primary key columns are NOT NULL, and the primary key comes first.
    if let Some(pk) = uniques.iter().find(|u| u.primary) {
        for &c in &pk.columns {
            columns[c].not_null = true;
        }
    }
    uniques.sort_by_key(|u| !u.primary);

    Ok(TableDef { id, name, columns, uniques, sql: create.to_string() })
}

fn constraint_columns(columns: &[ColumnDef], list: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(list.len());
    for ic in list {
        let ast::Expr::Identifier(ident) = &ic.column.expr else {
            return Err(Error::Unsupported(format!("constraint on expression {} is not supported", ic.column.expr)));
        };
        let name = ident_name(ident);
        let i = columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::Schema(format!("column \"{name}\" named in key does not exist")))?;
        if out.contains(&i) {
            return Err(Error::Schema(format!("column \"{name}\" appears twice in key")));
        }
        out.push(i);
    }
    Ok(out)
}

fn add_unique(
    table: &str,
    uniques: &mut Vec<UniqueDef>,
    name: Option<String>,
    columns: Vec<usize>,
    primary: bool,
    defs: &[ColumnDef],
) -> Result<()> {
    if primary && uniques.iter().any(|u| u.primary) {
        return Err(Error::Schema(format!("multiple primary keys for table \"{table}\" are not allowed")));
    }
    if uniques.iter().any(|u| u.columns == columns) {
        // PostgreSQL keeps both, but a second identical index is pure cost.
        return Err(Error::Schema(format!(
            "table \"{table}\" already has a key on ({})",
            columns.iter().map(|&c| defs[c].name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let name = name.unwrap_or_else(|| {
        if primary {
            format!("{table}_pkey")
        } else {
            let cols: Vec<&str> = columns.iter().map(|&c| defs[c].name.as_str()).collect();
            format!("{table}_{}_key", cols.join("_"))
        }
    });
    uniques.push(UniqueDef { name, columns, primary });
    Ok(())
}

/// DEFAULT must be a constant here (no functions of time or sequences).
fn constant_default(e: &ast::Expr, column: &ColumnDef) -> Result<crate::value::Value> {
    let scope = Scope::default();
    let mut params = Params::new(Vec::new(), false);
    let mut binder = ExprBinder { scope: &scope, params: &mut params, aggregates: None };
    let bound = binder
        .bind_for_column(e, column.ty, &column.name)
        .map_err(|err| err.context(format!("DEFAULT of column \"{}\"", column.name)))?;
    match bound {
        Expr::Const(v) => {
            coerce_for_column(v, column.ty).map_err(|err| err.context(format!("DEFAULT of column \"{}\"", column.name)))
        }
        _ => Err(Error::Unsupported(format!("DEFAULT of column \"{}\" must be a constant", column.name))),
    }
}
