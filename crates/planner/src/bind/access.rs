//! Access paths: how a statement finds its rows. For now that is one probe
//! of the primary key or a UNIQUE index, fixed by equalities in WHERE; what
//! else a WHERE clause says is checked on the row found.

use sqlparser::ast;

use super::expr::ExprBinder;
use super::scope::Scope;
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::expr::{CmpOp, Expr};
use crate::plan::Access;

/// The access path for a single-table statement, and the residual filter.
pub(crate) fn unique_access(
    binder: &mut ExprBinder<'_>,
    table: &TableDef,
    scope: &Scope,
    selection: Option<&ast::Expr>,
    verb: &str,
) -> Result<(Access, Option<Expr>)> {
    let offset = scope.tables[0].offset;
    let Some(selection) = selection else {
        return Err(needs_key(table, verb, "it has no WHERE clause"));
    };
    let predicate = binder.bind_predicate(selection, "WHERE")?;
    let mut conjuncts = predicate.conjuncts();

    // Equalities `column = expression over parameters and constants`.
    let fixed: Vec<Option<(usize, Expr)>> =
        conjuncts.iter().map(|c| key_equality(c, offset)).collect();

    let mut chosen: Option<(usize, Vec<usize>)> = None;
    for (u, unique) in table.uniques.iter().enumerate() {
        let mut which = Vec::with_capacity(unique.columns.len());
        for &col in &unique.columns {
            match fixed
                .iter()
                .position(|f| f.as_ref().is_some_and(|(c, _)| *c == col))
            {
                Some(i) => which.push(i),
                None => break,
            }
        }
        if which.len() == unique.columns.len() {
            chosen = Some((u, which));
            break;
        }
    }
    let Some((unique, which)) = chosen else {
        return Err(needs_key(
            table,
            verb,
            "its WHERE clause does not fix one by equality",
        ));
    };
    let key: Vec<Expr> = which
        .iter()
        .map(|&i| {
            fixed[i]
                .as_ref()
                .map(|(_, e)| e.clone())
                .expect("chosen equality")
        })
        .collect();
    let mut used = which.clone();
    used.sort_unstable();
    for i in used.into_iter().rev() {
        conjuncts.remove(i);
    }
    let access = Access::UniqueLookup {
        table: table.id,
        unique,
        key,
    };
    Ok((access, Expr::and_all(conjuncts)))
}

/// `column = e` or `e = column` with `e` free of columns: the column (as a
/// table column index) and `e`.
fn key_equality(e: &Expr, offset: usize) -> Option<(usize, Expr)> {
    let Expr::Compare {
        op: CmpOp::Eq,
        left,
        right,
    } = e
    else {
        return None;
    };
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), other) | (other, Expr::Column(c))
            if !other.reads_columns() && *c >= offset =>
        {
            Some((*c - offset, other.clone()))
        }
        _ => None,
    }
}

fn needs_key(table: &TableDef, verb: &str, why: &str) -> Error {
    let keys: Vec<String> = table
        .uniques
        .iter()
        .map(|u| format!("({})", table.describe_columns(&u.columns)))
        .collect();
    let keys = if keys.is_empty() {
        format!(
            "table \"{}\" has no primary key or unique constraint",
            table.name
        )
    } else {
        format!("table \"{}\" has {}", table.name, keys.join(", "))
    };
    Error::Unsupported(format!(
        "{verb} must fix the primary key or a UNIQUE column set of \"{}\" by equality, and {why} ({keys}); \
         other access paths are not supported yet",
        table.name
    ))
}
