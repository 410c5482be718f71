//! Values across the Lua boundary: statement results into Lua tables
//! (NULL as the `aotdb.NULL` sentinel), Lua arguments into statement
//! argument text, and a function's return value into a RESP reply.

use aotdb_planner::Value;
use aotdb_proto::Reply;
use aotdb_storage::Outcome;
use bytes::Bytes;
use mlua::{Lua, Table, Value as LuaValue};

/// A statement's result as Lua sees it: a count, or an array of rows,
/// each an array of values.
pub fn outcome_to_lua(lua: &Lua, null: &Table, outcome: &Outcome) -> mlua::Result<LuaValue> {
    match outcome {
        Outcome::Count(n) => Ok(LuaValue::Integer(*n as i64)),
        Outcome::Rows(rows) => {
            let out = lua.create_table_with_capacity(rows.len(), 0)?;
            for (i, row) in rows.iter().enumerate() {
                let r = lua.create_table_with_capacity(row.len(), 0)?;
                for (j, v) in row.iter().enumerate() {
                    r.raw_set(j + 1, value_to_lua(lua, null, v)?)?;
                }
                out.raw_set(i + 1, r)?;
            }
            Ok(LuaValue::Table(out))
        }
    }
}

fn value_to_lua(lua: &Lua, null: &Table, v: &Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::Null => LuaValue::Table(null.clone()),
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Int(i) => LuaValue::Integer(*i),
        Value::Float(x) => LuaValue::Number(*x),
        Value::Text(s) => LuaValue::String(lua.create_string(s.as_bytes())?),
        Value::Bytes(b) => LuaValue::String(lua.create_string(&b[..])?),
        Value::Timestamp(_) => LuaValue::String(lua.create_string(v.to_pg_text())?),
    })
}

/// A Lua value as statement argument text (`\N` for NULL and nil).
pub fn lua_to_arg(null: &Table, v: &LuaValue) -> Result<Vec<u8>, String> {
    Ok(match v {
        LuaValue::Nil => b"\\N".to_vec(),
        LuaValue::Table(t) if t == null => b"\\N".to_vec(),
        LuaValue::Boolean(b) => {
            if *b {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            }
        }
        LuaValue::Integer(i) => i.to_string().into_bytes(),
        LuaValue::Number(x) => aotdb_proto::format_double(*x).into_bytes(),
        LuaValue::String(s) => s.as_bytes().to_vec(),
        other => return Err(format!("a {} cannot be a statement argument", other.type_name())),
    })
}

/// A function's return value as a reply, as Redis converts script
/// results: nil and false are null, true is 1, integers are integers,
/// strings are bulk strings, tables are arrays (up to the first nil), and
/// `{err = ...}` / `{ok = ...}` are errors and statuses. Floats stay
/// doubles (Redis would truncate them).
pub fn lua_to_reply(null: &Table, v: &LuaValue, depth: usize) -> Reply {
    if depth > 64 {
        return Reply::error("ERR", "function result nested too deeply");
    }
    match v {
        LuaValue::Nil | LuaValue::Boolean(false) => Reply::Null,
        LuaValue::Boolean(true) => Reply::Int(1),
        LuaValue::Integer(i) => Reply::Int(*i),
        LuaValue::Number(x) => Reply::Double(*x),
        LuaValue::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        LuaValue::Table(t) if t == null => Reply::Null,
        LuaValue::Table(t) => {
            if let Ok(LuaValue::String(e)) = t.raw_get::<LuaValue>("err") {
                let text = e.to_string_lossy();
                return match text.split_once(' ') {
                    Some((code, rest)) if !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase()) => {
                        Reply::error(code, rest)
                    }
                    _ => Reply::error("ERR", text),
                };
            }
            if let Ok(LuaValue::String(s)) = t.raw_get::<LuaValue>("ok") {
                return Reply::SimpleOwned(s.to_string_lossy());
            }
            let mut items = Vec::new();
            for i in 1.. {
                match t.raw_get::<LuaValue>(i) {
                    Ok(LuaValue::Nil) | Err(_) => break,
                    Ok(item) => items.push(lua_to_reply(null, &item, depth + 1)),
                }
            }
            Reply::Array(items)
        }
        other => Reply::error("ERR", format!("a function cannot return a {}", other.type_name())),
    }
}
