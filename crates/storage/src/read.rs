//! Running queries: rows come from the plan's source (a lookup, a
//! maintained structure, or a scan), then pass the read-time stages:
//! conditions with parameters, aggregation, HAVING, ORDER BY, the select
//! list, DISTINCT, OFFSET and LIMIT. A source that yields rows in ORDER BY
//! order stops as soon as OFFSET + LIMIT rows are out.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use aotdb_planner::eval::{eval, eval_predicate};
use aotdb_planner::{
    Error as PlanError, Expr, Grouping, Plan, RangeBounds, SelectPlan, SortKey, Source, Statement, StructureSpec,
    Value, ViewSpec,
};

use crate::database::{Database, StructureData};
use crate::error::{Error, Result};
use crate::row::{Key, RowId};
use crate::rows::Rows;
use crate::structures::Identity;
use crate::view::ViewRow;

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Rows of a query or of RETURNING, each in select-list order.
    Rows(Rows),
    /// Rows matched by a write without RETURNING.
    Count(u64),
}

/// Evaluated bounds of a range read.
pub(crate) struct Bounds {
    lower: Option<(Value, bool)>,
    upper: Option<(Value, bool)>,
}

impl Bounds {
    /// `None` when a bound is NULL: nothing compares with NULL.
    pub(crate) fn eval(range: &RangeBounds, params: &[Value]) -> Result<Option<Bounds>> {
        let side = |b: &Option<(Expr, bool)>| -> Result<Option<Option<(Value, bool)>>> {
            match b {
                None => Ok(Some(None)),
                Some((e, inclusive)) => {
                    let v = eval(e, &[], params)?;
                    Ok(if v.is_null() { None } else { Some(Some((v, *inclusive))) })
                }
            }
        };
        let (Some(lower), Some(upper)) = (side(&range.lower)?, side(&range.upper)?) else { return Ok(None) };
        Ok(Some(Bounds { lower, upper }))
    }
}

/// Whether a select list is the row's own columns in order (the row can be
/// passed on as it is).
fn is_identity(projection: &[Expr]) -> bool {
    projection.iter().enumerate().all(|(i, e)| matches!(e, Expr::Column(c) if *c == i))
}

/// Appends the select list evaluated over `row` (a column is copied
/// without going through the evaluator). On an error nothing is appended.
fn push_projected(out: &mut Rows, projection: &[Expr], row: &[Value], params: &[Value]) -> Result<()> {
    for e in projection {
        let v = match e {
            Expr::Column(c) if *c < row.len() => row[*c].clone(),
            _ => match eval(e, row, params) {
                Ok(v) => v,
                Err(err) => {
                    out.abandon_row();
                    return Err(err.into());
                }
            },
        };
        out.building().push(v);
    }
    out.end_row();
    Ok(())
}

/// Evaluates key expressions; `None` if any is NULL (an equality with NULL
/// matches nothing).
pub(crate) fn eval_key(exprs: &[Expr], params: &[Value]) -> Result<Option<Key>> {
    if let [e] = exprs {
        // One-column keys (ids), the usual case: no allocation.
        let v = eval(e, &[], params)?;
        return Ok((!v.is_null()).then_some(Key::One(v)));
    }
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let v = eval(e, &[], params)?;
        if v.is_null() {
            return Ok(None);
        }
        out.push(v);
    }
    Ok(Some(Key::from_vec(out)))
}

/// The values of a unique lookup's key: a key that is one parameter (the
/// usual `WHERE id = $1`) is borrowed from the arguments, others are
/// evaluated into `scratch`. `None` if a value is NULL.
pub(crate) fn lookup_key<'a>(
    exprs: &[Expr],
    params: &'a [Value],
    scratch: &'a mut Option<Key>,
) -> Result<Option<&'a [Value]>> {
    if let [Expr::Param(i)] = exprs {
        if let Some(v) = params.get(*i) {
            return Ok((!v.is_null()).then_some(std::slice::from_ref(v)));
        }
    }
    *scratch = eval_key(exprs, params)?;
    Ok(scratch.as_deref())
}

impl Database {
    /// Runs a read-only statement.
    pub fn query(&self, stmt: &Statement, params: &[Value]) -> Result<Outcome> {
        match &stmt.plan {
            Plan::Select(p) => self.select(p, params).map(Outcome::Rows),
            _ => Err(Error::Internal(format!("statement \"{}\" is not a query", stmt.name))),
        }
    }

    pub(crate) fn select(&self, p: &SelectPlan, params: &[Value]) -> Result<Rows> {
        if let Some(rows) = self.select_by_unique_key(p, params)? {
            return Ok(rows);
        }
        let offset = count_clause(p.offset.as_ref(), params, "OFFSET")?.unwrap_or(0);
        let limit = count_clause(p.limit.as_ref(), params, "LIMIT")?;
        let stop_after = match (p.presorted && !p.distinct, limit) {
            (true, Some(l)) => Some(offset.saturating_add(l)),
            _ => None,
        };
        let open = match &p.guard {
            Some(g) => eval_predicate(g, &[], params)?,
            None => true,
        };
        if open {
            if let Some(rows) = self.select_single_table(p, params, offset, limit)? {
                return Ok(rows);
            }
            if let Some(rows) = self.select_groups(p, params, offset, limit)? {
                return Ok(rows);
            }
        }

        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut grouped_by_source = false;
        if open {
            match &p.source {
                Source::Constant => {
                    if passes(p.residual.as_ref(), &[], params)? {
                        rows.push(Vec::new());
                    }
                }
                Source::Lookup { unique, key } => {
                    let view = view_of(p)?;
                    if let Some(key) = eval_key(key, params)? {
                        let anchor = self.table(view.anchor())?;
                        let found = anchor.unique_get(*unique, &key);
                        if let Some(row) = found.and_then(|id| anchor.get(id).map(|r| (id, r))) {
                            let mut view_rows = Vec::new();
                            self.expand(view, row.0, row.1, &mut view_rows)?;
                            for r in view_rows {
                                if passes(p.residual.as_ref(), &r.values, params)? {
                                    rows.push(r.values);
                                }
                            }
                        }
                    }
                }
                Source::Scan => {
                    let view = view_of(p)?;
                    let mut view_rows = Vec::new();
                    for (id, row) in self.table(view.anchor())?.rows() {
                        view_rows.clear();
                        self.expand(view, id, row, &mut view_rows)?;
                        for r in view_rows.drain(..) {
                            if passes(p.residual.as_ref(), &r.values, params)? {
                                rows.push(r.values);
                            }
                        }
                    }
                }
                Source::Rows { structure, eq, range } => {
                    let view = view_of(p)?;
                    self.read_row_index(*structure, view, eq, range.as_ref(), params, stop_after, &mut rows)?;
                }
                Source::Groups { structure, eq, range } => {
                    grouped_by_source = true;
                    rows = self
                        .read_groups(*structure, eq, range.as_ref(), params, p.having.as_ref(), 0, stop_after)?
                        .into_vecs();
                }
            }
        } else if let Source::Groups { structure, .. } = &p.source {
            // The one row of an aggregate over nothing still meets HAVING
            // below.
            if p.global_aggregate {
                rows.push(self.empty_group_row(*structure)?);
            }
        }

        if let Some(grouping) = &p.grouping {
            rows = aggregate(grouping, rows, p.global_aggregate)?;
        }
        if !grouped_by_source {
            if let Some(h) = &p.having {
                let mut kept = Vec::with_capacity(rows.len());
                for r in rows {
                    if eval_predicate(h, &r, params)? {
                        kept.push(r);
                    }
                }
                rows = kept;
            }
        }
        if !p.presorted && !p.order_by.is_empty() {
            let mut keyed: Vec<(Vec<Value>, Vec<Value>)> = Vec::with_capacity(rows.len());
            for r in rows {
                let keys = p.order_by.iter().map(|k| eval(&k.expr, &r, params)).collect::<Result<Vec<_>, _>>()?;
                keyed.push((keys, r));
            }
            keyed.sort_by(|a, b| compare_keys(&a.0, &b.0, &p.order_by));
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let mut out = Rows::with_capacity(p.projection.len(), rows.len().min(limit.unwrap_or(usize::MAX)));
        let mut seen = hashbrown::HashSet::new();
        let mut skipped = 0;
        // A select list that is the row's own columns in order (a grouped
        // read's groups and aggregates, say) keeps the row as it is.
        let identity = is_identity(&p.projection);
        for r in rows {
            let projected = if identity && r.len() == p.projection.len() {
                r
            } else {
                p.projection.iter().map(|e| eval(e, &r, params)).collect::<Result<Vec<_>, _>>()?
            };
            if p.distinct && !seen.insert(projected.clone()) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            out.push_owned(projected);
        }
        Ok(out)
    }

    /// The point read (`... FROM t WHERE id = $1`): one probe of a unique
    /// index and the row's select list, with none of the general path's
    /// stages. `None` when the plan is not of that shape.
    fn select_by_unique_key(&self, p: &SelectPlan, params: &[Value]) -> Result<Option<Rows>> {
        let Source::Lookup { unique, key } = &p.source else { return Ok(None) };
        let Some(view) = p.view.as_ref().filter(|v| v.steps.len() == 1) else { return Ok(None) };
        // At most one row comes back, but its ORDER BY keys are still
        // evaluated (and may fail, as in PostgreSQL): the general path
        // handles ORDER BY, OFFSET and LIMIT.
        if p.guard.is_some()
            || !p.order_by.is_empty()
            || p.offset.is_some()
            || p.limit.is_some()
            || p.grouping.is_some()
            || p.having.is_some()
            || p.distinct
        {
            return Ok(None);
        }
        let table = self.table(view.anchor())?;
        let mut out = Rows::with_capacity(p.projection.len(), 1);
        let mut scratch = None;
        let Some(key) = lookup_key(key, params, &mut scratch)? else { return Ok(Some(out)) };
        let Some(row) = table.unique_get(*unique, key).and_then(|id| table.get(id)) else { return Ok(Some(out)) };
        if !view_accepts(view, row)? || !passes(p.residual.as_ref(), row, params)? {
            return Ok(Some(out));
        }
        if row.len() == p.projection.len() && is_identity(&p.projection) {
            out.push(row);
        } else {
            push_projected(&mut out, &p.projection, row, params)?;
        }
        Ok(Some(out))
    }

    /// A read of an aggregate view's groups in the view's order, with no
    /// DISTINCT: each group's row goes straight into the result (or, when
    /// the select list is not the group row itself, the select list
    /// evaluated over it). `None` when the plan is not of that shape.
    fn select_groups(
        &self,
        p: &SelectPlan,
        params: &[Value],
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Option<Rows>> {
        let Source::Groups { structure, eq, range } = &p.source else { return Ok(None) };
        if p.grouping.is_some() || p.distinct || !(p.order_by.is_empty() || p.presorted) {
            return Ok(None);
        }
        let groups = self.read_groups(*structure, eq, range.as_ref(), params, p.having.as_ref(), offset, limit)?;
        if groups.width() == p.projection.len() && is_identity(&p.projection) {
            return Ok(Some(groups));
        }
        let mut out = Rows::with_capacity(p.projection.len(), groups.len());
        for row in &groups {
            push_projected(&mut out, &p.projection, row, params)?;
        }
        Ok(Some(out))
    }

    /// The common case without copying rows: one table, no grouping, rows
    /// found in the order wanted; the select list is evaluated on the
    /// stored row itself. `None` when the plan is not of that shape.
    fn select_single_table(
        &self,
        p: &SelectPlan,
        params: &[Value],
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Option<Rows>> {
        let Some(view) = p.view.as_ref().filter(|v| v.steps.len() == 1) else { return Ok(None) };
        if p.grouping.is_some() || p.having.is_some() || p.distinct || !(p.order_by.is_empty() || p.presorted) {
            return Ok(None);
        }
        let table = self.table(view.anchor())?;
        // A lookup finds at most one row, and a LIMIT caps the rest (a
        // small one, as top-N reads have, is likely reached): no growing
        // from empty.
        let expected = match p.source {
            Source::Lookup { .. } => 1,
            _ => limit.map_or(0, |l| l.min(64)),
        };
        let mut out = Rows::with_capacity(p.projection.len(), expected);
        // Decided once per call, not per row (the width check per row is
        // one comparison).
        let whole_row = table.def.columns.len() == p.projection.len() && is_identity(&p.projection);
        let mut skipped = 0;
        let mut emit = |row: &[Value], out: &mut Rows| -> Result<bool> {
            if !passes(p.residual.as_ref(), row, params)? {
                return Ok(true);
            }
            if skipped < offset {
                skipped += 1;
                return Ok(true);
            }
            if limit.is_some_and(|l| out.len() >= l) {
                return Ok(false);
            }
            if whole_row && row.len() == p.projection.len() {
                out.push(row);
            } else {
                push_projected(out, &p.projection, row, params)?;
            }
            Ok(limit.is_none_or(|l| out.len() < l))
        };
        match &p.source {
            Source::Lookup { unique, key } => {
                let mut scratch = None;
                if let Some(key) = lookup_key(key, params, &mut scratch)? {
                    let found = table.unique_get(*unique, key);
                    if let Some(row) = found.and_then(|id| table.get(id)) {
                        if view_accepts(view, row)? {
                            emit(row, &mut out)?;
                        }
                    }
                }
            }
            Source::Rows { structure, eq, range } => {
                let s = self
                    .structures
                    .get(structure)
                    .ok_or_else(|| Error::Internal(format!("structure #{structure} missing")))?;
                let (StructureData::RowIndex(ri), StructureSpec::RowIndex { order, .. }) = (&s.data, s.spec.as_ref())
                else {
                    return Err(Error::Internal(format!("structure #{structure} is not a row index")));
                };
                let Some(key) = eval_key(eq, params)? else { return Ok(Some(out)) };
                let bounds = match range {
                    Some(r) => match Bounds::eval(r, params)? {
                        Some(b) => Some(b),
                        None => return Ok(Some(out)),
                    },
                    None => None,
                };
                let range_arg = match (&bounds, order.first()) {
                    (Some(b), Some(spec)) => Some((spec, b.lower.clone(), b.upper.clone())),
                    _ => None,
                };
                let mut failure = None;
                ri.scan(&key, range_arg, |identity: &Identity| {
                    let Some(row) = table.get(identity.ids()[0]) else { return true };
                    match emit(row, &mut out) {
                        Ok(go_on) => go_on,
                        Err(e) => {
                            failure = Some(e);
                            false
                        }
                    }
                });
                if let Some(e) = failure {
                    return Err(e);
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(out))
    }

    #[allow(clippy::too_many_arguments)]
    fn read_row_index(
        &self,
        structure: aotdb_planner::StructureId,
        view: &ViewSpec,
        eq: &[Expr],
        range: Option<&RangeBounds>,
        params: &[Value],
        stop_after: Option<usize>,
        rows: &mut Vec<Vec<Value>>,
    ) -> Result<()> {
        let s = self
            .structures
            .get(&structure)
            .ok_or_else(|| Error::Internal(format!("structure #{structure} missing")))?;
        let (StructureData::RowIndex(ri), StructureSpec::RowIndex { order, .. }) = (&s.data, s.spec.as_ref()) else {
            return Err(Error::Internal(format!("structure #{structure} is not a row index")));
        };
        let Some(key) = eval_key(eq, params)? else { return Ok(()) };
        let bounds = match range {
            Some(r) => match Bounds::eval(r, params)? {
                Some(b) => Some(b),
                None => return Ok(()),
            },
            None => None,
        };
        let range_arg = match (&bounds, order.first()) {
            (Some(b), Some(spec)) => Some((spec, b.lower.clone(), b.upper.clone())),
            _ => None,
        };
        let mut failure = None;
        ri.scan(&key, range_arg, |identity: &Identity| {
            match self.view_row(view, identity) {
                Ok(Some(values)) => rows.push(values),
                Ok(None) => {}
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            }
            stop_after.is_none_or(|n| rows.len() < n)
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The group rows a read of an aggregate view gets: those of the
    /// key that pass HAVING, the first `skip` of them dropped, then up to
    /// `keep`.
    #[allow(clippy::too_many_arguments)]
    fn read_groups(
        &self,
        structure: aotdb_planner::StructureId,
        eq: &[Expr],
        range: Option<&RangeBounds>,
        params: &[Value],
        having: Option<&Expr>,
        skip: usize,
        keep: Option<usize>,
    ) -> Result<Rows> {
        let s = self
            .structures
            .get(&structure)
            .ok_or_else(|| Error::Internal(format!("structure #{structure} missing")))?;
        let (StructureData::Aggregate(view), StructureSpec::Aggregate(spec)) = (&s.data, s.spec.as_ref()) else {
            return Err(Error::Internal(format!("structure #{structure} is not an aggregate view")));
        };
        let mut rows = Rows::new(spec.group.len() + spec.aggs.len());
        let global = spec.group.is_empty();
        let key = eval_key(eq, params)?;
        let bounds = match range {
            Some(r) => Bounds::eval(r, params)?,
            None => Some(Bounds { lower: None, upper: None }),
        };
        let (Some(key), Some(bounds)) = (key, bounds) else {
            if global {
                let row = self.empty_group_row(structure)?;
                let passes_having = match having {
                    Some(h) => eval_predicate(h, &row, params)?,
                    None => true,
                };
                if passes_having && skip == 0 && keep.is_none_or(|n| n > 0) {
                    rows.push_owned(row);
                }
            }
            return Ok(rows);
        };
        let at_most = keep.map_or(usize::MAX, |n| n.saturating_add(skip));
        let mut skipped = 0;
        view.read(&key, (bounds.lower.as_ref(), bounds.upper.as_ref()), &mut rows, at_most, |rows| {
            if let Some(h) = having {
                if !eval_predicate(h, rows.last().unwrap_or(&[]), params)? {
                    rows.pop();
                    return Ok(true);
                }
            }
            if skipped < skip {
                skipped += 1;
                rows.pop();
                return Ok(true);
            }
            if keep.is_some_and(|n| rows.len() > n) {
                rows.pop();
                return Ok(false);
            }
            Ok(keep.is_none_or(|n| rows.len() < n))
        })?;
        Ok(rows)
    }

    /// The row of a view without GROUP BY when no rows are in it.
    fn empty_group_row(&self, structure: aotdb_planner::StructureId) -> Result<Vec<Value>> {
        let s = self
            .structures
            .get(&structure)
            .ok_or_else(|| Error::Internal(format!("structure #{structure} missing")))?;
        let StructureSpec::Aggregate(spec) = s.spec.as_ref() else {
            return Err(Error::Internal(format!("structure #{structure} is not an aggregate view")));
        };
        Ok(aggregate(&Grouping { group: Vec::new(), aggs: spec.aggs.clone() }, Vec::new(), true)?.remove(0))
    }

    /// Finds the rows an UPDATE or DELETE changes (slots of its table).
    pub(crate) fn find_rows(&self, f: &aotdb_planner::RowFinder, params: &[Value]) -> Result<Vec<RowId>> {
        if let Some(g) = &f.guard {
            if !eval_predicate(g, &[], params)? {
                return Ok(Vec::new());
            }
        }
        let view = &f.view;
        let table = self.table(view.anchor())?;
        let mut ids = Vec::new();
        let single = view.steps.len() == 1;
        let check = |id: RowId, row: &[Value], ids: &mut Vec<RowId>| -> Result<()> {
            if single {
                // The view row is the table row itself: no copy.
                if view_accepts(view, row)? && passes(f.residual.as_ref(), row, params)? {
                    ids.push(id);
                }
                return Ok(());
            }
            let mut view_rows: Vec<ViewRow> = Vec::new();
            self.expand(view, id, row, &mut view_rows)?;
            for r in view_rows {
                if passes(f.residual.as_ref(), &r.values, params)? {
                    ids.push(id);
                }
            }
            Ok(())
        };
        match &f.source {
            Source::Lookup { unique, key } => {
                let mut scratch = None;
                if let Some(key) = lookup_key(key, params, &mut scratch)? {
                    if let Some(id) = table.unique_get(*unique, key) {
                        if let Some(row) = table.get(id) {
                            check(id, row, &mut ids)?;
                        }
                    }
                }
            }
            Source::Scan => {
                for (id, row) in table.rows() {
                    check(id, row, &mut ids)?;
                }
            }
            Source::Rows { structure, eq, range } => {
                let mut rows = Vec::new();
                let s = self.structures.get(structure).ok_or_else(|| Error::Internal("structure missing".into()))?;
                let StructureData::RowIndex(ri) = &s.data else {
                    return Err(Error::Internal("row finder over a non-row index".into()));
                };
                let StructureSpec::RowIndex { order, .. } = s.spec.as_ref() else {
                    return Err(Error::Internal("row finder over a non-row index".into()));
                };
                let Some(key) = eval_key(eq, params)? else { return Ok(ids) };
                let bounds = match range {
                    Some(r) => match Bounds::eval(r, params)? {
                        Some(b) => Some(b),
                        None => return Ok(ids),
                    },
                    None => None,
                };
                let range_arg = match (&bounds, order.first()) {
                    (Some(b), Some(spec)) => Some((spec, b.lower.clone(), b.upper.clone())),
                    _ => None,
                };
                ri.scan(&key, range_arg, |identity| {
                    rows.push(identity.ids()[0]);
                    true
                });
                for id in rows {
                    if let Some(row) = table.get(id) {
                        if passes(f.residual.as_ref(), row, params)? {
                            ids.push(id);
                        }
                    }
                }
            }
            Source::Constant | Source::Groups { .. } => {
                return Err(Error::Internal("a write cannot find rows through this source".into()))
            }
        }
        Ok(ids)
    }
}

fn view_of(p: &SelectPlan) -> Result<&ViewSpec> {
    p.view.as_ref().ok_or_else(|| Error::Internal("query without a view".into()))
}

/// Whether a row of a single-table view's table belongs to the view.
/// Whether a single-table view holds `row`: its step's condition and the
/// view's filter, in that order (the filter is not evaluated for a row the
/// condition already refused).
pub(crate) fn view_accepts(view: &ViewSpec, row: &[Value]) -> Result<bool> {
    Ok(passes(view.steps[0].condition.as_ref(), row, &[])? && passes(view.filter.as_ref(), row, &[])?)
}

fn passes(cond: Option<&Expr>, row: &[Value], params: &[Value]) -> Result<bool> {
    match cond {
        None => Ok(true),
        Some(c) => Ok(eval_predicate(c, row, params)?),
    }
}

/// Groups view rows at read time (for lookups and scans).
fn aggregate(grouping: &Grouping, rows: Vec<Vec<Value>>, global: bool) -> Result<Vec<Vec<Value>>> {
    use crate::structures::AggStateForRead as State;
    let mut groups: BTreeMap<Vec<Value>, Vec<State>> = BTreeMap::new();
    for r in rows {
        let key = grouping.group.iter().map(|e| eval(e, &r, &[])).collect::<Result<Vec<_>, _>>()?;
        let states = groups.entry(key).or_insert_with(|| grouping.aggs.iter().map(State::new).collect());
        for (state, spec) in states.iter_mut().zip(&grouping.aggs) {
            let arg = match &spec.arg {
                Some(e) => Some(eval(e, &r, &[])?),
                None => None,
            };
            state.apply(arg.as_ref(), 1);
        }
    }
    if groups.is_empty() && global {
        groups.insert(Vec::new(), grouping.aggs.iter().map(State::new).collect());
    }
    let mut out = Vec::with_capacity(groups.len());
    for (mut key, states) in groups {
        for (state, spec) in states.iter().zip(&grouping.aggs) {
            key.push(state.output(spec)?);
        }
        out.push(key);
    }
    Ok(out)
}

fn count_clause(e: Option<&Expr>, params: &[Value], what: &str) -> Result<Option<usize>> {
    let Some(e) = e else { return Ok(None) };
    match eval(e, &[], params)? {
        Value::Null => Ok(None),
        Value::Int(n) if n < 0 => Err(PlanError::Data(format!("{what} must not be negative")).into()),
        Value::Int(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        other => Err(Error::Internal(format!("{what} evaluated to {other:?}"))),
    }
}

/// Compares sort keys: each ascending or descending, NULLs first or last
/// as the key says.
pub(crate) fn compare_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), k) in a.iter().zip(b).zip(keys) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
