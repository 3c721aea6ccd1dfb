//! Conformance features: the claimed set (shardgate publishes its own in
//! its GatewayClass's `status.supportedFeatures`), and the profiles of the
//! official suite (`conformance/utils/suite/profiles.go`, as summarised in
//! the corpus INDEX.md).

use std::collections::BTreeSet;

/// One conformance profile.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub core: &'static [&'static str],
    /// The extended features, as the union of these sets.
    pub extended: &'static [&'static [&'static str]],
}

const GATEWAY_EXTENDED: &[&str] = &[
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "GatewayHTTPListenerIsolation",
    "GatewayHTTPSListenerDetectMisdirectedRequests",
    "GatewayInfrastructurePropagation",
    "GatewayAddressEmpty",
    "GatewayBackendClientCertificate",
    "GatewayFrontendClientCertificateValidation",
    "GatewayFrontendClientCertificateValidationInsecureFallback",
    "ListenerSet",
];

const HTTPROUTE_EXTENDED: &[&str] = &[
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteMethodMatching",
    "HTTPRouteResponseHeaderModification",
    "HTTPRoutePortRedirect",
    "HTTPRouteSchemeRedirect",
    "HTTPRoutePathRedirect",
    "HTTPRouteHostRewrite",
    "HTTPRoutePathRewrite",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteBackendTimeout",
    "HTTPRouteParentRefPort",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteCORS",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendURLRewrite",
    "HTTPRouteBackendRequestRedirect",
    "HTTPRouteRetry",
    "HTTPRouteRetryBackendTimeout",
    "HTTPRouteRetryConnectionError",
];

const BACKEND_TLS: &[&str] = &["BackendTLSPolicy", "BackendTLSPolicySANValidation"];

/// Profiles in the order the runner reports them.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "GATEWAY-HTTP",
        core: &["Gateway", "ReferenceGrant", "HTTPRoute"],
        extended: &[GATEWAY_EXTENDED, HTTPROUTE_EXTENDED, BACKEND_TLS],
    },
    Profile {
        name: "GATEWAY-TLS",
        core: &["Gateway", "ReferenceGrant", "TLSRoute"],
        extended: &[
            GATEWAY_EXTENDED,
            &["TLSRouteModeTerminate", "TLSRouteModeMixed"],
            BACKEND_TLS,
        ],
    },
    Profile {
        name: "GATEWAY-GRPC",
        core: &["Gateway", "ReferenceGrant", "GRPCRoute"],
        extended: &[GATEWAY_EXTENDED, BACKEND_TLS],
    },
    Profile {
        name: "GATEWAY-TCP",
        core: &["Gateway", "TCPRoute", "ReferenceGrant"],
        extended: &[GATEWAY_EXTENDED, &["TCPRoute"]],
    },
    Profile {
        name: "GATEWAY-UDP",
        core: &["Gateway", "UDPRoute", "ReferenceGrant"],
        extended: &[GATEWAY_EXTENDED, &["UDPRoute"]],
    },
];

/// Find a profile by name (case-insensitive).
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Profile {
    /// Is every feature of the test in this profile?
    pub fn contains_all(&self, features: &[String]) -> bool {
        features
            .iter()
            .all(|f| self.core.contains(&f.as_str()) || self.is_extended_feature(f))
    }

    /// Is `f` one of this profile's extended features?
    pub fn is_extended_feature(&self, f: &str) -> bool {
        self.extended.iter().any(|set| set.contains(&f))
    }

    /// Every extended feature, sorted and without duplicates.
    pub fn extended_features(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self
            .extended
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        set.into_iter().collect()
    }

    /// Does the test use a non-core feature of this profile?
    pub fn is_extended_test(&self, features: &[String]) -> bool {
        features.iter().any(|f| !self.core.contains(&f.as_str()))
    }
}

/// The claimed feature set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claimed(BTreeSet<String>);

impl Claimed {
    pub fn new<I, S>(features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Claimed(features.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, f: &str) -> bool {
        self.0.contains(f)
    }

    /// The test's features that are not claimed, in the test's order.
    pub fn missing<'a>(&self, features: &'a [String]) -> Vec<&'a str> {
        features
            .iter()
            .filter(|f| !self.0.contains(f.as_str()))
            .map(String::as_str)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn missing_features_are_named_in_test_order() {
        let c = Claimed::new(["Gateway", "HTTPRoute"]);
        let f = v(&["Gateway", "HTTPRoute", "ReferenceGrant", "HTTPRouteCORS"]);
        assert_eq!(c.missing(&f), ["ReferenceGrant", "HTTPRouteCORS"]);
        assert!(c.missing(&v(&["HTTPRoute", "Gateway"])).is_empty());
    }

    #[test]
    fn profile_membership_and_extended_tests() {
        let http = profile("gateway-http").expect("GATEWAY-HTTP exists");
        assert!(http.contains_all(&v(&["Gateway", "HTTPRoute"])));
        assert!(!http.is_extended_test(&v(&["Gateway", "HTTPRoute"])));
        assert!(http.contains_all(&v(&["Gateway", "HTTPRoute", "HTTPRouteCORS"])));
        assert!(http.is_extended_test(&v(&["Gateway", "HTTPRoute", "HTTPRouteCORS"])));
        // HTTPRoute + TLSRoute is in no profile.
        assert!(!http.contains_all(&v(&["Gateway", "HTTPRoute", "TLSRoute"])));
        let tls = profile("GATEWAY-TLS").expect("GATEWAY-TLS exists");
        assert!(!tls.contains_all(&v(&["Gateway", "HTTPRoute", "TLSRoute"])));
        // GRPCRouteNamedRouteRule is in no profile.
        let grpc = profile("GATEWAY-GRPC").expect("GATEWAY-GRPC exists");
        assert!(!grpc.contains_all(&v(&["Gateway", "GRPCRoute", "GRPCRouteNamedRouteRule"])));
    }
}
