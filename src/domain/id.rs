use std::fmt;

/// A document id: a MongoDB ObjectId as 24 lowercase hex characters, in both storage backends, so
/// that the clients see the same shape everywhere and data can move between backends.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Id(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a valid id (24 hexadecimal characters)")]
pub struct InvalidId;

impl Id {
    /// A fresh ObjectId: time-ordered, unique across processes.
    pub fn generate() -> Self {
        Id(bson::oid::ObjectId::new().to_hex())
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        if raw.len() == 24 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Id(raw.to_ascii_lowercase()))
        } else {
            Err(InvalidId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn to_object_id(&self) -> bson::oid::ObjectId {
        // The constructor guarantees 24 hex characters.
        bson::oid::ObjectId::parse_str(&self.0).expect("Id holds a valid ObjectId")
    }

    pub fn from_object_id(oid: bson::oid::ObjectId) -> Self {
        Id(oid.to_hex())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_object_ids() {
        assert!(Id::parse("65a1b2c3d4e5f60718293a4b").is_ok());
        assert_eq!(Id::parse("undefined"), Err(InvalidId));
        assert_eq!(Id::parse("65a1b2c3d4e5f60718293a4g"), Err(InvalidId));
        let id = Id::generate();
        assert_eq!(Id::parse(id.as_str()).unwrap(), id);
    }
}
