// Forms with data-confirm="question" submit only once the person agrees: the CSP allows no inline onsubmit.
document.addEventListener("submit", (event) => {
  const question = event.target.closest("form[data-confirm]")?.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
