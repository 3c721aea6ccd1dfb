//! Which GatewayClasses, and so which Gateways, belong to this controller.

use crate::objects::{ObjectKey, Objects};
use std::collections::BTreeSet;

/// The `spec.controllerName` this control plane answers to.
pub const CONTROLLER_NAME: &str = "shardgate.dev/gateway-controller";

/// The Gateway API conformance features shardgate implements, published
/// in each of its GatewayClasses' `status.supportedFeatures` (sorted, as
/// the API asks). A feature is listed once every conformance test made
/// only of listed features passes against the real binaries; CI runs the
/// conformance corpus with exactly this list and fails on any failure.
///
/// Not listed yet: everything TLS-passthrough/TCP/UDP/gRPC (TLSRoute,
/// TCPRoute, UDPRoute, GRPCRoute, BackendTLSPolicy), frontend client
/// certificate validation, misdirected-request detection, and the
/// HTTPRoute filters the translator still refuses (backend-level filters
/// other than header modifiers, ExtensionRef, ExternalAuth) or the data
/// plane lacks (retries, H2C and WebSocket backends), and
/// HTTPRouteRequestPercentageMirror (implemented; the runner cannot yet
/// run its statistical check, so it is not claimed).
pub const SUPPORTED_FEATURES: &[&str] = &[
    "Gateway",
    "GatewayAddressEmpty",
    "GatewayHTTPListenerIsolation",
    "GatewayPort8080",
    "HTTPRoute",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteParentRefPort",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteSchemeRedirect",
    "ListenerSet",
    "ReferenceGrant",
];

/// Names of the GatewayClasses whose controllerName is ours.
pub fn ours(objects: &Objects) -> BTreeSet<String> {
    objects
        .gateway_classes
        .iter()
        .filter(|(_, c)| c.spec.controller_name == CONTROLLER_NAME)
        .map(|(k, _)| k.name.clone())
        .collect()
}

/// Keys of the Gateways of our classes, in key order.
pub fn our_gateways(objects: &Objects, classes: &BTreeSet<String>) -> Vec<ObjectKey> {
    objects
        .gateways
        .iter()
        .filter(|(_, g)| classes.contains(&g.spec.gateway_class_name))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::SUPPORTED_FEATURES;

    #[test]
    fn supported_features_are_sorted_and_unique() {
        assert!(
            SUPPORTED_FEATURES.windows(2).all(|w| w[0] < w[1]),
            "status.supportedFeatures must be sorted without duplicates"
        );
    }
}
