#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub::worker::serve(notify_originator::handle).await
}
