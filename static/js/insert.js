// Buttons with data-insert="{{name}}" and data-insert-target="#id" put the text at that field's cursor
// (the assistant form's call variables); the CSP allows no inline onclick.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert]");
  if (!button) return;
  const field = document.querySelector(button.dataset.insertTarget);
  if (!field) return;
  event.preventDefault();
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  field.value = field.value.slice(0, start) + button.dataset.insert + field.value.slice(end);
  field.focus();
  field.selectionStart = field.selectionEnd = start + button.dataset.insert.length;
});
