//! What COMMAND, COMMAND INFO and COMMAND DOCS report: aotdb's commands
//! with their arity and documentation, so redis-cli can show hints and
//! client libraries can discover them.

use aotdb_proto::Reply;

pub struct CommandSpec {
    pub name: &'static str,
    /// Redis convention: exact argument count including the name, or the
    /// negated minimum.
    pub arity: i64,
    pub flags: &'static [&'static str],
    pub group: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// (name, type, optional, multiple)
    pub args: &'static [(&'static str, &'static str, bool, bool)],
}

const fn spec(
    name: &'static str,
    arity: i64,
    flags: &'static [&'static str],
    group: &'static str,
    summary: &'static str,
    complexity: &'static str,
    args: &'static [(&'static str, &'static str, bool, bool)],
) -> CommandSpec {
    CommandSpec { name, arity, flags, group, summary, complexity, args }
}

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "execute",
        -2,
        &["write", "fast"],
        "aotdb",
        "Runs a registered statement with the given arguments; \\N is NULL.",
        "The statement's cost class (see EXPLAIN).",
        &[("statement", "string", false, false), ("arg", "string", true, true)],
    ),
    spec(
        "prepare",
        3,
        &["write"],
        "aotdb",
        "Registers a statement under a name, building the structures it needs.",
        "O(n) to build structures from existing rows.",
        &[("name", "string", false, false), ("sql", "string", false, false)],
    ),
    spec(
        "deallocate",
        2,
        &["write"],
        "aotdb",
        "Drops a registered statement.",
        "O(1)",
        &[("name", "string", false, false)],
    ),
    spec(
        "define",
        2,
        &["write"],
        "aotdb",
        "Applies a script of CREATE/DROP TABLE, PREPARE and DEALLOCATE, all or nothing.",
        "O(n) to build structures from existing rows.",
        &[("script", "string", false, false)],
    ),
    spec(
        "explain",
        2,
        &["readonly", "fast"],
        "aotdb",
        "Shows a statement's plan, cost class, columns and parameters.",
        "O(1)",
        &[("statement", "string", false, false)],
    ),
    spec(
        "fcall",
        -3,
        &["write"],
        "scripting",
        "Runs a function: reads, decides and writes in one atomic call.",
        "The statements it runs.",
        &[
            ("function", "string", false, false),
            ("numkeys", "integer", false, false),
            ("key", "key", true, true),
            ("arg", "string", true, true),
        ],
    ),
    spec(
        "fcall_ro",
        -3,
        &["readonly"],
        "scripting",
        "Runs a function flagged no-writes.",
        "The statements it runs.",
        &[
            ("function", "string", false, false),
            ("numkeys", "integer", false, false),
            ("key", "key", true, true),
            ("arg", "string", true, true),
        ],
    ),
    spec(
        "function",
        -2,
        &[],
        "scripting",
        "FUNCTION LOAD [REPLACE] code | DELETE library | FLUSH | LIST [LIBRARYNAME pattern] [WITHCODE].",
        "O(libraries)",
        &[("subcommand", "string", false, false)],
    ),
    spec("multi", 1, &["fast"], "transactions", "Starts a transaction: EXECUTEs are queued until EXEC.", "O(1)", &[]),
    spec(
        "exec",
        1,
        &["write"],
        "transactions",
        "Runs the queued EXECUTEs atomically; any error rolls all of them back.",
        "The sum of the queued statements' costs.",
        &[],
    ),
    spec("discard", 1, &["fast"], "transactions", "Drops the queued EXECUTEs.", "O(1)", &[]),
    spec(
        "watch",
        -2,
        &["fast"],
        "transactions",
        "Not needed in aotdb (answers with an error that says why).",
        "O(1)",
        &[("key", "key", false, true)],
    ),
    spec(
        "unwatch",
        1,
        &["fast"],
        "transactions",
        "Not needed in aotdb (answers with an error that says why).",
        "O(1)",
        &[],
    ),
    spec(
        "ping",
        -1,
        &["fast"],
        "connection",
        "Returns PONG, or the message given.",
        "O(1)",
        &[("message", "string", true, false)],
    ),
    spec(
        "echo",
        2,
        &["fast"],
        "connection",
        "Returns the message given.",
        "O(1)",
        &[("message", "string", false, false)],
    ),
    spec(
        "hello",
        -1,
        &["fast"],
        "connection",
        "Switches protocol (2 or 3) and returns server information.",
        "O(1)",
        &[("protover", "integer", true, false)],
    ),
    spec(
        "auth",
        -2,
        &["fast"],
        "connection",
        "Authenticates the connection.",
        "O(1)",
        &[("username", "string", true, false), ("password", "string", false, false)],
    ),
    spec(
        "client",
        -2,
        &[],
        "connection",
        "CLIENT SETNAME/GETNAME/ID/INFO/LIST/SETINFO.",
        "O(1), O(clients) for LIST",
        &[("subcommand", "string", false, false)],
    ),
    spec(
        "select",
        2,
        &["fast"],
        "connection",
        "Selects database 0, the only one.",
        "O(1)",
        &[("index", "integer", false, false)],
    ),
    spec("quit", -1, &["fast"], "connection", "Closes the connection.", "O(1)", &[]),
    spec(
        "reset",
        1,
        &["fast"],
        "connection",
        "Resets the connection's state (protocol, name, transaction).",
        "O(1)",
        &[],
    ),
    spec(
        "command",
        -1,
        &[],
        "server",
        "Describes aotdb's commands.",
        "O(commands)",
        &[("subcommand", "string", true, false)],
    ),
    spec(
        "info",
        -1,
        &[],
        "server",
        "Server, client, memory, statistics and table information.",
        "O(tables)",
        &[("section", "string", true, true)],
    ),
    spec("dbsize", 1, &["readonly", "fast"], "server", "Total rows in all tables.", "O(tables)", &[]),
    spec(
        "config",
        -2,
        &[],
        "server",
        "CONFIG GET parameter ...",
        "O(parameters)",
        &[("subcommand", "string", false, false)],
    ),
    spec(
        "acl",
        -2,
        &[],
        "server",
        "ACL WHOAMI | ACL USERS: the connection's user, every user.",
        "O(users)",
        &[("subcommand", "string", false, false)],
    ),
    spec("save", 1, &[], "server", "Writes a snapshot before replying.", "O(n)", &[]),
    spec("bgsave", -1, &[], "server", "Writes a snapshot while the server goes on serving.", "O(n)", &[]),
    spec("shutdown", -1, &[], "server", "Stops the server.", "O(1)", &[("option", "string", true, false)]),
];

pub fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    COMMANDS.iter().find(|c| c.name == name)
}

/// One COMMAND INFO entry, in Redis 7's layout.
pub fn info_reply(c: &CommandSpec) -> Reply {
    Reply::Array(vec![
        Reply::bulk_str(c.name),
        Reply::Int(c.arity),
        Reply::Array(c.flags.iter().map(|f| Reply::SimpleOwned((*f).to_string())).collect()),
        Reply::Int(0),
        Reply::Int(0),
        Reply::Int(0),
        Reply::Array(vec![Reply::SimpleOwned(format!("@{}", c.group))]),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// One COMMAND DOCS entry: the command's documentation map.
pub fn docs_reply(c: &CommandSpec) -> Reply {
    let args = c
        .args
        .iter()
        .map(|(name, ty, optional, multiple)| {
            let mut fields = vec![
                (Reply::bulk_str("name"), Reply::bulk_str(name)),
                (Reply::bulk_str("type"), Reply::bulk_str(ty)),
                (Reply::bulk_str("display_text"), Reply::bulk_str(name)),
            ];
            let mut flags = Vec::new();
            if *optional {
                flags.push(Reply::SimpleOwned("optional".into()));
            }
            if *multiple {
                flags.push(Reply::SimpleOwned("multiple".into()));
            }
            if !flags.is_empty() {
                fields.push((Reply::bulk_str("flags"), Reply::Array(flags)));
            }
            Reply::Map(fields)
        })
        .collect();
    Reply::Map(vec![
        (Reply::bulk_str("summary"), Reply::bulk_str(c.summary)),
        (Reply::bulk_str("since"), Reply::bulk_str("0.1.0")),
        (Reply::bulk_str("group"), Reply::bulk_str(c.group)),
        (Reply::bulk_str("complexity"), Reply::bulk_str(c.complexity)),
        (Reply::bulk_str("arguments"), Reply::Array(args)),
    ])
}
