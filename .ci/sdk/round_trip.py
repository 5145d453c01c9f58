"""Drives a running Palisade through the Python client that
openapi-python-client generates from openapi/openapi.json: a model, an
asset, a threat with a CVSS assessment and a control, then the register.
Every response is parsed into the generated models; a response the client
cannot parse, or one that says something else than what was sent, fails.

Usage: python round_trip.py BASE_URL API_KEY
"""
import io
import sys
import time

from palisade_client import AuthenticatedClient
from palisade_client.api.analysis import (
    create_control,
    create_threat,
    get_risk_register,
    get_threat,
)
from palisade_client.api.models import create_model, export_model, get_progress, import_model
from palisade_client.api.scope import create_asset, list_assets
from palisade_client.types import File
from palisade_client.models import (
    Asset,
    AssetFields,
    AssetKind,
    Classification,
    Control,
    ControlCategory,
    ControlFields,
    ControlStatus,
    ControlType,
    Cvss31Assessment,
    Cvss31AssessmentMethod,
    ExportFormat,
    ImportDocument,
    ImportFormat,
    ImportResult,
    ModelDocument,
    OtmDocument,
    Model,
    ModelFields,
    Progress,
    RiskRegister,
    Severity,
    Stride,
    Threat,
    ThreatInput,
)

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def parsed(response, kind, status=(200, 201)):
    assert response.status_code in status, (response.status_code, response.content)
    assert isinstance(response.parsed, kind), (kind, response.parsed, response.content)
    return response.parsed


def main(base_url: str, key: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=key, raise_on_unexpected_status=True)

    model = parsed(
        create_model.sync_detailed(
            client=client,
            body=ModelFields(name="SDK round trip", risk_appetite=Severity.MEDIUM),
        ),
        Model,
    )
    asset = parsed(
        create_asset.sync_detailed(
            model.id,
            client=client,
            body=AssetFields(
                name="Customer database",
                kind=AssetKind.DATA,
                classification=Classification.RESTRICTED,
                owner="Data team",
                tags=["pci"],
            ),
        ),
        Asset,
    )
    assert asset.kind == AssetKind.DATA and asset.classification == Classification.RESTRICTED

    threat = parsed(
        create_threat.sync_detailed(
            model.id,
            client=client,
            body=ThreatInput(
                title="SQL injection",
                stride=Stride.TAMPERING,
                asset_ids=[asset.id],
                assessment=Cvss31Assessment(method=Cvss31AssessmentMethod.CVSS31, vector=VECTOR),
            ),
        ),
        Threat,
    )
    assert isinstance(threat.assessment, Cvss31Assessment), threat.assessment
    assert threat.assessment.vector == VECTOR
    again = parsed(get_threat.sync_detailed(model.id, threat.id, client=client), Threat)
    assert again.id == threat.id and again.version == threat.version

    control = parsed(
        create_control.sync_detailed(
            model.id,
            client=client,
            body=ControlFields(
                name="Parameterised queries",
                type_=ControlType.PREVENTIVE,
                category=ControlCategory.TECHNICAL,
                status=ControlStatus.IMPLEMENTED,
                effectiveness=50,
                threat_ids=[threat.id],
            ),
        ),
        Control,
    )
    assert control.threat_ids == [threat.id]

    deadline = time.monotonic() + 60
    while True:
        register = parsed(get_risk_register.sync_detailed(model.id, client=client), RiskRegister)
        if not register.stale and register.computed_at:
            break
        assert time.monotonic() < deadline, "the register did not become fresh"
        time.sleep(0.2)
    (row,) = register.items
    assert row.threat_id == threat.id
    assert (row.inherent_score, row.residual_score) == (9.8, 4.9), row
    assert row.inherent_severity == Severity.CRITICAL and row.residual_severity == Severity.MEDIUM

    assets = list_assets.sync_detailed(model.id, client=client, kind=AssetKind.DATA)
    assert [a.id for a in assets.parsed.items] == [asset.id]
    parsed(get_progress.sync_detailed(model.id, client=client), Progress)

    # Interchange: an OTM file as JSON and as YAML bytes, exported both ways.
    otm = {
        "otmVersion": "0.2.0",
        "project": {"name": "SDK import", "id": "sdk"},
        "trustZones": [{"id": "z", "name": "Internet", "risk": {"trustRating": 20}}],
        "components": [{"id": "c", "name": "Web", "type": "web-service", "parent": {"trustZone": "z"}}],
    }
    imported = parsed(
        import_model.sync_detailed(client=client, body=ImportDocument.from_dict(otm), format_=ImportFormat.OTM),
        ImportResult,
    )
    assert imported.report.counts.assets == 1 and imported.report.counts.trust_zones == 1, imported.report
    yaml = b"otmVersion: 0.2.0\nproject: {name: SDK yaml, id: y}\ntrustZones: []\n"
    from_yaml = parsed(
        import_model.sync_detailed(client=client, body=File(payload=io.BytesIO(yaml)), format_=ImportFormat.OTM),
        ImportResult,
    )
    assert from_yaml.model.name == "SDK yaml"
    ours = parsed(export_model.sync_detailed(imported.model.id, client=client, format_=ExportFormat.JSON), ModelDocument)
    assert [a.name for a in ours.assets] == ["Web"]
    as_otm = parsed(export_model.sync_detailed(imported.model.id, client=client, format_=ExportFormat.OTM), OtmDocument)
    assert as_otm.otm_version == "0.2.0" and [c["name"] for c in as_otm.components] == ["Web"], as_otm
    print("generated Python client round trip: model, asset, threat, control, register, import and export parsed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
