//! The baseline for `bench/lambda-cold-start.sh`: a hello-world `lambda_http` function with the
//! same runtime flavour (current-thread tokio) and the same release profile as `bootstrap`.

use lambda_http::{service_fn, Body, Error, Request, Response};

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_http::run(service_fn(|_request: Request| async {
            Ok::<_, Error>(Response::new(Body::Text("hello".into())))
        })))
}
