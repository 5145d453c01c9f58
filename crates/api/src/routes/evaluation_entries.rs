//! Step 6 — evaluation entries: findings, fixes applied, successes and
//! lessons learned, linked to the records they speak of.

use palisade_domain::evaluation::{EntryKind, EvaluationEntry, EvaluationEntryFields};
use palisade_domain::ids::EvaluationEntryId;
use palisade_store::evaluation_entries::EntryFilter;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct EvaluationEntries;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    EvaluationEntries,
    routes: routes,
    doc: ResourceDoc,
    tag: "evaluation",
    collection: "/api/v1/models/{model_id}/evaluation-entries",
    item: "/api/v1/models/{model_id}/evaluation-entries/{entry_id}",
    id: "entry_id",
    input: EvaluationEntryFields,
    patch: EvaluationEntryFields,
    record: EvaluationEntry,
    list: EvaluationEntryList,
    params: EvaluationEntryParams,
    delete_params: NoParams,
    create: (create_evaluation_entry, "createEvaluationEntry", "Record a finding, a fix applied, a success or a lesson learned."),
    list_all: (list_evaluation_entries, "listEvaluationEntries", "List the model's evaluation entries (by id unless sorted)."),
    get: (get_evaluation_entry, "getEvaluationEntry", "Get an evaluation entry."),
    update: (patch, update_evaluation_entry, "updateEvaluationEntry", "Change an evaluation entry (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_evaluation_entry, "deleteEvaluationEntry", "Delete an evaluation entry."),
);

impl Resource for EvaluationEntries {
    type Record = EvaluationEntry;
    type Id = EvaluationEntryId;
    type Input = EvaluationEntryFields;
    type Fields = EvaluationEntryFields;
    type Params = EvaluationEntryParams;
    type Filter = EntryFilter;
    type List = EvaluationEntryList;
    const SEGMENT: &'static str = "evaluation-entries";

    fn fields(input: EvaluationEntryFields) -> Result<EvaluationEntryFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: EvaluationEntryParams) -> Result<(PageRequest, EntryFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            EntryFilter {
                kind: q.kind,
                tag: q.tag,
                author: q.author,
                threat_id: q.threat_id.map(|i| i.to_string()),
                treatment_id: q.treatment_id.map(|i| i.to_string()),
            },
        ))
    }

    fn id_of(record: &EvaluationEntry) -> EvaluationEntryId {
        record.id
    }

    store_calls!(palisade_store::evaluation_entries);
}

list_params!(EvaluationEntryParams sorted by EvaluationEntrySort { "kind", "author", "date", "created_at", "updated_at" } {
    kind: Option<EntryKind>,
    /// Only entries carrying this tag.
    tag: Option<String>,
    /// Only entries written by this author (exact).
    author: Option<String>,
    /// Only entries naming this threat.
    threat_id: Option<uuid::Uuid>,
    /// Only entries naming this treatment.
    treatment_id: Option<uuid::Uuid>,
});

list_type!(EvaluationEntryList, EvaluationEntry);
