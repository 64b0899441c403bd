// The plot forms: "add a trace" copies the formset's empty form and counts it in.
(function () {
  "use strict";
  const button = document.getElementById("add-trace");
  const template = document.getElementById("trace-template");
  const list = document.getElementById("trace-forms");
  const total = document.querySelector("input[name='traces-TOTAL_FORMS']");
  if (!button || !template || !list || !total) return;
  button.addEventListener("click", function () {
    const index = Number(total.value);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    list.insertAdjacentHTML("beforeend", html);
    list.lastElementChild.querySelector("legend").textContent = "Trace " + index;
    total.value = String(index + 1);
  });
})();
