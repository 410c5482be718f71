//! Binding: turning `sqlparser` ASTs into the planner's own types, with
//! names resolved against the catalog and types checked.

mod ddl;
mod dml;
mod expr;
mod from;
mod params;
mod scope;
mod select;
mod source;
mod sql_type;
mod view;

pub(crate) use ddl::bind_create_table;
pub(crate) use params::Params;
pub(crate) use sql_type::convert_type;

use sqlparser::ast;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::plan::Statement;
use crate::structure_registry::StructureRegistry;

/// A compiled statement and the structures it needs: `added` are new
/// (not yet in the catalog).
pub(crate) struct Compiled {
    pub statement: Statement,
    pub added: Vec<(crate::structure::StructureId, crate::structure::StructureSpec)>,
}

/// Compiles one statement for registration under `name`. `declared` holds
/// the parameter types given in `PREPARE name (types)`; the rest are
/// inferred from where the parameters appear.
pub(crate) fn compile_statement(
    catalog: &Catalog,
    name: &str,
    declared: Vec<crate::types::DataType>,
    statement: &ast::Statement,
) -> Result<Compiled> {
    // Parameter types can be fixed by a later occurrence than the first
    // (`SELECT $1 ... WHERE id = $1`), so a lenient first pass collects
    // what the statement implies, and the second pass binds for real.
    let mut params = Params::new(declared.clone(), true);
    let mut scratch = StructureRegistry::new(catalog);
    let _ = compile_with(catalog, name, statement, &mut params, &mut scratch);
    let mut strict = Params::new(declared, false);
    strict.adopt_inferred(&params);
    let mut registry = StructureRegistry::new(catalog);
    let statement = compile_with(catalog, name, statement, &mut strict, &mut registry)?;
    Ok(Compiled { statement, added: registry.added })
}

fn compile_with(
    catalog: &Catalog,
    name: &str,
    statement: &ast::Statement,
    params: &mut Params,
    registry: &mut StructureRegistry<'_>,
) -> Result<Statement> {
    let bound = match statement {
        ast::Statement::Query(query) => select::bind_select(catalog, query, params, registry)?,
        ast::Statement::Insert(insert) => dml::bind_insert(catalog, insert, params)?,
        ast::Statement::Update(update) => dml::bind_update(catalog, update, params, registry)?,
        ast::Statement::Delete(delete) => dml::bind_delete(catalog, delete, params, registry)?,
        other => {
            return Err(Error::Unsupported(format!(
                "only SELECT, INSERT, UPDATE and DELETE can be prepared, not: {}",
                first_words(&other.to_string())
            )))
        }
    };
    Ok(Statement {
        name: name.to_string(),
        sql: statement.to_string(),
        params: params.finish()?,
        columns: bound.columns,
        tables: bound.tables,
        structures: registry.used.clone(),
        plan: bound.plan,
        cost: bound.cost,
    })
}

/// The first few words of a statement, for messages.
pub(crate) fn first_words(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    words.join(" ")
}

/// Identifier folding as PostgreSQL does it: unquoted names fold to lower
/// case, quoted names are kept as written.
pub(crate) fn ident_name(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// A plain (unqualified or schema-less) object name.
pub(crate) fn object_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::ObjectNamePart> = name.0.iter().collect();
    match parts.as_slice() {
        [ast::ObjectNamePart::Identifier(ident)] => Ok(ident_name(ident)),
        [ast::ObjectNamePart::Identifier(schema), ast::ObjectNamePart::Identifier(ident)]
            if ident_name(schema) == "public" =>
        {
            Ok(ident_name(ident))
        }
        _ => Err(Error::Unsupported(format!("qualified name {name} is not supported (aotdb has one schema)"))),
    }
}
