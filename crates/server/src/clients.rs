//! The registry of connected clients, for CLIENT LIST/INFO and INFO's
//! clients section.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ClientEntry {
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub connected_at: Instant,
    pub last_command_at: Instant,
    pub last_command: &'static str,
    pub resp: u8,
    pub in_multi: bool,
    /// The authenticated user; empty before AUTH.
    pub user: String,
}

impl ClientEntry {
    /// One line in Redis's CLIENT LIST format.
    pub fn describe(&self) -> String {
        let now = Instant::now();
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db=0 sub=0 psub=0 ssub=0 multi={} watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.local_addr,
            self.name,
            now.duration_since(self.connected_at).as_secs(),
            now.duration_since(self.last_command_at).as_secs(),
            if self.in_multi { "x" } else { "N" },
            if self.in_multi { 0 } else { -1 },
            self.last_command,
            self.user,
            self.resp,
            self.lib_name,
            self.lib_ver,
        )
    }
}

#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    entries: Mutex<BTreeMap<u64, ClientEntry>>,
}

impl Clients {
    pub fn new() -> Clients {
        Clients { next_id: AtomicU64::new(1), entries: Mutex::new(BTreeMap::new()) }
    }

    /// Registers a client; fails (returning `None`) past `max`.
    pub fn register(&self, addr: SocketAddr, local_addr: SocketAddr, max: usize) -> Option<u64> {
        let mut entries = self.lock();
        if entries.len() >= max {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        entries.insert(
            id,
            ClientEntry {
                id,
                addr,
                local_addr,
                name: String::new(),
                lib_name: String::new(),
                lib_ver: String::new(),
                connected_at: now,
                last_command_at: now,
                last_command: "NULL",
                resp: 2,
                in_multi: false,
                user: String::new(),
            },
        );
        Some(id)
    }

    pub fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub fn update(&self, id: u64, f: impl FnOnce(&mut ClientEntry)) {
        if let Some(e) = self.lock().get_mut(&id) {
            f(e);
        }
    }

    pub fn get(&self, id: u64) -> Option<ClientEntry> {
        self.lock().get(&id).cloned()
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    pub fn list(&self) -> Vec<ClientEntry> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ClientEntry>> {
        // A panic while holding this lock cannot leave the map half
        // updated (each update is one insert/remove/field write), so a
        // poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
