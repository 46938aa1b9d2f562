#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(collection_callback::handle).await
}
