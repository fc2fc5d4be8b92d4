//! Reads of `/api/users/{id}` (creating one is a command, in `cmd`).

use http::StatusCode;

use super::App;
use crate::{
    error::ApiError,
    lookup,
    response::{self, HttpResponse},
};

pub(super) fn get(app: &App, id: u64) -> Result<HttpResponse, ApiError> {
    app.with_state(|store| Ok(response::json(StatusCode::OK, lookup::user(store, id)?)))
}
