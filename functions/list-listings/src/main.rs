#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(list_listings::handle).await
}
