"""The relay's failure kinds in the words the health office and ward staff read (the pages
carry the same words in bedsvc/web/static/common.js)."""

from __future__ import annotations

from bedsvc.relay import failures

ERROR_WORDS = {
    failures.CREDENTIAL_REFUSED: "kata sandi ditolak",
    failures.UNREACHABLE: "server registri tidak terjangkau",
    failures.TIMEOUT: "registri tidak menjawab tepat waktu",
    failures.SERVER_ERROR: "registri sedang bermasalah",
    failures.RATE_LIMITED: "registri meminta menunggu",
    failures.REJECTED: "data ditolak registri",
    failures.INVALID_RESPONSE: "jawaban registri tidak dikenali",
    failures.NO_PPK_CODE: "kode PPK BPJS rumah sakit belum diisi",
    failures.KEY_UNUSABLE: "kunci enkripsi bedsvc tidak cocok",
}
