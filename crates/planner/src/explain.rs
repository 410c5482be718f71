//! EXPLAIN: what a compiled statement reads, what it costs, what it
//! returns, and for writes what it keeps up to date.

use crate::catalog::{Catalog, TableDef};
use crate::plan::{Access, Cost, Plan, Statement};

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
    /// Cost class of the whole statement.
    pub cost: Cost,
    /// The plan, one step per line.
    pub steps: Vec<String>,
    /// Structures read to answer it.
    pub reads: Vec<String>,
    /// Structures a write keeps up to date, with the work per row.
    pub maintains: Vec<String>,
}

pub fn explain(catalog: &Catalog, s: &Statement) -> Explain {
    let table_name = |id| {
        catalog
            .table(id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let mut steps = Vec::new();
    let mut reads = Vec::new();
    let mut maintains = Vec::new();
    let describe_access =
        |access: &Access, steps: &mut Vec<String>, reads: &mut Vec<String>| match access {
            Access::Constant => steps.push("compute one row from the parameters".into()),
            Access::UniqueLookup { table, unique, .. } => {
                let t = catalog.table(*table);
                let index = t.map(|t| describe_unique(t, *unique)).unwrap_or_default();
                steps.push(format!("probe {index}: at most one row"));
                reads.push(index);
            }
        };
    match &s.plan {
        Plan::Select(p) => {
            describe_access(&p.access, &mut steps, &mut reads);
            if p.filter.is_some() {
                steps.push("check the remaining WHERE conditions on the row".into());
            }
            if p.distinct {
                steps.push("remove duplicate rows".into());
            }
            if !p.order_by.is_empty() {
                steps.push("order the rows".into());
            }
            if p.offset.is_some() || p.limit.is_some() {
                steps.push("apply OFFSET/LIMIT".into());
            }
            steps.push(format!("return {} column(s)", s.columns.len()));
        }
        Plan::Insert(p) => {
            let table = table_name(p.table);
            steps.push(format!("insert {} row(s) into {table}", p.rows.len()));
            if let Some(t) = catalog.table(p.table) {
                write_maintenance(t, &mut maintains);
            }
        }
        Plan::Update(p) => {
            describe_access(&p.access, &mut steps, &mut reads);
            if p.filter.is_some() {
                steps.push("check the remaining WHERE conditions on the row".into());
            }
            steps.push(format!(
                "update {} column(s) of {}",
                p.assignments.len(),
                table_name(p.table)
            ));
            if let Some(t) = catalog.table(p.table) {
                write_maintenance(t, &mut maintains);
            }
        }
        Plan::Delete(p) => {
            describe_access(&p.access, &mut steps, &mut reads);
            if p.filter.is_some() {
                steps.push("check the remaining WHERE conditions on the row".into());
            }
            steps.push(format!("delete the row from {}", table_name(p.table)));
            if let Some(t) = catalog.table(p.table) {
                write_maintenance(t, &mut maintains);
            }
        }
    }
    Explain {
        name: s.name.clone(),
        kind: if s.is_read_only() { "read" } else { "write" },
        sql: s.sql.clone(),
        parameters: s
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${} {}", i + 1, t.short_name()))
            .collect(),
        columns: s
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.short_name()))
            .collect(),
        cost: statement_cost(s),
        steps,
        reads,
        maintains,
    }
}

/// Every statement aotdb accepts so far runs in constant time per row it
/// touches; the planner issue adds ordered and aggregated structures with
/// their own classes.
fn statement_cost(s: &Statement) -> Cost {
    match &s.plan {
        Plan::Select(p) => match p.access {
            Access::Constant | Access::UniqueLookup { .. } => Cost::Constant,
        },
        Plan::Insert(_) | Plan::Update(_) | Plan::Delete(_) => Cost::Constant,
    }
}

fn describe_unique(t: &TableDef, unique: usize) -> String {
    let u = &t.uniques[unique];
    format!(
        "hash index {} on {} ({})",
        u.name,
        t.name,
        t.describe_columns(&u.columns)
    )
}

fn write_maintenance(t: &TableDef, out: &mut Vec<String>) {
    out.push(format!("table {}: O(1) per row", t.name));
    for (i, _) in t.uniques.iter().enumerate() {
        out.push(format!(
            "{}: O(1) per row (uniqueness checked)",
            describe_unique(t, i)
        ));
    }
}
