//! The values of a string or binary Arrow array as byte strings (the one
//! dispatch over the seven byte types), and the keys of a dictionary array
//! as indexes (the one dispatch over the eight key types); both are shared
//! by counting and lookups.
//!
//! The values reach a [`ByteValues`] receiver, and the keys a
//! [`DictionaryKeys`] receiver, as one concrete iterator per array type, so
//! the receiver's loop is compiled for each type (no call through a `dyn
//! Iterator` per value, and no buffer of converted values).

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;

/// What to do with the values of a byte array.
pub(crate) trait ByteValues {
    /// What the receiver returns.
    type Output;
    /// Takes every value in order; `None` for a null.
    fn take<'a>(self, values: impl Iterator<Item = Option<&'a [u8]>>) -> Self::Output;
}

fn utf8(value: Option<&str>) -> Option<&[u8]> {
    value.map(str::as_bytes)
}

/// Hands the values of `array` to `receiver` when it is a string or binary
/// array (`Utf8`, `LargeUtf8`, `Utf8View`, `Binary`, `LargeBinary`,
/// `BinaryView`, `FixedSizeBinary`); `None` for any other type.
pub(crate) fn byte_values<R: ByteValues>(array: &dyn Array, receiver: R) -> Option<R::Output> {
    use DataType::*;
    Some(match array.data_type() {
        Utf8 => receiver.take(array.as_string::<i32>().iter().map(utf8)),
        LargeUtf8 => receiver.take(array.as_string::<i64>().iter().map(utf8)),
        Utf8View => receiver.take(array.as_string_view().iter().map(utf8)),
        Binary => receiver.take(array.as_binary::<i32>().iter()),
        LargeBinary => receiver.take(array.as_binary::<i64>().iter()),
        BinaryView => receiver.take(array.as_binary_view().iter()),
        FixedSizeBinary(_) => receiver.take(array.as_fixed_size_binary().iter()),
        _ => return None,
    })
}

/// What to do with the keys of a dictionary array.
pub(crate) trait DictionaryKeys {
    /// What the receiver returns.
    type Output;
    /// Takes every key in row order as an index into the dictionary's
    /// values (a null key's slot holds whatever the array stores there; a
    /// negative key becomes an index past any array).
    fn take(self, keys: impl Iterator<Item = usize>) -> Self::Output;
}

/// Hands the keys of a dictionary array to `receiver`, one loop per key
/// type and no buffer of converted keys (unlike
/// [`AnyDictionaryArray::normalized_keys`](arrow_array::AnyDictionaryArray::normalized_keys),
/// which allocates one per call).
pub(crate) fn dictionary_keys<R: DictionaryKeys>(
    dict: &dyn arrow_array::AnyDictionaryArray,
    receiver: R,
) -> R::Output {
    use arrow_array::types::*;
    use arrow_buffer::ArrowNativeType;
    fn take<T: arrow_array::ArrowPrimitiveType, R: DictionaryKeys>(
        keys: &dyn Array,
        receiver: R,
    ) -> R::Output {
        receiver.take(
            keys.as_primitive::<T>()
                .values()
                .iter()
                .map(|k| k.as_usize()),
        )
    }
    let keys = dict.keys();
    match keys.data_type() {
        DataType::Int8 => take::<Int8Type, R>(keys, receiver),
        DataType::Int16 => take::<Int16Type, R>(keys, receiver),
        DataType::Int32 => take::<Int32Type, R>(keys, receiver),
        DataType::Int64 => take::<Int64Type, R>(keys, receiver),
        DataType::UInt8 => take::<UInt8Type, R>(keys, receiver),
        DataType::UInt16 => take::<UInt16Type, R>(keys, receiver),
        DataType::UInt32 => take::<UInt32Type, R>(keys, receiver),
        DataType::UInt64 => take::<UInt64Type, R>(keys, receiver),
        // Arrow allows only integer dictionary keys.
        other => unreachable!("dictionary keys of type {other}"),
    }
}

/// Whether two dictionaries are the same array: the same buffers, as a
/// Parquet reader hands out for every batch of one row group, even through
/// a new `ArrayRef` (a list reader's). Whoever keeps a dictionary to
/// compare with later keeps its buffers alive, so their addresses cannot
/// have been reused by another array.
pub(crate) fn same_dictionary(a: &arrow_array::ArrayRef, b: &arrow_array::ArrayRef) -> bool {
    std::sync::Arc::ptr_eq(a, b) || a.to_data().ptr_eq(&b.to_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::*;
    use std::sync::Arc;

    struct Collect;

    impl ByteValues for Collect {
        type Output = Vec<Option<Vec<u8>>>;
        fn take<'a>(self, values: impl Iterator<Item = Option<&'a [u8]>>) -> Self::Output {
            values.map(|v| v.map(<[u8]>::to_vec)).collect()
        }
    }

    #[test]
    fn every_byte_type_gives_its_values_and_others_none() {
        let strs = vec![Some("ab"), None, Some("")];
        let bytes: Vec<Option<&[u8]>> = strs.iter().map(|v| v.map(str::as_bytes)).collect();
        let expected = vec![Some(b"ab".to_vec()), None, Some(vec![])];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(strs.clone())),
            Arc::new(LargeStringArray::from(strs.clone())),
            Arc::new(StringViewArray::from(strs.clone())),
            Arc::new(BinaryArray::from(bytes.clone())),
            Arc::new(LargeBinaryArray::from(bytes.clone())),
            Arc::new(BinaryViewArray::from(bytes.clone())),
        ];
        for a in arrays {
            assert_eq!(byte_values(a.as_ref(), Collect), Some(expected.clone()));
        }
        let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            vec![Some(b"ab"), None].into_iter(),
            2,
        )
        .unwrap();
        assert_eq!(
            byte_values(&fixed, Collect),
            Some(vec![Some(b"ab".to_vec()), None])
        );
        assert_eq!(byte_values(&Int32Array::from(vec![1]), Collect), None);
    }

    struct Keys;

    impl DictionaryKeys for Keys {
        type Output = Vec<usize>;
        fn take(self, keys: impl Iterator<Item = usize>) -> Vec<usize> {
            keys.collect()
        }
    }

    /// A dictionary over `values` with keys 2, null, 1 of key type `K`.
    fn dictionary<K: arrow_array::types::ArrowDictionaryKeyType>(values: &ArrayRef) -> ArrayRef {
        use arrow_buffer::ArrowNativeType;
        let keys = [Some(2), None, Some(1)].map(|k| k.and_then(K::Native::from_usize));
        let keys = PrimitiveArray::<K>::from_iter(keys);
        Arc::new(DictionaryArray::<K>::try_new(keys, values.clone()).unwrap())
    }

    #[test]
    fn dictionary_keys_of_every_key_type_match_arrow() {
        use arrow_array::types::*;
        let values: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
        let dictionaries = [
            dictionary::<Int8Type>(&values),
            dictionary::<Int16Type>(&values),
            dictionary::<Int32Type>(&values),
            dictionary::<Int64Type>(&values),
            dictionary::<UInt8Type>(&values),
            dictionary::<UInt16Type>(&values),
            dictionary::<UInt32Type>(&values),
            dictionary::<UInt64Type>(&values),
        ];
        for d in dictionaries {
            let dict = d.as_any_dictionary();
            let ours = dictionary_keys(dict, Keys);
            assert_eq!(ours, dict.normalized_keys(), "{}", d.data_type());
            assert_eq!(
                (ours.len(), ours[0], ours[2]),
                (3, 2, 1),
                "{}",
                d.data_type()
            );
        }
    }
}
