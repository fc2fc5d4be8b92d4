//! Client histories and their checkers (work in progress).
