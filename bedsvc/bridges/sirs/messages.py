"""The messages SIRS bridges read. Public bridge code looks for "telah disimpan", "telah
diupdate", "telah dihapus", "sudah ada" and "tidak ditemukan", so those words stay in them."""

SAVED = "Data telah disimpan."
EXISTS_UPDATED = "Data sudah ada, telah diupdate."
UPDATED = "Data telah diupdate."
DELETED = "Data telah dihapus."
NOT_FOUND = "Data dengan id_t_tt {id_t_tt} tidak ditemukan."
UNKNOWN_ID_TT = "id_tt {id_tt} tidak dikenal (lihat Referensi/tempat_tidur)."
