"""Bulk upload of wards as CSV: all or nothing, errors by line."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Factory, bearer, wait_for_version, ward
from tests.support.staff import HOSPITAL, OTHER, sign_in

Client = AsyncTestClient[Litestar]

HEADER = "ward_code,name,bed_class,capacity,available,available_male,available_female,waiting\n"
CSV = {"Content-Type": "text/csv"}


async def wards_of(client: Client, code: str) -> dict[str, dict[str, object]]:
    response = await client.get(f"/api/v1/hospitals/{code}")
    assert response.status_code == 200
    return {w["ward_code"]: w for w in response.json()["wards"]}


async def test_csv_with_a_key_applies_every_ward(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    body = (
        "\ufeff"  # spreadsheets save UTF-8 with a byte-order mark
        + HEADER
        + "MAWAR,Ruang Mawar,KL3,20,3,1,2,5\n"
        + "\n"
        + "ICU,ICU Dewasa,ICU,6,0,,,\n"
    )

    response = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body.encode(),
        headers=CSV | bearer(key),
    )

    assert response.status_code == 200, response.text
    assert response.json()["applied"] == ["MAWAR", "ICU"]
    await wait_for_version(client, HOSPITAL, response.json()["version"])
    wards = await wards_of(client, HOSPITAL)
    assert wards["MAWAR"]["available"] == 3
    assert wards["MAWAR"]["available_female"] == 2
    assert wards["MAWAR"]["waiting"] == 5
    assert wards["ICU"]["available_male"] is None


async def test_csv_with_a_bad_line_applies_nothing(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    body = (
        HEADER
        + "MAWAR,Ruang Mawar,KL3,20,3,,,\n"
        + "MELATI,Ruang Melati,KL2,10,12,,,\n"  # more free than beds
        + "ICU,ICU,XYZ,6,two,,,\n"
        + "ANGGREK,Ruang Anggrek,KL1,8\n"
    )

    response = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body.encode(),
        headers=CSV | bearer(key),
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    fields = [e["field"] for e in problem["errors"]]
    # Every error of the file at once, in the file's order.
    assert fields == ["line 3.available", "line 4.available", "line 4.bed_class", "line 5"]
    assert [e["line"] for e in problem["errors"]] == [3, 4, 4, 5]
    assert "baris 4, kolom bed_class: kelas 'XYZ' tidak dikenal" in problem["detail"]
    assert "baris 3, kolom available: tersedia (12) melebihi kapasitas (10)" in problem["detail"]
    assert "baris 4, kolom available: 'two' bukan bilangan bulat" in problem["detail"]
    assert "baris 5: 4 nilai untuk 8 kolom" in problem["detail"]
    assert (await client.get(f"/api/v1/hospitals/{HOSPITAL}")).json()["wards"] == []

    rules = HEADER + "MAWAR,Ruang Mawar,KL3,20,3,,,\nMELATI,Melati,KL2,10,12,,,\n"
    broken = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=rules.encode(),
        headers=CSV | bearer(key),
    )
    assert broken.status_code == 422
    assert [e["field"] for e in broken.json()["errors"]] == ["line 3.available"]
    assert "melebihi kapasitas (10)" in broken.json()["detail"]
    assert (await client.get(f"/api/v1/hospitals/{HOSPITAL}")).json()["wards"] == []


async def test_csv_header_and_encoding_are_checked(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    url = f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv"

    unknown = await client.post(
        url, content=b"ward,bed_class,capacity,available\n", headers=CSV | bearer(key)
    )
    latin = await client.post(
        url, content=HEADER.encode() + b"M\xe9LATI,x,KL3,1,1,,,\n", headers=CSV | bearer(key)
    )
    empty = await client.post(url, content=HEADER.encode(), headers=CSV | bearer(key))

    assert unknown.status_code == 422
    assert {e["field"] for e in unknown.json()["errors"]} == {"line 1.ward", "line 1.ward_code"}
    assert latin.status_code == 422
    assert "bukan teks UTF-8" in latin.json()["detail"]
    assert empty.status_code == 422


async def test_csv_with_a_session_needs_csrf_and_own_hospital(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    await factory.hospital(OTHER)
    password = await factory.user(HOSPITAL, "siti")
    session = await sign_in(client, "siti", password)
    body = (HEADER + "MAWAR,Ruang Mawar,KL3,20,3,,,\n").encode()
    csrf = {"X-CSRF-Token": str(session["csrf_token"])}

    missing = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv", content=body, headers=CSV
    )
    wrong = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body,
        headers=CSV | {"X-CSRF-Token": "x" * 43},
    )
    other = await client.post(
        f"/api/v1/hospitals/{OTHER}/occupancy.csv", content=body, headers=CSV | csrf
    )
    own = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv", content=body, headers=CSV | csrf
    )

    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert other.status_code == 403
    assert own.status_code == 200, own.text
    assert own.json()["applied"] == ["MAWAR"]


async def test_csv_needs_a_key_of_that_hospital(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    await factory.hospital(OTHER)
    other_key = await factory.key(hospital_code=OTHER)
    body = (HEADER + "MAWAR,Ruang Mawar,KL3,20,3,,,\n").encode()
    url = f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv"

    anonymous = await client.post(url, content=body, headers=CSV)
    foreign = await client.post(url, content=body, headers=CSV | bearer(other_key))
    unknown = await client.post(
        "/api/v1/hospitals/9999999/occupancy.csv", content=body, headers=CSV | bearer(other_key)
    )

    assert anonymous.status_code == 401
    assert foreign.status_code == 403
    assert unknown.status_code == 404


async def test_csv_upload_is_described_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    upload = schema["paths"]["/api/v1/hospitals/{hospital_code}/occupancy.csv"]["post"]
    assert list(upload["requestBody"]["content"]) == ["text/csv"]
    assert "ward_code,name,bed_class" in upload["requestBody"]["description"]


async def test_csv_saved_by_a_spreadsheet_in_an_indonesian_locale(
    client: Client, factory: Factory
) -> None:
    """Semicolons, a byte-order mark, CRLF line ends and quoted fields, as Excel saves them."""
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    body = (
        "\ufeffward_code;name;bed_class;capacity;available\r\n"
        'MAWAR;"Ruang Mawar; lantai 2";KL3;20;3\r\n'
        "ICU;ICU Dewasa;ICU;6;0\r\n"
    )

    response = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body.encode(),
        headers=CSV | bearer(key),
    )

    assert response.status_code == 200, response.text
    assert response.json()["applied"] == ["MAWAR", "ICU"]
    await wait_for_version(client, HOSPITAL, response.json()["version"])
    wards = await wards_of(client, HOSPITAL)
    assert wards["MAWAR"]["name"] == "Ruang Mawar; lantai 2"
    assert (wards["ICU"]["capacity"], wards["ICU"]["available"]) == (6, 0)


async def test_csv_with_three_bad_lines_names_each_in_one_refusal(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    body = (
        "ward_code;name;bed_class;capacity;available\r\n"
        "MAWAR;Ruang Mawar;KL3;20;21\r\n"
        "MELATI;Ruang Melati;KELAS9;10;2\r\n"
        "ICU;ICU;ICU;enam;0\r\n"
        "ANGGREK;Ruang Anggrek;KL1;8;8\r\n"
    )

    response = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body.encode(),
        headers=CSV | bearer(key),
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(e["line"], e["column"]) for e in problem["errors"]] == [
        (2, "available"),
        (3, "bed_class"),
        (4, "capacity"),
    ]
    assert problem["detail"].startswith("Berkas CSV ditolak, 3 kesalahan, tidak ada yang disimpan.")
    assert "baris 2, kolom available: tersedia (21) melebihi kapasitas (20)" in problem["detail"]
    assert "baris 3, kolom bed_class: kelas 'KELAS9' tidak dikenal" in problem["detail"]
    assert "baris 4, kolom capacity: 'enam' bukan bilangan bulat" in problem["detail"]
    assert (await client.get(f"/api/v1/hospitals/{HOSPITAL}")).json()["wards"] == []


async def test_csv_numbers_are_ascii_digits_and_capacity_is_bounded(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    body = (
        "ward_code,bed_class,capacity,available\n"
        "A,KL3,2\u00b2,1\n"  # superscript two
        "B,KL3,\u0663,1\n"  # Arabic-Indic three
        f"C,KL3,{'9' * 5000},1\n"
        "D,KL3,501,1\n"
    )

    response = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=body.encode(),
        headers=CSV | bearer(key),
    )

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(n, "capacity") for n in (2, 3, 4, 5)]
    assert errors[3]["reason"] == "kapasitas 501 melebihi batas 500 tempat tidur per ruang"
    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy",
        json={"reported_at": "2026-01-01T00:00:00Z", "wards": [ward("D", "KL3", 501, 1)]},
        headers=bearer(key),
    )
    assert pushed.status_code == 422
    assert "wards[0].capacity" in [e["field"] for e in pushed.json()["errors"]]


async def test_csv_without_optional_columns_keeps_their_values_and_template_round_trips(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    url = f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv"
    full = await client.post(
        url,
        content=(HEADER + "MAWAR,Ruang Mawar,KL3,20,5,2,3,4\n").encode(),
        headers=CSV | bearer(key),
    )
    assert full.status_code == 200, full.text

    short = await client.post(
        url,
        content=b"ward_code;bed_class;capacity;available\r\nMAWAR;KL3;20;6\r\n",
        headers=CSV | bearer(key),
    )
    assert short.status_code == 200, short.text
    await wait_for_version(client, HOSPITAL, short.json()["version"])
    mawar = (await wards_of(client, HOSPITAL))["MAWAR"]
    assert (mawar["name"], mawar["available"], mawar["waiting"]) == ("Ruang Mawar", 6, 4)
    assert (mawar["available_male"], mawar["available_female"]) == (2, 3)

    download = await client.get(url, headers=bearer(key))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    text = download.content.decode("utf-8")
    assert text.startswith("\ufeffward_code;name;bed_class;capacity;available;")
    assert "MAWAR;Ruang Mawar;KL3;20;6;2;3;4\r\n" in text
    again = await client.post(url, content=download.content, headers=CSV | bearer(key))
    assert again.status_code == 200, again.text
