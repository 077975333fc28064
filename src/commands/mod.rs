//! One module per subcommand.

pub mod sse_dump;
