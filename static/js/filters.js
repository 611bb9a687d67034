// Filter bars: empty fields stay out of the query string, so the address a person shares stays short.
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.closest("[data-filter-bar]")) return;
  const formData = event.detail.formData;
  for (const name of Array.from(new Set(formData.keys()))) {
    if (formData.getAll(name).every((value) => value === "")) formData.delete(name);
  }
});
