fn main() {
    // src-tauri/tauri.conf.json is a symlink to ../tauri.conf.json (the repository root).
    tauri_build::build()
}
