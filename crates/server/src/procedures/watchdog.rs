//! The time budget of Lua calls, at no cost to the calls that keep it.
//!
//! Lua stops a running function only from a hook, and while any count
//! hook is set the interpreter traces every instruction it runs (about a
//! twentieth of a decision's FCALL). So no hook is set while a call is
//! within its budget. A watchdog thread looks at the running call every
//! tick; once a call is overdue it signals the thread running it, and the
//! signal handler sets a count hook on the Lua state, the way the
//! standalone `lua` interpreter stops a script on Ctrl-C (`lua_sethook` is
//! meant to be called from a signal handler). The hook then raises an
//! error at every instruction, so `pcall` cannot hold on to the call, and
//! the engine reports the call as timed out once it has unwound.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mlua::ffi;

/// What the engine's thread, the watchdog and the signal handler share.
struct Shared {
    /// The running call's number, 0 between calls.
    running: AtomicU64,
    /// Its deadline, in nanoseconds after `epoch`.
    deadline: AtomicU64,
    /// The thread running it (a `pthread_t`).
    thread: AtomicU64,
    /// The call the watchdog found overdue; the handler acts only while
    /// that call is still the running one.
    overdue: AtomicU64,
    /// Set by the hook when it stops a call.
    stopped: AtomicBool,
    state: AtomicPtr<ffi::lua_State>,
    quit: AtomicBool,
    epoch: Instant,
}

thread_local! {
    /// The call this thread runs, for the signal handler (which gets no
    /// argument); null between calls. A const-initialised cell of a
    /// pointer: reading it needs no lazy initialisation, so it is safe
    /// inside a signal handler.
    static WATCHED: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// The signal: ignored by default, so a stray one does no harm, and no
/// socket of ours asks for its out-of-band meaning.
const SIGNAL: c_int = libc::SIGURG;

pub struct Watchdog {
    shared: Arc<Shared>,
    budget: Duration,
    next_call: u64,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Watches calls on `state` (the Lua state functions run on), each
    /// allowed `budget`.
    pub fn new(state: *mut ffi::lua_State, budget: Duration) -> std::io::Result<Watchdog> {
        install_handler()?;
        let shared = Arc::new(Shared {
            running: AtomicU64::new(0),
            deadline: AtomicU64::new(u64::MAX),
            thread: AtomicU64::new(0),
            overdue: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            state: AtomicPtr::new(state),
            quit: AtomicBool::new(false),
            epoch: Instant::now(),
        });
        // Overdue calls are noticed within a twentieth of the budget.
        let tick = (budget / 20).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let watched = shared.clone();
        let thread =
            std::thread::Builder::new().name("aotdb-lua-watchdog".into()).spawn(move || watch(&watched, tick))?;
        Ok(Watchdog { shared, budget, next_call: 0, thread: Some(thread) })
    }

    /// A call starts on this thread: its budget runs from now.
    pub fn arm(&mut self) {
        self.next_call += 1;
        let s = &self.shared;
        let deadline = (Instant::now() + self.budget).saturating_duration_since(s.epoch).as_nanos();
        s.deadline.store(u64::try_from(deadline).unwrap_or(u64::MAX), Ordering::Relaxed);
        // SAFETY: pthread_self has no preconditions.
        s.thread.store(unsafe { libc::pthread_self() } as u64, Ordering::Relaxed);
        WATCHED.with(|w| w.set(Arc::as_ptr(s)));
        s.running.store(self.next_call, Ordering::Release);
    }

    /// The call has returned (or unwound); returns whether the watchdog
    /// stopped it.
    pub fn disarm(&mut self) -> bool {
        let s = &self.shared;
        s.running.store(0, Ordering::Release);
        WATCHED.with(|w| w.set(std::ptr::null()));
        // Cleared every time: the signal may have come after the call's
        // last instruction (a long statement in a tail call, a big reply
        // being converted), leaving a hook that would stop the next call.
        // SAFETY: the state is alive (the engine owns it) and no Lua runs
        // on it now; this thread is the one that runs it.
        unsafe { ffi::lua_sethook(s.state.load(Ordering::Relaxed), None, 0, 0) };
        s.stopped.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn watch(s: &Shared, tick: Duration) {
    while !s.quit.load(Ordering::Acquire) {
        std::thread::park_timeout(tick);
        let call = s.running.load(Ordering::Acquire);
        if call == 0 {
            continue;
        }
        let now = u64::try_from(s.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if now > s.deadline.load(Ordering::Relaxed) {
            s.overdue.store(call, Ordering::Release);
            // Sent again every tick until the call ends: setting the hook
            // twice is harmless. SAFETY: the thread stays alive while its
            // call runs (it runs it); a call that has ended ignores it.
            unsafe { libc::pthread_kill(s.thread.load(Ordering::Relaxed) as libc::pthread_t, SIGNAL) };
        }
    }
}

fn install_handler() -> std::io::Result<()> {
    static INSTALL: Once = Once::new();
    static FAILED: AtomicBool = AtomicBool::new(false);
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is valid; the handler only reads
        // atomics and calls lua_sethook, which Lua allows in a handler.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(SIGNAL, &action, std::ptr::null_mut()) != 0 {
                FAILED.store(true, Ordering::Relaxed);
            }
        }
    });
    if FAILED.load(Ordering::Relaxed) {
        return Err(std::io::Error::other("cannot install the function watchdog's signal handler"));
    }
    Ok(())
}

extern "C" fn on_signal(_: c_int) {
    let shared = WATCHED.with(Cell::get);
    // SAFETY: a non-null pointer is the Shared of the watchdog whose call
    // runs on this thread; it is cleared when the call ends, and the
    // watchdog (holding the Shared) outlives its calls.
    let Some(s) = (unsafe { shared.as_ref() }) else { return };
    let overdue = s.overdue.load(Ordering::Acquire);
    if overdue != 0 && s.running.load(Ordering::Acquire) == overdue {
        // SAFETY: the state runs on this thread, which the signal
        // interrupted; lua_sethook is async-signal-safe by Lua's design.
        unsafe { ffi::lua_sethook(s.state.load(Ordering::Relaxed), Some(stop_call), ffi::LUA_MASKCOUNT, 1) };
    }
}

/// Raises the time-out error at every instruction of an overdue call.
unsafe extern "C-unwind" fn stop_call(state: *mut ffi::lua_State, _: *mut ffi::lua_Debug) {
    if let Some(s) = unsafe { WATCHED.with(Cell::get).as_ref() } {
        s.stopped.store(true, Ordering::Release);
    }
    // SAFETY: called by Lua as a hook on `state`; lua_error unwinds by
    // longjmp through Lua's own frames only (this function holds nothing
    // that needs dropping).
    unsafe {
        ffi::lua_pushstring(state, c"the function ran past its time budget".as_ptr());
        ffi::lua_error(state);
    }
}
