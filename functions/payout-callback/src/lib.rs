//! Interface 11, `POST /v1/callbacks/payouts`: the payment platform reports a payout.

use hub::App;
use hub::domain::movement::MovementKind;
use lambda_http::{Body, Request, Response};

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    hub::edge::render(collection_callback::callback(app, &req, MovementKind::Payout).await)
}
