//! One hand-written schema for both backends: generating it per backend
//! would give different types (e.g. `Integer` for SQLite keys).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        role -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    models (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        risk_appetite -> Text,
        tags -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    trust_zones (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        trust_rating -> Integer,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assets (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        owner -> Nullable<Text>,
        classification -> Nullable<Text>,
        cia_confidentiality -> Nullable<Text>,
        cia_integrity -> Nullable<Text>,
        cia_availability -> Nullable<Text>,
        business_criticality -> Nullable<Integer>,
        in_scope -> Bool,
        parent_id -> Nullable<Text>,
        trust_zone_id -> Nullable<Text>,
        tags -> Text,
        metadata -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        org_id -> Text,
        model_id -> Nullable<Text>,
        actor_key_id -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before_state -> Nullable<Text>,
        after_state -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (org_id, key) {
        org_id -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evaluation_entries (id) {
        id -> Text,
        model_id -> Text,
        kind -> Text,
        text -> Text,
        author -> Text,
        entry_date -> Text,
        tags -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    model_versions (id) {
        id -> Text,
        model_id -> Text,
        number -> BigInt,
        label -> Text,
        document -> Text,
        document_bytes -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> Text,
        model_id -> Text,
        version_id -> Nullable<Text>,
        formats -> Text,
        status -> Text,
        job_id -> Text,
        error -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    report_files (report_id, format) {
        report_id -> Text,
        format -> Text,
        content -> Text,
        bytes -> BigInt,
        sha256 -> Text,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        name -> Text,
        status_mapping -> Text,
        enabled -> Bool,
        outbound -> Nullable<Text>,
        outbound_token -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    integration_secrets (id) {
        id -> Text,
        integration_id -> Text,
        sealed -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    inbound_deliveries (integration_id, delivery_id) {
        integration_id -> Text,
        delivery_id -> Text,
        job_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        org_id -> Text,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    domain_events (id) {
        id -> Text,
        org_id -> Text,
        model_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        event_type -> Text,
        lane -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        job_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (delivery_id, attempt) {
        delivery_id -> Text,
        attempt -> Integer,
        started_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_requests (treatment_id) {
        treatment_id -> Text,
        integration_id -> Text,
        job_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> organizations (org_id));
diesel::joinable!(models -> organizations (org_id));
diesel::joinable!(assets -> models (model_id));
diesel::joinable!(trust_zones -> models (model_id));
diesel::joinable!(attack_tree_nodes -> attack_trees (tree_id));
diesel::joinable!(treatments -> models (model_id));
diesel::joinable!(reports -> models (model_id));
diesel::joinable!(integration_secrets -> integrations (integration_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    integrations,
    integration_secrets,
    inbound_deliveries,
    ticket_requests,
    webhook_subscriptions,
    domain_events,
    webhook_deliveries,
    webhook_attempts,
    api_keys,
    models,
    trust_zones,
    assets,
    audit_events,
    idempotency_keys,
    threat_actors,
    attack_trees,
    attack_tree_nodes,
    parties,
    party_assets,
    interactions,
    interaction_data_assets,
    treatments,
    evaluation_entries,
    model_versions,
    reports,
    report_files,
    threats,
    controls,
    record_links,
    jobs,
    outbox,
    risk_registers,
    risk_rows,
    risk_dirty,
);

diesel::table! {
    threat_actors (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        origin -> Text,
        category -> Text,
        intent -> Text,
        motivation -> Nullable<Text>,
        skill -> Nullable<Text>,
        resources -> Nullable<Text>,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attack_trees (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        goal -> Nullable<Text>,
        target_asset_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attack_tree_nodes (id) {
        id -> Text,
        tree_id -> Text,
        parent_id -> Nullable<Text>,
        link -> Text,
        position -> Integer,
        kind -> Text,
        label -> Text,
        cost -> Nullable<Double>,
        probability -> Nullable<Double>,
        time -> Nullable<Double>,
        skill -> Nullable<Double>,
        possible -> Nullable<Bool>,
        step -> Nullable<Text>,
        actor_id -> Nullable<Text>,
    }
}

diesel::table! {
    parties (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        kind -> Text,
        trust_level -> Text,
        trust_zone_id -> Nullable<Text>,
        services -> Text,
        data_processing_agreement -> Nullable<Bool>,
        last_assessment_date -> Nullable<Date>,
        last_assessment_result -> Nullable<Text>,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    party_assets (party_id, asset_id) {
        party_id -> Text,
        asset_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    interactions (id) {
        id -> Text,
        model_id -> Text,
        source_asset_id -> Nullable<Text>,
        source_party_id -> Nullable<Text>,
        destination_asset_id -> Nullable<Text>,
        destination_party_id -> Nullable<Text>,
        purpose -> Nullable<Text>,
        protocol -> Nullable<Text>,
        authenticated -> Bool,
        encrypted -> Bool,
        bidirectional -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    interaction_data_assets (interaction_id, asset_id) {
        interaction_id -> Text,
        asset_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    threats (id) {
        id -> Text,
        model_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        stride -> Text,
        method -> Text,
        assessment -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    controls (id) {
        id -> Text,
        model_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        control_type -> Text,
        category -> Text,
        status -> Text,
        effectiveness -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    record_links (owner_id, kind, target_id) {
        owner_id -> Text,
        kind -> Text,
        target_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        org_id -> Nullable<Text>,
        model_id -> Nullable<Text>,
        kind -> Text,
        status -> Text,
        attempts -> Integer,
        error -> Nullable<Text>,
        result -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        payload -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        payload -> Text,
        created_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    risk_registers (model_id) {
        model_id -> Text,
        revision -> BigInt,
        computed_revision -> BigInt,
        rows -> Text,
        computed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    risk_rows (model_id, threat_id) {
        model_id -> Text,
        threat_id -> Text,
        org_id -> Text,
        title -> Text,
        method -> Text,
        stride -> Text,
        inherent_score -> Double,
        inherent_severity -> Text,
        residual_score -> Double,
        residual_severity -> Text,
        residual_level -> Integer,
        projected_score -> Double,
        projected_severity -> Text,
        status -> Text,
        explanation -> Text,
        computed_revision -> BigInt,
        computed_at -> Timestamp,
        treatment_strategy -> Nullable<Text>,
        treatment_status -> Nullable<Text>,
    }
}

diesel::table! {
    risk_dirty (model_id, threat_id) {
        model_id -> Text,
        threat_id -> Text,
        revision -> BigInt,
    }
}

diesel::table! {
    treatments (id) {
        id -> Text,
        model_id -> Text,
        threat_id -> Text,
        strategy -> Text,
        status -> Text,
        rationale -> Nullable<Text>,
        owner -> Text,
        due_date -> Nullable<Text>,
        due_order -> Text,
        ticket_system -> Nullable<Text>,
        ticket_key -> Nullable<Text>,
        ticket_url -> Nullable<Text>,
        removed -> Nullable<Text>,
        counterparty_party_id -> Nullable<Text>,
        mechanism -> Nullable<Text>,
        transferred_share -> Nullable<Double>,
        justification -> Nullable<Text>,
        approver -> Nullable<Text>,
        expires_on -> Nullable<Text>,
        superseded_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
