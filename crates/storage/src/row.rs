//! Rows and keys as stored.

use aotdb_planner::Value;

/// A stored row: one value per column, in table order.
pub type Row = Box<[Value]>;

/// Slot number of a row in its table. Stable while the row lives; slots
/// are reused after deletes, deterministically, so replaying the same
/// commands gives the same numbers.
pub type RowId = u32;

/// Rows found under one key: usually one or a few, kept inline.
pub type RowIds = smallvec::SmallVec<[RowId; 4]>;

/// An index key: the values of the key columns, in key order. A key of
/// one value, the usual case (ids), is kept inline: no allocation of its
/// own, one pointer less to follow on every probe. Longer keys sit behind
/// a thin pointer, so a key is the size of one value (16 bytes, not 24),
/// in every hash slot and group that holds one.
#[derive(Debug, Clone)]
pub enum Key {
    /// No values (the one group of a view without GROUP BY).
    Empty,
    One(Value),
    Many(Box<Box<[Value]>>),
}

impl Key {
    pub fn from_vec(mut values: Vec<Value>) -> Key {
        match values.len() {
            0 => Key::Empty,
            1 => values.pop().map_or(Key::Empty, Key::One),
            _ => Key::Many(Box::new(values.into_boxed_slice())),
        }
    }

    /// The key of `n` values made by `value(i)`: a one-value key without
    /// any allocation, a longer one allocated once at its final size.
    pub fn try_build<E>(n: usize, mut value: impl FnMut(usize) -> Result<Value, E>) -> Result<Key, E> {
        match n {
            0 => return Ok(Key::Empty),
            1 => return Ok(Key::One(value(0)?)),
            _ => {}
        }
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(value(i)?);
        }
        Ok(Key::Many(Box::new(values.into_boxed_slice())))
    }

    pub fn as_slice(&self) -> &[Value] {
        match self {
            Key::Empty => &[],
            Key::One(v) => std::slice::from_ref(v),
            Key::Many(values) => values,
        }
    }
}

impl std::ops::Deref for Key {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        self.as_slice()
    }
}

/// Lookups take the key's values as a slice: the hash and equality must be
/// the slice's.
impl std::borrow::Borrow<[Value]> for Key {
    fn borrow(&self) -> &[Value] {
        self.as_slice()
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Key {}

impl FromIterator<Value> for Key {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Key {
        Key::from_vec(iter.into_iter().collect())
    }
}

/// For hash-map entries looked up by reference: the key is cloned only
/// when it is inserted.
impl From<&Key> for Key {
    fn from(key: &Key) -> Key {
        key.clone()
    }
}

impl From<Vec<Value>> for Key {
    fn from(values: Vec<Value>) -> Key {
        Key::from_vec(values)
    }
}

/// Extracts the key of `row` on `columns`, or `None` if any key column is
/// NULL (NULLs are never equal, so such rows never conflict or match).
pub fn key_of(row: &[Value], columns: &[usize]) -> Option<Key> {
    if let [c] = columns {
        let v = &row[*c];
        return (!v.is_null()).then(|| Key::One(v.clone()));
    }
    let mut key = Vec::with_capacity(columns.len());
    for &c in columns {
        let v = &row[c];
        if v.is_null() {
            return None;
        }
        key.push(v.clone());
    }
    Some(Key::from_vec(key))
}
