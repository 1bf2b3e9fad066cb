//! One module per subcommand; each exposes its clap `Args` and a `run` function.

pub mod check;
pub mod compile;
pub mod extract;
pub mod fill;
pub mod generate;
pub mod init;
pub mod mask_stats;
pub mod serve;

/// Exit code for unusable arguments or input that stops the whole command (clap uses 2 as well).
pub const EXIT_USAGE: u8 = 2;
