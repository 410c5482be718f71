//! End-to-end tests: each starts the real `aotdb` binary on an ephemeral
//! port and talks to it over TCP, with the `redis` crate or raw bytes.

mod bad_input;
mod chaos;
mod concurrency;
mod decisions;
mod durability;
mod harness;
mod procedures;
mod protocol;
mod reference;
mod security;
mod statements;
mod tls;
