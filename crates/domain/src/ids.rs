//! Typed identifiers: an asset id cannot be passed where a model id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id, so ids sort by creation.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// An organisation: the tenant boundary.
    OrgId
);
id_type!(ApiKeyId);
id_type!(ModelId);
id_type!(AssetId);
id_type!(TrustZoneId);
id_type!(AuditEventId);
id_type!(ThreatActorId);
id_type!(AttackTreeId);
id_type!(NodeId);
id_type!(PartyId);
id_type!(InteractionId);
id_type!(ThreatId);
id_type!(ControlId);
id_type!(JobId);
id_type!(TreatmentId);
id_type!(EvaluationEntryId);
id_type!(VersionId);
id_type!(ReportId);
id_type!(IntegrationId);
id_type!(IntegrationSecretId);
id_type!(SubscriptionId);
id_type!(DeliveryId);
id_type!(EventId);
