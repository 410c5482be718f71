//! Binding CREATE TABLE into a table definition.

use sqlparser::ast;

use super::expr::ExprBinder;
use super::params::Params;
use super::scope::Scope;
use super::sql_type::convert_type;
use super::{ident_name, object_name};
use crate::catalog::{Catalog, CheckDef, ColumnDef, ForeignKeyDef, RefAction, TableDef, TableId, UniqueDef};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::structure::StructureSpec;
use crate::structure_registry::StructureRegistry;
use crate::value::coerce_for_column;

pub(crate) fn bind_create_table(
    catalog: &Catalog,
    create: &ast::CreateTable,
    id: TableId,
    registry: &mut StructureRegistry<'_>,
) -> Result<TableDef> {
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
    let mut check_asts: Vec<(Option<String>, Option<usize>, &ast::Expr)> = Vec::new();
    let mut fk_asts: Vec<(Option<String>, Vec<usize>, &ast::ForeignKeyConstraint)> = Vec::new();

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
                ast::ColumnOption::Check(c) => {
                    let name = constraint_name.or_else(|| c.name.as_ref().map(ident_name));
                    check_asts.push((name, Some(index), &c.expr));
                }
                ast::ColumnOption::ForeignKey(fk) => {
                    let name = constraint_name.or_else(|| fk.name.as_ref().map(ident_name));
                    fk_asts.push((name, vec![index], fk));
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
            ast::TableConstraint::Check(c) => {
                check_asts.push((c.name.as_ref().map(ident_name), None, &c.expr));
            }
            ast::TableConstraint::ForeignKey(fk) => {
                let cols: Vec<usize> = fk
                    .columns
                    .iter()
                    .map(|c| {
                        let n = ident_name(c);
                        columns.iter().position(|x| x.name == n).ok_or_else(|| {
                            Error::Schema(format!("column \"{n}\" referenced in foreign key constraint does not exist"))
                        })
                    })
                    .collect::<Result<_>>()?;
                fk_asts.push((fk.name.as_ref().map(ident_name), cols, fk));
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

    let mut checks: Vec<CheckDef> = Vec::new();
    for (given, column, expr) in check_asts {
        let check = bind_check(&name, id, &columns, given, column, expr, &checks)?;
        checks.push(check);
    }
    let mut foreign_keys: Vec<ForeignKeyDef> = Vec::new();
    for (given, cols, fk) in fk_asts {
        let def = TableDef {
            id,
            name: name.clone(),
            columns: columns.clone(),
            uniques: uniques.clone(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            sql: String::new(),
        };
        foreign_keys.push(bind_foreign_key(catalog, &def, given, cols, fk, &foreign_keys, registry)?);
    }
    Ok(TableDef { id, name, columns, uniques, checks, foreign_keys, sql: create.to_string() })
}

/// A CHECK constraint over the table's own columns.
fn bind_check(
    table: &str,
    id: TableId,
    columns: &[ColumnDef],
    given: Option<String>,
    column: Option<usize>,
    expr: &ast::Expr,
    existing: &[CheckDef],
) -> Result<CheckDef> {
    let def = TableDef {
        id,
        name: table.to_string(),
        columns: columns.to_vec(),
        uniques: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        sql: String::new(),
    };
    let scope = Scope::single(std::sync::Arc::new(def), None);
    let mut params = Params::new(Vec::new(), false);
    let mut binder = ExprBinder { scope: &scope, params: &mut params, aggregates: None };
    let bound = binder.bind_predicate(expr, "CHECK")?;
    if bound.reads_params() {
        return Err(Error::Syntax("CHECK constraints cannot use parameters".into()));
    }
    let name = given.unwrap_or_else(|| {
        let cols = bound.columns();
        let base = match (column, cols.as_slice()) {
            (Some(c), _) => format!("{table}_{}_check", columns[c].name),
            (None, [c]) => format!("{table}_{}_check", columns[*c].name),
            _ => format!("{table}_check"),
        };
        let mut candidate = base.clone();
        let mut n = 1;
        while existing.iter().any(|c| c.name == candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        candidate
    });
    Ok(CheckDef { name, expr: bound })
}

fn ref_action(a: Option<ast::ReferentialAction>, what: &str) -> Result<RefAction> {
    match a {
        None | Some(ast::ReferentialAction::Restrict) | Some(ast::ReferentialAction::NoAction) => {
            Ok(RefAction::Restrict)
        }
        Some(ast::ReferentialAction::Cascade) => Ok(RefAction::Cascade),
        Some(ast::ReferentialAction::SetNull) => Ok(RefAction::SetNull),
        Some(other) => Err(Error::Unsupported(format!("{what} {other} is not supported"))),
    }
}

/// A FOREIGN KEY: the referenced table must exist (or be this one) and the
/// referenced columns must be its primary key or a UNIQUE set.
fn bind_foreign_key(
    catalog: &Catalog,
    this: &TableDef,
    given: Option<String>,
    columns: Vec<usize>,
    fk: &ast::ForeignKeyConstraint,
    existing: &[ForeignKeyDef],
    registry: &mut StructureRegistry<'_>,
) -> Result<ForeignKeyDef> {
    let ref_name = object_name(&fk.foreign_table)?;
    let target: TableDef = if ref_name == this.name {
        this.clone()
    } else {
        catalog
            .table_by_name(&ref_name)
            .map(|t| t.as_ref().clone())
            .ok_or_else(|| Error::Schema(format!("relation \"{ref_name}\" does not exist")))?
    };
    let ref_columns: Vec<usize> = if fk.referred_columns.is_empty() {
        target
            .primary_key()
            .map(|p| p.columns.clone())
            .ok_or_else(|| Error::Schema(format!("there is no primary key for referenced table \"{ref_name}\"")))?
    } else {
        fk.referred_columns
            .iter()
            .map(|c| {
                let n = ident_name(c);
                target.column_index(&n).ok_or_else(|| {
                    Error::Schema(format!("column \"{n}\" referenced in foreign key constraint does not exist"))
                })
            })
            .collect::<Result<_>>()?
    };
    if ref_columns.len() != columns.len() {
        return Err(Error::Schema("number of referencing and referenced columns for foreign key disagree".into()));
    }
    let ref_unique = target.uniques.iter().position(|u| u.columns == ref_columns).ok_or_else(|| {
        Error::Schema(format!("there is no unique constraint matching given keys for referenced table \"{ref_name}\""))
    })?;
    for (&c, &r) in columns.iter().zip(&ref_columns) {
        let (a, b) = (this.columns[c].ty, target.columns[r].ty);
        if !crate::types::DataType::comparable(a, b) {
            return Err(Error::Type(format!(
                "foreign key columns \"{}\" and \"{}\" are of incompatible types: {} and {}",
                this.columns[c].name,
                target.columns[r].name,
                a.sql_name(),
                b.sql_name()
            )));
        }
    }
    if fk.on_update.is_some_and(|a| !matches!(a, ast::ReferentialAction::Restrict | ast::ReferentialAction::NoAction)) {
        return Err(Error::Unsupported(
            "ON UPDATE actions other than RESTRICT / NO ACTION are not supported yet".into(),
        ));
    }
    let on_delete = ref_action(fk.on_delete, "ON DELETE")?;
    let on_update = ref_action(fk.on_update, "ON UPDATE")?;
    if on_delete == RefAction::SetNull {
        if let Some(c) = columns.iter().find(|&&c| this.columns[c].not_null) {
            return Err(Error::Schema(format!(
                "ON DELETE SET NULL on column \"{}\", which is NOT NULL",
                this.columns[*c].name
            )));
        }
    }
    let name = given.unwrap_or_else(|| {
        let cols: Vec<&str> = columns.iter().map(|&c| this.columns[c].name.as_str()).collect();
        format!("{}_{}_fkey", this.name, cols.join("_"))
    });
    if existing.iter().any(|f| f.name == name) {
        return Err(Error::Schema(format!("constraint \"{name}\" for relation \"{}\" already exists", this.name)));
    }
    let index = registry.get(StructureSpec::TableIndex { table: this.id, columns: columns.clone() });
    Ok(ForeignKeyDef {
        name,
        columns,
        ref_table: target.id,
        ref_table_name: target.name.clone(),
        ref_unique,
        on_delete,
        on_update,
        index,
    })
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
