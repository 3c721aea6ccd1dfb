//! Gateway API objects in, IR snapshot and status out.
//!
//! [`objects`] parses ordinary Kubernetes YAML into a store; [`translate`]
//! is a pure, deterministic function from that store to an IR
//! [`shardgate_ir::Snapshot`] and the status stanzas Kubernetes would hold.
//! The Gateway API rules live one concern per module: class ownership
//! ([`gatewayclass`]), listeners, attachment, hostnames, rules and
//! precedence ([`routes`]), backends, status.
#![forbid(unsafe_code)]

pub mod addresses;
pub mod attach;
pub mod backends;
pub mod certificates;
pub mod conflicts;
pub mod duration;
pub mod gatewayclass;
pub mod gateways;
pub mod grants;
pub mod hostnames;
pub mod kinds;
pub mod listeners;
pub mod objects;
pub mod refs;
pub mod routes;
pub mod routeview;
pub mod status;
mod translate;
mod view;

pub use gatewayclass::CONTROLLER_NAME;
pub use objects::{LoadError, Object, ObjectKey, Objects, ParsedFile, Source, parse_documents};
pub use status::{ObjectStatus, Status, StatusInputs};
pub use translate::{Translation, translate, translate_with};
pub use view::with_status;
