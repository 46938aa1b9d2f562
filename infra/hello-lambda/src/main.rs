//! Hello world on the Rust Lambda runtime: the physical limit the hub's cold starts are
//! measured against (`infra/bench`). Same runtime, same tokio setup, no configuration.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<_, Error>(json!({"hello": "world"})) })).await
}
