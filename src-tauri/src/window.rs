//! The main window: its size and position restored at start (it opens hidden, is placed,
//! then shown, so it never jumps), saved shortly after the user stops moving or resizing
//! it, and brought to the front when a second start asks.

use flexdesk_core::window_state::WindowGeometry;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tauri::{Emitter, Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow, Window, WindowEvent};

const MAIN: &str = "main";
/// Quiet time after the last move/resize before the geometry is written.
const SAVE_AFTER: Duration = Duration::from_millis(400);

/// Where the geometry is kept, and a counter that lets only the last of a burst save.
struct GeometryFile {
    data_dir: PathBuf,
    generation: Arc<AtomicU64>,
}

/// Places the main window where it was last time (if that is still on a screen), then shows it.
pub fn restore<R: Runtime>(app: &tauri::AppHandle<R>, data_dir: &Path) {
    app.manage(GeometryFile { data_dir: data_dir.to_path_buf(), generation: Arc::new(AtomicU64::new(0)) });
    let Some(window) = app.get_webview_window(MAIN) else { return };
    if let Some(g) = WindowGeometry::load(data_dir) {
        if let Err(e) = window.set_size(PhysicalSize::new(g.width, g.height)) {
            tracing::debug!(error = %e, "could not restore the window size");
        }
        if on_some_screen(&window, &g) {
            if let Err(e) = window.set_position(PhysicalPosition::new(g.x, g.y)) {
                tracing::debug!(error = %e, "could not restore the window position");
            }
        }
        if g.maximized {
            let _ = window.maximize();
        }
        tracing::info!(width = g.width, height = g.height, x = g.x, y = g.y, "window geometry restored");
    }
    if let Err(e) = window.show() {
        tracing::warn!(error = %e, "could not show the main window");
    }
}

/// True when the saved top-left corner lies on a screen that exists now (a monitor may
/// have been unplugged since).
fn on_some_screen<R: Runtime>(window: &WebviewWindow<R>, g: &WindowGeometry) -> bool {
    match window.available_monitors() {
        Ok(monitors) if !monitors.is_empty() => monitors.iter().any(|m| {
            let (p, s) = (m.position(), m.size());
            g.x >= p.x && g.y >= p.y && g.x < p.x + s.width as i32 && g.y < p.y + s.height as i32
        }),
        _ => true,
    }
}

/// Saves the geometry once moves and resizes have settled.
pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if window.label() != MAIN {
        return;
    }
    if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
        return;
    }
    let Some(file) = window.try_state::<GeometryFile>() else { return };
    let mine = file.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let generation = file.generation.clone();
    let data_dir = file.data_dir.clone();
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SAVE_AFTER).await;
        if generation.load(Ordering::SeqCst) != mine || window.is_minimized().unwrap_or(false) {
            return;
        }
        let (Ok(pos), Ok(size)) = (window.outer_position(), window.inner_size()) else { return };
        let maximized = window.is_maximized().unwrap_or(false);
        let g = WindowGeometry { x: pos.x, y: pos.y, width: size.width, height: size.height, maximized };
        match g.save(&data_dir) {
            Ok(()) => tracing::debug!(?g, "window geometry saved"),
            Err(e) => tracing::warn!(error = %e, "could not save the window geometry"),
        }
    });
}

/// A second start asked for the window: un-minimize, show, focus, and tell the UI.
pub fn bring_to_front<R: Runtime>(app: &tauri::AppHandle<R>) {
    let handle = app.clone();
    let scheduled = app.run_on_main_thread(move || {
        if let Some(window) = handle.get_webview_window(MAIN) {
            let _ = window.unminimize();
            let _ = window.show();
            if let Err(e) = window.set_focus() {
                tracing::debug!(error = %e, "could not focus the window");
            }
        }
        if let Err(e) = handle.emit(flexdesk_core::bindings::INSTANCE_ACTIVATED, ()) {
            tracing::debug!(error = %e, "could not tell the UI about a second start");
        }
    });
    if let Err(e) = scheduled {
        tracing::warn!(error = %e, "could not bring the window to the front");
    }
}
