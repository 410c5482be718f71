//! An ordered tree of rows with running aggregates: a treap keyed by
//! (range value, row identity) whose nodes keep the aggregate summary of
//! their subtree, so the aggregates of any key range cost O(log n).
//! Nodes live in an arena and link by index; priorities come from a hash
//! of the identity, so the shape is the same on every replay (and need
//! not be stored). Each node's aggregate arguments and subtree summaries
//! sit in two flat arrays beside the nodes, `width` entries per node: no
//! allocation per node, which halves the tree's memory.

use std::cmp::Ordering;
use std::sync::Arc;

use aotdb_planner::{AggFunc, AggSpec, Value};

use super::agg_state::Partial;
use super::sort_key::Identity;

/// A descent's nodes and turns, on the stack: a treap of a million rows
/// is rarely deeper than 64.
type Path = smallvec::SmallVec<[(u32, bool); 64]>;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    value: Value,
    identity: Identity,
    left: u32,
    right: u32,
    /// Rows in the subtree.
    rows: u64,
}

/// One row of a range tree: its range value, identity and aggregate
/// arguments.
pub type RangeRow = (Value, Identity, Box<[Value]>);

#[derive(Debug, Clone)]
pub struct RangeTree {
    aggs: Arc<[AggSpec]>,
    /// The aggregates kept per node: all but COUNT(*), which is the
    /// subtree's row count every node has anyway.
    stored: Arc<[usize]>,
    nodes: Vec<Node>,
    /// Node `n`'s arguments of the stored aggregates:
    /// `args[n * width..(n + 1) * width]`.
    args: Vec<Value>,
    /// Node `n`'s subtree summaries, laid out as `args`.
    summaries: Vec<Partial>,
    free: Vec<u32>,
    root: u32,
}

/// Aggregates over a key range.
#[derive(Debug, Clone)]
pub struct RangeSummary {
    pub rows: u64,
    pub partials: Vec<Partial>,
}

fn priority_of(identity: &Identity) -> u64 {
    // splitmix64 over the row ids.
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &id in identity.ids() {
        let mut z = h ^ (id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

impl RangeTree {
    pub fn new(aggs: Arc<[AggSpec]>) -> RangeTree {
        let stored: Arc<[usize]> =
            aggs.iter().enumerate().filter(|(_, a)| a.func != AggFunc::CountStar).map(|(i, _)| i).collect();
        RangeTree {
            aggs,
            stored,
            nodes: Vec::new(),
            args: Vec::new(),
            summaries: Vec::new(),
            free: Vec::new(),
            root: NIL,
        }
    }

    fn width(&self) -> usize {
        self.stored.len()
    }

    /// A row's arguments of the stored aggregates, in stored order.
    fn stored_args(stored: &[usize], args: Box<[Value]>) -> impl Iterator<Item = Value> + '_ {
        let mut args = args.into_vec();
        stored.iter().map(move |&j| args.get_mut(j).map_or(Value::Null, |v| std::mem::replace(v, Value::Null)))
    }

    fn empty_summaries<'a>(aggs: &'a [AggSpec], stored: &'a [usize]) -> impl Iterator<Item = Partial> + 'a {
        stored.iter().map(|&j| Partial::empty(&aggs[j]))
    }

    fn priority(&self, n: u32) -> u64 {
        priority_of(&self.nodes[n as usize].identity)
    }

    /// Checks the treap's invariants below `n` (keys in order, a parent's
    /// priority at least its children's, row counts); returns the rows.
    #[cfg(test)]
    fn check(&self, n: u32) -> u64 {
        if n == NIL {
            return 0;
        }
        let node = &self.nodes[n as usize];
        for (child, want) in [(node.left, Ordering::Less), (node.right, Ordering::Greater)] {
            if child != NIL {
                assert_eq!(self.cmp_node(child, n), want);
                assert!(self.priority(child) <= self.priority(n));
            }
        }
        let rows = 1 + self.check(node.left) + self.check(node.right);
        assert_eq!(node.rows, rows);
        rows
    }

    #[cfg(test)]
    pub fn len(&self) -> u64 {
        if self.root == NIL {
            0
        } else {
            self.nodes[self.root as usize].rows
        }
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn cmp_key(&self, n: u32, value: &Value, identity: &Identity) -> Ordering {
        let node = &self.nodes[n as usize];
        node.value.cmp(value).then_with(|| node.identity.cmp(identity))
    }

    /// Recomputes a node's subtree summary from its own row and its
    /// children's summaries, in place (no allocation).
    fn update(&mut self, n: u32) {
        let w = self.width();
        let (left, right) = {
            let node = &self.nodes[n as usize];
            (node.left, node.right)
        };
        let base = n as usize * w;
        for (i, &j) in self.stored.iter().enumerate() {
            let spec = &self.aggs[j];
            self.summaries[base + i] = Partial::of_row(spec, spec.arg.as_ref().map(|_| &self.args[base + i]));
        }
        let mut rows = 1;
        for child in [left, right] {
            if child != NIL {
                rows += self.nodes[child as usize].rows;
                let from = child as usize * w;
                // Two disjoint runs of the one array.
                let (dst, src) = if from < base {
                    let (head, tail) = self.summaries.split_at_mut(base);
                    (&mut tail[..w], &head[from..from + w])
                } else {
                    let (head, tail) = self.summaries.split_at_mut(from);
                    (&mut head[base..base + w], &tail[..w])
                };
                for (s, p) in dst.iter_mut().zip(src) {
                    s.merge(p);
                }
            }
        }
        self.nodes[n as usize].rows = rows;
    }

    /// Puts a new node for a row into a free slot or at the end; its
    /// summary is its own row's.
    fn place(&mut self, value: Value, identity: Identity, args: Box<[Value]>) -> u32 {
        let w = self.width();
        let node = Node { value, identity, left: NIL, right: NIL, rows: 1 };
        let index = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                let base = i as usize * w;
                for (slot, arg) in self.args[base..base + w].iter_mut().zip(Self::stored_args(&self.stored, args)) {
                    *slot = arg;
                }
                i
            }
            None => {
                if self.nodes.len() == self.nodes.capacity() {
                    // Grow by a quarter, not double: a hot account's tree
                    // holds hundreds of thousands of rows, and doubling
                    // leaves a third of it empty on average.
                    let more = (self.nodes.len() / 4).max(4);
                    self.nodes.reserve_exact(more);
                    self.args.reserve_exact(more * w);
                    self.summaries.reserve_exact(more * w);
                }
                self.nodes.push(node);
                self.args.extend(Self::stored_args(&self.stored, args));
                self.summaries.extend(Self::empty_summaries(&self.aggs, &self.stored));
                (self.nodes.len() - 1) as u32
            }
        };
        self.update(index);
        index
    }

    /// Splits `n` into keys before (value, identity) and the rest.
    fn split(&mut self, n: u32, value: &Value, identity: &Identity) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        if self.cmp_key(n, value, identity) == Ordering::Less {
            let right = self.nodes[n as usize].right;
            let (l, r) = self.split(right, value, identity);
            self.nodes[n as usize].right = l;
            self.update(n);
            (n, r)
        } else {
            let left = self.nodes[n as usize].left;
            let (l, r) = self.split(left, value, identity);
            self.nodes[n as usize].left = r;
            self.update(n);
            (l, n)
        }
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.priority(a) > self.priority(b) {
            let ar = self.nodes[a as usize].right;
            let m = self.merge(ar, b);
            self.nodes[a as usize].right = m;
            self.update(a);
            a
        } else {
            let bl = self.nodes[b as usize].left;
            let m = self.merge(a, bl);
            self.nodes[b as usize].left = m;
            self.update(b);
            b
        }
    }

    /// Approximate heap bytes (INFO memory): the three arrays, and what
    /// each node's values point to (sized from the first node: every node
    /// of a tree has the same shape).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{allocation, value_heap};
        let w = self.width();
        let per_node = self.nodes.iter().position(|n| n.rows > 0).map_or(0, |i| {
            let n = &self.nodes[i];
            self.args[i * w..(i + 1) * w].iter().map(value_heap).sum::<usize>()
                + value_heap(&n.value)
                + match &n.identity {
                    Identity::Many(ids) => allocation(std::mem::size_of_val(&**ids)),
                    Identity::One(_) => 0,
                }
        });
        allocation(self.nodes.capacity() * std::mem::size_of::<Node>())
            + allocation(self.args.capacity() * std::mem::size_of::<Value>())
            + allocation(self.summaries.capacity() * std::mem::size_of::<Partial>())
            + self.free.capacity() * 4
            + self.nodes.len() * per_node
    }

    /// Builds the tree from rows sorted by (value, identity), in linear
    /// time: the treap is the Cartesian tree of the rows' priorities.
    pub fn from_sorted(aggs: Arc<[AggSpec]>, rows: Vec<RangeRow>) -> RangeTree {
        let mut tree = RangeTree::new(aggs);
        let w = tree.width();
        tree.nodes.reserve_exact(rows.len());
        tree.args.reserve_exact(rows.len() * w);
        tree.summaries.reserve_exact(rows.len() * w);
        // The right spine so far, with each node's priority.
        let mut stack: Vec<(u32, u64)> = Vec::new();
        for (value, identity, args) in rows {
            let priority = priority_of(&identity);
            let index = tree.nodes.len() as u32;
            tree.nodes.push(Node { value, identity, left: NIL, right: NIL, rows: 1 });
            tree.args.extend(Self::stored_args(&tree.stored, args));
            tree.summaries.extend(Self::empty_summaries(&tree.aggs, &tree.stored));
            let mut last = NIL;
            while let Some(&(top, top_priority)) = stack.last() {
                if top_priority >= priority {
                    break;
                }
                last = top;
                stack.pop();
            }
            tree.nodes[index as usize].left = last;
            if let Some(&(top, _)) = stack.last() {
                tree.nodes[top as usize].right = index;
            }
            stack.push((index, priority));
        }
        tree.root = stack.first().map_or(NIL, |&(n, _)| n);
        if tree.root != NIL {
            tree.summarize(tree.root);
        }
        tree
    }

    /// Computes every summary below `n`, children first.
    fn summarize(&mut self, n: u32) {
        let (left, right) = {
            let node = &self.nodes[n as usize];
            (node.left, node.right)
        };
        for child in [left, right] {
            if child != NIL {
                self.summarize(child);
            }
        }
        self.update(n);
    }

    /// Inserts a row. The descent stops where the new node's priority
    /// puts it (near the leaves, for most rows); only the small subtree
    /// there is split, and the nodes above just add the row to their
    /// summaries.
    pub fn insert(&mut self, value: Value, identity: Identity, args: Box<[Value]>) {
        let index = self.place(value, identity, args);
        let priority = self.priority(index);
        let w = self.width();
        let own: smallvec::SmallVec<[Partial; 2]> =
            self.summaries[index as usize * w..(index as usize + 1) * w].iter().cloned().collect();
        let mut path = Path::new();
        let mut cur = self.root;
        while cur != NIL && self.priority(cur) > priority {
            let right = self.cmp_node(cur, index) == Ordering::Less;
            path.push((cur, right));
            let node = &self.nodes[cur as usize];
            cur = if right { node.right } else { node.left };
        }
        let (value, identity) = {
            let node = &self.nodes[index as usize];
            (node.value.clone(), node.identity.clone())
        };
        let (l, r) = self.split(cur, &value, &identity);
        self.nodes[index as usize].left = l;
        self.nodes[index as usize].right = r;
        self.update(index);
        self.attach(&path, index);
        for &(n, _) in &path {
            self.nodes[n as usize].rows += 1;
            let base = n as usize * w;
            for (s, p) in self.summaries[base..base + w].iter_mut().zip(&own) {
                s.merge(p);
            }
        }
    }

    /// Removes the row; returns whether it was there. Its children are
    /// merged into its place and the summaries above recomputed.
    pub fn remove(&mut self, value: &Value, identity: &Identity) -> bool {
        let mut path = Path::new();
        let mut cur = self.root;
        while cur != NIL {
            let order = self.cmp_key(cur, value, identity);
            if order == Ordering::Equal {
                break;
            }
            let right = order == Ordering::Less;
            path.push((cur, right));
            let node = &self.nodes[cur as usize];
            cur = if right { node.right } else { node.left };
        }
        if cur == NIL {
            return false;
        }
        let (left, right) = {
            let node = &self.nodes[cur as usize];
            (node.left, node.right)
        };
        let merged = self.merge(left, right);
        self.attach(&path, merged);
        for &(n, _) in path.iter().rev() {
            self.update(n);
        }
        self.free.push(cur);
        // Drop the values the freed slot holds.
        let w = self.width();
        let base = cur as usize * w;
        let node = &mut self.nodes[cur as usize];
        node.value = Value::Null;
        node.left = NIL;
        node.right = NIL;
        self.args[base..base + w].fill(Value::Null);
        for (slot, &j) in self.summaries[base..base + w].iter_mut().zip(self.stored.iter()) {
            *slot = Partial::empty(&self.aggs[j]);
        }
        true
    }

    /// Puts `n` where the descent along `path` ended: the root, or the
    /// child of the last node on the path on the side it went.
    fn attach(&mut self, path: &[(u32, bool)], n: u32) {
        match path.last() {
            None => self.root = n,
            Some(&(parent, true)) => self.nodes[parent as usize].right = n,
            Some(&(parent, false)) => self.nodes[parent as usize].left = n,
        }
    }

    /// Orders node `a` against node `b` by (value, identity).
    fn cmp_node(&self, a: u32, b: u32) -> Ordering {
        let (x, y) = (&self.nodes[a as usize], &self.nodes[b as usize]);
        x.value.cmp(&y.value).then_with(|| x.identity.cmp(&y.identity))
    }

    /// Aggregates of the rows whose value lies within the bounds (each
    /// `(value, inclusive)`).
    pub fn query(&self, lower: Option<&(Value, bool)>, upper: Option<&(Value, bool)>) -> RangeSummary {
        let mut acc = RangeSummary { rows: 0, partials: self.aggs.iter().map(Partial::empty).collect() };
        self.collect(self.root, lower, upper, &mut acc);
        for (partial, spec) in acc.partials.iter_mut().zip(self.aggs.iter()) {
            if spec.func == AggFunc::CountStar {
                *partial = Partial::Count(acc.rows as i64);
            }
        }
        acc
    }

    fn add_subtree(&self, n: u32, acc: &mut RangeSummary) {
        if n == NIL {
            return;
        }
        let w = self.width();
        acc.rows += self.nodes[n as usize].rows;
        for (&j, p) in self.stored.iter().zip(&self.summaries[n as usize * w..(n as usize + 1) * w]) {
            acc.partials[j].merge(p);
        }
    }

    fn add_node(&self, n: u32, acc: &mut RangeSummary) {
        let w = self.width();
        acc.rows += 1;
        let args = &self.args[n as usize * w..(n as usize + 1) * w];
        for (&j, arg) in self.stored.iter().zip(args) {
            let spec = &self.aggs[j];
            acc.partials[j].merge(&Partial::of_row(spec, spec.arg.as_ref().map(|_| arg)));
        }
    }

    fn above_lower(v: &Value, lower: Option<&(Value, bool)>) -> bool {
        match lower {
            None => true,
            Some((b, inclusive)) => match v.sql_cmp(b) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Equal) => *inclusive,
                _ => false,
            },
        }
    }

    fn below_upper(v: &Value, upper: Option<&(Value, bool)>) -> bool {
        match upper {
            None => true,
            Some((b, inclusive)) => match v.sql_cmp(b) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => *inclusive,
                _ => false,
            },
        }
    }

    fn collect(&self, n: u32, lower: Option<&(Value, bool)>, upper: Option<&(Value, bool)>, acc: &mut RangeSummary) {
        if n == NIL {
            return;
        }
        if lower.is_none() && upper.is_none() {
            self.add_subtree(n, acc);
            return;
        }
        let node = &self.nodes[n as usize];
        let ok_low = Self::above_lower(&node.value, lower);
        let ok_high = Self::below_upper(&node.value, upper);
        if !ok_low {
            self.collect(node.right, lower, upper, acc);
        } else if !ok_high {
            self.collect(node.left, lower, upper, acc);
        } else {
            self.collect(node.left, lower, None, acc);
            self.add_node(n, acc);
            self.collect(node.right, None, upper, acc);
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
            tree.insert(
                Value::Int(t),
                Identity::One(i),
                vec![Value::Null, Value::Int(amount), Value::Int(amount)].into(),
            );
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
        assert_eq!(tree.check(tree.root), rows.len() as u64);
        // Built in one go from the same rows: the same answers.
        let mut sorted: Vec<(Value, Identity, Box<[Value]>)> = rows
            .iter()
            .map(|(t, id, a)| {
                (Value::Int(*t), Identity::One(*id), vec![Value::Null, Value::Int(*a), Value::Int(*a)].into())
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
}
