//! Gateway `spec.addresses` and `status.addresses`.
//!
//! The data plane binds every listener on all local addresses; which
//! address clients use is not known to the pure translator, so the caller
//! says it ([`crate::StatusInputs::gateway_address`], e.g. the node's IP).
//! A requested address is usable when it is that address; an entry of type
//! `IPAddress` (or without type) with no value asks for any address and is
//! satisfied by it. Types other than `IPAddress` and `Hostname` are not
//! supported. Addresses only affect conditions, never the IR: the
//! listeners keep serving.

use gateway_api::gateways::GatewayAddresses;
use gateway_api::gateways::GatewayStatusAddresses;
use std::net::IpAddr;

/// What the addresses say about a Gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressVerdict {
    /// `Err((UnsupportedAddress, message))` for the Gateway's Accepted.
    pub accepted: Result<(), (&'static str, String)>,
    /// `Err((AddressNotUsable | AddressNotAssigned, message))` for its
    /// Programmed.
    pub usable: Result<(), (&'static str, String)>,
    /// `status.addresses`.
    pub status: Vec<GatewayStatusAddresses>,
}

fn typed(value: &str) -> GatewayStatusAddresses {
    let kind = if value.parse::<IpAddr>().is_ok() {
        "IPAddress"
    } else {
        "Hostname"
    };
    GatewayStatusAddresses {
        r#type: Some(kind.to_owned()),
        value: value.to_owned(),
    }
}

pub fn check(spec: &[GatewayAddresses], assigned: Option<&str>) -> AddressVerdict {
    let mut unsupported = Vec::new();
    let mut unusable = Vec::new();
    let mut status = Vec::new();
    for a in spec {
        let kind = a.r#type.as_deref().unwrap_or("IPAddress");
        let value = a.value.as_deref().unwrap_or("");
        match kind {
            "IPAddress" | "Hostname" => {}
            other => {
                unsupported.push(format!("{other} {value:?}"));
                continue;
            }
        }
        match assigned {
            Some(ours) if value.is_empty() || value == ours => {
                if !status
                    .iter()
                    .any(|s: &GatewayStatusAddresses| s.value == ours)
                {
                    status.push(GatewayStatusAddresses {
                        r#type: Some(kind.to_owned()),
                        value: ours.to_owned(),
                    });
                }
            }
            _ => unusable.push(format!("{kind} {value:?}")),
        }
    }
    if spec.is_empty()
        && let Some(ours) = assigned
    {
        status.push(typed(ours));
    }
    let accepted = if unsupported.is_empty() {
        Ok(())
    } else {
        Err((
            "UnsupportedAddress",
            format!(
                "address types not supported (only IPAddress and Hostname are): {}",
                unsupported.join(", ")
            ),
        ))
    };
    let usable = if !unusable.is_empty() {
        Err((
            "AddressNotUsable",
            format!(
                "requested addresses this data plane does not serve on: {}",
                unusable.join(", ")
            ),
        ))
    } else if assigned.is_none() {
        Err((
            "AddressNotAssigned",
            "no address is known for the data plane".to_owned(),
        ))
    } else {
        Ok(())
    };
    AddressVerdict {
        accepted,
        usable,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(t: Option<&str>, v: Option<&str>) -> GatewayAddresses {
        GatewayAddresses {
            r#type: t.map(str::to_owned),
            value: v.map(str::to_owned),
        }
    }

    #[test]
    fn no_request_reports_the_assigned_address() {
        let v = check(&[], Some("192.0.2.7"));
        assert_eq!(v.accepted, Ok(()));
        assert_eq!(v.usable, Ok(()));
        assert_eq!(v.status, vec![typed("192.0.2.7")]);
        assert_eq!(typed("gw.example").r#type.as_deref(), Some("Hostname"));
        assert_eq!(
            check(&[], None).usable.map_err(|e| e.0),
            Err("AddressNotAssigned")
        );
    }

    #[test]
    fn empty_value_is_satisfied_by_the_assigned_address() {
        let v = check(&[addr(Some("IPAddress"), None)], Some("192.0.2.7"));
        assert_eq!(v.usable, Ok(()));
        assert_eq!(v.status.len(), 1);
    }

    #[test]
    fn unsupported_and_unusable() {
        let v = check(
            &[
                addr(Some("test/fake-invalid-type"), Some("x")),
                addr(None, Some("198.51.100.1")),
                addr(Some("IPAddress"), Some("192.0.2.7")),
            ],
            Some("192.0.2.7"),
        );
        assert_eq!(v.accepted.map_err(|e| e.0), Err("UnsupportedAddress"));
        assert_eq!(v.usable.map_err(|e| e.0), Err("AddressNotUsable"));
        assert_eq!(v.status, vec![typed("192.0.2.7")]);
    }
}
