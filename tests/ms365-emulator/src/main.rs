//! `ms365-emulator`: see `--help` and the crate README.

use ms365_emulator::cli::{self, Command};

#[tokio::main]
async fn main() {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ms365-emulator: {e}\n\n{}", cli::USAGE);
            std::process::exit(2);
        }
    };
    match command {
        Command::Help => println!("{}", cli::USAGE),
        Command::PrintFixture => match serde_json::to_string_pretty(&ms365_emulator::fixture::Fixture::builtin()) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("ms365-emulator: {e}");
                std::process::exit(1);
            }
        },
        Command::Run(opts) => {
            if let Err(e) = ms365_emulator::server::run(opts).await {
                eprintln!("ms365-emulator: {e}");
                std::process::exit(1);
            }
        }
    }
}
