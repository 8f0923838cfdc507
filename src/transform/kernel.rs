//! Lookup kernels: the ids of one Arrow array's values. One dispatch on the
//! data type, then a loop per type; a dictionary array looks up each
//! dictionary entry once and gathers.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;

use crate::artifact::Feature;
use crate::keys::Key;
use crate::values::{ByteValues, DictionaryKeys, byte_values, dictionary_keys};

/// The ids of a non-list array's values; a null gets `null_id`.
///
/// The caller has checked the type with [`key_type_of`](crate::key_type_of).
pub(crate) fn lookup(feature: &Feature<'_>, array: &dyn Array, null_id: i32) -> Vec<i32> {
    use DataType::*;
    let receiver = LookUpBytes {
        feature,
        null_id,
        len: array.len(),
    };
    if let Some(ids) = byte_values(array, receiver) {
        return ids;
    }
    match array.data_type() {
        Int8 => ints::<Int8Type>(feature, array, null_id),
        Int16 => ints::<Int16Type>(feature, array, null_id),
        Int32 => ints::<Int32Type>(feature, array, null_id),
        Int64 => ints::<Int64Type>(feature, array, null_id),
        UInt8 => ints::<UInt8Type>(feature, array, null_id),
        UInt16 => ints::<UInt16Type>(feature, array, null_id),
        UInt32 => ints::<UInt32Type>(feature, array, null_id),
        UInt64 => {
            let mut out = Vec::with_capacity(array.len());
            let values = array
                .as_primitive::<UInt64Type>()
                .iter()
                .map(|v| v.map(Key::Uint));
            feature.ids_of(values, null_id, &mut out);
            out
        }
        Null => vec![null_id; array.len()],
        Dictionary(..) => {
            let entry_ids = lookup(
                feature,
                array.as_any_dictionary().values().as_ref(),
                null_id,
            );
            gather(array, &entry_ids, null_id)
        }
        other => unreachable!("lookup on unsupported type {other}"),
    }
}

/// Looks byte keys up, in groups.
struct LookUpBytes<'f, 'v> {
    feature: &'f Feature<'v>,
    null_id: i32,
    len: usize,
}

impl ByteValues for LookUpBytes<'_, '_> {
    type Output = Vec<i32>;
    fn take<'a>(self, values: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<i32> {
        let mut out = Vec::with_capacity(self.len);
        self.feature
            .ids_of(values.map(|v| v.map(Key::Bytes)), self.null_id, &mut out);
        out
    }
}

fn ints<T: ArrowPrimitiveType>(feature: &Feature<'_>, array: &dyn Array, null_id: i32) -> Vec<i32>
where
    T::Native: Into<i64>,
{
    let mut out = Vec::with_capacity(array.len());
    let values = array
        .as_primitive::<T>()
        .iter()
        .map(|v| v.map(|v| Key::Int(v.into())));
    feature.ids_of(values, null_id, &mut out);
    out
}

/// The ids of a dictionary array's rows, given the ids of its entries.
pub(crate) fn gather(array: &dyn Array, entry_ids: &[i32], null_id: i32) -> Vec<i32> {
    let dict = array.as_any_dictionary();
    let key_nulls = dict.keys().logical_nulls();
    dictionary_keys(
        dict,
        Gather {
            entry_ids,
            null_id,
            nulls: key_nulls.as_ref(),
        },
    )
}

/// Maps each key of a dictionary to its entry's id.
struct Gather<'a> {
    entry_ids: &'a [i32],
    null_id: i32,
    nulls: Option<&'a NullBuffer>,
}

impl DictionaryKeys for Gather<'_> {
    type Output = Vec<i32>;
    fn take(self, keys: impl Iterator<Item = usize>) -> Vec<i32> {
        keys.enumerate()
            .map(|(row, k)| match self.nulls {
                Some(n) if n.is_null(row) => self.null_id,
                _ => self.entry_ids.get(k).copied().unwrap_or(self.null_id),
            })
            .collect()
    }
}
