//! The `oovocab._oovocab` extension module: thin pyo3 wrappers over the
//! oovocab library. Arrays and batches cross by the Arrow C data and stream
//! interfaces (PyCapsules), so inputs are not copied; the GIL is released
//! while oovocab works; every error is an `OovocabError` carrying the
//! library's message (file, column, place). The Python-facing API and its
//! docs live in `python/oovocab/__init__.py`.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayData, RecordBatch, make_array};
use arrow::pyarrow::{FromPyArrow, ToPyArrow};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pyo3::create_exception!(
    _oovocab,
    OovocabError,
    PyException,
    "An oovocab error: bad input, a corrupt file or a spec error; the message names the file and place."
);

fn err(e: oovocab::Error) -> PyErr {
    OovocabError::new_err(e.to_string())
}

fn id_type(name: &str) -> PyResult<oovocab::IdType> {
    match name {
        "int32" => Ok(oovocab::IdType::Int32),
        "int64" => Ok(oovocab::IdType::Int64),
        other => Err(OovocabError::new_err(format!(
            "id_type must be \"int32\" or \"int64\", not {other:?}"
        ))),
    }
}

/// A parsed spec.
#[pyclass(frozen, module = "oovocab._oovocab")]
struct Spec {
    inner: oovocab::Spec,
}

#[pymethods]
impl Spec {
    #[staticmethod]
    fn from_path(path: PathBuf) -> PyResult<Spec> {
        Ok(Spec {
            inner: oovocab::Spec::from_path(&path).map_err(err)?,
        })
    }

    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Spec> {
        Ok(Spec {
            inner: oovocab::Spec::from_toml_str(text).map_err(err)?,
        })
    }

    #[getter]
    fn features(&self) -> Vec<String> {
        self.inner
            .features()
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }
}

/// An opened vocabulary artifact.
#[pyclass(frozen, module = "oovocab._oovocab")]
struct Vocabulary {
    inner: Arc<oovocab::Vocabulary>,
}

#[pymethods]
impl Vocabulary {
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Vocabulary> {
        let v = py
            .detach(|| oovocab::Vocabulary::open(&path))
            .map_err(err)?;
        Ok(Vocabulary { inner: Arc::new(v) })
    }

    #[getter]
    fn features(&self) -> Vec<String> {
        self.inner
            .features()
            .map(|f| f.name().to_string())
            .collect()
    }

    fn feature(&self, name: &str) -> PyResult<Feature> {
        self.inner.feature(name).map_err(err)?;
        Ok(Feature {
            vocab: self.inner.clone(),
            name: name.to_string(),
        })
    }

    #[getter]
    fn rows_scanned(&self) -> u64 {
        self.inner.rows_scanned()
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    fn __repr__(&self) -> String {
        format!(
            "Vocabulary({:?}, features={:?})",
            self.inner.path(),
            self.features()
        )
    }
}

/// One feature of a vocabulary.
#[pyclass(frozen, module = "oovocab._oovocab")]
struct Feature {
    vocab: Arc<oovocab::Vocabulary>,
    name: String,
}

impl Feature {
    fn get(&self) -> oovocab::Feature<'_> {
        self.vocab
            .feature(&self.name)
            .expect("the name was checked when the Feature was made")
    }
}

#[pymethods]
impl Feature {
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter]
    fn column(&self) -> String {
        self.get().column().to_string()
    }

    #[getter]
    fn size(&self) -> u32 {
        self.get().size()
    }

    #[getter]
    fn key_type(&self) -> &'static str {
        self.get().key_type().name()
    }

    #[getter]
    fn layout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let l = self.get().layout();
        let d = PyDict::new(py);
        d.set_item("padding_id", l.padding_id())?;
        d.set_item("null_id", l.null_id())?;
        d.set_item("oov_first_id", l.oov_first_id())?;
        d.set_item("oov_buckets", l.oov_buckets())?;
        d.set_item("first_vocab_id", l.first_vocab_id())?;
        d.set_item("vocab_size", l.vocab_size())?;
        d.set_item("size", l.size())?;
        Ok(d)
    }

    fn __len__(&self) -> usize {
        self.get().len()
    }

    fn id(&self, value: &Bound<'_, PyAny>) -> PyResult<u32> {
        let f = self.get();
        if value.is_none() {
            return f.null_id().ok_or_else(|| {
                OovocabError::new_err(format!(
                    "feature {:?} has no null id (nulls = \"error\")",
                    self.name
                ))
            });
        }
        if let Ok(s) = value.extract::<String>() {
            return Ok(f.id(s.as_str()));
        }
        if let Ok(b) = value.cast::<PyBytes>() {
            return Ok(f.id(b.as_bytes()));
        }
        if let Ok(i) = value.extract::<i64>() {
            return Ok(f.id(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(f.id(u));
        }
        Err(OovocabError::new_err(format!(
            "a value is a str, bytes, int or None, not {}",
            value.get_type().name()?
        )))
    }

    #[pyo3(signature = (array, id_type = "int32"))]
    fn ids<'py>(
        slf: &Bound<'py, Self>,
        array: &Bound<'py, PyAny>,
        id_type: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if !array.hasattr("__arrow_c_array__")? {
            // Chunked arrays, streams, numpy arrays, lists: the Python side
            // splits them into Arrow arrays and calls back.
            return py
                .import("oovocab")?
                .getattr("_ids_of_any")?
                .call1((slf, array, id_type));
        }
        let this = slf.get();
        let array = make_array(ArrayData::from_pyarrow_bound(array)?);
        let id_type = self::id_type(id_type)?;
        let ids = py
            .detach(|| this.get().ids_array(array.as_ref(), id_type))
            .map_err(err)?;
        ids.to_data().to_pyarrow(py)
    }

    fn __repr__(&self) -> String {
        format!("Feature({:?}, size={})", self.name, self.size())
    }
}

/// Settings of a transformer; each call configures the library's
/// `Transformer` with its mode and rate.
#[pyclass(frozen, module = "oovocab._oovocab")]
struct Transformer {
    vocab: Arc<oovocab::Vocabulary>,
    features: Option<Vec<String>>,
    keep: Vec<String>,
    id_type: oovocab::IdType,
}

impl Transformer {
    fn configured(
        &self,
        mode: &str,
        seed: u64,
        epoch: u64,
        oov_rate: Option<f64>,
    ) -> PyResult<oovocab::Transformer> {
        let mut t = oovocab::Transformer::new(self.vocab.clone())
            .with_keep(&self.keep)
            .with_id_type(self.id_type);
        if let Some(features) = &self.features {
            t = t.with_features(features).map_err(err)?;
        }
        t = match mode {
            "infer" => t,
            "train" => t.with_mode(oovocab::Mode::Train { seed, epoch }),
            other => {
                return Err(OovocabError::new_err(format!(
                    "mode must be \"infer\" or \"train\", not {other:?}"
                )));
            }
        };
        if let Some(rate) = oov_rate {
            if mode != "train" {
                return Err(OovocabError::new_err(
                    "oov_rate needs mode=\"train\"".to_string(),
                ));
            }
            t = t.with_oov_rate(rate).map_err(err)?;
        }
        Ok(t)
    }
}

#[pymethods]
impl Transformer {
    #[new]
    #[pyo3(signature = (vocab, features = None, keep = None, id_type = "int32"))]
    fn new(
        vocab: &Vocabulary,
        features: Option<Vec<String>>,
        keep: Option<Vec<String>>,
        id_type: &str,
    ) -> PyResult<Transformer> {
        let t = Transformer {
            vocab: vocab.inner.clone(),
            features,
            keep: keep.unwrap_or_default(),
            id_type: self::id_type(id_type)?,
        };
        t.configured("infer", 0, 0, None)?;
        Ok(t)
    }

    #[pyo3(signature = (batch, mode = "infer", seed = 0, epoch = 0, start_row = 0, oov_rate = None))]
    #[allow(clippy::too_many_arguments)]
    fn transform_batch<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        mode: &str,
        seed: u64,
        epoch: u64,
        start_row: u64,
        oov_rate: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch = RecordBatch::from_pyarrow_bound(batch)?;
        let t = self.configured(mode, seed, epoch, oov_rate)?;
        let (out, _) = py
            .detach(|| t.transform_at(&batch, start_row))
            .map_err(err)?;
        out.to_pyarrow(py)
    }
}

/// Exact counts of a spec's features over some batches or files: partial
/// counts that merge.
#[pyclass(module = "oovocab._oovocab")]
struct PartialCounts {
    inner: oovocab::Counts,
}

#[pymethods]
impl PartialCounts {
    #[new]
    fn new(spec: &Spec) -> PartialCounts {
        PartialCounts {
            inner: oovocab::Counts::new(&spec.inner),
        }
    }

    fn add_batch(&mut self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<()> {
        let batch = RecordBatch::from_pyarrow_bound(batch)?;
        let inner = &mut self.inner;
        py.detach(|| inner.add_batch(&batch)).map_err(err)
    }

    fn add_input(&mut self, path: PathBuf) -> PyResult<()> {
        self.inner.add_input(&path).map_err(err)
    }

    #[getter]
    fn inputs(&self) -> Vec<(String, u64)> {
        self.inner
            .inputs()
            .iter()
            .map(|i| (i.path.clone(), i.size))
            .collect()
    }

    fn merge(&mut self, py: Python<'_>, other: &PartialCounts) -> PyResult<()> {
        let other = other.inner.clone();
        let inner = &mut self.inner;
        py.detach(|| inner.merge(other)).map_err(err)
    }

    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.inner.to_bytes());
        PyBytes::new(py, &bytes)
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PartialCounts> {
        let inner = py
            .detach(|| oovocab::Counts::from_bytes(data))
            .map_err(err)?;
        Ok(PartialCounts { inner })
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    fn __copy__(&self) -> PartialCounts {
        PartialCounts {
            inner: self.inner.clone(),
        }
    }
}

#[pyfunction]
#[pyo3(signature = (spec, inputs, output, threads = None))]
fn build(
    py: Python<'_>,
    spec: &Spec,
    inputs: Vec<PathBuf>,
    output: PathBuf,
    threads: Option<usize>,
) -> PyResult<Vocabulary> {
    let spec = spec.inner.clone();
    let vocab = py
        .detach(|| {
            let mut b = oovocab::VocabularyBuilder::new(spec).threads(threads.unwrap_or(0));
            b.add_paths(&inputs)?;
            b.save(&output)
        })
        .map_err(err)?;
    Ok(Vocabulary {
        inner: Arc::new(vocab),
    })
}

#[pyfunction]
#[pyo3(signature = (spec, partials, output, threads = None))]
fn build_from_partials(
    py: Python<'_>,
    spec: &Spec,
    partials: Vec<PyRef<'_, PartialCounts>>,
    output: PathBuf,
    threads: Option<usize>,
) -> PyResult<Vocabulary> {
    let spec = spec.inner.clone();
    let partials: Vec<oovocab::Counts> = partials.iter().map(|p| p.inner.clone()).collect();
    let vocab = py
        .detach(|| {
            let mut b = oovocab::VocabularyBuilder::new(spec).threads(threads.unwrap_or(0));
            for p in partials {
                b.add_counts(p)?;
            }
            b.save(&output)
        })
        .map_err(err)?;
    Ok(Vocabulary {
        inner: Arc::new(vocab),
    })
}

#[pymodule]
fn _oovocab(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OovocabError", m.py().get_type::<OovocabError>())?;
    m.add_class::<Spec>()?;
    m.add_class::<Vocabulary>()?;
    m.add_class::<Feature>()?;
    m.add_class::<Transformer>()?;
    m.add_class::<PartialCounts>()?;
    m.add_function(wrap_pyfunction!(build, m)?)?;
    m.add_function(wrap_pyfunction!(build_from_partials, m)?)?;
    Ok(())
}
