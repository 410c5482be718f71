//! An aggregate view: for each value of the statement's equality keys, its
//! groups (ordered by group values) with running aggregates; with a range
//! column, each group keeps a range tree instead; with an output order,
//! the groups that pass HAVING are also kept ranked (top-N).

use std::sync::Arc;

use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{AggSpec, AggregateSpec, Error as PlanError, Value};
use hashbrown::HashMap;
use smallvec::SmallVec;

use super::agg_state::{Args, Partial, Running};
use super::group_map::GroupMap;
use super::ordered_set::OrderedSet;
use super::partials::{PartialContribution, PartialMove, Partials};
use super::range_tree::{RangeRow, RangeTree};
use super::sort_key::{Identity, KeyBuf, OrderedKey};
use crate::row::Key;
use crate::rows::Rows;

#[derive(Debug)]
enum Group {
    /// States inline for up to two aggregates: a read of a group then
    /// touches the group's own slot only.
    Plain(Running),
    /// Boxed: a group is in a hash map slot, and most groups are plain.
    Ranged(Box<RangeTree>),
}

/// The groups of one key (see `GroupMap`), and with an output order their
/// ranking.
#[derive(Debug, Default)]
struct KeyGroups {
    groups: GroupMap<Group>,
    ranked: OrderedSet,
}

#[derive(Debug)]
pub struct AggregateView {
    spec: AggregateSpec,
    aggs: Arc<[AggSpec]>,
    keys: HashMap<Key, KeyGroups>,
    groups: usize,
    /// Partial aggregates under the view's join, when its shape allows
    /// (`aotdb_planner::partial_plan`).
    partials: Option<Partials>,
    shape: Shape,
}

/// How a view keeps its groups, fixed when it is made.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Groups ranked for the output order (off while a bulk load defers
    /// the ranking to its end).
    ranked: bool,
}

/// What one view row adds to (or takes from) the view.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    eq: Key,
    group: Key,
    /// The range column's value; rows where it is NULL never fall in a
    /// range and are left out.
    range: Option<Value>,
    args: Args,
    identity: Identity,
}

/// Bounds of a range read, each `(value, inclusive)`.
pub type RangeRead<'a> = (Option<&'a (Value, bool)>, Option<&'a (Value, bool)>);

impl AggregateView {
    pub fn new(spec: AggregateSpec) -> AggregateView {
        let aggs: Arc<[AggSpec]> = spec.aggs.clone().into();
        let partials = aotdb_planner::partial_plan(&spec).map(|plan| Partials::new(plan, spec.eq.len()));
        let shape = Shape { ranked: spec.output.is_some() };
        AggregateView { spec, aggs, keys: HashMap::new(), groups: 0, partials, shape }
    }

    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Evaluates what a view row contributes.
    pub fn contribution(&self, row: &[Value], identity: Identity) -> Result<Contribution, PlanError> {
        // Every vector at its final size: collecting from fallible
        // iterators grows and then shrinks them, two reallocations a row.
        let eval_all = |exprs: &[aotdb_planner::Expr]| -> Result<Key, PlanError> {
            Key::try_build(exprs.len(), |i| eval(&exprs[i], row, &[]))
        };
        let mut args = Args::with_capacity(self.aggs.len());
        for a in self.aggs.iter() {
            args.push(match &a.arg {
                Some(e) => eval(e, row, &[])?,
                None => Value::Null,
            });
        }
        let range = match &self.spec.range {
            Some(e) => Some(eval(e, row, &[])?),
            None => None,
        };
        Ok(Contribution { eq: eval_all(&self.spec.eq)?, group: eval_all(&self.spec.group)?, range, args, identity })
    }

    /// Builds a view with a range column from all its rows at once (after
    /// a restart or for a new statement): `rows` hands each view row's
    /// contribution to the callback it is given, straight into its group
    /// (no list of every contribution first: a million of them would take
    /// a hundred megabytes of fresh memory only to be dropped), then each
    /// group's rows are sorted and its range tree built in one pass. Other
    /// views take contributions one by one between `begin_bulk` and
    /// `finish_bulk`.
    pub fn bulk_load_ranged<E>(
        &mut self,
        rows: impl FnOnce(&Self, &mut dyn FnMut(Contribution)) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut by_group: HashMap<(Key, Key), Vec<RangeRow>> = HashMap::new();
        rows(self, &mut |c| {
            if let Some(v) = c.range.filter(|v| !v.is_null()) {
                by_group.entry((c.eq, c.group)).or_default().push((v, c.identity, c.args));
            }
        })?;
        for ((eq, group), mut rows) in by_group {
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            let tree = RangeTree::from_sorted(self.aggs.clone(), rows);
            self.keys.entry(eq).or_default().groups.insert(group, Group::Ranged(Box::new(tree)));
            self.groups += 1;
        }
        Ok(())
    }

    /// Whether groups keep range trees (their bulk load sorts rows).
    pub fn is_ranged(&self) -> bool {
        self.spec.range.is_some()
    }

    /// Starts taking many contributions at once: groups are ranked once,
    /// by `finish_bulk`, instead of on every change.
    pub fn begin_bulk(&mut self) {
        self.shape.ranked = false;
    }

    /// Ends a bulk load: ranks every key's groups once, and gives back
    /// the room the groups' vectors grew into.
    pub fn finish_bulk(&mut self) {
        self.shape.ranked = self.spec.output.is_some();
        for kg in self.keys.values_mut() {
            kg.groups.shrink_to_fit();
            if self.shape.ranked {
                let mut ranks: Vec<OrderedKey> = kg
                    .groups
                    .iter()
                    .filter_map(|(group, g)| rank_key(&self.spec, &self.aggs, group, Some(g)))
                    .collect();
                ranks.sort_unstable();
                kg.ranked = OrderedSet::from_sorted(ranks);
            }
        }
        self.keys.shrink_to_fit();
        if let Some(p) = &mut self.partials {
            p.shrink_to_fit();
        }
    }

    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_table, key_heap, sampled, sampled_by_entries};
        // A busy key's groups outnumber thousands of other keys' (the hot
        // account's merchants): groups are scaled to their exact count,
        // not keys to theirs.
        self.partials.as_ref().map_or(0, Partials::heap_bytes)
            + hash_table(&self.keys)
            + sampled(self.keys.keys(), self.keys.len(), key_heap)
            + sampled_by_entries(self.keys.values(), self.groups, |kg| {
                let bytes = kg.groups.table_bytes()
                    + kg.ranked.table_bytes()
                    + sampled(kg.ranked.iter(), kg.ranked.len(), OrderedKey::heap_bytes)
                    + sampled(kg.groups.iter(), kg.groups.len(), |(group, g)| {
                        key_heap(group)
                            + match g {
                                Group::Plain(running) => running.heap_bytes(),
                                Group::Ranged(tree) => std::mem::size_of::<RangeTree>() + tree.heap_bytes(),
                            }
                    });
                (bytes, kg.groups.len())
            })
    }

    /// Adds (`sign` 1) or removes (`sign` -1) a contribution.
    pub fn apply(&mut self, c: &Contribution, sign: i64) {
        if self.spec.range.is_some() && c.range.as_ref().is_none_or(|v| v.is_null()) {
            return;
        }
        let aggs = &self.aggs;
        update_group(&self.spec, aggs, self.shape, &mut self.keys, &mut self.groups, &c.eq, &c.group, |group| {
            match group {
                Group::Plain(running) => running.apply(aggs, &c.args, sign),
                Group::Ranged(tree) => {
                    let value = c.range.clone().unwrap_or(Value::Null);
                    if sign > 0 {
                        tree.insert(value, c.identity.clone(), &c.args);
                    } else {
                        tree.remove(&value, &c.identity);
                    }
                    tree.is_empty()
                }
            }
        });
    }

    /// Adds (`sign` 1) or removes (`sign` -1) a partial's rows to the
    /// group `(eq, group)`.
    fn apply_partial_to(&mut self, eq: &Key, group: &Key, partial: &Running, sign: i64) {
        update_group(&self.spec, &self.aggs, self.shape, &mut self.keys, &mut self.groups, eq, group, |g| match g {
            Group::Plain(running) => running.merge(partial, sign),
            // Views with a range column keep no partials.
            Group::Ranged(tree) => tree.is_empty(),
        });
    }

    /// Whether the view keeps partials under its join.
    pub fn has_partials(&self) -> bool {
        self.partials.is_some()
    }

    /// What a fact (anchor) row contributes to the partials, if the view
    /// keeps them and the row belongs in one.
    pub fn partial_contribution(&self, fact: &[Value]) -> Result<Option<PartialContribution>, PlanError> {
        match &self.partials {
            Some(p) => p.contribution(&self.aggs, fact),
            None => Ok(None),
        }
    }

    /// The join keys the partials are kept under (for a bulk build).
    pub fn partial_join_keys(&self) -> Vec<Key> {
        self.partials.as_ref().map(Partials::join_keys).unwrap_or_default()
    }

    pub fn apply_partial(&mut self, c: &PartialContribution, sign: i64) {
        if let Some(p) = &mut self.partials {
            p.apply(&self.aggs, c, sign);
        }
    }

    /// The group moves a change to a dimension row makes (empty when the
    /// view keeps no partials).
    pub fn partial_moves(&self, old: Option<&[Value]>, new: Option<&[Value]>) -> Result<Vec<PartialMove>, PlanError> {
        match &self.partials {
            Some(p) => p.moves(old, new),
            None => Ok(Vec::new()),
        }
    }

    pub fn apply_move(&mut self, m: &PartialMove) {
        if let Some((eq, group)) = &m.from {
            self.apply_partial_to(eq, group, &m.group, -1);
        }
        if let Some((eq, group)) = &m.to {
            self.apply_partial_to(eq, group, &m.group, 1);
        }
    }

    /// Appends the group rows of `eq` (group values, then aggregates) to
    /// `out` in the view's order, calling `visit` after each; `visit` may
    /// drop the row (`Rows::pop`) and returns false to stop. A view
    /// without GROUP BY always yields its one row, empty aggregates
    /// included. `out` is reserved first for the rows to come (up to
    /// `at_most`).
    pub fn read(
        &self,
        eq: &[Value],
        range: RangeRead<'_>,
        out: &mut Rows,
        at_most: usize,
        mut visit: impl FnMut(&mut Rows) -> Result<bool, PlanError>,
    ) -> Result<(), PlanError> {
        let global = self.spec.group.is_empty();
        let key_groups = self.keys.get(eq);
        out.reserve(key_groups.map_or(1, |kg| kg.groups.len()).min(at_most));
        let aggs = &self.aggs;
        // Pushes the group's row (unless a range read finds none of its
        // rows) and visits it.
        let mut each = |out: &mut Rows, group: &Key, g: &Group| -> Result<Option<bool>, PlanError> {
            if !group_row_into(aggs, group, g, range, out.building())? {
                return Ok(None);
            }
            out.end_row();
            visit(out).map(Some)
        };
        let mut produced = false;
        if let Some(kg) = key_groups {
            if self.spec.output.is_some() {
                for entry in kg.ranked.iter() {
                    // The row shows the group's values as stored (a
                    // ranked entry holds -0 as the 0 it equals).
                    let Some((group, g)) = kg.groups.get_key_value(&entry.trailing_values(self.spec.group.len()))
                    else {
                        continue;
                    };
                    produced = true;
                    // A ranked view keeps no range column: every group
                    // has a row.
                    if each(out, group, g)? == Some(false) {
                        return Ok(());
                    }
                }
            } else {
                let mut visit_group = |(group, g): (&Key, &Group)| -> Result<bool, PlanError> {
                    match each(out, group, g)? {
                        None => Ok(true),
                        Some(go_on) => {
                            produced = true;
                            Ok(go_on)
                        }
                    }
                };
                if kg.groups.is_sorted() {
                    for entry in kg.groups.iter() {
                        if !visit_group(entry)? {
                            return Ok(());
                        }
                    }
                } else {
                    let mut ordered: Vec<(&Key, &Group)> = kg.groups.iter().collect();
                    ordered.sort_unstable_by(|a, b| a.0.cmp(b.0));
                    for entry in ordered {
                        if !visit_group(entry)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        if global && !produced {
            let row = out.building();
            for a in self.aggs.iter() {
                row.push(Partial::empty(a).output(a)?);
            }
            out.end_row();
            visit(out)?;
        }
        Ok(())
    }
}

/// Finds or makes the group `(eq, group_key)`, lets `change` update it
/// (returning whether it is now empty), and keeps the ranking and the
/// group count.
#[allow(clippy::too_many_arguments)]
fn update_group(
    spec: &AggregateSpec,
    aggs: &Arc<[AggSpec]>,
    shape: Shape,
    keys: &mut HashMap<Key, KeyGroups>,
    count: &mut usize,
    eq: &Key,
    group_key: &Key,
    change: impl FnOnce(&mut Group) -> bool,
) {
    let ranked = shape.ranked;
    // One hash lookup for the key and one for the group; a key is cloned
    // only when it is new.
    let KeyGroups { groups, ranked: ranks } = keys.entry_ref(eq).or_default();
    let (group, created) = groups.get_or_insert_with(group_key, || match &spec.range {
        Some(_) => Group::Ranged(Box::new(RangeTree::new(aggs.clone()))),
        None => Group::Plain(Running::new(aggs)),
    });
    // The group's old ranked entry is taken out and, when the group stays
    // ranked, its new one put in; both are built on the stack.
    let mut key = KeyBuf::new();
    if ranked && !created && rank_parts(spec, aggs, group_key, group, &mut key) {
        ranks.take(key.as_bytes());
    }
    let empty = change(group);
    key.clear();
    if !empty && ranked && rank_parts(spec, aggs, group_key, group, &mut key) {
        ranks.insert(key.key());
    }
    if created {
        *count += 1;
    }
    if empty {
        groups.remove(group_key);
        *count -= 1;
        if groups.is_empty() {
            keys.remove(eq);
        }
    }
}

/// Where a group's row is written: the values of a result, or a row on
/// the stack.
trait RowSink {
    fn put(&mut self, v: Value);
}

impl RowSink for Vec<Value> {
    fn put(&mut self, v: Value) {
        self.push(v);
    }
}

impl RowSink for SmallVec<[Value; 8]> {
    fn put(&mut self, v: Value) {
        self.push(v);
    }
}

/// Pushes a group's row onto `row`: its values, then each aggregate.
/// Pushes nothing and returns false when a range read finds no rows in
/// it.
fn group_row_into(
    aggs: &[AggSpec],
    group: &[Value],
    g: &Group,
    range: RangeRead<'_>,
    row: &mut impl RowSink,
) -> Result<bool, PlanError> {
    match g {
        Group::Plain(running) => {
            group.iter().for_each(|v| row.put(v.clone()));
            running.outputs(aggs, |v| row.put(v))?;
        }
        Group::Ranged(tree) => {
            let summary = tree.query(range.0, range.1);
            if summary.rows == 0 {
                return Ok(false);
            }
            group.iter().for_each(|v| row.put(v.clone()));
            for (p, spec) in summary.partials.iter().zip(aggs) {
                row.put(p.output(spec)?);
            }
        }
    }
    Ok(true)
}

/// The ranked-set key of a group: ORDER BY values over its row, then the
/// group values (so every group has its own key). `None` if the group is
/// absent or fails HAVING.
fn rank_key(spec: &AggregateSpec, aggs: &[AggSpec], group: &Key, g: Option<&Group>) -> Option<OrderedKey> {
    let mut key = KeyBuf::new();
    rank_parts(spec, aggs, group, g?, &mut key).then(|| key.key())
}

/// Writes the group's ranked-set key (see `rank_key`) into `key`; false
/// if the group fails HAVING or the view is not ranked.
fn rank_parts(spec: &AggregateSpec, aggs: &[AggSpec], group: &Key, g: &Group, key: &mut KeyBuf) -> bool {
    let Some(output) = &spec.output else { return false };
    // A sum that overflows ranks as NULL; reading it reports the error.
    // The row is built on the stack: this runs twice in every write to a
    // ranked view.
    let mut row: SmallVec<[Value; 8]> = SmallVec::new();
    if !matches!(group_row_into(aggs, group, g, (None, None), &mut row), Ok(true)) {
        return false;
    }
    if let Some(h) = &output.having {
        if !eval_predicate(h, &row, &[]).unwrap_or(false) {
            return false;
        }
    }
    for s in &output.order {
        key.push_sorted(&eval(&s.expr, &row, &[]).unwrap_or(Value::Null), s);
    }
    key.begin_tail();
    for v in group.iter() {
        key.push_value(v, false, false);
    }
    key.end_tail();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The join view of a schema whose statement keeps partials.
    fn view_with_partials() -> AggregateView {
        let script = "CREATE TABLE m (id BIGINT PRIMARY KEY, cat TEXT NOT NULL);
            CREATE TABLE p (id BIGINT PRIMARY KEY, acct BIGINT NOT NULL, m BIGINT NOT NULL, amount BIGINT NOT NULL);
            PREPARE by_cat AS SELECT m.cat, COUNT(*), SUM(p.amount) FROM p JOIN m ON p.m = m.id
                WHERE p.acct = $1 GROUP BY m.cat ORDER BY m.cat;";
        let (_, changes) = aotdb_planner::apply_script(&aotdb_planner::Catalog::new(), script).unwrap();
        let spec = changes
            .iter()
            .find_map(|c| match c {
                aotdb_planner::Change::AddStructure(_, s) => match s.as_ref() {
                    aotdb_planner::StructureSpec::Aggregate(a) => Some(a.clone()),
                    _ => None,
                },
                _ => None,
            })
            .unwrap();
        let view = AggregateView::new(spec);
        assert!(view.has_partials());
        view
    }

    /// INFO scales the partials' bytes to their count, kept as they come
    /// and go.
    #[test]
    fn the_partials_count_follows_every_change() {
        let mut view = view_with_partials();
        let payment = |id: i64, acct: i64, m: i64| vec![Value::Int(id), Value::Int(acct), Value::Int(m), Value::Int(5)];
        let mut rows = Vec::new();
        for id in 0..400 {
            // A hot merchant (0) paid by most accounts, and a few others.
            rows.push(payment(id, id % 37, if id % 5 == 0 { 1 + id % 3 } else { 0 }));
        }
        let apply = |view: &mut AggregateView, row: &[Value], sign: i64| {
            let c = view.partial_contribution(row).unwrap().unwrap();
            view.apply_partial(&c, sign);
        };
        let walked = |view: &AggregateView| view.partials.as_ref().unwrap().counted_and_held();
        for r in &rows {
            apply(&mut view, r, 1);
        }
        let (count, held) = walked(&view);
        assert_eq!(count, held);
        assert!(count > 37, "{count}");
        // Take most rows out again: partials that empty go away.
        for r in rows.iter().skip(50) {
            apply(&mut view, r, -1);
        }
        let (count, held) = walked(&view);
        assert_eq!(count, held);
        assert!(count > 0 && count <= 50, "{count}");
        for r in rows.iter().take(50) {
            apply(&mut view, r, -1);
        }
        assert_eq!(walked(&view), (0, 0));
    }

    /// Every key of every view holds a slot of this size, and every
    /// group one of these: growing them grows each view by as much per
    /// key or group.
    #[test]
    fn slots_stay_small() {
        assert_eq!(std::mem::size_of::<crate::row::Key>(), 16);
        assert_eq!(std::mem::size_of::<super::KeyGroups>(), 48);
        assert_eq!(std::mem::size_of::<super::Group>(), 40);
    }
}
