//! EXPLAIN: what a compiled statement reads, what it costs, what it
//! returns, and for writes what it keeps up to date.

use crate::catalog::{Catalog, TableDef, TableId};
use crate::display::expr_sql;
use crate::plan::{Cost, Plan, RowFinder, Source, Statement};
use crate::structure::{IndexRef, StructureId, StructureSpec, ViewSpec};

/// A statement's plan, described for people and tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    pub name: String,
    /// `read` or `write`.
    pub kind: &'static str,
    pub sql: String,
    /// `$1 bigint`, ...
    pub parameters: Vec<String>,
    /// `(name, type)` of each result column.
    pub columns: Vec<(String, String)>,
    /// Cost class of the read (for writes: of finding the rows).
    pub cost: Cost,
    /// The plan, one step per line.
    pub steps: Vec<String>,
    /// Structures read to answer it.
    pub reads: Vec<String>,
    /// For writes: every structure kept up to date, with its cost.
    pub maintains: Vec<String>,
    /// For writes whose change reaches other rows through a join or a
    /// cascading foreign key: which rows, each costing its maintenance.
    /// The cost class above does not bound these; a hot parent row can
    /// make one write touch thousands of view rows.
    pub fan_out: Vec<String>,
}

pub fn explain(catalog: &Catalog, s: &Statement) -> Explain {
    let mut steps = Vec::new();
    let mut reads = Vec::new();
    let mut maintains = Vec::new();
    match &s.plan {
        Plan::Select(p) => {
            describe_source(catalog, p.view.as_ref(), &p.source, &mut steps, &mut reads);
            if p.residual.is_some() {
                steps.push("check the conditions with parameters on each row found".into());
            }
            if p.grouping.is_some() {
                steps.push("aggregate the rows found".into());
            }
            if p.having.is_some() {
                steps.push("keep the groups that pass HAVING".into());
            }
            if !p.order_by.is_empty() {
                steps.push(if p.presorted { "rows come in ORDER BY order" } else { "sort the rows" }.into());
            }
            if p.offset.is_some() || p.limit.is_some() {
                steps.push(if p.presorted { "stop after OFFSET + LIMIT rows" } else { "apply OFFSET/LIMIT" }.into());
            }
            steps.push(format!("return {} column(s)", s.columns.len()));
        }
        Plan::Insert(p) => {
            steps.push(format!("insert {} row(s) into {}", p.rows.len(), table_name(catalog, p.table)));
            maintenance(catalog, p.table, None, &mut maintains);
        }
        Plan::Update(p) => {
            describe_finder(catalog, &p.finder, &mut steps, &mut reads);
            steps.push(format!("update {} column(s) of each row", p.assignments.len()));
            let changed: Vec<usize> = p.assignments.iter().map(|(c, _)| *c).collect();
            maintenance(catalog, p.table, Some(&changed), &mut maintains);
        }
        Plan::Delete(p) => {
            describe_finder(catalog, &p.finder, &mut steps, &mut reads);
            steps.push("delete each row".into());
            maintenance(catalog, p.table, None, &mut maintains);
        }
    }
    Explain {
        name: s.name.clone(),
        kind: if s.is_read_only() { "read" } else { "write" },
        sql: s.sql.clone(),
        parameters: s.params.iter().enumerate().map(|(i, t)| format!("${} {}", i + 1, t.short_name())).collect(),
        columns: s.columns.iter().map(|c| (c.name.clone(), c.ty.short_name())).collect(),
        cost: s.cost,
        fan_out: maintains
            .iter()
            .filter_map(|m| m.split_once("fan-out: ").map(|(what, rows)| format!("{rows} ({})", structure_of(what))))
            .collect(),
        steps,
        reads,
        maintains,
    }
}

/// The structure a maintenance line is about: the text before its cost.
fn structure_of(line: &str) -> &str {
    line.split_once(": ").map_or(line, |(what, _)| what).split(" over ").next().unwrap_or(line)
}

fn describe_finder(catalog: &Catalog, f: &RowFinder, steps: &mut Vec<String>, reads: &mut Vec<String>) {
    describe_source(catalog, Some(&f.view), &f.source, steps, reads);
    if f.residual.is_some() {
        steps.push("check the conditions with parameters on each row found".into());
    }
}

fn describe_source(
    catalog: &Catalog,
    view: Option<&ViewSpec>,
    source: &Source,
    steps: &mut Vec<String>,
    reads: &mut Vec<String>,
) {
    match (source, view) {
        (Source::Constant, _) | (_, None) => steps.push("compute one row from the parameters".into()),
        (Source::Lookup { unique, .. }, Some(view)) => {
            let anchor = view.anchor();
            let index = catalog.table(anchor).map(|t| unique_name(t, *unique)).unwrap_or_default();
            steps.push(format!("probe {index}: at most one row"));
            reads.push(index);
            for step in &view.steps[1..] {
                let how = step.lookup_index.map(|i| index_name(catalog, i)).unwrap_or_default();
                steps.push(format!(
                    "{} {} by probing {how}",
                    if step.outer { "left join" } else { "join" },
                    table_name(catalog, step.table)
                ));
                reads.push(how);
            }
        }
        (Source::Rows { structure, range, .. }, Some(_)) | (Source::Groups { structure, range, .. }, Some(_)) => {
            let what = structure_name(catalog, *structure);
            match range {
                Some(_) => steps.push(format!("probe {what} by its key, then the range of its ordered entries")),
                None => steps.push(format!("probe {what} by its key")),
            }
            reads.push(what);
        }
        (Source::Scan, Some(view)) => {
            steps.push(format!("scan every row of {} (allowed by --allow-scans)", table_name(catalog, view.anchor())));
            reads.push(format!("table {}", table_name(catalog, view.anchor())));
        }
    }
}

fn table_name(catalog: &Catalog, id: TableId) -> String {
    catalog.table(id).map(|t| t.name.clone()).unwrap_or_else(|| format!("#{id}"))
}

fn unique_name(t: &TableDef, unique: usize) -> String {
    let u = &t.uniques[unique];
    format!("hash index {} on {} ({})", u.name, t.name, t.describe_columns(&u.columns))
}

fn index_name(catalog: &Catalog, index: IndexRef) -> String {
    match index {
        IndexRef::Unique { table, unique } => catalog.table(table).map(|t| unique_name(t, unique)).unwrap_or_default(),
        IndexRef::Derived(id) => structure_name(catalog, id),
    }
}

/// A short, stable description of a structure: `#id kind on what`.
pub fn structure_name(catalog: &Catalog, id: StructureId) -> String {
    match catalog.structure(id) {
        Some(spec) => format!("#{id} {}", describe_structure(catalog, spec)),
        None => format!("#{id}"),
    }
}

pub fn describe_structure(catalog: &Catalog, spec: &StructureSpec) -> String {
    match spec {
        StructureSpec::TableIndex { table, columns } => {
            let t = catalog.table(*table);
            let cols = t.map(|t| t.describe_columns(columns)).unwrap_or_default();
            format!("hash index on {} ({cols})", table_name(catalog, *table))
        }
        StructureSpec::RowIndex { view, eq, order } => {
            let name = namer(catalog, view);
            let mut s = format!("row index over {}", describe_view(catalog, view));
            if !eq.is_empty() {
                s.push_str(&format!(
                    " keyed by ({})",
                    eq.iter().map(|e| expr_sql(e, &name)).collect::<Vec<_>>().join(", ")
                ));
            }
            if !order.is_empty() {
                let keys: Vec<String> = order
                    .iter()
                    .map(|k| format!("{}{}", expr_sql(&k.expr, &name), if k.descending { " DESC" } else { "" }))
                    .collect();
                s.push_str(&format!(" ordered by ({})", keys.join(", ")));
            }
            s
        }
        StructureSpec::Aggregate(a) => {
            let name = namer(catalog, &a.view);
            let mut s = format!("aggregate view over {}", describe_view(catalog, &a.view));
            if !a.eq.is_empty() {
                s.push_str(&format!(
                    " keyed by ({})",
                    a.eq.iter().map(|e| expr_sql(e, &name)).collect::<Vec<_>>().join(", ")
                ));
            }
            if !a.group.is_empty() {
                s.push_str(&format!(
                    " grouped by ({})",
                    a.group.iter().map(|e| expr_sql(e, &name)).collect::<Vec<_>>().join(", ")
                ));
            }
            let aggs: Vec<String> = a
                .aggs
                .iter()
                .map(|g| match &g.arg {
                    None => "count(*)".into(),
                    Some(e) => format!(
                        "{}({}{})",
                        g.func,
                        if g.func == crate::structure::AggFunc::CountDistinct { "DISTINCT " } else { "" },
                        expr_sql(e, &name)
                    ),
                })
                .collect();
            if !aggs.is_empty() {
                s.push_str(&format!(" with {}", aggs.join(", ")));
            }
            if let Some(r) = &a.range {
                s.push_str(&format!(", running totals ordered by {}", expr_sql(r, &name)));
            }
            if a.output.is_some() {
                s.push_str(", groups ranked for ORDER BY/LIMIT");
            }
            s
        }
    }
}

/// `payments JOIN merchants ON ... WHERE ...`
fn describe_view(catalog: &Catalog, view: &ViewSpec) -> String {
    let name = namer(catalog, view);
    let mut s = table_name(catalog, view.anchor());
    let mut conditions = Vec::new();
    for (i, step) in view.steps.iter().enumerate() {
        if i > 0 {
            let on: Vec<String> = step
                .lookup
                .iter()
                .map(|(c, e)| format!("{} = {}", name(step.offset + c), expr_sql(e, &name)))
                .chain(if step.outer {
                    step.condition.iter().map(|c| expr_sql(c, &name)).collect()
                } else {
                    Vec::new()
                })
                .collect();
            s.push_str(&format!(
                " {} {} ON {}",
                if step.outer { "LEFT JOIN" } else { "JOIN" },
                table_name(catalog, step.table),
                on.join(" AND ")
            ));
        }
        if !step.outer {
            if let Some(c) = &step.condition {
                conditions.push(expr_sql(c, &name));
            }
        }
    }
    if let Some(f) = &view.filter {
        conditions.push(expr_sql(f, &name));
    }
    if !conditions.is_empty() {
        s.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    s
}

/// Columns of `table` a view structure depends on.
fn used_columns_of(spec: &StructureSpec, table: TableId) -> Vec<usize> {
    let Some(view) = spec.view() else { return Vec::new() };
    let Some(step) = view.steps.iter().position(|s| s.table == table) else { return Vec::new() };
    let extra: Vec<&crate::expr::Expr> = match spec {
        StructureSpec::RowIndex { eq, order, .. } => eq.iter().chain(order.iter().map(|o| &o.expr)).collect(),
        StructureSpec::Aggregate(a) => {
            a.eq.iter()
                .chain(a.group.iter())
                .chain(a.aggs.iter().filter_map(|g| g.arg.as_ref()))
                .chain(a.range.iter())
                .collect()
        }
        StructureSpec::TableIndex { .. } => Vec::new(),
    };
    view.used_columns(&extra).swap_remove(step)
}

fn namer<'a>(catalog: &'a Catalog, view: &'a ViewSpec) -> impl Fn(usize) -> String + 'a {
    move |c: usize| {
        view.step_of_column(c)
            .and_then(|s| {
                let step = &view.steps[s];
                let t = catalog.table(step.table)?;
                Some(format!("{}.{}", t.name, t.columns.get(c - step.offset)?.name))
            })
            .unwrap_or_else(|| format!("#{c}"))
    }
}

/// Every structure a write to `table` keeps up to date, with its cost.
/// For an UPDATE, `changed` lists the columns it sets: structures that use
/// none of them are left alone when it runs.
fn maintenance(catalog: &Catalog, table: TableId, changed: Option<&[usize]>, out: &mut Vec<String>) {
    let Some(t) = catalog.table(table) else { return };
    let touches = |columns: &[usize]| changed.is_none_or(|c| columns.iter().any(|x| c.contains(x)));
    out.push(format!("table {}: O(1) per row", t.name));
    for (u, unique) in t.uniques.iter().enumerate() {
        if touches(&unique.columns) {
            out.push(format!("{}: O(1) per row, checks uniqueness", unique_name(t, u)));
        }
    }
    for check in &t.checks {
        if touches(&check.expr.columns()) {
            out.push(format!("check {}: evaluated on each new row", check.name));
        }
    }
    for fk in &t.foreign_keys {
        if touches(&fk.columns) {
            let index = catalog
                .table(fk.ref_table)
                .map(|r| unique_name(r, fk.ref_unique))
                .unwrap_or_else(|| fk.ref_table_name.clone());
            out.push(format!("foreign key {}: O(1) per new or changed row, probes {index}", fk.name));
        }
    }
    for child in catalog.tables() {
        for fk in child.foreign_keys.iter().filter(|f| f.ref_table == table) {
            if !touches(&t.uniques[fk.ref_unique].columns) {
                continue;
            }
            let action = match fk.on_delete {
                crate::catalog::RefAction::Restrict => "restrict",
                crate::catalog::RefAction::Cascade => "cascade",
                crate::catalog::RefAction::SetNull => "set null",
            };
            out.push(format!(
                "foreign key {} of {}: on delete {action}, found through {}; fan-out: the {} rows referencing the row",
                fk.name,
                child.name,
                structure_name(catalog, fk.index),
                child.name
            ));
        }
    }
    for (id, entry) in catalog.structures() {
        let spec = &entry.spec;
        if !spec.tables().contains(&table) {
            continue;
        }
        let used: Vec<usize> = match spec.as_ref() {
            StructureSpec::TableIndex { columns, .. } => columns.clone(),
            other => used_columns_of(other, table),
        };
        if !touches(&used) {
            continue;
        }
        let what = format!("#{id} {}", describe_structure(catalog, spec));
        let per_row = match spec.as_ref() {
            StructureSpec::TableIndex { .. } => "O(1)",
            StructureSpec::RowIndex { .. } => "O(log n)",
            StructureSpec::Aggregate(a) if a.range.is_some() || a.output.is_some() => "O(log n)",
            StructureSpec::Aggregate(_) => "O(1)",
        };
        let fan_out = match spec.view() {
            Some(view) if view.anchor() != table => match partials_of(spec) {
                Some(p) => {
                    let anchor = table_name(catalog, view.anchor());
                    let name = namer(catalog, view);
                    let keys: Vec<String> = p.fact_keys.iter().map(|e| expr_sql(e, &name)).collect();
                    let per =
                        if keys.is_empty() { String::new() } else { format!(" per distinct ({})", keys.join(", ")) };
                    format!(
                        "; fan-out: one partial aggregate{per} of the {anchor} rows that join the changed {} row",
                        t.name
                    )
                }
                None => {
                    let anchor = table_name(catalog, view.anchor());
                    format!(
                        "; fan-out: every {anchor} row that joins the changed {} row (all of them, in the worst case)",
                        t.name
                    )
                }
            },
            _ => String::new(),
        };
        out.push(format!("{what}: {per_row} per view row{fan_out}"));
    }
}

/// The partials an aggregate view keeps under its join, if any.
fn partials_of(spec: &StructureSpec) -> Option<crate::partials::PartialPlan> {
    match spec {
        StructureSpec::Aggregate(a) => crate::partials::partial_plan(a),
        _ => None,
    }
}
