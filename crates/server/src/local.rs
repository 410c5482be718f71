//! Commands a connection answers itself (PING, HELLO, CLIENT, COMMAND,
//! MULTI bookkeeping, ...) and the translation of the rest into executor
//! requests.

use aotdb_proto::{AclCommand, ClientCommand, Command, CommandCommand, FunctionCommand, Protocol, Reply};
use bytes::Bytes;

use crate::auth;
use crate::command_table::{self, COMMANDS};
use crate::executor::{QueuedExecute, Request};
use crate::server::Shared;
use crate::session::Session;

/// What to do with one command.
pub enum Action {
    Reply(Reply),
    /// Ask the executor; render its answer as `render` says.
    Execute(Request, Render),
    /// Reply, then close the connection (QUIT).
    ReplyAndClose(Reply),
    /// Stop the server (SHUTDOWN): close without a reply, as Redis does.
    Shutdown,
}

/// How to turn an executor response into a reply.
pub enum Render {
    Plain,
    Info(Vec<&'static str>),
}

fn err(message: impl std::fmt::Display) -> Reply {
    Reply::error("ERR", message)
}

pub fn dispatch(command: Command, session: &mut Session, shared: &Shared) -> Action {
    let reads_only = match &session.user {
        None if !auth::allowed_before_auth(&command) => {
            if session.multi.is_some() {
                session.multi_failed = true;
            }
            return Action::Reply(auth::no_auth());
        }
        None => false,
        Some(user) => {
            if let Err(refused) = auth::check(user, &command) {
                if session.multi.is_some() {
                    session.multi_failed = true;
                }
                return Action::Reply(refused);
            }
            user.reads_only()
        }
    };
    if session.multi.is_some() {
        return in_multi(command, session, reads_only);
    }
    let reply = match command {
        Command::Ping(None) => match session.protocol {
            Protocol::Resp2 | Protocol::Resp3 => Reply::Simple("PONG"),
        },
        Command::Ping(Some(msg)) | Command::Echo(msg) => Reply::Bulk(msg),
        Command::Hello { protocol, auth, setname } => hello(session, shared, protocol, auth, setname),
        Command::Auth { user, password } => authenticate(session, shared, user.as_deref(), &password),
        Command::Client(c) => client(c, session, shared),
        Command::Select(db) => match std::str::from_utf8(&db).ok().and_then(|s| s.parse::<i64>().ok()) {
            Some(0) => Reply::ok(),
            Some(_) => err("DB index is out of range"),
            None => err("value is not an integer or out of range"),
        },
        Command::Command(c) => command_command(c),
        Command::ConfigGet(patterns) => config_get(&patterns, shared),
        Command::Quit => return Action::ReplyAndClose(Reply::ok()),
        Command::Reset => {
            session.reset();
            log_in(session, shared, shared.users.initial());
            shared.clients.update(session.id, |e| {
                e.name.clear();
                e.resp = 2;
                e.in_multi = false;
            });
            Reply::Simple("RESET")
        }
        Command::Info(sections) => {
            return Action::Execute(Request::Info, Render::Info(crate::info::wanted_sections(&sections)))
        }
        Command::DbSize => return Action::Execute(Request::DbSize, Render::Plain),
        Command::Execute { name, args } => {
            return Action::Execute(Request::Execute { name, args, read_only: reads_only }, Render::Plain)
        }
        Command::Prepare { name, sql } => return Action::Execute(Request::Prepare { name, sql }, Render::Plain),
        Command::Deallocate { name } => return Action::Execute(Request::Deallocate { name }, Render::Plain),
        Command::Define { script } => return Action::Execute(Request::Define { script }, Render::Plain),
        Command::Explain { name } => return Action::Execute(Request::Explain { name }, Render::Plain),
        Command::Multi => {
            session.multi = Some(Vec::new());
            session.multi_failed = false;
            shared.clients.update(session.id, |e| e.in_multi = true);
            Reply::ok()
        }
        Command::Exec => err("EXEC without MULTI"),
        Command::Discard => err("DISCARD without MULTI"),
        Command::Watch | Command::Unwatch => watch_not_needed(),
        Command::FCall { function, keys, args, read_only } => {
            let read_only = read_only || reads_only;
            return Action::Execute(Request::FCall { function, keys, args, read_only }, Render::Plain);
        }
        Command::Function(FunctionCommand::Help) => Reply::Array(
            [
                "FUNCTION <subcommand> [<arg> ...]. Subcommands are:",
                "LOAD [REPLACE] <code>",
                "DELETE <library>",
                "FLUSH",
                "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
            ]
            .iter()
            .map(|s| Reply::SimpleOwned((*s).to_string()))
            .collect(),
        ),
        Command::Function(f) => return Action::Execute(Request::Function(f), Render::Plain),
        Command::Acl(AclCommand::WhoAmI) => match &session.user {
            Some(u) => Reply::bulk_str(&u.name),
            None => auth::no_auth(),
        },
        Command::Acl(AclCommand::Users) => {
            Reply::Array(shared.users.names().iter().map(|n| Reply::bulk_str(n)).collect())
        }
        Command::Acl(AclCommand::Unsupported(sub)) => err(format!(
            "ACL {sub} is not supported: users and their roles come from --requirepass and the --users file, \
             read at start (ACL WHOAMI and ACL USERS answer questions)"
        )),
        Command::Save => return Action::Execute(Request::Save, Render::Plain),
        Command::BgSave => return Action::Execute(Request::BgSave, Render::Plain),
        Command::Shutdown(args) => {
            let has = |word: &[u8]| args.iter().any(|a| a.eq_ignore_ascii_case(word));
            if has(b"abort") {
                err("No shutdown in progress.")
            } else if has(b"save") && has(b"nosave") {
                err("syntax error")
            } else if has(b"save") && shared.persistence.is_none() {
                err("SHUTDOWN SAVE: persistence is off (the server runs with --in-memory)")
            } else {
                if let Some((_, save_on_exit, _)) = &shared.persistence {
                    save_on_exit.store(has(b"save"), std::sync::atomic::Ordering::Relaxed);
                }
                return Action::Shutdown;
            }
        }
    };
    Action::Reply(reply)
}

fn watch_not_needed() -> Reply {
    err("WATCH is not needed in aotdb: a MULTI block runs on the single executor thread with nothing interleaved, \
         and any error rolls the whole block back; put reads that decide writes in the same MULTI block")
}

/// Inside MULTI: EXECUTE is queued; EXEC and DISCARD end the block.
fn in_multi(command: Command, session: &mut Session, reads_only: bool) -> Action {
    match command {
        Command::Execute { name, args } => {
            if let Some(queue) = session.multi.as_mut() {
                queue.push(QueuedExecute { name, args, read_only: reads_only });
            }
            Action::Reply(Reply::Simple("QUEUED"))
        }
        Command::Exec => {
            let queue = session.multi.take().unwrap_or_default();
            if std::mem::take(&mut session.multi_failed) {
                return Action::Reply(Reply::error("EXECABORT", "Transaction discarded because of previous errors."));
            }
            if queue.is_empty() {
                return Action::Reply(Reply::Array(Vec::new()));
            }
            Action::Execute(Request::Transaction(queue), Render::Plain)
        }
        Command::Discard => {
            session.multi = None;
            session.multi_failed = false;
            Action::Reply(Reply::ok())
        }
        Command::Multi => Action::Reply(err("MULTI calls can not be nested")),
        Command::Watch => Action::Reply(err("WATCH inside MULTI is not allowed")),
        other => {
            session.multi_failed = true;
            Action::Reply(err(format!(
                "only EXECUTE can be queued inside MULTI, not {}; the transaction will be discarded",
                other.stat_name().to_ascii_uppercase()
            )))
        }
    }
}

fn hello(
    session: &mut Session,
    shared: &Shared,
    protocol: Option<Bytes>,
    auth: Option<(Bytes, Bytes)>,
    setname: Option<Bytes>,
) -> Reply {
    let new_protocol = match protocol {
        None => session.protocol,
        Some(p) => match std::str::from_utf8(&p).ok().and_then(|s| s.parse::<i64>().ok()) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return Reply::error("NOPROTO", "unsupported protocol version"),
            None => return err("Protocol version is not an integer or out of range"),
        },
    };
    match &auth {
        Some((user, password)) => match shared.users.authenticate(user, password) {
            Some(u) => log_in(session, shared, Some(u)),
            None if !shared.users.password_required() && user.as_ref() == b"default" => {}
            None => {
                shared.stats.auth_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return auth::wrong_pass();
            }
        },
        None if session.user.is_none() => {
            return Reply::error(
                "NOAUTH",
                "HELLO must be called with the client already authenticated, otherwise the \
                 HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
                 select the RESP protocol version at the same time",
            )
        }
        None => {}
    }
    if let Some(name) = &setname {
        if let Err(e) = set_name(session, shared, name) {
            return e;
        }
    }
    session.protocol = new_protocol;
    let resp = if new_protocol == Protocol::Resp3 { 3 } else { 2 };
    shared.clients.update(session.id, |e| e.resp = resp);
    Reply::Map(vec![
        (Reply::bulk_str("server"), Reply::bulk_str("aotdb")),
        (Reply::bulk_str("version"), Reply::bulk_str(env!("CARGO_PKG_VERSION"))),
        (Reply::bulk_str("proto"), Reply::Int(resp as i64)),
        (Reply::bulk_str("id"), Reply::Int(session.id as i64)),
        (Reply::bulk_str("mode"), Reply::bulk_str("standalone")),
        (Reply::bulk_str("role"), Reply::bulk_str("master")),
        (Reply::bulk_str("modules"), Reply::Array(Vec::new())),
    ])
}

/// Makes `user` the session's user (`None`: not authenticated), as
/// CLIENT LIST shows it too.
pub fn log_in(session: &mut Session, shared: &Shared, user: Option<std::sync::Arc<auth::User>>) {
    let name = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    session.user = user;
    shared.clients.update(session.id, |e| e.user = name);
}

/// AUTH [user] password: becomes that user, or stays as it was.
fn authenticate(session: &mut Session, shared: &Shared, user: Option<&[u8]>, password: &[u8]) -> Reply {
    if !shared.users.password_required() {
        return match user {
            None => err("AUTH <password> called without any password configured for the default user. \
                         Are you sure your configuration is correct?"),
            Some(b"default") => Reply::ok(),
            Some(_) => auth::wrong_pass(),
        };
    }
    match shared.users.authenticate(user.unwrap_or(b"default"), password) {
        Some(u) => {
            log_in(session, shared, Some(u));
            Reply::ok()
        }
        None => {
            tracing::warn!(client = session.id, "authentication failed");
            shared.stats.auth_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            auth::wrong_pass()
        }
    }
}

fn set_name(session: &mut Session, shared: &Shared, name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(err("Client names cannot contain spaces, newlines or special characters."));
    }
    let name = String::from_utf8_lossy(name).into_owned();
    session.name = (!name.is_empty()).then(|| name.clone());
    shared.clients.update(session.id, |e| e.name = name);
    Ok(())
}

fn client(c: ClientCommand, session: &mut Session, shared: &Shared) -> Reply {
    match c {
        ClientCommand::SetName(name) => match set_name(session, shared, &name) {
            Ok(()) => Reply::ok(),
            Err(e) => e,
        },
        ClientCommand::GetName => match &session.name {
            Some(n) => Reply::bulk_str(n),
            None => Reply::Null,
        },
        ClientCommand::Id => Reply::Int(session.id as i64),
        ClientCommand::Info => match shared.clients.get(session.id) {
            Some(e) => Reply::Text(format!("{}\n", e.describe())),
            None => Reply::Null,
        },
        ClientCommand::List => {
            let text: String = shared.clients.list().iter().map(|e| format!("{}\n", e.describe())).collect();
            Reply::Text(text)
        }
        ClientCommand::SetInfo { attribute, value } => {
            let value_text = String::from_utf8_lossy(&value).into_owned();
            if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
                return err("lib-name and lib-ver cannot contain spaces, newlines or special characters.");
            }
            match attribute.to_ascii_lowercase().as_slice() {
                b"lib-name" => shared.clients.update(session.id, |e| e.lib_name = value_text),
                b"lib-ver" => shared.clients.update(session.id, |e| e.lib_ver = value_text),
                _ => return err(format!("Unrecognized option '{}'", String::from_utf8_lossy(&attribute))),
            }
            Reply::ok()
        }
        ClientCommand::Help => Reply::Array(
            [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "GETNAME",
                "ID",
                "INFO",
                "LIST",
                "SETNAME <name>",
                "SETINFO <LIB-NAME|LIB-VER> <value>",
            ]
            .iter()
            .map(|s| Reply::SimpleOwned((*s).to_string()))
            .collect(),
        ),
    }
}

fn command_command(c: CommandCommand) -> Reply {
    match c {
        CommandCommand::All => Reply::Array(COMMANDS.iter().map(command_table::info_reply).collect()),
        CommandCommand::Count => Reply::Int(COMMANDS.len() as i64),
        CommandCommand::List => Reply::Array(COMMANDS.iter().map(|c| Reply::bulk_str(c.name)).collect()),
        CommandCommand::Info(names) => {
            if names.is_empty() {
                return Reply::Array(COMMANDS.iter().map(command_table::info_reply).collect());
            }
            Reply::Array(
                names
                    .iter()
                    .map(|n| command_table::find(n).map(command_table::info_reply).unwrap_or(Reply::Null))
                    .collect(),
            )
        }
        CommandCommand::Docs(names) => {
            let selected: Vec<_> = if names.is_empty() {
                COMMANDS.iter().collect()
            } else {
                names.iter().filter_map(|n| command_table::find(n)).collect()
            };
            Reply::Map(selected.into_iter().map(|c| (Reply::bulk_str(c.name), command_table::docs_reply(c))).collect())
        }
        CommandCommand::Help => Reply::Array(
            ["COMMAND [COUNT|DOCS|INFO|LIST] ...", "Describes aotdb's commands."]
                .iter()
                .map(|s| Reply::SimpleOwned((*s).to_string()))
                .collect(),
        ),
    }
}

/// CONFIG GET with glob patterns over the settings a client may ask for.
fn config_get(patterns: &[Bytes], shared: &Shared) -> Reply {
    let c = &shared.config;
    let settings: Vec<(&str, String)> = vec![
        ("bind", c.bind.to_string()),
        ("port", shared.local_addr.port().to_string()),
        ("maxclients", c.max_clients.to_string()),
        ("proto-max-bulk-len", c.max_bulk_bytes.to_string()),
        ("client-query-buffer-limit", c.max_request_bytes.to_string()),
        ("databases", "1".into()),
        ("save", String::new()),
        ("appendonly", if c.in_memory { "no" } else { "yes" }.into()),
        ("appendfsync", c.fsync.name().into()),
        ("dir", if c.in_memory { String::new() } else { c.data_dir.display().to_string() }),
    ];
    let mut pairs = Vec::new();
    for (name, value) in &settings {
        if patterns.iter().any(|p| glob_match(&p.to_ascii_lowercase(), name.as_bytes())) {
            pairs.push((Reply::bulk_str(name), Reply::bulk_str(value)));
        }
    }
    Reply::Map(pairs)
}

/// `*` and `?` globbing, enough for CONFIG GET. Greedy with one
/// backtrack point, so a pattern full of stars stays linear.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globbing() {
        assert!(glob_match(b"*", b"port"));
        assert!(glob_match(b"max*", b"maxclients"));
        assert!(glob_match(b"p?rt", b"port"));
        assert!(!glob_match(b"bind", b"port"));
    }
}
