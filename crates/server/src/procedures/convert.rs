//! Values across the Lua boundary: statement results into Lua tables
//! (NULL as the `aotdb.NULL` sentinel), FCALL's keys and arguments into
//! Lua arrays, and a function's return value into a RESP reply.

use aotdb_planner::Value;
use aotdb_proto::Reply;
use aotdb_storage::Outcome;
use bytes::Bytes;
use std::ffi::c_int;

use mlua::{ffi, Lua, LuaString, Table, Value as LuaValue};

/// Pushes a statement's result as Lua sees it: a count, or an array of
/// rows, each an array of values; NULL is the value at `null` (the
/// `aotdb.NULL` sentinel).
///
/// # Safety
/// `state` must be running a C function with three free stack slots (the
/// result, a row, a value; Lua guarantees LUA_MINSTACK = 20). A Lua error
/// (out of memory) unwinds by longjmp: the caller must hold nothing that
/// needs dropping, and a timestamp's text would leak.
pub unsafe fn push_outcome(state: *mut ffi::lua_State, null: c_int, outcome: &Outcome) {
    let rows = match outcome {
        Outcome::Count(n) => {
            unsafe { ffi::lua_pushinteger(state, *n as ffi::lua_Integer) };
            return;
        }
        Outcome::Rows(rows) => rows,
    };
    // Lengths beyond a C int cannot be preallocated; the table still grows.
    let hint = |n: usize| c_int::try_from(n).unwrap_or(0);
    unsafe {
        ffi::lua_createtable(state, hint(rows.len()), 0);
        for (i, row) in rows.iter().enumerate() {
            ffi::lua_createtable(state, hint(row.len()), 0);
            for (j, v) in row.iter().enumerate() {
                match v {
                    Value::Null => ffi::lua_pushvalue(state, null),
                    Value::Bool(b) => ffi::lua_pushboolean(state, c_int::from(*b)),
                    Value::Int(n) => ffi::lua_pushinteger(state, *n),
                    Value::Float(x) => ffi::lua_pushnumber(state, *x),
                    Value::Text(t) => push_bytes(state, t.as_bytes()),
                    Value::Bytes(b) => push_bytes(state, b),
                    Value::Timestamp(_) => push_bytes(state, v.to_pg_text().as_bytes()),
                }
                ffi::lua_rawseti(state, -2, j as ffi::lua_Integer + 1);
            }
            ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
        }
    }
}

/// FCALL's keys and arguments as two Lua arrays of strings, built in one
/// protected call: through mlua's safe API every string took a protected
/// call of its own.
pub fn strings_to_lua(lua: &Lua, keys: &[Bytes], args: &[Bytes]) -> mlua::Result<(Table, Table)> {
    let hint = |n: usize| c_int::try_from(n).unwrap_or(0);
    // SAFETY: `exec_raw` runs the closure as a protected C function on an
    // empty stack; it pushes at most three values at a time (the two
    // arrays and one string; LUA_MINSTACK is 20) and leaves the two
    // arrays. A Lua error (out of memory) unwinds by longjmp while the
    // closure holds only borrows.
    unsafe {
        lua.exec_raw((), |state| {
            for list in [keys, args] {
                ffi::lua_createtable(state, hint(list.len()), 0);
                for (i, item) in list.iter().enumerate() {
                    push_bytes(state, item);
                    ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
                }
            }
        })
    }
}

/// Pushes a Lua string (Lua copies the bytes).
///
/// # Safety
/// `state` must be a Lua state inside a protected call with a free slot.
unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    unsafe { ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len()) };
}

/// Lua strings a function's reply is looked up by, made once: making a
/// Lua string from Rust takes a protected call each time.
pub struct Names {
    pub err: LuaString,
    pub ok: LuaString,
}

impl Names {
    pub fn new(lua: &Lua) -> mlua::Result<Names> {
        Ok(Names { err: lua.create_string("err")?, ok: lua.create_string("ok")? })
    }
}

/// A function's return value as a reply, as Redis converts script
/// results: nil and false are null, true is 1, integers are integers,
/// strings are bulk strings, tables are arrays (up to the first nil), and
/// `{err = ...}` / `{ok = ...}` are errors and statuses. Floats stay
/// doubles (Redis would truncate them).
pub fn lua_to_reply(null: &Table, names: &Names, v: &LuaValue, depth: usize) -> Reply {
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
            if let Ok(LuaValue::String(e)) = t.raw_get::<LuaValue>(&names.err) {
                let text = e.to_string_lossy();
                return match text.split_once(' ') {
                    Some((code, rest)) if !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase()) => {
                        Reply::error(code, rest)
                    }
                    _ => Reply::error("ERR", text),
                };
            }
            if let Ok(LuaValue::String(s)) = t.raw_get::<LuaValue>(&names.ok) {
                return Reply::SimpleOwned(s.to_string_lossy());
            }
            let mut items = Vec::new();
            for i in 1.. {
                match t.raw_get::<LuaValue>(i) {
                    Ok(LuaValue::Nil) | Err(_) => break,
                    Ok(item) => items.push(lua_to_reply(null, names, &item, depth + 1)),
                }
            }
            Reply::Array(items)
        }
        other => Reply::error("ERR", format!("a function cannot return a {}", other.type_name())),
    }
}
