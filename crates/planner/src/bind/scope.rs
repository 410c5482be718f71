//! Name resolution: the tables a statement reads, their aliases, and where
//! each column sits in the combined input row.

use std::sync::Arc;

use sqlparser::ast;

use super::ident_name;
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::types::DataType;

#[derive(Debug, Clone)]
pub(crate) struct ScopeTable {
    pub alias: String,
    pub table: Arc<TableDef>,
    /// Position of the table's first column in the input row.
    pub offset: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub tables: Vec<ScopeTable>,
}

/// A column found in scope.
pub(crate) struct ResolvedColumn {
    pub position: usize,
    pub ty: DataType,
}

impl Scope {
    pub(crate) fn single(table: Arc<TableDef>, alias: Option<String>) -> Scope {
        let alias = alias.unwrap_or_else(|| table.name.clone());
        Scope { tables: vec![ScopeTable { alias, table, offset: 0 }] }
    }

    /// The name of the column at `position`, for messages.
    pub(crate) fn column_name(&self, position: usize) -> Option<String> {
        self.tables.iter().find_map(|t| {
            let i = position.checked_sub(t.offset)?;
            t.table.columns.get(i).map(|c| format!("{}.{}", t.alias, c.name))
        })
    }

    pub(crate) fn resolve(&self, qualifier: Option<&str>, column: &str) -> Result<ResolvedColumn> {
        let mut found: Option<ResolvedColumn> = None;
        for t in &self.tables {
            if qualifier.is_some_and(|q| q != t.alias) {
                continue;
            }
            if let Some(i) = t.table.column_index(column) {
                if found.is_some() {
                    return Err(Error::Schema(format!("column reference \"{column}\" is ambiguous")));
                }
                found = Some(ResolvedColumn { position: t.offset + i, ty: t.table.columns[i].ty });
            }
        }
        if let Some(f) = found {
            return Ok(f);
        }
        match qualifier {
            Some(q) if !self.tables.iter().any(|t| t.alias == q) => {
                Err(Error::Schema(format!("missing FROM-clause entry for table \"{q}\"")))
            }
            Some(q) => Err(Error::Schema(format!("column {q}.{column} does not exist"))),
            None => Err(Error::Schema(format!("column \"{column}\" does not exist"))),
        }
    }

    pub(crate) fn resolve_ident_path(&self, path: &[ast::Ident]) -> Result<ResolvedColumn> {
        match path {
            [c] => self.resolve(None, &ident_name(c)),
            [t, c] => self.resolve(Some(&ident_name(t)), &ident_name(c)),
            _ => Err(Error::Unsupported(format!(
                "column reference {} is not supported",
                path.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(".")
            ))),
        }
    }

    /// Every column of the scope (for `*`) or of one table (for `t.*`), as
    /// (name, position, type).
    pub(crate) fn columns(&self, qualifier: Option<&str>) -> Result<Vec<(String, usize, DataType)>> {
        let mut out = Vec::new();
        let mut matched = false;
        for t in &self.tables {
            if qualifier.is_some_and(|q| q != t.alias) {
                continue;
            }
            matched = true;
            for (i, c) in t.table.columns.iter().enumerate() {
                out.push((c.name.clone(), t.offset + i, c.ty));
            }
        }
        match qualifier {
            Some(q) if !matched => Err(Error::Schema(format!("missing FROM-clause entry for table \"{q}\""))),
            _ => Ok(out),
        }
    }
}
