//! Step 3 — interactions: who or what talks to what, over which protocol, carrying which data.

use palisade_domain::environment::{Interaction, InteractionFields};
use palisade_domain::ids::InteractionId;
use palisade_store::interactions::InteractionFilter;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct Interactions;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    Interactions,
    routes: routes,
    doc: ResourceDoc,
    tag: "environment",
    collection: "/api/v1/models/{model_id}/interactions",
    item: "/api/v1/models/{model_id}/interactions/{interaction_id}",
    id: "interaction_id",
    input: InteractionFields,
    patch: InteractionFields,
    record: Interaction,
    list: InteractionList,
    params: InteractionParams,
    delete_params: NoParams,
    create: (create_interaction, "createInteraction", "Create an interaction."),
    list_all: (list_interactions, "listInteractions", "List the model's interactions (by id unless sorted)."),
    get: (get_interaction, "getInteraction", "Get an interaction."),
    update: (patch, update_interaction, "updateInteraction", "Change an interaction (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_interaction, "deleteInteraction", "Delete an interaction."),
);

impl Resource for Interactions {
    type Record = Interaction;
    type Id = InteractionId;
    type Input = InteractionFields;
    type Fields = InteractionFields;
    type Params = InteractionParams;
    type Filter = InteractionFilter;
    type List = InteractionList;
    const SEGMENT: &'static str = "interactions";

    fn fields(input: InteractionFields) -> Result<InteractionFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: InteractionParams) -> Result<(PageRequest, InteractionFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            InteractionFilter {
                crosses_trust_boundary: q.crosses_trust_boundary,
                authenticated: q.authenticated,
                encrypted: q.encrypted,
            },
        ))
    }

    fn id_of(record: &Interaction) -> InteractionId {
        record.id
    }

    store_calls!(palisade_store::interactions);
}

list_params!(InteractionParams sorted by InteractionSort { "created_at", "updated_at" } {
    crosses_trust_boundary: Option<bool>,
    authenticated: Option<bool>,
    encrypted: Option<bool>,
});

list_type!(InteractionList, Interaction);
