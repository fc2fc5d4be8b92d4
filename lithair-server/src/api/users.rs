//! `/api/users` and `/api/users/{id}`.

use http::StatusCode;
use hyper::{Request, body::Incoming};
use serde::Deserialize;

use super::{App, require_text};
use crate::{
    error::ApiError,
    events::StoreEvent,
    model::User,
    request,
    response::{self, HttpResponse},
    store::Store,
};

const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    email: String,
}

pub(super) async fn create(
    app: &App,
    request: Request<Incoming>,
) -> Result<HttpResponse, ApiError> {
    let input: NewUser = request::json_body(request, app.max_body()).await?;
    require_text("name", &input.name, MAX_NAME_CHARS)?;
    require_text("email", &input.email, MAX_EMAIL_CHARS)?;
    if !looks_like_an_email(&input.email) {
        return Err(ApiError::invalid_field(format!("{:?} is not an email address", input.email)));
    }
    let (name, email) = (input.name.into(), input.email.into());
    let committed = app
        .engine
        .commit_with(move |store: &Store| {
            Ok(StoreEvent::UserCreated(User { id: store.users().next_id(), name, email }))
        })
        .await
        .map_err(ApiError::from_commit)?;
    let StoreEvent::UserCreated(user) = committed.event else {
        return Err(ApiError::internal());
    };
    Ok(response::created(format!("/api/users/{}", user.id), &user))
}

pub(super) fn get(app: &App, id: u64) -> Result<HttpResponse, ApiError> {
    app.engine.with_state(|store| match store.users().get(id) {
        Some(user) => Ok(response::json(StatusCode::OK, user)),
        None => Err(user_not_found(id)),
    })
}

pub(super) fn user_not_found(id: u64) -> ApiError {
    ApiError::not_found(format!("there is no user {id}"))
}

/// One `@` with something on both sides and no white space: enough to catch mistakes, without
/// pretending to validate deliverability.
fn looks_like_an_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}
