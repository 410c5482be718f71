//! Scripts: the schema file and DEFINE take a sequence of CREATE TABLE,
//! DROP TABLE, PREPARE and DEALLOCATE statements, applied all or nothing.
//! Each statement is parsed on its own so errors can name its line.

use std::sync::Arc;

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::bind::{self, bind_create_table, convert_type};
use crate::catalog::{Catalog, TableDef};
use crate::error::{Error, Result};
use crate::plan::Statement;
use crate::structure::{StructureId, StructureSpec};
use crate::structure_registry::StructureRegistry;

/// A change a script made to the catalog, for storage to mirror.
#[derive(Debug, Clone)]
pub enum Change {
    CreateTable(Arc<TableDef>),
    DropTable(Arc<TableDef>),
    /// A derived structure to build (from the rows already there).
    AddStructure(StructureId, Arc<StructureSpec>),
    /// A structure no statement uses any more.
    DropStructure(StructureId, Arc<StructureSpec>),
    AddStatement(Arc<Statement>),
    DropStatement(Arc<Statement>),
}

/// One statement of a script with the line it starts on (1-based).
struct ScriptStatement {
    line: u64,
    statement: ast::Statement,
}

/// Applies `script` to a copy of `catalog`. On success returns the new
/// catalog and the changes made, in order; on failure the error names the
/// line of the statement at fault, and nothing is changed.
pub fn apply_script(catalog: &Catalog, script: &str) -> Result<(Catalog, Vec<Change>)> {
    let statements = parse_script(script)?;
    let mut next = catalog.clone();
    let mut changes = Vec::new();
    for s in &statements {
        apply_statement(&mut next, &s.statement, &mut changes).map_err(|e| e.context(format!("line {}", s.line)))?;
    }
    Ok((next, changes))
}

/// Registers one statement (the PREPARE command): `sql` is the statement
/// alone; parameter types are inferred.
pub fn prepare(catalog: &Catalog, name: &str, sql: &str) -> Result<(Catalog, Vec<Change>)> {
    let mut statements = parse_script(sql)?;
    let statement = match statements.len() {
        1 => statements.remove(0).statement,
        0 => return Err(Error::Syntax("PREPARE needs a statement".into())),
        _ => return Err(Error::Syntax("PREPARE takes exactly one statement".into())),
    };
    let mut next = catalog.clone();
    let mut changes = Vec::new();
    add_statement(&mut next, name.to_string(), Vec::new(), &statement, &mut changes)?;
    Ok((next, changes))
}

/// Drops one statement (the DEALLOCATE command).
pub fn deallocate(catalog: &Catalog, name: &str) -> Result<(Catalog, Vec<Change>)> {
    let mut next = catalog.clone();
    let mut changes = Vec::new();
    drop_statement(&mut next, name, &mut changes)?;
    Ok((next, changes))
}

fn parse_script(script: &str) -> Result<Vec<ScriptStatement>> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, script).tokenize_with_location().map_err(|e| Error::Syntax(e.to_string()))?;
    let mut out = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    let flush = |current: &mut Vec<TokenWithSpan>, out: &mut Vec<ScriptStatement>| -> Result<()> {
        let Some(first) = current.iter().find(|t| !is_trivia(&t.token)) else {
            current.clear();
            return Ok(());
        };
        let line = first.span.start.line;
        let tokens = std::mem::take(current);
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
        let statement =
            parser.parse_statement().map_err(|e| Error::Syntax(e.to_string()).context(format!("line {line}")))?;
        if parser.peek_token().token != Token::EOF {
            return Err(Error::Syntax(format!(
                "line {line}: unexpected {} after the statement",
                parser.peek_token().token
            )));
        }
        out.push(ScriptStatement { line, statement });
        Ok(())
    };
    for t in tokens {
        if t.token == Token::SemiColon {
            flush(&mut current, &mut out)?;
        } else {
            current.push(t);
        }
    }
    flush(&mut current, &mut out)?;
    Ok(out)
}

fn is_trivia(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_) | Token::EOF)
}

fn apply_statement(catalog: &mut Catalog, statement: &ast::Statement, changes: &mut Vec<Change>) -> Result<()> {
    match statement {
        ast::Statement::CreateTable(create) => {
            let name = bind::object_name(&create.name)?;
            if catalog.table_by_name(&name).is_some() {
                if create.if_not_exists {
                    return Ok(());
                }
                return Err(Error::Schema(format!("relation \"{name}\" already exists")));
            }
            let id = catalog.allocate_table_id();
            let mut registry = StructureRegistry::new(catalog);
            let table = Arc::new(bind_create_table(catalog, create, id, &mut registry)?);
            let (used, added) = (registry.used.clone(), registry.added.clone());
            catalog.insert_table(table.clone());
            changes.push(Change::CreateTable(table));
            // The table itself uses the indexes behind its foreign keys.
            for (sid, spec) in catalog.use_structures(&used, &added) {
                changes.push(Change::AddStructure(sid, spec));
            }
            Ok(())
        }
        ast::Statement::Drop { object_type: ast::ObjectType::Table, if_exists, names, cascade, .. } => {
            if *cascade {
                return Err(Error::Unsupported(
                    "DROP TABLE ... CASCADE is not supported; DEALLOCATE the statements first".into(),
                ));
            }
            for n in names {
                let name = bind::object_name(n)?;
                let Some(table) = catalog.table_by_name(&name).cloned() else {
                    if *if_exists {
                        continue;
                    }
                    return Err(Error::Schema(format!("table \"{name}\" does not exist")));
                };
                let users = catalog.statements_using(table.id);
                if !users.is_empty() {
                    return Err(Error::Schema(format!(
                        "cannot drop table \"{name}\" because statements use it: {}",
                        users.join(", ")
                    )));
                }
                let refs = catalog.references_to(table.id);
                if let Some((child, fk)) = refs.first() {
                    return Err(Error::Schema(format!(
                        "cannot drop table \"{name}\" because foreign key \"{fk}\" of table \"{child}\" references it"
                    )));
                }
                catalog.remove_table(table.id);
                let fk_indexes: Vec<_> = table.foreign_keys.iter().map(|f| f.index).collect();
                for (sid, spec) in catalog.release_structures(&fk_indexes) {
                    changes.push(Change::DropStructure(sid, spec));
                }
                changes.push(Change::DropTable(table));
            }
            Ok(())
        }
        ast::Statement::Prepare { name, data_types, statement } => {
            let declared = data_types.iter().map(convert_type).collect::<Result<Vec<_>>>()?;
            add_statement(catalog, bind::ident_name(name), declared, statement, changes)
        }
        ast::Statement::Deallocate { name, .. } => {
            if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
                let all: Vec<String> = catalog.statements().map(|s| s.name.clone()).collect();
                for n in all {
                    drop_statement(catalog, &n, changes)?;
                }
                return Ok(());
            }
            drop_statement(catalog, &bind::ident_name(name), changes)
        }
        ast::Statement::CreateIndex(_) => Err(Error::Unsupported(
            "CREATE INDEX is not needed: aotdb derives the indexes each registered statement needs".into(),
        )),
        other => Err(Error::Unsupported(format!(
            "a script may hold CREATE TABLE, DROP TABLE, PREPARE and DEALLOCATE, not: {}",
            bind::first_words(&other.to_string())
        ))),
    }
}

fn add_statement(
    catalog: &mut Catalog,
    name: String,
    declared: Vec<crate::types::DataType>,
    statement: &ast::Statement,
    changes: &mut Vec<Change>,
) -> Result<()> {
    validate_statement_name(&name)?;
    if catalog.statement(&name).is_some() {
        return Err(Error::Schema(format!("prepared statement \"{name}\" already exists")));
    }
    let compiled = bind::compile_statement(catalog, &name, declared, statement)
        .map_err(|e| e.context(format!("PREPARE {name}")))?;
    let statement = Arc::new(compiled.statement);
    for (id, spec) in catalog.use_structures(&statement.structures, &compiled.added) {
        changes.push(Change::AddStructure(id, spec));
    }
    catalog.insert_statement(statement.clone());
    changes.push(Change::AddStatement(statement));
    Ok(())
}

fn drop_statement(catalog: &mut Catalog, name: &str, changes: &mut Vec<Change>) -> Result<()> {
    let removed = catalog
        .remove_statement(name)
        .ok_or_else(|| Error::NoStatement(format!("prepared statement \"{name}\" does not exist")))?;
    for (id, spec) in catalog.release_structures(&removed.structures) {
        changes.push(Change::DropStructure(id, spec));
    }
    changes.push(Change::DropStatement(removed));
    Ok(())
}

/// Statement names travel as Redis arguments and in logs: keep them
/// printable and reasonably short.
fn validate_statement_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(Error::Syntax(format!(
            "invalid statement name \"{name}\": use up to 128 letters, digits, '_', '.', '-' or ':'"
        )))
    }
}
