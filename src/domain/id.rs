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
        Self::parse_bytes(raw.as_bytes())
    }

    /// [`Id::parse`] of text not yet checked to be UTF-8 (SQLite's): a byte that is not a hex
    /// digit is refused either way, so the UTF-8 check (4% of a 50-row list) is not needed.
    pub fn parse_bytes(raw: &[u8]) -> Result<Self, InvalidId> {
        // By hand rather than `ObjectId::parse_str`: every id of every row read from SQLite comes
        // through here, and the `hex` crate's decoding into a `Vec` was 12% of a 50-row list's
        // instructions (issue 13). Same rule: exactly 24 hex digits, either case.
        if raw.len() != 24 {
            return Err(InvalidId);
        }
        let mut bytes = [0u8; 12];
        for (byte, pair) in bytes.iter_mut().zip(raw.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Ok(Id(ObjectId::from_bytes(bytes)))
    }

    /// The 24 lowercase hex characters, as stored by SQLite and shown to clients.
    pub fn to_hex(&self) -> String {
        self.hex().to_owned()
    }

    /// The 24 lowercase hex characters, without an allocation. (`ObjectId::to_hex` collects them
    /// into a `String` one `char` at a time.)
    fn hex(&self) -> HexBuf {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 24];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0.bytes()) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        HexBuf(out)
    }

    pub fn to_object_id(&self) -> ObjectId {
        self.0
    }

    pub fn from_object_id(oid: ObjectId) -> Self {
        Id(oid)
    }
}

fn nibble(c: u8) -> Result<u8, InvalidId> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(InvalidId),
    }
}

/// An id's hex digits on the stack.
struct HexBuf([u8; 24]);

impl std::ops::Deref for HexBuf {
    type Target = str;

    fn deref(&self) -> &str {
        // Only ASCII digits and letters are ever written into it.
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl From<ObjectId> for Id {
    fn from(oid: ObjectId) -> Self {
        Id(oid)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", &*self.hex())
    }
}

// The wire shape is the hex string (not BSON's `{"$oid": ...}`), whatever the serializer.
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
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
        assert_eq!(Id::parse("65a1b2c3d4e5f60718293a4"), Err(InvalidId));
        assert_eq!(Id::parse("65a1b2c3d4e5f60718293a4bb"), Err(InvalidId));
        assert_eq!(Id::parse("65a1b2c3d4e5f60718293a\u{e9}"), Err(InvalidId));
        let id = Id::generate();
        assert_eq!(Id::parse(&id.to_hex()).unwrap(), id);
    }

    #[test]
    fn hex_is_bsons() {
        for _ in 0..1000 {
            let oid = ObjectId::from_bytes(rand::random());
            let id = Id::from_object_id(oid);
            assert_eq!(id.to_hex(), oid.to_hex());
            assert_eq!(id.to_string(), oid.to_hex());
            assert_eq!(Id::parse(&oid.to_hex()).unwrap(), id);
            assert_eq!(Id::parse(&oid.to_hex().to_uppercase()).unwrap(), id);
        }
    }

    #[test]
    fn serializes_as_hex() {
        let id = Id::parse("65a1b2c3d4e5f60718293a4b").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"65a1b2c3d4e5f60718293a4b\"");
        assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
    }
}
