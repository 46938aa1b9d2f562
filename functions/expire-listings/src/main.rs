#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hub::worker::serve_scheduled(expire_listings::run).await
}
