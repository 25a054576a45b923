/* Consumer group and dead-letter pages: small form helpers (no live data here;
 * the live sampler fills the data-field cells and svg.spark hooks). */
(function () {
  "use strict";
  // The reset value's placeholder follows the chosen mode.
  const mode = document.getElementById("reset-mode");
  const value = document.getElementById("reset-value");
  function hint() {
    const option = mode.options[mode.selectedIndex];
    const example = option ? option.dataset.example : "";
    value.placeholder = example ? "e.g. " + example : "no value needed";
    value.disabled = !example;
  }
  if (mode && value) { mode.addEventListener("change", hint); hint(); }

  // Tick or untick every dead letter on the page.
  const all = document.getElementById("tick-all");
  if (all) {
    all.addEventListener("change", function () {
      for (const box of document.querySelectorAll("#letters input[name=ids]")) box.checked = all.checked;
    });
  }
})();
