//! The Lua engine behind FUNCTION LOAD and FCALL: one sandboxed Lua 5.4
//! state, libraries each run in an environment of their own, and calls
//! bounded by a time budget (`watchdog`).

use std::collections::BTreeMap;
use std::time::Duration;

use aotdb_proto::Reply;
use aotdb_storage::Outcome;
use bytes::Bytes;
use mlua::state::{GcGenParams, GcMode};
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue};

use super::convert::{lua_to_reply, strings_to_lua, Names};
use super::execute::{Active, CallContext};
use super::watchdog::Watchdog;
use crate::error::ExecError;

/// A library as FUNCTION LIST shows it.
#[derive(Debug, Clone)]
pub struct LibraryInfo {
    pub name: String,
    pub code: String,
    /// (name, description, flags)
    pub functions: Vec<(String, Option<String>, Vec<&'static str>)>,
}

/// An error raised inside a function, carried through Lua with its code.
#[derive(Debug)]
pub struct FunctionError {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl std::error::Error for FunctionError {}

struct Library {
    code: String,
    functions: Vec<String>,
}

struct Registered {
    library: String,
    callback: Function,
    no_writes: bool,
    description: Option<String>,
}

/// Runs a registered statement for a function: (name, arguments, whether
/// writes are allowed).
pub type StatementRunner<'a> = dyn FnMut(&str, Vec<Vec<u8>>, bool) -> Result<Outcome, ExecError> + 'a;

pub struct FunctionEngine {
    lua: Lua,
    safe_globals: Table,
    null: Table,
    names: Names,
    libraries: BTreeMap<String, Library>,
    functions: BTreeMap<String, Registered>,
    watchdog: Watchdog,
}

/// Largest memory a Lua state may use.
const LUA_MEMORY_LIMIT: usize = 256 * 1024 * 1024;

fn lua_err(e: mlua::Error) -> ExecError {
    if let Some(f) = e.downcast_ref::<FunctionError>() {
        return ExecError::Function { code: f.code, message: f.message.clone() };
    }
    ExecError::Function { code: "ERR", message: error_text(&e) }
}

/// Whether `e` is the error text `aotdb.execute` raised, as it raised it.
fn raised_unchanged(e: &mlua::Error, raised: &str) -> bool {
    let text = e.to_string();
    let text = text.strip_prefix("runtime error: ").unwrap_or(&text);
    text.strip_prefix(raised).is_some_and(|rest| rest.is_empty() || rest.starts_with('\n'))
}

/// An error's first line: the rest is a Lua stack trace.
fn error_text(e: &mlua::Error) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or("").trim_start_matches("runtime error: ").to_string()
}

impl FunctionEngine {
    pub fn new(budget: Duration) -> Result<FunctionEngine, ExecError> {
        let lua = Lua::new_with(StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8, LuaOptions::default())
            .map_err(lua_err)?;
        lua.set_memory_limit(LUA_MEMORY_LIMIT).map_err(lua_err)?;
        // Almost everything a call allocates (result tables, strings) dies
        // with the call: a generational collector visits only those young
        // objects, where the incremental one keeps re-marking every loaded
        // function and library.
        lua.gc_set_mode(GcMode::Generational(GcGenParams::default()));
        let globals = lua.globals();
        let safe = lua.create_table().map_err(lua_err)?;
        for name in [
            "assert",
            "error",
            "ipairs",
            "next",
            "pairs",
            "pcall",
            "rawequal",
            "rawget",
            "rawlen",
            "rawset",
            "select",
            "setmetatable",
            "getmetatable",
            "tonumber",
            "tostring",
            "type",
            "xpcall",
            "string",
            "table",
            "utf8",
        ] {
            let v: LuaValue = globals.get(name).map_err(lua_err)?;
            safe.set(name, v).map_err(lua_err)?;
        }
        // math without its random numbers: functions must be deterministic.
        let math: Table = globals.get("math").map_err(lua_err)?;
        let safe_math = lua.create_table().map_err(lua_err)?;
        for pair in math.pairs::<String, LuaValue>() {
            let (k, v) = pair.map_err(lua_err)?;
            if k != "random" && k != "randomseed" {
                safe_math.set(k, v).map_err(lua_err)?;
            }
        }
        safe.set("math", safe_math).map_err(lua_err)?;
        // No finalizers: Lua runs them with hooks off (the time budget
        // could not stop one) and whenever it collects, possibly inside
        // another function's call. An object is finalized only if its
        // metatable has __gc when set, so refusing that here is enough.
        let setmetatable: Function = lua
            .load(
                "local raw, rawget = ...
                 return function(t, mt)
                   if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then
                     error('__gc metamethods are not allowed in functions', 2)
                   end
                   return raw(t, mt)
                 end",
            )
            .set_name("=setmetatable")
            .call((
                globals.get::<Function>("setmetatable").map_err(lua_err)?,
                globals.get::<Function>("rawget").map_err(lua_err)?,
            ))
            .map_err(lua_err)?;
        safe.set("setmetatable", setmetatable).map_err(lua_err)?;
        let table_lib: Table = globals.get("table").map_err(lua_err)?;
        safe.set("unpack", table_lib.get::<LuaValue>("unpack").map_err(lua_err)?).map_err(lua_err)?;
        let null = lua.create_table().map_err(lua_err)?;
        let null_meta = lua.create_table().map_err(lua_err)?;
        null_meta
            .set("__tostring", lua.create_function(|_, _: LuaValue| Ok("NULL")).map_err(lua_err)?)
            .map_err(lua_err)?;
        null_meta
            .set(
                "__newindex",
                lua.create_function(|_, _: MultiValue| -> mlua::Result<()> {
                    Err(mlua::Error::RuntimeError("aotdb.NULL cannot be changed".into()))
                })
                .map_err(lua_err)?,
            )
            .map_err(lua_err)?;
        null.set_metatable(Some(null_meta)).map_err(lua_err)?;
        let aotdb = lua.create_table().map_err(lua_err)?;
        aotdb.set("NULL", null.clone()).map_err(lua_err)?;
        aotdb.set("execute", super::execute::create(&lua, &null).map_err(lua_err)?).map_err(lua_err)?;
        safe.set("aotdb", aotdb).map_err(lua_err)?;
        // The state functions run on, for the watchdog's hook.
        let mut state = std::ptr::null_mut();
        // SAFETY: the closure only reads the state pointer.
        unsafe { lua.exec_raw::<()>((), |s| state = s) }.map_err(lua_err)?;
        let watchdog = Watchdog::new(state, budget)
            .map_err(|e| ExecError::Internal(format!("cannot start the function watchdog: {e}")))?;
        let names = Names::new(&lua).map_err(lua_err)?;
        Ok(FunctionEngine {
            names,
            lua,
            watchdog,
            safe_globals: safe,
            null,
            libraries: BTreeMap::new(),
            functions: BTreeMap::new(),
        })
    }

    /// FUNCTION LOAD: runs the library's code, which registers its
    /// functions with `redis.register_function`; returns the library name.
    pub fn load(&mut self, code: &str, replace: bool) -> Result<String, ExecError> {
        let fail = |m: String| ExecError::Function { code: "ERR", message: m };
        let (first, body) = code.split_once('\n').unwrap_or((code, ""));
        let header = first.strip_prefix("#!").ok_or_else(|| fail("Missing library metadata".into()))?;
        let mut parts = header.split_whitespace();
        let engine = parts.next().unwrap_or("");
        if !engine.eq_ignore_ascii_case("lua") {
            return Err(fail(format!("Engine '{engine}' not found")));
        }
        let mut name = None;
        for p in parts {
            match p.split_once('=') {
                Some(("name", n)) => name = Some(n.to_string()),
                _ => return Err(fail(format!("Invalid metadata value given: {p}"))),
            }
        }
        let name = name.ok_or_else(|| fail("Library name was not given".into()))?;
        if !valid_name(&name) {
            return Err(fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into()));
        }
        if self.libraries.contains_key(&name) && !replace {
            return Err(fail(format!("Library '{name}' already exists")));
        }

        let env = self.lua.create_table().map_err(lua_err)?;
        let meta = self.lua.create_table().map_err(lua_err)?;
        meta.set("__index", self.safe_globals.clone()).map_err(lua_err)?;
        env.set_metatable(Some(meta)).map_err(lua_err)?;
        let mut registered: Vec<(String, Function, bool, Option<String>)> = Vec::new();
        self.watchdog.arm();
        // Keep line numbers: the header line becomes an empty line.
        let source = format!("\n{body}");
        let result = self.lua.scope(|scope| {
            let register = scope.create_function_mut(|_, args: MultiValue| {
                registered.push(parse_registration(args)?);
                Ok(())
            })?;
            let redis = self.lua.create_table()?;
            redis.set("register_function", register)?;
            env.raw_set("redis", redis)?;
            self.lua.load(&source).set_name(format!("@{name}")).set_environment(env.clone()).exec()
        });
        if self.watchdog.disarm() {
            return Err(timed_out());
        }
        result.map_err(lua_err)?;
        if registered.is_empty() {
            return Err(fail("No functions registered".into()));
        }
        for (f, ..) in &registered {
            if let Some(existing) = self.functions.get(f) {
                if existing.library != name {
                    return Err(fail(format!("Function {f} already exists")));
                }
            }
            if registered.iter().filter(|r| &r.0 == f).count() > 1 {
                return Err(fail(format!("Function {f} already exists in the library")));
            }
        }
        self.remove_library(&name);
        let names = registered.iter().map(|r| r.0.clone()).collect();
        for (f, callback, no_writes, description) in registered {
            self.functions.insert(f, Registered { library: name.clone(), callback, no_writes, description });
        }
        self.libraries.insert(name.clone(), Library { code: code.to_string(), functions: names });
        Ok(name)
    }

    fn remove_library(&mut self, name: &str) -> bool {
        match self.libraries.remove(name) {
            Some(lib) => {
                for f in lib.functions {
                    self.functions.remove(&f);
                }
                true
            }
            None => false,
        }
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &str) -> Result<(), ExecError> {
        if self.remove_library(name) {
            Ok(())
        } else {
            Err(ExecError::Function { code: "ERR", message: "Library not found".into() })
        }
    }

    /// FUNCTION FLUSH.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.functions.clear();
    }

    pub fn list(&self) -> Vec<LibraryInfo> {
        self.libraries
            .iter()
            .map(|(name, lib)| LibraryInfo {
                name: name.clone(),
                code: lib.code.clone(),
                functions: lib
                    .functions
                    .iter()
                    .filter_map(|f| {
                        self.functions.get(f).map(|r| {
                            let flags = if r.no_writes { vec!["no-writes"] } else { Vec::new() };
                            (f.clone(), r.description.clone(), flags)
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every library's code, in name order (for snapshots).
    pub fn library_codes(&self) -> Vec<String> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// FCALL: runs `function` with its keys and arguments. `execute` runs a
    /// registered statement (and is told whether writes are allowed).
    pub fn call(
        &mut self,
        function: &str,
        keys: &[Bytes],
        args: &[Bytes],
        read_only_call: bool,
        execute: &mut StatementRunner<'_>,
    ) -> Result<Reply, ExecError> {
        let registered = self
            .functions
            .get(function)
            .ok_or_else(|| ExecError::Function { code: "ERR", message: "Function not found".into() })?;
        if read_only_call && !registered.no_writes {
            return Err(ExecError::Function {
                code: "ERR",
                message: "Can not execute a script with write flag using *_ro command.".into(),
            });
        }
        let no_writes = registered.no_writes;
        let callback = registered.callback.clone();
        let mut context = CallContext::new(execute, !no_writes);
        self.watchdog.arm();
        let result = {
            // SAFETY: `context` stays in place and is not touched until
            // the guard is dropped at the end of this block.
            let _active = unsafe { Active::new(&mut context) };
            strings_to_lua(&self.lua, keys, args).and_then(|(keys_t, args_t)| {
                let value: LuaValue = callback.call((keys_t, args_t))?;
                Ok(lua_to_reply(&self.null, &self.names, &value, 0))
            })
        };
        if self.watchdog.disarm() {
            return Err(timed_out());
        }
        if context.panicked {
            return Err(ExecError::Internal(
                "a statement in the function failed on a bug (a panic); nothing the function wrote was kept".into(),
            ));
        }
        result.map_err(|e| match context.raised.take() {
            // A statement's error the function did not catch keeps its code
            // (Lua adds a stack trace after it).
            Some((text, raised)) if raised_unchanged(&e, &text) => raised,
            _ => lua_err(e),
        })
    }
}

/// A call the watchdog stopped, whatever the function made of the error.
fn timed_out() -> ExecError {
    ExecError::Function {
        code: "TIMEOUT",
        message: "the function ran past its time budget and was stopped; nothing it wrote was kept".into(),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `redis.register_function('name', fn)` or
/// `redis.register_function{function_name=..., callback=..., flags={...}, description=...}`.
fn parse_registration(args: MultiValue) -> mlua::Result<(String, Function, bool, Option<String>)> {
    let bad = |m: &str| mlua::Error::external(FunctionError { code: "ERR", message: m.to_string() });
    let args: Vec<LuaValue> = args.into_iter().collect();
    let (name, callback, flags, description) = match args.as_slice() {
        [LuaValue::String(n), LuaValue::Function(f)] => (n.to_string_lossy(), f.clone(), None, None),
        [LuaValue::Table(t)] => {
            let name: String = t.get("function_name").map_err(|_| bad("function_name is missing"))?;
            let callback: Function = t.get("callback").map_err(|_| bad("callback is missing"))?;
            let flags: Option<Table> = t.get("flags").ok();
            let description: Option<String> = t.get("description").ok();
            (name, callback, flags, description)
        }
        _ => return Err(bad("wrong arguments to redis.register_function")),
    };
    if !valid_name(&name) {
        return Err(bad("Function names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    let mut no_writes = false;
    if let Some(flags) = flags {
        for f in flags.sequence_values::<String>() {
            match f?.as_str() {
                "no-writes" => no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => return Err(bad(&format!("Unknown flag given: {other}"))),
            }
        }
    }
    Ok((name, callback, no_writes, description))
}
