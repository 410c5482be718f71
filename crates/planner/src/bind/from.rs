//! The FROM clause: tables, aliases, join kinds and ON conditions.

use std::sync::Arc;

use sqlparser::ast;

use super::scope::{Scope, ScopeTable};
use super::select::table_factor;
use crate::catalog::{Catalog, TableDef};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    /// The first table, or one listed after a comma or CROSS JOIN.
    Base,
    Inner,
    Left,
}

pub(crate) struct FromTable<'a> {
    pub table: Arc<TableDef>,
    pub kind: JoinKind,
    pub on: Option<&'a ast::Expr>,
}

pub(crate) struct FromClause<'a> {
    pub scope: Scope,
    pub tables: Vec<FromTable<'a>>,
}

impl FromClause<'_> {
    pub(crate) fn has_outer_joins(&self) -> bool {
        self.tables.iter().any(|t| t.kind == JoinKind::Left)
    }
}

pub(crate) fn bind_from<'a>(catalog: &Catalog, from: &'a [ast::TableWithJoins]) -> Result<FromClause<'a>> {
    let mut scope = Scope::default();
    let mut tables = Vec::new();
    let mut offset = 0;
    let mut add = |table: Arc<TableDef>,
                   alias: Option<String>,
                   kind: JoinKind,
                   on: Option<&'a ast::Expr>|
     -> Result<()> {
        if tables.iter().any(|t: &FromTable| t.table.id == table.id) {
            return Err(Error::Unsupported(format!(
                "table \"{}\" appears twice; a table may appear only once in a statement (self-joins are not supported yet)",
                table.name
            )));
        }
        let alias = alias.unwrap_or_else(|| table.name.clone());
        if scope.tables.iter().any(|t| t.alias == alias) {
            return Err(Error::Schema(format!("table name \"{alias}\" specified more than once")));
        }
        scope.tables.push(ScopeTable { alias, table: table.clone(), offset });
        offset += table.columns.len();
        tables.push(FromTable { table, kind, on });
        Ok(())
    };
    for twj in from {
        let (table, alias) = table_factor(catalog, &twj.relation)?;
        add(table, alias, JoinKind::Base, None)?;
        for join in &twj.joins {
            let (table, alias) = table_factor(catalog, &join.relation)?;
            let (kind, constraint) = match &join.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinKind::Inner, Some(c)),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinKind::Left, Some(c)),
                ast::JoinOperator::CrossJoin(_) => (JoinKind::Base, None),
                other => {
                    return Err(Error::Unsupported(format!(
                        "{} is not supported; use JOIN or LEFT JOIN",
                        join_name(other)
                    )))
                }
            };
            let on = match constraint {
                None | Some(ast::JoinConstraint::None) => None,
                Some(ast::JoinConstraint::On(e)) => Some(e),
                Some(_) => {
                    return Err(Error::Unsupported("JOIN ... USING and NATURAL JOIN are not supported; use ON".into()))
                }
            };
            if kind == JoinKind::Left && on.is_none() {
                return Err(Error::Syntax("LEFT JOIN needs an ON condition".into()));
            }
            add(table, alias, kind, on)?;
        }
    }
    Ok(FromClause { scope, tables })
}

fn join_name(op: &ast::JoinOperator) -> &'static str {
    match op {
        ast::JoinOperator::Right(_) | ast::JoinOperator::RightOuter(_) => "RIGHT JOIN",
        ast::JoinOperator::FullOuter(_) => "FULL JOIN",
        _ => "this kind of join",
    }
}
