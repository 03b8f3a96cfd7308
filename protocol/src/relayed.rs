//! [`Relayed`]: JSON the worker hands from the relay's REST API to the panels without reading it.
//!
//! The worker never looks inside the caller IDs or the call history; it only keeps the newest
//! for the next panel that opens. Decoding and re-encoding them there compiled their whole serde
//! code into the worker's Wasm for nothing (about 4 KB of its 120 KB budget). So the worker sends
//! [`crate::panel::WorkerToPanel`] with `Relayed` payloads, the JSON exactly as the relay wrote
//! it, and the panel decodes the same message with the typed payloads (the defaults of its type
//! parameters). The JSON on the port is the same either way; a test checks it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// JSON text that is a `T`, carried as it came.
pub struct Relayed<T> {
    raw: Box<RawValue>,
    kind: PhantomData<fn() -> T>,
}

impl<T> Relayed<T> {
    /// Takes JSON text as it came: checked to be JSON (so the message around it stays JSON), not
    /// read as a `T`.
    pub fn from_json(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(|raw| Self { raw, kind: PhantomData })
    }

    pub fn json(&self) -> &str {
        self.raw.get()
    }
}

impl<T: DeserializeOwned> Relayed<T> {
    /// Reads it as a `T`.
    pub fn decode(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }
}

impl<T> Serialize for Relayed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<T> Clone for Relayed<T> {
    fn clone(&self) -> Self {
        Self { raw: self.raw.clone(), kind: PhantomData }
    }
}

impl<T> PartialEq for Relayed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl<T> Eq for Relayed<T> {}

impl<T> fmt::Debug for Relayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw.get())
    }
}
