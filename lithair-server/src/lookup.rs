//! Finding a record by id, or the 404 the API answers when it is not there: one place, so that
//! reads and the commands' decisions say "not found" the same way.

use crate::{
    error::ApiError,
    model::{Article, User},
    store::Store,
};

pub(crate) fn article(store: &Store, id: u64) -> Result<&Article, ApiError> {
    store.articles().get(id).ok_or_else(|| ApiError::not_found(format!("there is no article {id}")))
}

pub(crate) fn user(store: &Store, id: u64) -> Result<&User, ApiError> {
    store.users().get(id).ok_or_else(|| ApiError::not_found(format!("there is no user {id}")))
}
