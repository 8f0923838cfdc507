//! Files that appear complete or not at all: written under a hidden
//! temporary name in the final directory, synced, then renamed over the
//! final path. A crash leaves at most a `.NAME.*.tmp` file, which input
//! discovery skips.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

pub(crate) struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// A temporary file beside `path` (whose directory must exist).
    pub(crate) fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The temporary file, to write to.
    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// A second handle on the temporary file (for writers that own theirs).
    #[cfg(feature = "parquet")]
    pub(crate) fn try_clone(&self) -> Result<File> {
        self.file()
            .try_clone()
            .map_err(|e| Error::io(self.tmp.path(), e))
    }

    /// Syncs the file, makes it readable like any other output (0644), and
    /// renames it over the final path. Dropping an `AtomicFile` without
    /// committing removes the temporary file.
    pub(crate) fn commit(self) -> Result<()> {
        let tmp_path = self.tmp.path().to_path_buf();
        self.file()
            .sync_all()
            .map_err(|e| Error::io(&tmp_path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp_path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(&tmp_path, e))?;
        }
        self.tmp
            .persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(())
    }
}
