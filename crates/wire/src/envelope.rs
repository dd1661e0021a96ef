//! The generic response envelope and the error shapes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The envelope every non-SFTP response carries (`success`, `result`, `status`, ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseEnvelope {
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub status: Option<serde_json::Value>,
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    #[serde(default)]
    pub custom_properties: BTreeMap<String, String>,
}

/// ASP.NET ValidationProblemDetails, the documented error form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    pub status: u16,
    pub title: String,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
}
