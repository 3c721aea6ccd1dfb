//! Conflicts among the listeners of one Gateway, its own and those its
//! ListenerSets contribute, given in precedence order (the Gateway's
//! first, then ListenerSets oldest first, then by namespace/name).
//!
//! Two listeners on one port conflict when their protocols differ
//! (`ProtocolConflict`; UDP never meets the TCP-based protocols, and HTTPS
//! and TLS share a port by SNI), or when nothing else tells them apart
//! (`HostnameConflict`: the same hostname, or any two TCP or UDP
//! listeners). Within one object every conflicting listener is marked, as
//! the Gateway spec requires (none is picked as the winner); across
//! objects the listener of higher precedence keeps its place and the later
//! one is marked.

use crate::kinds::ListenerProtocol;
use crate::listeners::{ListenerInfo, Owner, Problem};

/// Set `conflict` on every listener that loses a conflict. Listeners that
/// are not accepted (an unknown protocol, a bad port) bind nothing and take
/// no part.
///
/// First, in precedence order, a listener that clashes with an earlier
/// listener of another object loses to it (and, having lost, takes no
/// further part); then, among the listeners left, those of one object that
/// clash with each other are all marked.
pub fn mark(listeners: &mut [ListenerInfo]) {
    let n = listeners.len();
    for i in 0..n {
        let lost = (0..i).find_map(|j| {
            let (a, b) = (&listeners[i], &listeners[j]);
            let eligible = a.owner != b.owner && b.conflict.is_none() && takes_part(a, b);
            eligible.then(|| clash(a, b).map(|r| (r, j))).flatten()
        });
        if let Some((reason, j)) = lost {
            listeners[i].conflict = Some(describe(reason, &listeners[j]));
        }
    }
    let mut found: Vec<(usize, Problem)> = Vec::new();
    for i in 0..n {
        let hit = (0..n).find_map(|j| {
            let (a, b) = (&listeners[i], &listeners[j]);
            let eligible = i != j
                && a.owner == b.owner
                && a.conflict.is_none()
                && b.conflict.is_none()
                && takes_part(a, b);
            eligible.then(|| clash(a, b).map(|r| (r, j))).flatten()
        });
        if let Some((reason, j)) = hit {
            found.push((i, describe(reason, &listeners[j])));
        }
    }
    for (i, p) in found {
        listeners[i].conflict = Some(p);
    }
}

fn takes_part(a: &ListenerInfo, b: &ListenerInfo) -> bool {
    a.accepted.is_ok() && b.accepted.is_ok() && a.port == b.port
}

fn describe(reason: &'static str, b: &ListenerInfo) -> Problem {
    let whose = match &b.owner {
        Owner::Gateway => "the Gateway".to_owned(),
        Owner::ListenerSet(k) => format!("ListenerSet {k}"),
    };
    let what = match reason {
        "ProtocolConflict" => format!("uses port {} with protocol {}", b.port, b.protocol),
        _ => format!(
            "uses port {} with protocol {} and hostname {}",
            b.port, b.protocol, b.host
        ),
    };
    (reason, format!("listener {} of {whose} {what}", b.name))
}

/// Why listener `a` cannot share its port with `b`, if it cannot.
fn clash(a: &ListenerInfo, b: &ListenerInfo) -> Option<&'static str> {
    use ListenerProtocol as P;
    let udp = |p: &P| matches!(p, P::Udp);
    if udp(&a.protocol) != udp(&b.protocol) {
        return None;
    }
    let sni = |p: &P| matches!(p, P::Https | P::Tls);
    let same_family = a.protocol == b.protocol || (sni(&a.protocol) && sni(&b.protocol));
    if !same_family {
        Some("ProtocolConflict")
    } else if !a.protocol.uses_hostname() || a.host == b.host {
        Some("HostnameConflict")
    } else {
        None
    }
}
