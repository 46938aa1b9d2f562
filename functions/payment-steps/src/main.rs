#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub::worker::serve(payment_steps::handle).await
}
