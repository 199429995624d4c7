/* What a citizen needs, as the page and the map offer it: a few needs (chips), each a set of
 * like bed classes whose free beds may be added together. Unlike classes never are: "Semua"
 * counts the general wards only and lists the special units apart.
 */
"use strict";

(function () {
  const GENERAL = ["VVIP", "VIP", "UTAMA", "KL1", "KL2", "KL3", "KRIS"];
  const NEEDS = [
    { code: "KL3", classes: ["KL3", "KRIS"], id: "Kelas 3", en: "Class 3" },
    { code: "KL12", classes: ["KL1", "KL2"], id: "Kelas 1–2", en: "Class 1–2" },
    { code: "ICU", classes: ["ICU", "ICCU"], id: "ICU", en: "ICU" },
    { code: "IGD", classes: ["IGD"], id: "IGD", en: "ER (IGD)" },
    { code: "ANAK", classes: ["NICU", "PICU"], id: "Anak (NICU/PICU)", en: "Children (NICU/PICU)" },
    { code: "BERSALIN", classes: ["BERSALIN"], id: "Bersalin", en: "Maternity" },
    { code: "", classes: null, id: "Semua", en: "All" },
  ];

  function find(code) {
    return NEEDS.find((n) => n.code === code) || NEEDS[NEEDS.length - 1];
  }

  /** The classes a hospital shows for a need (or one exact class): `main`, whose free beds add
   * up, and `special`, listed apart (under "Semua" only). */
  function split(hospital, need, exactClass) {
    if (exactClass) return { main: hospital.classes.filter((c) => c.bed_class === exactClass), special: [] };
    const wanted = find(need).classes;
    if (wanted) return { main: hospital.classes.filter((c) => wanted.includes(c.bed_class)), special: [] };
    return {
      main: hospital.classes.filter((c) => GENERAL.includes(c.bed_class)),
      special: hospital.classes.filter((c) => !GENERAL.includes(c.bed_class)),
    };
  }

  function label(need, lang) {
    const found = find(need);
    return lang === "en" ? found.en : found.id;
  }

  window.BedsvcNeeds = { NEEDS, GENERAL, find, split, label };
})();
