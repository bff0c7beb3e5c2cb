// Evidentia's pages work without this script; it only sorts tables by a
// click on their headers and filters the controls table as one types.
"use strict";
(function () {
  function cellValue(cell, kind) {
    if (kind === "number") return parseFloat(cell.textContent) || 0;
    if (kind === "grade") return parseInt(cell.getAttribute("data-value"), 10) || 0;
    return cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    const headers = table.querySelectorAll("th[data-sort]");
    headers.forEach(function (th) {
      const column = th.cellIndex;
      th.addEventListener("click", function () {
        const kind = th.getAttribute("data-sort");
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = cellValue(a.cells[column], kind);
          const y = cellValue(b.cells[column], kind);
          const order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  const quick = document.getElementById("quick-filter");
  const controls = document.getElementById("controls");
  if (quick && controls) {
    quick.hidden = false;
    quick.addEventListener("input", function () {
      const needle = quick.value.trim().toLowerCase();
      Array.from(controls.tBodies[0].rows).forEach(function (row) {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
    });
  }
})();
