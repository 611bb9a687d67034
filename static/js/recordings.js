// A call's recording, played from the calls list: the <audio> is only created (and the file only fetched)
// when its Play button is pressed. Delegated, so rows swapped in by htmx work too.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-play]");
    if (!button) return;
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = button.dataset.play;
    audio.setAttribute("aria-label", button.getAttribute("aria-label") || "Recording");
    audio.className = "call-row-audio";
    button.replaceWith(audio);
    audio.play().catch(function () { /* autoplay refused: the controls are there to press */ });
  });
})();
