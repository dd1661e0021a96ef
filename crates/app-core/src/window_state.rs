//! The main window's size and position, remembered between starts in
//! `<data dir>/window.json` (written atomically; a damaged or absurd file is ignored).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILE: &str = "window.json";

/// The window's outer position and inner size, in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowGeometry {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub maximized: bool,
}

/// The smallest window FlexDesk's screens are laid out for (the config's minimum).
pub const MIN_WIDTH: u32 = 900;
pub const MIN_HEIGHT: u32 = 560;
/// Larger than any real screen: a file saying more is wrong.
const MAX_SIDE: u32 = 16_384;

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

impl WindowGeometry {
    /// The geometry to restore, if a sane one was saved.
    pub fn load(data_dir: &Path) -> Option<WindowGeometry> {
        let text = std::fs::read_to_string(path(data_dir)).ok()?;
        match serde_json::from_str::<WindowGeometry>(&text) {
            Ok(g) => g.sanitized(),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable window.json");
                None
            }
        }
    }

    /// Saves the geometry (write to a temporary file, then rename: never half a file).
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        let Some(g) = self.sanitized() else { return Ok(()) };
        let tmp = data_dir.join(format!("{FILE}.tmp"));
        let json = serde_json::to_vec_pretty(&g).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path(data_dir))
    }

    /// Sizes below the minimum are raised to it; absurd values (a minimized window's
    /// far-away position, zero or giant sizes) make the geometry unusable.
    fn sanitized(self) -> Option<WindowGeometry> {
        if self.width == 0 || self.height == 0 || self.width > MAX_SIDE || self.height > MAX_SIDE {
            return None;
        }
        let far = MAX_SIDE as i32;
        if !(-far..=far).contains(&self.x) || !(-far..=far).contains(&self.y) {
            return None;
        }
        Some(WindowGeometry { width: self.width.max(MIN_WIDTH), height: self.height.max(MIN_HEIGHT), ..self })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_geometry_is_restored_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let g = WindowGeometry { x: 40, y: 30, width: 1111, height: 777, maximized: false };
        g.save(dir.path()).unwrap();
        assert_eq!(WindowGeometry::load(dir.path()), Some(g));
    }

    #[test]
    fn nothing_saved_or_a_damaged_file_restores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(WindowGeometry::load(dir.path()), None);
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        assert_eq!(WindowGeometry::load(dir.path()), None);
    }

    #[test]
    fn tiny_sizes_are_raised_to_the_minimum_and_absurd_ones_ignored() {
        let dir = tempfile::tempdir().unwrap();
        WindowGeometry { x: 0, y: 0, width: 300, height: 200, maximized: false }.save(dir.path()).unwrap();
        let g = WindowGeometry::load(dir.path()).unwrap();
        assert_eq!((g.width, g.height), (MIN_WIDTH, MIN_HEIGHT));
        std::fs::write(dir.path().join(FILE), r#"{"x":-32000,"y":-32000,"width":1200,"height":800}"#).unwrap();
        assert_eq!(WindowGeometry::load(dir.path()), None);
    }
}
