//! AWS Lambda entry point (placeholder until the Lambda adapter lands).

fn main() {
    eprintln!("the Lambda adapter is not built yet");
    std::process::exit(1);
}
