#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hub::edge::serve(receive_repayment::handle).await
}
