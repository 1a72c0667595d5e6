//! AWS Lambda entry point (`provided.al2023`): `cargo lambda build --release --arm64`.
//!
//! Init does only what cannot wait: read the settings, set up logging, start the runtime
//! client. The HTTP client and the secret wait for the first call that needs them.

use std::process::ExitCode;

use b24_stock_gateway::lambda;

fn main() -> ExitCode {
    match lambda::logging::filter(|name| std::env::var(name).ok()) {
        Ok(filter) => lambda::logging::init(filter),
        Err(error) => {
            eprintln!("bootstrap: {error}");
            return ExitCode::from(2);
        }
    }
    let gateway = match lambda::gateway_from_lookup(|name| std::env::var(name).ok()) {
        Ok(gateway) => gateway,
        Err(error) => {
            // Names the variable, never a value.
            eprintln!("bootstrap: {error}");
            return ExitCode::from(2);
        }
    };
    // One invocation at a time per execution environment: a current-thread runtime is enough
    // and starts faster than a thread pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bootstrap: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(lambda::run(gateway)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bootstrap: the Lambda runtime stopped: {error}");
            ExitCode::from(1)
        }
    }
}
