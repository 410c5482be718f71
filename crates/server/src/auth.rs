//! Who may connect, and what each user may run.
//!
//! Without `--requirepass` or `--users` every connection is the `default`
//! user with every right, as in Redis. With them, a connection must AUTH
//! (or HELLO ... AUTH) before anything but AUTH, HELLO, QUIT and RESET,
//! and each user's role decides which commands and statements it may run.
//!
//! Passwords are kept and compared as SHA-256 digests, in constant time,
//! and never logged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aotdb_proto::{AclCommand, ClientCommand, Command, FunctionCommand, Reply};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a user may do.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Everything, including DEFINE, PREPARE, DEALLOCATE, FUNCTION LOAD,
    /// SAVE, SHUTDOWN, CONFIG GET and CLIENT LIST.
    Admin,
    /// Every registered statement and function, but no catalog, function
    /// library or server-control commands.
    ReadWrite,
    /// Only statements that read (a write is refused with NOPERM);
    /// functions run as FCALL_RO.
    ReadOnly,
    /// Only the named statements and functions.
    Named(Vec<String>),
}

#[derive(Debug)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// `None`: no password (only the built-in open default user).
    digest: Option<[u8; 32]>,
}

impl User {
    /// May this user run the statement or function `name` (as the client
    /// spelled it; names fold to lower case)? Checked on every EXECUTE,
    /// so only a named-statements user pays for a comparison.
    fn may_run(&self, name: &[u8]) -> bool {
        match &self.role {
            Role::Admin | Role::ReadWrite | Role::ReadOnly => true,
            Role::Named(names) => names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name)),
        }
    }

    /// Must the statements this user runs be reads?
    pub fn reads_only(&self) -> bool {
        self.role == Role::ReadOnly
    }
}

/// The users of a server.
#[derive(Debug)]
pub struct Users {
    users: HashMap<String, Arc<User>>,
    /// The user every connection starts as when no password is needed.
    open: Option<Arc<User>>,
}

fn digest(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

impl Users {
    /// From `--requirepass` (the `default` user's password, role admin)
    /// and `--users` (a file of users).
    pub fn configure(requirepass: Option<&str>, users_file: Option<&Path>) -> Result<Users, String> {
        let mut users = HashMap::new();
        if let Some(path) = users_file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("users file {}: {e}", path.display()))?;
            for user in parse_users(&text).map_err(|e| format!("users file {}: {e}", path.display()))? {
                users.insert(user.name.clone(), Arc::new(user));
            }
        }
        if let Some(password) = requirepass {
            if password.is_empty() {
                return Err("--requirepass must not be empty".into());
            }
            let default = User { name: "default".into(), role: Role::Admin, digest: Some(digest(password.as_bytes())) };
            users.insert(default.name.clone(), Arc::new(default));
        }
        let open = users.is_empty().then(|| Arc::new(User { name: "default".into(), role: Role::Admin, digest: None }));
        Ok(Users { users, open })
    }

    /// The user a new connection is, or `None` if it must authenticate.
    pub fn initial(&self) -> Option<Arc<User>> {
        self.open.clone()
    }

    pub fn password_required(&self) -> bool {
        self.open.is_none()
    }

    /// Checks a user name and password. Every check costs the same
    /// whether the user exists or not.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        let given = digest(password);
        let name = std::str::from_utf8(name).ok()?;
        let user = self.users.get(name);
        let expected = user.and_then(|u| u.digest).unwrap_or([0u8; 32]);
        let matches: bool = given.ct_eq(&expected).into();
        match user {
            Some(u) if matches && u.digest.is_some() => Some(u.clone()),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Every user's name, sorted (the open default user when no password
    /// is needed).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.users.keys().cloned().collect();
        if let Some(open) = &self.open {
            names.push(open.name.clone());
        }
        names.sort();
        names
    }
}

/// The users file: one user per line, `#` starts a comment.
///
/// ```text
/// # name     password       role        [statement or function ...]
/// admin      s3cret         admin
/// app        app-pass       readwrite
/// reports    sha256:9f86... readonly
/// payer      payer-pass     statements  record_payment account_by_id
/// ```
///
/// A password may be given as `sha256:` and the hex digest of the
/// password, so the file need not hold it in the clear.
pub fn parse_users(text: &str) -> Result<Vec<User>, String> {
    let mut users: Vec<User> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |m: String| format!("line {}: {m}", number + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        let [name, password, role, rest @ ..] = words.as_slice() else {
            return Err(at("expected: name password role [statement ...]".into()));
        };
        if !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(at(format!("user name {name:?} has characters other than printable ASCII")));
        }
        if users.iter().any(|u| u.name == *name) {
            return Err(at(format!("user {name} is listed twice")));
        }
        let digest = match password.strip_prefix("sha256:") {
            Some(hex) => parse_hex_digest(hex).ok_or_else(|| at("sha256: must be followed by 64 hex digits".into()))?,
            None => digest(password.as_bytes()),
        };
        let role = match (role.to_ascii_lowercase().as_str(), rest) {
            ("admin", []) => Role::Admin,
            ("readwrite", []) => Role::ReadWrite,
            ("readonly", []) => Role::ReadOnly,
            ("statements", names) if !names.is_empty() => Role::Named(names.iter().map(|n| n.to_lowercase()).collect()),
            ("statements", _) => return Err(at("role statements needs the statement or function names".into())),
            ("admin" | "readwrite" | "readonly", _) => {
                return Err(at(format!("role {role} takes no statement names (use role statements)")))
            }
            (other, _) => return Err(at(format!("unknown role {other:?}: admin, readwrite, readonly or statements"))),
        };
        users.push(User { name: name.to_string(), role, digest: Some(digest) });
    }
    Ok(users)
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The reply for a command run before authenticating.
pub fn no_auth() -> Reply {
    Reply::error("NOAUTH", "Authentication required.")
}

/// The reply for a wrong user name or password.
pub fn wrong_pass() -> Reply {
    Reply::error("WRONGPASS", "invalid username-password pair or user is disabled.")
}

fn no_perm(user: &User, what: &str) -> Reply {
    Reply::error("NOPERM", format!("User {} has no permissions to run {what}", user.name))
}

fn no_perm_on(user: &User, kind: &str, name: &[u8]) -> Reply {
    no_perm(user, &format!("the {kind} '{}'", String::from_utf8_lossy(name).to_lowercase()))
}

/// Commands anyone may send before authenticating.
pub fn allowed_before_auth(command: &Command) -> bool {
    matches!(command, Command::Auth { .. } | Command::Hello { .. } | Command::Quit | Command::Reset)
}

/// May `user` run `command`? Statement kinds (read or write) are checked
/// by the executor for read-only users.
pub fn check(user: &User, command: &Command) -> Result<(), Reply> {
    if user.role == Role::Admin {
        return Ok(());
    }
    let admin_only = |what: &str| Err(no_perm(user, &format!("the '{what}' command")));
    match command {
        Command::Prepare { .. } => admin_only("prepare"),
        Command::Deallocate { .. } => admin_only("deallocate"),
        Command::Define { .. } => admin_only("define"),
        Command::Save => admin_only("save"),
        Command::BgSave => admin_only("bgsave"),
        Command::Shutdown(_) => admin_only("shutdown"),
        Command::ConfigGet(_) => admin_only("config|get"),
        Command::Client(ClientCommand::List) => admin_only("client|list"),
        Command::Function(FunctionCommand::Load { .. }) => admin_only("function|load"),
        Command::Function(FunctionCommand::Delete(_)) => admin_only("function|delete"),
        Command::Function(FunctionCommand::Flush) => admin_only("function|flush"),
        Command::Acl(AclCommand::Users) => admin_only("acl|users"),
        Command::Execute { name, .. } if !user.may_run(name) => Err(no_perm_on(user, "statement", name)),
        Command::FCall { function, .. } if !user.may_run(function) => Err(no_perm_on(user, "function", function)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_file_parses_roles_and_digests() {
        let text = "# users\nadmin a-pass admin\napp p readwrite # comment\n\
                    r sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 readonly\n\
                    payer x statements Record_Payment account_by_id\n";
        let users = parse_users(text).unwrap();
        assert_eq!(users.len(), 4);
        assert_eq!(users[3].role, Role::Named(vec!["record_payment".into(), "account_by_id".into()]));
        // sha256("test")
        assert_eq!(users[2].digest, Some(digest(b"test")));
        for bad in ["x y", "a b boss", "a b statements", "a b admin extra", "a b admin\na c admin", "a sha256:zz admin"]
        {
            assert!(parse_users(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authentication_needs_the_right_name_and_password() {
        let dir = std::env::temp_dir().join(format!("aotdb-users-{}", std::process::id()));
        std::fs::write(&dir, "app secret readwrite\n").unwrap();
        let users = Users::configure(Some("root-pass"), Some(&dir)).unwrap();
        let _ = std::fs::remove_file(&dir);
        assert!(users.password_required());
        assert!(users.initial().is_none());
        assert_eq!(users.authenticate(b"app", b"secret").map(|u| u.name.clone()), Some("app".into()));
        assert!(users.authenticate(b"app", b"Secret").is_none());
        assert!(users.authenticate(b"nobody", b"secret").is_none());
        assert_eq!(users.authenticate(b"default", b"root-pass").map(|u| u.role.clone()), Some(Role::Admin));
        let open = Users::configure(None, None).unwrap();
        assert!(!open.password_required());
        assert!(open.authenticate(b"default", b"").is_none());
    }

    #[test]
    fn roles_limit_commands() {
        let user = |role| User { name: "u".into(), role, digest: None };
        let exec = |n: &str| Command::Execute { name: bytes::Bytes::from(n.to_string()), args: vec![] };
        let define = Command::Define { script: bytes::Bytes::from_static(b"") };
        assert!(check(&user(Role::Admin), &define).is_ok());
        assert!(check(&user(Role::ReadWrite), &define).is_err());
        assert!(check(&user(Role::ReadWrite), &exec("anything")).is_ok());
        let named = user(Role::Named(vec!["account_by_id".into()]));
        assert!(check(&named, &exec("ACCOUNT_BY_ID")).is_ok());
        let refused = check(&named, &exec("record_payment")).unwrap_err();
        assert!(matches!(refused, Reply::Error(ref e) if e.starts_with("NOPERM")), "{refused:?}");
    }
}
