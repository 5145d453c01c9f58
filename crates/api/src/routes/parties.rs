//! Step 3 — parties: customers, employees, partners and third-party vendors.

use palisade_domain::environment::{Party, PartyFields, PartyKind, TrustLevel};
use palisade_domain::ids::{PartyId, TrustZoneId};
use palisade_store::parties::PartyFilter;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, CascadeParams, Resource};
use crate::respond::{list_params, list_type};

pub struct Parties;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    Parties,
    routes: routes,
    doc: ResourceDoc,
    tag: "environment",
    collection: "/api/v1/models/{model_id}/parties",
    item: "/api/v1/models/{model_id}/parties/{party_id}",
    id: "party_id",
    input: PartyFields,
    patch: PartyFields,
    record: Party,
    list: PartyList,
    params: PartyParams,
    delete_params: CascadeParams,
    create: (create_party, "createParty", "Create a party."),
    list_all: (list_parties, "listParties", "List the model's parties (by id unless sorted)."),
    get: (get_party, "getParty", "Get a party."),
    update: (patch, update_party, "updateParty", "Change a party (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_party, "deleteParty", "Delete a party; refused (409) while interactions use it unless `cascade=true`."),
);

impl Resource for Parties {
    type Record = Party;
    type Id = PartyId;
    type Input = PartyFields;
    type Fields = PartyFields;
    type Params = PartyParams;
    type Filter = PartyFilter;
    type List = PartyList;
    const SEGMENT: &'static str = "parties";

    fn fields(input: PartyFields) -> Result<PartyFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: PartyParams) -> Result<(PageRequest, PartyFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            PartyFilter {
                kind: q.kind,
                trust_level: q.trust_level,
                trust_zone_id: q.trust_zone_id,
            },
        ))
    }

    fn id_of(record: &Party) -> PartyId {
        record.id
    }

    store_calls!(@crud palisade_store::parties);
    store_calls!(@delete palisade_store::parties, cascade);
}

list_params!(PartyParams sorted by PartySort { "name", "kind", "trust_level", "created_at", "updated_at" } {
    kind: Option<PartyKind>,
    trust_level: Option<TrustLevel>,
    #[param(value_type = Option<uuid::Uuid>)]
    trust_zone_id: Option<TrustZoneId>,
});

list_type!(PartyList, Party);
