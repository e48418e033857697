//! A handler's success answer in one expression: the envelope around a view, the view built from
//! the record by its `From` (the view type is the handler's return type, so it is not spelled twice).

use poem_openapi::types::{ParseFromJSON, ToJSON};

use super::envelope::Envelope;
use super::error::ApiResult;
use super::json::Json;

/// What a handler returning data answers.
pub type Reply<T> = ApiResult<Json<Envelope<T>>>;

/// `data` (a record, by reference, or a finished view) as the view `V`, in a success envelope.
pub fn ok<V: ParseFromJSON + ToJSON>(message: &str, data: impl Into<V>) -> Reply<V> {
    Ok(Envelope::ok(message, data.into()))
}
