"""Standards exports: OASIS EDXL-HAVE 1.0 and an HL7 FHIR MeasureReport (SANER bed capacity).

No package ships the EDXL-HAVE schema, so the document is checked element by element against
the structure of the 1.0 standard; the MeasureReport is parsed by fhir.resources' R4B model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from fhir.resources.R4B.measurereport import MeasureReport

from tests.support import Factory, bearer
from tests.support.region import Client, seed_region

HAVE = "{urn:oasis:names:tc:emergency:EDXL:HAVE:1.0}"
XNL = "{urn:oasis:names:tc:ciq:xnl:3}"
GML = "{http://www.opengis.net/gml}"
EDXL_URL = "/api/v1/monitor/export/edxl-have.xml"
FHIR_URL = "/api/v1/monitor/export/fhir-measurereport.json"
SANER_POPULATIONS = "http://hl7.org/fhir/uv/saner/CodeSystem/MeasurePopulationSystem"


def children(element: ET.Element) -> list[str]:
    return [child.tag.replace(HAVE, "") for child in element]


def bed_capacities(hospital: ET.Element) -> dict[str, tuple[str, int, int]]:
    beds = hospital.find(f"{HAVE}HospitalBedCapacityStatus")
    assert beds is not None
    found = {}
    for bed in beds:
        assert children(bed) == ["BedType", "Capacity"]
        capacity = bed.find(f"{HAVE}Capacity")
        assert capacity is not None
        assert children(capacity) == ["CapacityStatus", "AvailableCount", "BaselineCount"]
        found[bed.findtext(f"{HAVE}BedType") or ""] = (
            capacity.findtext(f"{HAVE}CapacityStatus") or "",
            int(capacity.findtext(f"{HAVE}AvailableCount") or -1),
            int(capacity.findtext(f"{HAVE}BaselineCount") or -1),
        )
    return found


async def test_edxl_have_document_for_a_region(client: Client, factory: Factory) -> None:
    await seed_region(client, factory)
    key = await factory.key("monitor")

    response = await client.get(EDXL_URL, params={"region": "3274"}, headers=bearer(key))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(response.content)  # noqa: S314 - our own response
    assert root.tag == f"{HAVE}HospitalStatus"
    hospitals = root.findall(f"{HAVE}Hospital")
    # The hospital that never reported has no LastUpdateTime to give; the other region is out.
    names = [
        h.findtext(
            f"{HAVE}Organization/{HAVE}OrganizationInformation/{XNL}OrganisationName/{XNL}NameElement"
        )
        for h in hospitals
    ]
    assert names == ["RSUD Kesambi", "RS Pelabuhan"]
    kesambi, pelabuhan = hospitals
    assert children(kesambi) == ["Organization", "HospitalBedCapacityStatus", "LastUpdateTime"]
    organization = kesambi.find(f"{HAVE}Organization")
    assert organization is not None
    assert children(organization) == ["OrganizationInformation", "OrganizationGeoLocation"]
    name = organization.find(f"{HAVE}OrganizationInformation/{XNL}OrganisationName")
    assert name is not None
    assert name.get(f"{XNL}ID") == "3274011"
    position = organization.findtext(f"{HAVE}OrganizationGeoLocation/{GML}Point/{GML}pos")
    assert position == "-6.7277 108.5523"
    # KL3 and ICU map to MedicalSurgical and AdultICU through the bed-class vocabulary.
    assert bed_capacities(kesambi) == {
        "MedicalSurgical": ("Vacant/Available", 5, 30),
        "AdultICU": ("Vacant/Available", 1, 6),
    }
    assert bed_capacities(pelabuhan) == {
        "MedicalSurgical": ("NotAvailable", 0, 15),
        "AdultICU": ("NotAvailable", 0, 4),
        "EmergencyDepartment": ("Vacant/Available", 5, 8),
    }
    updated = datetime.fromisoformat(kesambi.findtext(f"{HAVE}LastUpdateTime") or "")
    summary = (
        await client.get("/api/v1/monitor/summary", params={"region": "3274"}, headers=bearer(key))
    ).json()
    assert updated == datetime.fromisoformat(summary["hospitals"][0]["updated_at"])


async def test_edxl_have_for_one_hospital(client: Client, factory: Factory) -> None:
    await seed_region(client, factory)
    key = await factory.key("monitor")

    response = await client.get(EDXL_URL, params={"hospital": "3209011"}, headers=bearer(key))
    missing = await client.get(EDXL_URL, params={"hospital": "9999"}, headers=bearer(key))

    root = ET.fromstring(response.content)  # noqa: S314 - our own response
    [hospital] = root.findall(f"{HAVE}Hospital")
    assert bed_capacities(hospital) == {"MedicalSurgical": ("Vacant/Available", 4, 10)}
    assert missing.status_code == 404


def populations(report: dict[str, Any]) -> dict[str, int]:
    [group] = report["group"]
    assert group["code"]["coding"][0]["code"] == "Beds"
    found = {}
    for population in group["population"]:
        coding = population["code"]["coding"][0]
        assert coding["system"] == SANER_POPULATIONS
        found[coding["code"]] = population["count"]
    return found


async def test_fhir_measure_report_for_a_region(client: Client, factory: Factory) -> None:
    await seed_region(client, factory)
    key = await factory.key("monitor")

    response = await client.get(FHIR_URL, params={"region": "3274"}, headers=bearer(key))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    report = MeasureReport.model_validate(body)
    assert report.status == "complete"
    assert report.type == "summary"
    assert (
        body["measure"]
        == "http://hl7.org/fhir/uv/saner/Measure/CDCPatientImpactAndHospitalCapacity"
    )
    assert body["subject"]["identifier"]["value"] == "3274"
    # All beds 63; inpatient beds leave out the 8 IGD beds (3 occupied): 55 and 52 - 3;
    # ICU beds are the intensive classes: ICU 6 + 4, occupied 5 + 4.
    assert populations(body) == {
        "numTotBeds": 63,
        "numBeds": 55,
        "numBedsOcc": 49,
        "numICUBeds": 10,
        "numICUBedsOcc": 9,
    }


async def test_fhir_measure_report_for_one_hospital(client: Client, factory: Factory) -> None:
    await seed_region(client, factory)
    key = await factory.key("monitor")

    response = await client.get(FHIR_URL, params={"hospital": "3274011"}, headers=bearer(key))

    body = response.json()
    MeasureReport.model_validate(body)
    assert body["subject"] == {
        "identifier": {"system": "urn:bedsvc:hospital-code", "value": "3274011"},
        "display": "RSUD Kesambi",
    }
    assert body["id"].startswith("beds-3274011-")
    assert populations(body) == {
        "numTotBeds": 36,
        "numBeds": 36,
        "numBedsOcc": 30,
        "numICUBeds": 6,
        "numICUBedsOcc": 5,
    }
