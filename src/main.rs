//! Why this exists: the `dyndns` binary's entry point; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    dyndns::cli::main()
}
