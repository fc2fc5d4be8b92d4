//! The writes the API accepts, one type each, as in mini-redis's `src/cmd`.
//!
//! A command goes through the same steps whatever it does:
//!
//! 1. **input → validate**: `parse` builds the command from the request's parts and checks all
//!    that needs no state (required fields, lengths). A command that exists is well-formed.
//! 2. **decide**: [`Command::decide`] runs in the engine's writer (one group at a time), against the state
//!    including every commit before it, and checks what depends on the state (does the article
//!    exist? which id comes next?). Two requests can therefore never take the same id or both
//!    delete the same article. It returns the one event the command writes, or a rejection.
//! 3. **event → answer**: once the event is as durable as the configured mode promises,
//!    [`Command::answer`] turns it into the response. Nothing is answered before that.
//!
//! `App::execute` (in `api`) runs the steps; reads do not come here, they go straight to the
//! committed state.

mod add_comment;
mod article_input;
mod create_article;
mod create_user;
mod delete_article;
mod update_article;

pub(crate) use add_comment::AddComment;
pub(crate) use create_article::CreateArticle;
pub(crate) use create_user::CreateUser;
pub(crate) use delete_article::DeleteArticle;
pub(crate) use update_article::UpdateArticle;

use crate::{error::ApiError, events::StoreEvent, response::HttpResponse, store::Store};

/// One kind of write. See the module documentation for the steps.
pub(crate) trait Command: Send + 'static {
    /// The event this command writes given the current state, or why it cannot be done.
    /// Runs in the writer, where every commit waits for it in turn: keep it quick.
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError>;

    /// The response for the event [`Command::decide`] made, now committed.
    fn answer(event: StoreEvent) -> Result<HttpResponse, ApiError>;
}

/// A required text field: present (serde checks that), not blank, and not too long.
fn require_text(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(format!("{field} must not be empty")));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ApiError::invalid_field(format!(
            "{field} is {chars} characters long; the maximum is {max_chars}"
        )));
    }
    Ok(())
}
