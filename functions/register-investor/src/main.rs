#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(register_investor::handle).await
}
