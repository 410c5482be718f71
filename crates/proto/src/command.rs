//! Commands: a request's arguments parsed into a typed command. Parsing
//! uses a cursor over the arguments and `finish()`, so extra arguments are
//! an error rather than silently ignored.

use bytes::Bytes;

use crate::error::CommandError;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Ping(Option<Bytes>),
    Echo(Bytes),
    Hello {
        protocol: Option<Bytes>,
        auth: Option<(Bytes, Bytes)>,
        setname: Option<Bytes>,
    },
    Auth {
        user: Option<Bytes>,
        password: Bytes,
    },
    Client(ClientCommand),
    Select(Bytes),
    Command(CommandCommand),
    Info(Vec<Bytes>),
    DbSize,
    Quit,
    Reset,
    ConfigGet(Vec<Bytes>),
    Execute {
        name: Bytes,
        args: Vec<Bytes>,
    },
    Prepare {
        name: Bytes,
        sql: Bytes,
    },
    Deallocate {
        name: Bytes,
    },
    Define {
        script: Bytes,
    },
    Explain {
        name: Bytes,
    },
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    Save,
    BgSave,
    Shutdown(Vec<Bytes>),
    /// FCALL / FCALL_RO function numkeys key... arg...
    FCall {
        function: Bytes,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
        read_only: bool,
    },
    Function(FunctionCommand),
    Acl(AclCommand),
}

/// ACL: users are defined at start (`--requirepass`, `--users`), so only
/// the questions are here.
#[derive(Debug, Clone, PartialEq)]
pub enum AclCommand {
    WhoAmI,
    Users,
    /// A subcommand that would change users at run time.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FunctionCommand {
    Load { code: Bytes, replace: bool },
    Delete(Bytes),
    Flush,
    List { pattern: Option<Bytes>, with_code: bool },
    Help,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    SetName(Bytes),
    GetName,
    Id,
    Info,
    List,
    SetInfo { attribute: Bytes, value: Bytes },
    Help,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandCommand {
    All,
    Count,
    Docs(Vec<Bytes>),
    Info(Vec<Bytes>),
    List,
    Help,
}

/// A cursor over a request's arguments.
struct Args {
    name: &'static str,
    rest: std::vec::IntoIter<Bytes>,
}

impl Args {
    fn next(&mut self) -> Result<Bytes, CommandError> {
        self.rest.next().ok_or_else(|| CommandError::WrongArity(self.name.into()))
    }

    fn optional(&mut self) -> Option<Bytes> {
        self.rest.next()
    }

    fn remaining(&mut self) -> Vec<Bytes> {
        self.rest.by_ref().collect()
    }

    fn finish(&mut self) -> Result<(), CommandError> {
        match self.rest.next() {
            None => Ok(()),
            Some(_) => Err(CommandError::WrongArity(self.name.into())),
        }
    }
}

/// Upper-cased command or subcommand name.
fn upper(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_ascii_uppercase()
}

/// Redis's description of an unknown command's arguments: each quoted,
/// at most 128 bytes each, only as many as fit.
fn describe_args(args: &[Bytes]) -> String {
    let mut out = String::new();
    for a in args {
        if out.len() > 128 {
            break;
        }
        let shown = String::from_utf8_lossy(&a[..a.len().min(128)]);
        out.push_str(&format!("'{shown}' "));
    }
    out
}

impl Command {
    /// Parses a non-empty request.
    pub fn parse(request: Vec<Bytes>) -> Result<Command, CommandError> {
        let mut iter = request.into_iter();
        let Some(first) = iter.next() else {
            return Err(CommandError::Syntax);
        };
        // Upper-cased into a stack buffer: no allocation per request.
        let mut buf = [0u8; 16];
        let name: &str = match first.len() {
            n if n <= buf.len() => {
                for (b, c) in buf.iter_mut().zip(first.iter()) {
                    *b = c.to_ascii_uppercase();
                }
                std::str::from_utf8(&buf[..n]).unwrap_or("")
            }
            _ => "",
        };
        let mut args = Args { name: lower_name(name), rest: iter };
        let command = match name {
            "PING" => {
                let msg = args.optional();
                args.finish()?;
                Command::Ping(msg)
            }
            "ECHO" => {
                let msg = args.next()?;
                args.finish()?;
                Command::Echo(msg)
            }
            "HELLO" => parse_hello(&mut args)?,
            "AUTH" => {
                let first = args.next()?;
                let second = args.optional();
                args.finish()?;
                match second {
                    Some(password) => Command::Auth { user: Some(first), password },
                    None => Command::Auth { user: None, password: first },
                }
            }
            "CLIENT" => Command::Client(parse_client(&mut args)?),
            "SELECT" => {
                let db = args.next()?;
                args.finish()?;
                Command::Select(db)
            }
            "COMMAND" => Command::Command(parse_command_command(&mut args)?),
            "INFO" => Command::Info(args.remaining()),
            "DBSIZE" => {
                args.finish()?;
                Command::DbSize
            }
            "QUIT" => Command::Quit,
            "RESET" => {
                args.finish()?;
                Command::Reset
            }
            "CONFIG" => {
                let sub = args.next()?;
                match upper(&sub).as_str() {
                    "GET" => {
                        let patterns = args.remaining();
                        if patterns.is_empty() {
                            return Err(CommandError::WrongArity("config|get".into()));
                        }
                        Command::ConfigGet(patterns)
                    }
                    _ => {
                        return Err(CommandError::UnknownSubcommand {
                            command: "CONFIG".into(),
                            sub: String::from_utf8_lossy(&sub).into_owned(),
                        })
                    }
                }
            }
            "ACL" => {
                let sub = args.next()?;
                let sub = upper(&sub);
                match sub.as_str() {
                    "WHOAMI" => {
                        args.finish()?;
                        Command::Acl(AclCommand::WhoAmI)
                    }
                    "USERS" => {
                        args.finish()?;
                        Command::Acl(AclCommand::Users)
                    }
                    _ => Command::Acl(AclCommand::Unsupported(sub)),
                }
            }
            "EXECUTE" => {
                // The hot path: no arity check beyond the name.
                let name = args.next()?;
                Command::Execute { name, args: args.remaining() }
            }
            "PREPARE" => {
                let name = args.next()?;
                let sql = args.next()?;
                args.finish()?;
                Command::Prepare { name, sql }
            }
            "DEALLOCATE" => {
                let name = args.next()?;
                args.finish()?;
                Command::Deallocate { name }
            }
            "DEFINE" => {
                let script = args.next()?;
                args.finish()?;
                Command::Define { script }
            }
            "EXPLAIN" => {
                let name = args.next()?;
                args.finish()?;
                Command::Explain { name }
            }
            "MULTI" => no_args(&mut args, Command::Multi)?,
            "EXEC" => no_args(&mut args, Command::Exec)?,
            "DISCARD" => no_args(&mut args, Command::Discard)?,
            "WATCH" => {
                if args.remaining().is_empty() {
                    return Err(CommandError::WrongArity("watch".into()));
                }
                Command::Watch
            }
            "UNWATCH" => no_args(&mut args, Command::Unwatch)?,
            "SAVE" => no_args(&mut args, Command::Save)?,
            "BGSAVE" => Command::BgSave,
            "SHUTDOWN" => Command::Shutdown(args.remaining()),
            "FCALL" | "FCALL_RO" => {
                let function = args.next()?;
                let n = args.next()?;
                let n: usize = std::str::from_utf8(&n)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| CommandError::Invalid("Bad number of keys provided".into()))?;
                let mut rest = args.remaining();
                if n > rest.len() {
                    return Err(CommandError::Invalid("Number of keys can't be greater than number of args".into()));
                }
                let args = rest.split_off(n);
                Command::FCall { function, keys: rest, args, read_only: name == "FCALL_RO" }
            }
            "FUNCTION" => Command::Function(parse_function(&mut args)?),
            _ => {
                let rest = args.remaining();
                return Err(CommandError::UnknownCommand {
                    name: String::from_utf8_lossy(&first[..first.len().min(128)]).into_owned(),
                    args: describe_args(&rest),
                });
            }
        };
        Ok(command)
    }

    /// The command's name as INFO's command statistics count it.
    pub fn stat_name(&self) -> &'static str {
        match self {
            Command::Ping(_) => "ping",
            Command::Echo(_) => "echo",
            Command::Hello { .. } => "hello",
            Command::Auth { .. } => "auth",
            Command::Client(_) => "client",
            Command::Select(_) => "select",
            Command::Command(_) => "command",
            Command::Info(_) => "info",
            Command::DbSize => "dbsize",
            Command::Quit => "quit",
            Command::Reset => "reset",
            Command::ConfigGet(_) => "config",
            Command::Execute { .. } => "execute",
            Command::Prepare { .. } => "prepare",
            Command::Deallocate { .. } => "deallocate",
            Command::Define { .. } => "define",
            Command::Explain { .. } => "explain",
            Command::Multi => "multi",
            Command::Exec => "exec",
            Command::Discard => "discard",
            Command::Watch => "watch",
            Command::Unwatch => "unwatch",
            Command::Save => "save",
            Command::BgSave => "bgsave",
            Command::Shutdown(_) => "shutdown",
            Command::FCall { read_only: false, .. } => "fcall",
            Command::FCall { read_only: true, .. } => "fcall_ro",
            Command::Function(_) => "function",
            Command::Acl(_) => "acl",
        }
    }
}

/// The lower-case name of a known command, for arity errors.
fn lower_name(upper: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "ping",
        "echo",
        "hello",
        "auth",
        "client",
        "select",
        "command",
        "info",
        "dbsize",
        "quit",
        "reset",
        "config",
        "acl",
        "execute",
        "prepare",
        "deallocate",
        "define",
        "explain",
        "multi",
        "exec",
        "discard",
        "watch",
        "unwatch",
        "save",
        "bgsave",
        "shutdown",
        "fcall",
        "fcall_ro",
        "function",
    ];
    NAMES.iter().find(|n| n.eq_ignore_ascii_case(upper)).copied().unwrap_or("unknown")
}

fn no_args(args: &mut Args, command: Command) -> Result<Command, CommandError> {
    args.finish()?;
    Ok(command)
}

fn parse_function(args: &mut Args) -> Result<FunctionCommand, CommandError> {
    let sub = args.next()?;
    let arity = |name: &str| CommandError::WrongArity(format!("function|{name}"));
    Ok(match upper(&sub).as_str() {
        "LOAD" => {
            let first = args.next().map_err(|_| arity("load"))?;
            if first.eq_ignore_ascii_case(b"replace") {
                let code = args.next().map_err(|_| arity("load"))?;
                args.finish().map_err(|_| arity("load"))?;
                FunctionCommand::Load { code, replace: true }
            } else {
                args.finish().map_err(|_| arity("load"))?;
                FunctionCommand::Load { code: first, replace: false }
            }
        }
        "DELETE" => {
            let name = args.next().map_err(|_| arity("delete"))?;
            args.finish().map_err(|_| arity("delete"))?;
            FunctionCommand::Delete(name)
        }
        "FLUSH" => {
            // ASYNC and SYNC are the same here.
            if let Some(mode) = args.optional() {
                if !mode.eq_ignore_ascii_case(b"async") && !mode.eq_ignore_ascii_case(b"sync") {
                    return Err(CommandError::Syntax);
                }
            }
            args.finish().map_err(|_| arity("flush"))?;
            FunctionCommand::Flush
        }
        "LIST" => {
            let mut pattern = None;
            let mut with_code = false;
            while let Some(option) = args.optional() {
                match upper(&option).as_str() {
                    "WITHCODE" => with_code = true,
                    "LIBRARYNAME" => pattern = Some(args.next()?),
                    _ => return Err(CommandError::Syntax),
                }
            }
            FunctionCommand::List { pattern, with_code }
        }
        "HELP" => FunctionCommand::Help,
        _ => {
            return Err(CommandError::UnknownSubcommand {
                command: "FUNCTION".into(),
                sub: String::from_utf8_lossy(&sub).into_owned(),
            })
        }
    })
}

fn parse_hello(args: &mut Args) -> Result<Command, CommandError> {
    let protocol = args.optional();
    let mut auth = None;
    let mut setname = None;
    if protocol.is_some() {
        while let Some(option) = args.optional() {
            match upper(&option).as_str() {
                "AUTH" => {
                    let user = args.next()?;
                    let pass = args.next()?;
                    auth = Some((user, pass));
                }
                "SETNAME" => setname = Some(args.next()?),
                _ => {
                    return Err(CommandError::Invalid(format!(
                        "Syntax error in HELLO option '{}'",
                        String::from_utf8_lossy(&option)
                    )))
                }
            }
        }
    }
    Ok(Command::Hello { protocol, auth, setname })
}

fn parse_client(args: &mut Args) -> Result<ClientCommand, CommandError> {
    let sub = args.next()?;
    let sub_name = upper(&sub);
    let arity = |name: &str| CommandError::WrongArity(format!("client|{}", name.to_ascii_lowercase()));
    let cmd = match sub_name.as_str() {
        "SETNAME" => {
            let name = args.next().map_err(|_| arity("setname"))?;
            args.finish().map_err(|_| arity("setname"))?;
            ClientCommand::SetName(name)
        }
        "GETNAME" => {
            args.finish().map_err(|_| arity("getname"))?;
            ClientCommand::GetName
        }
        "ID" => {
            args.finish().map_err(|_| arity("id"))?;
            ClientCommand::Id
        }
        "INFO" => {
            args.finish().map_err(|_| arity("info"))?;
            ClientCommand::Info
        }
        "LIST" => {
            // Filters (TYPE, ID) are accepted and ignored only when they
            // cannot change the answer: aotdb has only normal clients.
            ClientCommand::List
        }
        "SETINFO" => {
            let attribute = args.next().map_err(|_| arity("setinfo"))?;
            let value = args.next().map_err(|_| arity("setinfo"))?;
            args.finish().map_err(|_| arity("setinfo"))?;
            ClientCommand::SetInfo { attribute, value }
        }
        "HELP" => ClientCommand::Help,
        _ => {
            return Err(CommandError::UnknownSubcommand {
                command: "CLIENT".into(),
                sub: String::from_utf8_lossy(&sub).into_owned(),
            })
        }
    };
    Ok(cmd)
}

fn parse_command_command(args: &mut Args) -> Result<CommandCommand, CommandError> {
    let Some(sub) = args.optional() else {
        return Ok(CommandCommand::All);
    };
    Ok(match upper(&sub).as_str() {
        "COUNT" => {
            args.finish()?;
            CommandCommand::Count
        }
        "DOCS" => CommandCommand::Docs(args.remaining()),
        "INFO" => CommandCommand::Info(args.remaining()),
        "LIST" => CommandCommand::List,
        "HELP" => CommandCommand::Help,
        _ => {
            return Err(CommandError::UnknownSubcommand {
                command: "COMMAND".into(),
                sub: String::from_utf8_lossy(&sub).into_owned(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Command, CommandError> {
        Command::parse(words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect())
    }

    #[test]
    fn names_are_case_insensitive_and_arity_is_checked() {
        assert_eq!(parse(&["ping"]), Ok(Command::Ping(None)));
        assert_eq!(parse(&["PING", "a", "b"]), Err(CommandError::WrongArity("ping".into())));
        assert!(matches!(parse(&["execute", "q", "1", "2"]), Ok(Command::Execute { args, .. }) if args.len() == 2));
        assert_eq!(parse(&["EXPLAIN"]), Err(CommandError::WrongArity("explain".into())));
    }

    #[test]
    fn unknown_commands_use_redis_wording() {
        let err = parse(&["FLY", "me", "to"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown command 'FLY', with args beginning with: 'me' 'to' ");
    }

    #[test]
    fn hello_options() {
        let cmd = parse(&["HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"]).unwrap();
        let Command::Hello { protocol, auth, setname } = cmd else { panic!() };
        assert_eq!(protocol.as_deref(), Some(&b"3"[..]));
        assert!(auth.is_some() && setname.is_some());
        assert!(parse(&["HELLO", "3", "BOGUS"]).is_err());
    }
}
