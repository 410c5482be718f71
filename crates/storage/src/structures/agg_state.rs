//! Aggregate states: running COUNT/SUM/AVG/MIN/MAX/COUNT(DISTINCT) that
//! take rows in and out, and the mergeable partials the range trees keep
//! per subtree.

use std::collections::BTreeMap;

use aotdb_planner::{AggFunc, AggSpec, DataType, Error as PlanError, Value};
use hashbrown::HashMap;

/// One row's aggregate arguments, one per aggregate (NULL for COUNT(*)):
/// inline for the usual one or two aggregates, as every row written and
/// every row of a rebuild makes one.
pub type Args = smallvec::SmallVec<[Value; 2]>;

/// A running aggregate over a changing multiset of rows.
#[derive(Debug, Clone)]
pub enum AggState {
    Count(i64),
    SumInt {
        sum: WideSum,
        n: i64,
    },
    SumFloat {
        sum: f64,
        n: i64,
    },
    /// MIN and MAX keep every value with its multiplicity, so deleting the
    /// current extreme finds the next one.
    Extremes(BTreeMap<Value, u32>),
    /// Boxed: a hash map is three times the size of the other states, and
    /// every group's states are as large as the largest kind.
    Distinct(Box<HashMap<Value, u32>>),
}

impl AggState {
    /// Heap bytes beyond the state itself (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        match self {
            AggState::Extremes(values) => crate::memory::btree::<(Value, u32)>(values.len()),
            AggState::Distinct(values) => {
                std::mem::size_of::<HashMap<Value, u32>>() + crate::memory::hash_table(values)
            }
            _ => 0,
        }
    }
}

fn is_float(spec: &AggSpec) -> bool {
    spec.arg_ty.is_some_and(|t| t.is_float())
}

impl AggState {
    pub fn new(spec: &AggSpec) -> AggState {
        match spec.func {
            AggFunc::CountStar | AggFunc::Count => AggState::Count(0),
            AggFunc::Sum | AggFunc::Avg if is_float(spec) => AggState::SumFloat { sum: 0.0, n: 0 },
            AggFunc::Sum | AggFunc::Avg => AggState::SumInt { sum: WideSum::ZERO, n: 0 },
            AggFunc::Min | AggFunc::Max => AggState::Extremes(BTreeMap::new()),
            AggFunc::CountDistinct => AggState::Distinct(Box::default()),
        }
    }

    /// Adds (`sign` 1) or removes (`sign` -1) one row whose argument is
    /// `arg` (`None` for COUNT(*)).
    pub fn apply(&mut self, arg: Option<&Value>, sign: i64) {
        let value = arg.filter(|v| !v.is_null());
        match self {
            AggState::Count(c) => {
                if arg.is_none() || value.is_some() {
                    *c += sign;
                }
            }
            AggState::SumInt { sum, n } => {
                if let Some(Value::Int(i)) = value {
                    *sum += sign as i128 * *i as i128;
                    *n += sign;
                }
            }
            AggState::SumFloat { sum, n } => {
                if let Some(x) = value.and_then(as_f64) {
                    *sum += sign as f64 * x;
                    *n += sign;
                    if *n == 0 {
                        // Cancel the rounding left over from removals.
                        *sum = 0.0;
                    }
                }
            }
            AggState::Extremes(map) => {
                if let Some(v) = value {
                    multiset_apply(map, v, sign);
                }
            }
            AggState::Distinct(map) => {
                if let Some(v) = value {
                    if sign > 0 {
                        *map.entry(v.clone()).or_insert(0) += 1;
                    } else if let Some(c) = map.get_mut(v) {
                        *c -= 1;
                        if *c == 0 {
                            map.remove(v);
                        }
                    }
                }
            }
        }
    }

    pub fn output(&self, spec: &AggSpec) -> Result<Value, PlanError> {
        Ok(match self {
            AggState::Count(c) => Value::Int(*c),
            AggState::Distinct(map) => Value::Int(map.len() as i64),
            AggState::SumInt { sum, n } => sum_output(spec, *n, Some(sum.get()), None)?,
            AggState::SumFloat { sum, n } => sum_output(spec, *n, None, Some(*sum))?,
            AggState::Extremes(map) => {
                let v = if spec.func == AggFunc::Min { map.keys().next() } else { map.keys().next_back() };
                v.cloned().unwrap_or(Value::Null)
            }
        })
    }
}

impl AggState {
    /// Adds (`sign` 1) or removes (`sign` -1) every row another state of
    /// the same aggregate took in (a partial joining or leaving a group).
    pub fn merge(&mut self, other: &AggState, sign: i64) {
        match (self, other) {
            (AggState::Count(c), AggState::Count(o)) => *c += sign * o,
            (AggState::SumInt { sum, n }, AggState::SumInt { sum: o, n: on }) => {
                *sum += sign as i128 * o.get();
                *n += sign * on;
            }
            (AggState::SumFloat { sum, n }, AggState::SumFloat { sum: o, n: on }) => {
                *sum += sign as f64 * o;
                *n += sign * on;
                if *n == 0 {
                    *sum = 0.0;
                }
            }
            (AggState::Extremes(map), AggState::Extremes(o)) => {
                for (v, count) in o {
                    if sign > 0 {
                        *map.entry(v.clone()).or_insert(0) += count;
                    } else if let Some(c) = map.get_mut(v) {
                        *c = c.saturating_sub(*count);
                        if *c == 0 {
                            map.remove(v);
                        }
                    }
                }
            }
            (AggState::Distinct(map), AggState::Distinct(o)) => {
                for (v, count) in o.iter() {
                    if sign > 0 {
                        *map.entry(v.clone()).or_insert(0) += count;
                    } else if let Some(c) = map.get_mut(v) {
                        *c = c.saturating_sub(*count);
                        if *c == 0 {
                            map.remove(v);
                        }
                    }
                }
            }
            // States of one aggregate are always of one kind.
            _ => {}
        }
    }
}

/// The running aggregates of some rows: how many, and the state of each
/// aggregate other than COUNT(*) (whose value is the row count). Sized to
/// the view's aggregates: a COUNT(*)-only view keeps the count alone, one
/// more aggregate sits inline, so a group or partial needs no allocation
/// of its own in the usual shapes.
#[derive(Debug, Clone)]
pub struct Running {
    pub rows: u64,
    states: States,
}

/// The kept states, in the order of the aggregates that keep one.
#[derive(Debug, Clone)]
enum States {
    None,
    One(AggState),
    Many(Box<[AggState]>),
}

impl States {
    fn as_slice(&self) -> &[AggState] {
        match self {
            States::None => &[],
            States::One(s) => std::slice::from_ref(s),
            States::Many(s) => s,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [AggState] {
        match self {
            States::None => &mut [],
            States::One(s) => std::slice::from_mut(s),
            States::Many(s) => s,
        }
    }
}

/// Whether an aggregate keeps a state (COUNT(*) is the row count).
fn keeps_state(spec: &AggSpec) -> bool {
    spec.func != AggFunc::CountStar
}

impl Running {
    pub fn new(aggs: &[AggSpec]) -> Running {
        let mut kept = aggs.iter().filter(|a| keeps_state(a));
        let states = match (kept.next(), kept.next()) {
            (None, _) => States::None,
            (Some(a), None) => States::One(AggState::new(a)),
            _ => States::Many(aggs.iter().filter(|a| keeps_state(a)).map(AggState::new).collect()),
        };
        Running { rows: 0, states }
    }

    /// Adds (`sign` 1) or removes (`sign` -1) one row with these aggregate
    /// arguments; returns whether no rows are left.
    pub fn apply(&mut self, aggs: &[AggSpec], args: &[Value], sign: i64) -> bool {
        let kept = aggs.iter().zip(args).filter(|(spec, _)| keeps_state(spec));
        for (state, (spec, arg)) in self.states.as_mut_slice().iter_mut().zip(kept) {
            state.apply(spec.arg.as_ref().map(|_| arg), sign);
        }
        self.rows = self.rows.saturating_add_signed(sign);
        self.rows == 0
    }

    /// Adds (`sign` 1) or removes (`sign` -1) all of `other`'s rows;
    /// returns whether no rows are left.
    pub fn merge(&mut self, other: &Running, sign: i64) -> bool {
        for (state, o) in self.states.as_mut_slice().iter_mut().zip(other.states.as_slice()) {
            state.merge(o, sign);
        }
        self.rows = self.rows.saturating_add_signed(sign * other.rows as i64);
        self.rows == 0
    }

    /// Each aggregate's value, in `aggs` order, handed to `push`.
    pub fn outputs(&self, aggs: &[AggSpec], mut push: impl FnMut(Value)) -> Result<(), PlanError> {
        let mut states = self.states.as_slice().iter();
        for spec in aggs {
            if !keeps_state(spec) {
                push(Value::Int(i64::try_from(self.rows).unwrap_or(i64::MAX)));
                continue;
            }
            match states.next() {
                Some(state) => push(state.output(spec)?),
                None => return Err(PlanError::Internal("an aggregate has no running state".into())),
            }
        }
        Ok(())
    }

    /// Heap bytes beyond the value itself (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        let boxed = match &self.states {
            States::Many(s) => crate::memory::allocation(std::mem::size_of_val(&**s)),
            _ => 0,
        };
        boxed + self.states.as_slice().iter().map(AggState::heap_bytes).sum::<usize>()
    }
}

fn multiset_apply(map: &mut BTreeMap<Value, u32>, v: &Value, sign: i64) {
    if sign > 0 {
        *map.entry(v.clone()).or_insert(0) += 1;
    } else if let Some(c) = map.get_mut(v) {
        *c -= 1;
        if *c == 0 {
            map.remove(v);
        }
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// SUM and AVG results: NULL over no values; integer sums must fit a
/// BIGINT.
fn sum_output(spec: &AggSpec, n: i64, int_sum: Option<i128>, float_sum: Option<f64>) -> Result<Value, PlanError> {
    if n == 0 {
        return Ok(Value::Null);
    }
    let total = match (int_sum, float_sum) {
        (Some(s), _) => Total::Int(s),
        (None, Some(f)) => Total::Float(f),
        _ => return Ok(Value::Null),
    };
    Ok(match (spec.func, total) {
        (AggFunc::Avg, Total::Int(s)) => Value::Float(s as f64 / n as f64),
        (AggFunc::Avg, Total::Float(f)) => Value::Float(f / n as f64),
        (_, Total::Int(s)) => Value::Int(i64::try_from(s).map_err(|_| PlanError::Data("bigint out of range".into()))?),
        (_, Total::Float(f)) if spec.ty == DataType::Real => Value::Float(f as f32 as f64),
        (_, Total::Float(f)) => Value::Float(f),
    })
}

enum Total {
    Int(i128),
    Float(f64),
}

/// An exact integer sum, 128 bits wide so no SUM of BIGINTs can overflow
/// it, stored as two 64-bit halves: an `i128` field would align the
/// aggregate states and range-tree summaries that hold it to 16 bytes and
/// make each of them half again as large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WideSum {
    low: u64,
    high: i64,
}

impl WideSum {
    pub const ZERO: WideSum = WideSum { low: 0, high: 0 };

    pub fn get(self) -> i128 {
        ((self.high as i128) << 64) | self.low as i128
    }
}

impl From<i128> for WideSum {
    fn from(v: i128) -> WideSum {
        WideSum { low: v as u64, high: (v >> 64) as i64 }
    }
}

impl std::ops::AddAssign<i128> for WideSum {
    fn add_assign(&mut self, v: i128) {
        *self = WideSum::from(self.get().wrapping_add(v));
    }
}

/// A mergeable summary of some rows for one aggregate (what a range tree
/// keeps per subtree).
#[derive(Debug, Clone, PartialEq)]
pub enum Partial {
    Count(i64),
    SumInt { sum: WideSum, n: i64 },
    SumFloat { sum: f64, n: i64 },
    Min(Value),
    Max(Value),
}

impl Partial {
    pub fn empty(spec: &AggSpec) -> Partial {
        match spec.func {
            AggFunc::CountStar | AggFunc::Count | AggFunc::CountDistinct => Partial::Count(0),
            AggFunc::Sum | AggFunc::Avg if is_float(spec) => Partial::SumFloat { sum: 0.0, n: 0 },
            AggFunc::Sum | AggFunc::Avg => Partial::SumInt { sum: WideSum::ZERO, n: 0 },
            AggFunc::Min => Partial::Min(Value::Null),
            AggFunc::Max => Partial::Max(Value::Null),
        }
    }

    /// The summary of one row.
    pub fn of_row(spec: &AggSpec, arg: Option<&Value>) -> Partial {
        let value = arg.filter(|v| !v.is_null());
        match spec.func {
            AggFunc::CountStar => Partial::Count(1),
            AggFunc::Count | AggFunc::CountDistinct => Partial::Count(value.is_some() as i64),
            AggFunc::Sum | AggFunc::Avg => match value {
                Some(Value::Int(i)) if !is_float(spec) => Partial::SumInt { sum: WideSum::from(*i as i128), n: 1 },
                Some(v) if is_float(spec) => Partial::SumFloat { sum: as_f64(v).unwrap_or(0.0), n: 1 },
                _ => Partial::empty(spec),
            },
            AggFunc::Min => Partial::Min(value.cloned().unwrap_or(Value::Null)),
            AggFunc::Max => Partial::Max(value.cloned().unwrap_or(Value::Null)),
        }
    }

    pub fn merge(&mut self, other: &Partial) {
        match (self, other) {
            (Partial::Count(a), Partial::Count(b)) => *a += b,
            (Partial::SumInt { sum, n }, Partial::SumInt { sum: s2, n: n2 }) => {
                *sum += s2.get();
                *n += n2;
            }
            (Partial::SumFloat { sum, n }, Partial::SumFloat { sum: s2, n: n2 }) => {
                *sum += s2;
                *n += n2;
            }
            (Partial::Min(a), Partial::Min(b)) if !b.is_null() && (a.is_null() || b < a) => *a = b.clone(),
            (Partial::Max(a), Partial::Max(b)) if !b.is_null() && (a.is_null() || b > a) => *a = b.clone(),
            _ => {}
        }
    }

    pub fn output(&self, spec: &AggSpec) -> Result<Value, PlanError> {
        match self {
            Partial::Count(c) => Ok(Value::Int(*c)),
            Partial::SumInt { sum, n } => sum_output(spec, *n, Some(sum.get()), None),
            Partial::SumFloat { sum, n } => sum_output(spec, *n, None, Some(*sum)),
            Partial::Min(v) | Partial::Max(v) => Ok(v.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aotdb_planner::Expr;

    fn spec(func: AggFunc, ty: DataType) -> AggSpec {
        AggSpec { func, arg: Some(Expr::Column(0)), arg_ty: Some(ty), ty }
    }

    #[test]
    fn max_survives_deleting_the_extreme() {
        let s = spec(AggFunc::Max, DataType::BigInt);
        let mut st = AggState::new(&s);
        for v in [3, 9, 9, 4] {
            st.apply(Some(&Value::Int(v)), 1);
        }
        st.apply(Some(&Value::Int(9)), -1);
        assert_eq!(st.output(&s).unwrap(), Value::Int(9));
        st.apply(Some(&Value::Int(9)), -1);
        assert_eq!(st.output(&s).unwrap(), Value::Int(4));
    }

    #[test]
    fn wide_sums_round_trip_and_hold_more_than_i64() {
        for v in [0i128, 1, -1, i64::MAX as i128 * 3, i64::MIN as i128 * 5, i128::MAX / 2] {
            assert_eq!(WideSum::from(v).get(), v);
        }
        let mut s = WideSum::from(i64::MAX as i128);
        s += i64::MAX as i128;
        s += -(i64::MAX as i128) * 2 - 7;
        assert_eq!(s.get(), -7);
        assert_eq!(std::mem::size_of::<Partial>(), 32);
        assert_eq!(std::mem::size_of::<AggState>(), 32);
        assert_eq!(std::mem::size_of::<Running>(), 40);
    }

    #[test]
    fn count_star_is_the_row_count_wherever_it_sits() {
        let star = AggSpec { func: AggFunc::CountStar, arg: None, arg_ty: None, ty: DataType::BigInt };
        let sum = spec(AggFunc::Sum, DataType::BigInt);
        let max = spec(AggFunc::Max, DataType::BigInt);
        let outputs = |r: &Running, aggs: &[AggSpec]| {
            let mut out = Vec::new();
            r.outputs(aggs, |v| out.push(v)).unwrap();
            out
        };
        // Between two kept states, and alone (no state kept at all).
        let aggs = [sum.clone(), star.clone(), max.clone()];
        let mut r = Running::new(&aggs);
        let mut other = Running::new(&aggs);
        for v in [5, 9, 1] {
            r.apply(&aggs, &[Value::Int(v), Value::Null, Value::Int(v)], 1);
        }
        other.apply(&aggs, &[Value::Null, Value::Null, Value::Null], 1);
        assert_eq!(outputs(&r, &aggs), vec![Value::Int(15), Value::Int(3), Value::Int(9)]);
        assert!(!r.merge(&other, 1));
        assert_eq!(outputs(&r, &aggs), vec![Value::Int(15), Value::Int(4), Value::Int(9)]);
        assert!(!r.merge(&other, -1));
        assert!(!r.apply(&aggs, &[Value::Int(9), Value::Null, Value::Int(9)], -1));
        assert_eq!(outputs(&r, &aggs), vec![Value::Int(6), Value::Int(2), Value::Int(5)]);
        let alone = [star];
        let mut c = Running::new(&alone);
        assert!(matches!(c.states, States::None));
        c.apply(&alone, &[Value::Null], 1);
        assert!(c.apply(&alone, &[Value::Null], -1));
        assert_eq!(outputs(&c, &alone), vec![Value::Int(0)]);
    }

    #[test]
    fn sums_of_nothing_are_null_and_counts_skip_nulls() {
        let s = spec(AggFunc::Sum, DataType::BigInt);
        let mut st = AggState::new(&s);
        st.apply(Some(&Value::Null), 1);
        assert_eq!(st.output(&s).unwrap(), Value::Null);
        let c = spec(AggFunc::Count, DataType::BigInt);
        let mut cs = AggState::new(&c);
        cs.apply(Some(&Value::Null), 1);
        cs.apply(Some(&Value::Int(1)), 1);
        assert_eq!(cs.output(&c).unwrap(), Value::Int(1));
    }
}
