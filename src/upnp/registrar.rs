//! X_MS_MediaReceiverRegistrar:1: Xbox and Windows Media Player ask whether
//! they may play; the answer is always yes.

use super::soap::{ActionCall, UpnpError};

pub const SERVICE_TYPE: &str = "urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1";

pub fn handle(call: &ActionCall) -> Result<Vec<(&'static str, String)>, UpnpError> {
    match call.action.as_str() {
        "IsAuthorized" | "IsValidated" => Ok(vec![("Result", "1".into())]),
        "RegisterDevice" => Ok(vec![("RegistrationRespMsg", String::new())]),
        other => Err(UpnpError::invalid_action(format!(
            "X_MS_MediaReceiverRegistrar has no action {other}"
        ))),
    }
}
