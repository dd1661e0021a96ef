use flexdesk_core::bindings::COMMANDS;
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::MemoryStore;
use std::sync::Arc;
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::Manager;

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    get_ipc_response(
        webview,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|r| r.deserialize::<serde_json::Value>().unwrap())
}

fn mock_app() -> (tauri::App<tauri::test::MockRuntime>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let core = AppCore::open(CoreConfig::new(dir.path().to_path_buf(), Arc::new(MemoryStore::new()))).unwrap();
    let app = super::with_commands(mock_builder()).build(mock_context(noop_assets())).unwrap();
    app.manage(core);
    (app, dir)
}

#[test]
fn every_declared_command_has_a_handler() {
    let (app, _dir) = mock_app();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    for spec in COMMANDS {
        let result = invoke(&webview, spec.name, serde_json::json!({}));
        if let Err(e) = result {
            let text = e.to_string();
            assert!(!text.contains("not found"), "command {} has no handler: {text}", spec.name);
        }
    }
}

#[test]
fn errors_cross_ipc_as_code_and_message() {
    let (app, _dir) = mock_app();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let err = invoke(
        &webview,
        "list_orders",
        serde_json::json!({"query": {"state": null, "search": null, "offset": 0, "limit": 10}}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "no_account");
    assert!(err["message"].as_str().unwrap().contains("Accounts"));
}

#[test]
fn app_status_answers_before_any_account_is_open() {
    let (app, _dir) = mock_app();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let status = invoke(&webview, "app_status", serde_json::json!({})).unwrap();
    assert_eq!(status["totalRows"], 0);
    assert_eq!(status["sync"]["phase"], "idle");
    assert!(status["account"].is_null());
}
