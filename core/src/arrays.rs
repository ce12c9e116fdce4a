//! serde for `[T; M]` of any `M` (serde's own impls stop at 32 and take no
//! const parameter): a tuple of `M` elements, for `#[serde(with = ...)]`.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Deserializer, Error, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

/// Writes the `M` elements as a tuple.
pub fn serialize<S: Serializer, T: Serialize, const M: usize>(
    array: &[T; M],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut tuple = serializer.serialize_tuple(M)?;
    for x in array {
        tuple.serialize_element(x)?;
    }
    tuple.end()
}

/// Reads a tuple of exactly `M` elements.
pub fn deserialize<'de, D, T, const M: usize>(deserializer: D) -> Result<[T; M], D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default + Copy,
{
    struct Elements<T, const M: usize>(PhantomData<T>);

    impl<'de, T: Deserialize<'de> + Default + Copy, const M: usize> Visitor<'de> for Elements<T, M> {
        type Value = [T; M];

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{M} elements")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; M], A::Error> {
            let mut array = [T::default(); M];
            for (i, slot) in array.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(i, &self))?;
            }
            Ok(array)
        }
    }

    deserializer.deserialize_tuple(M, Elements(PhantomData))
}
