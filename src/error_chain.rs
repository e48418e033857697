//! Errors as one line of text with their causes, for logs.

/// An error and its sources, one after the other (`could not reach x: connection refused`): the
/// detail an `Internal` or `Unavailable` logs, never what the client sees.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
