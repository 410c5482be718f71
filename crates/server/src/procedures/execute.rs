//! `aotdb.execute` as a C function working on Lua's stack directly.
//!
//! A function called through mlua's safe API takes every argument as a
//! reference-counted handle (a copy onto a second Lua thread, a protected
//! call per conversion) and was made anew for every FCALL; together that
//! cost more than the decision's reads. This one reads its arguments off
//! the stack and pushes the result rows itself. It reaches the statement
//! runner of the FCALL in progress through a thread-local pointer that
//! `Active` sets for the call's duration.
//!
//! Lua raises errors by longjmp, which must not cross a Rust frame that
//! still owns something. So the work that owns values (reading the
//! arguments, running the statement) happens in `run`, which returns
//! before anything is pushed or raised; the result and the error text wait
//! in the call's context, which the engine owns.

use std::cell::Cell;
use std::ffi::{c_int, CStr};

use aotdb_storage::Outcome;
use mlua::{ffi, Function, Lua, Table};

use super::convert::push_outcome;
use super::engine::StatementRunner;
use crate::error::ExecError;

/// The FCALL in progress, as `aotdb.execute` sees it.
pub struct CallContext {
    /// The call's statement runner; its real lifetime is the call's,
    /// which `Active` bounds.
    runner: *mut StatementRunner<'static>,
    writes_allowed: bool,
    /// The last statement result, kept here while Lua copies it.
    result: Option<Outcome>,
    /// The last error raised into Lua: its text (kept here because Lua
    /// copies it only after this frame can be unwound) and the error
    /// itself, so an error the function does not catch keeps its code.
    pub raised: Option<(String, ExecError)>,
    /// A statement panicked (a bug): its own rollback never ran, so the
    /// whole call fails, whatever the function makes of the error.
    pub panicked: bool,
}

thread_local! {
    static ACTIVE: Cell<*mut CallContext> = const { Cell::new(std::ptr::null_mut()) };
}

impl CallContext {
    pub fn new(runner: &mut StatementRunner<'_>, writes_allowed: bool) -> CallContext {
        // SAFETY: only the lifetime is erased; `Active` clears the pointer
        // before the call (and with it the runner's borrow) ends.
        let runner: *mut StatementRunner<'static> = unsafe { std::mem::transmute(runner as *mut StatementRunner<'_>) };
        CallContext { runner, writes_allowed, result: None, raised: None, panicked: false }
    }
}

/// Makes `aotdb.execute` on this thread run statements for `context`
/// until dropped.
pub struct Active(*mut CallContext);

impl Active {
    /// # Safety
    /// `context` must stay in place, and not be used otherwise, until the
    /// returned guard is dropped.
    pub unsafe fn new(context: *mut CallContext) -> Active {
        let previous = ACTIVE.with(|a| a.replace(context));
        Active(previous)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.0));
    }
}

/// The `aotdb.execute` function, with `null` (the `aotdb.NULL` sentinel)
/// as its upvalue.
pub fn create(lua: &Lua, null: &Table) -> mlua::Result<Function> {
    // SAFETY: the closure pops the upvalue `exec_raw` pushed and pushes
    // the closure in its place.
    unsafe {
        lua.exec_raw(null, |state| {
            ffi::lua_pushcclosure(state, execute, 1);
        })
    }
}

unsafe extern "C-unwind" fn execute(state: *mut ffi::lua_State) -> c_int {
    // Taken for the duration: Lua code that runs meanwhile (a `__gc`
    // finalizer run by an allocation while the result is pushed) finds no
    // call and cannot reach the context this frame is using.
    let pointer = ACTIVE.with(|a| a.replace(std::ptr::null_mut()));
    // SAFETY: a non-null pointer is the context of the FCALL running on
    // this thread (see `Active`), and this frame is now its only user.
    let Some(context) = (unsafe { pointer.as_mut() }) else {
        unsafe {
            ffi::lua_pushstring(state, c"aotdb.execute runs only inside FCALL".as_ptr());
            ffi::lua_error(state);
        }
    };
    // `run` has returned and dropped what it owned: from here on a Lua
    // error may unwind this frame (out of memory while pushing; the call
    // then fails, and later statements in it find no call).
    match unsafe { run(state, context) } {
        Ok(()) => {
            let null = ffi::lua_upvalueindex(1);
            if let Some(outcome) = &context.result {
                unsafe { push_outcome(state, null, outcome) };
            }
            context.result = None;
            ACTIVE.with(|a| a.set(pointer));
            1
        }
        Err(()) => unsafe {
            let text = context.raised.as_ref().map_or("", |(t, _)| t.as_str());
            ffi::lua_pushlstring(state, text.as_ptr().cast(), text.len());
            ACTIVE.with(|a| a.set(pointer));
            ffi::lua_error(state)
        },
    }
}

/// Reads the statement name and arguments and runs the statement; leaves
/// the result or the error in `context`.
///
/// # Safety
/// `state` is the Lua state calling `execute`.
unsafe fn run(state: *mut ffi::lua_State, context: &mut CallContext) -> Result<(), ()> {
    let top = unsafe { ffi::lua_gettop(state) };
    let name = match unsafe { string_at(state, 1) } {
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(n) => n,
            Err(_) => return raise(context, "ERR", "aotdb.execute: the statement name is not UTF-8".into()),
        },
        None => return raise(context, "ERR", "aotdb.execute needs a statement name first".into()),
    };
    let mut arguments = Vec::with_capacity(usize::try_from(top - 1).unwrap_or(0));
    for i in 2..=top {
        match unsafe { argument_at(state, i) } {
            Ok(a) => arguments.push(a),
            Err(m) => return raise(context, "TYPE", format!("aotdb.execute argument {}: {m}", i - 1)),
        }
    }
    // SAFETY: see `CallContext::new`.
    let runner = unsafe { &mut *context.runner };
    let writes_allowed = context.writes_allowed;
    // A panic (a bug) must not unwind through Lua's C frames: it becomes
    // an error here, and the engine fails the whole call.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner(name, arguments, writes_allowed)));
    match ran {
        Ok(Ok(outcome)) => {
            context.result = Some(outcome);
            Ok(())
        }
        Ok(Err(e)) => raise(context, e.code(), e.to_string()),
        Err(_) => {
            context.panicked = true;
            raise(context, "INTERNAL", format!("statement \"{name}\" failed on a bug (a panic); see the server log"))
        }
    }
}

/// Leaves the error for `execute` to raise (Lua code sees `CODE message`).
fn raise(context: &mut CallContext, code: &'static str, message: String) -> Result<(), ()> {
    context.raised = Some((format!("{code} {message}"), ExecError::Function { code, message }));
    Err(())
}

/// The string at `index`, if it is one (numbers are not converted).
unsafe fn string_at<'s>(state: *mut ffi::lua_State, index: c_int) -> Option<&'s [u8]> {
    if unsafe { ffi::lua_type(state, index) } != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0usize;
    let p = unsafe { ffi::lua_tolstring(state, index, &mut len) };
    // SAFETY: Lua keeps the string alive while it is on the stack, which
    // it is until this C function returns.
    (!p.is_null()).then(|| unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// The argument at `index` as statement argument text (`\N` for nil and
/// `aotdb.NULL`).
unsafe fn argument_at(state: *mut ffi::lua_State, index: c_int) -> Result<Vec<u8>, String> {
    Ok(match unsafe { ffi::lua_type(state, index) } {
        ffi::LUA_TNIL => b"\\N".to_vec(),
        ffi::LUA_TBOOLEAN => {
            if unsafe { ffi::lua_toboolean(state, index) } != 0 {
                b"true".to_vec()
            } else {
                b"false".to_vec()
            }
        }
        ffi::LUA_TNUMBER => {
            if unsafe { ffi::lua_isinteger(state, index) } != 0 {
                unsafe { ffi::lua_tointegerx(state, index, std::ptr::null_mut()) }.to_string().into_bytes()
            } else {
                aotdb_proto::format_double(unsafe { ffi::lua_tonumberx(state, index, std::ptr::null_mut()) })
                    .into_bytes()
            }
        }
        ffi::LUA_TSTRING => unsafe { string_at(state, index) }.unwrap_or_default().to_vec(),
        ffi::LUA_TTABLE if unsafe { ffi::lua_rawequal(state, index, ffi::lua_upvalueindex(1)) } != 0 => b"\\N".to_vec(),
        t => {
            // SAFETY: lua_typename returns a static C string for any type.
            let name = unsafe { CStr::from_ptr(ffi::lua_typename(state, t)) };
            return Err(format!("a {} cannot be a statement argument", name.to_string_lossy()));
        }
    })
}
