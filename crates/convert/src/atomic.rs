//! Atomic outputs: everything is written under a temporary name beside the
//! target and renamed into place only when complete, so a failure never
//! leaves a half-written file that looks whole.

use crate::error::{ConvertError, Result};
use std::path::{Path, PathBuf};

/// A temporary file or directory beside its final path; removed on drop
/// unless [`Staged::commit`] renamed it into place.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Reserves a temporary name beside `target`. Fails when `target`
    /// exists and `overwrite` is false, or when its directory is not writable.
    pub fn new(target: &Path, overwrite: bool) -> Result<Self> {
        if target.exists() && !overwrite {
            return Err(ConvertError::OutputExists {
                path: target.to_path_buf(),
            });
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(ConvertError::output(
                target,
                format!("directory {} does not exist", parent.display()),
            ));
        }
        let name = target
            .file_name()
            .ok_or_else(|| ConvertError::output(target, "the path has no file name"))?
            .to_string_lossy()
            .into_owned();
        let temp = parent.join(format!(".{name}.arco-tmp-{}", std::process::id()));
        // A leftover from a crashed run of the same pid is stale by definition.
        remove_any(&temp);
        Ok(Self {
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary path to write to.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the finished output into place, replacing any old one.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.target.is_dir() {
            // rename() cannot replace a non-empty directory: move the old one
            // aside first and delete it only once the new one is in place.
            let old = self.temp.with_extension("old");
            remove_any(&old);
            std::fs::rename(&self.target, &old)
                .map_err(|e| ConvertError::output(&self.target, e))?;
            std::fs::rename(&self.temp, &self.target)
                .map_err(|e| ConvertError::output(&self.target, e))?;
            remove_any(&old);
        } else {
            std::fs::rename(&self.temp, &self.target)
                .map_err(|e| ConvertError::output(&self.target, e))?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            remove_any(&self.temp);
        }
    }
}

fn remove_any(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.tif");
        {
            let s = Staged::new(&target, false).unwrap();
            std::fs::write(s.path(), b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn existing_target_needs_overwrite_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.zarr");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), b"1").unwrap();
        assert!(matches!(
            Staged::new(&target, false),
            Err(ConvertError::OutputExists { .. })
        ));
        let s = Staged::new(&target, true).unwrap();
        std::fs::create_dir(s.path()).unwrap();
        std::fs::write(s.path().join("new"), b"2").unwrap();
        s.commit().unwrap();
        assert!(target.join("new").exists());
        assert!(!target.join("old").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_a_clear_error() {
        let err = Staged::new(Path::new("/nonexistent-dir-arco/a.tif"), false).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
