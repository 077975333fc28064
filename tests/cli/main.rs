//! The `mcptop` binary end to end: each command driven as a user or a script drives it,
//! against the real daemon on 127.0.0.1 port 0, and as a hostile server, repository or
//! local user would try it. One test binary, so the dependencies are linked once.

#[path = "../common/mod.rs"]
mod common;

mod cli_check;
mod cli_export;
mod cli_extras;
mod cli_hook;
mod cli_serve;
mod cli_setup;
mod cli_sse_dump;
mod cli_tail;
mod cli_tap;
mod faults;
mod hostile;
mod security;
