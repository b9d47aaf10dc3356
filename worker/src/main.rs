//! Why this exists: the `dyndns-worker` binary's entry point; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    dyndns_worker::cli::main()
}
