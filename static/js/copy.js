// Buttons with data-copy-target="#id" copy that field's value: the CSP allows no inline onclick.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copyTarget);
  if (field) navigator.clipboard.writeText(field.value);
});
