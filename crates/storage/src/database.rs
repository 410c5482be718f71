//! The database: every table and every derived structure. Tables change
//! only through statements (see `maintain`), which keep the structures
//! exact and record an undo log so a failed statement or batch changes
//! nothing.

use std::sync::Arc;

use aotdb_planner::{Change, StructureId, StructureSpec, TableId};
use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::id_map::IdMap;
use crate::row::Key;
use crate::structures::{AggregateView, Identity, RowIndex, RowIndexEntry, TableIndex};
use crate::table::Table;
use crate::view::ViewRow;

#[derive(Debug)]
pub(crate) enum StructureData {
    TableIndex(TableIndex),
    RowIndex(RowIndex),
    Aggregate(Box<AggregateView>),
}

#[derive(Debug)]
pub(crate) struct Structure {
    pub spec: Arc<StructureSpec>,
    pub data: StructureData,
    /// For view structures: per join step, the table columns whose change
    /// can change the structure.
    pub used: Vec<Vec<usize>>,
}

#[derive(Debug, Default)]
pub struct Database {
    pub(crate) tables: IdMap<Table>,
    pub(crate) structures: IdMap<Structure>,
    /// Structures following each table, in id order.
    pub(crate) watchers: IdMap<Vec<StructureId>>,
    /// A snapshot copy in progress.
    pub(crate) snapshot_copy: Option<crate::snapshot_copy::SnapshotCopy>,
    /// Snapshot bytes produced outside a copy step (a table dropped while
    /// being copied), handed out with the next step.
    pub(crate) snapshot_pending: Vec<u8>,
    /// Aggregate views not followed while recovery replays the log, built
    /// once from the final rows by `build_deferred` (see
    /// `defer_aggregates`); `None` outside a replay.
    pub(crate) deferred: Option<Vec<(StructureId, Arc<StructureSpec>)>>,
}

/// Row count and approximate size of one table, for INFO.
#[derive(Debug, Clone)]
pub struct TableStats {
    pub name: String,
    pub rows: usize,
    pub approximate_bytes: usize,
}

/// Size of one derived structure, for INFO.
#[derive(Debug, Clone)]
pub struct StructureStats {
    pub id: StructureId,
    pub kind: &'static str,
    /// Entries: index keys, view rows or groups.
    pub entries: usize,
    /// Approximate heap bytes.
    pub approximate_bytes: usize,
}

impl Database {
    pub fn new() -> Database {
        Database::default()
    }

    /// Mirrors catalog changes: creates and drops tables, builds and drops
    /// structures. New structures are built from the rows already there
    /// before anything changes, so an error (say, a division by zero in a
    /// view's condition) leaves the database as it was.
    pub fn apply_changes(&mut self, changes: &[Change]) -> Result<()> {
        let mut built: HashMap<StructureId, Structure> = HashMap::new();
        for change in changes {
            if let Change::AddStructure(id, spec) = change {
                if self.defers(spec) {
                    continue;
                }
                // Tables created by the same script are empty: nothing to
                // build from yet.
                let structure = self.build_structure(spec.clone(), &built)?;
                built.insert(*id, structure);
            }
        }
        for change in changes {
            match change {
                Change::CreateTable(def) => {
                    self.tables.insert(def.id, Table::new(def.clone()));
                }
                Change::DropTable(def) => {
                    let rest = self.finish_table_for_snapshot(def.id);
                    self.snapshot_pending.extend(rest);
                    self.tables.remove(&def.id);
                    self.watchers.remove(&def.id);
                }
                Change::AddStructure(id, spec) => {
                    if self.defers(spec) {
                        if let Some(deferred) = &mut self.deferred {
                            deferred.push((*id, spec.clone()));
                        }
                        continue;
                    }
                    let structure = built.remove(id).ok_or_else(|| Error::Internal("structure not built".into()))?;
                    self.install(*id, structure);
                }
                Change::DropStructure(id, spec) => {
                    if let Some(deferred) = &mut self.deferred {
                        deferred.retain(|(d, _)| d != id);
                    }
                    self.structures.remove(id);
                    for t in spec.tables() {
                        if let Some(list) = self.watchers.get_mut(&t) {
                            list.retain(|s| s != id);
                        }
                    }
                }
                Change::AddStatement(_) | Change::DropStatement(_) => {}
            }
        }
        Ok(())
    }

    /// Puts a built structure in place and has the tables it reads follow
    /// it.
    fn install(&mut self, id: StructureId, structure: Structure) {
        for t in structure.spec.tables() {
            let list = self.watchers.get_or_default(t);
            list.push(id);
            list.sort_unstable();
        }
        self.structures.insert(id, structure);
    }

    /// Whether a new structure waits for `build_deferred` instead of being
    /// built now.
    fn defers(&self, spec: &StructureSpec) -> bool {
        self.deferred.is_some() && matches!(spec, StructureSpec::Aggregate(_))
    }

    /// Stops following aggregate views until `build_deferred`, which
    /// builds them once from the rows as they are then. Recovery replays
    /// only logged writes, and no write reads an aggregate view: writes
    /// find their rows through unique indexes, table indexes and row
    /// indexes, and check keys through the first two, which all stay
    /// followed. Following the views through a million replayed inserts
    /// costs several times the one bulk build at the end; the build
    /// evaluates every final row's contribution, each of which its write
    /// already evaluated without error.
    pub fn defer_aggregates(&mut self) {
        let ids: Vec<StructureId> = self
            .structures
            .iter()
            .filter(|(_, s)| matches!(s.spec.as_ref(), StructureSpec::Aggregate(_)))
            .map(|(id, _)| id)
            .collect();
        let mut deferred = self.deferred.take().unwrap_or_default();
        for id in ids {
            if let Some(s) = self.structures.remove(&id) {
                for t in s.spec.tables() {
                    if let Some(list) = self.watchers.get_mut(&t) {
                        list.retain(|w| *w != id);
                    }
                }
                deferred.push((id, s.spec));
            }
        }
        self.deferred = Some(deferred);
    }

    /// Whether aggregate views wait for `build_deferred`.
    pub fn defers_aggregates(&self) -> bool {
        self.deferred.is_some()
    }

    /// Builds the views `defer_aggregates` set aside (on every core, the
    /// biggest first) and follows them again from here on. Returns how
    /// many it built.
    pub fn build_deferred(&mut self) -> Result<usize> {
        let Some(mut specs) = self.deferred.take() else { return Ok(0) };
        specs.sort_by_key(|(_, spec)| std::cmp::Reverse(self.rows_read_by(spec)));
        let built = self.build_all(&specs)?;
        let count = built.len();
        for (id, structure) in built {
            self.install(id, structure);
        }
        Ok(count)
    }

    /// Builds a structure from the current rows. `pending` holds the
    /// structures built earlier in the same batch (a view's join indexes).
    fn build_structure(
        &self,
        spec: Arc<StructureSpec>,
        pending: &HashMap<StructureId, Structure>,
    ) -> Result<Structure> {
        let mut structure = Structure::empty(spec.clone());
        match spec.as_ref() {
            StructureSpec::TableIndex { table, .. } => {
                if let (Some(t), StructureData::TableIndex(ti)) = (self.tables.get(table), &mut structure.data) {
                    for (id, row) in t.rows() {
                        ti.insert(row, id);
                    }
                }
            }
            StructureSpec::RowIndex { view, .. }
            | StructureSpec::Aggregate(aotdb_planner::AggregateSpec { view, .. }) => {
                let Some(anchor) = self.tables.get(&view.anchor()) else { return Ok(structure) };
                if anchor.is_empty() {
                    return Ok(structure);
                }
                if let StructureData::Aggregate(a) = &mut structure.data {
                    if a.has_partials() {
                        self.build_from_partials(view, anchor, a, pending)?;
                        return Ok(structure);
                    }
                }
                // Row indexes and range views collect every view row's
                // entry or contribution for one sorted bulk build; other
                // aggregate views take contributions as they come and rank
                // their groups once at the end.
                if matches!(structure.data, StructureData::RowIndex(_)) {
                    let mut entries = Vec::new();
                    self.for_each_view_row(view, anchor, pending, |identity, values| {
                        entries.push(structure.row_entry_of(identity, values)?);
                        Ok(())
                    })?;
                    if let StructureData::RowIndex(ri) = &mut structure.data {
                        ri.bulk_load(entries);
                    }
                } else if let StructureData::Aggregate(a) = &mut structure.data {
                    if a.is_ranged() {
                        a.bulk_load_ranged(|a, add| {
                            self.for_each_view_row(view, anchor, pending, |identity, values| {
                                add(a.contribution(values, identity)?);
                                Ok(())
                            })
                        })?;
                    } else {
                        a.begin_bulk();
                        self.for_each_view_row(view, anchor, pending, |identity, values| {
                            let c = a.contribution(values, identity)?;
                            a.apply(&c, 1);
                            Ok(())
                        })?;
                        a.finish_bulk();
                    }
                }
            }
        }
        Ok(structure)
    }

    /// Calls `visit` with every row of a view (single-table views read the
    /// rows in place; joins probe indexes that may be built in this same
    /// batch).
    fn for_each_view_row(
        &self,
        view: &aotdb_planner::ViewSpec,
        anchor: &crate::table::Table,
        pending: &HashMap<StructureId, Structure>,
        mut visit: impl FnMut(Identity, &[aotdb_planner::Value]) -> Result<()>,
    ) -> Result<()> {
        let single = view.steps.len() == 1;
        let mut rows = Vec::new();
        for (id, row) in anchor.rows() {
            if single {
                if crate::read::view_accepts(view, row)? {
                    visit(Identity::One(id), row)?;
                }
            } else {
                rows.clear();
                self.expand_with(view, id, row, &mut rows, Some(pending))?;
                for r in rows.drain(..) {
                    visit(r.identity, &r.values)?;
                }
            }
        }
        Ok(())
    }

    /// Builds an aggregate view that keeps partials under its join without
    /// making a view row: the fact rows' partials first, then under each
    /// join key the dimension row puts its partials in their groups.
    fn build_from_partials(
        &self,
        view: &aotdb_planner::ViewSpec,
        anchor: &crate::table::Table,
        a: &mut crate::structures::AggregateView,
        pending: &HashMap<StructureId, Structure>,
    ) -> Result<()> {
        a.begin_bulk();
        for (_, row) in anchor.rows() {
            if let Some(c) = a.partial_contribution(row)? {
                a.apply_partial(&c, 1);
            }
        }
        let step = &view.steps[1];
        let index = step.lookup_index.ok_or_else(|| Error::Internal("join step without an index".into()))?;
        let dimension = self.table(step.table)?;
        for key in a.partial_join_keys() {
            let found = self.index_rows_with(index, &key, Some(pending))?;
            let row = found.first().and_then(|&id| dimension.get(id));
            for m in a.partial_moves(None, row)? {
                a.apply_move(&m);
            }
        }
        a.finish_bulk();
        Ok(())
    }

    /// Loads a table's rows from a snapshot (structures are rebuilt
    /// separately, once every table is in).
    pub fn load_table_image(
        &mut self,
        table: TableId,
        slots: u64,
        free: Vec<crate::row::RowId>,
        rows: Vec<(crate::row::RowId, crate::row::Row)>,
    ) -> Result<()> {
        self.table_mut(table)?.load_image(slots, free, rows)
    }

    /// Rebuilds every derived structure from the rows (after loading a
    /// snapshot): the table indexes first, as views probe them, then the
    /// views. Structures only read the tables and the indexes, so each
    /// phase builds them on every core at once.
    pub fn rebuild_structures(&mut self) -> Result<()> {
        let specs: Vec<(StructureId, Arc<StructureSpec>)> =
            self.structures.iter().map(|(id, s)| (id, s.spec.clone())).collect();
        self.structures.clear();
        let (mut indexes, mut views): (Vec<_>, Vec<_>) =
            specs.into_iter().partition(|(_, spec)| matches!(spec.as_ref(), StructureSpec::TableIndex { .. }));
        // The biggest builds first (by the rows they read), so that two
        // threads do not end with one long build alone: a view over the
        // largest table started last would leave the other core idle.
        for phase in [&mut indexes, &mut views] {
            phase.sort_by_key(|(_, spec)| std::cmp::Reverse(self.rows_read_by(spec)));
        }
        for phase in [indexes, views] {
            let built = self.build_all(&phase)?;
            self.structures.extend(built);
        }
        Ok(())
    }

    /// The rows a structure's build reads: its table's, or its view's
    /// anchor table's.
    fn rows_read_by(&self, spec: &StructureSpec) -> usize {
        let table = match spec {
            StructureSpec::TableIndex { table, .. } => *table,
            StructureSpec::RowIndex { view, .. }
            | StructureSpec::Aggregate(aotdb_planner::AggregateSpec { view, .. }) => view.anchor(),
        };
        self.tables.get(&table).map_or(0, |t| t.len())
    }

    /// Builds independent structures on up to one thread per core, each
    /// thread taking the next unbuilt one.
    fn build_all(&self, specs: &[(StructureId, Arc<StructureSpec>)]) -> Result<Vec<(StructureId, Structure)>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, specs.len().max(1));
        let next = AtomicUsize::new(0);
        let none = HashMap::new();
        let work = || -> Result<Vec<(StructureId, Structure)>> {
            let mut out = Vec::new();
            while let Some((id, spec)) = specs.get(next.fetch_add(1, Ordering::Relaxed)) {
                let started = std::time::Instant::now();
                out.push((*id, self.build_structure(spec.clone(), &none)?));
                tracing::debug!(
                    structure = id,
                    spec = ?spec,
                    millis = started.elapsed().as_millis() as u64,
                    "structure rebuilt"
                );
            }
            Ok(out)
        };
        let results: Vec<Result<Vec<(StructureId, Structure)>>> = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut results = vec![work()];
            for h in helpers {
                results.push(h.join().unwrap_or_else(|_| Err(Error::Internal("a structure build panicked".into()))));
            }
            results
        });
        let mut all = Vec::new();
        for r in results {
            all.extend(r?);
        }
        Ok(all)
    }

    /// Snapshot bytes produced since the last copy step.
    pub fn take_snapshot_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.snapshot_pending)
    }

    pub fn table(&self, id: TableId) -> Result<&Table> {
        self.tables.get(&id).ok_or_else(|| Error::Internal(format!("table #{id} is not in storage")))
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut Table> {
        self.tables.get_mut(&id).ok_or_else(|| Error::Internal(format!("table #{id} is not in storage")))
    }

    pub(crate) fn table_index(&self, id: StructureId) -> Result<&TableIndex> {
        match self.structures.get(&id).map(|s| &s.data) {
            Some(StructureData::TableIndex(ti)) => Ok(ti),
            _ => Err(Error::Internal(format!("structure #{id} is not a table index"))),
        }
    }

    /// Total rows in all tables.
    pub fn total_rows(&self) -> usize {
        self.tables.values().map(Table::len).sum()
    }

    pub fn stats(&self) -> Vec<TableStats> {
        self.tables
            .values()
            .map(|t| TableStats { name: t.def.name.clone(), rows: t.len(), approximate_bytes: t.approximate_bytes() })
            .collect()
    }

    pub fn structure_stats(&self) -> Vec<StructureStats> {
        self.structures
            .iter()
            .map(|(id, s)| {
                let (kind, entries, approximate_bytes) = match &s.data {
                    StructureData::TableIndex(ti) => ("table index", ti.keys(), ti.heap_bytes()),
                    StructureData::RowIndex(ri) => ("row index", ri.len(), ri.heap_bytes()),
                    StructureData::Aggregate(a) => ("aggregate view", a.groups(), a.heap_bytes()),
                };
                StructureStats { id, kind, entries, approximate_bytes }
            })
            .collect()
    }
}

impl Structure {
    pub(crate) fn empty(spec: Arc<StructureSpec>) -> Structure {
        let (data, used) = match spec.as_ref() {
            StructureSpec::TableIndex { columns, .. } => {
                (StructureData::TableIndex(TableIndex::new(columns.clone())), Vec::new())
            }
            StructureSpec::RowIndex { view, eq, order } => {
                let extra: Vec<&aotdb_planner::Expr> = eq.iter().chain(order.iter().map(|o| &o.expr)).collect();
                (StructureData::RowIndex(RowIndex::default()), view.used_columns(&extra))
            }
            StructureSpec::Aggregate(a) => {
                let extra: Vec<&aotdb_planner::Expr> =
                    a.eq.iter()
                        .chain(a.group.iter())
                        .chain(a.aggs.iter().filter_map(|g| g.arg.as_ref()))
                        .chain(a.range.iter())
                        .collect();
                (StructureData::Aggregate(Box::new(AggregateView::new(a.clone()))), a.view.used_columns(&extra))
            }
        };
        Structure { spec, data, used }
    }

    /// The row-index entry of a view row.
    pub(crate) fn row_entry(&self, row: &ViewRow) -> Result<RowIndexEntry> {
        self.row_entry_of(row.identity.clone(), &row.values)
    }

    pub(crate) fn row_entry_of(
        &self,
        identity: crate::structures::Identity,
        values: &[aotdb_planner::Value],
    ) -> Result<RowIndexEntry> {
        let StructureSpec::RowIndex { eq, order, .. } = self.spec.as_ref() else {
            return Err(Error::Internal("not a row index".into()));
        };
        let eval = |e: &aotdb_planner::Expr| aotdb_planner::eval::eval(e, values, &[]);
        let eq_key = Key::try_build(eq.len(), |i| eval(&eq[i]))?;
        let key = crate::structures::sort_key::try_ordered_key(order, &identity, |o| eval(&o.expr))?;
        Ok(RowIndexEntry { eq: eq_key, key })
    }
}
