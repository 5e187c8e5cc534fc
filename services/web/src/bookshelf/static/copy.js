// "Copy" buttons: data-copy names the input whose value goes to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  field.select();
  navigator.clipboard.writeText(field.value).then(() => {
    button.textContent = button.dataset.copied;
  });
});
