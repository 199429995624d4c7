"""How wards become SIRS Online rows and Aplicares rooms (no I/O)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bedsvc.relay.aplicares import rooms_of
from bedsvc.relay.registries import base_urls
from bedsvc.relay.sirs import Row, room_key, rows_of
from bedsvc.services import BedClass
from bedsvc.settings import Settings
from bedsvc.store.relays import RelayWard


def bed_class(code: str, aplicares: list[str], sirs: list[int]) -> BedClass:
    return BedClass(
        code=code,
        name_id=code,
        name_en=code,
        aplicares_codes=aplicares,
        sirs_ids=sirs,
        edxl_bed_types=[],
        is_intensive=False,
    )


CLASSES = {
    "KL3": bed_class("KL3", ["KL3"], [5]),
    "ICU": bed_class("ICU", ["ICU"], [6, 38, 26, 27]),
    "UTAMA": bed_class("UTAMA", ["UTM"], []),
    "KRIS": bed_class("KRIS", [], [52]),
}


def ward(code: str, name: str, bed_class: str, **counts: int) -> RelayWard:
    fields = {"capacity": 10, "available": 4, "waiting": None} | counts
    return RelayWard(
        ward_code=code,
        name=name,
        bed_class=bed_class,
        available_male=fields.get("available_male"),
        available_female=fields.get("available_female"),
        open=True,
        capacity=fields["capacity"],
        available=fields["available"],
        waiting=fields["waiting"],
    )


def test_sirs_rows_carry_occupied_beds_and_the_ward_id_tt() -> None:
    rows = rows_of(
        [
            ward("MAWAR", "Ruang Mawar", "KL3", waiting=2),
            ward("TT38-ICU-VENTILATOR", "ICU Ventilator", "ICU"),
            ward("VVIP", "Paviliun", "UTAMA"),  # no SIRS bed type: not sent
        ],
        CLASSES,
    )
    assert rows == {
        "MAWAR": Row(id_tt=5, ruang="Ruang Mawar", jumlah=10, terpakai=6, antrian=2),
        # A ward a SIRS bridge created keeps the id_tt it was created with.
        "TT38-ICU-VENTILATOR": Row(
            id_tt=38, ruang="ICU Ventilator", jumlah=10, terpakai=6, antrian=0
        ),
    }


def test_two_wards_of_one_sirs_row_are_told_apart() -> None:
    rows = rows_of(
        [ward("MAWAR_A", "Ruang Mawar", "KL3"), ward("MAWAR_B", "ruang  mawar", "KL3")], CLASSES
    )
    assert rows["MAWAR_A"].ruang == "Ruang Mawar"
    assert rows["MAWAR_B"].ruang == "ruang  mawar (MAWAR_B)"
    assert len({room_key(r.id_tt, r.ruang) for r in rows.values()}) == 2


def test_aplicares_rooms_use_the_class_code_and_split_by_sex() -> None:
    rooms = rooms_of(
        [
            ward("MAWAR", "Ruang Mawar", "KL3", available_male=1, available_female=2),
            ward("KRIS1", "KRIS Lantai 1", "KRIS"),  # no Aplicares code: not sent
        ],
        CLASSES,
    )
    assert list(rooms) == ["MAWAR"]
    room = rooms["MAWAR"]
    assert (room.kodekelas, room.kapasitas, room.tersedia) == ("KL3", 10, 4)
    assert (room.tersediapria, room.tersediawanita) == (1, 2)


def test_an_empty_registry_url_switches_the_relay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDSVC_RELAY_SIRS_URL", "")
    monkeypatch.setenv("BEDSVC_RELAY_APLICARES_URL", "https://aplicares.example/aplicaresws/rest/")
    settings = Settings()
    assert base_urls(settings.relay) == {"aplicares": "https://aplicares.example/aplicaresws/rest"}
    monkeypatch.setenv("BEDSVC_RELAY_SIRS_URL", "sirs.example/fo")
    with pytest.raises(ValidationError, match="relay_sirs_url"):
        Settings()
