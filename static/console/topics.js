/* Topics pages: the publish form's schema panel and JSON formatting.
 * The message browser is a plain GET form and needs no script. */
(function () {
  "use strict";
  const form = document.getElementById("publish-form");
  if (!form) return;
  const schemasNode = document.getElementById("event-schemas");
  const schemas = schemasNode ? JSON.parse(schemasNode.textContent) : {};
  const typeField = form.elements["type"];
  const versionField = form.elements["version"];
  const dataField = form.elements["data"];
  const name = document.getElementById("schema-name");
  const text = document.getElementById("schema-text");

  function showSchema() {
    const versions = schemas[typeField.value] || {};
    const numbers = Object.keys(versions).map(Number).sort((a, b) => a - b);
    if (!numbers.length) {
      name.textContent = "";
      text.textContent = "No schema registered for this type.";
      return;
    }
    const wanted = Number(versionField.value);
    const version = numbers.includes(wanted) ? wanted : numbers[numbers.length - 1];
    name.textContent = `${typeField.value} v${version} (versions: ${numbers.join(", ")})`;
    text.textContent = JSON.stringify(versions[version], null, 2);
  }

  function formatData() {
    try {
      dataField.value = JSON.stringify(JSON.parse(dataField.value), null, 2);
      dataField.setCustomValidity("");
    } catch (err) {
      // The server says exactly what is wrong on submit; this is a hint.
      dataField.setCustomValidity(`Not valid JSON: ${err.message}`);
      dataField.reportValidity();
    }
  }

  typeField.addEventListener("change", showSchema);
  versionField.addEventListener("input", showSchema);
  dataField.addEventListener("input", () => dataField.setCustomValidity(""));
  document.getElementById("format-json").addEventListener("click", formatData);
  showSchema();
})();
