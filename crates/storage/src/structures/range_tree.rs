//! The rows of one aggregate-view group ordered by the view's range
//! column, with running aggregates over any range of them.
//!
//! Rows sit in sorted blocks of at most `BLOCK_MAX`, each with the
//! summary of its rows; a segment tree over the blocks' summaries answers
//! for any run of whole blocks in O(log blocks), and the at most two
//! blocks a range cuts are summed row by row. A block keeps each column
//! in its own array, and a column of BIGINT/INTEGER values (ids, amounts,
//! epoch seconds) as plain `i64`s: a row costs its values and its
//! identity, not a node with links and a summary of its own. Most groups
//! are one block and keep no segment tree.

use std::cmp::Ordering;
use std::sync::Arc;

use aotdb_planner::{AggFunc, AggSpec, Value};

use super::agg_state::{Args, Partial};
use super::sort_key::Identity;

/// Rows a block holds at most; a fuller one splits in two (or, when rows
/// arrive at the end, as time-ordered rows do, a new block starts).
const BLOCK_MAX: usize = 64;

/// One row of a range tree: its range value, identity and aggregate
/// arguments.
pub type RangeRow = (Value, Identity, Args);

/// A value type with a narrow form that most of its values take (an
/// integer `Value`, a one-table `Identity`): a block's column keeps the
/// narrow form while every value has it.
trait Narrowable: Ord + Clone {
    type Narrow: Copy + Ord;
    fn narrow(&self) -> Option<Self::Narrow>;
    fn widen(n: Self::Narrow) -> Self;
    /// Heap bytes of one wide value (INFO memory).
    fn heap(&self) -> usize;
}

impl Narrowable for Value {
    type Narrow = i64;

    fn narrow(&self) -> Option<i64> {
        match self {
            Value::Int(x) => Some(*x),
            _ => None,
        }
    }

    fn widen(n: i64) -> Value {
        Value::Int(n)
    }

    fn heap(&self) -> usize {
        crate::memory::value_heap(self)
    }
}

impl Narrowable for Identity {
    type Narrow = u32;

    fn narrow(&self) -> Option<u32> {
        match self {
            Identity::One(x) => Some(*x),
            Identity::Many(_) => None,
        }
    }

    fn widen(n: u32) -> Identity {
        Identity::One(n)
    }

    fn heap(&self) -> usize {
        match self {
            Identity::Many(ids) => crate::memory::allocation(std::mem::size_of_val(&**ids)),
            Identity::One(_) => 0,
        }
    }
}

/// A column of a block, narrow while every value is (see `Narrowable`);
/// both forms order their values alike.
#[derive(Debug, Clone)]
enum Column<W: Narrowable> {
    Narrow(Vec<W::Narrow>),
    Wide(Vec<W>),
}

/// Range values and aggregate arguments: plain integers while all are.
type Lane = Column<Value>;
/// Row identities: plain slots while every row comes from one table.
type Ids = Column<Identity>;

impl<W: Narrowable> Column<W> {
    fn with_capacity(n: usize) -> Column<W> {
        Column::Narrow(Vec::with_capacity(n))
    }

    fn len(&self) -> usize {
        match self {
            Column::Narrow(v) => v.len(),
            Column::Wide(v) => v.len(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Column::Narrow(v) => v.capacity(),
            Column::Wide(v) => v.capacity(),
        }
    }

    fn get(&self, i: usize) -> W {
        match self {
            Column::Narrow(v) => W::widen(v[i]),
            Column::Wide(v) => v[i].clone(),
        }
    }

    fn cmp_at(&self, i: usize, w: &W) -> Ordering {
        match self {
            Column::Narrow(v) => match w.narrow() {
                Some(x) => v[i].cmp(&x),
                None => W::widen(v[i]).cmp(w),
            },
            Column::Wide(v) => v[i].cmp(w),
        }
    }

    /// The column in its wide form (a value without the narrow form
    /// arrived).
    fn widen(&mut self) -> &mut Vec<W> {
        if let Column::Narrow(v) = self {
            let mut wide = Vec::with_capacity(v.capacity());
            wide.extend(v.iter().map(|&x| W::widen(x)));
            *self = Column::Wide(wide);
        }
        match self {
            Column::Wide(v) => v,
            Column::Narrow(_) => unreachable!("widened above"),
        }
    }

    fn insert(&mut self, i: usize, w: W) {
        match (&mut *self, w.narrow()) {
            (Column::Narrow(v), Some(x)) => v.insert(i, x),
            _ => self.widen().insert(i, w),
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            Column::Narrow(v) => {
                v.remove(i);
            }
            Column::Wide(v) => {
                v.remove(i);
            }
        }
    }

    fn shrink_to(&mut self, rows: usize) {
        match self {
            Column::Narrow(v) => v.shrink_to(rows),
            Column::Wide(v) => v.shrink_to(rows),
        }
    }

    /// The rows from `at` on, as a new column (a block splitting).
    fn split_off(&mut self, at: usize) -> Column<W> {
        match self {
            Column::Narrow(v) => Column::Narrow(split_exact(v, at)),
            Column::Wide(v) => Column::Wide(split_exact(v, at)),
        }
    }

    fn append(&mut self, other: Column<W>) {
        match (&mut *self, other) {
            (Column::Narrow(a), Column::Narrow(b)) => a.extend(b),
            (_, Column::Narrow(b)) => self.widen().extend(b.into_iter().map(W::widen)),
            (_, Column::Wide(b)) => self.widen().extend(b),
        }
    }

    fn heap_bytes(&self) -> usize {
        use crate::memory::{allocation, SAMPLE};
        match self {
            Column::Narrow(v) => allocation(v.capacity() * std::mem::size_of::<W::Narrow>()),
            Column::Wide(v) => {
                let shared: usize = v.iter().take(SAMPLE).map(W::heap).sum();
                let sampled = v.len().clamp(1, SAMPLE);
                allocation(v.capacity() * std::mem::size_of::<W>()) + shared * v.len() / sampled
            }
        }
    }
}

impl Lane {
    /// Adds the rows `from..to` of this argument column to `acc`.
    fn summarize(&self, spec: &AggSpec, from: usize, to: usize, acc: &mut Partial) {
        match (self, &mut *acc) {
            // The usual cases over integers, without a value per row.
            (Column::Narrow(v), Partial::SumInt { sum, n }) => {
                *sum += v[from..to].iter().map(|&x| x as i128).sum::<i128>();
                *n += (to - from) as i64;
            }
            (Column::Narrow(_), Partial::Count(c)) => *c += (to - from) as i64,
            _ => {
                for i in from..to {
                    let arg = self.get(i);
                    acc.merge(&Partial::of_row(spec, spec.arg.as_ref().map(|_| &arg)));
                }
            }
        }
    }
}

/// Splits `v` at `at`, the tail allocated at its size (`Vec::split_off`
/// would keep the head's whole capacity too).
fn split_exact<T>(v: &mut Vec<T>, at: usize) -> Vec<T> {
    let mut tail = Vec::with_capacity(BLOCK_MAX);
    tail.extend(v.drain(at..));
    tail
}

/// The aggregates a tree keeps per block: all but COUNT(*), which is a
/// row count.
struct Kept<'a> {
    aggs: &'a [AggSpec],
    stored: &'a [usize],
}

impl Kept<'_> {
    fn empty_summaries(&self) -> impl Iterator<Item = Partial> + '_ {
        self.stored.iter().map(|&j| Partial::empty(&self.aggs[j]))
    }
}

/// Sorted rows and their summary.
#[derive(Debug, Clone)]
struct Block {
    values: Lane,
    ids: Ids,
    /// One lane per stored aggregate.
    args: Box<[Lane]>,
    /// The block's summary, one per stored aggregate.
    summary: Box<[Partial]>,
}

impl Block {
    fn new(kept: &Kept<'_>, capacity: usize) -> Block {
        Block {
            values: Lane::with_capacity(capacity),
            ids: Ids::with_capacity(capacity),
            args: kept.stored.iter().map(|_| Lane::with_capacity(capacity)).collect(),
            summary: kept.empty_summaries().collect(),
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Orders row `i` against (value, identity).
    fn cmp_row(&self, i: usize, value: &Value, identity: &Identity) -> Ordering {
        self.values.cmp_at(i, value).then_with(|| self.ids.cmp_at(i, identity))
    }

    /// The first row at or after (value, identity).
    fn position(&self, value: &Value, identity: &Identity) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.cmp_row(mid, value, identity) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The first row whose value is not below `lower` (all rows when
    /// there is no bound).
    fn first_in(&self, lower: Option<&(Value, bool)>) -> usize {
        let Some((bound, inclusive)) = lower else { return 0 };
        partition(self.len(), |i| match self.values.cmp_at(i, bound) {
            Ordering::Less => true,
            Ordering::Equal => !inclusive,
            Ordering::Greater => false,
        })
    }

    /// The first row whose value is above `upper` (past the end when
    /// there is no bound).
    fn end_in(&self, upper: Option<&(Value, bool)>) -> usize {
        let Some((bound, inclusive)) = upper else { return self.len() };
        partition(self.len(), |i| match self.values.cmp_at(i, bound) {
            Ordering::Less => true,
            Ordering::Equal => *inclusive,
            Ordering::Greater => false,
        })
    }

    /// Adds rows `from..to` to `acc`.
    fn add_rows(&self, kept: &Kept<'_>, from: usize, to: usize, acc: &mut RangeSummary) {
        if from >= to {
            return;
        }
        acc.rows += (to - from) as u64;
        for ((&j, lane), partial) in kept.stored.iter().zip(self.args.iter()).zip(acc.partials.iter_mut()) {
            lane.summarize(&kept.aggs[j], from, to, partial);
        }
    }

    /// Recomputes the summary from the rows.
    fn resummarize(&mut self, kept: &Kept<'_>) {
        let len = self.len();
        for ((&j, lane), partial) in kept.stored.iter().zip(self.args.iter()).zip(self.summary.iter_mut()) {
            *partial = Partial::empty(&kept.aggs[j]);
            lane.summarize(&kept.aggs[j], 0, len, partial);
        }
    }

    /// Inserts a row at `at` and adds it to the summary.
    fn insert(&mut self, kept: &Kept<'_>, at: usize, value: Value, identity: Identity, args: &[Value]) {
        self.values.insert(at, value);
        self.ids.insert(at, identity);
        for ((lane, partial), &j) in self.args.iter_mut().zip(self.summary.iter_mut()).zip(kept.stored.iter()) {
            lane.insert(at, args.get(j).cloned().unwrap_or(Value::Null));
            lane.summarize(&kept.aggs[j], at, at + 1, partial);
        }
    }

    /// Removes row `at`; the summary is the caller's to recompute. A
    /// block down to a quarter of its room gives half of it back.
    fn remove(&mut self, at: usize) {
        self.values.remove(at);
        self.ids.remove(at);
        for lane in self.args.iter_mut() {
            lane.remove(at);
        }
        let len = self.len();
        if len > 0 && len * 4 <= self.capacity() && self.capacity() > 4 {
            self.values.shrink_to(len * 2);
            self.ids.shrink_to(len * 2);
            for lane in self.args.iter_mut() {
                lane.shrink_to(len * 2);
            }
        }
    }

    /// Rows the block has room for.
    fn capacity(&self) -> usize {
        self.ids.capacity()
    }

    /// Moves the rows from `at` on into a new block.
    fn split_off(&mut self, kept: &Kept<'_>, at: usize) -> Block {
        let mut tail = Block {
            values: self.values.split_off(at),
            ids: self.ids.split_off(at),
            args: self.args.iter_mut().map(|lane| lane.split_off(at)).collect(),
            summary: kept.empty_summaries().collect(),
        };
        self.resummarize(kept);
        tail.resummarize(kept);
        tail
    }

    /// Appends the rows of the block after this one.
    fn append(&mut self, kept: &Kept<'_>, tail: Block) {
        self.values.append(tail.values);
        self.ids.append(tail.ids);
        for (lane, other) in self.args.iter_mut().zip(tail.args.into_vec()) {
            lane.append(other);
        }
        self.resummarize(kept);
    }
}

/// The first `i` in `0..len` for which `before(i)` is false (`before` is
/// true on a prefix).
fn partition(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The rows of one group in range-column order, with their aggregates
/// over any range (see the module comment).
#[derive(Debug, Clone)]
pub struct RangeTree {
    aggs: Arc<[AggSpec]>,
    /// The aggregates kept: all but COUNT(*), which is a row count.
    stored: Arc<[usize]>,
    blocks: Vec<Block>,
    /// Over more than one block: a segment tree of their summaries, with
    /// `leaves` leaves (a power of two); node `n`'s rows are `seg_rows[n]`
    /// and its summaries `seg[n * width..(n + 1) * width]`. Empty for one
    /// block.
    leaves: usize,
    seg_rows: Vec<u64>,
    seg: Vec<Partial>,
}

/// Aggregates over a key range.
#[derive(Debug, Clone)]
pub struct RangeSummary {
    pub rows: u64,
    /// One per aggregate of the view.
    pub partials: Vec<Partial>,
}

impl RangeTree {
    pub fn new(aggs: Arc<[AggSpec]>) -> RangeTree {
        let stored: Arc<[usize]> =
            aggs.iter().enumerate().filter(|(_, a)| a.func != AggFunc::CountStar).map(|(i, _)| i).collect();
        RangeTree { aggs, stored, blocks: Vec::new(), leaves: 0, seg_rows: Vec::new(), seg: Vec::new() }
    }

    fn width(&self) -> usize {
        self.stored.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Checks the invariants (rows in order within and across blocks, no
    /// empty or overfull block, summaries and segment tree up to date);
    /// returns the rows.
    #[cfg(test)]
    fn check(&self) -> u64 {
        let kept = self.kept();
        let mut previous: Option<(Value, Identity)> = None;
        for block in &self.blocks {
            assert!(block.len() > 0 && block.len() <= BLOCK_MAX);
            for i in 0..block.len() {
                let value = block.values.get(i);
                let identity = block.ids.get(i);
                if let Some((pv, pi)) = &previous {
                    assert_eq!(block.cmp_row(i, pv, pi), Ordering::Greater);
                }
                previous = Some((value, identity));
            }
            let mut fresh = block.clone();
            fresh.resummarize(&kept);
            assert_eq!(fresh.summary, block.summary);
        }
        let rows = self.blocks.iter().map(|b| b.len() as u64).sum();
        if self.blocks.len() > 1 {
            // The segment tree over all blocks agrees with the blocks
            // merged one by one, and leaves past the last block are empty.
            let mut all = RangeSummary { rows: 0, partials: self.kept().empty_summaries().collect() };
            self.add_blocks(0, self.blocks.len(), &mut all);
            let mut merged: Vec<Partial> = self.kept().empty_summaries().collect();
            for block in &self.blocks {
                for (m, p) in merged.iter_mut().zip(block.summary.iter()) {
                    m.merge(p);
                }
            }
            assert_eq!((all.rows, all.partials), (rows, merged));
            for k in self.blocks.len()..self.leaves {
                assert_eq!(self.seg_rows[self.leaves + k], 0);
            }
        }
        rows
    }

    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.blocks.iter().map(|b| b.len() as u64).sum()
    }

    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::allocation;
        let w = self.width();
        allocation(self.blocks.capacity() * std::mem::size_of::<Block>())
            + self
                .blocks
                .iter()
                .map(|b| {
                    b.values.heap_bytes()
                        + b.ids.heap_bytes()
                        + allocation(w * std::mem::size_of::<Lane>())
                        + b.args.iter().map(Lane::heap_bytes).sum::<usize>()
                        + allocation(w * std::mem::size_of::<Partial>())
                })
                .sum::<usize>()
            + allocation(self.seg_rows.capacity() * 8)
            + allocation(self.seg.capacity() * std::mem::size_of::<Partial>())
    }

    fn kept(&self) -> Kept<'_> {
        Kept { aggs: &self.aggs, stored: &self.stored }
    }

    /// Builds the tree from rows sorted by (value, identity): full blocks.
    pub fn from_sorted(aggs: Arc<[AggSpec]>, rows: Vec<RangeRow>) -> RangeTree {
        let mut tree = RangeTree::new(aggs);
        let kept = Kept { aggs: &tree.aggs, stored: &tree.stored };
        let mut blocks = Vec::with_capacity(rows.len().div_ceil(BLOCK_MAX));
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut block = Block::new(&kept, rows.len().min(BLOCK_MAX));
            for (value, identity, args) in rows.by_ref().take(BLOCK_MAX) {
                let at = block.len();
                block.insert(&kept, at, value, identity, &args);
            }
            blocks.push(block);
        }
        tree.blocks = blocks;
        tree.rebuild_segments();
        tree
    }

    /// The block a row with this key belongs in: the last one starting at
    /// or before it (the first when none does).
    fn block_for(&self, value: &Value, identity: &Identity) -> usize {
        partition(self.blocks.len(), |k| self.blocks[k].cmp_row(0, value, identity) != Ordering::Greater)
            .saturating_sub(1)
    }

    /// Inserts a row.
    pub fn insert(&mut self, value: Value, identity: Identity, args: &[Value]) {
        let kept = Kept { aggs: &self.aggs, stored: &self.stored };
        let k = if self.blocks.is_empty() {
            // Most groups hold a few rows: room for one, then doubling.
            self.blocks.push(Block::new(&kept, 1));
            0
        } else {
            self.block_for(&value, &identity)
        };
        let at = self.blocks[k].position(&value, &identity);
        if k + 1 == self.blocks.len() && at == BLOCK_MAX {
            // Rows arriving at the end (time-ordered) start a new block and
            // leave the full one full.
            let mut block = Block::new(&kept, 4);
            block.insert(&kept, 0, value, identity, args);
            self.blocks.push(block);
            self.block_added();
            return;
        }
        let block = &mut self.blocks[k];
        if block.len() < BLOCK_MAX {
            block.insert(&kept, at, value, identity, args);
            self.block_changed(k);
            return;
        }
        // A full block splits in half first, so neither half grows past
        // the block's room; the row goes into the half it falls in.
        let half = BLOCK_MAX / 2;
        let mut tail = block.split_off(&kept, half);
        if at <= half {
            block.insert(&kept, at, value, identity, args);
        } else {
            tail.insert(&kept, at - half, value, identity, args);
        }
        self.blocks.insert(k + 1, tail);
        self.rebuild_segments();
    }

    /// Removes the row; returns whether it was there.
    pub fn remove(&mut self, value: &Value, identity: &Identity) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let kept = Kept { aggs: &self.aggs, stored: &self.stored };
        let k = self.block_for(value, identity);
        let block = &mut self.blocks[k];
        let at = block.position(value, identity);
        if at >= block.len() || block.cmp_row(at, value, identity) != Ordering::Equal {
            return false;
        }
        block.remove(at);
        let len = block.len();
        if len == 0 {
            self.blocks.remove(k);
            if self.blocks.capacity() > 8 && self.blocks.len() < self.blocks.capacity() / 4 {
                self.blocks.shrink_to(self.blocks.len() * 2);
            }
            self.rebuild_segments();
            return true;
        }
        // A block down to a quarter joins a neighbour it fits beside,
        // leaving room for a quarter more.
        if len < BLOCK_MAX / 4 {
            let fits = |n: usize| self.blocks.get(n).is_some_and(|b| b.len() + len <= BLOCK_MAX * 3 / 4);
            let neighbour = [k.checked_sub(1), Some(k + 1)].into_iter().flatten().find(|&n| fits(n));
            if let Some(n) = neighbour {
                let (first, second) = (k.min(n), k.max(n));
                let tail = self.blocks.remove(second);
                self.blocks[first].append(&kept, tail);
                self.rebuild_segments();
                return true;
            }
        }
        self.blocks[k].resummarize(&kept);
        self.block_changed(k);
        true
    }

    /// Aggregates of the rows whose value lies within the bounds (each
    /// `(value, inclusive)`).
    pub fn query(&self, lower: Option<&(Value, bool)>, upper: Option<&(Value, bool)>) -> RangeSummary {
        let mut acc = RangeSummary { rows: 0, partials: self.kept().empty_summaries().collect() };
        if !self.blocks.is_empty() {
            self.collect(lower, upper, &mut acc);
        }
        // Spread the stored aggregates over the view's, COUNT(*) as rows.
        let mut stored = std::mem::take(&mut acc.partials).into_iter();
        acc.partials = self
            .aggs
            .iter()
            .map(|spec| match spec.func {
                AggFunc::CountStar => Partial::Count(acc.rows as i64),
                _ => stored.next().unwrap_or_else(|| Partial::empty(spec)),
            })
            .collect();
        acc
    }

    /// Adds the rows within the bounds to `acc`: the part of the first
    /// and last blocks they cut, row by row, and the whole blocks between
    /// from the segment tree.
    fn collect(&self, lower: Option<&(Value, bool)>, upper: Option<&(Value, bool)>, acc: &mut RangeSummary) {
        let blocks = &self.blocks;
        // The first block with a row not below `lower`, and the last with
        // a row not above `upper`.
        let first = match lower {
            None => 0,
            Some(_) => partition(blocks.len(), |k| blocks[k].first_in(lower) == blocks[k].len()),
        };
        let last = match upper {
            None => blocks.len(),
            Some(_) => partition(blocks.len(), |k| blocks[k].end_in(upper) > 0),
        };
        if first >= last {
            return;
        }
        let last = last - 1;
        let start = blocks[first].first_in(lower);
        if first == last {
            let end = blocks[first].end_in(upper);
            blocks[first].add_rows(&self.kept(), start, end, acc);
            return;
        }
        blocks[first].add_rows(&self.kept(), start, blocks[first].len(), acc);
        self.add_blocks(first + 1, last, acc);
        blocks[last].add_rows(&self.kept(), 0, blocks[last].end_in(upper), acc);
    }

    /// Adds the whole blocks `from..to` to `acc`.
    fn add_blocks(&self, from: usize, to: usize, acc: &mut RangeSummary) {
        if from >= to {
            return;
        }
        let w = self.width();
        let add = |acc: &mut RangeSummary, rows: u64, summary: &[Partial]| {
            acc.rows += rows;
            for (a, p) in acc.partials.iter_mut().zip(summary) {
                a.merge(p);
            }
        };
        let (mut l, mut r) = (from + self.leaves, to + self.leaves);
        while l < r {
            if l & 1 == 1 {
                add(acc, self.seg_rows[l], &self.seg[l * w..(l + 1) * w]);
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                add(acc, self.seg_rows[r], &self.seg[r * w..(r + 1) * w]);
            }
            l /= 2;
            r /= 2;
        }
    }

    /// Recomputes segment node `n` from its children.
    fn resum_node(&mut self, n: usize) {
        let w = self.width();
        let (left, right) = (2 * n, 2 * n + 1);
        self.seg_rows[n] = self.seg_rows[left] + self.seg_rows[right];
        for i in 0..w {
            let mut p = self.seg[left * w + i].clone();
            p.merge(&self.seg[right * w + i]);
            self.seg[n * w + i] = p;
        }
    }

    /// Sets the leaf of block `k` from its summary.
    fn set_leaf(&mut self, k: usize) {
        let w = self.width();
        let n = self.leaves + k;
        self.seg_rows[n] = self.blocks[k].len() as u64;
        for i in 0..w {
            self.seg[n * w + i] = self.blocks[k].summary[i].clone();
        }
    }

    /// Block `k`'s rows changed (not the number of blocks).
    fn block_changed(&mut self, k: usize) {
        if self.leaves == 0 {
            return;
        }
        self.set_leaf(k);
        let mut n = (self.leaves + k) / 2;
        while n >= 1 {
            self.resum_node(n);
            n /= 2;
        }
    }

    /// A block was added at the end: a new leaf, unless the segment tree
    /// must grow.
    fn block_added(&mut self) {
        if self.leaves == 0 || self.blocks.len() > self.leaves {
            self.rebuild_segments();
        } else {
            self.block_changed(self.blocks.len() - 1);
        }
    }

    /// Rebuilds the segment tree for the current blocks (none for one).
    fn rebuild_segments(&mut self) {
        let w = self.width();
        if self.blocks.len() <= 1 {
            self.leaves = 0;
            self.seg_rows = Vec::new();
            self.seg = Vec::new();
            return;
        }
        // Room to grow before the next rebuild by size.
        let leaves = self.blocks.len().next_power_of_two();
        if leaves != self.leaves {
            self.leaves = leaves;
            self.seg_rows = vec![0; 2 * leaves];
            let kept = self.kept();
            let seg: Vec<Partial> = (0..2 * leaves).flat_map(|_| kept.empty_summaries()).collect();
            self.seg = seg;
        }
        for k in 0..leaves {
            if k < self.blocks.len() {
                self.set_leaf(k);
            } else {
                let n = leaves + k;
                self.seg_rows[n] = 0;
                for (i, &j) in self.stored.iter().enumerate() {
                    self.seg[n * w + i] = Partial::empty(&self.aggs[j]);
                }
            }
        }
        for n in (1..leaves).rev() {
            self.resum_node(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aotdb_planner::{AggFunc, DataType, Expr};

    fn aggs() -> Arc<[AggSpec]> {
        vec![
            AggSpec { func: AggFunc::CountStar, arg: None, arg_ty: None, ty: DataType::BigInt },
            AggSpec {
                func: AggFunc::Sum,
                arg: Some(Expr::Column(1)),
                arg_ty: Some(DataType::BigInt),
                ty: DataType::BigInt,
            },
            AggSpec {
                func: AggFunc::Max,
                arg: Some(Expr::Column(1)),
                arg_ty: Some(DataType::BigInt),
                ty: DataType::BigInt,
            },
        ]
        .into()
    }

    #[test]
    fn range_aggregates_match_a_brute_force_sum() {
        let mut tree = RangeTree::new(aggs());
        let mut rows: Vec<(i64, u32, i64)> = Vec::new();
        let mut x: u64 = 7;
        for i in 0..2000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let t = ((x >> 33) % 500) as i64;
            let amount = ((x >> 13) % 100) as i64;
            rows.push((t, i, amount));
            tree.insert(Value::Int(t), Identity::One(i), &[Value::Null, Value::Int(amount), Value::Int(amount)]);
            if i % 3 == 0 {
                let (t, id, _) = rows.remove(((x >> 7) as usize) % rows.len());
                assert!(tree.remove(&Value::Int(t), &Identity::One(id)));
            }
        }
        for (lo, hi) in [(0, 499), (100, 200), (250, 250), (300, 100)] {
            let s = tree.query(Some(&(Value::Int(lo), true)), Some(&(Value::Int(hi), false)));
            let expect: Vec<&(i64, u32, i64)> = rows.iter().filter(|(t, _, _)| *t >= lo && *t < hi).collect();
            assert_eq!(s.rows, expect.len() as u64);
            assert_eq!(s.partials[0].output(&aggs()[0]).unwrap(), Value::Int(expect.len() as i64));
            let sum: i64 = expect.iter().map(|r| r.2).sum();
            assert_eq!(
                s.partials[1].output(&aggs()[1]).unwrap(),
                if expect.is_empty() { Value::Null } else { Value::Int(sum) }
            );
            let max = expect.iter().map(|r| r.2).max();
            assert_eq!(s.partials[2].output(&aggs()[2]).unwrap(), max.map(Value::Int).unwrap_or(Value::Null));
        }
        assert_eq!(tree.len(), rows.len() as u64);
        assert_eq!(tree.check(), rows.len() as u64);
        // Built in one go from the same rows: the same answers.
        let mut sorted: Vec<RangeRow> = rows
            .iter()
            .map(|(t, id, a)| {
                (
                    Value::Int(*t),
                    Identity::One(*id),
                    [Value::Null, Value::Int(*a), Value::Int(*a)].into_iter().collect(),
                )
            })
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let bulk = RangeTree::from_sorted(aggs(), sorted);
        for (lo, hi) in [(0, 499), (100, 200), (250, 250)] {
            let a = tree.query(Some(&(Value::Int(lo), true)), Some(&(Value::Int(hi), false)));
            let b = bulk.query(Some(&(Value::Int(lo), true)), Some(&(Value::Int(hi), false)));
            assert_eq!((a.rows, a.partials), (b.rows, b.partials));
        }
    }

    fn spec(func: AggFunc, ty: DataType) -> AggSpec {
        AggSpec { func, arg: Some(Expr::Column(1)), arg_ty: Some(ty), ty }
    }

    /// COUNT(*), COUNT(x), SUM(x), MIN(x), MAX(x) over a column that may be
    /// NULL or text: the general (not all-integer) path.
    fn mixed_aggs() -> Arc<[AggSpec]> {
        vec![
            AggSpec { func: AggFunc::CountStar, arg: None, arg_ty: None, ty: DataType::BigInt },
            spec(AggFunc::Count, DataType::BigInt),
            spec(AggFunc::Sum, DataType::BigInt),
            spec(AggFunc::Min, DataType::BigInt),
            spec(AggFunc::Max, DataType::Text),
        ]
        .into()
    }

    /// A reference row: range value, identity, the SUM/MIN argument and
    /// the MAX argument.
    type Row = (i64, Identity, Option<i64>, Option<String>);

    fn args(r: &Row) -> Args {
        let n = r.2.map_or(Value::Null, Value::Int);
        let t = r.3.clone().map_or(Value::Null, |s| Value::Text(s.as_str().into()));
        [Value::Null, n.clone(), n.clone(), n, t].into_iter().collect()
    }

    fn expected(rows: &[Row], lower: Option<(i64, bool)>, upper: Option<(i64, bool)>) -> Vec<Value> {
        let within: Vec<&Row> = rows
            .iter()
            .filter(|r| lower.is_none_or(|(b, inc)| r.0 > b || (inc && r.0 == b)))
            .filter(|r| upper.is_none_or(|(b, inc)| r.0 < b || (inc && r.0 == b)))
            .collect();
        let nums: Vec<i64> = within.iter().filter_map(|r| r.2).collect();
        let texts: Vec<&String> = within.iter().filter_map(|r| r.3.as_ref()).collect();
        vec![
            Value::Int(within.len() as i64),
            Value::Int(nums.len() as i64),
            if nums.is_empty() { Value::Null } else { Value::Int(nums.iter().sum()) },
            nums.iter().min().map_or(Value::Null, |&m| Value::Int(m)),
            texts.iter().max().map_or(Value::Null, |s| Value::Text(s.as_str().into())),
        ]
    }

    fn answer(tree: &RangeTree, lower: Option<(i64, bool)>, upper: Option<(i64, bool)>) -> Vec<Value> {
        let lower = lower.map(|(b, inc)| (Value::Int(b), inc));
        let upper = upper.map(|(b, inc)| (Value::Int(b), inc));
        let s = tree.query(lower.as_ref(), upper.as_ref());
        s.partials.iter().zip(mixed_aggs().iter()).map(|(p, a)| p.output(a).unwrap()).collect()
    }

    #[test]
    fn time_ordered_inserts_random_removes_and_mixed_values_match_a_brute_force() {
        let aggs = mixed_aggs();
        let mut tree = RangeTree::new(aggs.clone());
        let mut rows: Vec<Row> = Vec::new();
        let mut x: u64 = 11;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 17
        };
        for i in 0..3000u32 {
            let r = next();
            // Mostly rising times, some out of order; a few joined
            // identities, NULL and text arguments.
            let t = if r % 5 == 0 { (r % 1000) as i64 } else { i as i64 };
            let identity = if r % 97 == 0 { Identity::Many(vec![i, 7].into()) } else { Identity::One(i) };
            let num = (r % 13 != 0).then_some((r % 1000) as i64 - 300);
            let text = (r % 3 == 0).then(|| format!("m{}", r % 50));
            let row = (t, identity, num, text);
            tree.insert(Value::Int(row.0), row.1.clone(), &args(&row));
            rows.push(row);
            if r % 4 == 0 {
                let gone = rows.remove((next() as usize) % rows.len());
                assert!(tree.remove(&Value::Int(gone.0), &gone.1));
                assert!(!tree.remove(&Value::Int(gone.0), &gone.1));
            }
        }
        assert_eq!(tree.check(), rows.len() as u64);
        let bounds = [
            (None, None),
            (Some((1500, true)), None),
            (Some((1500, false)), Some((2400, true))),
            (None, Some((10, false))),
            (Some((999, true)), Some((999, true))),
            (Some((2000, true)), Some((100, true))),
            (Some((5000, true)), None),
        ];
        for (lower, upper) in bounds {
            assert_eq!(answer(&tree, lower, upper), expected(&rows, lower, upper), "{lower:?} {upper:?}");
        }
        // Remove nearly everything: blocks empty out and join neighbours.
        while rows.len() > 5 {
            let gone = rows.remove((next() as usize) % rows.len());
            assert!(tree.remove(&Value::Int(gone.0), &gone.1));
            if rows.len().is_multiple_of(97) {
                assert_eq!(tree.check(), rows.len() as u64);
                for (lower, upper) in bounds {
                    assert_eq!(answer(&tree, lower, upper), expected(&rows, lower, upper));
                }
            }
        }
        // Built in one go from the same rows: the same answers.
        let mut sorted: Vec<RangeRow> = rows.iter().map(|r| (Value::Int(r.0), r.1.clone(), args(r))).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let bulk = RangeTree::from_sorted(aggs, sorted);
        assert_eq!(bulk.check(), rows.len() as u64);
        for (lower, upper) in bounds {
            assert_eq!(answer(&bulk, lower, upper), expected(&rows, lower, upper));
        }
        for r in &rows {
            assert!(tree.remove(&Value::Int(r.0), &r.1));
        }
        assert!(tree.is_empty());
    }
}
