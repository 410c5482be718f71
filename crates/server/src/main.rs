//! The `aotdb` binary: parses the command line and runs the server.

mod alloc;
mod auth;
mod clients;
mod command_table;
mod config;
mod connection;
mod durability;
mod error;
mod executor;
mod explain_file;
mod info;
mod local;
mod procedures;
mod replies;
mod server;
mod session;
mod stats;
mod tls;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: alloc::CountingAllocator = alloc::CountingAllocator;

fn main() -> ExitCode {
    let cli = config::Cli::parse();
    match cli.command {
        Some(config::Subcommand::Serve(args)) => server::run(*args),
        Some(config::Subcommand::Explain(args)) => explain_file::run(args),
        None => server::run(cli.serve),
    }
}
