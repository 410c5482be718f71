//! The catalog: table definitions and registered statements. It is a value:
//! applying a script works on a copy, so a script that fails halfway leaves
//! the live catalog untouched.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plan::Statement;
use crate::types::DataType;
use crate::value::Value;

/// Tables are numbered in creation order; numbers are never reused, so a
/// statement compiled against a dropped table can never address a new one.
pub type TableId = u32;

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: DataType,
    pub not_null: bool,
    pub default: Option<Value>,
}

/// A PRIMARY KEY or UNIQUE constraint, enforced by a hash index.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueDef {
    /// PostgreSQL's default name: `table_pkey`, `table_col_key`.
    pub name: String,
    pub columns: Vec<usize>,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Position in `uniques` of the primary key, first when present.
    pub uniques: Vec<UniqueDef>,
    /// The CREATE TABLE text as registered (normalised by the parser).
    pub sql: String,
}

impl TableDef {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn primary_key(&self) -> Option<&UniqueDef> {
        self.uniques.iter().find(|u| u.primary)
    }

    /// Column names of a key, for messages: `(a, b)`.
    pub fn describe_columns(&self, columns: &[usize]) -> String {
        let names: Vec<&str> = columns
            .iter()
            .map(|&c| self.columns[c].name.as_str())
            .collect();
        names.join(", ")
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<TableId, Arc<TableDef>>,
    table_names: BTreeMap<String, TableId>,
    statements: BTreeMap<String, Arc<Statement>>,
    next_table_id: TableId,
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    pub fn table(&self, id: TableId) -> Option<&Arc<TableDef>> {
        self.tables.get(&id)
    }

    pub fn table_by_name(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.table_names
            .get(name)
            .and_then(|id| self.tables.get(id))
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    pub fn statement(&self, name: &str) -> Option<&Arc<Statement>> {
        self.statements.get(name)
    }

    pub fn statements(&self) -> impl Iterator<Item = &Arc<Statement>> {
        self.statements.values()
    }

    /// Names of statements that read or write `table`, sorted.
    pub fn statements_using(&self, table: TableId) -> Vec<String> {
        self.statements
            .values()
            .filter(|s| s.tables.contains(&table))
            .map(|s| s.name.clone())
            .collect()
    }

    pub(crate) fn allocate_table_id(&mut self) -> TableId {
        let id = self.next_table_id;
        self.next_table_id += 1;
        id
    }

    pub(crate) fn insert_table(&mut self, table: Arc<TableDef>) {
        self.table_names.insert(table.name.clone(), table.id);
        self.tables.insert(table.id, table);
    }

    pub(crate) fn remove_table(&mut self, id: TableId) -> Option<Arc<TableDef>> {
        let table = self.tables.remove(&id)?;
        self.table_names.remove(&table.name);
        Some(table)
    }

    pub(crate) fn insert_statement(&mut self, statement: Arc<Statement>) {
        self.statements.insert(statement.name.clone(), statement);
    }

    pub(crate) fn remove_statement(&mut self, name: &str) -> Option<Arc<Statement>> {
        self.statements.remove(name)
    }
}
