"""The reminder a hospital's staff read: Bahasa Indonesia, local times, the entry page's link."""

from __future__ import annotations

import html
from datetime import datetime

import msgspec

from bedsvc.local_time import local_time
from bedsvc.settings import Settings
from bedsvc.store.reminders import Reminder, StaleWard


def entry_page_url(settings: Settings) -> str:
    """The ward-staff entry page, absolute when BEDSVC_PUBLIC_URL is set."""
    return settings.server.public_url.rstrip("/") + "/rs"


class ReminderText(msgspec.Struct, frozen=True):
    subject: str
    plain: str
    html: str


def duration(seconds: float) -> str:
    """`2 jam`, `1 jam 30 menit`, `45 menit`, `30 detik`."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} jam"] if hours else []
    if minutes:
        parts.append(f"{minutes} menit")
    if not parts:
        parts.append(f"{secs} detik")
    return " ".join(parts)


def _when(moment: datetime, reminder: Reminder, zone: str) -> str:
    return local_time(moment, reminder.region_code, zone)


def compose(
    reminder: Reminder,
    wards: list[StaleWard],
    entry_url: str,
    zone: str,
    escalate_seconds: float,
) -> ReminderText:
    """`zone`: BEDSVC_TIMEZONE, for a region whose province is not known."""
    hospital = f"{reminder.hospital_name} ({reminder.hospital_code})"
    second = reminder.kind == "escalation"
    subject = (
        f"{'Pengingat kedua' if second else 'Pengingat'}: data tempat tidur "
        f"{reminder.hospital_name} belum diperbarui"
    )
    if wards:
        opening = (
            f"Data ketersediaan tempat tidur {hospital} belum diperbarui sejak "
            f"{_when(reminder.since, reminder, zone)}."
        )
    else:
        opening = f"{hospital} belum pernah melaporkan data ketersediaan tempat tidur."
    why = (
        "Warga memakai data ini untuk memilih rumah sakit; data lama bisa membuat pasien "
        "datang ke ruang yang ternyata penuh."
    )
    lines = [
        f"{w.name} ({w.ward_code}), {w.class_name}: terakhir diperbarui "
        f"{_when(w.reported_at, reminder, zone)}"
        for w in wards
    ]
    escalation = (
        f"Ini pengingat kedua: data masih belum diperbarui {duration(escalate_seconds)} "
        "setelah pengingat pertama. Dinas Kesehatan juga sudah diberi tahu."
        if second
        else ""
    )
    action = "Silakan perbarui data di halaman petugas ruangan:"
    footer = (
        "Pesan ini dikirim otomatis satu kali untuk setiap masa data tidak diperbarui; "
        "laporan baru menghentikannya."
    )

    plain = [f"Yth. petugas {hospital},", "", opening, why, ""]
    if lines:
        plain += ["Ruang yang belum diperbarui:", *(f"- {line}" for line in lines), ""]
    if escalation:
        plain += [escalation, ""]
    plain += [action, entry_url, "", footer]

    e = html.escape
    body = [f"<p>Yth. petugas {e(hospital)},</p>", f"<p>{e(opening)} {e(why)}</p>"]
    if lines:
        items = "".join(f"<li>{e(line)}</li>" for line in lines)
        body.append(f"<p>Ruang yang belum diperbarui:</p><ul>{items}</ul>")
    if escalation:
        body.append(f"<p><strong>{e(escalation)}</strong></p>")
    link = e(entry_url, quote=True)
    body.append(f'<p>{e(action)} <a href="{link}">{e(entry_url)}</a></p>')
    body.append(f"<p><small>{e(footer)}</small></p>")
    document = (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head><body>{''.join(body)}</body></html>"
    )
    return ReminderText(subject=subject, plain="\n".join(plain) + "\n", html=document)
