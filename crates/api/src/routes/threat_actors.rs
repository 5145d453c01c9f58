//! Step 2 — threat actors.

use palisade_domain::ids::ThreatActorId;
use palisade_domain::threat_actor::{
    ActorCategory, Intent, Origin, SkillLevel, ThreatActor, ThreatActorFields,
};
use palisade_store::threat_actors::ActorFilter;
use palisade_store::PageRequest;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct ThreatActors;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    ThreatActors,
    routes: routes,
    doc: ResourceDoc,
    tag: "threats",
    collection: "/api/v1/models/{model_id}/threat-actors",
    item: "/api/v1/models/{model_id}/threat-actors/{actor_id}",
    id: "actor_id",
    input: ThreatActorFields,
    patch: ThreatActorPatch,
    record: ThreatActor,
    list: ThreatActorList,
    params: ActorParams,
    delete_params: NoParams,
    create: (create_threat_actor, "createThreatActor", "Add a threat actor to the model."),
    list_all: (list_threat_actors, "listThreatActors", "List the model's threat actors (by id unless sorted)."),
    get: (get_threat_actor, "getThreatActor", "Get a threat actor."),
    update: (patch, update_threat_actor, "updateThreatActor", "Change a threat actor (JSON merge patch)."),
    delete: (delete_threat_actor, "deleteThreatActor", "Delete a threat actor; attack-tree leaves that named it keep their place, unlinked."),
);

impl Resource for ThreatActors {
    type Record = ThreatActor;
    type Id = ThreatActorId;
    type Input = ThreatActorFields;
    type Fields = ThreatActorFields;
    type Params = ActorParams;
    type Filter = ActorFilter;
    type List = ThreatActorList;
    const SEGMENT: &'static str = "threat-actors";

    fn fields(input: ThreatActorFields) -> Result<ThreatActorFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: ActorParams) -> Result<(PageRequest, ActorFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            ActorFilter {
                origin: q.origin,
                category: q.category,
                intent: q.intent,
            },
        ))
    }

    fn id_of(record: &ThreatActor) -> ThreatActorId {
        record.id
    }

    store_calls!(palisade_store::threat_actors);
}

list_params!(ActorParams sorted by ThreatActorSort { "name", "origin", "category", "intent", "created_at", "updated_at" } {
    origin: Option<Origin>,
    category: Option<ActorCategory>,
    intent: Option<Intent>,
});

list_type!(ThreatActorList, ThreatActor);

/// The writable fields of a threat actor, all optional: a JSON merge patch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ThreatActorPatch {
    name: Option<String>,
    origin: Option<Origin>,
    category: Option<ActorCategory>,
    intent: Option<Intent>,
    motivation: Option<String>,
    #[schema(schema_with = palisade_domain::threat_actor::skill_schema)]
    skill: Option<SkillLevel>,
    resources: Option<String>,
    description: Option<String>,
}
