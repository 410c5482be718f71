//! Hash index behind a PRIMARY KEY or UNIQUE constraint: key to row, one
//! probe per lookup.

use aotdb_planner::{TableDef, UniqueDef, Value};
use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::row::{key_of, Key, RowId};

#[derive(Debug)]
pub struct UniqueIndex {
    pub def: UniqueDef,
    map: HashMap<Key, RowId>,
}

impl UniqueIndex {
    pub fn new(def: UniqueDef) -> UniqueIndex {
        UniqueIndex { def, map: HashMap::new() }
    }

    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{boxed_values, hash_table, sampled};
        hash_table(&self.map) + sampled(self.map.keys(), self.map.len(), |k| boxed_values(k))
    }

    pub fn get(&self, key: &[Value]) -> Option<RowId> {
        self.map.get(key).copied()
    }

    /// Fails if another row than `except` holds the key of `row`.
    pub fn check(&self, table: &TableDef, row: &[Value], except: Option<RowId>) -> Result<()> {
        let Some(key) = key_of(row, &self.def.columns) else {
            return Ok(());
        };
        match self.map.get(&key) {
            Some(&holder) if Some(holder) != except => Err(self.violation(table, &key)),
            _ => Ok(()),
        }
    }

    pub fn insert(&mut self, row: &[Value], id: RowId) {
        if let Some(key) = key_of(row, &self.def.columns) {
            self.map.insert(key, id);
        }
    }

    pub fn remove(&mut self, row: &[Value]) {
        if let Some(key) = key_of(row, &self.def.columns) {
            self.map.remove(&key);
        }
    }

    /// Whether `old` and `new` have different keys (so an update must
    /// re-index the row).
    pub fn key_changes(&self, old: &[Value], new: &[Value]) -> bool {
        self.def.columns.iter().any(|&c| old[c] != new[c] || old[c].is_null() != new[c].is_null())
    }

    fn violation(&self, table: &TableDef, key: &[Value]) -> Error {
        let values: Vec<String> = key.iter().map(|v| v.to_pg_text()).collect();
        Error::Constraint(format!(
            "duplicate key value violates unique constraint \"{}\" of table \"{}\": Key ({})=({}) already exists",
            self.def.name,
            table.name,
            table.describe_columns(&self.def.columns),
            values.join(", ")
        ))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
