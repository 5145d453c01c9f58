//! `palisade demo`: a complete, realistic example — a card-payments
//! platform taken through all six steps — written through the same
//! conversions and store calls as the HTTP API, then its evaluation report
//! rendered by the `generate_report` job and written to a folder.

use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use palisade_api::resource::Resource;
use palisade_api::routes::{
    assets::Assets, attack_trees::AttackTrees, controls::Controls,
    evaluation_entries::EvaluationEntries, interactions::Interactions, models::Models,
    parties::Parties, threat_actors::ThreatActors, threats::Threats, treatments::Treatments,
    trust_zones::TrustZones,
};
use palisade_domain::ids::{ModelId, ReportId};
use palisade_domain::report::{ReportFormat, ReportInput};
use palisade_domain::treatment::TreatmentStatus;
use palisade_store::{orgs, reports, Actor, DbConn, Store};
use serde_json::{json, Value};

/// What the demo made.
pub struct Outcome {
    pub model_id: ModelId,
    pub report_id: ReportId,
    pub files: Vec<PathBuf>,
}

struct Demo<'a> {
    conn: &'a mut DbConn,
    actor: Actor,
    model: ModelId,
}

impl Demo<'_> {
    /// One record, as `POST` would create it; its id.
    fn add<R: Resource<Parent = ModelId>>(&mut self, body: Value) -> Result<String, String> {
        let what = format!("{} {body}", R::SEGMENT);
        let input: R::Input = serde_json::from_value(body).map_err(|e| format!("{what}: {e}"))?;
        let fields = R::fields(input).map_err(|e| format!("{what}: {e}"))?;
        let record = R::create(self.conn, &self.actor, self.model, None, fields)
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(R::id_of(&record).to_string())
    }

    fn advance(&mut self, treatment: &str, to: &[TreatmentStatus]) -> Result<(), String> {
        let id = treatment.parse().map_err(|e| format!("{e}"))?;
        for status in to {
            palisade_store::treatments::move_to(
                self.conn,
                &self.actor,
                self.model,
                id,
                None,
                *status,
                Some(format!("demo: moved to {status}")),
            )
            .map_err(|e| format!("moving treatment {treatment} to {status}: {e}"))?;
        }
        Ok(())
    }
}

/// Builds the example in organisation `org` and writes its report to `out`.
pub fn run(store: &Store, org: &str, out: &Path, today: NaiveDate) -> Result<Outcome, String> {
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let organization = orgs::get_or_create(&mut conn, org).map_err(|e| e.to_string())?;
    let actor = Actor::system(organization.id);
    let model_fields = Models::fields(
        serde_json::from_value(json!({
            "name": "Payments platform",
            "description": "Card payments for online merchants: checkout, the payments API, the card vault and settlement with the acquiring bank.",
            "risk_appetite": "medium",
            "tags": ["pci-dss", "demo"]
        }))
        .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let model = palisade_store::models::create(&mut conn, &actor, model_fields)
        .map_err(|e| e.to_string())?
        .id;
    let mut d = Demo {
        conn: &mut conn,
        actor,
        model,
    };
    let days = |n: u64| (today + Days::new(n)).to_string();
    let ago = |n: u64| (today - Days::new(n)).to_string();

    // Step 3's zones first: assets sit in them.
    let internet = d.add::<TrustZones>(
        json!({"name": "Internet", "trust_rating": 0, "description": "Anyone, anywhere."}),
    )?;
    let dmz = d.add::<TrustZones>(json!({"name": "DMZ", "trust_rating": 40, "description": "Edge services reachable from the internet."}))?;
    let cde = d.add::<TrustZones>(json!({"name": "Cardholder data environment", "trust_rating": 95, "description": "PCI DSS scope: the vault and the HSMs."}))?;
    let corp = d.add::<TrustZones>(json!({"name": "Corporate network", "trust_rating": 60}))?;

    // Step 1: scope.
    let vault = d.add::<Assets>(json!({"name": "Card vault", "kind": "data", "classification": "restricted",
        "owner": "Payments platform team", "business_criticality": 5, "trust_zone_id": cde, "tags": ["pci"],
        "cia": {"confidentiality": "high", "integrity": "high", "availability": "high"},
        "description": "Primary account numbers, tokenised at rest."}))?;
    let api = d.add::<Assets>(
        json!({"name": "Payments API", "kind": "service", "classification": "confidential",
        "owner": "Payments platform team", "business_criticality": 5, "trust_zone_id": dmz,
        "cia": {"confidentiality": "high", "integrity": "high", "availability": "high"}}),
    )?;
    let checkout = d.add::<Assets>(
        json!({"name": "Checkout web app", "kind": "application", "classification": "internal",
        "owner": "Checkout team", "business_criticality": 4, "trust_zone_id": dmz,
        "cia": {"confidentiality": "medium", "integrity": "high", "availability": "high"}}),
    )?;
    let dashboard = d.add::<Assets>(json!({"name": "Merchant dashboard", "kind": "application", "classification": "confidential",
        "owner": "Merchant experience team", "business_criticality": 3, "trust_zone_id": dmz,
        "cia": {"confidentiality": "high", "integrity": "medium", "availability": "medium"}}))?;
    let settlement = d.add::<Assets>(
        json!({"name": "Settlement batch", "kind": "process", "classification": "confidential",
        "owner": "Finance engineering", "business_criticality": 4, "trust_zone_id": cde}),
    )?;
    let pii = d.add::<Assets>(
        json!({"name": "Customer profiles", "kind": "data", "classification": "restricted",
        "owner": "Data protection officer", "business_criticality": 4, "trust_zone_id": cde,
        "cia": {"confidentiality": "high", "integrity": "medium", "availability": "medium"}}),
    )?;
    let hsm = d.add::<Assets>(
        json!({"name": "HSM cluster", "kind": "infrastructure", "classification": "restricted",
        "owner": "Payments platform team", "business_criticality": 5, "trust_zone_id": cde}),
    )?;
    let export = d.add::<Assets>(
        json!({"name": "Legacy CSV export", "kind": "application", "classification": "confidential",
        "owner": "Merchant experience team", "business_criticality": 1, "trust_zone_id": corp}),
    )?;

    // Step 2: actors and two attack trees.
    let crew = d.add::<ThreatActors>(json!({"name": "Card-fraud crew", "origin": "external", "category": "cybercriminal",
        "intent": "malicious", "skill": 4, "motivation": "Sell card numbers on carding markets.", "resources": "Botnets, bought credentials"}))?;
    let insider = d.add::<ThreatActors>(
        json!({"name": "Disgruntled support agent", "origin": "internal", "category": "employee",
        "intent": "malicious", "skill": 2, "motivation": "Revenge, or a bribe."}),
    )?;
    let vendor_actor = d.add::<ThreatActors>(json!({"name": "Compromised fraud-scoring vendor", "origin": "external", "category": "partner",
        "intent": "accidental", "skill": 3}))?;
    let steal = d.add::<AttackTrees>(json!({"name": "Steal card data", "goal": "Exfiltrate primary account numbers from the card vault.",
        "target_asset_id": vault,
        "root": {"kind": "or", "label": "Exfiltrate card numbers", "children": [
            {"kind": "leaf", "label": "SQL injection in the payments API", "attributes": {"cost": 500, "probability": 0.3, "time": 2, "skill": 4}},
            {"kind": "and", "label": "Take over an admin account", "children": [
                {"kind": "leaf", "label": "Phish an administrator", "attributes": {"cost": 200, "probability": 0.4, "time": 5, "skill": 2},
                 "countermeasure": {"kind": "defense", "label": "Phishing-resistant MFA", "attributes": {"probability": 0.9}}},
                {"kind": "leaf", "label": "Bypass the admin VPN", "attributes": {"cost": 1000, "probability": 0.2, "time": 3, "skill": 4}}]},
            {"kind": "leaf", "label": "Steal a backup tape", "attributes": {"cost": 3000, "probability": 0.05, "time": 10, "skill": 1}}]}}))?;
    let refunds = d.add::<AttackTrees>(json!({"name": "Refund fraud", "goal": "Move money out through fraudulent refunds.",
        "target_asset_id": settlement,
        "root": {"kind": "or", "label": "Issue fraudulent refunds", "children": [
            {"kind": "leaf", "label": "Insider issues refunds to own cards", "attributes": {"cost": 0, "probability": 0.1, "time": 1, "skill": 1}},
            {"kind": "sand", "label": "Abuse the dashboard", "children": [
                {"kind": "leaf", "label": "Stuff merchant credentials", "attributes": {"cost": 100, "probability": 0.5, "time": 1, "skill": 1}},
                {"kind": "leaf", "label": "Script refund requests", "attributes": {"cost": 50, "probability": 0.6, "time": 1, "skill": 2}}]}]}}))?;

    // Step 3: who interacts with the platform.
    let customers = d.add::<Parties>(
        json!({"name": "Card holders", "kind": "customer", "trust_level": "untrusted",
        "trust_zone_id": internet, "services": ["checkout"]}),
    )?;
    let support = d.add::<Parties>(
        json!({"name": "Support agents", "kind": "employee", "trust_level": "partially_trusted",
        "trust_zone_id": corp, "services": ["refunds", "merchant support"]}),
    )?;
    let bank = d.add::<Parties>(
        json!({"name": "Acquiring bank", "kind": "partner", "trust_level": "partially_trusted",
        "trust_zone_id": internet, "services": ["settlement"]}),
    )?;
    let scoring = d.add::<Parties>(
        json!({"name": "FraudScore Inc.", "kind": "vendor", "trust_level": "partially_trusted",
        "trust_zone_id": internet, "services": ["fraud scoring"]}),
    )?;
    let insurer = d.add::<Parties>(
        json!({"name": "Cyber insurer", "kind": "vendor", "trust_level": "trusted",
        "services": ["cyber insurance"]}),
    )?;
    let pay = d.add::<Interactions>(json!({"source": {"party_id": customers}, "destination": {"asset_id": checkout},
        "purpose": "Pay for an order", "protocol": "HTTPS", "authenticated": false, "encrypted": true}))?;
    d.add::<Interactions>(json!({"source": {"asset_id": checkout}, "destination": {"asset_id": api},
        "purpose": "Authorise a payment", "protocol": "HTTPS", "authenticated": true, "encrypted": true}))?;
    let tokenise = d.add::<Interactions>(
        json!({"source": {"asset_id": api}, "destination": {"asset_id": vault},
        "purpose": "Tokenise and store a card", "protocol": "mTLS", "data_asset_ids": [vault],
        "authenticated": true, "encrypted": true}),
    )?;
    let score_flow = d.add::<Interactions>(
        json!({"source": {"asset_id": api}, "destination": {"party_id": scoring},
        "purpose": "Score a transaction for fraud", "protocol": "HTTPS", "data_asset_ids": [pii],
        "authenticated": true, "encrypted": true}),
    )?;
    d.add::<Interactions>(json!({"source": {"asset_id": settlement}, "destination": {"party_id": bank},
        "purpose": "Daily settlement file", "protocol": "SFTP", "authenticated": true, "encrypted": true}))?;
    d.add::<Interactions>(json!({"source": {"party_id": support}, "destination": {"asset_id": dashboard},
        "purpose": "Refunds and merchant support", "protocol": "HTTPS", "authenticated": true, "encrypted": true}))?;

    // Step 4: threats in four methods (and two attack trees), and controls.
    let sqli = d.add::<Threats>(json!({"title": "SQL injection exposes card data", "stride": "information_disclosure",
        "description": "An unparameterised query in the refunds endpoint reaches the vault.",
        "asset_ids": [api, vault], "actor_ids": [crew], "interaction_ids": [tokenise],
        "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}}))?;
    let takeover = d.add::<Threats>(
        json!({"title": "Admin account takeover", "stride": "elevation_of_privilege",
        "asset_ids": [vault, hsm], "actor_ids": [crew],
        "assessment": {"method": "attack_tree", "tree_id": steal, "impact": "very_high"}}),
    )?;
    let refund = d.add::<Threats>(
        json!({"title": "Refund fraud through the dashboard", "stride": "tampering",
        "asset_ids": [dashboard, settlement], "actor_ids": [insider, crew],
        "assessment": {"method": "attack_tree", "tree_id": refunds, "impact": "high"}}),
    )?;
    let skimming = d.add::<Threats>(json!({"title": "Card skimming script in checkout", "stride": "information_disclosure",
        "asset_ids": [checkout], "actor_ids": [crew], "interaction_ids": [pay],
        "assessment": {"method": "owasp",
            "likelihood": {"skill_level": 6, "motive": 9, "opportunity": 7, "size": 9, "ease_of_discovery": 6, "ease_of_exploit": 5, "awareness": 6, "intrusion_detection": 8},
            "technical_impact": {"loss_of_confidentiality": 7, "loss_of_integrity": 5, "loss_of_availability": 1, "loss_of_accountability": 7}}}))?;
    let vendor_breach = d.add::<Threats>(json!({"title": "Fraud-scoring vendor leaks customer profiles", "stride": "information_disclosure",
        "asset_ids": [pii], "actor_ids": [vendor_actor], "interaction_ids": [score_flow],
        "assessment": {"method": "nist", "likelihood": "moderate", "impact": "high"}}))?;
    let export_leak = d.add::<Threats>(json!({"title": "CSV export mailed to the wrong merchant", "stride": "information_disclosure",
        "asset_ids": [export], "actor_ids": [insider],
        "assessment": {"method": "dread", "damage": 6, "reproducibility": 7, "exploitability": 5, "affected_users": 4, "discoverability": 3}}))?;
    let outage = d.add::<Threats>(
        json!({"title": "Settlement file delayed by a bank outage", "stride": "denial_of_service",
        "asset_ids": [settlement],
        "assessment": {"method": "nist", "likelihood": "low", "impact": "moderate"}}),
    )?;
    let repudiation = d.add::<Threats>(json!({"title": "Agent denies issuing a refund", "stride": "repudiation",
        "asset_ids": [dashboard], "actor_ids": [insider],
        "assessment": {"method": "dread", "damage": 3, "reproducibility": 4, "exploitability": 3, "affected_users": 2, "discoverability": 4}}))?;

    let waf = d.add::<Controls>(json!({"name": "Web application firewall", "type": "preventive", "category": "technical",
        "status": "implemented", "effectiveness": 60, "threat_ids": [sqli, skimming], "asset_ids": [api, checkout]}))?;
    let queries = d.add::<Controls>(json!({"name": "Parameterised queries everywhere", "type": "preventive", "category": "technical",
        "status": "planned", "effectiveness": 90, "asset_ids": [api]}))?;
    d.add::<Controls>(json!({"name": "Phishing-resistant MFA for administrators", "type": "preventive", "category": "technical",
        "status": "implemented", "effectiveness": 85, "threat_ids": [takeover]}))?;
    let csp = d.add::<Controls>(json!({"name": "Content Security Policy and SRI on checkout", "type": "preventive", "category": "technical",
        "status": "partial", "effectiveness": 70, "threat_ids": [skimming], "asset_ids": [checkout]}))?;
    let four_eyes = d.add::<Controls>(json!({"name": "Four-eyes approval for refunds over 500 EUR", "type": "preventive", "category": "administrative",
        "status": "planned", "effectiveness": 75, "asset_ids": [dashboard]}))?;
    d.add::<Controls>(json!({"name": "Signed audit log of agent actions", "type": "detective", "category": "technical",
        "status": "implemented", "effectiveness": 50, "threat_ids": [repudiation]}))?;

    // Step 5: a treatment of each strategy, at different points of their way.
    use TreatmentStatus::{Approved, Done, InProgress, Verified};
    let fix_sqli = d.add::<Treatments>(json!({"threat_id": sqli, "strategy": "reduce", "owner": "Payments platform team",
        "rationale": "Remove the injection at its source.", "due_date": ago(10), "control_ids": [queries],
        "ticket": {"system": "jira", "key": "PAY-1412", "url": "https://jira.example.com/browse/PAY-1412"}}))?;
    d.advance(&fix_sqli, &[Approved, InProgress, Done, Verified])?;
    let fix_skimming = d.add::<Treatments>(json!({"threat_id": skimming, "strategy": "reduce", "owner": "Checkout team",
        "rationale": "Lock down the scripts checkout may load.", "due_date": ago(5), "control_ids": [csp]}))?;
    d.advance(&fix_skimming, &[Approved, InProgress])?;
    let refunds_fix = d.add::<Treatments>(
        json!({"threat_id": refund, "strategy": "reduce", "owner": "Finance engineering",
        "due_date": days(30), "control_ids": [four_eyes]}),
    )?;
    d.advance(&refunds_fix, &[Approved])?;
    let transfer = d.add::<Treatments>(json!({"threat_id": vendor_breach, "strategy": "transfer", "owner": "Vendor management",
        "rationale": "Contractual liability and cyber insurance cover a vendor breach.", "due_date": days(60),
        "counterparty_party_id": insurer, "mechanism": "insurance", "transferred_share": 0.7}))?;
    d.advance(&transfer, &[Approved, InProgress, Done])?;
    let avoid = d.add::<Treatments>(json!({"threat_id": export_leak, "strategy": "avoid", "owner": "Merchant experience team",
        "removed": "The legacy CSV export; merchants use the dashboard's reports.", "removed_asset_ids": [export]}))?;
    d.advance(&avoid, &[Approved, InProgress, Done])?;
    let accept = d.add::<Treatments>(json!({"threat_id": outage, "strategy": "accept", "owner": "Finance engineering",
        "justification": "The bank's SLA and a one-day settlement delay are tolerable.", "approver": "CFO",
        "expires_on": days(365)}))?;
    d.advance(&accept, &[Approved])?;

    // Step 6: what the exercise found, fixed, got right and learned.
    let entries = [
        json!({"kind": "finding", "text": "The refunds endpoint built SQL from request parameters; the WAF alone was the only barrier.",
            "author": "A. Analyst", "date": ago(20), "tags": ["appsec"], "threat_ids": [sqli], "asset_ids": [api]}),
        json!({"kind": "finding", "text": "Checkout loaded a third-party analytics script without integrity checks.",
            "author": "A. Analyst", "date": ago(18), "tags": ["supply-chain"], "threat_ids": [skimming]}),
        json!({"kind": "fix_applied", "text": "All queries of the payments API are parameterised; a lint rule blocks string-built SQL.",
            "author": "Payments platform team", "date": ago(3), "tags": ["appsec"], "treatment_ids": [fix_sqli], "control_ids": [queries]}),
        json!({"kind": "fix_applied", "text": "The legacy CSV export is switched off and its data deleted.",
            "author": "Merchant experience team", "date": ago(2), "treatment_ids": [avoid], "asset_ids": [export]}),
        json!({"kind": "fix_applied", "text": "The cyber policy now names FraudScore Inc. as a covered processor.",
            "author": "Vendor management", "date": ago(1), "treatment_ids": [transfer]}),
        json!({"kind": "success", "text": "Phishing-resistant MFA stopped every simulated admin takeover in the red-team exercise.",
            "author": "Red team", "date": ago(7), "tags": ["identity"], "threat_ids": [takeover]}),
        json!({"kind": "success", "text": "The WAF blocked the injection attempts seen in production while the fix was written.",
            "author": "Security operations", "date": ago(12), "threat_ids": [sqli], "control_ids": [waf]}),
        json!({"kind": "lesson_learned", "text": "Model third-party scripts as interactions: the skimming risk was invisible until we did.",
            "author": "A. Analyst", "date": ago(1), "tags": ["process"]}),
    ];
    for entry in entries {
        d.add::<EvaluationEntries>(entry)?;
    }

    // The register, then the report: its job snapshots the model and renders it.
    let scope = palisade_store::models::ensure_visible(d.conn, organization.id, model)
        .map_err(|e| e.to_string())?;
    palisade_store::risks::recompute(d.conn, scope)
        .map_err(|e| format!("computing the register: {e}"))?;
    let report = reports::create(
        d.conn,
        &d.actor,
        model,
        &ReportInput {
            formats: vec![
                ReportFormat::Html,
                ReportFormat::Markdown,
                ReportFormat::Json,
            ],
            version_id: None,
        },
    )
    .map_err(|e| format!("asking for the report: {e}"))?;
    palisade_worker::Registry::standard()
        .execute(d.conn, &report.job_id.to_string())
        .map_err(|(e, _)| format!("rendering the report: {e}"))?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut files = Vec::new();
    for format in [
        ReportFormat::Html,
        ReportFormat::Markdown,
        ReportFormat::Json,
    ] {
        let (_, content) = reports::content(d.conn, organization.id, model, report.id, format)
            .map_err(|e| e.to_string())?;
        let path = out.join(format!("report.{}", format.extension()));
        std::fs::write(&path, content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push(path);
    }
    Ok(Outcome {
        model_id: model,
        report_id: report.id,
        files,
    })
}
