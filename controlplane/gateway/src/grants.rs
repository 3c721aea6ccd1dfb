//! ReferenceGrant: a reference from one namespace to an object in another
//! is allowed only when a ReferenceGrant in the target's namespace trusts
//! the referring kind and namespace (`from`) and names the target's kind,
//! and optionally its name (`to`). Grants are read on every translation, so
//! deleting one revokes the reference at once.

use crate::objects::Objects;

/// The object that holds the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct From<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
}

/// The object referred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct To<'a> {
    /// Empty for the core group (Service, Secret).
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// May `from` refer to `to`? Always within one namespace; across
/// namespaces only with a matching grant in `to.namespace`.
pub fn permitted(objects: &Objects, from: From<'_>, to: To<'_>) -> bool {
    if from.namespace == to.namespace {
        return true;
    }
    objects
        .reference_grants
        .iter()
        .filter(|(key, _)| key.namespace == to.namespace)
        .any(|(_, grant)| {
            let trusts = grant.spec.from.iter().any(|f| {
                f.group == from.group && f.kind == from.kind && f.namespace == from.namespace
            });
            let names = grant.spec.to.iter().any(|t| {
                t.group == to.group
                    && t.kind == to.kind
                    && t.name
                        .as_deref()
                        .is_none_or(|n| n.is_empty() || n == to.name)
            });
            trusts && names
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRANT: &str = "\
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: backends}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}
  to:
  - {group: \"\", kind: Service, name: web}
  - {group: \"\", kind: Secret}
";

    fn objects() -> Objects {
        let mut o = Objects::new();
        o.load_str("g.yaml", GRANT);
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        o
    }

    const ROUTE: From<'static> = From {
        group: "gateway.networking.k8s.io",
        kind: "HTTPRoute",
        namespace: "apps",
    };

    fn svc(namespace: &'static str, name: &'static str) -> To<'static> {
        To {
            group: "",
            kind: "Service",
            namespace,
            name,
        }
    }

    #[test]
    fn grant_must_match_every_part() {
        let o = objects();
        assert!(permitted(&o, ROUTE, svc("backends", "web")));
        assert!(
            !permitted(&o, ROUTE, svc("backends", "other")),
            "to.name limits"
        );
        assert!(
            !permitted(&o, ROUTE, svc("elsewhere", "web")),
            "grant lives in the target namespace"
        );
        let grpc = From {
            kind: "GRPCRoute",
            ..ROUTE
        };
        assert!(
            !permitted(&o, grpc, svc("backends", "web")),
            "from.kind limits"
        );
        let other_ns = From {
            namespace: "others",
            ..ROUTE
        };
        assert!(
            !permitted(&o, other_ns, svc("backends", "web")),
            "from.namespace limits"
        );
        let secret = To {
            kind: "Secret",
            ..svc("backends", "anything")
        };
        assert!(
            permitted(&o, ROUTE, secret),
            "no to.name: every object of the kind"
        );
        assert!(
            permitted(&Objects::new(), ROUTE, svc("apps", "x")),
            "same namespace needs no grant"
        );
        assert!(!permitted(&Objects::new(), ROUTE, svc("backends", "web")));
    }
}
