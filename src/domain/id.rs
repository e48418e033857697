use std::fmt;

use bson::oid::ObjectId;

/// A document id: a MongoDB ObjectId (12 bytes) in both storage backends. The clients see it as
/// 24 lowercase hex characters everywhere (SQLite stores that text), so that data can move
/// between backends.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(ObjectId);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a valid id (24 hexadecimal characters)")]
pub struct InvalidId;

impl Id {
    /// A fresh ObjectId: time-ordered, unique across processes.
    pub fn generate() -> Self {
        Id(ObjectId::new())
    }

    /// The edge's parser: 24 hex characters, either case.
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        // `parse_str` alone would accept what `hex` accepts; the length check keeps the rule plain.
        if raw.len() != 24 {
            return Err(InvalidId);
        }
        ObjectId::parse_str(raw).map(Id).map_err(|_| InvalidId)
    }

    /// The 24 lowercase hex characters, as stored by SQLite and shown to clients.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }

    pub fn to_object_id(&self) -> ObjectId {
        self.0
    }

    pub fn from_object_id(oid: ObjectId) -> Self {
        Id(oid)
    }
}

impl From<ObjectId> for Id {
    fn from(oid: ObjectId) -> Self {
        Id(oid)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0.to_hex())
    }
}

// The wire shape is the hex string (not BSON's `{"$oid": ...}`), whatever the serializer.
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Id::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_object_ids() {
        assert!(Id::parse("65a1b2c3d4e5f60718293a4b").is_ok());
        assert_eq!(
            Id::parse("65A1B2C3D4E5F60718293A4B").unwrap().to_hex(),
            "65a1b2c3d4e5f60718293a4b"
        );
        assert_eq!(Id::parse("undefined"), Err(InvalidId));
        assert_eq!(Id::parse("65a1b2c3d4e5f60718293a4g"), Err(InvalidId));
        assert_eq!(Id::parse("+5a1b2c3d4e5f60718293a4b"), Err(InvalidId));
        let id = Id::generate();
        assert_eq!(Id::parse(&id.to_hex()).unwrap(), id);
    }

    #[test]
    fn serializes_as_hex() {
        let id = Id::parse("65a1b2c3d4e5f60718293a4b").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"65a1b2c3d4e5f60718293a4b\"");
        assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
    }
}
