//! Body field types that make the OpenAPI document say what the handlers check.
//!
//! poem-openapi's `String` quietly takes `12` or `true` as `"12"` / `"true"`, and an `Option` field
//! is documented as optional even when the handler refuses its absence. [`Text`] takes JSON strings
//! only, and [`Required`] is documented as required while leaving a missing value to the handler,
//! which answers with the contract's envelope and the field's own message ("name is required").

use std::borrow::Cow;
use std::ops::Deref;

use poem::web::Field;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromMultipartField, ParseResult, ToJSON, Type,
};
use serde_json::Value;

/// A JSON string, and nothing else: a number or a boolean is a 400, not stored as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(Text(s)),
            other => Err(ParseError::custom(format!(
                "expected a string, found {}",
                json_kind(&other)
            ))),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field the document marks required. A missing (or `null`) value still reaches the handler as
/// `None`, so that the answer is the handler's ("className is required"), not a parser's.
#[derive(Debug, Clone)]
pub struct Required<T>(pub Option<T>);

impl<T> Deref for Required<T> {
    type Target = Option<T>;
    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

impl<T: Type> Type for Required<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(v) => v.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Required<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Required(None)),
            value => T::parse_from_json(value)
                .map(|v| Required(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ParseFromMultipartField> ParseFromMultipartField for Required<T> {
    async fn parse_from_multipart(field: Option<Field>) -> ParseResult<Self> {
        match field {
            None => Ok(Required(None)),
            field => T::parse_from_multipart(field)
                .await
                .map(|v| Required(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for Required<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.as_ref().and_then(ToJSON::to_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_takes_strings_only() {
        assert_eq!(Text::parse_from_json(Some(json!("a"))).unwrap().0, "a");
        for bad in [json!(12), json!(true), json!([]), json!({})] {
            assert!(Text::parse_from_json(Some(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_required_field_reaches_the_handler() {
        assert!(Required::<Text>::parse_from_json(None).unwrap().is_none());
        assert!(
            Required::<Text>::parse_from_json(Some(Value::Null))
                .unwrap()
                .is_none()
        );
        assert!(Required::<Text>::parse_from_json(Some(json!(1))).is_err());
        const { assert!(<Required<Text> as Type>::IS_REQUIRED) };
    }
}
