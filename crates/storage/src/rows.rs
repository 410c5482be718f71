//! A statement's result rows, held flat: one vector of values, `width`
//! values per row.
//!
//! Results are built, encoded and dropped on every call, so their shape is
//! paid for on every call. As a vector of rows, each its own vector, a read
//! of eight groups made nine allocations and nine frees; flat it makes one
//! of each. A row is a slice into the one vector.

use aotdb_planner::Value;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    width: usize,
    /// Counted apart from `values`: rows of no columns take no values.
    len: usize,
    values: Vec<Value>,
}

impl Rows {
    /// No rows yet, each to be `width` values.
    pub fn new(width: usize) -> Rows {
        Rows { width, len: 0, values: Vec::new() }
    }

    /// Room for `rows` rows up front.
    pub fn with_capacity(width: usize, rows: usize) -> Rows {
        Rows { width, len: 0, values: Vec::with_capacity(width.saturating_mul(rows)) }
    }

    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.values.reserve(self.width.saturating_mul(rows));
    }

    /// Appends a copy of `row`.
    #[inline]
    pub fn push(&mut self, row: &[Value]) {
        self.values.extend_from_slice(row);
        self.end_row();
    }

    /// Appends `row`, moving its values.
    #[inline]
    pub fn push_owned(&mut self, row: Vec<Value>) {
        self.values.extend(row);
        self.end_row();
    }

    /// The values of the row being built: push exactly `width` of them,
    /// then call `end_row`.
    #[inline]
    pub fn building(&mut self) -> &mut Vec<Value> {
        &mut self.values
    }

    /// Ends the row pushed through `building`. A row of the wrong width
    /// is a bug; in a release build it is cut or padded with NULLs so that
    /// every later row stays where it belongs.
    #[inline]
    pub fn end_row(&mut self) {
        let end = (self.len + 1) * self.width;
        if self.values.len() != end {
            debug_assert_eq!(self.values.len(), end, "a result row of the wrong width");
            self.values.resize(end, Value::Null);
        }
        self.len += 1;
    }

    /// Drops a row being built through `building` (its values so far).
    pub fn abandon_row(&mut self) {
        self.values.truncate(self.len * self.width);
    }

    /// Removes the last row.
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.len -= 1;
            self.values.truncate(self.len * self.width);
        }
    }

    #[inline]
    pub fn first(&self) -> Option<&[Value]> {
        self.get(0)
    }

    /// The last row, if any.
    pub fn last(&self) -> Option<&[Value]> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&[Value]> {
        (i < self.len).then(|| &self.values[i * self.width..(i + 1) * self.width])
    }

    pub fn iter(&self) -> RowsIter<'_> {
        RowsIter { rows: self, next: 0 }
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut [Value]> + '_ {
        let width = self.width;
        let len = self.len;
        // chunks_exact_mut refuses a width of 0; rows of no columns have
        // nothing to change.
        self.values.chunks_exact_mut(width.max(1)).take(if width == 0 { 0 } else { len })
    }

    /// Each row as a vector of its own (for callers that keep rows apart).
    pub fn into_vecs(self) -> Vec<Vec<Value>> {
        if self.width == 0 {
            return vec![Vec::new(); self.len];
        }
        let width = self.width;
        let mut values = self.values.into_iter();
        (0..self.len).map(|_| values.by_ref().take(width).collect()).collect()
    }
}

/// The rows in order, as slices.
pub struct RowsIter<'a> {
    rows: &'a Rows,
    next: usize,
}

impl<'a> Iterator for RowsIter<'a> {
    type Item = &'a [Value];

    fn next(&mut self) -> Option<&'a [Value]> {
        let row = self.rows.get(self.next)?;
        self.next += 1;
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.rows.len - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for RowsIter<'_> {}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a [Value];
    type IntoIter = RowsIter<'a>;

    fn into_iter(self) -> RowsIter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Rows {
        /// Rows of as many values as the first has (none: width 0).
        fn from_vecs(rows: Vec<Vec<Value>>) -> Rows {
            let width = rows.first().map_or(0, Vec::len);
            let mut out = Rows::with_capacity(width, rows.len());
            for row in rows {
                out.push_owned(row);
            }
            out
        }
    }

    fn int(n: i64) -> Value {
        Value::Int(n)
    }

    #[test]
    fn rows_keep_their_values_in_order() {
        let mut rows = Rows::new(2);
        rows.push(&[int(1), int(2)]);
        rows.push_owned(vec![int(3), int(4)]);
        rows.building().extend([int(5), int(6)]);
        rows.end_row();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.get(1), Some(&[int(3), int(4)][..]));
        assert_eq!(rows.get(3), None);
        assert_eq!(rows.last(), Some(&[int(5), int(6)][..]));
        let collected: Vec<Vec<Value>> = rows.iter().map(<[Value]>::to_vec).collect();
        assert_eq!(collected, rows.clone().into_vecs());
        assert_eq!(collected, vec![vec![int(1), int(2)], vec![int(3), int(4)], vec![int(5), int(6)]]);
    }

    #[test]
    fn pop_and_abandon_leave_the_rows_before() {
        let mut rows = Rows::new(2);
        rows.push(&[int(1), int(2)]);
        rows.push(&[int(3), int(4)]);
        rows.pop();
        rows.building().push(int(9));
        rows.abandon_row();
        assert_eq!(rows.clone().into_vecs(), vec![vec![int(1), int(2)]]);
        rows.push(&[int(5), int(6)]);
        assert_eq!(rows.into_vecs(), vec![vec![int(1), int(2)], vec![int(5), int(6)]]);
    }

    #[test]
    fn rows_of_no_columns_are_counted() {
        let mut rows = Rows::new(0);
        rows.push(&[]);
        rows.push(&[]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().count(), 2);
        assert!(rows.iter().all(<[Value]>::is_empty));
        assert_eq!(rows.iter_mut().count(), 0);
        assert_eq!(rows.clone().into_vecs(), vec![Vec::<Value>::new(); 2]);
        assert_eq!(Rows::from_vecs(vec![Vec::new(); 2]), rows);
    }

    #[test]
    fn values_can_change_in_place() {
        let mut rows = Rows::from_vecs(vec![vec![int(1), int(2)], vec![int(3), int(4)]]);
        for row in rows.iter_mut() {
            row[1] = Value::Null;
        }
        assert_eq!(rows.into_vecs(), vec![vec![int(1), Value::Null], vec![int(3), Value::Null]]);
    }
}
