//! Which GatewayClasses, and so which Gateways, belong to this controller.

use crate::objects::{ObjectKey, Objects};
use std::collections::BTreeSet;

/// The `spec.controllerName` this control plane answers to.
pub const CONTROLLER_NAME: &str = "shardgate.dev/gateway-controller";

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
