//! The partial aggregates an aggregate view keeps under a many-to-one join
//! (see `aotdb_planner::partials`): fact rows' aggregates per join key and
//! fact-side key. Fact changes add to and take from one partial; a change
//! to a dimension row becomes a list of moves, one per partial under its
//! join key, from the view group the old dimension row put it in to the
//! one the new row puts it in.

use super::agg_state::{Args, Running};
use crate::row::Key;
use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{AggSpec, Error as PlanError, KeySource, PartialPlan, Value};
use hashbrown::HashMap;

/// What one fact row adds to (or takes from) the partials.
#[derive(Debug, Clone, PartialEq)]
pub struct PartialContribution {
    join: Key,
    fact: Key,
    args: Args,
}

/// One partial leaving a view group (`from`) and joining another (`to`);
/// either may be absent (the dimension row did not exist, or its
/// conditions failed).
#[derive(Debug)]
pub struct PartialMove {
    pub from: Option<(Key, Key)>,
    pub to: Option<(Key, Key)>,
    pub group: Running,
}

#[derive(Debug)]
pub struct Partials {
    plan: PartialPlan,
    /// How many of the view's keys are eq keys (the rest are group keys).
    eq_len: usize,
    by_join: HashMap<Key, HashMap<Key, Running>>,
    /// Partials held, over every join key (for INFO's estimate: the
    /// busiest merchant's partials outnumber thousands of others').
    count: usize,
}

impl Partials {
    pub fn new(plan: PartialPlan, eq_len: usize) -> Partials {
        Partials { plan, eq_len, by_join: HashMap::new(), count: 0 }
    }

    /// Approximate heap bytes (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_table, key_heap, sampled, sampled_by_entries};
        hash_table(&self.by_join)
            + sampled(self.by_join.keys(), self.by_join.len(), key_heap)
            + sampled_by_entries(self.by_join.values(), self.count, |inner| {
                let bytes =
                    hash_table(inner) + sampled(inner.iter(), inner.len(), |(k, g)| key_heap(k) + g.heap_bytes());
                (bytes, inner.len())
            })
    }

    /// The partials counted, and those found by walking every join key.
    #[cfg(test)]
    pub fn counted_and_held(&self) -> (usize, usize) {
        (self.count, self.by_join.values().map(HashMap::len).sum())
    }

    /// Gives back the room a bulk build's growth left over.
    pub fn shrink_to_fit(&mut self) {
        for inner in self.by_join.values_mut() {
            inner.shrink_to_fit();
        }
        self.by_join.shrink_to_fit();
    }

    pub fn join_keys(&self) -> Vec<Key> {
        self.by_join.keys().cloned().collect()
    }

    /// What a fact row contributes: `None` when it fails the fact-side
    /// conditions or its join key is NULL (it can never join).
    pub fn contribution(&self, aggs: &[AggSpec], fact: &[Value]) -> Result<Option<PartialContribution>, PlanError> {
        if let Some(f) = &self.plan.fact_filter {
            if !eval_predicate(f, fact, &[])? {
                return Ok(None);
            }
        }
        // Keys and arguments built at their final size (no allocation for
        // one-value keys): this runs for every fact row written.
        let (join, keys) = (&self.plan.join, &self.plan.fact_keys);
        let join = Key::try_build(join.len(), |i| eval(&join[i], fact, &[]))?;
        if join.iter().any(Value::is_null) {
            return Ok(None);
        }
        let keys = Key::try_build(keys.len(), |i| eval(&keys[i], fact, &[]))?;
        let mut args = Args::with_capacity(aggs.len());
        for a in aggs {
            args.push(a.arg.as_ref().map_or(Ok(Value::Null), |e| eval(e, fact, &[]))?);
        }
        Ok(Some(PartialContribution { join, fact: keys, args }))
    }

    pub fn apply(&mut self, aggs: &[AggSpec], c: &PartialContribution, sign: i64) {
        let inner = self.by_join.entry_ref(&c.join).or_default();
        let before = inner.len();
        let group = inner.entry_ref(&c.fact).or_insert_with(|| Running::new(aggs));
        if group.apply(aggs, &c.args, sign) {
            inner.remove(&c.fact);
        }
        self.count = self.count + inner.len() - before;
        if inner.is_empty() {
            self.by_join.remove(&c.join);
        }
    }

    /// The moves a change of one dimension row makes: `old` and `new` are
    /// the row before and after (absent for an insert or a delete).
    pub fn moves(&self, old: Option<&[Value]>, new: Option<&[Value]>) -> Result<Vec<PartialMove>, PlanError> {
        let key_of = |row: &[Value]| -> Option<Key> {
            let key: Vec<Value> = self.plan.join_columns.iter().map(|&c| row.get(c).cloned()).collect::<Option<_>>()?;
            (!key.iter().any(Value::is_null)).then(|| Key::from_vec(key))
        };
        let old_key = old.and_then(key_of);
        let new_key = new.and_then(key_of);
        let mut affected: Vec<&Key> = old_key.iter().collect();
        if let Some(k) = &new_key {
            if old_key.as_ref() != Some(k) {
                affected.push(k);
            }
        }
        let mut moves = Vec::new();
        for key in affected {
            let Some(partials) = self.by_join.get(key.as_slice()) else { continue };
            // The unique index allows one dimension row per key: before the
            // change it was `old` if `old` held the key, after it `new`.
            let before = old.filter(|_| old_key.as_ref() == Some(key));
            let after = new.filter(|_| new_key.as_ref() == Some(key));
            let before = self.dimension_values(before)?;
            let after = self.dimension_values(after)?;
            if before == after {
                continue;
            }
            for (fact, group) in partials {
                let from = before.as_ref().map(|d| self.view_keys(fact, d));
                let to = after.as_ref().map(|d| self.view_keys(fact, d));
                if from != to {
                    moves.push(PartialMove { from, to, group: group.clone() });
                }
            }
        }
        Ok(moves)
    }

    /// The dimension-side key values for a dimension row, or `None` when
    /// there is no row or it fails the dimension-side conditions.
    fn dimension_values(&self, row: Option<&[Value]>) -> Result<Option<Vec<Value>>, PlanError> {
        let Some(row) = row else { return Ok(None) };
        let mut view_row = vec![Value::Null; self.plan.width];
        let offset = self.plan.dimension_offset;
        let end = (offset + row.len()).min(view_row.len());
        view_row[offset..end].clone_from_slice(&row[..end - offset]);
        if let Some(f) = &self.plan.dimension_filter {
            if !eval_predicate(f, &view_row, &[])? {
                return Ok(None);
            }
        }
        let mut values = Vec::new();
        for source in &self.plan.key_sources {
            if let KeySource::Dimension(e) = source {
                values.push(eval(e, &view_row, &[])?);
            }
        }
        Ok(Some(values))
    }

    /// A partial's view group: its fact-side keys and the dimension's.
    fn view_keys(&self, fact: &Key, dimension: &[Value]) -> (Key, Key) {
        let mut from_dimension = dimension.iter();
        let mut values = self.plan.key_sources.iter().map(|s| match s {
            KeySource::Fact(i) => fact.get(*i).cloned().unwrap_or(Value::Null),
            KeySource::Dimension(_) => from_dimension.next().cloned().unwrap_or(Value::Null),
        });
        let eq_len = self.eq_len.min(self.plan.key_sources.len());
        let eq = key_of_values(values.by_ref().take(eq_len), eq_len);
        let group = key_of_values(values, self.plan.key_sources.len() - eq_len);
        (eq, group)
    }
}

/// A key of `len` values without a temporary vector for the common
/// one-value key (a move computes two keys per partial).
fn key_of_values(mut values: impl Iterator<Item = Value>, len: usize) -> Key {
    if len == 1 {
        if let Some(v) = values.next() {
            return Key::One(v);
        }
    }
    Key::from_vec(values.collect())
}
