//! Why this exists: the `dyndns-notify` binary; everything it does is in the library.

fn main() -> std::process::ExitCode {
    dyndns_notify::cli::main()
}
