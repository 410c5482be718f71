//! One client connection: read whatever bytes arrived, frame every
//! complete request in them, answer local commands in place and send the
//! rest to the executor as one batch, then write all replies in request
//! order. Pipelined requests thus cost one executor round trip per read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aotdb_proto::{encode, next_request, Command, Protocol, Reply, RespWriter};
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::error::{command_error_reply, exec_error_reply};
use crate::executor::{Outcome, Request, Response};
use crate::local::{dispatch, log_in, Action, Render};
use crate::replies::{explain_reply, outcome_reply};
use crate::server::Shared;
use crate::session::Session;

/// A reply slot, in request order.
enum Slot {
    Ready { reply: Reply, protocol: Protocol, command: &'static str },
    Pending { index: usize, render: Render, protocol: Protocol, command: &'static str },
}

const READ_CHUNK: usize = 16 * 1024;

pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    id: u64,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut session = Session::new(id);
    log_in(&mut session, &shared, shared.users.initial());
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut output = BytesMut::with_capacity(READ_CHUNK);
    tracing::debug!(client = id, %peer, "connected");
    let idle = (shared.config.timeout > 0).then(|| Duration::from_secs(shared.config.timeout));
    let write_timeout = Duration::from_secs(shared.config.client_write_timeout.max(1));
    let output_limit = shared.config.client_output_buffer_limit;
    loop {
        input.reserve(READ_CHUNK);
        let read = tokio::select! {
            r = read_or_idle(&mut stream, &mut input, idle) => r,
            _ = shutdown.changed() => break,
        };
        match read {
            Some(Ok(0)) | Some(Err(_)) => break,
            Some(Ok(_)) => {}
            None => {
                tracing::debug!(client = id, "idle timeout: closing");
                shared.stats.limit_disconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                break;
            }
        }
        let close = handle_input(&mut input, &mut output, &mut session, &shared).await;
        if output_limit > 0 && output.len() > output_limit {
            tracing::warn!(
                client = id,
                bytes = output.len(),
                limit = output_limit,
                "replies exceed --client-output-buffer-limit: closing the connection"
            );
            shared.stats.limit_disconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            break;
        }
        if !output.is_empty() {
            match tokio::time::timeout(write_timeout, stream.write_all(&output)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::warn!(client = id, "client took no replies for --client-write-timeout: closing");
                    shared.stats.limit_disconnects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
            }
            output.clear();
        }
        if close {
            break;
        }
        // Give back memory a large request or reply took.
        if input.capacity() > 4 * 1024 * 1024 && input.is_empty() {
            input = BytesMut::with_capacity(READ_CHUNK);
        }
        if output.capacity() > 4 * 1024 * 1024 {
            output = BytesMut::with_capacity(READ_CHUNK);
        }
    }
    tracing::debug!(client = id, "disconnected");
}

/// Reads what arrived; `None` when nothing came for `idle`.
async fn read_or_idle<S: AsyncRead + Unpin>(
    stream: &mut S,
    input: &mut BytesMut,
    idle: Option<Duration>,
) -> Option<std::io::Result<usize>> {
    match idle {
        None => Some(stream.read_buf(input).await),
        Some(limit) => tokio::time::timeout(limit, stream.read_buf(input)).await.ok(),
    }
}

/// Answers every complete request in `input`; returns whether the
/// connection should close afterwards.
async fn handle_input(input: &mut BytesMut, output: &mut BytesMut, session: &mut Session, shared: &Shared) -> bool {
    let mut slots: Vec<Slot> = Vec::new();
    let mut requests: Vec<Request> = Vec::new();
    let mut close = false;
    let mut protocol_error = None;
    let mut shutdown = false;
    loop {
        let args = match next_request(input, &shared.limits) {
            Ok(Some(args)) => args,
            Ok(None) => break,
            Err(e) => {
                shared.stats.protocol_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                protocol_error = Some(Reply::error("ERR", e));
                break;
            }
        };
        if args.is_empty() {
            continue;
        }
        let command = match Command::parse(args) {
            Ok(c) => c,
            Err(e) => {
                if session.multi.is_some() {
                    session.multi_failed = true;
                }
                slots.push(Slot::Ready {
                    reply: command_error_reply(&e),
                    protocol: session.protocol,
                    command: "unknown",
                });
                continue;
            }
        };
        let name = command.stat_name();
        match dispatch(command, session, shared) {
            Action::Reply(reply) => slots.push(Slot::Ready { reply, protocol: session.protocol, command: name }),
            Action::Execute(request, render) => {
                slots.push(Slot::Pending { index: requests.len(), render, protocol: session.protocol, command: name });
                requests.push(request);
            }
            Action::ReplyAndClose(reply) => {
                slots.push(Slot::Ready { reply, protocol: session.protocol, command: name });
                close = true;
                break;
            }
            Action::Shutdown => {
                shared.stats.record(name, false);
                shutdown = true;
                close = true;
                break;
            }
        }
    }

    let mut outcomes: Vec<Option<Outcome>> = if requests.is_empty() {
        Vec::new()
    } else {
        let reply = shared.executor.run(requests).await;
        let mut outcomes = reply.outcomes;
        if let (Some(seq), Some(durability)) = (reply.wait_for, &shared.durability) {
            if let Err(why) = durability.wait(seq).await {
                for (o, logged) in outcomes.iter_mut().zip(&reply.logged) {
                    if *logged {
                        *o = Err(crate::error::ExecError::NotDurable(why.clone()));
                    }
                }
            }
        }
        outcomes.into_iter().map(Some).collect()
    };
    let mut last_command = None;
    for slot in slots {
        let (reply, protocol, command) = match slot {
            Slot::Ready { reply, protocol, command } => (reply, protocol, command),
            Slot::Pending { index, render, protocol, command } => {
                let outcome = outcomes.get_mut(index).and_then(Option::take);
                // Rows go straight into the buffer, without a reply tree.
                match outcome {
                    Some(Ok(Response::Statement(o))) => {
                        write_outcome(&o, &mut RespWriter::new(output, protocol));
                        shared.stats.record(command, false);
                        last_command = Some(command);
                        continue;
                    }
                    Some(Ok(Response::Transaction(results))) => {
                        let mut w = RespWriter::new(output, protocol);
                        w.array(results.len());
                        for o in &results {
                            write_outcome(o, &mut w);
                        }
                        shared.stats.record(command, false);
                        last_command = Some(command);
                        continue;
                    }
                    other => (render_outcome(other, render, shared), protocol, command),
                }
            }
        };
        shared.stats.record(command, reply.is_error());
        last_command = Some(command);
        encode(&reply, protocol, output);
    }
    if let Some(command) = last_command {
        let now = Instant::now();
        let in_multi = session.multi.is_some();
        shared.clients.update(session.id, |e| {
            e.last_command = command;
            e.last_command_at = now;
            e.in_multi = in_multi;
        });
    }
    if let Some(reply) = protocol_error {
        // After a framing error the position in the stream is lost: answer
        // and close, as Redis does.
        encode(&reply, session.protocol, output);
        close = true;
    }
    if shutdown {
        tracing::info!(client = session.id, "SHUTDOWN requested");
        shared.request_shutdown();
    }
    close
}

fn write_outcome(o: &aotdb_storage::Outcome, w: &mut RespWriter<'_>) {
    match o {
        aotdb_storage::Outcome::Count(n) => w.int(i64::try_from(*n).unwrap_or(i64::MAX)),
        aotdb_storage::Outcome::Rows(rows) => {
            w.array(rows.len());
            for row in rows {
                w.array(row.len());
                for v in row {
                    write_value(v, w);
                }
            }
        }
    }
}

fn write_value(v: &aotdb_planner::Value, w: &mut RespWriter<'_>) {
    use aotdb_planner::Value;
    match v {
        Value::Null => w.null(),
        Value::Bool(b) => w.bool(*b),
        Value::Int(i) => w.int(*i),
        Value::Float(x) => w.double(*x),
        Value::Text(s) => w.bulk(s.as_bytes()),
        Value::Bytes(b) => w.bulk(b),
        Value::Timestamp(_) => w.bulk(v.to_pg_text().as_bytes()),
    }
}

fn render_outcome(outcome: Option<Outcome>, render: Render, shared: &Shared) -> Reply {
    let Some(outcome) = outcome else {
        return Reply::error("INTERNAL", "no reply from the executor");
    };
    match outcome {
        Err(e) => exec_error_reply(&e),
        Ok(Response::Statement(o)) => outcome_reply(&o),
        Ok(Response::Transaction(results)) => Reply::Array(results.iter().map(outcome_reply).collect()),
        Ok(Response::Ok) => Reply::ok(),
        Ok(Response::Status(s)) => Reply::Simple(s),
        Ok(Response::Reply(r)) => r,
        Ok(Response::Explain(e)) => explain_reply(&e),
        Ok(Response::DbSize(n)) => Reply::Int(n as i64),
        Ok(Response::Info(info)) => match render {
            Render::Info(sections) => Reply::Text(crate::info::render(shared, &info, &sections)),
            Render::Plain => Reply::Text(crate::info::render(shared, &info, &["tables"])),
        },
    }
}
