//! Shares one copy of each short text value a column repeats (statuses,
//! regions, categories): a million rows that say 'approved' point at one
//! string instead of holding a million. Values are immutable and shared
//! by reference count, so sharing changes nothing a reader can see.
//!
//! A pool is bounded: when it fills, entries no row uses any more are
//! dropped; a column whose live values still fill half the pool is not a
//! low-cardinality column, and its pool closes for good.

use aotdb_planner::{ArcStr, Value};
use hashbrown::HashSet;

/// Longer strings are rarely repeated verbatim; not worth a probe.
const MAX_SHARED_LEN: usize = 64;
/// Distinct values kept per column.
const MAX_ENTRIES: usize = 4096;

#[derive(Debug, Default)]
struct ColumnPool {
    values: HashSet<ArcStr>,
    closed: bool,
}

impl ColumnPool {
    fn share(&mut self, text: &mut ArcStr) {
        if self.closed || text.len() > MAX_SHARED_LEN {
            return;
        }
        if let Some(shared) = self.values.get(text.as_str()) {
            if !ArcStr::ptr_eq(shared, text) {
                *text = shared.clone();
            }
            return;
        }
        if self.values.len() >= MAX_ENTRIES {
            // Only the pool holds these: no row uses them any more.
            self.values.retain(|v| ArcStr::strong_count(v).is_none_or(|n| n > 1));
            if self.values.len() >= MAX_ENTRIES / 2 {
                self.closed = true;
                self.values = HashSet::new();
                return;
            }
        }
        self.values.insert(text.clone());
    }
}

/// The pools of one table, one per column.
#[derive(Debug)]
pub struct TextInterner {
    columns: Vec<ColumnPool>,
}

impl TextInterner {
    pub fn new(columns: usize) -> TextInterner {
        TextInterner { columns: (0..columns).map(|_| ColumnPool::default()).collect() }
    }

    /// Replaces each text value of `row` by the column's shared copy.
    /// For a row replacing `old`, texts it kept from `old` are shared
    /// already (an UPDATE copies the columns it does not set), so only the
    /// others are looked up.
    pub fn share_row(&mut self, row: &mut [Value], old: Option<&[Value]>) {
        for (c, (value, pool)) in row.iter_mut().zip(&mut self.columns).enumerate() {
            if let Value::Text(text) = value {
                let kept = matches!(old.and_then(|o| o.get(c)), Some(Value::Text(b)) if ArcStr::ptr_eq(b, text));
                if !kept {
                    pool.share(text);
                }
            }
        }
    }

    /// Approximate heap bytes of the pools themselves (the strings are
    /// counted with the rows that use them).
    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(|p| p.values.capacity() * (std::mem::size_of::<ArcStr>() + 1)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(ArcStr::from(s))
    }

    fn ptr(v: &Value) -> *const u8 {
        match v {
            Value::Text(t) => t.as_ptr(),
            _ => std::ptr::null(),
        }
    }

    #[test]
    fn repeated_values_share_one_string() {
        let mut pools = TextInterner::new(2);
        let mut a = [text("approved"), Value::Int(1)];
        let mut b = [text("approved"), Value::Int(2)];
        pools.share_row(&mut a, None);
        pools.share_row(&mut b, None);
        assert_eq!(ptr(&a[0]), ptr(&b[0]));
        assert_eq!(a[0], text("approved"));
    }

    #[test]
    fn a_high_cardinality_column_closes_its_pool() {
        let mut pools = TextInterner::new(1);
        let mut rows: Vec<[Value; 1]> = (0..MAX_ENTRIES + 1).map(|i| [text(&format!("name-{i}"))]).collect();
        for row in &mut rows {
            pools.share_row(row, None);
        }
        assert!(pools.columns[0].closed);
        let mut again = [text("name-1")];
        pools.share_row(&mut again, None);
        assert_ne!(ptr(&again[0]), ptr(&rows[1][0]));
    }

    #[test]
    fn values_no_row_uses_are_dropped_when_the_pool_fills() {
        let mut pools = TextInterner::new(1);
        for i in 0..MAX_ENTRIES {
            let mut row = [text(&format!("gone-{i}"))];
            pools.share_row(&mut row, None);
        }
        let mut kept = [text("kept")];
        pools.share_row(&mut kept, None);
        assert!(!pools.columns[0].closed);
        assert_eq!(pools.columns[0].values.len(), 1);
    }
}
