//! Procedures: Lua functions (Redis Functions: FUNCTION LOAD, FCALL) that
//! read, decide and write in one round trip. Inside, a function can only
//! run registered statements (`aotdb.execute(name, ...)`), so every read
//! keeps its proven cost; it runs atomically on the executor thread and is
//! rolled back whole if it raises an error or outlives its time budget. It
//! has no clock, randomness, files or network: those come as arguments, so
//! replaying its logged writes gives the same state.

mod convert;
mod engine;
mod execute;
mod watchdog;

pub use engine::FunctionEngine;
