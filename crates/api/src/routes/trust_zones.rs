//! Step 3 — trust zones.

use palisade_domain::environment::{TrustZone, TrustZoneFields};
use palisade_domain::ids::TrustZoneId;
use palisade_store::trust_zones::TrustZoneFilter;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct TrustZones;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    TrustZones,
    routes: routes,
    doc: ResourceDoc,
    tag: "environment",
    collection: "/api/v1/models/{model_id}/trust-zones",
    item: "/api/v1/models/{model_id}/trust-zones/{zone_id}",
    id: "zone_id",
    input: TrustZoneFields,
    patch: TrustZoneFields,
    record: TrustZone,
    list: TrustZoneList,
    params: TrustZoneParams,
    delete_params: NoParams,
    create: (create_trust_zone, "createTrustZone", "Create a trust zone."),
    list_all: (list_trust_zones, "listTrustZones", "List the model's trust zones (by id unless sorted)."),
    get: (get_trust_zone, "getTrustZone", "Get a trust zone."),
    update: (patch, update_trust_zone, "updateTrustZone", "Change a trust zone (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_trust_zone, "deleteTrustZone", "Delete a trust zone. Assets and parties in it are left in no zone."),
);

impl Resource for TrustZones {
    type Record = TrustZone;
    type Id = TrustZoneId;
    type Input = TrustZoneFields;
    type Fields = TrustZoneFields;
    type Params = TrustZoneParams;
    type Filter = TrustZoneFilter;
    type List = TrustZoneList;
    const SEGMENT: &'static str = "trust-zones";

    fn fields(input: TrustZoneFields) -> Result<TrustZoneFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: TrustZoneParams) -> Result<(PageRequest, TrustZoneFilter), ApiError> {
        let page = q.page()?;
        Ok((page, TrustZoneFilter { name: q.name }))
    }

    fn id_of(record: &TrustZone) -> TrustZoneId {
        record.id
    }

    store_calls!(palisade_store::trust_zones);
}

list_params!(TrustZoneParams sorted by TrustZoneSort { "name", "trust_rating", "created_at", "updated_at" } {
    /// Only zones with exactly this name.
    name: Option<String>,
});

list_type!(TrustZoneList, TrustZone);
