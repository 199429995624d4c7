"""Current occupancy in the formats other public-health systems read.

- OASIS EDXL-HAVE 1.0: a HospitalStatus document, one BedCapacity per EDXL bed type.
- HL7 FHIR R4 MeasureReport shaped as the SANER bed-capacity measure
  (numTotBeds, numBeds, numBedsOcc, numICUBeds, numICUBedsOcc).

Our classes map to their types through the bed-class vocabulary (edxl_bed_types, is_intensive),
which an operator can correct; a class without an EDXL type is left out of EDXL-HAVE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from bedsvc.monitor.schemas import ClassOccupancy, HospitalOccupancy
from bedsvc.store.reference import BedClass

HAVE_NS = "urn:oasis:names:tc:emergency:EDXL:HAVE:1.0"
XNL_NS = "urn:oasis:names:tc:ciq:xnl:3"
GML_NS = "http://www.opengis.net/gml"
for _prefix, _uri in (("have", HAVE_NS), ("xnl", XNL_NS), ("gml", GML_NS)):
    ET.register_namespace(_prefix, _uri)

SANER_PROFILE = "http://hl7.org/fhir/uv/saner/StructureDefinition/PublicHealthMeasureReport"
SANER_MEASURE = "http://hl7.org/fhir/uv/saner/Measure/CDCPatientImpactAndHospitalCapacity"
SANER_GROUPS = "http://hl7.org/fhir/uv/saner/CodeSystem/MeasureGroupSystem"
SANER_POPULATIONS = "http://hl7.org/fhir/uv/saner/CodeSystem/MeasurePopulationSystem"
FHIR_POPULATIONS = "http://terminology.hl7.org/CodeSystem/measure-population"
HOSPITAL_ID_SYSTEM = "urn:bedsvc:hospital-code"
REGION_ID_SYSTEM = "urn:bedsvc:region-code"
# Beds of these EDXL types are not inpatient beds (SANER numBeds counts inpatient beds only).
NOT_INPATIENT = frozenset({"EmergencyDepartment"})


def _have(tag: str) -> str:
    return f"{{{HAVE_NS}}}{tag}"


def edxl_bed_types(
    classes: Sequence[ClassOccupancy], vocabulary: Mapping[str, BedClass]
) -> list[tuple[str, int, int]]:
    """(EDXL bed type, baseline, available) summed over the classes of each type."""
    totals: dict[str, list[int]] = {}
    for item in classes:
        known = vocabulary.get(item.bed_class)
        if known is None or not known.edxl_bed_types:
            continue
        entry = totals.setdefault(known.edxl_bed_types[0], [0, 0])
        entry[0] += item.capacity
        entry[1] += item.available
    return [(bed_type, baseline, available) for bed_type, (baseline, available) in totals.items()]


def _hospital_element(
    hospital: HospitalOccupancy, vocabulary: Mapping[str, BedClass]
) -> ET.Element:
    element = ET.Element(_have("Hospital"))
    organization = ET.SubElement(element, _have("Organization"))
    information = ET.SubElement(organization, _have("OrganizationInformation"))
    name = ET.SubElement(
        information, f"{{{XNL_NS}}}OrganisationName", {f"{{{XNL_NS}}}ID": hospital.code}
    )
    ET.SubElement(name, f"{{{XNL_NS}}}NameElement").text = hospital.name
    if hospital.lat is not None and hospital.lon is not None:
        location = ET.SubElement(organization, _have("OrganizationGeoLocation"))
        point = ET.SubElement(location, f"{{{GML_NS}}}Point")
        ET.SubElement(point, f"{{{GML_NS}}}pos").text = f"{hospital.lat} {hospital.lon}"
    beds = ET.SubElement(element, _have("HospitalBedCapacityStatus"))
    for bed_type, baseline, available in edxl_bed_types(hospital.classes, vocabulary):
        capacity_element = ET.SubElement(beds, _have("BedCapacity"))
        ET.SubElement(capacity_element, _have("BedType")).text = bed_type
        capacity = ET.SubElement(capacity_element, _have("Capacity"))
        status = "Vacant/Available" if available > 0 else "NotAvailable"
        ET.SubElement(capacity, _have("CapacityStatus")).text = status
        ET.SubElement(capacity, _have("AvailableCount")).text = str(available)
        ET.SubElement(capacity, _have("BaselineCount")).text = str(baseline)
    if hospital.updated_at is not None:
        ET.SubElement(element, _have("LastUpdateTime")).text = hospital.updated_at.isoformat()
    return element


def edxl_have(hospitals: Sequence[HospitalOccupancy], vocabulary: Mapping[str, BedClass]) -> bytes:
    """A HospitalStatus document; hospitals that never reported have no LastUpdateTime to give
    and are left out."""
    root = ET.Element(_have("HospitalStatus"))
    for hospital in hospitals:
        if hospital.updated_at is not None:
            root.append(_hospital_element(hospital, vocabulary))
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def saner_counts(
    classes: Sequence[ClassOccupancy], vocabulary: Mapping[str, BedClass]
) -> dict[str, int]:
    counts = dict.fromkeys(
        ("numTotBeds", "numBeds", "numBedsOcc", "numICUBeds", "numICUBedsOcc"), 0
    )
    for item in classes:
        known = vocabulary.get(item.bed_class)
        counts["numTotBeds"] += item.capacity
        if known is not None and NOT_INPATIENT.intersection(known.edxl_bed_types):
            continue
        counts["numBeds"] += item.capacity
        counts["numBedsOcc"] += item.occupied
        if known is not None and known.is_intensive:
            counts["numICUBeds"] += item.capacity
            counts["numICUBedsOcc"] += item.occupied
    return counts


def _population(code: str, count: int) -> dict[str, Any]:
    coding = [{"system": SANER_POPULATIONS, "code": code}]
    if code == "numTotBeds":
        coding.append({"system": FHIR_POPULATIONS, "code": "initial-population"})
    return {"code": {"coding": coding}, "count": count}


def measure_report(
    report_id: str,
    subject: dict[str, Any],
    classes: Sequence[ClassOccupancy],
    vocabulary: Mapping[str, BedClass],
    generated_at: datetime,
) -> dict[str, Any]:
    """A snapshot MeasureReport: the period is the instant the counts were taken."""
    counts = saner_counts(classes, vocabulary)
    moment = generated_at.isoformat()
    return {
        "resourceType": "MeasureReport",
        "id": report_id,
        "meta": {"profile": [SANER_PROFILE]},
        "status": "complete",
        "type": "summary",
        "measure": SANER_MEASURE,
        "subject": subject,
        "date": moment,
        "period": {"start": moment, "end": moment},
        "group": [
            {
                "code": {"coding": [{"system": SANER_GROUPS, "code": "Beds"}]},
                "population": [_population(code, count) for code, count in counts.items()],
            }
        ],
    }


def hospital_subject(hospital: HospitalOccupancy) -> dict[str, Any]:
    return {
        "identifier": {"system": HOSPITAL_ID_SYSTEM, "value": hospital.code},
        "display": hospital.name,
    }


def region_subject(region: str | None) -> dict[str, Any]:
    if region is None:
        return {"display": "All regions"}
    return {"identifier": {"system": REGION_ID_SYSTEM, "value": region}, "display": region}
