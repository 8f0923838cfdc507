//! The values of a string or binary Arrow array as byte strings: the one
//! dispatch over the seven byte types, shared by counting and lookups.
//!
//! The values reach a [`ByteValues`] receiver as one concrete iterator per
//! array type, so the receiver's loop is compiled for each type (no call
//! through a `dyn Iterator` per value).

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
}
