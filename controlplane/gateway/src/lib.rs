//! Gateway API objects in, IR snapshot and status out.
//!
//! [`objects`] parses ordinary Kubernetes YAML into a store; [`translate`]
//! is a pure, deterministic function from that store to an IR
//! [`shardgate_ir::Snapshot`] and the status stanzas Kubernetes would hold.
//! The Gateway API rules live one concern per module:
//!
//! * class ownership ([`gatewayclass`]); Gateways and the ListenerSets they
//!   allow ([`gateways`]); one listener ([`listeners`]), its certificates
//!   ([`certificates`]), the route kinds each protocol carries ([`kinds`]),
//!   conflicts between listeners ([`conflicts`]); addresses
//!   ([`addresses`]);
//! * every route kind through one shape ([`routeview`], [`refs`]);
//!   attachment to listeners ([`attach`]); hostnames ([`hostnames`]);
//!   HTTPRoute rules and precedence ([`routes`]); backends ([`backends`])
//!   and ReferenceGrants ([`grants`]);
//! * status ([`status`]).
//!
//! What is served: only HTTP listeners and HTTPRoutes reach the IR. HTTPS,
//! TLS, TCP and UDP listeners are validated and reported (Accepted, their
//! references resolved, routes of their kinds attached and counted) but are
//! `Programmed=False` with reason `UnsupportedProtocol`; routes of the
//! other kinds say in their Accepted message that they are not served.
//! Invalid input becomes a condition naming the problem and never takes a
//! valid listener or route out of the IR.
#![forbid(unsafe_code)]

pub mod addresses;
pub mod attach;
pub mod backends;
pub mod certificates;
pub mod conflicts;
pub mod duration;
pub mod filters;
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

pub use gatewayclass::{CONTROLLER_NAME, SUPPORTED_FEATURES};
pub use objects::{LoadError, Object, ObjectKey, Objects, ParsedFile, Source, parse_documents};
pub use status::{ObjectStatus, Status, StatusInputs};
pub use translate::{Translation, translate, translate_with};
pub use view::with_status;
