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
    if let Err(error) =
        b24_stock_gateway::native::environment::refuse_unknown_variables(&Default::default())
    {
        eprintln!("bootstrap: {error}");
        return ExitCode::from(2);
    }
    let lookup = match b24_stock_gateway::native::environment::with_stores_file(|name: &str| {
        std::env::var(name).ok()
    }) {
        Ok(lookup) => lookup,
        Err(error) => {
            eprintln!("bootstrap: {error}");
            return ExitCode::from(2);
        }
    };
    let sweeping = std::env::var(lambda::ROLE_VAR).is_ok_and(|role| role.trim() == "sweep");
    if sweeping {
        return sweeper(&lookup);
    }
    let gateway = match lambda::gateway_from_lookup(&lookup) {
        Ok(gateway) => gateway,
        Err(error) => {
            // Names the variable, never a value.
            eprintln!("bootstrap: {error}");
            return ExitCode::from(2);
        }
    };
    // Classic Lambda: one invocation at a time, so a current-thread runtime is enough and starts
    // faster than a thread pool. Managed instances (AWS_LAMBDA_MAX_CONCURRENCY > 1): invocations
    // run as tasks on a thread per vCPU, so one slow portal call or a burst of hits does not
    // hold up the others.
    let concurrency = lambda::max_concurrency(|name| std::env::var(name).ok());
    let mut builder = if concurrency > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bootstrap: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(lambda::run(gateway, concurrency)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bootstrap: the Lambda runtime stopped: {error}");
            ExitCode::from(1)
        }
    }
}

/// `STOCK_LAMBDA_ROLE=sweep`: the mirror's one sweeper, invoked on a schedule.
fn sweeper(lookup: &impl Fn(&str) -> Option<String>) -> ExitCode {
    let sweeper = match lambda::sweeper_from_lookup(lookup) {
        Ok(sweeper) => sweeper,
        Err(error) => {
            eprintln!("bootstrap: {error}");
            return ExitCode::from(2);
        }
    };
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
    match runtime.block_on(lambda::run_sweeper(sweeper)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bootstrap: the Lambda runtime stopped: {error}");
            ExitCode::from(1)
        }
    }
}
