//! `POST /api/users`: a new user, with the next user id.

use std::sync::Arc;

use serde::Deserialize;

use super::{Command, require_text};
use crate::{
    error::ApiError,
    events::StoreEvent,
    model::User,
    response::{self, HttpResponse},
    store::Store,
};

const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    name: String,
    email: String,
}

pub(crate) struct CreateUser {
    name: Arc<str>,
    email: Arc<str>,
}

impl CreateUser {
    pub(crate) fn parse(input: NewUser) -> Result<Self, ApiError> {
        require_text("name", &input.name, MAX_NAME_CHARS)?;
        require_text("email", &input.email, MAX_EMAIL_CHARS)?;
        if !looks_like_an_email(&input.email) {
            let message = format!("{:?} is not an email address", input.email);
            return Err(ApiError::invalid_field(message));
        }
        Ok(CreateUser { name: input.name.into(), email: input.email.into() })
    }
}

impl Command for CreateUser {
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError> {
        let CreateUser { name, email } = self;
        Ok(StoreEvent::UserCreated(User { id: store.users().next_id(), name, email }))
    }

    fn answer(event: StoreEvent) -> Result<HttpResponse, ApiError> {
        let StoreEvent::UserCreated(user) = event else { return Err(ApiError::internal()) };
        Ok(response::created(format!("/api/users/{}", user.id), &user))
    }
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
